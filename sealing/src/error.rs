//! Why an event was refused.

use ferrite_types::DealId;

/// An event that does not fit the sector's state. The state is unchanged:
/// [`SectorState::apply`](crate::SectorState::apply) only builds a new one.
///
/// Task results whose content is wrong (a piece with the wrong CommP, an
/// empty proof) are not errors: they move the sector to a failure state. The
/// errors here mean the event itself was out of place, usually a stale task
/// result or an operator command in the wrong state; the driver logs it and
/// keeps the sector as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event has no transition from this state.
    #[error("{event} does not apply to a sector in {state}")]
    Illegal {
        /// The state's name.
        state: &'static str,
        /// The event's name.
        event: &'static str,
    },
    /// The event fits the state, but its data cannot be right.
    #[error("{event} is invalid in {state}: {reason}")]
    Invalid {
        /// The state's name.
        state: &'static str,
        /// The event's name.
        event: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A deal piece larger than the space left in the sector.
    #[error("deal {deal}: a piece of {size} bytes does not fit in the {free} bytes left")]
    PieceDoesNotFit {
        /// The deal.
        deal: DealId,
        /// The piece's padded size.
        size: u64,
        /// The padded bytes still free in the sector.
        free: u64,
    },
    /// The pieces could not be laid out (a size that is not a valid piece).
    #[error("cannot lay out the sector's pieces: {reason}")]
    PieceLayout {
        /// The size error.
        reason: String,
    },
    /// A retry beyond the policy's limit: the operator must restart or
    /// remove the sector.
    #[error("{state} has failed {attempts} times (limit {max}): restart or remove the sector")]
    RetriesExhausted {
        /// The failure state's name.
        state: &'static str,
        /// Failures so far.
        attempts: u32,
        /// The policy's `max_attempts`.
        max: u32,
    },
}

/// Why the driver could not step a sector. The retry policy is in the type:
/// a `Transient` error leaves the sector as it was, to be stepped again
/// later; a `Fatal` one needs a person (a corrupt store, a bug).
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// No sector has this number.
    #[error("sector {0} not found")]
    UnknownSector(ferrite_types::SectorNumber),
    /// The chain could not be reached or read, or a wait timed out: try
    /// again later. The sector's record is unchanged.
    #[error("retry later: {0:#}")]
    Transient(anyhow::Error),
    /// A deal piece that cannot be sealed in time, or at all.
    #[error("deal {deal} refused: {reason}")]
    PieceRefused {
        /// The deal.
        deal: DealId,
        /// Why.
        reason: String,
    },
    /// An operator command that does not fit the sector's state.
    #[error("refused: {0}")]
    Refused(TransitionError),
    /// The store failed, or the driver met a state it cannot act on.
    #[error(transparent)]
    Fatal(#[from] anyhow::Error),
}
