//! Identifiers: actors, sectors, deals and epochs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The ID of an actor on chain (the `1234` of `f01234`). A miner is an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorId(pub u64);

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "f0{}", self.0)
    }
}

/// A sector's number within its miner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorNumber(pub u64);

impl fmt::Display for SectorNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A sector, named globally: its miner and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SectorId {
    /// The miner actor that owns the sector.
    pub miner: ActorId,
    /// The number the miner gave it.
    pub number: SectorNumber,
}

impl SectorId {
    /// The sector `number` of `miner`.
    pub fn new(miner: ActorId, number: SectorNumber) -> Self {
        Self { miner, number }
    }
}

impl fmt::Display for SectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lotus names sector files s-t0<miner>-<number>; this is the same pair.
        write!(f, "s-{}-{}", self.miner, self.number)
    }
}

/// A storage deal's ID, as the market actor assigned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DealId(pub u64);

impl fmt::Display for DealId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A chain height. Signed, as in Filecoin, where "no epoch" is sometimes -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChainEpoch(pub i64);

impl ChainEpoch {
    /// This epoch plus `n` epochs, saturating.
    pub fn plus(self, n: i64) -> Self {
        Self(self.0.saturating_add(n))
    }
}

impl fmt::Display for ChainEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_id_orders_by_miner_then_number() {
        let a = SectorId::new(ActorId(1000), SectorNumber(9));
        let b = SectorId::new(ActorId(1001), SectorNumber(1));
        assert!(a < b);
        assert_eq!(a.to_string(), "s-f01000-9");
    }

    #[test]
    fn ids_serialize_as_bare_numbers() {
        assert_eq!(serde_json::to_string(&DealId(7)).unwrap(), "7");
        assert_eq!(serde_json::to_string(&ChainEpoch(-1)).unwrap(), "-1");
        let id: SectorId = serde_json::from_str(r#"{"miner":1000,"number":3}"#).unwrap();
        assert_eq!(id, SectorId::new(ActorId(1000), SectorNumber(3)));
    }

    #[test]
    fn epoch_plus_saturates() {
        assert_eq!(ChainEpoch(i64::MAX).plus(1), ChainEpoch(i64::MAX));
        assert_eq!(ChainEpoch(10).plus(5), ChainEpoch(15));
    }
}
