//! Where the node's proven sectors are, for the PoSt provers: wherever the
//! sealing pipeline's storage holds them (the attached storage paths, or one
//! directory), in its layout (`<path>/s-t0<miner>-<n>/{sealed,cache}`,
//! sealing's `SectorFiles`).
//!
//! A snapped sector's directory also holds `update` and `update-cache`, the
//! replica that SnapDeals encoded: it is the one to prove once the chain's
//! CommR is its CommR (ProveReplicaUpdates3 landed), the sector key
//! (`sealed`, `cache`) before that.

use std::path::Path;

use ferrite_proofs::replica::replica_comm_r;
use ferrite_proving::{Replica, Replicas};
use ferrite_sealing::tasks::SectorStorage;
use ferrite_types::{ActorId, CommR, SectorId, SectorNumber};
use tracing::warn;

/// The replicas the in-process sealing pipeline left in its storage.
#[derive(Debug, Clone)]
pub struct StorageReplicas {
    storage: SectorStorage,
}

impl StorageReplicas {
    /// The replicas in `storage` (the pipeline's).
    pub fn new(storage: SectorStorage) -> Self {
        Self { storage }
    }
}

/// A replica whose file or cache is gone is not there at all: the PoSt
/// treats the sector as faulty rather than failing on it.
fn present(file: &Path, cache: &Path) -> Option<Replica> {
    (file.is_file() && cache.is_dir()).then(|| Replica {
        sealed: file.to_path_buf(),
        cache: cache.to_path_buf(),
    })
}

impl Replicas for StorageReplicas {
    fn locate(&self, miner: ActorId, number: SectorNumber, comm_r: CommR) -> Option<Replica> {
        let id = SectorId::new(miner, number);
        let files = match self.storage.locate(id) {
            Ok(Some(files)) => files,
            Ok(None) => return None,
            Err(e) => {
                warn!(sector = %number, "locate the replica: {e}");
                return None;
            }
        };
        let sealed = present(&files.sealed, &files.cache);
        // A plain sector has no update: it is proven as it always was, without
        // reading a p_aux.
        let Some(update) = present(&files.update(), &files.update_cache()) else {
            return sealed;
        };
        match replica_comm_r(&update.cache) {
            Ok(c) if c == comm_r => return Some(update),
            // Encoded, but not on chain yet: the sector key is proven.
            Ok(_) => {}
            Err(e) => warn!(sector = %number, "read the update's CommR: {e}"),
        }
        // Both replicas are there and the update is not the chain's: say so
        // if the sector key is not either, and prove what there is (a wrong
        // replica fails the PoSt's check, which names the sector).
        let key_matches = sealed
            .as_ref()
            .is_some_and(|s| replica_comm_r(&s.cache).is_ok_and(|c| c == comm_r));
        if !key_matches {
            warn!(
                sector = %number,
                chain = %comm_r,
                sector_key = sealed.is_some(),
                "neither the update nor the sector key has the chain's CommR"
            );
        }
        sealed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_sealing::tasks::SectorFiles;

    #[test]
    fn locates_only_replicas_with_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let replicas = StorageReplicas::new(SectorStorage::Dir(dir.path().to_path_buf()));
        let (miner, n, comm_r) = (ActorId(1000), SectorNumber(3), CommR([1; 32]));
        assert_eq!(replicas.locate(miner, n, comm_r), None);
        let files = SectorFiles::new(dir.path(), SectorId::new(miner, n));
        std::fs::create_dir_all(&files.cache).unwrap();
        assert_eq!(
            replicas.locate(miner, n, comm_r),
            None,
            "no sealed file yet"
        );
        std::fs::write(&files.sealed, b"replica").unwrap();
        assert_eq!(
            replicas.locate(miner, n, comm_r),
            Some(Replica {
                sealed: files.sealed.clone(),
                cache: files.cache.clone(),
            })
        );
        assert_eq!(replicas.locate(miner, SectorNumber(4), comm_r), None);
    }

    #[test]
    fn a_snapped_sector_is_proven_with_the_replica_the_chain_names() {
        let dir = tempfile::tempdir().unwrap();
        let replicas = StorageReplicas::new(SectorStorage::Dir(dir.path().to_path_buf()));
        let (miner, n) = (ActorId(1000), SectorNumber(3));
        let files = SectorFiles::new(dir.path(), SectorId::new(miner, n));
        let key = Replica {
            sealed: files.sealed.clone(),
            cache: files.cache.clone(),
        };
        let update = Replica {
            sealed: files.update(),
            cache: files.update_cache(),
        };
        std::fs::create_dir_all(&key.cache).unwrap();
        std::fs::write(&key.sealed, b"sector key").unwrap();
        std::fs::create_dir_all(&update.cache).unwrap();
        std::fs::write(&update.sealed, b"update").unwrap();
        // p_aux as filecoin-proofs writes it (bincode: comm_c, then
        // comm_r_last, 32 bytes each); all zeros is a valid pair.
        std::fs::write(update.cache.join("p_aux"), [0u8; 64]).unwrap();
        let new = replica_comm_r(&update.cache).unwrap();
        let old = CommR([1; 32]);
        assert_ne!(new, old);

        assert_eq!(
            replicas.locate(miner, n, new),
            Some(update.clone()),
            "the update landed"
        );
        assert_eq!(
            replicas.locate(miner, n, old),
            Some(key.clone()),
            "an update that does not match: not on chain yet"
        );
        std::fs::write(update.cache.join("p_aux"), b"garbage").unwrap();
        assert_eq!(
            replicas.locate(miner, n, new),
            Some(key.clone()),
            "an unreadable update is not proven"
        );

        // The sector key removed: only the update is left.
        std::fs::write(update.cache.join("p_aux"), [0u8; 64]).unwrap();
        std::fs::remove_file(&key.sealed).unwrap();
        assert_eq!(replicas.locate(miner, n, new), Some(update));
        assert_eq!(
            replicas.locate(miner, n, old),
            None,
            "no replica with that CommR"
        );
    }
}
