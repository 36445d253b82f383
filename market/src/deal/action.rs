//! What the driver does next for a deal: the output of
//! [`DealState::next_action`](crate::deal::DealState::next_action).

use std::path::PathBuf;
use std::time::Duration;

use ferrite_types::SectorNumber;

use crate::deal::MessageCid;

/// The next step for a deal. Each is idempotent: after a crash the driver
/// runs the step of the persisted state again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DealAction {
    /// An online deal was accepted: apply `TransferStarted`, then pull.
    StartTransfer,
    /// Pull the data into the staging file from its start (truncating what a
    /// crashed attempt left), computing CommP as it streams; report
    /// progress, then `TransferDone` or `TransferFailed`.
    Transfer,
    /// Apply `RetryTransfer` once this long has passed since the failure
    /// (the record's last history entry).
    RetryTransfer {
        /// The backoff for the failure count.
        after: Duration,
    },
    /// An offline deal waits for `deals import-data`, which reports
    /// `Imported`.
    AwaitImport,
    /// The data is staged: apply `PublishQueued`.
    QueueForPublish,
    /// Put the deal into the publish batcher (again, after a restart; the
    /// batcher keys by deal UUID). When its batch is due, sign the message,
    /// apply `PublishSigned` to every deal of the batch in one store batch,
    /// and only then push the message.
    JoinPublishBatch,
    /// Find the message's fate: search the chain for it (a replaced message
    /// counts), and map its return to this deal (`PublishLanded` /
    /// `PublishFailed`). If the message is not on chain and not in the
    /// mpool, look up the proposal CID in the market actor's pending
    /// proposals: present means another message published it (its id comes
    /// from the deal proposals on chain); absent means it was never sent,
    /// so apply `PublishMessageLost` to batch it again.
    CheckPublish {
        /// The recorded message.
        message: MessageCid,
    },
    /// Hand the piece to sealing. First ask sealing whether a sector already
    /// holds this deal id (a crash after the hand-off) and report that
    /// placement instead of assigning again.
    AssignToSector,
    /// Wait for sealing to report the piece written (`PieceAdded`) or the
    /// deal activated.
    WaitPieceAdded {
        /// The sector it went to.
        sector: SectorNumber,
    },
    /// Delete the staged file if it is still there (a missing file is
    /// fine), then wait for the market actor to activate the deal.
    WaitActivation {
        /// The sector sealing it.
        sector: SectorNumber,
        /// The staged file to remove.
        staged: PathBuf,
    },
    /// Watch the deal on chain for its end or a slash.
    WatchDeal,
    /// Nothing: the deal is over (expired, slashed or failed).
    None,
}
