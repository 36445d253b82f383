//! ferrite-chain: Ferrite's view of the Filecoin chain, and the embedded devnet.
//!
//! The devnet is a single-node chain on the real FVM (`fvm` 4.8, with the
//! proof syscalls linked), running the actor bundle of `actors/` (compiled to
//! wasm32 by this crate's build script and embedded) or an official bundle
//! given as a CAR:
//!
//! - [`bundle`]: the actor code and manifest; [`genesis`]: the genesis state.
//! - [`vm`]: one engine for the process, one machine per epoch; [`externs`]:
//!   randomness and tipset CIDs for the FVM.
//! - [`devnet`]: blocks, tipsets, the head and its execution, state queries,
//!   persisted in ferrite-store (blocks in [`blockstore`]).
//! - [`mpool`]: the message pool's checks (signature, nonce, funds, gas, RBF).
//! - [`node_miner`]: the devnet node's own storage miner, created at its
//!   first start and credited with its blocks; [`winning`]: the devnet's
//!   election rule, and the WinningPoSt a block carries and is checked for;
//!   a remote block miner (`ferrite run`, as lotus-miner) mines through
//!   `MinerGetBaseInfo`, `MinerCreateBlock` and `SyncSubmitBlock`
//!   ([`devnet::BlockMsg`]), and [`producer`] waits for its blocks.
//!   [`election`]: Filecoin's own election (the Poisson win count), for
//!   mining on a Filecoin network through a Lotus or Forest node.
//! - [`eth`]: Ethereum addresses and signed transactions (EIP-1559, legacy
//!   EIP-155), which become messages from f410 addresses with Delegated
//!   signatures; the pool and block checks verify those by rebuilding the
//!   transaction. [`rpc::eth`] serves the Ethereum JSON-RPC (`eth_*`) on
//!   `/rpc/v1` beside Lotus's methods ([`rpc::server`]).
//! - [`message`], [`block`], [`wallet`], [`randomness`]: the chain's data
//!   types, keys and signatures, and Filecoin's randomness draw (with the
//!   devnet's deterministic beacon, documented as such). The wallet's
//!   keystore is plain (Lotus's files, for devnets) or encrypted with a
//!   passphrase ([`wallet::keystore`]).
//!
//! Data flow: a signed message enters through [`devnet::Devnet::push`] (from
//! the JSON-RPC API, `MpoolPush` or `eth_sendRawTransaction`, or
//! in-process), waits in the pool, is selected into the
//! next block by [`devnet::Devnet::produce_block`], executed by the VM, and
//! its receipt becomes visible with the following block.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use ferrite_chain::{bundle::Bundle, devnet::{Devnet, DevnetSettings, TABLES}};
//! # let settings: DevnetSettings = todo!();
//! let db = ferrite_store::RocksDb::open("chain".as_ref(), &TABLES, Default::default())?;
//! let devnet = Devnet::open(Arc::new(db), settings, Bundle::embedded)?;
//! let head = devnet.produce_block()?;
//! println!("epoch {}", head.height());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod block;
pub mod blockstore;
pub mod bundle;
pub mod config;
pub mod devnet;
pub mod election;
mod error;
pub mod eth;
pub mod externs;
pub mod genesis;
pub mod message;
pub mod metrics;
pub mod miner_view;
pub mod mpool;
pub mod node_miner;
pub mod producer;
pub mod randomness;
pub mod rpc;
mod state;
pub mod vm;
pub mod wallet;
pub mod winning;

pub use error::ChainError;
