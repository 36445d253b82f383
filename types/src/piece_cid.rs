//! FRC-0069 v2 piece CIDs: CommP together with its tree's size and padding.
//!
//! A v1 piece CID ([`CommP`], `baga…`) names only the root; deals carry the
//! padded size beside it, and the payload size is lost. A v2 piece CID
//! (`bafkzcib…`) carries all three, so one string identifies a piece and
//! says how much of it is payload. Its layout, per FRC-0069:
//!
//! ```text
//! CIDv1 | codec raw (0x55) | multihash fr32-sha256-trunc254-padbintree (0x1011)
//! digest = uvarint(padding) | u8 height | 32-byte root
//! ```
//!
//! `height` is log2(padded size / 32), the depth of the binary tree over the
//! 32-byte fr32 nodes; `padding` is the unpadded piece size minus the
//! payload size: the zeros that fill the payload up to the full tree.
//!
//! ```
//! use ferrite_types::{PaddedPieceSize, PieceCidV2};
//!
//! // The FRC's vector: 127 bytes each of 0, 1, 2 and 3 (a full 512-byte piece).
//! let v2: PieceCidV2 = "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi".parse()?;
//! assert_eq!(v2.size(), PaddedPieceSize::new(512)?);
//! assert_eq!(v2.payload_size(), 508);
//! assert_eq!(
//!     v2.comm_p().to_string(),
//!     "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"
//! );
//! # Ok::<(), ferrite_types::TypesError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use cid::Cid;
use cid::multihash::Multihash;
use serde::{Deserialize, Serialize};

use crate::{CommP, PaddedPieceSize, PieceInfo, TypesError};

/// The multicodec of the raw codec, which v2 piece CIDs use.
pub const RAW_CODEC: u64 = 0x55;

/// The multihash code of `fr32-sha256-trunc254-padbintree`.
pub const PIECE_MULTIHASH: u64 = 0x1011;

/// What the error messages call a v2 piece CID.
const WHAT: &str = "v2 piece CID (raw, fr32-sha256-trunc254-padbintree)";

/// The longest uvarint the multiformats spec allows (values below 2^63).
const MAX_UVARINT_BYTES: usize = 9;

/// A piece's commitment, padded size and payload size: what an FRC-0069 v2
/// piece CID encodes. Built with [`PieceCidV2::new`] (which checks that the
/// payload fits) or parsed from its CID; serde uses the CID text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PieceCidV2 {
    comm_p: CommP,
    size: PaddedPieceSize,
    /// Unpadded piece size minus payload size; at most the unpadded size.
    padding: u64,
}

impl PieceCidV2 {
    /// The v2 CID of a piece of `size` whose first `payload` unpadded bytes
    /// are data (the rest zero fill); an error if `payload` exceeds the
    /// piece's unpadded size.
    pub fn new(comm_p: CommP, size: PaddedPieceSize, payload: u64) -> Result<Self, TypesError> {
        let padding = size
            .unpadded()
            .bytes()
            .checked_sub(payload)
            .ok_or(TypesError::PayloadTooLarge(payload))?;
        Ok(Self {
            comm_p,
            size,
            padding,
        })
    }

    /// The piece commitment (the root), as in the v1 CID.
    pub fn comm_p(&self) -> CommP {
        self.comm_p
    }

    /// The padded piece size.
    pub fn size(&self) -> PaddedPieceSize {
        self.size
    }

    /// The payload: the unpadded size less the zero fill.
    pub fn payload_size(&self) -> u64 {
        self.size.unpadded().bytes() - self.padding
    }

    /// The zero fill after the payload, in unpadded bytes.
    pub fn padding(&self) -> u64 {
        self.padding
    }

    /// The height of the tree over 32-byte nodes: log2(size / 32).
    pub fn height(&self) -> u8 {
        // A padded size is a power of two of at least 128: height 2..=58.
        (self.size.bytes().trailing_zeros() - 5) as u8
    }

    /// The commitment and padded size, as deals and sealing use them.
    pub fn piece_info(&self) -> PieceInfo {
        PieceInfo {
            comm_p: self.comm_p,
            size: self.size,
        }
    }

    /// The multihash digest: `uvarint(padding) | height | root`.
    pub fn digest(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_UVARINT_BYTES + 1 + 32);
        let mut v = self.padding;
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out.push(self.height());
        out.extend_from_slice(self.comm_p.as_bytes());
        out
    }

    /// The piece as its v2 CID.
    pub fn to_cid(&self) -> Cid {
        // The digest is at most 9 + 1 + 32 bytes, below the 64-byte capacity.
        match Multihash::wrap(PIECE_MULTIHASH, &self.digest()) {
            Ok(mh) => Cid::new_v1(RAW_CODEC, mh),
            Err(e) => unreachable!("a piece digest of at most 42 bytes: {e}"),
        }
    }

    /// The piece that `cid` names, which must be a v2 piece CID.
    pub fn from_cid(cid: &Cid) -> Result<Self, TypesError> {
        let wrong = |reason: String| TypesError::WrongCid {
            cid: cid.to_string(),
            expected: WHAT,
            reason,
        };
        if cid.codec() != RAW_CODEC {
            return Err(wrong(format!("codec {:#x} is not raw", cid.codec())));
        }
        if cid.hash().code() != PIECE_MULTIHASH {
            return Err(wrong(format!(
                "multihash {:#x} is not fr32-sha256-trunc254-padbintree",
                cid.hash().code()
            )));
        }
        let digest = cid.hash().digest();
        let (padding, rest) = read_uvarint(digest).map_err(wrong)?;
        let [height, root @ ..] = rest else {
            return Err(wrong("digest ends before the tree height".into()));
        };
        let root: [u8; 32] = root
            .try_into()
            .map_err(|_| wrong(format!("root is {} bytes, not 32", root.len())))?;
        let size = 1u64
            .checked_shl(u32::from(*height) + 5)
            .ok_or_else(|| wrong(format!("tree height {height} is too large")))
            .and_then(|s| {
                PaddedPieceSize::new(s)
                    .map_err(|_| wrong(format!("tree height {height} is below a 128-byte piece")))
            })?;
        if padding > size.unpadded().bytes() {
            return Err(wrong(format!(
                "padding {padding} exceeds the piece's {} unpadded bytes",
                size.unpadded()
            )));
        }
        Ok(Self {
            comm_p: CommP(root),
            size,
            padding,
        })
    }
}

/// A minimal unsigned varint (LEB128, at most 9 bytes) and the bytes after it.
fn read_uvarint(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(MAX_UVARINT_BYTES) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err("padding varint is not minimally encoded".into());
            }
            return Ok((v, &bytes[i + 1..]));
        }
    }
    Err("padding varint is truncated or longer than 9 bytes".into())
}

impl FromStr for PieceCidV2 {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, TypesError> {
        let cid = Cid::try_from(s.trim()).map_err(|e| TypesError::MalformedCid {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        Self::from_cid(&cid)
    }
}

impl TryFrom<String> for PieceCidV2 {
    type Error = TypesError;
    fn try_from(s: String) -> Result<Self, TypesError> {
        s.parse()
    }
}

impl From<PieceCidV2> for String {
    fn from(c: PieceCidV2) -> String {
        c.to_cid().to_string()
    }
}

impl fmt::Display for PieceCidV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_cid())
    }
}

impl fmt::Debug for PieceCidV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PieceCidV2({})", self.to_cid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(s: &str) -> CommP {
        s.parse().unwrap()
    }

    fn size(bytes: u64) -> PaddedPieceSize {
        PaddedPieceSize::new(bytes).unwrap()
    }

    /// The test cases of FRC-0069: (v1 CID, padded size, payload, v2 CID).
    const FRC_VECTORS: [(&str, u64, u64, &str); 7] = [
        // 127 bytes each of 0, 1, 2, 3.
        (
            "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi",
            512,
            508,
            "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi",
        ),
        // The empty payload: 127 bytes of padding in a 128-byte piece.
        (
            "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
            128,
            0,
            "bafkzcibcp4bdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
        ),
        // 127 zeros.
        (
            "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
            128,
            127,
            "bafkzcibcaabdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
        ),
        // The empty 32 GiB piece.
        (
            "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq",
            32 << 30,
            (32 << 30) / 128 * 127,
            "bafkzcibcaapao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq",
        ),
        // The empty 64 GiB piece.
        (
            "baga6ea4seaqomqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq",
            64 << 30,
            (64 << 30) / 128 * 127,
            "bafkzcibcaap6mqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq",
        ),
        // 127 bytes each of 0, 1, 2, 3 and 4 zeros: 504 bytes of padding
        // (a two-byte varint).
        (
            "baga6ea4seaqn42av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa",
            1024,
            512,
            "bafkzcibd7abqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4",
        ),
        // The same and one more zero: 503 bytes of padding.
        (
            "baga6ea4seaqn42av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa",
            1024,
            513,
            "bafkzcibd64bqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4",
        ),
    ];

    #[test]
    fn frc_0069_vectors_encode_and_parse() {
        for (v1_cid, padded, payload, v2_cid) in FRC_VECTORS {
            let p = PieceCidV2::new(v1(v1_cid), size(padded), payload).unwrap();
            assert_eq!(p.to_string(), v2_cid, "{v1_cid} {padded} {payload}");
            let back: PieceCidV2 = v2_cid.parse().unwrap();
            assert_eq!(back, p);
            assert_eq!(back.payload_size(), payload);
            assert_eq!(back.piece_info().comm_p.to_string(), v1_cid);
            assert_eq!(back.to_cid().codec(), RAW_CODEC);
            assert_eq!(back.to_cid().hash().code(), PIECE_MULTIHASH);
        }
    }

    #[test]
    fn frc_0069_base16_layout() {
        // The FRC spells out its first vector byte by byte in base16.
        let p: PieceCidV2 = FRC_VECTORS[0].3.parse().unwrap();
        let hex: String = p
            .to_cid()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "01559120220004496dae0cc9e265efe5a006e80626a5dc5c409e5d3155c13984caf6c8d5cfd605"
        );
        assert_eq!(p.height(), 4);
        assert_eq!(p.padding(), 0);
    }

    #[test]
    fn serde_uses_the_cid_text() {
        let p: PieceCidV2 = FRC_VECTORS[5].3.parse().unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", FRC_VECTORS[5].3));
        assert_eq!(serde_json::from_str::<PieceCidV2>(&json).unwrap(), p);
    }

    #[test]
    fn payload_larger_than_the_piece_is_rejected() {
        let err = PieceCidV2::new(CommP([0; 32]), size(128), 128).unwrap_err();
        assert_eq!(err, TypesError::PayloadTooLarge(128));
    }

    #[test]
    fn other_cids_are_rejected_with_the_reason() {
        let v1_text = FRC_VECTORS[0].0;
        let err = v1_text.parse::<PieceCidV2>().unwrap_err();
        assert!(err.to_string().contains("is not raw"), "{err}");
        let wrap = |digest: &[u8]| {
            Cid::new_v1(RAW_CODEC, Multihash::wrap(PIECE_MULTIHASH, digest).unwrap())
        };
        let cases: [(Vec<u8>, &str); 5] = [
            (vec![0, 4], "root is 0 bytes"),
            (vec![0x80], "truncated"),
            (vec![0x80, 0x00, 4], "minimally"),
            ([vec![0, 1], vec![0; 32]].concat(), "below a 128-byte piece"),
            ([vec![0x80, 0x01, 2], vec![0; 32]].concat(), "exceeds"),
        ];
        for (digest, why) in cases {
            let err = PieceCidV2::from_cid(&wrap(&digest)).unwrap_err();
            assert!(err.to_string().contains(why), "{digest:?}: {err}");
        }
        let err =
            PieceCidV2::from_cid(&wrap(&[[0, 60].as_slice(), &[0; 32]].concat())).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(matches!(
            "nope".parse::<PieceCidV2>(),
            Err(TypesError::MalformedCid { .. })
        ));
    }
}
