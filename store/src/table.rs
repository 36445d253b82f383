//! Typed tables over a [`Db`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::{Db, Key, META_TABLE, RawBatch, RawOp, SCHEMA_VERSION, StoreError};

/// A named table with typed keys and values. Declare one as a constant:
/// `const SECTORS: Table<SectorId, Sector> = Table::new("sectors");`
pub struct Table<K, V> {
    name: &'static str,
    _types: PhantomData<fn(K, V)>,
}

impl<K, V> Table<K, V> {
    /// A table called `name` (a RocksDB column family).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _types: PhantomData,
        }
    }

    /// The table's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<K, V> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({})", self.name)
    }
}

const SCHEMA: Table<String, u32> = Table::new(META_TABLE);
const SCHEMA_KEY: &str = "schema-version";

/// Typed access to a [`Db`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<dyn Db>,
}

impl Store {
    /// Wraps `db`, checking its schema version: a new database gets the current
    /// version; a newer or unknown one is refused.
    pub fn new(db: impl Db + 'static) -> Result<Self, StoreError> {
        Self::from_shared(Arc::new(db))
    }

    /// Like [`Store::new`], for a database the caller also keeps a handle to.
    pub fn from_shared(db: Arc<dyn Db>) -> Result<Self, StoreError> {
        let store = Self { db };
        match store.get(&SCHEMA, &SCHEMA_KEY.to_string())? {
            None => {
                let mut b = store.batch();
                b.put(&SCHEMA, &SCHEMA_KEY.to_string(), &SCHEMA_VERSION)?;
                store.commit(b)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::Schema {
                    found,
                    supported: SCHEMA_VERSION,
                    hint: "it was written by a newer Ferrite; upgrade this binary",
                });
            }
            Some(found) => {
                // Migrations from older schemas go here, one step per version.
                return Err(StoreError::Schema {
                    found,
                    supported: SCHEMA_VERSION,
                    hint: "no migration from that version exists",
                });
            }
        }
        Ok(store)
    }

    /// The value under `key`.
    pub fn get<K: Key, V: DeserializeOwned>(
        &self,
        table: &Table<K, V>,
        key: &K,
    ) -> Result<Option<V>, StoreError> {
        self.db
            .get(table.name, &key.encode())?
            .map(|bytes| codec::decode(table.name, &bytes))
            .transpose()
    }

    /// Every entry whose encoded key starts with `prefix` (all of them for an
    /// empty prefix), in key order.
    pub fn scan<K: Key, V: DeserializeOwned>(
        &self,
        table: &Table<K, V>,
        prefix: &[u8],
    ) -> Result<Vec<(K, V)>, StoreError> {
        self.db
            .scan_prefix(table.name, prefix)?
            .into_iter()
            .map(|(k, v)| {
                let key = K::decode(&k).map_err(|e| StoreError::Decode {
                    table: table.name.to_string(),
                    reason: e.to_string(),
                })?;
                Ok((key, codec::decode(table.name, &v)?))
            })
            .collect()
    }

    /// Writes one value; shorthand for a batch of one.
    pub fn put<K: Key, V: Serialize>(
        &self,
        table: &Table<K, V>,
        key: &K,
        value: &V,
    ) -> Result<(), StoreError> {
        let mut b = self.batch();
        b.put(table, key, value)?;
        self.commit(b)
    }

    /// An empty batch.
    pub fn batch(&self) -> Batch {
        Batch::default()
    }

    /// Applies `batch` atomically.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.db.write(batch.raw)
    }
}

/// Typed writes collected for one atomic commit.
#[derive(Debug, Default)]
pub struct Batch {
    raw: RawBatch,
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn put<K: Key, V: Serialize>(
        &mut self,
        table: &Table<K, V>,
        key: &K,
        value: &V,
    ) -> Result<(), StoreError> {
        self.raw.ops.push(RawOp::Put {
            table: table.name,
            key: key.encode(),
            value: codec::encode(table.name, value)?,
        });
        Ok(())
    }

    /// Removes `key`.
    pub fn delete<K: Key, V>(&mut self, table: &Table<K, V>, key: &K) {
        self.raw.ops.push(RawOp::Delete {
            table: table.name,
            key: key.encode(),
        });
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.raw.ops.is_empty()
    }
}
