//! ferrite-sealing: the sector pipeline.
//!
//! This crate owns the sector state machine. It is pure (no I/O, no async,
//! no clock): [`SectorState::apply`] turns a state and an [`Event`] (a task
//! result, a chain observation or an operator command) into the next state,
//! or refuses the event with a [`TransitionError`] and leaves the state as it
//! was; [`SectorState::next_action`] says what to do in a state ([`Action`]:
//! a worker task, a chain step, a retry after a backoff, or nothing). Each
//! state carries the data its stage needs, so nothing is optional; the
//! diagram is on [`SectorState`]. Failures keep the state to retry from, and
//! [`RetryPolicy`] bounds how often each kind of stage is retried.
//!
//! Principal types: [`SectorState`], [`Event`], [`Action`], [`RetryPolicy`],
//! [`SectorRecord`] (a sector's id, state and history, as stored), and
//! [`chain::ChainSteps`], the pipeline's chain steps (ticket, precommit,
//! seed, prove-commit) through the `Chain` trait.
//!
//! The driver, [`Pipeline`], does the I/O: [`Pipeline::pledge`] records a
//! new committed-capacity sector, and [`Pipeline::step`] loads a
//! [`SectorRecord`] from ferrite-store ([`records`]), runs `next_action`,
//! turns the action into a task or a chain step, applies the resulting
//! event, writes the new record, and only then acts on it. Every action is
//! idempotent, so a crash between two steps replays the last one.
//! [`Pipeline::run`] steps every sector until stopped;
//! [`Pipeline::run_until`] steps one.
//!
//! A task goes through [`tasks::Tasks`], which finds or places the sector's
//! files on the storage paths (reserving their space), names them in a
//! [`Job`], and hands it to an [`Executor`]: the [`LocalExecutor`] runs it in
//! this process, and the node's cluster sends it to a `ferrite worker` over
//! gRPC, where [`job::execute`] runs it. Proofs that come back are checked
//! with verify_seal here before anything is sent. Precommits are batched
//! ([`batch`]): one PreCommitSectorBatch2 for the sectors ready together.
//!
//! ```text
//!  pledge ──► record (Packing + StartSealing) ──► step: load ─► next_action ─► task / chain
//!                                                   ▲                              │ event
//!                                                   └── write record ◄── apply ◄───┘
//!
//!  task: Tasks (place files, reserve) ─► Job ─► Executor ─► local Workers | cluster ─► gRPC worker
//!                                                                            │
//!        output (C2: verify_seal here) ◄────────────────────────────────────┘
//! ```
//!
//! ```
//! use ferrite_sealing::{Action, Event, RetryPolicy, SectorState};
//! use ferrite_types::{SealProof, SectorSize};
//!
//! let policy = RetryPolicy::default();
//! // A committed-capacity sector: no deals, straight to zero fillers.
//! let s = SectorState::new(SealProof::new(SectorSize::S2KiB));
//! assert_eq!(s.next_action(&policy), Action::WaitPieces);
//! let s = s.apply(Event::StartSealing, &policy)?;
//! assert_eq!(s.next_action(&policy), Action::AddPiece);
//! // An event that does not fit is refused, and `s` is unchanged.
//! assert!(s.apply(Event::C1Done, &policy).is_err());
//! assert_eq!(s.name(), "AddPiece");
//! # Ok::<(), ferrite_sealing::TransitionError>(())
//! ```
#![warn(missing_docs)]

mod action;
pub mod batch;
pub mod chain;
mod driver;
mod error;
mod event;
pub mod job;
mod output;
pub mod packing;
mod piece;
mod record;
pub mod records;
mod retry;
mod state;
pub mod tasks;
#[doc(hidden)]
pub mod testnet;

pub use action::Action;
pub use batch::BatchConfig;
pub use driver::Pipeline;
pub use error::{SealingError, TransitionError};
pub use event::{Event, Task};
pub use job::{Executor, Job, JobOutput, JobPiece, LocalExecutor};
pub use output::{MessageCid, Pc1Output, PoRepProof, UpdateProof};
pub use packing::PackingConfig;
pub use piece::{DealPiece, PieceData, PieceToAdd, SectorPiece};
pub use record::{LogEntry, SectorRecord};
pub use retry::{Attempts, FailureKind, RetryPolicy};
pub use state::{
    AfterAddPiece, Challenge, Failure, Sealed, SectorBase, SectorKey, SectorState, Target,
    TicketInfo, Update,
};
