//! The `[devnet]` section of ferrite.toml.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[devnet]`: the embedded chain that `ferrite devnet` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevnetConfig {
    /// Milliseconds between blocks. Default: 4000.
    pub block_time_ms: u64,
    /// Where the JSON-RPC API listens. Default: `127.0.0.1:2345`.
    pub listen: String,
    /// The network's name, set at genesis. Default: `ferrite-devnet`.
    pub network_name: String,
    /// The network version the actors run under (21 to 29). Default: 25.
    pub network_version: u32,
    /// The EIP-155 chain id. Default: 31415926.
    pub chain_id: u64,
    /// Whole FIL given to each genesis account. Default: 100000.
    pub genesis_balance_fil: u64,
    /// The storage miner (an ID address such as `f01000`) credited with the
    /// blocks this node produces and paid their rewards, from the first
    /// block at which it is a storage miner actor. Such a miner mines
    /// remotely once it has power (`ferrite run` submits its blocks with
    /// `SyncSubmitBlock`): the node does not seal or prove for it, even
    /// with its worker key in the wallet. Empty: the node's own miner (see
    /// `create_miner`), or none. Default: empty.
    pub block_miner: String,
    /// On the first start, create the node's own storage miner (owner: the
    /// wallet's secp256k1 key, worker: its BLS key), remember it in
    /// `<home>/miner`, and credit it with the blocks. Default: true.
    pub create_miner: bool,
    /// How long the block producer waits, at its tick, for the block of the
    /// block miner when it is elected and mines remotely (no prover on this
    /// node: `ferrite run` submitting over `SyncSubmitBlock`), before it
    /// produces the block without a winner (f00, no reward) and warns. The
    /// wait must cover the miner's WinningPoSt (a 2 KiB one takes about 4 s
    /// on two cores). Default: 10000.
    pub remote_block_wait_ms: u64,
    /// The node's miner's sector size: `2KiB` or `8MiB` (the sizes the
    /// devnet's actors accept). Default: `2KiB`.
    pub sector_size: String,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            block_time_ms: 4000,
            listen: "127.0.0.1:2345".to_string(),
            network_name: "ferrite-devnet".to_string(),
            network_version: 25,
            chain_id: 31415926,
            genesis_balance_fil: 100_000,
            block_miner: String::new(),
            create_miner: true,
            sector_size: "2KiB".to_string(),
            remote_block_wait_ms: 10_000,
        }
    }
}

impl DevnetConfig {
    /// The block time.
    pub fn block_time(&self) -> Duration {
        Duration::from_millis(self.block_time_ms.max(1))
    }

    /// How long the producer waits for a remote block miner's block.
    pub fn remote_block_wait(&self) -> Duration {
        Duration::from_millis(self.remote_block_wait_ms)
    }
}
