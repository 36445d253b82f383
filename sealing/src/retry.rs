//! The retry policy: how often a failed stage is retried, and how long apart.
//!
//! Each sector counts its failures per [`FailureKind`] in [`Attempts`], carried
//! in its state, so a restart of the node does not reset them. A failure state
//! whose count is below [`RetryPolicy::max_attempts`] retries after
//! [`RetryPolicy::backoff`]; at the limit it waits for the operator
//! (`ferrite sectors restart`, which clears that count, or `sectors remove`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How failed stages are retried. Part of the sealing config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Tries of one kind of stage (the first one included) before the sector
    /// waits for the operator. Default: 5.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with every further
    /// failure. Default: 60 s.
    pub backoff_secs: u64,
    /// The longest wait between retries. Default: 1800 s.
    pub max_backoff_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_secs: 60,
            max_backoff_secs: 1800,
        }
    }
}

impl RetryPolicy {
    /// Whether a stage that has failed `attempts` times may be tried again.
    pub fn allows_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }

    /// The wait after the `attempts`-th failure: `backoff_secs` doubled for
    /// each failure after the first, capped at `max_backoff_secs`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(63);
        let secs = self
            .backoff_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_secs);
        Duration::from_secs(secs)
    }
}

/// The kinds of failure, one per failure state, each with its own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// AddPiece, PC1 or PC2 failed.
    Seal,
    /// The precommit message could not be sent, failed on chain, or its
    /// ticket expired.
    PreCommit,
    /// C1 or C2 failed, or the proof did not verify.
    ComputeProof,
    /// The prove-commit message could not be sent or failed on chain.
    ProveCommit,
    /// Moving the sector to long-term storage failed.
    Finalize,
    /// A SnapDeals stage failed: the encode, the update proof, its message,
    /// or the clean-up after it.
    Update,
}

/// How many times each kind of stage has failed for one sector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    /// AddPiece, PC1 and PC2 failures.
    pub seal: u32,
    /// Precommit failures.
    pub precommit: u32,
    /// C1, C2 and proof verification failures.
    pub compute_proof: u32,
    /// Prove-commit failures.
    pub prove_commit: u32,
    /// Finalize failures.
    pub finalize: u32,
    /// SnapDeals failures.
    #[serde(default)]
    pub update: u32,
}

impl Attempts {
    /// The failures of `kind` so far.
    pub fn get(&self, kind: FailureKind) -> u32 {
        match kind {
            FailureKind::Seal => self.seal,
            FailureKind::PreCommit => self.precommit,
            FailureKind::ComputeProof => self.compute_proof,
            FailureKind::ProveCommit => self.prove_commit,
            FailureKind::Finalize => self.finalize,
            FailureKind::Update => self.update,
        }
    }

    fn slot(&mut self, kind: FailureKind) -> &mut u32 {
        match kind {
            FailureKind::Seal => &mut self.seal,
            FailureKind::PreCommit => &mut self.precommit,
            FailureKind::ComputeProof => &mut self.compute_proof,
            FailureKind::ProveCommit => &mut self.prove_commit,
            FailureKind::Finalize => &mut self.finalize,
            FailureKind::Update => &mut self.update,
        }
    }

    /// Counts one more failure of `kind`.
    pub(crate) fn record(&mut self, kind: FailureKind) {
        let n = self.slot(kind);
        *n = n.saturating_add(1);
    }

    /// Forgets the failures of `kind` (the operator restarted the sector).
    pub(crate) fn clear(&mut self, kind: FailureKind) {
        *self.slot(kind) = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=7).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1800, 1800]);
        assert_eq!(p.backoff(u32::MAX).as_secs(), 1800);
        assert_eq!(p.backoff(0).as_secs(), 60);
    }

    #[test]
    fn retries_stop_at_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        };
        assert!(p.allows_retry(1));
        assert!(!p.allows_retry(2));
    }

    #[test]
    fn attempts_count_per_kind() {
        let mut a = Attempts::default();
        a.record(FailureKind::Seal);
        a.record(FailureKind::Seal);
        a.record(FailureKind::Finalize);
        assert_eq!(a.get(FailureKind::Seal), 2);
        assert_eq!(a.get(FailureKind::Finalize), 1);
        assert_eq!(a.get(FailureKind::PreCommit), 0);
        a.clear(FailureKind::Seal);
        assert_eq!(a.get(FailureKind::Seal), 0);
    }
}
