//! Sector numbers grouped by deadline and partition, as methods that
//! address many partitions (faults, recoveries, terminations, extensions)
//! collect them before touching state.

use std::collections::BTreeMap;

use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::{BitField, Validate};

/// Sectors by deadline, then partition.
#[derive(Debug, Clone, Default)]
pub struct DeadlineSectorMap(BTreeMap<u64, PartitionSectorMap>);

impl DeadlineSectorMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails with `USR_ILLEGAL_ARGUMENT` if more than `max_partitions`
    /// partitions or `max_sectors` sectors are addressed.
    pub fn check(&mut self, max_partitions: u64, max_sectors: u64) -> ActorResult<()> {
        let (partitions, sectors) = self.count()?;
        if partitions > max_partitions {
            return Err(ActorError::illegal_argument(format!(
                "too many partitions {partitions}, max {max_partitions}"
            )));
        }
        if sectors > max_sectors {
            return Err(ActorError::illegal_argument(format!(
                "too many sectors {sectors}, max {max_sectors}"
            )));
        }
        Ok(())
    }

    /// `(partitions, sectors)` addressed.
    pub fn count(&mut self) -> ActorResult<(u64, u64)> {
        let mut partitions = 0u64;
        let mut sectors = 0u64;
        for (dl, pm) in self.0.iter_mut() {
            let (p, s) = pm
                .count()
                .map_err(|e| e.context(&format!("deadline {dl}")))?;
            partitions = partitions
                .checked_add(p)
                .ok_or_else(|| ActorError::illegal_argument("partition count overflow"))?;
            sectors = sectors
                .checked_add(s)
                .ok_or_else(|| ActorError::illegal_argument("sector count overflow"))?;
        }
        Ok((partitions, sectors))
    }

    /// Adds sectors of a partition (rejecting a deadline index out of range).
    pub fn add(
        &mut self,
        policy: &Policy,
        deadline_idx: u64,
        partition_idx: u64,
        sector_numbers: BitField,
    ) -> ActorResult<()> {
        if deadline_idx >= policy.wpost_period_deadlines {
            return Err(ActorError::illegal_argument(format!(
                "invalid deadline {deadline_idx}"
            )));
        }
        self.0
            .entry(deadline_idx)
            .or_default()
            .add(partition_idx, sector_numbers)
    }

    /// Adds sector numbers given as a slice.
    pub fn add_values(
        &mut self,
        policy: &Policy,
        deadline_idx: u64,
        partition_idx: u64,
        sector_numbers: &[u64],
    ) -> ActorResult<()> {
        let bf = BitField::try_from_bits(sector_numbers.iter().copied())
            .map_err(|e| ActorError::illegal_argument(format!("sector numbers: {e}")))?;
        self.add(policy, deadline_idx, partition_idx, bf)
    }

    /// The deadlines addressed, in order.
    pub fn deadlines(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.keys().copied()
    }

    /// `(deadline, partitions)` in deadline order.
    pub fn iter(&mut self) -> impl Iterator<Item = (u64, &mut PartitionSectorMap)> + '_ {
        self.0.iter_mut().map(|(i, pm)| (*i, pm))
    }
}

/// Sectors by partition.
#[derive(Debug, Clone, Default)]
pub struct PartitionSectorMap(BTreeMap<u64, BitField>);

impl PartitionSectorMap {
    /// Adds sector numbers given as a vector.
    pub fn add_values(&mut self, partition_idx: u64, sector_numbers: Vec<u64>) -> ActorResult<()> {
        let bf = BitField::try_from_bits(sector_numbers)
            .map_err(|e| ActorError::illegal_argument(format!("sector numbers: {e}")))?;
        self.add(partition_idx, bf)
    }

    /// Adds (unions in) sectors of a partition.
    pub fn add(&mut self, partition_idx: u64, sector_numbers: BitField) -> ActorResult<()> {
        *self.0.entry(partition_idx).or_default() |= &sector_numbers;
        Ok(())
    }

    /// `(partitions, sectors)`; fails on a malformed bitfield.
    pub fn count(&mut self) -> ActorResult<(u64, u64)> {
        let mut sectors = 0u64;
        for (p, bf) in self.0.iter_mut() {
            let valid = bf.validate().map_err(|e| {
                ActorError::illegal_argument(format!("bitfield of partition {p}: {e}"))
            })?;
            sectors = sectors
                .checked_add(valid.len())
                .ok_or_else(|| ActorError::illegal_argument("sector count overflow"))?;
        }
        Ok((self.0.len() as u64, sectors))
    }

    /// The partitions addressed, in order.
    pub fn partitions(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.keys().copied()
    }

    /// `(partition, sectors)` in partition order.
    pub fn iter(&mut self) -> impl Iterator<Item = (u64, &mut BitField)> + '_ {
        self.0.iter_mut().map(|(i, bf)| (*i, bf))
    }

    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no partitions are addressed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
