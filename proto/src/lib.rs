//! ferrite-proto (not built yet): the wire API between the node and workers.
//!
//! It will own the `.proto` files of the worker protocol (Register,
//! Heartbeat, the task stream, progress, results), the tonic code generated
//! from them, and `TryFrom` conversions that validate every message into
//! ferrite-types domain values at the boundary.
