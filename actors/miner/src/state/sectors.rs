//! The miner's committed sectors: an AMT (bit width 5) from sector number
//! to [`SectorOnChainInfo`].

use std::collections::BTreeSet;

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::SectorOnChainInfo;
use ferrite_actor_types::policy::constants::MAX_SECTOR_NUMBER;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_shared::sector::SectorNumber;

use super::Array;

/// Bit width of the sectors AMT.
pub const SECTORS_AMT_BITWIDTH: u32 = 5;

/// The sectors AMT.
pub struct Sectors<'db, BS> {
    /// The AMT.
    pub amt: Array<'db, SectorOnChainInfo, BS>,
}

impl<'db, BS: Blockstore> Sectors<'db, BS> {
    /// Loads the AMT at `root`.
    pub fn load(store: &'db BS, root: &Cid) -> ActorResult<Self> {
        Ok(Self {
            amt: Array::load(root, store).state_err("load sectors")?,
        })
    }

    /// The sectors in `sector_numbers`, in order; `USR_NOT_FOUND` if one is
    /// missing.
    pub fn load_sectors(&self, sector_numbers: &BitField) -> ActorResult<Vec<SectorOnChainInfo>> {
        sector_numbers.iter().map(|n| self.must_get(n)).collect()
    }

    /// Deletes sectors; `USR_NOT_FOUND` if one is missing.
    pub fn delete_sectors(&mut self, sector_numbers: &BitField) -> ActorResult<()> {
        for n in sector_numbers.iter() {
            if self.amt.delete(n).state_err("delete sector")?.is_none() {
                return Err(ActorError::not_found(format!("sector not found: {n}")));
            }
        }
        Ok(())
    }

    /// A sector, if present.
    pub fn get(&self, sector_number: SectorNumber) -> ActorResult<Option<SectorOnChainInfo>> {
        Ok(self
            .amt
            .get(sector_number)
            .state_err("read sector")?
            .cloned())
    }

    /// Writes sectors (new or updated).
    pub fn store(&mut self, infos: Vec<SectorOnChainInfo>) -> ActorResult<()> {
        for info in infos {
            let n = info.sector_number;
            if n > MAX_SECTOR_NUMBER {
                return Err(ActorError::illegal_argument(format!(
                    "sector number {n} out of range"
                )));
            }
            self.amt.set(n, info).state_err("write sector")?;
        }
        Ok(())
    }

    /// A sector that must exist (`USR_NOT_FOUND` otherwise).
    pub fn must_get(&self, sector_number: SectorNumber) -> ActorResult<SectorOnChainInfo> {
        self.get(sector_number)?
            .ok_or_else(|| ActorError::not_found(format!("sector {sector_number} not found")))
    }

    /// The sectors a Window PoSt covers, with every expected fault replaced
    /// by the first good sector (faults are not proven); empty if all are
    /// faulty.
    pub fn load_for_proof(
        &self,
        proven_sectors: &BitField,
        expected_faults: &BitField,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        let good = proven_sectors - expected_faults;
        match good.first() {
            None => Ok(Vec::new()),
            Some(stand_in) => self.load_with_fault_max(proven_sectors, expected_faults, stand_in),
        }
    }

    /// `sectors` with those in `faults` replaced by `fault_stand_in`.
    pub fn load_with_fault_max(
        &self,
        sectors: &BitField,
        faults: &BitField,
        fault_stand_in: SectorNumber,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        let stand_in = self.must_get(fault_stand_in)?;
        let faulty: BTreeSet<u64> = faults.iter().collect();
        sectors
            .iter()
            .map(|n| {
                if faulty.contains(&n) {
                    Ok(stand_in.clone())
                } else {
                    self.must_get(n)
                }
            })
            .collect()
    }
}

/// The infos in `sectors` whose numbers are in `field`; fails
/// (`USR_ILLEGAL_STATE`) if one is missing.
pub fn select_sectors(
    sectors: &[SectorOnChainInfo],
    field: &BitField,
) -> ActorResult<Vec<SectorOnChainInfo>> {
    let mut wanted: BTreeSet<u64> = field.iter().collect();
    let picked: Vec<SectorOnChainInfo> = sectors
        .iter()
        .filter(|s| wanted.remove(&s.sector_number))
        .cloned()
        .collect();
    if !wanted.is_empty() {
        return Err(ActorError::illegal_state(format!(
            "{} expected sectors not found",
            wanted.len()
        )));
    }
    Ok(picked)
}
