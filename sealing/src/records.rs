//! The sector records in ferrite-store: one [`SectorRecord`] per sector
//! number, and the counter that hands out the next number.
//!
//! A pledge writes the new record and the bumped counter in one atomic batch,
//! so a crash never leaves a number handed out twice or a record without its
//! number reserved.

use ferrite_store::{Store, StoreError, Table};
use ferrite_types::SectorNumber;

use crate::SectorRecord;

/// Every sector of this node's miner, by number.
pub const SECTORS: Table<SectorNumber, SectorRecord> = Table::new("sealing-sectors");

/// Small values of the pipeline: the next sector number.
const META: Table<String, u64> = Table::new("sealing-meta");
const NEXT_NUMBER: &str = "next-sector-number";

/// The tables this module needs: open the database with them.
pub const TABLES: [&str; 2] = [SECTORS.name(), META.name()];

/// Typed access to the sector records. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Records {
    store: Store,
}

impl Records {
    /// The records in `store` (opened with [`TABLES`]).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The record of sector `number`.
    pub fn get(&self, number: SectorNumber) -> Result<Option<SectorRecord>, StoreError> {
        self.store.get(&SECTORS, &number)
    }

    /// Writes `record` (the only write of a transition, so it is atomic).
    pub fn put(&self, record: &SectorRecord) -> Result<(), StoreError> {
        self.store.put(&SECTORS, &record.id.number, record)
    }

    /// Every record, by number. A scan: call it off the async runtime.
    pub fn all(&self) -> Result<Vec<SectorRecord>, StoreError> {
        Ok(self
            .store
            .scan(&SECTORS, &[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// The number the next new sector gets. Numbers start at 1 and never
    /// repeat; [`Records::insert_new`] moves the counter past the one used.
    pub fn next_number(&self) -> Result<SectorNumber, StoreError> {
        Ok(SectorNumber(
            self.store
                .get(&META, &NEXT_NUMBER.to_string())?
                .unwrap_or(1),
        ))
    }

    /// Writes a new sector's record and moves the counter past its number,
    /// in one batch. Callers serialize `next_number` and `insert_new`.
    pub fn insert_new(&self, record: &SectorRecord) -> Result<(), StoreError> {
        let next = self
            .next_number()?
            .0
            .max(record.id.number.0.saturating_add(1));
        let mut batch = self.store.batch();
        batch.put(&META, &NEXT_NUMBER.to_string(), &next)?;
        batch.put(&SECTORS, &record.id.number, record)?;
        self.store.commit(batch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use ferrite_store::MemDb;
    use ferrite_types::{ActorId, SealProof, SectorId, SectorSize};

    use super::*;
    use crate::{Event, RetryPolicy};

    #[test]
    fn numbers_are_never_reused_and_records_round_trip() {
        let store = Store::new(MemDb::new(&TABLES)).unwrap();
        let records = Records::new(store.clone());
        let proof = SealProof::new(SectorSize::S2KiB);
        let policy = RetryPolicy::default();
        let new = |r: &Records, at| {
            let id = SectorId::new(ActorId(1000), r.next_number().unwrap());
            let rec = SectorRecord::new(id, proof, at);
            r.insert_new(&rec).unwrap();
            rec
        };
        let a = new(&records, 1);
        let b = new(&records, 2);
        assert_eq!(a.id.number, SectorNumber(1));
        assert_eq!(b.id.number, SectorNumber(2));
        assert_eq!(records.get(SectorNumber(1)).unwrap(), Some(a.clone()));
        assert_eq!(records.get(SectorNumber(3)).unwrap(), None);
        let a2 = a.apply(Event::StartSealing, &policy, 3).unwrap();
        records.put(&a2).unwrap();
        // Another handle on the same store continues the count.
        let again = Records::new(store);
        let c = new(&again, 4);
        assert_eq!(c.id.number, SectorNumber(3));
        let all = again.all().unwrap();
        let numbers: Vec<u64> = all.iter().map(|r| r.id.number.0).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert_eq!(all[0], a2);
        assert_eq!(all[0].state.name(), "AddPiece");
    }
}
