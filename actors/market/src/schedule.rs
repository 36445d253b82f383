//! `deal_ops_by_epoch`: which deals cron looks at in which epoch. A HAMT
//! (bit width 5) from zigzag-varint epoch to the root of a HAMT set (bit
//! width 5) of uvarint deal IDs with `()` values.

use std::collections::BTreeMap;

use cid::Cid;
use ferrite_actor_rt::keys::{i64_key, parse_u64_key, u64_key};
use ferrite_actor_rt::{ActorBlockstore, ActorResult, WithCode};
use ferrite_actor_types::market::HAMT_BITWIDTH;
use fvm_ipld_hamt::Hamt;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;

type DealSet = Hamt<ActorBlockstore, ()>;

/// The schedule.
pub struct DealOps(Hamt<ActorBlockstore, Cid>);

impl DealOps {
    /// A new, empty schedule.
    pub fn empty() -> Self {
        Self(Hamt::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH))
    }

    /// The schedule at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, HAMT_BITWIDTH)
            .map(Self)
            .state_err("load deal ops")
    }

    /// Writes the schedule and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush deal ops")
    }

    fn set_at(&self, epoch: ChainEpoch) -> ActorResult<Option<DealSet>> {
        match self.0.get(&i64_key(epoch)).state_err("read deal ops")? {
            Some(root) => Ok(Some(
                Hamt::load_with_bit_width(root, ActorBlockstore, HAMT_BITWIDTH)
                    .state_err("load deal ops set")?,
            )),
            None => Ok(None),
        }
    }

    /// Adds `ids` to the deals due at `epoch`.
    pub fn put_many(&mut self, epoch: ChainEpoch, ids: &[DealID]) -> ActorResult<()> {
        let mut set = match self.set_at(epoch)? {
            Some(s) => s,
            None => Hamt::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH),
        };
        for id in ids {
            set.set(u64_key(*id), ()).state_err("write deal ops set")?;
        }
        let root = set.flush().state_err("flush deal ops set")?;
        self.0
            .set(i64_key(epoch), root)
            .state_err("write deal ops")?;
        Ok(())
    }

    /// Adds each `(epoch, ids)` of `by_epoch`.
    pub fn put_all(&mut self, by_epoch: &BTreeMap<ChainEpoch, Vec<DealID>>) -> ActorResult<()> {
        for (epoch, ids) in by_epoch {
            self.put_many(*epoch, ids)?;
        }
        Ok(())
    }

    /// The deals due at `epoch`.
    pub fn deals_at(&self, epoch: ChainEpoch) -> ActorResult<Vec<DealID>> {
        let mut out = Vec::new();
        if let Some(set) = self.set_at(epoch)? {
            set.for_each(|k, _| {
                out.push(parse_u64_key(&k.0).ok_or_else(|| anyhow::anyhow!("bad deal id key"))?);
                Ok(())
            })
            .state_err("iterate deal ops set")?;
        }
        Ok(out)
    }

    /// Forgets everything due at `epoch`.
    pub fn remove_all(&mut self, epoch: ChainEpoch) -> ActorResult<()> {
        self.0
            .delete(&i64_key(epoch))
            .state_err("delete deal ops")?;
        Ok(())
    }
}
