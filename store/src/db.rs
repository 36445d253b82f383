//! The raw seam between typed tables and a storage engine.

use std::fmt::Debug;

use crate::StoreError;

/// One raw operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawOp {
    /// Set `key` to `value` in `table`.
    Put {
        /// Table name.
        table: &'static str,
        /// Encoded key.
        key: Vec<u8>,
        /// Encoded value.
        value: Vec<u8>,
    },
    /// Remove `key` from `table` (a no-op if absent).
    Delete {
        /// Table name.
        table: &'static str,
        /// Encoded key.
        key: Vec<u8>,
    },
}

/// Raw operations applied together, atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBatch {
    /// The operations, in order; a later one on the same key wins.
    pub ops: Vec<RawOp>,
}

/// Raw entries of a scan: encoded key and value, in key order.
pub type RawEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// A key-value engine with named tables. Two implementations: [`crate::RocksDb`]
/// and [`crate::MemDb`].
pub trait Db: Send + Sync + Debug {
    /// The value under `key` in `table`.
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies every operation of `batch`, or none of them.
    fn write(&self, batch: RawBatch) -> Result<(), StoreError>;
    /// Every entry of `table` whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<RawEntries, StoreError>;
}
