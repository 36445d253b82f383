//! [`Books`]: the market state with its collections opened, and the money
//! movements on it (locking, unlocking, paying and slashing escrow). Each
//! state-changing method loads the books, works on them and saves them;
//! saving flushes every collection into the 13-field v18 [`State`].

use cid::Cid;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::market::{DealProposal, HAMT_BITWIDTH, State};
use fvm_ipld_hamt::Hamt;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

use crate::balance_table::BalanceTable;
use crate::deals::{DealStates, EPOCH_UNDEFINED, Proposals};
use crate::pending::PendingProposals;
use crate::schedule::DealOps;
use crate::sector_index::ProviderSectors;

/// Why funds are locked; each reason has its own running total in the state.
#[derive(Debug, Clone, Copy)]
pub enum Lock {
    /// A client's deal collateral.
    ClientCollateral,
    /// A client's not yet paid storage fee.
    ClientStorageFee,
    /// A provider's deal collateral.
    ProviderCollateral,
}

/// The market state, opened.
pub struct Books {
    /// Deal proposals.
    pub proposals: Proposals,
    /// Deal states.
    pub states: DealStates,
    /// Pending proposal CIDs.
    pub pending: PendingProposals,
    /// Escrow per address.
    pub escrow: BalanceTable,
    /// Locked escrow per address.
    pub locked: BalanceTable,
    /// The next deal ID.
    pub next_id: DealID,
    /// Deals due per epoch.
    pub deal_ops: DealOps,
    /// The last epoch cron processed.
    pub last_cron: ChainEpoch,
    /// Sum of locked client collateral.
    pub total_client_locked_collateral: TokenAmount,
    /// Sum of locked provider collateral.
    pub total_provider_locked_collateral: TokenAmount,
    /// Sum of locked unpaid fees.
    pub total_client_storage_fee: TokenAmount,
    /// Verified allocation IDs of pending deals: kept as is, always empty,
    /// since Ferrite's bundle has no verified deals.
    pub pending_deal_allocation_ids: Cid,
    /// Deals per provider sector.
    pub provider_sectors: ProviderSectors,
}

impl Books {
    /// The books of a new market (the constructor's state): empty
    /// collections, deal IDs from 0, `last_cron = -1`.
    pub fn empty() -> ActorResult<Self> {
        // Never written to: verified deals are refused, so no deal has an allocation.
        let pending_deal_allocation_ids =
            Hamt::<_, u64>::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH)
                .flush()
                .state_err("flush pending allocations")?;
        Ok(Self {
            proposals: Proposals::empty(),
            states: DealStates::empty(),
            pending: PendingProposals::empty(),
            escrow: BalanceTable::empty(),
            locked: BalanceTable::empty(),
            next_id: 0,
            deal_ops: DealOps::empty(),
            last_cron: EPOCH_UNDEFINED,
            total_client_locked_collateral: TokenAmount::zero(),
            total_provider_locked_collateral: TokenAmount::zero(),
            total_client_storage_fee: TokenAmount::zero(),
            pending_deal_allocation_ids,
            provider_sectors: ProviderSectors::empty(),
        })
    }

    /// Opens the books of `st`.
    pub fn open(st: &State) -> ActorResult<Self> {
        Ok(Self {
            proposals: Proposals::load(&st.proposals)?,
            states: DealStates::load(&st.states)?,
            pending: PendingProposals::load(&st.pending_proposals)?,
            escrow: BalanceTable::load(&st.escrow_table)?,
            locked: BalanceTable::load(&st.locked_table)?,
            next_id: st.next_id,
            deal_ops: DealOps::load(&st.deal_ops_by_epoch)?,
            last_cron: st.last_cron,
            total_client_locked_collateral: st.total_client_locked_collateral.clone(),
            total_provider_locked_collateral: st.total_provider_locked_collateral.clone(),
            total_client_storage_fee: st.total_client_storage_fee.clone(),
            pending_deal_allocation_ids: st.pending_deal_allocation_ids,
            provider_sectors: ProviderSectors::load(&st.provider_sectors)?,
        })
    }

    /// Opens the actor's current books.
    pub fn load() -> ActorResult<Self> {
        let st: State = ferrite_actor_rt::load_state();
        Self::open(&st)
    }

    /// Flushes every collection and returns the resulting state.
    pub fn to_state(&mut self) -> ActorResult<State> {
        Ok(State {
            proposals: self.proposals.flush()?,
            states: self.states.flush()?,
            pending_proposals: self.pending.flush()?,
            escrow_table: self.escrow.flush()?,
            locked_table: self.locked.flush()?,
            next_id: self.next_id,
            deal_ops_by_epoch: self.deal_ops.flush()?,
            last_cron: self.last_cron,
            total_client_locked_collateral: self.total_client_locked_collateral.clone(),
            total_provider_locked_collateral: self.total_provider_locked_collateral.clone(),
            total_client_storage_fee: self.total_client_storage_fee.clone(),
            pending_deal_allocation_ids: self.pending_deal_allocation_ids,
            provider_sectors: self.provider_sectors.flush()?,
        })
    }

    /// Writes the books as the actor's state.
    pub fn save(&mut self) -> ActorResult<()> {
        let st = self.to_state()?;
        ferrite_actor_rt::save_state(&st);
        Ok(())
    }

    /// Allocates the next deal ID.
    pub fn new_deal_id(&mut self) -> ActorResult<DealID> {
        let id = self.next_id;
        self.next_id = id
            .checked_add(1)
            .ok_or_else(|| ActorError::illegal_state("deal IDs exhausted"))?;
        Ok(id)
    }

    // ---- money ------------------------------------------------------------

    /// Whether `a`'s escrow covers `extra` more locked funds.
    pub fn balance_covered(&self, a: &Address, extra: &TokenAmount) -> ActorResult<bool> {
        let escrow = self.escrow.get(a)?;
        let locked = self.locked.get(a)?;
        Ok(locked + extra <= escrow)
    }

    fn lock(&mut self, a: &Address, amount: &TokenAmount) -> ActorResult<()> {
        if amount.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "cannot lock negative {amount}"
            )));
        }
        let escrow = self.escrow.get(a)?;
        let locked = self.locked.get(a)?;
        if &locked + amount > escrow {
            return Err(ActorError::insufficient_funds(format!(
                "not enough escrow to lock for {a}: escrow {escrow} < locked {locked} + {amount}"
            )));
        }
        self.locked.add(a, amount)
    }

    /// Locks a new deal's funds: the client's fee and collateral, the
    /// provider's collateral.
    pub fn lock_deal(&mut self, p: &DealProposal) -> ActorResult<()> {
        self.lock(&p.client, &p.client_balance_requirement())
            .map_err(|e| e.context("lock client funds"))?;
        self.lock(&p.provider, &p.provider_collateral)
            .map_err(|e| e.context("lock provider funds"))?;
        self.total_client_locked_collateral += &p.client_collateral;
        self.total_client_storage_fee += p.total_storage_fee();
        self.total_provider_locked_collateral += &p.provider_collateral;
        Ok(())
    }

    /// Unlocks `amount` of `a`'s escrow, locked for `why`.
    pub fn unlock(&mut self, a: &Address, amount: &TokenAmount, why: Lock) -> ActorResult<()> {
        if amount.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "cannot unlock negative {amount}"
            )));
        }
        self.locked
            .must_subtract(a, amount)
            .map_err(|e| e.context("unlock balance"))?;
        let total = match why {
            Lock::ClientCollateral => &mut self.total_client_locked_collateral,
            Lock::ClientStorageFee => &mut self.total_client_storage_fee,
            Lock::ProviderCollateral => &mut self.total_provider_locked_collateral,
        };
        *total -= amount;
        Ok(())
    }

    /// Pays `amount` of `from`'s locked storage fee into `to`'s escrow.
    pub fn pay(&mut self, from: &Address, to: &Address, amount: &TokenAmount) -> ActorResult<()> {
        if amount.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "cannot pay negative {amount}"
            )));
        }
        self.escrow.must_subtract(from, amount)?;
        self.unlock(from, amount, Lock::ClientStorageFee)?;
        self.escrow.add(to, amount)
    }

    /// Takes `amount` of `a`'s locked funds out of escrow (the caller burns it).
    pub fn slash(&mut self, a: &Address, amount: &TokenAmount, why: Lock) -> ActorResult<()> {
        if amount.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "cannot slash negative {amount}"
            )));
        }
        self.escrow.must_subtract(a, amount)?;
        self.unlock(a, amount, why)
    }
}
