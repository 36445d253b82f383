//! An in-memory [`Db`] for unit tests. Same semantics as RocksDb: declared
//! tables only, atomic batches, key-ordered scans.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::db::RawEntries;
use crate::{Db, META_TABLE, RawBatch, RawOp, StoreError};

type TableMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// A database in memory, lost when dropped.
#[derive(Debug)]
pub struct MemDb {
    tables: Mutex<HashMap<String, TableMap>>,
}

impl MemDb {
    /// A database with the given tables (the meta table is always added).
    pub fn new(tables: &[&str]) -> Self {
        let mut map: HashMap<String, TableMap> = tables
            .iter()
            .map(|t| (t.to_string(), TableMap::new()))
            .collect();
        map.entry(META_TABLE.to_string()).or_default();
        Self {
            tables: Mutex::new(map),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TableMap>> {
        // A panic while holding the lock cannot leave a half-applied batch
        // (batches are validated before any change), so a poisoned lock is safe to reuse.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Db for MemDb {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tables = self.lock();
        let t = tables
            .get(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
        Ok(t.get(key).cloned())
    }

    fn write(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut tables = self.lock();
        // Validate first, so that a bad batch changes nothing.
        for op in &batch.ops {
            let (RawOp::Put { table, .. } | RawOp::Delete { table, .. }) = op;
            if !tables.contains_key(*table) {
                return Err(StoreError::UnknownTable(table.to_string()));
            }
        }
        for op in batch.ops {
            match op {
                RawOp::Put { table, key, value } => {
                    tables
                        .entry(table.to_string())
                        .or_default()
                        .insert(key, value);
                }
                RawOp::Delete { table, key } => {
                    tables.entry(table.to_string()).or_default().remove(&key);
                }
            }
        }
        Ok(())
    }

    fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<RawEntries, StoreError> {
        let tables = self.lock();
        let t = tables
            .get(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
        Ok(t.range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
