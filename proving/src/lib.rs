//! ferrite-proving (not built yet): proofs of spacetime on schedule.
//!
//! It will own the WindowPoSt deadline loop (challenge, fault check, proof,
//! SubmitWindowedPoSt before the deadline closes), fault and recovery
//! declarations, and WinningPoSt for block production, sending its PoSt tasks
//! to the cluster at top priority.
