//! ferrite-sealing (not built yet): the sector pipeline.
//!
//! It will own the sector state machine (pure: `apply(event)` and
//! `next_task()`, with every state carrying its own data) and its driver,
//! which persists each transition in ferrite-store before acting on it and
//! turns each state's next step into a task for the cluster: AddPiece, PC1,
//! PC2, PreCommit, WaitSeed, C1, C2, ProveCommit, Finalize.
