//! Escrow and locked balances: a HAMT (bit width 6) from address bytes to
//! a non-negative token amount, where absent means zero.

use cid::Cid;
use ferrite_actor_rt::keys::address_key;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::market::BALANCE_TABLE_BITWIDTH;
use fvm_ipld_hamt::Hamt;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

/// One balance table (escrow or locked).
pub struct BalanceTable(Hamt<ActorBlockstore, TokenAmount>);

impl BalanceTable {
    /// A new, empty table.
    pub fn empty() -> Self {
        Self(Hamt::new_with_bit_width(
            ActorBlockstore,
            BALANCE_TABLE_BITWIDTH,
        ))
    }

    /// The table at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, BALANCE_TABLE_BITWIDTH)
            .map(Self)
            .state_err("load balance table")
    }

    /// Writes the table and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush balance table")
    }

    /// The balance of `a` (zero if absent).
    pub fn get(&self, a: &Address) -> ActorResult<TokenAmount> {
        Ok(self
            .0
            .get(&address_key(a))
            .state_err("read balance")?
            .cloned()
            .unwrap_or_default())
    }

    /// Adds `delta` (which may be negative) to the balance of `a`; a result
    /// below zero is an error. A balance that falls to zero removes the
    /// entry, but adding zero to an absent entry writes an explicit zero:
    /// builtin-actors v18 does exactly this, and the table's root (so the
    /// market's state root) must be the same.
    pub fn add(&mut self, a: &Address, delta: &TokenAmount) -> ActorResult<()> {
        let prev = self.get(a)?;
        let sum = &prev + delta;
        if sum.is_negative() {
            return Err(ActorError::illegal_argument(format!(
                "negative balance for {a}: {prev} + {delta}"
            )));
        }
        if sum.is_zero() && !prev.is_zero() {
            self.0.delete(&address_key(a)).state_err("delete balance")?;
        } else {
            self.0.set(address_key(a), sum).state_err("write balance")?;
        }
        Ok(())
    }

    /// Subtracts `amount` from `a`, failing if the balance is smaller.
    pub fn must_subtract(&mut self, a: &Address, amount: &TokenAmount) -> ActorResult<()> {
        let prev = self.get(a)?;
        if amount > &prev {
            return Err(ActorError::illegal_argument(format!(
                "balance of {a} is {prev}, cannot subtract {amount}"
            )));
        }
        self.add(a, &-amount.clone())
    }

    /// Subtracts up to `req` from `a` without going below `floor`; returns
    /// what was subtracted (never negative).
    pub fn subtract_with_minimum(
        &mut self,
        a: &Address,
        req: &TokenAmount,
        floor: &TokenAmount,
    ) -> ActorResult<TokenAmount> {
        let prev = self.get(a)?;
        let available = (prev - floor).max(TokenAmount::zero());
        let take = available.min(req.clone());
        if take.is_positive() {
            self.add(a, &-take.clone())?;
        }
        Ok(take)
    }
}
