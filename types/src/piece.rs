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
