//! Which deadline each new sector goes to (v18's assignment order). For
//! each sector, in order, the mutable deadline that is best by these rules
//! wins:
//!
//! 1. fewest partitions after compaction (live sectors + 1, rounded up);
//! 2. fewest partitions before compaction (total sectors + 1, rounded up);
//! 3. a deadline with an open (non-full) partition before one without;
//! 4. of two open partitions, the fuller deadline (keeps runs together);
//! 5. fewest live sectors;
//! 6. lowest index.
//!
//! v18 keeps the candidates in a heap; with at most 48 deadlines we simply
//! scan for the minimum, which picks the same deadline.

use std::cmp::Ordering;

use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::miner::SectorOnChainInfo;
use ferrite_actor_types::policy::Policy;

use super::Deadline;

#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: usize,
    live_sectors: u64,
    total_sectors: u64,
}

fn partitions_for(sectors: u64, partition_size: u64) -> u64 {
    sectors.div_ceil(partition_size)
}

impl Candidate {
    fn is_full_now(&self, partition_size: u64) -> bool {
        self.total_sectors.is_multiple_of(partition_size)
    }

    fn order(&self, other: &Self, partition_size: u64) -> Ordering {
        let compact = |c: &Self| partitions_for(c.live_sectors + 1, partition_size);
        let total = |c: &Self| partitions_for(c.total_sectors + 1, partition_size);
        compact(self)
            .cmp(&compact(other))
            .then_with(|| total(self).cmp(&total(other)))
            .then_with(|| {
                self.is_full_now(partition_size)
                    .cmp(&other.is_full_now(partition_size))
            })
            .then_with(|| {
                if !self.is_full_now(partition_size) && !other.is_full_now(partition_size) {
                    other.total_sectors.cmp(&self.total_sectors)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| self.live_sectors.cmp(&other.live_sectors))
            .then_with(|| self.index.cmp(&other.index))
    }
}

/// Splits `sectors` among the deadlines given (`None` = not mutable now);
/// the result has one list per deadline index. Fails with
/// `USR_ILLEGAL_ARGUMENT` when the chosen deadline already has
/// `max_partitions` full partitions, or when no deadline is available.
pub fn assign_deadlines(
    policy: &Policy,
    max_partitions: u64,
    partition_size: u64,
    deadlines: &[Option<Deadline>],
    sectors: Vec<SectorOnChainInfo>,
) -> ActorResult<Vec<Vec<SectorOnChainInfo>>> {
    if partition_size == 0 {
        return Err(ActorError::illegal_state("zero partition size"));
    }
    let mut candidates: Vec<Candidate> = deadlines
        .iter()
        .enumerate()
        .filter_map(|(index, d)| {
            d.as_ref().map(|d| Candidate {
                index,
                live_sectors: d.live_sectors,
                total_sectors: d.total_sectors,
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(ActorError::illegal_state(
            "no deadline available for new sectors",
        ));
    }
    let mut out = vec![Vec::new(); policy.wpost_period_deadlines as usize];
    for sector in sectors {
        let mut best = 0;
        for i in 1..candidates.len() {
            if candidates[i].order(&candidates[best], partition_size) == Ordering::Less {
                best = i;
            }
        }
        let c = &mut candidates[best];
        if c.total_sectors >= partition_size.saturating_mul(max_partitions) {
            return Err(ActorError::illegal_argument(format!(
                "max partitions limit {max_partitions} reached for all deadlines"
            )));
        }
        let slot = out
            .get_mut(c.index)
            .ok_or_else(|| ActorError::illegal_state("deadline index out of range"))?;
        slot.push(sector);
        c.live_sectors += 1;
        c.total_sectors += 1;
    }
    Ok(out)
}
