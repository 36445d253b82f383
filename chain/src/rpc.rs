//! The Lotus-compatible JSON-RPC API: the server the devnet serves on
//! `/rpc/v1` and `/rpc/v0`, and a client for any Lotus-compatible node.

pub mod blockstore;
pub mod client;
pub mod collateral;
pub mod eth;
pub mod json;
pub mod notify;
pub mod server;
pub mod state;
mod trace;
pub mod ws;
