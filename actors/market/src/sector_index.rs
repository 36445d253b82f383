//! `provider_sectors`: which deals each provider's sectors hold, so that a
//! terminated sector's deals can be found. A HAMT (bit width 5) from
//! uvarint provider ID to the root of a HAMT (bit width 5) from uvarint
//! sector number to the list of deal IDs.

use std::collections::BTreeMap;

use cid::Cid;
use ferrite_actor_rt::keys::u64_key;
use ferrite_actor_rt::{ActorBlockstore, ActorResult, WithCode};
use ferrite_actor_types::market::HAMT_BITWIDTH;
use fvm_ipld_hamt::Hamt;
use fvm_shared::ActorID;
use fvm_shared::deal::DealID;
use fvm_shared::sector::SectorNumber;

type SectorDeals = Hamt<ActorBlockstore, Vec<DealID>>;

/// Deals to drop from the index: provider -> sector -> deals.
pub type DealsToRemove = BTreeMap<ActorID, BTreeMap<SectorNumber, Vec<DealID>>>;

/// The index.
pub struct ProviderSectors(Hamt<ActorBlockstore, Cid>);

impl ProviderSectors {
    /// A new, empty index.
    pub fn empty() -> Self {
        Self(Hamt::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH))
    }

    /// The index at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, HAMT_BITWIDTH)
            .map(Self)
            .state_err("load provider sectors")
    }

    /// Writes the index and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush provider sectors")
    }

    fn sectors_of(&self, provider: ActorID) -> ActorResult<SectorDeals> {
        match self
            .0
            .get(&u64_key(provider))
            .state_err("read provider sectors")?
        {
            Some(root) => Hamt::load_with_bit_width(root, ActorBlockstore, HAMT_BITWIDTH)
                .state_err("load sector deals"),
            None => Ok(Hamt::new_with_bit_width(ActorBlockstore, HAMT_BITWIDTH)),
        }
    }

    fn store_sectors_of(&mut self, provider: ActorID, mut m: SectorDeals) -> ActorResult<()> {
        if m.is_empty() {
            self.0
                .delete(&u64_key(provider))
                .state_err("delete provider sectors")?;
        } else {
            let root = m.flush().state_err("flush sector deals")?;
            self.0
                .set(u64_key(provider), root)
                .state_err("write provider sectors")?;
        }
        Ok(())
    }

    /// Adds deals to sectors of `provider` (merged with those already there,
    /// sorted, without duplicates). As in v18, a sector listed with no deals
    /// still gets an (empty) entry.
    pub fn add(
        &mut self,
        provider: ActorID,
        added: &[(SectorNumber, Vec<DealID>)],
    ) -> ActorResult<()> {
        let mut m = self.sectors_of(provider)?;
        for (sector, deals) in added {
            let mut all = deals.clone();
            if let Some(old) = m.get(&u64_key(*sector)).state_err("read sector deals")? {
                all.extend(old.iter().copied());
            }
            all.sort_unstable();
            all.dedup();
            m.set(u64_key(*sector), all)
                .state_err("write sector deals")?;
        }
        self.store_sectors_of(provider, m)
    }

    /// Removes `sectors` of `provider` and returns all their deals.
    pub fn pop(
        &mut self,
        provider: ActorID,
        sectors: impl Iterator<Item = SectorNumber>,
    ) -> ActorResult<Vec<DealID>> {
        let mut m = self.sectors_of(provider)?;
        let mut out = Vec::new();
        let mut changed = false;
        for s in sectors {
            if let Some((_, deals)) = m.delete(&u64_key(s)).state_err("delete sector deals")? {
                out.extend(deals);
                changed = true;
            }
        }
        if changed {
            self.store_sectors_of(provider, m)?;
        }
        Ok(out)
    }

    /// Removes the listed deals from their sectors (missing ones are ignored).
    pub fn remove(&mut self, which: &DealsToRemove) -> ActorResult<()> {
        for (provider, sectors) in which {
            let mut m = self.sectors_of(*provider)?;
            let mut changed = false;
            for (sector, gone) in sectors {
                let key = u64_key(*sector);
                let Some(old) = m.get(&key).state_err("read sector deals")? else {
                    continue;
                };
                let kept: Vec<DealID> = old.iter().copied().filter(|d| !gone.contains(d)).collect();
                changed = true;
                if kept.is_empty() {
                    m.delete(&key).state_err("delete sector deals")?;
                } else {
                    m.set(key, kept).state_err("write sector deals")?;
                }
            }
            if changed {
                self.store_sectors_of(*provider, m)?;
            }
        }
        Ok(())
    }
}
