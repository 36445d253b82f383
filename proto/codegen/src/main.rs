//! Writes the Rust code for the `.proto` files under `proto/proto/` into
//! `proto/src/generated/`, which is committed. Run by `scripts/proto-check`.
//! `protoc` must be on the PATH (or named by `PROTOC`).

use std::path::{Path, PathBuf};

/// The `.proto` files, relative to `proto/proto/`.
const PROTOS: &[&str] = &["ferrite/worker/v1/worker.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // proto/codegen -> proto
    let crate_dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("codegen has no parent directory")?
        .to_path_buf();
    let include = crate_dir.join("proto");
    let out = crate_dir.join("src").join("generated");
    std::fs::create_dir_all(&out)?;
    let protos: Vec<PathBuf> = PROTOS.iter().map(|p| include.join(p)).collect();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The client's `connect(url)` helper: the worker dials the node with it.
        .build_transport(true)
        .emit_rerun_if_changed(false)
        .out_dir(&out)
        .compile_protos(&protos, &[include])?;
    for p in PROTOS {
        println!("generated {} from {p}", out.display());
    }
    Ok(())
}
