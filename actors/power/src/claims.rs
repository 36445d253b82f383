//! The claims table: a HAMT (bit width 5, v18's default) from a miner's ID
//! address bytes to its [`Claim`], and the changes to it that must keep the
//! state's totals and counters in step (the arithmetic itself is
//! [`State::add_to_claim`] in the types crate).

use cid::Cid;
use ferrite_actor_rt::keys::address_key;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::power::{CLAIMS_HAMT_BITWIDTH, Claim, State};
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::address::Address;
use fvm_shared::sector::StoragePower;

/// The claims HAMT, loaded.
pub struct Claims(Hamt<ActorBlockstore, Claim, BytesKey>);

impl Claims {
    /// An empty table.
    pub fn new() -> Self {
        Self(Hamt::new_with_bit_width(
            ActorBlockstore,
            CLAIMS_HAMT_BITWIDTH,
        ))
    }

    /// The table at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, CLAIMS_HAMT_BITWIDTH)
            .map(Self)
            .state_err("load claims")
    }

    /// The claim of `miner`, if it has one.
    pub fn get(&self, miner: &Address) -> ActorResult<Option<Claim>> {
        Ok(self
            .0
            .get(&address_key(miner))
            .state_err("read claim")?
            .cloned())
    }

    /// Whether `miner` has a claim.
    pub fn contains(&self, miner: &Address) -> ActorResult<bool> {
        self.0
            .contains_key(&address_key(miner))
            .state_err("read claim")
    }

    /// Writes the claim of `miner`.
    pub fn set(&mut self, miner: &Address, claim: Claim) -> ActorResult<()> {
        self.0
            .set(address_key(miner), claim)
            .state_err("write claim")?;
        Ok(())
    }

    /// Writes the table and returns its new root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush claims")
    }

    /// Adds signed deltas to the claim of `miner` (which must exist:
    /// `USR_NOT_FOUND` otherwise) and updates the totals in `st`.
    pub fn add_to_claim(
        &mut self,
        st: &mut State,
        miner: &Address,
        raw_delta: &StoragePower,
        qa_delta: &StoragePower,
    ) -> ActorResult<()> {
        let old = self
            .get(miner)?
            .ok_or_else(|| ActorError::not_found(format!("no claim for actor {miner}")))?;
        let new = st
            .add_to_claim(&old, raw_delta, qa_delta)
            .map_err(|e| ActorError::illegal_state(format!("update claim of {miner}: {e}")))?;
        self.set(miner, new)
    }

    /// Removes the claim of `miner`, first taking its power out of the
    /// totals; nothing happens if it has none. Returns whether it had one.
    pub fn delete_claim(&mut self, st: &mut State, miner: &Address) -> ActorResult<bool> {
        let Some(claim) = self.get(miner)? else {
            return Ok(false);
        };
        let raw = -claim.raw_byte_power.clone();
        let qa = -claim.quality_adj_power.clone();
        self.add_to_claim(st, miner, &raw, &qa)
            .map_err(|e| e.context("subtract power before deleting claim"))?;
        self.0
            .delete(&address_key(miner))
            .state_err("delete claim")?;
        Ok(true)
    }
}

impl Default for Claims {
    fn default() -> Self {
        Self::new()
    }
}
