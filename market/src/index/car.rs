//! A streaming CAR reader that reports where each block's bytes lie.
//!
//! ```text
//!  CARv1: varint(len) header{roots, version: 1} ‖ varint(len) CID data ‖ varint(len) CID data ‖ …
//!  CARv2: pragma {version: 2} ‖ 40-byte header (data offset, data size, …) ‖ padding ‖ CARv1 ‖ index
//! ```
//!
//! [`CarScanner::new`] reads the header (and for a CARv2, its fixed header,
//! then the inner CARv1's header); [`CarScanner::next_block`] then reads one
//! section at a time and returns its CID with the offset and length of the
//! block's data, counted from the first byte given to the scanner (the start
//! of the piece's unpadded payload), so a reader can seek straight to it. The
//! block data is skipped, not kept, so memory does not grow with the CAR.
//!
//! Crates that read CARs (`fvm_ipld_car`, `iroh-car`, `rs-car`) hand out the
//! blocks but not their offsets, hence this reader. Hashes are not verified:
//! the piece's CommP already was, and retrieval clients check every block.
//!
//! The end of a CARv1 is the end of the stream at a section boundary, or a
//! section of length zero: pieces are zero-filled up to their padded size,
//! and Boost (go-car's `ZeroLengthSectionAsEOF`) reads them the same way. A
//! CARv2 ends where its header says the inner CARv1 ends.

use std::fmt;
use std::io::{self, BufReader, Read};

use cid::Cid;
use serde::Deserialize;

use super::IndexError;

/// The largest header accepted, as in go-car (`DefaultMaxAllowedHeaderSize`).
const MAX_HEADER_BYTES: u64 = 32 << 20;

/// The CARv2 fixed header after the pragma: characteristics (16 bytes), then
/// data offset, data size and index offset (little-endian u64 each).
const V2_HEADER_BYTES: usize = 40;

/// More than the longest CID: three varints (version, codec, hash code) of
/// at most 9 bytes, the digest length, and a digest of at most 64 bytes.
const MAX_CID_BYTES: usize = 128;

/// The CAR header as DAG-CBOR. A CARv2 pragma is the same map without roots.
#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    roots: Vec<Cid>,
    version: u64,
}

/// Where one block's data lies in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpan {
    /// The block's CID, as the CAR wrote it.
    pub cid: Cid,
    /// The offset of the block's data (after its CID) from the start of the payload.
    pub offset: u64,
    /// The length of the block's data.
    pub length: u64,
}

/// Reads a CARv1 or CARv2 section by section; see the module docs.
pub struct CarScanner<R> {
    reader: Counting<BufReader<R>>,
    roots: Vec<Cid>,
    /// Where the block sections end: the end of a CARv2's data, or none for a
    /// CARv1, which runs to the end of the stream.
    end: Option<u64>,
    done: bool,
}

impl<R> fmt::Debug for CarScanner<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarScanner")
            .field("position", &self.reader.position)
            .field("roots", &self.roots)
            .field("end", &self.end)
            .finish()
    }
}

impl<R: Read> CarScanner<R> {
    /// Reads the header from the start of `reader`. Anything that is not a
    /// CAR header is [`IndexError::NotCar`].
    pub fn new(reader: R) -> Result<Self, IndexError> {
        let mut reader = Counting {
            inner: BufReader::new(reader),
            position: 0,
        };
        let header = read_header(&mut reader)?;
        let (roots, end) = match header.version {
            1 => (header.roots, None),
            2 => {
                let (data_offset, data_size) = read_v2_header(&mut reader)?;
                let padding = data_offset - reader.position;
                skip(&mut reader, padding, "CARv2 padding")?;
                // Past a CARv2 pragma, a bad inner header is a broken CAR.
                let inner = read_header(&mut reader).map_err(|e| match e {
                    IndexError::NotCar(reason) => IndexError::Malformed {
                        offset: data_offset,
                        reason: format!("CARv2 inner header: {reason}"),
                    },
                    e => e,
                })?;
                if inner.version != 1 {
                    return Err(IndexError::Malformed {
                        offset: data_offset,
                        reason: format!("CARv2 holds a CAR of version {}, not 1", inner.version),
                    });
                }
                (inner.roots, Some(data_offset.saturating_add(data_size)))
            }
            v => return Err(IndexError::NotCar(format!("unknown CAR version {v}"))),
        };
        Ok(Self {
            reader,
            roots,
            end,
            done: false,
        })
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, or `None` at the end of the CAR.
    pub fn next_block(&mut self) -> Result<Option<BlockSpan>, IndexError> {
        if self.done {
            return Ok(None);
        }
        let start = self.reader.position;
        if self.end == Some(start) {
            self.done = true;
            return Ok(None);
        }
        let section = match unsigned_varint::io::read_u64(&mut self.reader) {
            Ok(0) => None,
            Ok(len) => Some(len),
            // A CARv1 may end at any section boundary.
            Err(unsigned_varint::io::ReadError::Io(e))
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && self.reader.position == start
                    && self.end.is_none() =>
            {
                None
            }
            Err(e) => {
                return Err(varint_error(
                    e,
                    start,
                    self.reader.position,
                    "section length",
                ));
            }
        };
        let Some(section) = section else {
            self.done = true;
            return Ok(None);
        };
        let cid_start = self.reader.position;
        let section_end = cid_start
            .checked_add(section)
            .ok_or(IndexError::Malformed {
                offset: start,
                reason: format!("section length {section} overflows"),
            })?;
        if let Some(end) = self.end
            && section_end > end
        {
            return Err(IndexError::Malformed {
                offset: start,
                reason: format!("section of {section} bytes runs past the CARv2 data end at {end}"),
            });
        }
        // Read the CID's bytes first, at most to the section's end, so that a
        // short read is told apart from a bad CID.
        let mut head = [0u8; MAX_CID_BYTES];
        let head = &mut head[..MAX_CID_BYTES.min(usize::try_from(section).unwrap_or(usize::MAX))];
        read_exact(&mut self.reader, head, "block CID")?;
        let mut cursor = io::Cursor::new(&head[..]);
        let cid = Cid::read_bytes(&mut cursor).map_err(|e| IndexError::Malformed {
            offset: cid_start,
            reason: format!("bad CID in a {section}-byte section: {e}"),
        })?;
        let offset = cid_start + cursor.position();
        let length = section_end - offset;
        let rest = section_end - self.reader.position;
        skip(&mut self.reader, rest, "block data")?;
        Ok(Some(BlockSpan {
            cid,
            offset,
            length,
        }))
    }
}

/// Reads a varint-framed DAG-CBOR header; every failure means "not a CAR".
fn read_header<R: Read>(reader: &mut Counting<R>) -> Result<RawHeader, IndexError> {
    let start = reader.position;
    let len = unsigned_varint::io::read_u64(&mut *reader)
        .map_err(|e| IndexError::NotCar(format!("header length at byte {start}: {e}")))?;
    if len == 0 || len > MAX_HEADER_BYTES {
        return Err(IndexError::NotCar(format!(
            "header of {len} bytes at byte {start}"
        )));
    }
    let mut bytes = Vec::new();
    (&mut *reader)
        .take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| IndexError::Read {
            offset: reader.position,
            source: e,
        })?;
    if bytes.len() as u64 != len {
        return Err(IndexError::NotCar(format!(
            "header of {len} bytes at byte {start}, but the data ends at byte {}",
            reader.position
        )));
    }
    fvm_ipld_encoding::from_slice(&bytes)
        .map_err(|e| IndexError::NotCar(format!("header at byte {start}: {e}")))
}

/// Reads the CARv2 fixed header; returns the inner CARv1's offset and size.
fn read_v2_header<R: Read>(reader: &mut Counting<R>) -> Result<(u64, u64), IndexError> {
    let mut h = [0u8; V2_HEADER_BYTES];
    read_exact(reader, &mut h, "CARv2 header")?;
    let le = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let (data_offset, data_size) = (le(16), le(24));
    if data_offset < reader.position {
        return Err(IndexError::Malformed {
            offset: reader.position - V2_HEADER_BYTES as u64,
            reason: format!("CARv2 data offset {data_offset} lies inside its header"),
        });
    }
    Ok((data_offset, data_size))
}

fn read_exact<R: Read>(
    reader: &mut Counting<R>,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), IndexError> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => {
                return Err(IndexError::Truncated {
                    offset: reader.position,
                    what,
                });
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(IndexError::Read {
                    offset: reader.position,
                    source: e,
                });
            }
        }
    }
    Ok(())
}

/// Skips `len` bytes, which must all be there.
fn skip<R: Read>(reader: &mut Counting<R>, len: u64, what: &'static str) -> Result<(), IndexError> {
    let copied =
        io::copy(&mut (&mut *reader).take(len), &mut io::sink()).map_err(|e| IndexError::Read {
            offset: reader.position,
            source: e,
        })?;
    if copied < len {
        return Err(IndexError::Truncated {
            offset: reader.position,
            what,
        });
    }
    Ok(())
}

/// `start`: where the varint began; `at`: where reading stopped.
fn varint_error(
    e: unsigned_varint::io::ReadError,
    start: u64,
    at: u64,
    what: &'static str,
) -> IndexError {
    match e {
        unsigned_varint::io::ReadError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            IndexError::Truncated { offset: at, what }
        }
        unsigned_varint::io::ReadError::Io(io) => IndexError::Read {
            offset: start,
            source: io,
        },
        e => IndexError::Malformed {
            offset: start,
            reason: format!("{what}: {e}"),
        },
    }
}

/// A reader that counts the bytes it has handed out: the payload offset.
struct Counting<R> {
    inner: R,
    position: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        Ok(n)
    }
}
