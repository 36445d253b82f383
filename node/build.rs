//! Build facts for `ferrite_build_info` (node/src/metrics.rs): the git commit
//! the binary was built from and the cargo features it was built with.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FERRITE_BUILD_COMMIT={commit}");
    for path in head_files() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    // Cargo passes CARGO_FEATURE_<NAME> for each enabled feature of this crate.
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .collect();
    features.sort();
    let features = if features.is_empty() {
        "none".to_string()
    } else {
        features.join(",")
    };
    println!("cargo:rustc-env=FERRITE_BUILD_FEATURES={features}");
}

/// `git ARGS` in this crate's directory, its first line when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env_path("CARGO_MANIFEST_DIR")?)
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .next()?
        .trim()
        .to_string();
    (out.status.success() && !line.is_empty()).then_some(line)
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key).map(PathBuf::from)
}

/// The files whose change moves HEAD: HEAD itself (a checkout), the branch it
/// points at (a commit) and packed-refs (a gc). Only files that exist: cargo
/// reruns a script on every build while one it watches is missing. A
/// worktree's HEAD is in its own git dir, its branches in the common one.
fn head_files() -> Vec<PathBuf> {
    let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let Some(root) = env_path("CARGO_MANIFEST_DIR") else {
        return Vec::new();
    };
    let dir = root.join(dir);
    let common = root.join(common);
    let mut files = vec![dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(common.join(branch));
    }
    files.into_iter().filter(|p| Path::exists(p)).collect()
}
