//! Pure decisions of the WindowPoSt loop: which deadline to declare faults
//! and recoveries for, which sectors a partition's proof covers, and how
//! partitions are batched into messages. No I/O: the driver
//! ([`crate::window`]) reads the chain, runs the checks and proofs, and asks
//! these functions what to do.
//!
//! The rules follow Lotus's `wdpost` scheduler:
//! - while deadline `i` is open, faults and recoveries are declared for
//!   deadline `i + 2` (mod the deadline count), whose fault cutoff is still
//!   ahead;
//! - a partition's proof covers its live sectors except those faulty and not
//!   declared recovering; sectors that fail the check just before proving
//!   are skipped (the chain marks them faulty) instead of sinking the proof.

use std::collections::BTreeSet;

use ferrite_chain::api::{BitField, DeadlineWindow, PartitionSectors};
use fvm_shared::clock::ChainEpoch;

/// The deadline whose faults and recoveries are declared while `w` is the
/// current one, and the last epoch a declaration for it may land in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclarationTarget {
    /// Its index.
    pub index: u64,
    /// Declarations must be executed before this epoch.
    pub cutoff: ChainEpoch,
}

/// A bitfield of `numbers`.
pub fn bitfield(numbers: impl IntoIterator<Item = u64>) -> BitField {
    let mut b = BitField::new();
    for n in numbers {
        b.set(n);
    }
    b
}

/// The deadline two after `w`, as Lotus declares for.
pub fn declaration_target(w: &DeadlineWindow, deadlines: u64) -> DeclarationTarget {
    let window = w.close - w.open;
    let lead = w.open - w.fault_cutoff;
    let open = w.open + 2 * window;
    DeclarationTarget {
        index: (w.index + 2) % deadlines.max(1),
        cutoff: open - lead,
    }
}

/// The window after `w` (the next deadline, in the next period after the
/// last one). Its challenge epoch comes while `w` is still open, so its
/// proof can be computed then, as Lotus does.
pub fn following_window(w: &DeadlineWindow, deadlines: u64) -> DeadlineWindow {
    let len = w.close - w.open;
    let index = (w.index + 1) % deadlines.max(1);
    DeadlineWindow {
        current_epoch: w.current_epoch,
        period_start: if index == 0 {
            w.period_start + len * deadlines as i64
        } else {
            w.period_start
        },
        index,
        open: w.close,
        close: w.close + len,
        challenge: w.close - (w.open - w.challenge),
        fault_cutoff: w.close - (w.open - w.fault_cutoff),
    }
}

/// What one partition's proof covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionProof {
    /// The partition's index in its deadline.
    pub index: u64,
    /// The sectors the proof covers, ascending.
    pub prove: Vec<u64>,
    /// Sectors skipped now: they should be proven but failed the check.
    pub skipped: BitField,
}

/// The sectors a partition must prove: live, and not faulty unless declared
/// recovering.
pub fn provable(p: &PartitionSectors) -> BitField {
    let unrecovered = &p.faulty - &p.recovering;
    &p.live - &unrecovered
}

/// Partition `index`'s proof, with `bad` the sectors that failed the check.
pub fn partition_proof(index: u64, p: &PartitionSectors, bad: &BTreeSet<u64>) -> PartitionProof {
    let mut prove = Vec::new();
    let mut skipped = Vec::new();
    for n in provable(p).iter() {
        if bad.contains(&n) {
            skipped.push(n);
        } else {
            prove.push(n);
        }
    }
    PartitionProof {
        index,
        prove,
        skipped: bitfield(skipped),
    }
}

/// Groups the partitions that have something to prove into messages of at
/// most `per_message` partitions each. Partitions with nothing left to prove
/// (every sector faulty or bad) are left out: the chain marks them faulty
/// at the deadline's end.
pub fn batches(proofs: Vec<PartitionProof>, per_message: usize) -> Vec<Vec<PartitionProof>> {
    let with_sectors: Vec<PartitionProof> =
        proofs.into_iter().filter(|p| !p.prove.is_empty()).collect();
    with_sectors
        .chunks(per_message.max(1))
        .map(<[PartitionProof]>::to_vec)
        .collect()
}

/// Declarations for one partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionDeclarations {
    /// Sectors to declare faulty: should be proven, but failed the check.
    pub faults: BitField,
    /// Sectors to declare recovered: faulty, not yet recovering, and they
    /// pass the check now.
    pub recoveries: BitField,
}

/// What to declare for a partition given the check's `bad` sectors.
pub fn declarations(p: &PartitionSectors, bad: &BTreeSet<u64>) -> PartitionDeclarations {
    let unrecovered = &p.faulty - &p.recovering;
    let faults: Vec<u64> = provable(p).iter().filter(|n| bad.contains(n)).collect();
    let recoveries: Vec<u64> = (&unrecovered & &p.live)
        .iter()
        .filter(|n| !bad.contains(n))
        .collect();
    PartitionDeclarations {
        faults: bitfield(faults),
        recoveries: bitfield(recoveries),
    }
}

/// The sectors worth checking in a partition: every live one.
pub fn to_check(p: &PartitionSectors) -> Vec<u64> {
    p.live.iter().collect()
}

/// Whether the proof for `w` can be computed at `head`: its challenge is
/// `confidence` epochs deep and the window has not closed.
pub fn can_compute(w: &DeadlineWindow, head: ChainEpoch, confidence: ChainEpoch) -> bool {
    head >= w.challenge + confidence && head < w.close
}

/// Whether a proof for `w` can be sent at `head`: the window is open, so the
/// message lands inside it.
pub fn can_submit(w: &DeadlineWindow, head: ChainEpoch) -> bool {
    w.is_open(head) || (head + 1 >= w.open && head + 1 < w.close)
}

#[cfg(test)]
mod tests;
