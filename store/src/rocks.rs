//! The on-disk [`Db`]: one RocksDB database, one column family per table.

use std::path::{Path, PathBuf};

use rocksdb::{ColumnFamilyDescriptor, DB, DBCompressionType, Direction, IteratorMode, Options};

use crate::db::RawEntries;
use crate::{Db, META_TABLE, RawBatch, RawOp, StoreError};

/// How to open a [`RocksDb`].
#[derive(Debug, Clone)]
pub struct RocksOptions {
    /// Fsync the write-ahead log on every batch, so that a committed state
    /// transition survives power loss, not only a process crash. Default: true.
    pub sync_writes: bool,
}

impl Default for RocksOptions {
    fn default() -> Self {
        Self { sync_writes: true }
    }
}

/// A RocksDB database at a path.
#[derive(Debug)]
pub struct RocksDb {
    db: DB,
    path: PathBuf,
    sync_writes: bool,
}

impl RocksDb {
    /// Opens (or creates) the database at `path` with `tables`. Tables that
    /// already exist on disk but are not listed stay untouched.
    pub fn open(path: &Path, tables: &[&str], opts: RocksOptions) -> Result<Self, StoreError> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_compression_type(DBCompressionType::Lz4);
        let mut names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        names.push(META_TABLE.to_string());
        // Column families already on disk must be opened too, or RocksDB refuses.
        if let Ok(existing) = DB::list_cf(&db_opts, path) {
            names.extend(existing);
        }
        names.sort();
        names.dedup();
        let cfs = names.iter().map(|n| {
            let mut o = Options::default();
            o.set_compression_type(DBCompressionType::Lz4);
            ColumnFamilyDescriptor::new(n, o)
        });
        let db = DB::open_cf_descriptors(&db_opts, path, cfs)?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            sync_writes: opts.sync_writes,
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf(&self, table: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))
    }
}

impl Db for RocksDb {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(table)?, key)?)
    }

    fn write(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut wb = rocksdb::WriteBatch::default();
        for op in &batch.ops {
            match op {
                RawOp::Put { table, key, value } => wb.put_cf(self.cf(table)?, key, value),
                RawOp::Delete { table, key } => wb.delete_cf(self.cf(table)?, key),
            }
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync_writes);
        Ok(self.db.write_opt(wb, &wo)?)
    }

    fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<RawEntries, StoreError> {
        let iter = self.db.iterator_cf(
            self.cf(table)?,
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }
}
