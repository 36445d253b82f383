//! Getting a deal's data into the staging area, with its CommP computed as
//! the bytes stream in.
//!
//! Two ways in:
//!
//! - [`pull`] (online deals): an HTTP GET of the client's URL with the
//!   client's headers. The URL is checked first
//!   ([`check_transfer_url`](crate::checks::check_transfer_url)); a failed
//!   attempt is retried with exponential backoff, resuming with
//!   `Range: bytes=N-` from the bytes already on disk; the body may not run
//!   past the size the deal announced.
//! - [`import`] (offline deals, `ferrite deals import-data UUID FILE`): a
//!   copy of the operator's file (which stays where it is).
//!
//! How data flows: response chunks (or file reads) → a bounded channel → a
//! blocking thread that owns the staging file and a
//! [`CommpHasher`](ferrite_proofs::commp::CommpHasher) and both writes and
//! hashes every chunk, in order, so the async side only moves bytes
//! (`transfer/sink.rs`). A resumed pull first re-hashes the prefix already on disk.
//! At the end the file is fsynced and the hasher finished to the
//! proposal's piece size: a [`Staged`], which becomes the deal's
//! [`StagedPiece`] (`DealEvent::TransferDone` or `Imported`). Comparing
//! its CommP with the proposal's is the deal state machine's job (it keeps
//! the file on a mismatch and names both CIDs); a failure becomes
//! `DealEvent::TransferFailed` through [`TransferError::into_event`].

mod http;
mod sink;

use std::path::{Path, PathBuf};

use ferrite_proofs::commp::CommpPool;
use ferrite_types::{PaddedPieceSize, PieceCidV2, PieceInfo};

use crate::deal::{DealEvent, StagedPiece};

pub use http::pull;

/// Data written to the staging area, with the CommP computed over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The staging file.
    pub path: PathBuf,
    /// Payload bytes in it (unpadded).
    pub bytes: u64,
    /// The piece: CommP over the payload zero-filled to the piece size the
    /// caller named.
    pub piece: PieceInfo,
    /// The same piece as an FRC-0069 v2 piece CID (it carries the payload
    /// size too).
    pub piece_cid: PieceCidV2,
}

impl From<Staged> for StagedPiece {
    fn from(s: Staged) -> Self {
        StagedPiece {
            comm_p: s.piece.comm_p,
            bytes: s.bytes,
            path: s.path,
        }
    }
}

/// Why a transfer or an import failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct TransferError {
    retryable: bool,
    reason: String,
}

impl TransferError {
    /// An error that no retry can fix.
    pub fn fatal(reason: impl Into<String>) -> Self {
        Self {
            retryable: false,
            reason: reason.into(),
        }
    }

    /// An error a later attempt may not meet.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self {
            retryable: true,
            reason: reason.into(),
        }
    }

    /// Whether a later attempt may succeed: a reset connection, a body
    /// that ended early, a 5xx, a stall. A refused URL or header, a 4xx,
    /// too many bytes or a local I/O error is fatal.
    pub fn retryable(&self) -> bool {
        self.retryable
    }

    /// What went wrong, for the client's status and the operator (also
    /// the `Display` text).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The deal event that reports it.
    pub fn into_event(self) -> DealEvent {
        DealEvent::TransferFailed {
            retryable: self.retryable,
            reason: self.reason,
        }
    }
}

/// Copies `src` into the staging file `dest` (created, or overwritten),
/// hashing every byte, and finishes the CommP to `piece_size`. The
/// operator's file stays. A file larger than the piece's unpadded size, a
/// `dest` that is `src` itself, or an I/O error is fatal. The copy and the
/// hashing run on a blocking thread.
pub async fn import(
    src: &Path,
    dest: &Path,
    piece_size: PaddedPieceSize,
    pool: &CommpPool,
) -> Result<Staged, TransferError> {
    let (src, dest, pool) = (src.to_path_buf(), dest.to_path_buf(), pool.clone());
    tokio::task::spawn_blocking(move || sink::import(&src, &dest, piece_size, &pool))
        .await
        .map_err(|e| TransferError::fatal(format!("the import thread failed: {e}")))?
}
