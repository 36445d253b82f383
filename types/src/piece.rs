//! A piece: the unit of data a deal stores and a sector packs.

use serde::{Deserialize, Serialize};

use crate::{CommP, PaddedPieceSize};

/// A piece's commitment and its padded size: what a deal names and what
/// sealing needs to compute a sector's CommD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PieceInfo {
    /// The piece commitment.
    pub comm_p: CommP,
    /// The padded size (a power of two of at least 128 bytes).
    pub size: PaddedPieceSize,
}

impl PieceInfo {
    /// The FRC-0069 v2 piece CID of this piece holding `payload` unpadded
    /// bytes of data (the rest zero fill); an error if `payload` exceeds the
    /// piece's unpadded size.
    pub fn to_cid_v2(&self, payload: u64) -> Result<crate::PieceCidV2, crate::TypesError> {
        crate::PieceCidV2::new(self.comm_p, self.size, payload)
    }
}
