//! A small CBOR reader and writer shaped after Go's cbor-gen, plus an
//! incremental item-length scanner.
//!
//! Why not serde: cbor-gen's map encoding is a contract on exact bytes (keys
//! in RFC 7049 canonical order, minimal headers, tag 42 CIDs, `null` for nil
//! pointers) and on lenient decoding (keys in any order, unknown keys
//! skipped, absent fields left at their zero value). Writing that by hand
//! keeps both directions visible and lets every decode error name the field
//! path (`DealParams.Transfer.Size: expected unsigned integer, found text
//! string`). Nested go-state-types values that are tuple-encoded
//! (`ClientDealProposal`, `Address`, `TokenAmount`, `Signature`) go through
//! `fvm_ipld_encoding`, so their bytes are exactly what the actors see.
//!
//! Data flow: a message's `encode` builds a [`MapWriter`] (fields in any
//! order, sorted on `finish`) into an [`Encoder`]; `decode` walks a
//! [`Decoder`] over one complete item. The network layer first buffers one
//! item with [`ItemScanner`], which needs no more than the bytes of that item
//! and so never waits for the peer to close its side of the stream.

use cid::Cid;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DecodeReason, WireError};

/// cbor-gen's cap on text strings (`cbg.MaxLength`).
pub(crate) const MAX_TEXT: u64 = 8192;
/// cbor-gen's cap on slice lengths (`cbg.MaxLength`, the same 8192).
pub(crate) const MAX_ITEMS: u64 = 8192;
/// cbor-gen's cap on byte strings (`cbg.ByteArrayMaxLen`, 2 MiB).
pub(crate) const MAX_BYTES: u64 = 2 << 20;
/// Deepest nesting of arrays, maps and tags the scanner accepts. Our messages
/// nest four levels at most; this only stops a hostile peer from making us
/// allocate a deep stack.
pub(crate) const MAX_DEPTH: usize = 32;

const MAJ_UINT: u8 = 0;
const MAJ_NINT: u8 = 1;
const MAJ_BYTES: u8 = 2;
const MAJ_TEXT: u8 = 3;
const MAJ_ARRAY: u8 = 4;
const MAJ_MAP: u8 = 5;
const MAJ_TAG: u8 = 6;
const MAJ_OTHER: u8 = 7;

const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;
const NULL: u8 = 0xf6;
const TAG_CID: u64 = 42;

/// The name of a major type, for error messages.
pub(crate) fn major_name(major: u8) -> &'static str {
    match major {
        MAJ_UINT => "unsigned integer",
        MAJ_NINT => "negative integer",
        MAJ_BYTES => "byte string",
        MAJ_TEXT => "text string",
        MAJ_ARRAY => "array",
        MAJ_MAP => "map",
        MAJ_TAG => "tag",
        _ => "simple value or float",
    }
}

/// One decoded item header: major type, argument, header length in bytes.
#[derive(Debug, Clone, Copy)]
struct Header {
    major: u8,
    arg: u64,
    len: usize,
}

/// Why a header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderError {
    /// The buffer ends inside the header.
    Short,
    /// Additional info 28..=30 (reserved) or 31 (indefinite length / break).
    Unsupported(u8),
}

fn read_header(buf: &[u8]) -> Result<Header, HeaderError> {
    let first = *buf.first().ok_or(HeaderError::Short)?;
    let major = first >> 5;
    let info = first & 0x1f;
    let (arg, len) = match info {
        0..=23 => (u64::from(info), 1),
        24..=27 => {
            let n = 1usize << (info - 24);
            let bytes = buf.get(1..1 + n).ok_or(HeaderError::Short)?;
            let mut arg = 0u64;
            for b in bytes {
                arg = (arg << 8) | u64::from(*b);
            }
            (arg, 1 + n)
        }
        _ => return Err(HeaderError::Unsupported(info)),
    };
    Ok(Header { major, arg, len })
}

/// Why the scanner gave up on a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Indefinite lengths, `break` and reserved header values: Go's cbor-gen
    /// never writes them.
    #[error("unsupported CBOR header byte {byte:#04x} at offset {offset}")]
    Unsupported {
        /// The header byte.
        byte: u8,
        /// Where it sits in the item.
        offset: usize,
    },
    /// The item claims more bytes than the limit allows.
    #[error("CBOR item larger than the {limit}-byte limit (at offset {offset})")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// Where the claim was made.
        offset: usize,
    },
    /// Arrays, maps and tags nest deeper than [`MAX_DEPTH`].
    #[error("CBOR nesting deeper than {MAX_DEPTH} at offset {offset}")]
    TooDeep {
        /// Where the limit was crossed.
        offset: usize,
    },
}

/// Finds where the first complete CBOR item of a growing buffer ends, without
/// re-reading what it has already passed.
///
/// Feed it the same buffer again each time bytes are appended; it returns
/// `Ok(Some(len))` once `buf[..len]` holds one whole item. Each nested level
/// is a count of items still expected; a byte or text string is passed only
/// once all its bytes are there.
#[derive(Debug, Clone)]
pub struct ItemScanner {
    limit: usize,
    pos: usize,
    pending: Vec<u64>,
}

impl ItemScanner {
    /// A scanner for one item of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            pos: 0,
            pending: vec![1],
        }
    }

    /// Scans as far as `buf` allows. `buf` must start with the item and only
    /// ever grow between calls.
    pub fn advance(&mut self, buf: &[u8]) -> Result<Option<usize>, ScanError> {
        loop {
            while self.pending.last() == Some(&0) {
                self.pending.pop();
            }
            if self.pending.is_empty() {
                return Ok(Some(self.pos));
            }
            let rest = buf.get(self.pos..).unwrap_or_default();
            let header = match read_header(rest) {
                Ok(h) => h,
                Err(HeaderError::Short) => return self.check_buffered(buf.len()),
                Err(HeaderError::Unsupported(_)) => {
                    return Err(ScanError::Unsupported {
                        byte: rest.first().copied().unwrap_or_default(),
                        offset: self.pos,
                    });
                }
            };
            // Room left under the limit after this header: every claimed
            // payload byte, and every claimed array or map element (each at
            // least one byte), must fit in it.
            let room = self
                .limit
                .checked_sub(self.pos + header.len)
                .ok_or(ScanError::TooLarge {
                    limit: self.limit,
                    offset: self.pos,
                })? as u64;
            let too_large = ScanError::TooLarge {
                limit: self.limit,
                offset: self.pos,
            };
            match header.major {
                MAJ_BYTES | MAJ_TEXT => {
                    if header.arg > room {
                        return Err(too_large);
                    }
                    // arg <= room < usize::MAX, so the cast is exact.
                    let end = self.pos + header.len + header.arg as usize;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    self.pos = end;
                    self.consume_one();
                }
                MAJ_ARRAY | MAJ_MAP => {
                    let items = if header.major == MAJ_MAP {
                        header.arg.checked_mul(2).ok_or(too_large.clone())?
                    } else {
                        header.arg
                    };
                    if items > room {
                        return Err(too_large);
                    }
                    self.pos += header.len;
                    self.consume_one();
                    self.push(items)?;
                }
                MAJ_TAG => {
                    self.pos += header.len;
                    self.consume_one();
                    self.push(1)?;
                }
                // Integers, simple values and floats: the header is the item.
                _ => {
                    self.pos += header.len;
                    self.consume_one();
                }
            }
        }
    }

    fn check_buffered(&self, have: usize) -> Result<Option<usize>, ScanError> {
        if have >= self.limit {
            Err(ScanError::TooLarge {
                limit: self.limit,
                offset: self.pos,
            })
        } else {
            Ok(None)
        }
    }

    fn consume_one(&mut self) {
        if let Some(top) = self.pending.last_mut() {
            *top = top.saturating_sub(1);
        }
    }

    fn push(&mut self, items: u64) -> Result<(), ScanError> {
        if items == 0 {
            return Ok(());
        }
        if self.pending.len() > MAX_DEPTH {
            return Err(ScanError::TooDeep { offset: self.pos });
        }
        self.pending.push(items);
        Ok(())
    }
}

/// Writes CBOR the way cbor-gen does: definite lengths, minimal headers.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn header(&mut self, major: u8, arg: u64) {
        let m = major << 5;
        if arg < 24 {
            self.buf.push(m | arg as u8);
        } else if let Ok(v) = u8::try_from(arg) {
            self.buf.extend_from_slice(&[m | 24, v]);
        } else if let Ok(v) = u16::try_from(arg) {
            self.buf.push(m | 25);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(arg) {
            self.buf.push(m | 26);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(m | 27);
            self.buf.extend_from_slice(&arg.to_be_bytes());
        }
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.header(MAJ_UINT, v);
    }

    pub(crate) fn i64(&mut self, v: i64) {
        if v >= 0 {
            self.header(MAJ_UINT, v.unsigned_abs());
        } else {
            // -1 - v, computed without overflow for i64::MIN.
            self.header(MAJ_NINT, (v + 1).unsigned_abs());
        }
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.push(if v { TRUE } else { FALSE });
    }

    pub(crate) fn null(&mut self) {
        self.buf.push(NULL);
    }

    pub(crate) fn text(&mut self, path: &str, v: &str) -> Result<(), WireError> {
        if v.len() as u64 > MAX_TEXT {
            return Err(WireError::encode(
                path,
                format!("text of {} bytes exceeds cbor-gen's {MAX_TEXT}", v.len()),
            ));
        }
        self.header(MAJ_TEXT, v.len() as u64);
        self.buf.extend_from_slice(v.as_bytes());
        Ok(())
    }

    pub(crate) fn bytes(&mut self, path: &str, v: &[u8]) -> Result<(), WireError> {
        if v.len() as u64 > MAX_BYTES {
            return Err(WireError::encode(
                path,
                format!("{} bytes exceed cbor-gen's {MAX_BYTES}", v.len()),
            ));
        }
        self.header(MAJ_BYTES, v.len() as u64);
        self.buf.extend_from_slice(v);
        Ok(())
    }

    /// A CID as cbor-gen's `WriteCid`: tag 42 over the bytes `0x00 || cid`.
    pub(crate) fn cid(&mut self, v: &Cid) {
        let raw = v.to_bytes();
        self.header(MAJ_TAG, TAG_CID);
        self.header(MAJ_BYTES, raw.len() as u64 + 1);
        self.buf.push(0);
        self.buf.extend_from_slice(&raw);
    }

    /// An array header for `len` items, refused past cbor-gen's slice cap
    /// (`cbg.MaxLength`, 8192), which Go peers enforce when they read.
    pub(crate) fn array(&mut self, path: &str, len: usize) -> Result<(), WireError> {
        if len as u64 > MAX_ITEMS {
            return Err(WireError::encode(
                path,
                format!("{len} items exceed cbor-gen's {MAX_ITEMS}"),
            ));
        }
        self.header(MAJ_ARRAY, len as u64);
        Ok(())
    }

    /// A go-state-types value, through its DAG-CBOR serde form.
    pub(crate) fn nested<T: Serialize>(&mut self, path: &str, v: &T) -> Result<(), WireError> {
        let bytes =
            fvm_ipld_encoding::to_vec(v).map_err(|e| WireError::encode(path, e.to_string()))?;
        self.buf.extend_from_slice(&bytes);
        Ok(())
    }
}

/// Collects a cbor-gen map's fields and writes them in cbor-gen's order
/// (RFC 7049 canonical: shorter key first, then bytewise), whatever order
/// the caller wrote them in.
#[derive(Debug, Default)]
pub(crate) struct MapWriter {
    fields: Vec<(&'static str, Vec<u8>)>,
}

impl MapWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn field(
        &mut self,
        key: &'static str,
        write: impl FnOnce(&mut Encoder) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let mut enc = Encoder::new();
        write(&mut enc)?;
        self.fields.push((key, enc.into_bytes()));
        Ok(())
    }

    pub(crate) fn finish(mut self, enc: &mut Encoder) {
        self.fields
            .sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
        enc.header(MAJ_MAP, self.fields.len() as u64);
        for (key, value) in self.fields {
            enc.header(MAJ_TEXT, key.len() as u64);
            enc.buf.extend_from_slice(key.as_bytes());
            enc.buf.extend_from_slice(&value);
        }
    }
}

/// Reads one complete item from a slice; every error names the field path.
#[derive(Debug)]
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    path: Vec<String>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(buf: &'a [u8], root: &str) -> Self {
        Self {
            buf,
            pos: 0,
            path: vec![root.to_owned()],
        }
    }

    pub(crate) fn path(&self) -> String {
        self.path.join(".")
    }

    pub(crate) fn err(&self, reason: DecodeReason) -> WireError {
        WireError::Decode {
            path: self.path(),
            offset: self.pos,
            reason,
        }
    }

    /// Errors unless every input byte was used.
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        let extra = self.buf.len() - self.pos;
        if extra > 0 {
            return Err(self.err(DecodeReason::TrailingBytes(extra)));
        }
        Ok(())
    }

    fn peek_header(&self) -> Result<Header, WireError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        read_header(rest).map_err(|e| match e {
            HeaderError::Short => self.err(DecodeReason::UnexpectedEnd),
            HeaderError::Unsupported(_) => self.err(DecodeReason::Unsupported(
                rest.first().copied().unwrap_or_default(),
            )),
        })
    }

    fn expect(&mut self, major: u8, expected: &'static str) -> Result<u64, WireError> {
        let h = self.peek_header()?;
        if h.major != major {
            return Err(self.err(DecodeReason::WrongType {
                expected,
                found: major_name(h.major),
            }));
        }
        self.pos += h.len;
        Ok(h.arg)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| self.err(DecodeReason::UnexpectedEnd))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        self.expect(MAJ_UINT, "unsigned integer")
    }

    pub(crate) fn i64(&mut self) -> Result<i64, WireError> {
        let h = self.peek_header()?;
        let v = match h.major {
            MAJ_UINT => i64::try_from(h.arg).map_err(|_| self.err(DecodeReason::Overflow))?,
            MAJ_NINT => {
                let n = i64::try_from(h.arg).map_err(|_| self.err(DecodeReason::Overflow))?;
                -1 - n
            }
            other => {
                return Err(self.err(DecodeReason::WrongType {
                    expected: "integer",
                    found: major_name(other),
                }));
            }
        };
        self.pos += h.len;
        Ok(v)
    }

    pub(crate) fn bool(&mut self) -> Result<bool, WireError> {
        match self.buf.get(self.pos) {
            Some(&FALSE) => {
                self.pos += 1;
                Ok(false)
            }
            Some(&TRUE) => {
                self.pos += 1;
                Ok(true)
            }
            Some(&b) => Err(self.err(DecodeReason::WrongType {
                expected: "boolean",
                found: if b >> 5 == MAJ_OTHER {
                    "other simple value"
                } else {
                    major_name(b >> 5)
                },
            })),
            None => Err(self.err(DecodeReason::UnexpectedEnd)),
        }
    }

    /// Consumes a `null` if one is next.
    pub(crate) fn null(&mut self) -> bool {
        if self.buf.get(self.pos) == Some(&NULL) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn text(&mut self) -> Result<String, WireError> {
        let n = self.expect(MAJ_TEXT, "text string")?;
        if n > MAX_TEXT {
            return Err(self.err(DecodeReason::TooLong {
                len: n,
                max: MAX_TEXT,
            }));
        }
        let raw = self.take(n)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.err(DecodeReason::InvalidUtf8))
    }

    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, WireError> {
        let n = self.expect(MAJ_BYTES, "byte string")?;
        if n > MAX_BYTES {
            return Err(self.err(DecodeReason::TooLong {
                len: n,
                max: MAX_BYTES,
            }));
        }
        Ok(self.take(n)?.to_vec())
    }

    pub(crate) fn bytes16(&mut self) -> Result<[u8; 16], WireError> {
        let raw = self.bytes()?;
        raw.as_slice().try_into().map_err(|_| {
            self.err(DecodeReason::Invalid(format!(
                "expected 16 bytes, got {}",
                raw.len()
            )))
        })
    }

    /// A CID as cbor-gen's `ReadCid`: tag 42 over `0x00 || cid bytes`.
    pub(crate) fn cid(&mut self) -> Result<Cid, WireError> {
        let tag = self.expect(MAJ_TAG, "tag 42 (CID)")?;
        if tag != TAG_CID {
            return Err(self.err(DecodeReason::Invalid(format!(
                "expected tag 42, got tag {tag}"
            ))));
        }
        let raw = self.bytes()?;
        match raw.split_first() {
            Some((0, cid)) => Cid::try_from(cid)
                .map_err(|e| self.err(DecodeReason::Invalid(format!("bad CID: {e}")))),
            _ => Err(self.err(DecodeReason::Invalid(
                "CID bytes lack the 0x00 multibase prefix".into(),
            ))),
        }
    }

    /// The raw bytes of the next item, which must be complete.
    pub(crate) fn raw_item(&mut self) -> Result<&'a [u8], WireError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let mut scanner = ItemScanner::new(rest.len());
        let len = match scanner.advance(rest) {
            Ok(Some(len)) => len,
            Ok(None) | Err(ScanError::TooLarge { .. }) => {
                return Err(self.err(DecodeReason::UnexpectedEnd));
            }
            Err(e) => return Err(self.err(DecodeReason::Invalid(e.to_string()))),
        };
        self.take(len as u64)
    }

    pub(crate) fn skip(&mut self) -> Result<(), WireError> {
        self.raw_item().map(|_| ())
    }

    /// A go-state-types value through its DAG-CBOR serde form.
    pub(crate) fn nested<T: DeserializeOwned>(&mut self) -> Result<T, WireError> {
        let start = self.pos;
        let raw = self.raw_item()?;
        fvm_ipld_encoding::from_slice(raw).map_err(|e| WireError::Decode {
            path: self.path(),
            offset: start,
            reason: DecodeReason::Invalid(e.to_string()),
        })
    }

    /// Walks an array of at most cbor-gen's 8192 items (`cbg.MaxLength`),
    /// calling `item` for each while the decoder's path names its index. A
    /// `null` reads as no items (a nil Go slice).
    pub(crate) fn array<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        if self.null() {
            return Ok(Vec::new());
        }
        let n = self.expect(MAJ_ARRAY, "array")?;
        if n > MAX_ITEMS {
            return Err(self.err(DecodeReason::TooLong {
                len: n,
                max: MAX_ITEMS,
            }));
        }
        // Every item takes at least one byte, so the input bounds the count.
        let cap = usize::try_from(n).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(cap.min(self.buf.len() - self.pos));
        for i in 0..n {
            self.path.push(i.to_string());
            out.push(item(self)?);
            self.path.pop();
        }
        Ok(out)
    }

    /// Walks a cbor-gen map. `field` is called with each key while the
    /// decoder's path names that key; it returns `false` for a key it does
    /// not know, whose value is then skipped (cbor-gen does the same).
    pub(crate) fn map(
        &mut self,
        mut field: impl FnMut(&mut Self, &str) -> Result<bool, WireError>,
    ) -> Result<(), WireError> {
        let n = self.expect(MAJ_MAP, "map")?;
        for _ in 0..n {
            let key = self.text()?;
            self.path.push(key.clone());
            let known = field(self, &key)?;
            if !known {
                self.skip()?;
            }
            self.path.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Feeds `item` to a fresh scanner split at every byte boundary, and one
    /// byte at a time, and checks that it finds `want` every time.
    fn scan_all_splits(item: &[u8], limit: usize, want: Result<usize, ScanError>) {
        for split in 0..=item.len() {
            let mut s = ItemScanner::new(limit);
            let first = s.advance(&item[..split]);
            let got = match first {
                Ok(Some(n)) => Ok(n),
                Err(e) => Err(e),
                Ok(None) => match s.advance(item) {
                    Ok(Some(n)) => Ok(n),
                    Ok(None) => panic!("incomplete at split {split}"),
                    Err(e) => Err(e),
                },
            };
            assert_eq!(got, want, "split at {split}");
        }
        let mut s = ItemScanner::new(limit);
        let mut got = None;
        for end in 0..=item.len() {
            match s.advance(&item[..end]) {
                Ok(Some(n)) => {
                    got = Some(Ok(n));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    got = Some(Err(e));
                    break;
                }
            }
        }
        assert_eq!(got, Some(want), "byte by byte");
    }

    #[test]
    fn scanner_finds_item_end_at_every_split() {
        let mut nested = vec![0xa3]; // map of 3
        nested.extend([0x61, b'a', 0x83, 0x01, 0x18, 200, 0x19, 1, 0]); // "a": [1, 200, 256]
        nested.extend([0x61, b'b', 0xd8, 0x2a, 0x45, 0, 1, 2, 3, 4]); // "b": tag42(bytes 5)
        nested.extend([0x61, b'c', 0x82, 0xa0, 0x80]); // "c": [{}, []]
        let mut with_trailer = nested.clone();
        with_trailer.extend([0xff, 0xff]);
        scan_all_splits(&nested, 1024, Ok(nested.len()));
        // Bytes after the item are left alone.
        scan_all_splits(&with_trailer, 1024, Ok(nested.len()));

        // A 300-byte string with a 2-byte length header, and a float64.
        let mut long = vec![0x79, 0x01, 0x2c];
        long.extend(std::iter::repeat_n(b'x', 300));
        scan_all_splits(&long, 1024, Ok(303));
        scan_all_splits(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], 64, Ok(9));
        // Simple values and an 8-byte integer.
        scan_all_splits(&[0xf6], 8, Ok(1));
        scan_all_splits(&[0x1b, 1, 2, 3, 4, 5, 6, 7, 8], 16, Ok(9));
    }

    #[test]
    fn scanner_rejects_indefinite_reserved_and_oversized() {
        // Indefinite-length map, break, reserved info 28.
        scan_all_splits(
            &[0xbf, 0x61],
            64,
            Err(ScanError::Unsupported {
                byte: 0xbf,
                offset: 0,
            }),
        );
        scan_all_splits(
            &[0x81, 0xff],
            64,
            Err(ScanError::Unsupported {
                byte: 0xff,
                offset: 1,
            }),
        );
        scan_all_splits(
            &[0x1c],
            64,
            Err(ScanError::Unsupported {
                byte: 0x1c,
                offset: 0,
            }),
        );
        // A byte string claiming 4 GiB is refused before its bytes arrive.
        scan_all_splits(
            &[0x5a, 0xff, 0xff, 0xff, 0xff],
            1 << 20,
            Err(ScanError::TooLarge {
                limit: 1 << 20,
                offset: 0,
            }),
        );
        // So is an array claiming more elements than bytes left.
        scan_all_splits(
            &[0x9b, 0xff, 0, 0, 0, 0, 0, 0, 0],
            1 << 20,
            Err(ScanError::TooLarge {
                limit: 1 << 20,
                offset: 0,
            }),
        );
        // A map whose element count doubles past u64.
        scan_all_splits(
            &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            1 << 20,
            Err(ScanError::TooLarge {
                limit: 1 << 20,
                offset: 0,
            }),
        );
        // Nesting.
        let deep = vec![0x81; MAX_DEPTH + 2];
        let mut s = ItemScanner::new(1024);
        assert!(matches!(s.advance(&deep), Err(ScanError::TooDeep { .. })));
        // Many tiny items that together pass the limit.
        let mut s = ItemScanner::new(4);
        assert!(matches!(
            s.advance(&[0x84, 1, 2, 3, 4]),
            Err(ScanError::TooLarge { .. })
        ));
    }

    #[test]
    fn scanner_waits_on_an_empty_buffer() {
        assert_eq!(ItemScanner::new(8).advance(&[]), Ok(None));
        assert!(matches!(
            ItemScanner::new(0).advance(&[]),
            Err(ScanError::TooLarge { .. })
        ));
    }

    #[test]
    fn integers_use_minimal_headers() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 24]),
            (256, &[0x19, 1, 0]),
            (65_536, &[0x1a, 0, 1, 0, 0]),
            (
                u64::MAX,
                &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (v, want) in cases {
            let mut e = Encoder::new();
            e.u64(v);
            assert_eq!(e.into_bytes(), want);
            let mut d = Decoder::new(want, "x");
            assert_eq!(d.u64().unwrap(), v);
            d.finish().unwrap();
        }
        for v in [0i64, -1, -24, -25, -256, i64::MIN, i64::MAX] {
            let mut e = Encoder::new();
            e.i64(v);
            let bytes = e.into_bytes();
            assert_eq!(Decoder::new(&bytes, "x").i64().unwrap(), v);
        }
        let mut e = Encoder::new();
        e.i64(-1);
        assert_eq!(e.into_bytes(), [0x20]);
    }

    #[test]
    fn map_writer_sorts_like_cbor_gen() {
        let mut m = MapWriter::new();
        for key in [
            "RemoveUnsealedCopy",
            "DealUUID",
            "ClientDealProposal",
            "IsOffline",
            "Transfer",
        ] {
            m.field(key, |e| {
                e.null();
                Ok(())
            })
            .unwrap();
        }
        let mut e = Encoder::new();
        m.finish(&mut e);
        let bytes = e.into_bytes();
        let mut keys = Vec::new();
        Decoder::new(&bytes, "m")
            .map(|d, k| {
                keys.push(k.to_owned());
                assert!(d.null());
                Ok(true)
            })
            .unwrap();
        assert_eq!(
            keys,
            [
                "DealUUID",
                "Transfer",
                "IsOffline",
                "ClientDealProposal",
                "RemoveUnsealedCopy"
            ]
        );
    }
}
