//! ferrite-proto's tests: validation of every malformed-message path,
//! domain → wire → domain round trips, and a loopback gRPC server.
//! (One test binary: each one links tonic, and links are slow on 2 cores.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod loopback;
mod round_trip;
mod validation;
