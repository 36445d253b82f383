//! ferrite-cluster (not built yet): the hosts that do the work.
//!
//! It will own the worker registry and each worker's declared resources
//! (cores, memory, GPUs, storage paths, accepted task kinds), the task queue
//! and scheduler (priorities with proving first, resource matching, per-kind
//! caps, reassignment when a worker stops sending heartbeats), storage paths
//! with capacity and reservations, the index of which host and path holds each
//! sector file, and moving sector files between hosts over HTTP with resume.
