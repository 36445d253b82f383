//! The few encoding primitives IPNI needs: unsigned varints, canonical
//! DAG-CBOR heads, and DAG-JSON links and bytes.
//!
//! Written by hand rather than through a serde codec so that the bytes (and
//! therefore the CIDs) are exactly what go-ipld-prime writes: DAG-CBOR with
//! minimal-length heads and RFC 7049 key order, DAG-JSON with no whitespace,
//! keys in plain byte order (`MapSortMode_Lexical`, go-ipld-prime
//! `codec/dagjson/multicodec.go`), bytes as unpadded standard base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use cid::Cid;

use super::IpniError;

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // Truncation is the point: the low seven bits, with the high bit set.
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads an unsigned varint; returns the value and the bytes it took.
pub(crate) fn read_uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// CBOR major types used here.
pub(crate) mod major {
    pub const UINT: u8 = 0;
    pub const BYTES: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const ARRAY: u8 = 4;
    pub const MAP: u8 = 5;
    pub const TAG: u8 = 6;
}

/// Appends a CBOR head with the shortest length encoding.
pub(crate) fn cbor_head(buf: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => buf.push(m | n as u8),
        24..=0xff => buf.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            buf.push(m | 25);
            buf.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            buf.push(m | 26);
            buf.extend((n as u32).to_be_bytes());
        }
        _ => {
            buf.push(m | 27);
            buf.extend(n.to_be_bytes());
        }
    }
}

/// Appends a CBOR byte string.
pub(crate) fn cbor_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    cbor_head(buf, major::BYTES, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Appends a CBOR text string.
pub(crate) fn cbor_text(buf: &mut Vec<u8>, s: &str) {
    cbor_head(buf, major::TEXT, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a DAG-CBOR link: tag 42 over the CID bytes behind a zero byte.
pub(crate) fn cbor_cid(buf: &mut Vec<u8>, cid: &Cid) {
    cbor_head(buf, major::TAG, 42);
    let raw = cid.to_bytes();
    cbor_head(buf, major::BYTES, raw.len() as u64 + 1);
    buf.push(0);
    buf.extend_from_slice(&raw);
}

/// Reads a DAG-CBOR link out of a decoded ciborium value.
pub(crate) fn cid_from_cbor(v: &ciborium::Value, what: &'static str) -> Result<Cid, IpniError> {
    match v {
        ciborium::Value::Tag(42, inner) => match inner.as_ref() {
            ciborium::Value::Bytes(b) if b.first() == Some(&0) => {
                Cid::try_from(&b[1..]).map_err(|e| IpniError::malformed(what, e))
            }
            _ => Err(IpniError::malformed(
                what,
                "tag 42 without a 0x00-prefixed CID",
            )),
        },
        _ => Err(IpniError::malformed(what, "expected a tag-42 link")),
    }
}

/// Decodes one complete CBOR item, refusing trailing bytes.
pub(crate) fn decode_cbor(bytes: &[u8], what: &'static str) -> Result<ciborium::Value, IpniError> {
    let mut rest = bytes;
    let v: ciborium::Value =
        ciborium::from_reader(&mut rest).map_err(|e| IpniError::malformed(what, e))?;
    if !rest.is_empty() {
        return Err(IpniError::malformed(what, "trailing bytes"));
    }
    Ok(v)
}

/// A DAG-JSON link: `{"/":"<cid>"}`.
pub(crate) fn json_link(cid: &Cid) -> String {
    format!(r#"{{"/":"{cid}"}}"#)
}

/// DAG-JSON bytes: `{"/":{"bytes":"<unpadded base64>"}}`.
pub(crate) fn json_bytes(b: &[u8]) -> String {
    format!(r#"{{"/":{{"bytes":"{}"}}}}"#, STANDARD_NO_PAD.encode(b))
}

/// A JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Reads a DAG-JSON link.
pub(crate) fn link_from_json(v: &serde_json::Value, what: &'static str) -> Result<Cid, IpniError> {
    let s = v
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("/"))
        .and_then(|s| s.as_str())
        .ok_or_else(|| IpniError::malformed(what, "expected {\"/\": \"<cid>\"}"))?;
    s.parse().map_err(|e| IpniError::malformed(what, e))
}

/// Reads DAG-JSON bytes.
pub(crate) fn bytes_from_json(
    v: &serde_json::Value,
    what: &'static str,
) -> Result<Vec<u8>, IpniError> {
    let s = v
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("/"))
        .and_then(|inner| inner.as_object())
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("bytes"))
        .and_then(|s| s.as_str())
        .ok_or_else(|| IpniError::malformed(what, "expected {\"/\": {\"bytes\": \"...\"}}"))?;
    STANDARD_NO_PAD
        .decode(s)
        .map_err(|e| IpniError::malformed(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_and_matches_known_codes() {
        let mut b = Vec::new();
        put_uvarint(&mut b, 0x0920);
        assert_eq!(b, [0xa0, 0x12]);
        for v in [0, 1, 127, 128, 300, 0x0930, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(read_uvarint(&b), Some((v, b.len())));
        }
        assert_eq!(read_uvarint(&[0x80]), None);
    }

    #[test]
    fn cbor_heads_are_minimal() {
        let cases: [(u64, &[u8]); 5] = [
            (23, &[0x17]),
            (24, &[0x18, 24]),
            (256, &[0x19, 1, 0]),
            (65536, &[0x1a, 0, 1, 0, 0]),
            (1 << 32, &[0x1b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (n, want) in cases {
            let mut b = Vec::new();
            cbor_head(&mut b, major::UINT, n);
            assert_eq!(b, want, "{n}");
        }
    }

    #[test]
    fn json_bytes_round_trip_without_padding() {
        let j = json_bytes(&[0xa0, 0x12, 0x00]);
        assert_eq!(j, r#"{"/":{"bytes":"oBIA"}}"#);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(bytes_from_json(&v, "t").ok(), Some(vec![0xa0, 0x12, 0x00]));
    }
}
