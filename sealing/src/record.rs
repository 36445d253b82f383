//! A sector with its identity and its history, as the driver stores it.

use ferrite_types::{SealProof, SectorId};
use serde::{Deserialize, Serialize};

use crate::{Event, RetryPolicy, SectorState, TransitionError};

/// One line of a sector's log (`ferrite sectors status ID --log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When the transition happened, in Unix seconds (the driver's clock).
    pub at_secs: u64,
    /// The event that caused it.
    pub event: String,
    /// The state it led to.
    pub state: String,
}

/// A sector as stored in ferrite-store: its id, its state, and every
/// transition it went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorRecord {
    /// The sector.
    pub id: SectorId,
    /// Where it stands.
    pub state: SectorState,
    /// Its transitions, oldest first; the first entry is its creation.
    pub history: Vec<LogEntry>,
}

impl SectorRecord {
    /// A new, empty sector in Packing, created at `now_secs`.
    pub fn new(id: SectorId, proof: SealProof, now_secs: u64) -> Self {
        let state = SectorState::new(proof);
        let history = vec![LogEntry {
            at_secs: now_secs,
            event: "Created".to_string(),
            state: state.name().to_string(),
        }];
        Self { id, state, history }
    }

    /// The record after `event` at `now_secs`, or why the event does not fit
    /// (and then `self` is unchanged). Persist the result before acting on it.
    pub fn apply(
        &self,
        event: Event,
        policy: &RetryPolicy,
        now_secs: u64,
    ) -> Result<SectorRecord, TransitionError> {
        let event_name = event.name();
        let state = self.state.apply(event, policy)?;
        let mut history = self.history.clone();
        history.push(LogEntry {
            at_secs: now_secs,
            event: event_name.to_string(),
            state: state.name().to_string(),
        });
        Ok(SectorRecord {
            id: self.id,
            state,
            history,
        })
    }

    /// When the sector entered its current state, in Unix seconds: the start
    /// of a failure state's backoff.
    pub fn since_secs(&self) -> Option<u64> {
        self.history.last().map(|e| e.at_secs)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use ferrite_types::{ActorId, SectorNumber, SectorSize};

    use super::*;

    #[test]
    fn history_records_each_transition_and_refusals_change_nothing() {
        let id = SectorId::new(ActorId(1000), SectorNumber(1));
        let policy = RetryPolicy::default();
        let r = SectorRecord::new(id, SealProof::new(SectorSize::S2KiB), 10);
        let r = r.apply(Event::StartSealing, &policy, 20).unwrap();
        assert_eq!(r.state.name(), "AddPiece");
        let before = r.clone();
        assert!(r.apply(Event::C1Done, &policy, 30).is_err());
        assert_eq!(r, before);
        let log: Vec<(u64, &str, &str)> = r
            .history
            .iter()
            .map(|e| (e.at_secs, e.event.as_str(), e.state.as_str()))
            .collect();
        assert_eq!(
            log,
            [(10, "Created", "Packing"), (20, "StartSealing", "AddPiece")]
        );
        assert_eq!(r.since_secs(), Some(20));
    }
}
