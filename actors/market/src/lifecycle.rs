//! What happens to a published deal over time, as v18 does it: a deal not
//! activated by its start epoch times out (the provider's collateral is
//! slashed); an active deal is paid for up to now each time it is settled,
//! and when it ends its collaterals are unlocked; a deal whose sector was
//! terminated pays up to the termination, refunds the client and slashes
//! the provider.

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{DealProposal, DealState};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

use crate::books::{Books, Lock};
use crate::deals::{EPOCH_UNDEFINED, payment_remaining};

/// A deal looked up for processing.
pub enum Loaded {
    /// Not activated and its start epoch is still ahead.
    TooEarly,
    /// Not activated by its start epoch: now removed; the provider
    /// collateral slashed (to burn) is inside.
    TimedOut(TokenAmount),
    /// Activated; its state.
    Active(DealState),
}

/// The outcome of settling a deal.
pub struct Settled {
    /// Provider collateral slashed (to burn).
    pub slashed: TokenAmount,
    /// What the client paid the provider now.
    pub payment: TokenAmount,
    /// Whether the deal ran its full term.
    pub completed: bool,
    /// Whether the deal is finished and must be removed.
    pub remove: bool,
}

impl Books {
    /// Unlocks a timed-out deal's client funds and slashes its provider
    /// collateral; returns the amount slashed.
    fn time_out(&mut self, p: &DealProposal) -> ActorResult<TokenAmount> {
        self.unlock(&p.client, &p.total_storage_fee(), Lock::ClientStorageFee)?;
        self.unlock(&p.client, &p.client_collateral, Lock::ClientCollateral)?;
        // v18 slashes the whole provider collateral, so nothing is left to unlock.
        let slashed = p.provider_collateral.clone();
        self.slash(&p.provider, &slashed, Lock::ProviderCollateral)?;
        Ok(slashed)
    }

    /// Loads the state of deal `id`; if it was never activated and its
    /// start has passed, times it out and removes it.
    pub fn active_or_time_out(
        &mut self,
        now: ChainEpoch,
        id: DealID,
        p: &DealProposal,
        dcid: &Cid,
    ) -> ActorResult<Loaded> {
        if let Some(s) = self.states.find(id)? {
            return Ok(Loaded::Active(s));
        }
        if now < p.start_epoch {
            return Ok(Loaded::TooEarly);
        }
        let slashed = self.time_out(p)?;
        if self.proposals.delete(id)?.is_none() {
            return Err(ActorError::illegal_state(format!(
                "deal {id} ({dcid}) has no proposal"
            )));
        }
        if !self.pending.delete(dcid)? {
            return Err(ActorError::illegal_state(format!(
                "deal {id} ({dcid}) is not pending"
            )));
        }
        Ok(Loaded::TimedOut(slashed))
    }

    /// Settles an active deal up to `now`: pays the elapsed fee, and
    /// finishes a deal that has ended or was terminated.
    pub fn settle(
        &mut self,
        s: &DealState,
        p: &DealProposal,
        dcid: &Cid,
        now: ChainEpoch,
    ) -> ActorResult<Settled> {
        let ever_updated = s.last_updated_epoch != EPOCH_UNDEFINED;
        let ever_slashed = s.slash_epoch != EPOCH_UNDEFINED;
        if !ever_updated {
            // It may already be gone (cron or an earlier settlement), which is fine.
            self.pending.delete(dcid)?;
        }
        if ever_updated && s.last_updated_epoch > now {
            return Err(ActorError::illegal_state(format!(
                "deal updated at future epoch {}",
                s.last_updated_epoch
            )));
        }
        if p.start_epoch > now {
            return Ok(Settled {
                slashed: TokenAmount::zero(),
                payment: TokenAmount::zero(),
                completed: false,
                remove: false,
            });
        }
        let pay_until = if ever_slashed {
            if now < s.slash_epoch {
                return Err(ActorError::illegal_state(format!(
                    "now {now} is before the deal's termination {}",
                    s.slash_epoch
                )));
            }
            if s.slash_epoch > p.end_epoch {
                return Err(ActorError::illegal_state(format!(
                    "deal terminated at {} after its end {}",
                    s.slash_epoch, p.end_epoch
                )));
            }
            s.slash_epoch
        } else {
            p.end_epoch.min(now)
        };
        let pay_from = if ever_updated && s.last_updated_epoch > p.start_epoch {
            s.last_updated_epoch
        } else {
            p.start_epoch
        };
        let elapsed = pay_until.saturating_sub(pay_from);
        let payment = &p.storage_price_per_epoch * elapsed;
        if payment.is_positive() {
            self.pay(&p.client, &p.provider, &payment)?;
        }

        if ever_slashed {
            let remaining = payment_remaining(p, s.slash_epoch)?;
            self.unlock(&p.client, &remaining, Lock::ClientStorageFee)?;
            self.unlock(&p.client, &p.client_collateral, Lock::ClientCollateral)?;
            let slashed = p.provider_collateral.clone();
            self.slash(&p.provider, &slashed, Lock::ProviderCollateral)?;
            return Ok(Settled {
                slashed,
                payment: remaining + payment,
                completed: false,
                remove: true,
            });
        }

        if now >= p.end_epoch {
            self.finish(p, s)?;
            return Ok(Settled {
                slashed: TokenAmount::zero(),
                payment,
                completed: true,
                remove: true,
            });
        }
        Ok(Settled {
            slashed: TokenAmount::zero(),
            payment,
            completed: false,
            remove: false,
        })
    }

    /// Terminates an active deal at `s.slash_epoch`: pays the fee up to
    /// then, refunds the rest and the client collateral, and slashes the
    /// provider collateral, which it returns.
    pub fn terminate(&mut self, p: &DealProposal, s: &DealState) -> ActorResult<TokenAmount> {
        let from = p.start_epoch.max(s.last_updated_epoch);
        let until = p.end_epoch.min(s.slash_epoch);
        let elapsed = until.saturating_sub(from).max(0);
        let payment = &p.storage_price_per_epoch * elapsed;
        if payment.is_positive() {
            self.pay(&p.client, &p.provider, &payment)?;
        }
        let remaining = payment_remaining(p, s.slash_epoch)?;
        self.unlock(&p.client, &remaining, Lock::ClientStorageFee)?;
        self.unlock(&p.client, &p.client_collateral, Lock::ClientCollateral)?;
        let slashed = p.provider_collateral.clone();
        self.slash(&p.provider, &slashed, Lock::ProviderCollateral)?;
        Ok(slashed)
    }

    /// A deal that ran its term: unlocks both collaterals.
    fn finish(&mut self, p: &DealProposal, s: &DealState) -> ActorResult<()> {
        if s.sector_start_epoch == EPOCH_UNDEFINED {
            return Err(ActorError::illegal_state(
                "finished deal was never activated",
            ));
        }
        self.unlock(
            &p.provider,
            &p.provider_collateral,
            Lock::ProviderCollateral,
        )?;
        self.unlock(&p.client, &p.client_collateral, Lock::ClientCollateral)
    }

    /// Deletes the proposal and state of a finished deal.
    pub fn remove_deal(&mut self, id: DealID) -> ActorResult<()> {
        if self.states.delete(id)?.is_none() {
            return Err(ActorError::illegal_state(format!(
                "deal {id} has no state to delete"
            )));
        }
        if self.proposals.delete(id)?.is_none() {
            return Err(ActorError::illegal_state(format!(
                "deal {id} has no proposal to delete"
            )));
        }
        Ok(())
    }
}
