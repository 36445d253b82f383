//! The retry policy of a deal: how often a failed transfer (or a publish
//! message that failed for a passing reason) is tried again, and how long
//! apart.
//!
//! The counts live in the deal's state ([`DealBase`](crate::deal::DealBase)),
//! so a restart of the node does not reset them. The shape is sealing's
//! `RetryPolicy`: a first wait that doubles with every failure, capped.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How failed transfers and publishes are retried. Built from
/// [`TransferConfig`](crate::config::TransferConfig).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Tries (the first one included) before the deal fails. Default: 5.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with every further
    /// failure. Default: 30 s.
    pub backoff_secs: u64,
    /// The longest wait between retries. Default: 600 s.
    pub max_backoff_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_secs: 30,
            max_backoff_secs: 600,
        }
    }
}

impl RetryPolicy {
    /// Whether a step that has failed `failures` times may be tried again.
    pub fn allows_retry(&self, failures: u32) -> bool {
        failures < self.max_attempts
    }

    /// The wait after the `failures`-th failure: `backoff_secs` doubled for
    /// each failure after the first, capped at `max_backoff_secs`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(63);
        let secs = self
            .backoff_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_secs);
        Duration::from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 3,
            backoff_secs: 10,
            max_backoff_secs: 35,
        };
        assert_eq!(p.backoff(1), Duration::from_secs(10));
        assert_eq!(p.backoff(2), Duration::from_secs(20));
        assert_eq!(p.backoff(3), Duration::from_secs(35));
        assert_eq!(p.backoff(200), Duration::from_secs(35));
        assert!(p.allows_retry(2));
        assert!(!p.allows_retry(3));
    }
}
