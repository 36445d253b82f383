//! ferrite-chain (not built yet): Ferrite's view of the Filecoin chain.
//!
//! It will own the `Chain` trait that sealing, proving and the market use to
//! read state and send messages, with two implementations: the embedded FVM
//! devnet (the real `fvm` crate running the actor bundle of `actors/`, a
//! blockstore on ferrite-store's RocksDB, genesis, block production, a message
//! pool with signature and nonce checks, a per-epoch cron tick, a documented
//! deterministic randomness beacon, and a Lotus-compatible JSON-RPC API), and
//! a client for a real Lotus or Forest node's JSON-RPC endpoint.
