//! The chain's IPLD blockstore, on ferrite-store's database: one table,
//! CID bytes to block bytes. Blocks are content-addressed, so they are stored
//! raw, without the versioned value encoding of typed tables.

use std::sync::Arc;

use cid::Cid;
use ferrite_store::{Db, RawBatch, RawOp};
use fvm_ipld_blockstore::Blockstore;

/// The table of IPLD blocks.
pub const BLOCKS_TABLE: &str = "chain-blocks";

/// A blockstore over a [`Db`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DbBlockstore {
    db: Arc<dyn Db>,
}

impl DbBlockstore {
    /// A blockstore over `db`, which must have been opened with [`BLOCKS_TABLE`].
    pub fn new(db: Arc<dyn Db>) -> Self {
        Self { db }
    }
}

impl Blockstore for DbBlockstore {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.db.get(BLOCKS_TABLE, &k.to_bytes())?)
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.put_many_keyed([(*k, block)])
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.db.get(BLOCKS_TABLE, &k.to_bytes())?.is_some())
    }

    fn put_many_keyed<D, I>(&self, blocks: I) -> anyhow::Result<()>
    where
        Self: Sized,
        D: AsRef<[u8]>,
        I: IntoIterator<Item = (Cid, D)>,
    {
        let ops = blocks
            .into_iter()
            .map(|(k, d)| RawOp::Put {
                table: BLOCKS_TABLE,
                key: k.to_bytes(),
                value: d.as_ref().to_vec(),
            })
            .collect();
        Ok(self.db.write(RawBatch { ops })?)
    }
}
