//! Benchmarks of Ferrite against the raw libraries it wraps.
//!
//! Each benchmark runs the same work through Ferrite and through the library
//! directly, in the same process and the same run, interleaved round by
//! round, and reports the ratio of the medians. The benchmarks live in
//! `benches/` (run with `cargo bench -p ferrite-bench --profile dev`, which
//! reuses the test build); this crate holds no code of its own.
