//! ferrite-retrieval (not built yet): serving stored data.
//!
//! It will own `/piece/{cid}` with HTTP Range, the IPFS trustless gateway for
//! blocks and CARs, and unsealing on demand through an unseal task for the
//! cluster when no unsealed copy exists.
//!
//! [`ipni`] writes the signed IPNI advertisement chain that tells indexers
//! which multihashes this provider serves, and the HTTP payloads and
//! announce messages that hand it to them.
#![warn(missing_docs)]

pub mod ipni;
