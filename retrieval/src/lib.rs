//! ferrite-retrieval (not built yet): serving stored data.
//!
//! It will own `/piece/{cid}` with HTTP Range, the IPFS trustless gateway for
//! blocks and CARs, and unsealing on demand through an unseal task for the
//! cluster when no unsealed copy exists.

pub mod dag;
