//! Where a proving deadline sits in time: its open, close, challenge and
//! fault-cutoff epochs relative to a proving period start, and the helpers
//! that decide which deadlines may be changed, compacted or disputed now.

use ferrite_actor_types::policy::Policy;
use fvm_shared::clock::ChainEpoch;

use super::QuantSpec;

/// The timing of one deadline in one proving period, seen at an epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadlineInfo {
    /// The epoch this was computed at.
    pub current_epoch: ChainEpoch,
    /// The proving period's first epoch.
    pub period_start: ChainEpoch,
    /// The deadline index (`wpost_period_deadlines` means "after the last").
    pub index: u64,
    /// First epoch proofs are accepted.
    pub open: ChainEpoch,
    /// First epoch proofs are no longer accepted.
    pub close: ChainEpoch,
    /// The challenge randomness epoch.
    pub challenge: ChainEpoch,
    /// Faults must be declared before this epoch.
    pub fault_cutoff: ChainEpoch,
    /// Deadlines per period.
    pub w_post_period_deadlines: u64,
    /// The proving period.
    pub w_post_proving_period: ChainEpoch,
    /// The challenge window.
    pub w_post_challenge_window: ChainEpoch,
    /// The challenge lookback.
    pub w_post_challenge_lookback: ChainEpoch,
    /// The fault declaration cutoff.
    pub fault_declaration_cutoff: ChainEpoch,
}

impl DeadlineInfo {
    /// The timing of deadline `deadline_idx` of the period starting at
    /// `period_start`, seen at `current_epoch`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        period_start: ChainEpoch,
        deadline_idx: u64,
        current_epoch: ChainEpoch,
        w_post_period_deadlines: u64,
        w_post_proving_period: ChainEpoch,
        w_post_challenge_window: ChainEpoch,
        w_post_challenge_lookback: ChainEpoch,
        fault_declaration_cutoff: ChainEpoch,
    ) -> Self {
        let base = Self {
            current_epoch,
            period_start,
            index: deadline_idx,
            open: 0,
            close: 0,
            challenge: 0,
            fault_cutoff: 0,
            w_post_period_deadlines,
            w_post_proving_period,
            w_post_challenge_window,
            w_post_challenge_lookback,
            fault_declaration_cutoff,
        };
        if deadline_idx < w_post_period_deadlines {
            let open = period_start + deadline_idx as i64 * w_post_challenge_window;
            Self {
                open,
                close: open + w_post_challenge_window,
                challenge: open - w_post_challenge_lookback,
                fault_cutoff: open - fault_declaration_cutoff,
                ..base
            }
        } else {
            // The "deadline" after the last one: everything at the period end.
            let end = period_start + w_post_proving_period;
            Self {
                open: end,
                close: end,
                challenge: end,
                fault_cutoff: 0,
                ..base
            }
        }
    }

    /// Whether the proving period has started.
    pub fn period_started(&self) -> bool {
        self.current_epoch >= self.period_start
    }
    /// Whether the proving period is over.
    pub fn period_elapsed(&self) -> bool {
        self.current_epoch >= self.next_period_start()
    }
    /// The last epoch of the proving period.
    pub fn period_end(&self) -> ChainEpoch {
        self.period_start + self.w_post_proving_period - 1
    }
    /// The first epoch of the next proving period.
    pub fn next_period_start(&self) -> ChainEpoch {
        self.period_start + self.w_post_proving_period
    }
    /// Whether proofs are accepted now.
    pub fn is_open(&self) -> bool {
        self.current_epoch >= self.open && self.current_epoch < self.close
    }
    /// Whether the deadline has closed.
    pub fn has_elapsed(&self) -> bool {
        self.current_epoch >= self.close
    }
    /// The deadline's last epoch.
    pub fn last(&self) -> ChainEpoch {
        self.close - 1
    }
    /// When the next deadline opens.
    pub fn next_open(&self) -> ChainEpoch {
        self.close
    }
    /// Whether faults can no longer be declared for it.
    pub fn fault_cutoff_passed(&self) -> bool {
        self.current_epoch >= self.fault_cutoff
    }
    /// This deadline in the first proving period where it has not closed.
    pub fn next_not_elapsed(self) -> Self {
        if !self.has_elapsed() {
            return self;
        }
        let gap = self.current_epoch - self.close;
        let periods = 1 + gap / self.w_post_proving_period.max(1);
        Self::new(
            self.period_start + self.w_post_proving_period * periods,
            self.index,
            self.current_epoch,
            self.w_post_period_deadlines,
            self.w_post_proving_period,
            self.w_post_challenge_window,
            self.w_post_challenge_lookback,
            self.fault_declaration_cutoff,
        )
    }
    /// The quantization of this deadline's expirations: one bucket per
    /// proving period, at the deadline's last epoch.
    pub fn quant_spec(&self) -> QuantSpec {
        QuantSpec {
            unit: self.w_post_proving_period,
            offset: self.last(),
        }
    }
}

/// The timing of deadline `deadline_idx` under `policy`.
pub fn new_deadline_info(
    policy: &Policy,
    proving_period_start: ChainEpoch,
    deadline_idx: u64,
    current_epoch: ChainEpoch,
) -> DeadlineInfo {
    DeadlineInfo::new(
        proving_period_start,
        deadline_idx,
        current_epoch,
        policy.wpost_period_deadlines,
        policy.wpost_proving_period,
        policy.wpost_challenge_window,
        policy.wpost_challenge_lookback,
        policy.fault_declaration_cutoff,
    )
}

/// The deadline current at `current_epoch`, for a miner whose proving
/// periods start at epochs congruent to `period_start_seed`.
pub fn new_deadline_info_from_offset_and_epoch(
    policy: &Policy,
    period_start_seed: ChainEpoch,
    current_epoch: ChainEpoch,
) -> DeadlineInfo {
    let q = QuantSpec {
        unit: policy.wpost_proving_period,
        offset: period_start_seed,
    };
    let period_start = q.quantize_down(current_epoch);
    let idx = ((current_epoch - period_start) / policy.wpost_challenge_window.max(1)) as u64;
    new_deadline_info(policy, period_start, idx, current_epoch)
}

/// Whether sectors may be added to (or moved within) a deadline now: not
/// while it is open or the next to open.
pub fn deadline_is_mutable(
    policy: &Policy,
    proving_period_start: ChainEpoch,
    deadline_idx: u64,
    current_epoch: ChainEpoch,
) -> bool {
    let di = new_deadline_info(policy, proving_period_start, deadline_idx, current_epoch)
        .next_not_elapsed();
    current_epoch < di.open - policy.wpost_challenge_window
}

/// The quantization of a deadline's expirations.
pub fn quant_spec_for_deadline(policy: &Policy, di: &DeadlineInfo) -> QuantSpec {
    QuantSpec {
        unit: policy.wpost_proving_period,
        offset: di.last(),
    }
}

/// Whether the deadline's optimistic proofs may be disputed now.
pub fn deadline_available_for_optimistic_post_dispute(
    policy: &Policy,
    proving_period_start: ChainEpoch,
    deadline_idx: u64,
    current_epoch: ChainEpoch,
) -> bool {
    if proving_period_start > current_epoch {
        return false;
    }
    let di = new_deadline_info(policy, proving_period_start, deadline_idx, current_epoch)
        .next_not_elapsed();
    !di.is_open()
        && current_epoch < (di.close - policy.wpost_proving_period) + policy.wpost_dispute_window
}

/// Whether the deadline's partitions may be compacted now.
pub fn deadline_available_for_compaction(
    policy: &Policy,
    proving_period_start: ChainEpoch,
    deadline_idx: u64,
    current_epoch: ChainEpoch,
) -> bool {
    deadline_is_mutable(policy, proving_period_start, deadline_idx, current_epoch)
        && !deadline_available_for_optimistic_post_dispute(
            policy,
            proving_period_start,
            deadline_idx,
            current_epoch,
        )
}
