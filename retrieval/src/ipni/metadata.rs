//! Advertisement metadata: how a client retrieves what an ad lists.
//!
//! go-libipni `metadata/ipfs_trustless_gateway.go` and
//! `metadata/filecoin_piece.go`: each protocol is its multicodec as a uvarint
//! followed by `uvarint(0)`, the length of an empty payload. So
//! `IpfsGatewayHttp` is `a0 12 00` and `FilecoinPieceHttp` is `b0 12 00`.
//! Curio (`tasks/indexing/task_ipni.go`, `task_pdp_ipni.go`) uses the first
//! for deal and payload ads and the second for piece-only ads.

use super::IpniError;
use super::encoding::{put_uvarint, read_uvarint};

/// The retrieval protocol an advertisement announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metadata {
    /// `transport-ipfs-gateway-http` (0x0920): blocks and CARs over the IPFS
    /// trustless gateway (`/ipfs/{cid}`). For ads listing payload blocks.
    IpfsGatewayHttp,
    /// `transport-filecoin-piece-http` (0x0930): whole pieces over
    /// `/piece/{cid}`. For piece-only ads.
    FilecoinPieceHttp,
}

impl Metadata {
    /// The protocol's multicodec.
    pub fn code(self) -> u64 {
        match self {
            Self::IpfsGatewayHttp => 0x0920,
            Self::FilecoinPieceHttp => 0x0930,
        }
    }

    /// The bytes that go in `Advertisement.Metadata`.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut b = Vec::with_capacity(3);
        put_uvarint(&mut b, self.code());
        put_uvarint(&mut b, 0);
        b
    }

    /// Reads metadata written by [`Metadata::to_bytes`] (or by go-libipni
    /// for one of these two protocols).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IpniError> {
        let (code, n) =
            read_uvarint(bytes).ok_or_else(|| IpniError::malformed("metadata", "bad varint"))?;
        let md = match code {
            0x0920 => Self::IpfsGatewayHttp,
            0x0930 => Self::FilecoinPieceHttp,
            other => {
                return Err(IpniError::malformed(
                    "metadata",
                    format!("unsupported protocol 0x{other:04x}"),
                ));
            }
        };
        if bytes[n..] != [0] {
            return Err(IpniError::malformed(
                "metadata",
                "expected an empty payload (a single 0x00 after the code)",
            ));
        }
        Ok(md)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_go_libipni() {
        assert_eq!(Metadata::IpfsGatewayHttp.to_bytes(), [0xa0, 0x12, 0x00]);
        assert_eq!(Metadata::FilecoinPieceHttp.to_bytes(), [0xb0, 0x12, 0x00]);
    }

    #[test]
    fn round_trip_and_rejects() {
        for md in [Metadata::IpfsGatewayHttp, Metadata::FilecoinPieceHttp] {
            assert_eq!(Metadata::from_bytes(&md.to_bytes()).ok(), Some(md));
        }
        assert!(Metadata::from_bytes(&[0xa0, 0x12]).is_err());
        assert!(Metadata::from_bytes(&[0xa0, 0x12, 0x01, 0x00]).is_err());
        assert!(Metadata::from_bytes(&[0x80, 0x12, 0x00]).is_err());
        assert!(Metadata::from_bytes(&[]).is_err());
    }
}
