//! Builds the devnet actor bundle (actors/, its own cargo workspace) for
#![allow(clippy::expect_used)] // a build script reports failure by panicking
//! wasm32 and leaves each actor's module in OUT_DIR for `include_bytes!`.

use std::path::PathBuf;
use std::process::Command;

/// The bundle's actor crates (actors/<name>), in builtin-actors' manifest order.
const ACTORS: [&str; 16] = [
    "system",
    "init",
    "cron",
    "account",
    "power",
    "miner",
    "market",
    "paych",
    "multisig",
    "reward",
    "verifreg",
    "datacap",
    "placeholder",
    "evm",
    "eam",
    "ethaccount",
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let actors = manifest_dir.join("..").join("actors");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed={}", actors.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // OUT_DIR persists between builds of this crate, so the nested build is incremental.
    let target = out.join("actors-target");
    let status = Command::new(cargo)
        .current_dir(&actors)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CARGO_TARGET_DIR", &target)
        // The outer build's settings are not the actors' (clippy, host rustflags).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .status()
        .expect("run cargo for the actor bundle");
    if !status.success() {
        panic!(
            "building the actor bundle failed; it needs the wasm32 target: \
             `rustup target add wasm32-unknown-unknown`"
        );
    }
    for name in ACTORS {
        let file = format!("ferrite_actor_{name}.wasm");
        let built = target
            .join("wasm32-unknown-unknown")
            .join("release")
            .join(&file);
        std::fs::copy(&built, out.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    }
}
