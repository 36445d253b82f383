//! Context IDs: the key an indexer files an advertisement's multihashes
//! under, and the key a removal ad names.
//!
//! - PoRep deals: Curio (`tasks/indexing/task_ipni.go`) uses the DAG-CBOR of
//!   go-state-types `abi.PieceInfo`, a cbor-gen tuple `[Size, PieceCID]`:
//!   `0x82`, the padded size as an unsigned int, the v1 piece CID as a tag-42
//!   link. Checkers expect the same (FRC draft "Retrieval Checking
//!   Requirements").
//! - Piece ads (Curio's PDP `PdpIpniContext.Marshal`): one flag byte (1 when
//!   the ad lists the payload blocks, 0 when it lists only the piece), then
//!   the v2 piece CID's bytes; at most 64 bytes in all.

use cid::Cid;
use ferrite_types::{CommP, PaddedPieceSize, PieceCidV2, PieceInfo};

use super::IpniError;
use super::ad::MAX_CONTEXT_ID_LEN;
use super::encoding::{cbor_cid, cbor_head, cid_from_cbor, decode_cbor, major};

/// An advertisement's context id (at most 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextId(Vec<u8>);

impl ContextId {
    /// Wraps raw bytes, checking the indexer's 64-byte limit.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, IpniError> {
        if bytes.len() > MAX_CONTEXT_ID_LEN {
            return Err(IpniError::TooLong {
                what: "context id",
                len: bytes.len(),
                max: MAX_CONTEXT_ID_LEN,
            });
        }
        Ok(Self(bytes))
    }

    /// A PoRep deal's context: DAG-CBOR `[padded size, v1 piece CID]`.
    pub fn for_deal(piece: &PieceInfo) -> Self {
        let mut b = Vec::with_capacity(48);
        cbor_head(&mut b, major::ARRAY, 2);
        cbor_head(&mut b, major::UINT, piece.size.bytes());
        cbor_cid(&mut b, &piece.comm_p.to_cid());
        // 1 + 9 + 2 + 2 + 1 + 39 = 54 bytes at most: within the 64-byte limit.
        Self(b)
    }

    /// A piece ad's context: flag byte (`payload`) then the v2 piece CID.
    pub fn for_piece(piece: &PieceCidV2, payload: bool) -> Self {
        let mut b = vec![u8::from(payload)];
        b.extend(piece.to_cid().to_bytes());
        Self(b)
    }

    /// The bytes as they go in the advertisement.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads back a [`ContextId::for_deal`] context.
    pub fn to_deal(&self) -> Result<PieceInfo, IpniError> {
        const WHAT: &str = "deal context id";
        let v = decode_cbor(&self.0, WHAT)?;
        let items = v
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| IpniError::malformed(WHAT, "expected a 2-element array"))?;
        let size = items[0]
            .as_integer()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| IpniError::malformed(WHAT, "size is not an unsigned int"))?;
        let cid: Cid = cid_from_cbor(&items[1], WHAT)?;
        Ok(PieceInfo {
            comm_p: CommP::from_cid(&cid).map_err(|e| IpniError::malformed(WHAT, e))?,
            size: PaddedPieceSize::new(size).map_err(|e| IpniError::malformed(WHAT, e))?,
        })
    }

    /// Reads back a [`ContextId::for_piece`] context: (piece, payload flag).
    pub fn to_piece(&self) -> Result<(PieceCidV2, bool), IpniError> {
        const WHAT: &str = "piece context id";
        let (flag, rest) = self
            .0
            .split_first()
            .ok_or_else(|| IpniError::malformed(WHAT, "empty"))?;
        let cid = Cid::try_from(rest).map_err(|e| IpniError::malformed(WHAT, e))?;
        let piece = PieceCidV2::from_cid(&cid).map_err(|e| IpniError::malformed(WHAT, e))?;
        Ok((piece, *flag == 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi";
    const V2: &str = "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi";

    fn info() -> PieceInfo {
        let cid: Cid = V1.parse().unwrap();
        PieceInfo {
            comm_p: CommP::from_cid(&cid).unwrap(),
            size: PaddedPieceSize::new(512).unwrap(),
        }
    }

    #[test]
    fn deal_context_is_cbor_gen_piece_info() {
        let ctx = ContextId::for_deal(&info());
        let b = ctx.as_bytes();
        // [0x82, uint 512 (0x19 0x02 0x00), tag 42 (0xd8 0x2a), bytes(40) 0x58 0x28, 0x00, cid...]
        assert_eq!(&b[..8], &[0x82, 0x19, 0x02, 0x00, 0xd8, 0x2a, 0x58, 0x28]);
        assert_eq!(b[8], 0);
        let cid: Cid = V1.parse().unwrap();
        assert_eq!(&b[9..], cid.to_bytes().as_slice());
        assert_eq!(ctx.to_deal().ok(), Some(info()));
    }

    #[test]
    fn piece_context_is_flag_then_v2_cid() {
        let v2: PieceCidV2 = V2.parse().unwrap();
        let ctx = ContextId::for_piece(&v2, false);
        assert_eq!(ctx.as_bytes()[0], 0);
        assert_eq!(&ctx.as_bytes()[1..], v2.to_cid().to_bytes().as_slice());
        assert_eq!(ctx.to_piece().ok(), Some((v2, false)));
        assert!(ContextId::for_piece(&v2, true).as_bytes().len() <= MAX_CONTEXT_ID_LEN);
    }

    #[test]
    fn limit_is_enforced() {
        assert!(ContextId::from_bytes(vec![0; 64]).is_ok());
        assert!(ContextId::from_bytes(vec![0; 65]).is_err());
    }
}
