//! The market's errors: [`DealTransitionError`] (an event that does not fit
//! a deal's state) and [`MarketError`], the one enum callers of this crate
//! branch on.

use ferrite_store::StoreError;

use crate::checks::Rejection;
use crate::deal::DealUuid;

/// An event that does not fit the deal's state. The state is unchanged:
/// [`DealState::apply`](crate::deal::DealState::apply) only builds a new one.
/// It usually means a stale driver result or an operator command in the
/// wrong state; the driver logs it and keeps the deal as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealTransitionError {
    /// The event has no transition from this state.
    #[error("{event} does not apply to a deal in {state}")]
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
}

/// Why a market operation failed. The retry policy is in the type: a
/// `Transient` error leaves everything as it was, to be tried again later;
/// `Fatal` needs a person. The only implicit `From` is from
/// `anyhow::Error` (to `Fatal`); everything else is chosen explicitly.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// No deal has this UUID.
    #[error("deal {0} not found")]
    UnknownDeal(DealUuid),
    /// The deal was refused before acceptance; its message goes back to the
    /// client (`DealResponse.Message`).
    #[error("deal rejected: {0}")]
    Rejected(Rejection),
    /// An event or command that does not fit the deal's state.
    #[error("refused: {0}")]
    Refused(DealTransitionError),
    /// The market configuration is invalid (found once, at startup).
    #[error("invalid [market] config: {0}")]
    Config(String),
    /// The deal filter command could not be run at all (not found, not
    /// executable, its stdin closed early). Deals are not accepted while
    /// this lasts; the operator must fix the filter.
    #[error("deal filter {program:?} could not run: {reason}")]
    FilterUnavailable {
        /// The configured program.
        program: String,
        /// What failed.
        reason: String,
    },
    /// The deal store failed.
    #[error("deal store: {0}")]
    Store(StoreError),
    /// The chain or a transfer source could not be reached: try again later.
    #[error("retry later: {0:#}")]
    Transient(anyhow::Error),
    /// Anything else, a bug or a broken invariant.
    #[error(transparent)]
    Fatal(#[from] anyhow::Error),
}
