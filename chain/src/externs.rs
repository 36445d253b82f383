//! What the FVM asks of its host: chain and beacon randomness, tipset CIDs,
//! consensus faults. The devnet answers from its own chain (see
//! [`crate::randomness`] for what its tickets and beacon are).

use std::sync::Arc;

use anyhow::Context;
use cid::Cid;
use fvm::externs::{Chain, Consensus, Externs, Rand};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::consensus::ConsensusFault;

use crate::randomness;

/// Looks up the chain's tickets and tipset CIDs by epoch.
pub trait ChainLookup: Send + Sync {
    /// The ticket of the block at `epoch` (or the nearest earlier one).
    fn ticket_at(&self, epoch: ChainEpoch) -> anyhow::Result<Vec<u8>>;
    /// The tipset key CID at `epoch`.
    fn tipset_cid_at(&self, epoch: ChainEpoch) -> anyhow::Result<Cid>;
}

/// The devnet's [`Externs`].
#[derive(Clone)]
#[allow(missing_debug_implementations)] // holds a trait object over the store
pub struct DevnetExterns {
    chain: Arc<dyn ChainLookup>,
    head: ChainEpoch,
}

impl DevnetExterns {
    /// Externs that see the chain up to `head`.
    pub fn new(chain: Arc<dyn ChainLookup>, head: ChainEpoch) -> Self {
        Self { chain, head }
    }
}

impl Rand for DevnetExterns {
    fn get_chain_randomness(&self, round: ChainEpoch) -> anyhow::Result<[u8; 32]> {
        anyhow::ensure!(
            round <= self.head,
            "cannot draw randomness from the future ({round} > {})",
            self.head
        );
        let ticket = self
            .chain
            .ticket_at(round.max(0))
            .context("ticket for randomness")?;
        Ok(randomness::digest(&ticket))
    }

    fn get_beacon_randomness(&self, round: ChainEpoch) -> anyhow::Result<[u8; 32]> {
        anyhow::ensure!(
            round <= self.head,
            "cannot draw randomness from the future ({round} > {})",
            self.head
        );
        Ok(randomness::digest(&randomness::beacon_entry(round.max(0))))
    }
}

impl Consensus for DevnetExterns {
    fn verify_consensus_fault(
        &self,
        _h1: &[u8],
        _h2: &[u8],
        _extra: &[u8],
    ) -> anyhow::Result<(Option<ConsensusFault>, i64)> {
        // One block producer: it cannot equivocate against itself.
        Ok((None, 0))
    }
}

impl Chain for DevnetExterns {
    fn get_tipset_cid(&self, epoch: ChainEpoch) -> anyhow::Result<Cid> {
        self.chain.tipset_cid_at(epoch)
    }
}

impl Externs for DevnetExterns {}
