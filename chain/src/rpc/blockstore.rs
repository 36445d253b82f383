//! A read-only blockstore over a node's `Filecoin.ChainReadObj`, so that
//! the v18 state crates read a remote chain's actor state (HAMTs, AMTs) as
//! they read the devnet's. Every block is checked against its CID's hash,
//! and kept: blocks never change, and state reads revisit the same nodes.
//!
//! Its reads block on the network: call it from a blocking thread
//! (`spawn_blocking`), never from a runtime worker.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};
use serde_json::json;

use super::client::LotusClient;
use super::json::CidJson;

/// How many blocks the cache keeps before it starts over.
const CACHE_BLOCKS: usize = 65_536;

/// A remote node's blocks.
pub struct RemoteBlockstore {
    client: LotusClient,
    runtime: tokio::runtime::Handle,
    cache: Mutex<HashMap<Cid, Vec<u8>>>,
}

impl std::fmt::Debug for RemoteBlockstore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBlockstore")
            .field("url", &self.client.url())
            .finish_non_exhaustive()
    }
}

impl RemoteBlockstore {
    /// The blocks of `client`'s node, fetched on `runtime`.
    pub fn new(client: LotusClient, runtime: tokio::runtime::Handle) -> Self {
        Self {
            client,
            runtime,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl fvm_ipld_blockstore::Blockstore for RemoteBlockstore {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(b) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(k) {
            return Ok(Some(b.clone()));
        }
        // Called from blocking threads only (see the module doc): the
        // request runs on the runtime while this thread waits for it.
        #[allow(clippy::disallowed_methods)]
        let read = self
            .runtime
            .block_on(self.client.request("ChainReadObj", json!([CidJson(*k)])));
        let text: String = match read {
            Ok(t) => t,
            Err(crate::ChainError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(anyhow::anyhow!("read block {k}: {e}")),
        };
        let bytes = B64
            .decode(text)
            .with_context(|| format!("block {k}: not base64"))?;
        let code = Code::try_from(k.hash().code())
            .map_err(|_| anyhow::anyhow!("block {k}: unknown hash function"))?;
        anyhow::ensure!(
            code.digest(&bytes).digest() == k.hash().digest(),
            "block {k}: the node sent bytes of another hash"
        );
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_BLOCKS {
            cache.clear();
        }
        cache.insert(*k, bytes.clone());
        Ok(Some(bytes))
    }

    fn put_keyed(&self, k: &Cid, _block: &[u8]) -> anyhow::Result<()> {
        anyhow::bail!("the remote chain's blockstore is read-only (put {k})")
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.get(k)?.is_some())
    }
}
