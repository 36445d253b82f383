//! The result of processing early terminations: which sectors terminated at
//! which epoch, and how much work (partitions, sectors) that took.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use fvm_ipld_bitfield::BitField;
use fvm_shared::clock::ChainEpoch;

/// Terminated sectors by termination epoch.
#[derive(Debug, Clone, Default)]
pub struct TerminationResult {
    /// Sector numbers terminated at each epoch.
    pub sectors: BTreeMap<ChainEpoch, BitField>,
    /// Partitions processed.
    pub partitions_processed: u64,
    /// Sectors processed.
    pub sectors_processed: u64,
}

impl AddAssign for TerminationResult {
    fn add_assign(&mut self, rhs: Self) {
        self.partitions_processed += rhs.partitions_processed;
        self.sectors_processed += rhs.sectors_processed;
        for (epoch, sectors) in rhs.sectors {
            *self.sectors.entry(epoch).or_default() |= &sectors;
        }
    }
}

impl TerminationResult {
    /// An empty result.
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether both counts are still under their limits.
    pub fn below_limit(&self, partition_limit: u64, sector_limit: u64) -> bool {
        self.partitions_processed < partition_limit && self.sectors_processed < sector_limit
    }
    /// Whether no sectors were processed.
    pub fn is_empty(&self) -> bool {
        self.sectors_processed == 0
    }
    /// `(epoch, sectors)` in epoch order.
    pub fn iter(&self) -> impl Iterator<Item = (ChainEpoch, &BitField)> {
        self.sectors.iter().map(|(e, bf)| (*e, bf))
    }
}
