//! Where the node's proven sectors are: the sealing pipeline's layout
//! (`<seal_dir>/s-t0<miner>-<n>/{sealed,cache}`, sealing's `SectorFiles`),
//! for the PoSt provers.

use std::path::PathBuf;

use ferrite_proving::{Replica, Replicas};
use ferrite_sealing::tasks::SectorFiles;
use ferrite_types::{ActorId, SectorId, SectorNumber};

/// The replicas the in-process sealing pipeline left under one seal directory.
#[derive(Debug, Clone)]
pub struct SealDirReplicas {
    seal_dir: PathBuf,
}

impl SealDirReplicas {
    /// The replicas under `seal_dir` (the pipeline's sector files directory).
    pub fn new(seal_dir: PathBuf) -> Self {
        Self { seal_dir }
    }
}

impl Replicas for SealDirReplicas {
    fn locate(&self, miner: ActorId, number: SectorNumber) -> Option<Replica> {
        let files = SectorFiles::new(&self.seal_dir, SectorId::new(miner, number));
        // A replica whose sealed file or cache is gone is not there at all:
        // the PoSt treats the sector as faulty rather than failing on it.
        (files.sealed.is_file() && files.cache.is_dir()).then(|| Replica {
            sealed: files.sealed,
            cache: files.cache,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_only_replicas_with_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let replicas = SealDirReplicas::new(dir.path().to_path_buf());
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
