//! Precommit batching: sectors ready to precommit join a batch, and one
//! PreCommitSectorBatch2 message carries the whole batch once it is full or
//! its first sector has waited long enough. Pure: the driver passes `now` in,
//! sends what [`PreCommitBatch::take_due`] returns, and files the message's
//! fate for each sector with [`PreCommitBatch::record`].
//!
//! Nothing here is persisted. After a crash the sectors are still in
//! PreCommitReady and join a new batch; before that, the driver looks on
//! chain for a precommit that already landed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::chain::PreCommitInput;

/// `[sealing]` batch settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// The most sectors in one PreCommitSectorBatch2 message; at least 1.
    pub max_sectors: usize,
    /// How long the first sector of a batch waits for others before the
    /// batch is sent anyway, in seconds. 0: send at once what is ready.
    pub wait_secs: u64,
}

impl Default for BatchConfig {
    /// One sector per message, at once.
    fn default() -> Self {
        Self {
            max_sectors: 1,
            wait_secs: 0,
        }
    }
}

/// What became of a sector's batch: the message CID, or why it could not
/// be sent.
pub type Sent = Result<String, String>;

/// The sectors waiting to be precommitted, and the fate of sent batches not
/// yet collected by their sectors.
#[derive(Debug, Default)]
pub struct PreCommitBatch {
    config: BatchConfig,
    waiting: BTreeMap<u64, (PreCommitInput, Instant)>,
    sent: HashMap<u64, Sent>,
}

impl PreCommitBatch {
    /// An empty batch with `config` (a `max_sectors` of 0 counts as 1).
    pub fn new(config: BatchConfig) -> Self {
        Self {
            config: BatchConfig {
                max_sectors: config.max_sectors.max(1),
                ..config
            },
            waiting: BTreeMap::new(),
            sent: HashMap::new(),
        }
    }

    /// The sector's sent batch, if it was sent since the sector last asked;
    /// taken, so it is reported once.
    pub fn take_sent(&mut self, number: u64) -> Option<Sent> {
        self.sent.remove(&number)
    }

    /// Adds a sector (again: its input is replaced, its waiting time kept).
    pub fn join(&mut self, input: PreCommitInput, now: Instant) {
        let since = self.waiting.get(&input.number).map_or(now, |(_, t)| *t);
        self.waiting.insert(input.number, (input, since));
    }

    /// The sectors to send now, lowest numbers first, at most
    /// `max_sectors`: when that many wait, or the oldest has waited
    /// `wait_secs`. Empty otherwise.
    pub fn take_due(&mut self, now: Instant) -> Vec<PreCommitInput> {
        let oldest = self.waiting.values().map(|(_, t)| *t).min();
        let full = self.waiting.len() >= self.config.max_sectors;
        let waited = oldest.is_some_and(|t| {
            now.saturating_duration_since(t) >= Duration::from_secs(self.config.wait_secs)
        });
        if !full && !waited {
            return Vec::new();
        }
        let numbers: Vec<u64> = self
            .waiting
            .keys()
            .take(self.config.max_sectors)
            .copied()
            .collect();
        numbers
            .into_iter()
            .filter_map(|n| self.waiting.remove(&n).map(|(input, _)| input))
            .collect()
    }

    /// Files what became of a batch, for each of its sectors.
    pub fn record(&mut self, batch: &[PreCommitInput], sent: &Sent) {
        for input in batch {
            self.sent.insert(input.number, sent.clone());
        }
    }

    /// Sectors waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ferrite_types::{CommR, SealProof, SectorSize};

    use super::*;

    fn input(n: u64) -> PreCommitInput {
        PreCommitInput {
            number: n,
            proof: SealProof::new(SectorSize::S2KiB),
            comm_r: CommR([n as u8; 32]),
            comm_d: None,
            ticket_epoch: 1,
            deals_end: 0,
        }
    }

    #[test]
    fn one_per_message_by_default() {
        let mut b = PreCommitBatch::new(BatchConfig::default());
        let t = Instant::now();
        b.join(input(1), t);
        b.join(input(2), t);
        assert_eq!(b.take_due(t), vec![input(1)]);
        assert_eq!(b.take_due(t), vec![input(2)]);
        assert!(b.take_due(t).is_empty());
    }

    #[test]
    fn a_batch_goes_when_full_or_when_its_first_sector_waited() {
        let mut b = PreCommitBatch::new(BatchConfig {
            max_sectors: 3,
            wait_secs: 10,
        });
        let t0 = Instant::now();
        b.join(input(5), t0);
        b.join(input(2), t0 + Duration::from_secs(4));
        assert!(b.take_due(t0 + Duration::from_secs(9)).is_empty());
        // Joining again does not restart the wait.
        b.join(input(5), t0 + Duration::from_secs(9));
        assert_eq!(
            b.take_due(t0 + Duration::from_secs(10)),
            vec![input(2), input(5)]
        );
        // Full: sent at once, lowest numbers first; the rest waits.
        for n in [9, 7, 8, 6] {
            b.join(input(n), t0 + Duration::from_secs(20));
        }
        assert_eq!(
            b.take_due(t0 + Duration::from_secs(20)),
            vec![input(6), input(7), input(8)]
        );
        assert_eq!(b.waiting(), 1);
    }

    #[test]
    fn each_sector_collects_its_batch_once() {
        let mut b = PreCommitBatch::new(BatchConfig {
            max_sectors: 2,
            wait_secs: 0,
        });
        let t = Instant::now();
        b.join(input(1), t);
        b.join(input(2), t);
        let batch = b.take_due(t);
        b.record(&batch, &Ok("bafy-msg".to_string()));
        assert_eq!(b.take_sent(2), Some(Ok("bafy-msg".to_string())));
        assert_eq!(b.take_sent(2), None);
        assert_eq!(b.take_sent(1), Some(Ok("bafy-msg".to_string())));
    }
}
