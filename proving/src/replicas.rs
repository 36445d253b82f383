//! Where a proven sector's files are: the node knows (sealing's layout, later
//! the cluster's storage paths); proving asks through [`Replicas`].

use std::path::PathBuf;

use ferrite_types::{ActorId, CommR, SectorNumber};

/// A sealed replica on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The sealed file (a snapped sector's: its update).
    pub sealed: PathBuf,
    /// The cache directory (`p_aux`, `t_aux`, tree-r-last).
    pub cache: PathBuf,
}

/// Finds the replica of a miner's sector.
pub trait Replicas: Send + Sync + std::fmt::Debug {
    /// The replica of sector `number` of `miner` whose CommR is `comm_r`,
    /// the one the chain holds for the sector now: a snapped sector has two
    /// on disk (the sector key and the update) until its sector key is
    /// removed, and the chain names the update only once
    /// ProveReplicaUpdates3 has landed. `None` if this node does not know
    /// where it is (the PoSt treats it as faulty).
    fn locate(&self, miner: ActorId, number: SectorNumber, comm_r: CommR) -> Option<Replica>;
}
