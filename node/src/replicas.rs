//! Where the node's proven sectors are, for the PoSt provers: wherever the
//! sealing pipeline's storage holds them (the attached storage paths, or one
//! directory), in its layout (`<path>/s-t0<miner>-<n>/{sealed,cache}`,
//! sealing's `SectorFiles`).

use ferrite_proving::{Replica, Replicas};
use ferrite_sealing::tasks::SectorStorage;
use ferrite_types::{ActorId, SectorId, SectorNumber};
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

impl Replicas for StorageReplicas {
    fn locate(&self, miner: ActorId, number: SectorNumber) -> Option<Replica> {
        let id = SectorId::new(miner, number);
        let files = match self.storage.locate(id) {
            Ok(Some(files)) => files,
            Ok(None) => return None,
            Err(e) => {
                warn!(sector = %number, "locate the replica: {e}");
                return None;
            }
        };
        // A replica whose sealed file or cache is gone is not there at all:
        // the PoSt treats the sector as faulty rather than failing on it.
        if !(files.sealed.is_file() && files.cache.is_dir()) {
            return None;
        }
        Some(Replica {
            sealed: files.sealed,
            cache: files.cache,
        })
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
        let (miner, n) = (ActorId(1000), SectorNumber(3));
        assert_eq!(replicas.locate(miner, n), None);
        let files = SectorFiles::new(dir.path(), SectorId::new(miner, n));
        std::fs::create_dir_all(&files.cache).unwrap();
        assert_eq!(replicas.locate(miner, n), None, "no sealed file yet");
        std::fs::write(&files.sealed, b"replica").unwrap();
        assert_eq!(
            replicas.locate(miner, n),
            Some(Replica {
                sealed: files.sealed.clone(),
                cache: files.cache.clone(),
            })
        );
        assert_eq!(replicas.locate(miner, SectorNumber(4)), None);
    }
}
