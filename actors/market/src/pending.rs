//! The pending-proposals set: a HAMT (bit width 5) keyed by deal-proposal
//! CID bytes with `()` (CBOR null) values. A proposal is in it from
//! publication until it is first processed after activation, or expires;
//! it stops the same proposal being published twice.

use cid::Cid;
use ferrite_actor_rt::{ActorBlockstore, ActorResult, WithCode};
use ferrite_actor_types::market::HAMT_BITWIDTH;
use fvm_ipld_hamt::{BytesKey, Hamt};

/// The pending-proposals set.
pub struct PendingProposals(Hamt<ActorBlockstore, ()>);

fn key(c: &Cid) -> BytesKey {
    BytesKey(c.to_bytes())
}

impl PendingProposals {
    /// A new, empty set.
    pub fn empty() -> Self {
        Self(Hamt::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH))
    }

    /// The set at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, HAMT_BITWIDTH)
            .map(Self)
            .state_err("load pending proposals")
    }

    /// Writes the set and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush pending proposals")
    }

    /// Whether `c` is pending.
    pub fn has(&self, c: &Cid) -> ActorResult<bool> {
        self.0
            .contains_key(&key(c))
            .state_err("read pending proposals")
    }

    /// Adds `c`.
    pub fn put(&mut self, c: &Cid) -> ActorResult<()> {
        self.0
            .set(key(c), ())
            .state_err("write pending proposals")?;
        Ok(())
    }

    /// Removes `c`; whether it was there.
    pub fn delete(&mut self, c: &Cid) -> ActorResult<bool> {
        Ok(self
            .0
            .delete(&key(c))
            .state_err("delete pending proposal")?
            .is_some())
    }
}
