//! Ferrite's durable state: RocksDB behind a small typed API.
//!
//! Every crate that persists something declares its tables as constants of
//! [`Table<K, V>`]: a name (a RocksDB column family), a key type that encodes
//! to order-preserving bytes ([`Key`]), and a serde value type. A [`Store`]
//! reads and writes them over a [`Db`], which is either [`RocksDb`] (on disk)
//! or [`MemDb`] (for unit tests). Writes go through a [`Batch`], which is
//! applied atomically: all of it or none of it.
//!
//! Data flow: `Table::put(key, value)` → [`Key::encode`] and the versioned
//! value encoding of [`codec`] (a format byte, then CBOR) → a raw batch → the
//! [`Db`], which applies it in one write. Reads run the other way and reject
//! values whose format byte they do not know. At open, the schema version
//! stored in the database is checked against [`SCHEMA_VERSION`], so a later
//! release can migrate, and an older release refuses a newer database.
//!
//! ```
//! use ferrite_store::{MemDb, Store, Table};
//!
//! const NAMES: Table<u64, String> = Table::new("names");
//! let store = Store::new(MemDb::new(&[NAMES.name()]))?;
//! let mut batch = store.batch();
//! batch.put(&NAMES, &1, &"one".to_string())?;
//! batch.put(&NAMES, &2, &"two".to_string())?;
//! store.commit(batch)?;
//! assert_eq!(store.get(&NAMES, &2)?, Some("two".to_string()));
//! assert_eq!(store.scan(&NAMES, &[])?.len(), 2);
//! # Ok::<(), ferrite_store::StoreError>(())
//! ```
#![warn(missing_docs)]

pub mod codec;
mod db;
mod error;
mod key;
mod mem;
mod rocks;
mod table;

pub use db::{Db, RawBatch, RawEntries, RawOp};
pub use error::StoreError;
pub use key::Key;
pub use mem::MemDb;
pub use rocks::{RocksDb, RocksOptions};
pub use table::{Batch, Store, Table};

/// The layout version of a Ferrite database. Bump it, and add a migration in
/// [`Store::new`], whenever a table's key or value encoding changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The table that holds the schema version; every database has it.
pub const META_TABLE: &str = "ferrite-meta";
