//! The one place that sets `FIL_PROOFS_*` (STYLE R7).
//!
//! filecoin-proofs reads its settings from the environment once, lazily, on
//! the first call that needs them. So [`init`] must run before any proof call
//! and before the process starts other threads (it mutates the environment).

use std::sync::OnceLock;

use storage_proofs_core::settings::SETTINGS;

use crate::{ProofsConfig, ProofsError};

static APPLIED: OnceLock<ProofsConfig> = OnceLock::new();

/// Applies `cfg` to the proof library. Call it once at startup, before any
/// other thread exists. A second call with the same config is a no-op; with a
/// different config it is an error, because the library has already read its
/// settings.
pub fn init(cfg: &ProofsConfig) -> Result<(), ProofsError> {
    if let Some(applied) = APPLIED.get() {
        return if applied == cfg {
            Ok(())
        } else {
            Err(ProofsError::Settings(
                "init was already called with a different [proofs] config".to_string(),
            ))
        };
    }
    if cfg.limits.c2_proving == 0 {
        return Err(ProofsError::Settings(
            "[proofs.limits] c2_proving must be at least 1".to_string(),
        ));
    }
    let mut vars: Vec<(&str, String)> = vec![
        (
            "FIL_PROOFS_PARAMETER_CACHE",
            path_str(&cfg.parameter_cache)?,
        ),
        ("FIL_PROOFS_PARENT_CACHE", path_str(&cfg.parent_cache)?),
        (
            "FIL_PROOFS_VERIFY_PRODUCTION_PARAMS",
            if cfg.verify_production_params {
                "1"
            } else {
                "0"
            }
            .to_string(),
        ),
    ];
    if cfg.threads > 0 {
        vars.push(("RAYON_NUM_THREADS", cfg.threads.to_string()));
    }
    vars.extend(crate::gpu::environment(&cfg.gpu)?);
    for (k, v) in vars {
        set_env(k, &v);
    }
    // With the GPU variables set (CUDA_VISIBLE_DEVICES first), the cards:
    // none found under `auto` keeps bellperson off the GPU path too.
    let gpus = crate::gpu::select(&cfg.gpu)?;
    if gpus.is_empty() {
        set_env("BELLMAN_NO_GPU", "1");
    }
    crate::gpu::set_in_use(gpus);
    // The library reads its settings lazily; make sure it sees ours.
    let seen = &SETTINGS.parameter_cache;
    let want = path_str(&cfg.parameter_cache)?;
    if seen.trim_end_matches('/') != want.trim_end_matches('/') {
        return Err(ProofsError::Settings(format!(
            "the proof library had already read its settings (parameter cache {seen}, wanted {want}); call init first"
        )));
    }
    let _ = APPLIED.set(cfg.clone());
    if !cfg.resident.preload.is_empty() {
        let sizes = cfg.resident.preload.clone();
        // Loading a 32 GiB sector's parameters takes minutes: the process
        // starts meanwhile, and a C2 that comes first waits for the load.
        std::thread::Builder::new()
            .name("params-preload".to_string())
            .spawn(move || {
                if let Err(e) = crate::prover::preload(&sizes) {
                    tracing::warn!("preload Groth16 parameters: {e:#}");
                }
            })
            .map_err(|e| ProofsError::Settings(format!("start the parameter preload: {e}")))?;
    }
    Ok(())
}

/// The config [`init`] applied, if it ran.
pub(crate) fn applied() -> Option<&'static ProofsConfig> {
    APPLIED.get()
}

fn set_env(k: &str, v: &str) {
    // SAFETY: `init` runs at startup, before the process spawns threads
    // (the CLI calls it before building the tokio runtime), so no other
    // thread reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(k, v);
    }
}

fn path_str(p: &std::path::Path) -> Result<String, ProofsError> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| ProofsError::Settings(format!("path {} is not UTF-8", p.display())))
}
