//! What the real-proof tests share.

use std::path::PathBuf;

use ferrite_proofs::ProofsConfig;

/// Initialises ferrite-proofs with the parameter and parent caches of the
/// environment (`FERRITE_PROOFS__PARAMETER_CACHE`, `..._PARENT_CACHE`), else
/// the defaults.
pub fn init() {
    let mut cfg = ProofsConfig::default();
    if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARAMETER_CACHE") {
        cfg.parameter_cache = PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARENT_CACHE") {
        cfg.parent_cache = PathBuf::from(p);
    }
    ferrite_proofs::init(&cfg).unwrap();
}
