//! Publishing: staged deals wait in a [`PublishBatch`], and one
//! PublishStorageDeals message carries a batch once it is full or its first
//! deal has waited long enough (Boost's `DealPublisher`: `MaxDealsPerPublishMsg`
//! and `PublishMsgPeriod`). Pure: the driver passes `now` in.
//!
//! ```text
//!  WaitPublish deals ─join─► PublishBatch ─take_due(now)─► [PendingDeal] ─► publish_params ─► sign message
//!       ─► apply PublishSigned{msg} to each deal, in one store batch ─► push
//!  receipt ─► outcomes(batch, PublishStorageDealsReturn) ─► PublishLanded{id} / PublishFailed per deal
//! ```
//!
//! Nothing here is persisted. After a crash the deals are in WaitPublish
//! (they join a new batch) or in Publishing (their message is looked up; see
//! [`DealAction::CheckPublish`](crate::deal::DealAction::CheckPublish)).

use std::time::{Duration, Instant};

use ferrite_types::DealId;
use fil_actor_market_state::v18::{
    ClientDealProposal, PublishStorageDealsParams, PublishStorageDealsReturn,
};
use fvm_shared::error::ExitCode;
use serde::{Deserialize, Serialize};

use crate::deal::{DealEvent, DealUuid};

/// `[market.publish]`: how deals are batched into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// The most deals in one PublishStorageDeals message; at least 1.
    /// Default: 8 (Boost's `MaxDealsPerPublishMsg`).
    pub max_deals: usize,
    /// How long the first deal of a batch waits for others, in seconds.
    /// 0: publish at once what is ready. Default: 3600 (Boost's
    /// `PublishMsgPeriod`).
    pub wait_secs: u64,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            max_deals: 8,
            wait_secs: 3600,
        }
    }
}

/// A deal waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDeal {
    /// The deal.
    pub uuid: DealUuid,
    /// Its signed proposal, as the message carries it.
    pub proposal: ClientDealProposal,
}

/// The deals waiting to be published, in the order they joined.
#[derive(Debug, Default)]
pub struct PublishBatch {
    config: PublishConfig,
    waiting: Vec<(PendingDeal, Instant)>,
}

impl PublishBatch {
    /// An empty batch with `config` (a `max_deals` of 0 counts as 1).
    pub fn new(config: PublishConfig) -> Self {
        Self {
            config: PublishConfig {
                max_deals: config.max_deals.max(1),
                ..config
            },
            waiting: Vec::new(),
        }
    }

    /// Adds a deal; joining again replaces its proposal and keeps its place
    /// and waiting time (the driver replays `JoinPublishBatch` freely).
    pub fn join(&mut self, deal: PendingDeal, now: Instant) {
        match self.waiting.iter_mut().find(|(d, _)| d.uuid == deal.uuid) {
            Some((d, _)) => *d = deal,
            None => self.waiting.push((deal, now)),
        }
    }

    /// Takes a deal out (aborted, or its start epoch passed).
    pub fn leave(&mut self, uuid: &DealUuid) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|(d, _)| d.uuid != *uuid);
        self.waiting.len() != before
    }

    /// The deals to publish now, oldest first, at most `max_deals`: when
    /// that many wait, or the oldest has waited `wait_secs`. Empty
    /// otherwise.
    pub fn take_due(&mut self, now: Instant) -> Vec<PendingDeal> {
        let full = self.waiting.len() >= self.config.max_deals;
        let waited = self.waiting.first().is_some_and(|(_, since)| {
            now.saturating_duration_since(*since) >= Duration::from_secs(self.config.wait_secs)
        });
        if !full && !waited {
            return Vec::new();
        }
        let n = self.config.max_deals.min(self.waiting.len());
        self.waiting.drain(..n).map(|(d, _)| d).collect()
    }

    /// Deals waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// The message parameters for `batch`, in its order (which
/// [`outcomes`] relies on).
pub fn publish_params(batch: &[PendingDeal]) -> PublishStorageDealsParams {
    PublishStorageDealsParams {
        deals: batch.iter().map(|d| d.proposal.clone()).collect(),
    }
}

/// What the message did for one deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Published with this id.
    Published(DealId),
    /// The actor refused this deal (left out of `valid_deals`).
    Refused(String),
}

impl PublishOutcome {
    /// The deal's event.
    pub fn into_event(self) -> DealEvent {
        match self {
            PublishOutcome::Published(deal_id) => DealEvent::PublishLanded { deal_id },
            PublishOutcome::Refused(reason) => DealEvent::PublishFailed {
                retryable: false,
                reason,
            },
        }
    }
}

/// A return that does not fit the batch it answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PublishStorageDeals return does not fit a batch of {batch}: {reason}")]
pub struct ReturnMismatch {
    /// Deals in the batch.
    pub batch: usize,
    /// What does not fit.
    pub reason: String,
}

/// Maps the return of the v18 PublishStorageDeals to each deal of `batch`
/// (the deals in the order the message carried them). `valid_deals` holds
/// the indices of the deals the actor took; `ids` has one id per valid
/// deal, in index order. Every other deal was refused.
pub fn outcomes(
    batch: &[DealUuid],
    ret: &PublishStorageDealsReturn,
) -> Result<Vec<(DealUuid, PublishOutcome)>, ReturnMismatch> {
    let mismatch = |reason: String| ReturnMismatch {
        batch: batch.len(),
        reason,
    };
    if let Some(last) = ret.valid_deals.last()
        && last >= batch.len() as u64
    {
        return Err(mismatch(format!("valid deal index {last} is out of range")));
    }
    let valid = ret.valid_deals.len();
    if valid != ret.ids.len() as u64 {
        return Err(mismatch(format!(
            "{valid} valid deals but {} ids",
            ret.ids.len()
        )));
    }
    let mut ids = ret.ids.iter();
    let mut out = Vec::with_capacity(batch.len());
    for (i, uuid) in batch.iter().enumerate() {
        let outcome = if ret.valid_deals.get(i as u64) {
            let id = ids
                .next()
                .ok_or_else(|| mismatch("fewer ids than valid deals".to_string()))?;
            PublishOutcome::Published(DealId(*id))
        } else {
            PublishOutcome::Refused(format!(
                "the market actor refused the deal (index {i} of a batch of {}): check the client's funds, the provider's collateral and the start epoch",
                batch.len()
            ))
        };
        out.push((*uuid, outcome));
    }
    Ok(out)
}

/// The event for every deal of a message that failed as a whole. Out of
/// gas is worth another message; anything else (in v18, "all deal
/// proposals invalid" is an illegal-argument abort) is not.
pub fn message_failed(exit: ExitCode, message_error: &str) -> DealEvent {
    DealEvent::PublishFailed {
        retryable: exit == ExitCode::SYS_OUT_OF_GAS,
        reason: format!("PublishStorageDeals exited with {exit}: {message_error}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use fil_actor_market_state::v18::{DealProposal, Label};
    use fvm_ipld_bitfield::BitField;
    use fvm_shared::address::Address;
    use fvm_shared::crypto::signature::Signature;
    use fvm_shared::econ::TokenAmount;
    use fvm_shared::piece::PaddedPieceSize;

    use super::*;

    fn deal(n: u8) -> PendingDeal {
        PendingDeal {
            uuid: DealUuid([n; 16]),
            proposal: ClientDealProposal {
                proposal: DealProposal {
                    piece_cid: "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
                        .parse()
                        .unwrap(),
                    piece_size: PaddedPieceSize(2048),
                    verified_deal: false,
                    client: Address::new_id(1001),
                    provider: Address::new_id(1000),
                    label: Label::String(format!("deal {n}")),
                    start_epoch: 10,
                    end_epoch: 20,
                    storage_price_per_epoch: TokenAmount::from_atto(1),
                    provider_collateral: TokenAmount::from_atto(0),
                    client_collateral: TokenAmount::from_atto(0),
                },
                client_signature: Signature::new_secp256k1(vec![n; 65]),
            },
        }
    }

    fn uuids(b: &[PendingDeal]) -> Vec<u8> {
        b.iter().map(|d| d.uuid.0[0]).collect()
    }

    #[test]
    fn a_batch_goes_when_full_or_when_its_first_deal_waited() {
        let mut b = PublishBatch::new(PublishConfig {
            max_deals: 3,
            wait_secs: 10,
        });
        let t0 = Instant::now();
        b.join(deal(5), t0);
        b.join(deal(2), t0 + Duration::from_secs(4));
        assert!(b.take_due(t0 + Duration::from_secs(9)).is_empty());
        // Joining again keeps the place and the wait.
        b.join(deal(5), t0 + Duration::from_secs(9));
        assert_eq!(uuids(&b.take_due(t0 + Duration::from_secs(10))), [5, 2]);
        // Full: sent at once, in joining order; the rest waits.
        for n in [9, 7, 8, 6] {
            b.join(deal(n), t0 + Duration::from_secs(20));
        }
        assert_eq!(uuids(&b.take_due(t0 + Duration::from_secs(20))), [9, 7, 8]);
        assert_eq!(b.waiting(), 1);
        assert!(b.leave(&DealUuid([6; 16])));
        assert!(!b.leave(&DealUuid([6; 16])));
        assert!(b.take_due(t0 + Duration::from_secs(1000)).is_empty());
    }

    #[test]
    fn zero_wait_and_zero_max_publish_one_at_once() {
        let mut b = PublishBatch::new(PublishConfig {
            max_deals: 0,
            wait_secs: 0,
        });
        let t = Instant::now();
        b.join(deal(1), t);
        b.join(deal(2), t);
        assert_eq!(uuids(&b.take_due(t)), [1]);
        assert_eq!(uuids(&b.take_due(t)), [2]);
    }

    #[test]
    fn params_carry_the_proposals_in_batch_order() {
        let batch = [deal(3), deal(1)];
        let params = publish_params(&batch);
        assert_eq!(params.deals.len(), 2);
        assert_eq!(params.deals[0], batch[0].proposal);
        assert_eq!(params.deals[1], batch[1].proposal);
        // It encodes as the actor expects (a tuple of one list).
        let bytes = fvm_ipld_encoding::to_vec(&params).unwrap();
        let back: PublishStorageDealsParams = fvm_ipld_encoding::from_slice(&bytes).unwrap();
        assert_eq!(back, params);
    }

    #[test]
    fn valid_deals_get_their_ids_in_order_and_the_rest_fail() {
        let batch: Vec<DealUuid> = (1..=4).map(|n| DealUuid([n; 16])).collect();
        let ret = PublishStorageDealsReturn {
            ids: vec![100, 101],
            valid_deals: BitField::try_from_bits([0u64, 2]).unwrap(),
        };
        let out = outcomes(&batch, &ret).unwrap();
        assert_eq!(out[0], (batch[0], PublishOutcome::Published(DealId(100))));
        assert!(matches!(out[1].1, PublishOutcome::Refused(_)));
        assert_eq!(out[2], (batch[2], PublishOutcome::Published(DealId(101))));
        assert!(matches!(out[3].1, PublishOutcome::Refused(_)));
        assert_eq!(
            out[0].1.clone().into_event(),
            DealEvent::PublishLanded {
                deal_id: DealId(100)
            }
        );
        assert!(matches!(
            out[1].1.clone().into_event(),
            DealEvent::PublishFailed {
                retryable: false,
                ..
            }
        ));
    }

    #[test]
    fn a_return_that_does_not_fit_the_batch_is_an_error() {
        let batch = [DealUuid([1; 16]), DealUuid([2; 16])];
        let too_far = PublishStorageDealsReturn {
            ids: vec![1],
            valid_deals: BitField::try_from_bits([2u64]).unwrap(),
        };
        assert!(outcomes(&batch, &too_far).is_err());
        let ids_short = PublishStorageDealsReturn {
            ids: vec![1],
            valid_deals: BitField::try_from_bits([0u64, 1]).unwrap(),
        };
        assert!(outcomes(&batch, &ids_short).is_err());
    }

    #[test]
    fn only_out_of_gas_is_retried() {
        assert!(matches!(
            message_failed(ExitCode::SYS_OUT_OF_GAS, "gas"),
            DealEvent::PublishFailed {
                retryable: true,
                ..
            }
        ));
        assert!(matches!(
            message_failed(ExitCode::USR_ILLEGAL_ARGUMENT, "all deal proposals invalid"),
            DealEvent::PublishFailed {
                retryable: false,
                ..
            }
        ));
    }
}
