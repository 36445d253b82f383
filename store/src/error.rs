/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB itself failed (I/O, corruption, a full disk, a lock held by another process).
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A table that was not declared when the database was opened.
    #[error("unknown table {0:?}: it was not declared when the database was opened")]
    UnknownTable(String),
    /// A value or key that could not be encoded.
    #[error("encode {table} entry: {reason}")]
    Encode {
        /// The table written to.
        table: String,
        /// The encoder's message.
        reason: String,
    },
    /// A stored key or value that could not be decoded.
    #[error("decode {table} entry: {reason}")]
    Decode {
        /// The table read from.
        table: String,
        /// What was wrong.
        reason: String,
    },
    /// A database written by a newer or unknown schema.
    #[error(
        "database schema version {found} is not supported by this release (it supports {supported}); {hint}"
    )]
    Schema {
        /// The version found in the database.
        found: u32,
        /// The version this release writes.
        supported: u32,
        /// What to do about it.
        hint: &'static str,
    },
}
