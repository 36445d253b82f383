//! Where retrieval finds bytes: the market's piece index says which sector
//! and offset hold a piece (and which piece holds a block), and the host
//! says where each sector's unsealed copy is. The node implements
//! [`SectorAccess`] and [`Unsealer`] over the cluster's storage and its
//! unseal task, so this crate needs neither sealing nor the scheduler.

use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;
use cid::Cid;
use ferrite_market::index::{PieceIndex, PieceLocation};
use ferrite_types::{CommP, PieceCidV2, SectorNumber};

use crate::error::RetrievalError;
use crate::unpad::PieceSpan;

/// The sectors' unsealed copies on this host.
pub trait SectorAccess: Send + Sync + 'static {
    /// The sector's unsealed copy, if this host holds one. Blocking (it
    /// looks at the disk).
    fn unsealed(&self, sector: SectorNumber) -> Option<PathBuf>;
}

/// Recreates unsealed copies.
#[async_trait]
pub trait Unsealer: Send + Sync + 'static {
    /// Unseals the whole sector into its unsealed copy, through the
    /// cluster's unseal task, and returns the copy's path.
    async fn unseal(&self, sector: SectorNumber) -> anyhow::Result<PathBuf>;
}

/// A piece as `/piece/` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceName {
    /// A v1 piece CID (`baga…`): the whole unpadded piece is served.
    V1(CommP),
    /// An FRC-0069 v2 piece CID (`bafkzcib…`): its payload is served.
    V2(PieceCidV2),
}

impl PieceName {
    /// The piece's commitment.
    pub fn comm_p(&self) -> CommP {
        match self {
            PieceName::V1(c) => *c,
            PieceName::V2(v) => v.comm_p(),
        }
    }
}

impl FromStr for PieceName {
    type Err = RetrievalError;
    fn from_str(s: &str) -> Result<Self, RetrievalError> {
        let cid = Cid::from_str(s)
            .map_err(|e| RetrievalError::BadRequest(format!("{s:?} is not a CID: {e}")))?;
        if let Ok(c) = CommP::from_cid(&cid) {
            return Ok(PieceName::V1(c));
        }
        PieceCidV2::from_cid(&cid).map(PieceName::V2).map_err(|_| {
            RetrievalError::BadRequest(format!("{s} is not a piece CID (v1 baga… or v2 bafkzcib…)"))
        })
    }
}

/// A piece found: where it lies, and how many of its bytes are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPiece {
    /// Its commitment.
    pub comm_p: CommP,
    /// Its location in a sector.
    pub location: PieceLocation,
    /// The bytes served: the unpadded piece for a v1 CID, the payload for a v2.
    pub len: u64,
}

/// The piece `name` names, if this provider stores it. A v2 CID must agree
/// with the stored piece's size and payload, or it names another piece.
pub fn find_piece(index: &PieceIndex, name: &PieceName) -> Result<FoundPiece, RetrievalError> {
    let comm_p = name.comm_p();
    let locations = index
        .locations(&comm_p)
        .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("read the piece index: {e}")))?;
    let not_found = || RetrievalError::NotFound(format!("piece {comm_p} is not stored here"));
    let location = locations.into_iter().find(|l| match name {
        PieceName::V1(_) => true,
        PieceName::V2(v) => v.size() == l.size && v.payload_size() == l.payload,
    });
    let location = location.ok_or_else(not_found)?;
    let len = match name {
        PieceName::V1(_) => location.size.unpadded().bytes(),
        PieceName::V2(v) => v.payload_size(),
    };
    Ok(FoundPiece {
        comm_p,
        location,
        len,
    })
}

/// The span of `location` in the unsealed copy `file`.
pub fn span(file: PathBuf, location: &PieceLocation) -> PieceSpan {
    PieceSpan {
        file,
        padded_offset: location.offset,
        padded_size: location.size.bytes(),
    }
}
