//! Disk space a task needs on the path it writes to, per task kind and
//! sector size. Reservations are made with these numbers before a task
//! starts, so a full disk is refused up front instead of leaving a
//! half-written sector.
//!
//! Sources:
//! - Unsealed and sealed files are exactly the sector size (padded bytes).
//! - The cache directory while sealing is 14.1 × the sector size: Lotus's
//!   `FSOverheadSeal[FTCache] = 141` (in tenths; lotus
//!   `storage/sealer/storiface/filetype.go`), with the breakdown "11 layers +
//!   D (2 × sector size) + C + R'". The 11 layers are SDR's layer count for
//!   32 GiB and 64 GiB sectors (filecoin-proofs `constants.rs`, `LAYERS`;
//!   test sizes have 2, so the figure is conservative for them), tree D is a
//!   binary Merkle tree over the data (~2 × sector size), tree C is eight
//!   octree files of ~4.6 GiB for 32 GiB (~1.1 ×), and tree R-last is kept
//!   with its lower rows discarded (small).
//! - The finalized cache (tree R-last and the aux files, layers dropped) is
//!   0.1 × the sector size: Lotus's `FsOverheadFinalized[FTCache] = 1`.
//!
//! What each task writes where it runs, following which files Lotus's tasks
//! allocate (`AcquireSector`'s "allocate" argument in lotus
//! `storage/sealer/ffiwrapper/sealer_cgo.go`):
//!
//! | task | new files | bytes |
//! |---|---|---|
//! | AddPiece | unsealed | 1 × |
//! | PC1 | sealed + sealing cache | 1 × + 14.1 × |
//! | PC2, C1, C2 | none (they fill PC1's files) | 0 |
//! | Finalize | sealed + finalized cache on the store path | 1 × + 0.1 × |
//! | Fetch | sealed + sealing cache (a sector moving between sealing hosts, the worst case) | 1 × + 14.1 × |
//! | WindowPoSt, WinningPoSt | none | 0 |
//! | Unseal | unsealed | 1 × |
//! | UpdateEncode (SnapDeals) | new replica + its cache: tree D, then tree R-last and the aux files | 1 × + 2 × + 0.1 × |
//! | UpdateProve (SnapDeals) | none (it reads the update) | 0 |
//!
//! UpdateEncode writes `update` and `update-cache` beside the sector key.
//! The replica is counted as a [`FileKind::Sealed`], and the cache as a
//! [`FileKind::FinalizedCache`] plus the new tree D that filecoin-proofs'
//! `encode_into` builds there (a binary tree over the sector, 2 × its size):
//! 2.1 × in all, Lotus's `FSOverheadSeal[FTUpdateCache] = 21` for
//! ReplicaUpdate, which allocates `FTUpdate | FTUpdateCache`.
//!
//! Finalize with `keep-unsealed` needs [`FileKind::Unsealed`] more; the
//! caller adds it with [`file_bytes`].

use ferrite_types::SectorSize;
use serde::{Deserialize, Serialize};

use crate::task::TaskKind;

/// The files of a sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    /// The unsealed (padded piece data) file.
    Unsealed,
    /// The sealed replica.
    Sealed,
    /// The cache directory while sealing (SDR layers and trees).
    SealingCache,
    /// The cache directory after Finalize (tree R-last and aux files).
    FinalizedCache,
}

/// Lotus expresses overheads in tenths of the sector size.
const TENTHS: u64 = 10;

/// Bytes a file of `kind` takes for a sector of `size`.
pub fn file_bytes(kind: FileKind, size: SectorSize) -> u64 {
    let tenths: u64 = match kind {
        FileKind::Unsealed | FileKind::Sealed => 10,
        FileKind::SealingCache => 141,
        FileKind::FinalizedCache => 1,
    };
    let bytes = u128::from(size.bytes()) * u128::from(tenths) / u128::from(TENTHS);
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

/// The files a task of `kind` creates where it runs.
pub fn files_written(kind: TaskKind) -> &'static [FileKind] {
    match kind {
        TaskKind::AddPiece | TaskKind::Unseal => &[FileKind::Unsealed],
        TaskKind::Pc1 | TaskKind::Fetch => &[FileKind::Sealed, FileKind::SealingCache],
        TaskKind::Finalize | TaskKind::UpdateEncode => {
            &[FileKind::Sealed, FileKind::FinalizedCache]
        }
        TaskKind::Pc2
        | TaskKind::C1
        | TaskKind::C2
        | TaskKind::UpdateProve
        | TaskKind::WindowPost
        | TaskKind::WinningPost => &[],
    }
}

/// Bytes a task of `kind` writes besides the files of [`files_written`]:
/// UpdateEncode's tree D in the update cache (see the module documentation).
fn extra_bytes(kind: TaskKind, size: SectorSize) -> u64 {
    match kind {
        TaskKind::UpdateEncode => size.bytes().saturating_mul(2),
        _ => 0,
    }
}

/// Bytes to reserve before running a task of `kind` on a sector of `size`.
pub fn task_bytes(kind: TaskKind, size: SectorSize) -> u64 {
    files_written(kind)
        .iter()
        .map(|f| file_bytes(*f, size))
        .fold(extra_bytes(kind, size), u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc1_of_32gib_needs_about_15_sector_sizes() {
        let s = SectorSize::S32GiB.bytes();
        let need = task_bytes(TaskKind::Pc1, SectorSize::S32GiB);
        assert_eq!(need, s + s * 141 / 10);
        // 32 GiB × 15.1 ≈ 483 GiB.
        assert!(need > 480 << 30 && need < 490 << 30);
    }

    #[test]
    fn plain_files_are_one_sector_size() {
        for size in SectorSize::ALL {
            assert_eq!(task_bytes(TaskKind::AddPiece, size), size.bytes());
            assert_eq!(file_bytes(FileKind::Sealed, size), size.bytes());
            assert_eq!(task_bytes(TaskKind::C2, size), 0);
            assert!(task_bytes(TaskKind::Finalize, size) > size.bytes());
        }
    }

    #[test]
    fn update_encode_needs_a_replica_and_lotus_update_cache_and_proving_nothing() {
        for size in SectorSize::ALL {
            // Lotus: FTUpdate 10 + FTUpdateCache 21 tenths.
            let s = size.bytes();
            assert_eq!(task_bytes(TaskKind::UpdateEncode, size), s + s * 21 / 10);
            assert_eq!(task_bytes(TaskKind::UpdateProve, size), 0);
        }
        // 32 GiB × 3.1 ≈ 99.2 GiB.
        let need = task_bytes(TaskKind::UpdateEncode, SectorSize::S32GiB);
        assert!(need > 99 << 30 && need < 100 << 30);
    }
}
