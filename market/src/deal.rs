//! The deal state machine: [`DealState`], [`DealState::apply`] and
//! [`DealState::next_action`]. Pure: no I/O, no clock.
//!
//! A deal is named by the client's UUID ([`DealUuid`]). Its record
//! ([`crate::records::DealRecord`]) holds the proposal, the transfer and the
//! history; the state holds what the next step needs. The driver loops as
//! sealing's does: `action = state.next_action(policy)`, run it, `state =
//! state.apply(event, policy)?`, persist, and only then act on the new
//! state, so a crash replays the last step, and every step is idempotent.
//!
//! Where this differs from Boost and Curio:
//! - Boost's checkpoints (Accepted, Transferred, Published, PublishConfirmed,
//!   AddedPiece, IndexedAndAnnounced, Complete) are states here that carry
//!   their data, and sealing and activation are followed to the end
//!   (Active, Expired, Slashed), as Curio's market does.
//! - Boost records the publish message's CID after pushing it, and a crash
//!   in between re-publishes (the market actor then refuses the duplicate
//!   proposal). Here the CID is recorded before the push ([`DealEvent::PublishSigned`]),
//!   and a lost message is detected through the chain (see
//!   [`DealAction::CheckPublish`]).
//! - Transfer retries are bounded by a [`RetryPolicy`] with backoff and
//!   counted in the state, where Boost retries a transfer on restart only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cid::Cid;
use ferrite_types::{ChainEpoch, DealId, PieceInfo, SectorNumber};
use fil_actor_market_state::v18::DealProposal;
use multihash_codetable::{Code, MultihashDigest};
use serde::{Deserialize, Serialize};

use crate::error::DealTransitionError;

mod action;
mod event;
mod retry;

pub use action::DealAction;
pub use event::{DealEvent, StagedPiece};
pub use retry::RetryPolicy;

/// A deal's UUID, chosen by the client (Boost's `DealUUID`). Shown and
/// stored as the hyphenated text form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DealUuid(pub [u8; 16]);

impl DealUuid {
    /// A new random (v4) UUID.
    pub fn new_random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<uuid::Uuid> for DealUuid {
    fn from(u: uuid::Uuid) -> Self {
        Self(*u.as_bytes())
    }
}

impl From<DealUuid> for uuid::Uuid {
    fn from(u: DealUuid) -> Self {
        uuid::Uuid::from_bytes(u.0)
    }
}

impl fmt::Display for DealUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", uuid::Uuid::from_bytes(self.0).hyphenated())
    }
}

impl fmt::Debug for DealUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DealUuid({self})")
    }
}

impl FromStr for DealUuid {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, uuid::Error> {
        uuid::Uuid::parse_str(s.trim()).map(Self::from)
    }
}

impl TryFrom<String> for DealUuid {
    type Error = uuid::Error;
    fn try_from(s: String) -> Result<Self, uuid::Error> {
        s.parse()
    }
}

impl From<DealUuid> for String {
    fn from(u: DealUuid) -> String {
        u.to_string()
    }
}

macro_rules! cid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub Cid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = cid::Error;
            fn from_str(s: &str) -> Result<Self, cid::Error> {
                Cid::try_from(s.trim()).map(Self)
            }
        }

        impl TryFrom<String> for $name {
            type Error = cid::Error;
            fn try_from(s: String) -> Result<Self, cid::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(c: $name) -> String {
                c.0.to_string()
            }
        }
    };
}

cid_newtype!(
    /// The CID of a signed chain message (here: a PublishStorageDeals).
    MessageCid
);

cid_newtype!(
    /// The CID of a deal proposal: DAG-CBOR, blake2b-256, as the market
    /// actor keys its pending proposals. Two deals with one proposal CID are
    /// the same deal.
    ProposalCid
);

impl ProposalCid {
    /// The CID of `proposal` (the unsigned proposal, as the actor computes it).
    pub fn of(proposal: &DealProposal) -> Result<Self, fvm_ipld_encoding::Error> {
        let bytes = fvm_ipld_encoding::to_vec(proposal)?;
        Ok(Self(Cid::new_v1(
            fvm_ipld_encoding::DAG_CBOR,
            Code::Blake2b256.digest(&bytes),
        )))
    }
}

/// What every live deal carries, whatever its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealBase {
    /// The piece the proposal names: the staged data must have this CommP.
    pub piece: PieceInfo,
    /// An offline deal's data comes from `deals import-data`, never a pull.
    pub offline: bool,
    /// Transfers failed so far, checked against the [`RetryPolicy`].
    pub transfer_failures: u32,
    /// Publish messages failed (for a passing reason) so far.
    pub publish_failures: u32,
}

impl DealBase {
    /// A new deal's base: nothing has failed yet.
    pub fn new(piece: PieceInfo, offline: bool) -> Self {
        Self {
            piece,
            offline,
            transfer_failures: 0,
            publish_failures: 0,
        }
    }
}

/// The staged data: a file whose CommP matched the proposal's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    /// The staging file (sealing's AddPiece reads it).
    pub path: PathBuf,
    /// Payload bytes in it.
    pub bytes: u64,
}

/// The deal's life on chain: its id and the message that published it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnChain {
    /// The id the market actor gave the deal.
    pub deal_id: DealId,
    /// The PublishStorageDeals message.
    pub message: MessageCid,
}

/// Where sealing put the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The sector.
    pub sector: SectorNumber,
    /// The piece's offset in the sector, in padded bytes.
    pub offset: u64,
}

/// A failed deal: why, and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealFailure {
    /// The reason, shown to the client and the operator.
    pub reason: String,
    /// The state the deal failed in.
    pub from: String,
    /// Staged data kept for the operator to inspect (a CommP mismatch);
    /// `None` when there was none, or it is no longer needed.
    pub kept_file: Option<PathBuf>,
}

/// A deal's state. Each variant holds what its step needs.
///
/// ```text
///  Accepted --(online) TransferStarted--> Transferring --TransferDone (CommP matches)--> Staged
///     |                                     |  ^   TransferProgress loops
///     |                                     |  +--RetryTransfer-- TransferRetry <--TransferFailed (retryable, below limit)--+
///     |                                     +---------------------------------------------------------------------------+
///     +--(offline) Imported (CommP matches)------------------------------------------------------------------------> Staged
///
///  Staged --PublishQueued--> WaitPublish --PublishSigned{msg} (recorded BEFORE the push)--> Publishing{msg}
///                         |     ^                                                               |
///                         |     +--PublishMessageLost / PublishFailed (retryable, below limit)--+
///                         +--PublishFailed (the message could not be made; retryable, below limit)--> WaitPublish
///                                                                                               |
///  Publishing --PublishLanded{deal id}--> Published --SectorAssigned--> AddingToSector --PieceAdded--> Sealing
///                                                                             |                          |
///                                                                             +--Activated--> Active <---+ Activated
///
///  Active --Expired--> Expired          Active --Slashed--> Slashed
///
///  to Failed{reason, from}:
///    Transferring, Accepted   TransferDone/Imported with another CommP or too many bytes (file kept)
///    Transferring             TransferFailed fatal, or retries exhausted
///    WaitPublish, Publishing  PublishFailed fatal (the actor refused the deal), or retries exhausted
///    all before Active        StartEpochMissed, except Publishing (its message decides)
///    Accepted .. WaitPublish  Abort (refused once a message may exist)
/// ```
///
/// Expired, Slashed and Failed are terminal. Exactly-once publishing rests
/// on two rules: `PublishSigned` applies only in WaitPublish, and nothing
/// but the message's fate (`PublishLanded`, `PublishFailed`,
/// `PublishMessageLost`) leaves Publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DealState {
    /// Accepted; an online deal's data is to be pulled, an offline one waits
    /// for its import.
    Accepted {
        /// The deal.
        base: DealBase,
    },
    /// Pulling the data.
    Transferring {
        /// The deal.
        base: DealBase,
        /// Bytes received so far (progress for the client's status).
        received: u64,
    },
    /// A transfer failed; it is tried again after a backoff.
    TransferRetry {
        /// The deal, with the failure counted.
        base: DealBase,
        /// The last failure.
        reason: String,
    },
    /// The data is staged and its CommP matched.
    Staged {
        /// The deal.
        base: DealBase,
        /// The staged data.
        data: Staged,
    },
    /// Waiting in the publish batcher.
    WaitPublish {
        /// The deal.
        base: DealBase,
        /// The staged data.
        data: Staged,
    },
    /// A PublishStorageDeals message carrying the deal is signed and
    /// recorded; it may or may not have reached the mpool.
    Publishing {
        /// The deal.
        base: DealBase,
        /// The staged data.
        data: Staged,
        /// The message.
        message: MessageCid,
    },
    /// Published on chain; to be handed to sealing.
    Published {
        /// The deal.
        base: DealBase,
        /// The staged data.
        data: Staged,
        /// Its id and message.
        chain: OnChain,
    },
    /// Sealing placed the piece in a sector; AddPiece is writing it.
    AddingToSector {
        /// The deal.
        base: DealBase,
        /// The staged data (still read by AddPiece).
        data: Staged,
        /// Its id and message.
        chain: OnChain,
        /// Where it goes.
        placement: Placement,
    },
    /// The piece is in the sector, which is being sealed.
    Sealing {
        /// The deal.
        base: DealBase,
        /// The staged data, to delete.
        data: Staged,
        /// Its id and message.
        chain: OnChain,
        /// Where it is.
        placement: Placement,
    },
    /// Activated by the market actor: stored and paid for.
    Active {
        /// The deal.
        base: DealBase,
        /// Its id and message.
        chain: OnChain,
        /// Where it is.
        placement: Placement,
        /// The activation epoch.
        activation: ChainEpoch,
    },
    /// Ended at its end epoch. Terminal.
    Expired {
        /// Its id.
        deal_id: DealId,
        /// When it was seen expired.
        epoch: ChainEpoch,
    },
    /// Its sector was terminated early. Terminal.
    Slashed {
        /// Its id.
        deal_id: DealId,
        /// The slash epoch.
        epoch: ChainEpoch,
    },
    /// Failed. Terminal.
    Failed(DealFailure),
}

impl DealState {
    /// A new deal for `piece`, accepted.
    pub fn new(piece: PieceInfo, offline: bool) -> Self {
        DealState::Accepted {
            base: DealBase::new(piece, offline),
        }
    }

    /// Every [`DealState::name`], in the order of the diagram.
    pub const NAMES: [&'static str; 13] = [
        "Accepted",
        "Transferring",
        "TransferRetry",
        "Staged",
        "WaitPublish",
        "Publishing",
        "Published",
        "AddingToSector",
        "Sealing",
        "Active",
        "Expired",
        "Slashed",
        "Failed",
    ];

    /// The state's name, for logs, metrics and the CLI.
    pub fn name(&self) -> &'static str {
        match self {
            DealState::Accepted { .. } => "Accepted",
            DealState::Transferring { .. } => "Transferring",
            DealState::TransferRetry { .. } => "TransferRetry",
            DealState::Staged { .. } => "Staged",
            DealState::WaitPublish { .. } => "WaitPublish",
            DealState::Publishing { .. } => "Publishing",
            DealState::Published { .. } => "Published",
            DealState::AddingToSector { .. } => "AddingToSector",
            DealState::Sealing { .. } => "Sealing",
            DealState::Active { .. } => "Active",
            DealState::Expired { .. } => "Expired",
            DealState::Slashed { .. } => "Slashed",
            DealState::Failed(_) => "Failed",
        }
    }

    /// The deal's base data; `None` once it is over.
    pub fn base(&self) -> Option<&DealBase> {
        match self {
            DealState::Accepted { base }
            | DealState::Transferring { base, .. }
            | DealState::TransferRetry { base, .. }
            | DealState::Staged { base, .. }
            | DealState::WaitPublish { base, .. }
            | DealState::Publishing { base, .. }
            | DealState::Published { base, .. }
            | DealState::AddingToSector { base, .. }
            | DealState::Sealing { base, .. }
            | DealState::Active { base, .. } => Some(base),
            DealState::Expired { .. } | DealState::Slashed { .. } | DealState::Failed(_) => None,
        }
    }

    /// Whether the deal is over: nothing more happens to it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            DealState::Expired { .. } | DealState::Slashed { .. } | DealState::Failed(_)
        )
    }

    /// The on-chain deal id, once published.
    pub fn deal_id(&self) -> Option<DealId> {
        match self {
            DealState::Published { chain, .. }
            | DealState::AddingToSector { chain, .. }
            | DealState::Sealing { chain, .. }
            | DealState::Active { chain, .. } => Some(chain.deal_id),
            DealState::Expired { deal_id, .. } | DealState::Slashed { deal_id, .. } => {
                Some(*deal_id)
            }
            _ => None,
        }
    }

    /// The publish message, once one is recorded.
    pub fn publish_message(&self) -> Option<MessageCid> {
        match self {
            DealState::Publishing { message, .. } => Some(*message),
            DealState::Published { chain, .. }
            | DealState::AddingToSector { chain, .. }
            | DealState::Sealing { chain, .. }
            | DealState::Active { chain, .. } => Some(chain.message),
            _ => None,
        }
    }

    /// Why the deal failed, or why its transfer is being retried.
    pub fn failure_reason(&self) -> Option<String> {
        match self {
            DealState::Failed(f) => Some(f.reason.clone()),
            DealState::TransferRetry { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }

    /// The deal's data bytes received so far (Boost's `NBytesReceived`).
    pub fn bytes_received(&self) -> u64 {
        match self {
            DealState::Transferring { received, .. } => *received,
            DealState::Staged { data, .. }
            | DealState::WaitPublish { data, .. }
            | DealState::Publishing { data, .. }
            | DealState::Published { data, .. }
            | DealState::AddingToSector { data, .. }
            | DealState::Sealing { data, .. } => data.bytes,
            _ => 0,
        }
    }

    /// Where sealing stands, for a status answer (Boost's `SealingStatus`):
    /// the sector, once the deal has one.
    pub fn sealing_status(&self) -> String {
        match self {
            DealState::AddingToSector { placement, .. } => {
                format!("adding to sector {}", placement.sector)
            }
            DealState::Sealing { placement, .. } => {
                format!("sealing in sector {}", placement.sector)
            }
            DealState::Active { .. } => "active".to_string(),
            _ => String::new(),
        }
    }

    /// The staging file the deal holds, if any.
    pub fn staged_file(&self) -> Option<&Path> {
        match self {
            DealState::Staged { data, .. }
            | DealState::WaitPublish { data, .. }
            | DealState::Publishing { data, .. }
            | DealState::Published { data, .. }
            | DealState::AddingToSector { data, .. }
            | DealState::Sealing { data, .. } => Some(&data.path),
            DealState::Failed(f) => f.kept_file.as_deref(),
            _ => None,
        }
    }

    /// What the driver does in this state.
    pub fn next_action(&self, policy: &RetryPolicy) -> DealAction {
        match self {
            DealState::Accepted { base } if base.offline => DealAction::AwaitImport,
            DealState::Accepted { .. } => DealAction::StartTransfer,
            DealState::Transferring { .. } => DealAction::Transfer,
            DealState::TransferRetry { base, .. } => DealAction::RetryTransfer {
                after: policy.backoff(base.transfer_failures),
            },
            DealState::Staged { .. } => DealAction::QueueForPublish,
            DealState::WaitPublish { .. } => DealAction::JoinPublishBatch,
            DealState::Publishing { message, .. } => DealAction::CheckPublish { message: *message },
            DealState::Published { .. } => DealAction::AssignToSector,
            DealState::AddingToSector { placement, .. } => DealAction::WaitPieceAdded {
                sector: placement.sector,
            },
            DealState::Sealing {
                data, placement, ..
            } => DealAction::WaitActivation {
                sector: placement.sector,
                staged: data.path.clone(),
            },
            DealState::Active { .. } => DealAction::WatchDeal,
            DealState::Expired { .. } | DealState::Slashed { .. } | DealState::Failed(_) => {
                DealAction::None
            }
        }
    }

    /// The state after `event`, or why the event does not fit. `self` is
    /// left as it was either way: the driver persists the new state, then
    /// acts. Data that turns out wrong (another CommP, too many bytes) is no
    /// error: it moves the deal to Failed.
    pub fn apply(
        &self,
        event: DealEvent,
        policy: &RetryPolicy,
    ) -> Result<DealState, DealTransitionError> {
        use DealState as S;

        let event_name = event.name();
        let illegal = || DealTransitionError::Illegal {
            state: self.name(),
            event: event_name,
        };
        let invalid = |reason: String| DealTransitionError::Invalid {
            state: self.name(),
            event: event_name,
            reason,
        };
        let failed = |reason: String, kept_file: Option<PathBuf>| {
            S::Failed(DealFailure {
                reason,
                from: self.name().to_string(),
                kept_file,
            })
        };

        match (self, event) {
            // Getting the data.
            (S::Accepted { base }, DealEvent::TransferStarted) if !base.offline => {
                Ok(S::Transferring {
                    base: base.clone(),
                    received: 0,
                })
            }
            (S::Accepted { base }, DealEvent::TransferStarted) => Err(invalid(format!(
                "deal is offline (piece {})",
                base.piece.comm_p
            ))),
            (S::Transferring { base, .. }, DealEvent::TransferProgress { received }) => {
                Ok(S::Transferring {
                    base: base.clone(),
                    received,
                })
            }
            (S::Transferring { base, .. }, DealEvent::TransferDone(piece)) => {
                Ok(stage(base, piece).unwrap_or_else(|(reason, kept)| failed(reason, kept)))
            }
            (S::Accepted { base }, DealEvent::Imported(piece)) if base.offline => {
                Ok(stage(base, piece).unwrap_or_else(|(reason, kept)| failed(reason, kept)))
            }
            (S::Accepted { .. }, DealEvent::Imported(_)) => Err(invalid(
                "an online deal's data comes from its transfer".to_string(),
            )),
            (S::Transferring { base, .. }, DealEvent::TransferFailed { retryable, reason }) => {
                let failures = base.transfer_failures.saturating_add(1);
                if retryable && policy.allows_retry(failures) {
                    let mut base = base.clone();
                    base.transfer_failures = failures;
                    Ok(S::TransferRetry { base, reason })
                } else if retryable {
                    Ok(failed(
                        format!(
                            "transfer failed {failures} times (limit {}): {reason}",
                            policy.max_attempts
                        ),
                        None,
                    ))
                } else {
                    Ok(failed(format!("transfer failed: {reason}"), None))
                }
            }
            (S::TransferRetry { base, .. }, DealEvent::RetryTransfer) => Ok(S::Transferring {
                base: base.clone(),
                received: 0,
            }),

            // Publishing.
            (S::Staged { base, data }, DealEvent::PublishQueued) => Ok(S::WaitPublish {
                base: base.clone(),
                data: data.clone(),
            }),
            (S::WaitPublish { base, data }, DealEvent::PublishSigned { message }) => {
                Ok(S::Publishing {
                    base: base.clone(),
                    data: data.clone(),
                    message,
                })
            }
            (
                S::Publishing {
                    base,
                    data,
                    message,
                },
                DealEvent::PublishLanded { deal_id },
            ) => Ok(S::Published {
                base: base.clone(),
                data: data.clone(),
                chain: OnChain {
                    deal_id,
                    message: *message,
                },
            }),
            (S::Publishing { base, data, .. }, DealEvent::PublishMessageLost) => {
                Ok(S::WaitPublish {
                    base: base.clone(),
                    data: data.clone(),
                })
            }
            // The message failed on chain; or, from WaitPublish, the batch's
            // message could not be made (its gas estimate runs it, and the
            // actor refused it), so nothing was sent.
            (
                S::Publishing {
                    base,
                    data,
                    message,
                },
                DealEvent::PublishFailed { retryable, reason },
            ) => Ok(
                publish_failed(base, data, Some(message), retryable, &reason, policy)
                    .unwrap_or_else(|why| failed(why, None)),
            ),
            (S::WaitPublish { base, data }, DealEvent::PublishFailed { retryable, reason }) => {
                Ok(publish_failed(base, data, None, retryable, &reason, policy)
                    .unwrap_or_else(|why| failed(why, None)))
            }

            // Sealing and the chain.
            (S::Published { base, data, chain }, DealEvent::SectorAssigned { sector, offset }) => {
                if offset % base.piece.size.bytes() != 0 {
                    return Err(invalid(format!(
                        "offset {offset} is not aligned to the piece size {}",
                        base.piece.size
                    )));
                }
                Ok(S::AddingToSector {
                    base: base.clone(),
                    data: data.clone(),
                    chain: *chain,
                    placement: Placement { sector, offset },
                })
            }
            (
                S::AddingToSector {
                    base,
                    data,
                    chain,
                    placement,
                },
                DealEvent::PieceAdded,
            ) => Ok(S::Sealing {
                base: base.clone(),
                data: data.clone(),
                chain: *chain,
                placement: *placement,
            }),
            (
                S::AddingToSector {
                    base,
                    chain,
                    placement,
                    ..
                }
                | S::Sealing {
                    base,
                    chain,
                    placement,
                    ..
                },
                DealEvent::Activated { epoch },
            ) => Ok(S::Active {
                base: base.clone(),
                chain: *chain,
                placement: *placement,
                activation: epoch,
            }),
            (S::Active { chain, .. }, DealEvent::Expired { epoch }) => Ok(S::Expired {
                deal_id: chain.deal_id,
                epoch,
            }),
            (S::Active { chain, .. }, DealEvent::Slashed { epoch }) => Ok(S::Slashed {
                deal_id: chain.deal_id,
                epoch,
            }),

            // Failures that apply across states.
            (S::Publishing { .. }, DealEvent::StartEpochMissed { .. }) => Err(illegal()),
            (
                S::Accepted { .. }
                | S::Transferring { .. }
                | S::TransferRetry { .. }
                | S::Staged { .. }
                | S::WaitPublish { .. }
                | S::Published { .. }
                | S::AddingToSector { .. }
                | S::Sealing { .. },
                DealEvent::StartEpochMissed { head },
            ) => {
                let onchain = self
                    .deal_id()
                    .map(|id| format!(" (deal {id}: its provider collateral is forfeit)"))
                    .unwrap_or_default();
                Ok(failed(
                    format!("not activated before its start epoch; head is {head}{onchain}"),
                    None,
                ))
            }
            (
                S::Accepted { .. }
                | S::Transferring { .. }
                | S::TransferRetry { .. }
                | S::Staged { .. }
                | S::WaitPublish { .. },
                DealEvent::Abort { reason },
            ) => Ok(failed(format!("aborted: {reason}"), None)),

            _ => Err(illegal()),
        }
    }
}

/// The staged state for `piece`, or why the data is not the deal's (with
/// the file to keep).
fn stage(base: &DealBase, piece: StagedPiece) -> Result<DealState, (String, Option<PathBuf>)> {
    if piece.comm_p != base.piece.comm_p {
        return Err((
            format!(
                "CommP mismatch: the proposal names {} but the data has {} ({} bytes in {})",
                base.piece.comm_p,
                piece.comm_p,
                piece.bytes,
                piece.path.display()
            ),
            Some(piece.path),
        ));
    }
    let room = base.piece.size.unpadded().bytes();
    if piece.bytes > room {
        return Err((
            format!(
                "{} bytes of data do not fit the piece's {room} unpadded bytes",
                piece.bytes
            ),
            Some(piece.path),
        ));
    }
    Ok(DealState::Staged {
        base: base.clone(),
        data: Staged {
            path: piece.path,
            bytes: piece.bytes,
        },
    })
}

#[cfg(test)]
mod tests;

/// After a failed publish: back to the batcher while a passing failure is
/// within the policy's attempts, else `Err` with why the deal fails (naming
/// the message, if one was sent).
fn publish_failed(
    base: &DealBase,
    data: &Staged,
    message: Option<&MessageCid>,
    retryable: bool,
    reason: &str,
    policy: &RetryPolicy,
) -> Result<DealState, String> {
    let failures = base.publish_failures.saturating_add(1);
    if retryable && policy.allows_retry(failures) {
        let mut base = base.clone();
        base.publish_failures = failures;
        return Ok(DealState::WaitPublish {
            base,
            data: data.clone(),
        });
    }
    let why = match (message, retryable) {
        (Some(m), true) => format!(
            "publish failed {failures} times (limit {}), last in {m}: {reason}",
            policy.max_attempts
        ),
        (Some(m), false) => format!("publish failed in {m}: {reason}"),
        (None, _) => {
            format!("publish failed {failures} times, before a message was sent: {reason}")
        }
    };
    Err(why)
}
