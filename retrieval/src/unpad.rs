//! Reading a piece's original bytes out of a sector's unsealed copy.
//!
//! ```text
//!  unsealed file: ‖ piece A (padded) ‖ piece B (padded) ‖ …      Fr32: 128 padded bytes hold 127 data bytes
//!                          ▲ padded_offset
//!  request: unpadded bytes [start, start + len) of piece B
//!   ─► unit = start / 127, skip = start % 127
//!   ─► read whole 128-byte units from padded_offset + unit × 128
//!   ─► unpad_units ─► units × 127 bytes ─► bytes [skip, skip + n)
//! ```
//!
//! Fr32 padding stores data in 254-bit field elements (32 bytes, the top two
//! bits zero), the data bits running on from one element to the next; four
//! elements (1016 bits) hold exactly 127 bytes in 128, so every 128-byte
//! unit unpads on its own: a reader can start at any unit and go one chunk
//! at a time, never holding more than a chunk in memory.
//!
//! [`unpad_units`] is our own: it moves 64-bit words through a shift
//! register, 16 per unit. The `fr32` crate's `write_unpadded` (the padding
//! filecoin-proofs uses, and this module's reference in its tests) works bit
//! range by bit range with an allocation per element and unpads about
//! 370 MiB/s on one core here, which capped `/piece/` at about a fifth of
//! what nginx serves from a plain file (bench/benches/retrieval.rs); this
//! loop is several times faster.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Data bytes in one padded unit.
const UNIT_DATA: u64 = 127;
/// Bytes of one padded unit.
const UNIT_PADDED: u64 = 128;

/// Where a piece lies in an unsealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceSpan {
    /// The sector's unsealed copy.
    pub file: PathBuf,
    /// The piece's first byte in the file (padded bytes, a multiple of 128).
    pub padded_offset: u64,
    /// The piece's padded size.
    pub padded_size: u64,
}

impl PieceSpan {
    /// The piece's unpadded size: what `/piece/` serves at most.
    pub fn unpadded_size(&self) -> u64 {
        self.padded_size / UNIT_PADDED * UNIT_DATA
    }
}

/// Reads unpadded bytes `[start, end)` of a piece, a chunk at a time.
#[derive(Debug)]
pub struct UnpaddedReader {
    file: File,
    path: PathBuf,
    padded_offset: u64,
    next: u64,
    end: u64,
    padded: Vec<u8>,
}

impl UnpaddedReader {
    /// Opens the piece's file for bytes `[start, start + len)` of its
    /// unpadded data. The file must hold the whole piece: a shorter one is
    /// an error (`UnexpectedEof`) here, not halfway through a response.
    pub fn open(span: &PieceSpan, start: u64, len: u64) -> io::Result<Self> {
        if !span.padded_offset.is_multiple_of(UNIT_PADDED)
            || !span.padded_size.is_multiple_of(UNIT_PADDED)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "piece at {} of {} bytes is not aligned to 128-byte units",
                    span.padded_offset, span.padded_size
                ),
            ));
        }
        let end = start
            .checked_add(len)
            .filter(|e| *e <= span.unpadded_size());
        let Some(end) = end else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bytes {start}+{len} are past the piece's {} unpadded bytes",
                    span.unpadded_size()
                ),
            ));
        };
        let file = File::open(&span.file)?;
        let have = file.metadata()?.len();
        let need = span.padded_offset + span.padded_size;
        if have < need {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} has {have} bytes; the piece ends at byte {need}",
                    span.file.display()
                ),
            ));
        }
        Ok(Self {
            file,
            path: span.file.clone(),
            padded_offset: span.padded_offset,
            next: start,
            end,
            padded: Vec::new(),
        })
    }

    /// The file read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.end - self.next
    }

    /// The next at most `max` bytes, or `None` at the end.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        let want = self.remaining().min(max as u64);
        if want == 0 {
            return Ok(None);
        }
        let unit = self.next / UNIT_DATA;
        let skip = self.next % UNIT_DATA;
        let units = (skip + want).div_ceil(UNIT_DATA);
        let bytes = usize::try_from(units * UNIT_PADDED)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "chunk too large"))?;
        self.padded.resize(bytes, 0);
        self.file
            .read_exact_at(&mut self.padded, self.padded_offset + unit * UNIT_PADDED)?;
        // `skip` < 127 and `want` <= max: both fit a usize.
        let (skip, want) = (skip as usize, want as usize);
        let mut out = Vec::new();
        unpad_units_onto(&self.padded, &mut out);
        self.next += want as u64;
        Ok(Some(Bytes::from(out).slice(skip..skip + want)))
    }
}

/// Unpads whole 128-byte units of `padded` into `out`, 127 bytes each
/// (`out.len()` must be `padded.len() / 128 * 127`; a trailing partial unit
/// is ignored). The top two bits of each 32-byte element, zero in Fr32
/// data, are dropped.
pub fn unpad_units(padded: &[u8], out: &mut [u8]) {
    for (unit, dest) in padded.chunks_exact(128).zip(out.chunks_exact_mut(127)) {
        dest.copy_from_slice(&unpad_unit(unit)[..127]);
    }
}

/// Unpads whole 128-byte units of `padded` onto the end of `out`, 127
/// bytes each: the output is written once, with no zero fill first.
pub fn unpad_units_onto(padded: &[u8], out: &mut Vec<u8>) {
    out.reserve(padded.len() / 128 * 127);
    for unit in padded.chunks_exact(128) {
        out.extend_from_slice(&unpad_unit(unit)[..127]);
    }
}

/// One 128-byte unit's 127 data bytes, in the first 127 bytes.
#[inline(always)]
fn unpad_unit(unit: &[u8]) -> [u8; 128] {
    let mut dest = [0u8; 128];
    // A shift register of up to 127 bits; full 64-bit words go out.
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    let mut at = 0usize;
    for element in unit.chunks_exact(32) {
        for (i, word) in element.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let mut w = u64::from_le_bytes(w);
            let width = if i == 3 {
                // The element's last word holds 62 data bits.
                w &= (1 << 62) - 1;
                62
            } else {
                64
            };
            acc |= u128::from(w) << bits;
            bits += width;
            if bits >= 64 {
                dest[at..at + 8].copy_from_slice(&(acc as u64).to_le_bytes());
                at += 8;
                acc >>= 64;
                bits -= 64;
            }
        }
    }
    // 1016 bits: 15 words out, 56 bits (7 bytes) left; the 128th byte is 0.
    dest[at..].copy_from_slice(&(acc as u64).to_le_bytes());
    dest
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// `data` Fr32-padded, as AddPiece writes it.
    fn pad(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        fr32::Fr32Reader::new(io::Cursor::new(data))
            .read_to_end(&mut out)
            .unwrap_or_default();
        out
    }

    fn fixture(pieces: &[&[u8]]) -> (tempfile::NamedTempFile, Vec<PieceSpan>) {
        let mut f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let mut spans = Vec::new();
        let mut at = 0u64;
        for p in pieces {
            let padded = pad(p);
            f.write_all(&padded).unwrap_or_else(|e| panic!("{e}"));
            spans.push(PieceSpan {
                file: f.path().to_path_buf(),
                padded_offset: at,
                padded_size: padded.len() as u64,
            });
            at += padded.len() as u64;
        }
        (f, spans)
    }

    fn read_all(span: &PieceSpan, start: u64, len: u64, chunk: usize) -> Vec<u8> {
        let mut r = UnpaddedReader::open(span, start, len).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk(chunk).unwrap_or_else(|e| panic!("{e}")) {
            assert!(c.len() <= chunk);
            out.extend_from_slice(&c);
        }
        out
    }

    fn data(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn reads_back_what_was_padded_from_any_offset_in_any_chunks() {
        let a = data(127 * 16, 1);
        let b = data(127 * 32, 7);
        let (_f, spans) = fixture(&[&a, &b]);
        assert_eq!(spans[1].padded_offset, 128 * 16);
        assert_eq!(read_all(&spans[0], 0, a.len() as u64, 1000), a);
        assert_eq!(read_all(&spans[1], 0, b.len() as u64, 333), b);
        for (start, len) in [
            (0, 1),
            (126, 2),
            (127, 127),
            (1000, 2000),
            (4063, 1),
            (5, 0),
        ] {
            let got = read_all(&spans[1], start, len, 100);
            assert_eq!(
                got,
                b[start as usize..(start + len) as usize],
                "{start}+{len}"
            );
        }
    }

    proptest::proptest! {
        /// Our unpadding is the fr32 crate's, on any data.
        #[test]
        fn unpad_units_matches_the_fr32_crate(
            data in proptest::collection::vec(proptest::num::u8::ANY, 127 * 9),
        ) {
            let padded = pad(&data);
            proptest::prop_assert_eq!(padded.len(), 128 * 9);
            let mut ours = vec![0u8; 127 * 9];
            unpad_units(&padded, &mut ours);
            proptest::prop_assert_eq!(&ours, &data);
            let mut onto = vec![1, 2];
            unpad_units_onto(&padded, &mut onto);
            proptest::prop_assert_eq!(&onto[..2], &[1, 2]);
            proptest::prop_assert_eq!(&onto[2..], &data[..]);
            let mut theirs = Vec::new();
            fr32::write_unpadded(&padded, &mut theirs, 0, data.len()).unwrap();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn refuses_ranges_past_the_piece_and_short_files() {
        let a = data(127 * 4, 3);
        let (f, spans) = fixture(&[&a]);
        let err = UnpaddedReader::open(&spans[0], 500, 9).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("past the piece"), "{err}");
        let err = UnpaddedReader::open(&spans[0], u64::MAX, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        f.as_file().set_len(300).unwrap_or_else(|e| panic!("{e}"));
        let err = UnpaddedReader::open(&spans[0], 0, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("ends at byte 512"), "{err}");
    }
}
