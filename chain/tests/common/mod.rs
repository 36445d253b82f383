//! What the chain's differential tests share: which bundles a scenario runs
//! on, opening a devnet on one of them, a node serving the JSON-RPC on it
//! ([`node::Node`]), and a cache of C2 proofs so that the
//! second bundle's run of a scenario does not pay for the same SNARK again.
//!
//! The official builtin-actors v18 `devnet` bundle is a test reference only,
//! never part of the product. `scripts/test` points `FERRITE_REFERENCE_BUNDLE`
//! at it (`../shared/reference/builtin-actors-v18/builtin-actors-devnet.car`
//! beside the checkout). Without it the scenarios run on Ferrite's bundle
//! alone, and the test `the_official_v18_bundle_is_compared` fails, so the
//! summary shows that the comparison did not run.

#![allow(dead_code)] // each test crate uses a part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

pub mod net;
pub mod node;
pub mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings};
use ferrite_store::Db;

/// Which actors run the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actors {
    /// Ferrite's own bundle, embedded in the binary.
    Ferrite,
    /// The official builtin-actors v18 bundle.
    Official,
}

/// The environment variable that names the official bundle's CAR.
pub const REFERENCE_ENV: &str = "FERRITE_REFERENCE_BUNDLE";

/// The official v18 bundle, when the environment names one. A name that
/// cannot be read is a failure, not a skip.
pub fn reference_bundle() -> Option<Vec<u8>> {
    static CAR: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    CAR.get_or_init(|| {
        let path = std::env::var_os(REFERENCE_ENV)?;
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("read {REFERENCE_ENV}={path:?}: {e}")))
    })
    .clone()
}

/// The bundles to run a scenario on: Ferrite's, and the official one when
/// it is there.
pub fn bundles() -> Vec<Actors> {
    let mut v = vec![Actors::Ferrite];
    if reference_bundle().is_some() {
        v.push(Actors::Official);
    }
    v
}

/// Opens a devnet on `actors` with `settings`.
pub fn open_devnet(db: Arc<dyn Db>, settings: DevnetSettings, actors: Actors) -> Devnet {
    match actors {
        Actors::Ferrite => Devnet::open(db, settings, Bundle::embedded).unwrap(),
        Actors::Official => {
            let car = reference_bundle().expect("the official bundle");
            Devnet::open(db, settings, |bs| Bundle::from_car(bs, &car)).unwrap()
        }
    }
}

/// Produces `n` blocks on `devnet`, off the async runtime.
pub async fn produce_blocks(devnet: &Arc<Devnet>, n: usize) {
    let dn = devnet.clone();
    tokio::task::spawn_blocking(move || {
        for _ in 0..n {
            dn.produce_block().unwrap();
        }
    })
    .await
    .unwrap();
}

/// Fails unless the official bundle is there: the test that names the skip.
pub fn require_reference_bundle() {
    assert!(
        reference_bundle().is_some(),
        "{REFERENCE_ENV} is not set, so no scenario was compared with the official \
         builtin-actors v18 bundle: run scripts/test, or set it to \
         ../shared/reference/builtin-actors-v18/builtin-actors-devnet.car"
    );
}

/// Proofs by key, each made once. A caller whose key is being proved by
/// another thread waits for that proof rather than making it again: the
/// scenarios that prove the same sector run in parallel test threads, and two
/// SNARKs at once each take twice as long.
///
/// Proofs are also kept on disk between test runs, in the directory that
/// `FERRITE_TEST_PROOFS` names (`scripts/env.sh` sets
/// `$HOME/.cache/ferrite-test-proofs`; unset, empty or `off` keeps nothing),
/// under a hash of the cache's name, the key and the verifying keys in the
/// parameter directory. The scenarios' keys, epochs and randomness are
/// deterministic, so a later run asks for the same public inputs, and a
/// SNARK made once is as valid for it: this is "a sector sealed once and
/// copied" for the SNARKs, which are most of these tests' time. The proofs
/// are real and the actors verify every one, as they would a new one;
/// regenerated parameters change the hash, so a kept proof can never meet
/// keys it was not made for. Making proofs is tested every run elsewhere
/// (ferrite-proofs' tests, the sealing and node tests).
pub struct ProofCache<K> {
    name: &'static str,
    proofs: Mutex<BTreeMap<K, Arc<OnceLock<Vec<u8>>>>>,
}

impl<K: Ord + AsRef<[u8]>> ProofCache<K> {
    /// An empty cache, for a `static`; `name` tells its proofs apart on disk.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            proofs: Mutex::new(BTreeMap::new()),
        }
    }

    /// The proof for `key`: from this run, else from disk, else made by
    /// `prove` (and kept).
    pub fn get_or_prove(&self, key: K, prove: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
        let file = kept_proofs_dir().map(|dir| dir.join(kept_name(self.name, key.as_ref())));
        let cell = self.proofs.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(|| {
            if let Some(proof) = file.as_deref().and_then(read_kept) {
                eprintln!(
                    "{} proof kept from an earlier run: {}",
                    self.name,
                    file.as_deref().unwrap().display()
                );
                return proof;
            }
            let proof = prove();
            if let Some(file) = &file {
                keep(file, &proof);
            }
            proof
        })
        .clone()
    }
}

/// Where proofs are kept between runs, if anywhere.
fn kept_proofs_dir() -> Option<&'static std::path::Path> {
    static DIR: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("FERRITE_TEST_PROOFS")?;
        if dir.is_empty() || dir == "off" {
            return None;
        }
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("FERRITE_TEST_PROOFS={dir:?}: {e}"));
        forget_unused(&dir);
        Some(dir)
    })
    .as_deref()
}

/// A kept proof's file name: SHA3-256 of the cache's name, the key and every
/// verifying key in the parameter directory.
fn kept_name(cache: &str, key: &[u8]) -> String {
    use sha3::Digest;
    let mut h = sha3::Sha3_256::new();
    h.update(cache.as_bytes());
    h.update((key.len() as u64).to_le_bytes());
    h.update(key);
    h.update(verifying_keys());
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{cache}-{hex}.proof")
}

/// SHA3-256 over the names and bytes of the parameter directory's `.vk`
/// files, read once.
fn verifying_keys() -> [u8; 32] {
    use sha3::Digest;
    static KEYS: OnceLock<[u8; 32]> = OnceLock::new();
    *KEYS.get_or_init(|| {
        let dir = std::env::var_os("FIL_PROOFS_PARAMETER_CACHE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/var/tmp/filecoin-proof-parameters".into());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "vk"));
        files.sort();
        let mut h = sha3::Sha3_256::new();
        for f in files {
            h.update(f.file_name().unwrap().as_encoded_bytes());
            h.update(std::fs::read(&f).unwrap_or_else(|e| panic!("read {f:?}: {e}")));
        }
        h.finalize().into()
    })
}

fn read_kept(file: &std::path::Path) -> Option<Vec<u8>> {
    let proof = std::fs::read(file).ok()?;
    // Its use keeps it from `forget_unused`.
    if let Ok(f) = std::fs::File::options().append(true).open(file) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    Some(proof)
}

/// Writes a proof whole or not at all.
fn keep(file: &std::path::Path, proof: &[u8]) {
    let tmp = file.with_extension(format!("partial.{}", std::process::id()));
    std::fs::write(&tmp, proof).unwrap_or_else(|e| panic!("write {tmp:?}: {e}"));
    std::fs::rename(&tmp, file).unwrap_or_else(|e| panic!("rename {tmp:?}: {e}"));
}

/// Removes kept proofs no run has used for 30 days, and partial writes.
fn forget_unused(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let month = std::time::Duration::from_secs(30 * 24 * 3600);
    for e in entries.filter_map(Result::ok) {
        let partial = e.file_name().to_string_lossy().contains(".partial.");
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > month);
        if old
            || (partial
                && e.metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|a| a.as_secs() > 3600))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// C2 proofs by their input. Both bundles' runs of a scenario use the same
/// keys, epochs and deterministic randomness, so their C1 outputs are the
/// same bytes; the SNARK (most of a 2 KiB seal's time) is made once. A proof
/// for identical public inputs is as valid for one run as for the other.
pub fn c2_once(input: &ferrite_proofs::seal::C2Input) -> Vec<u8> {
    static PROOFS: ProofCache<Vec<u8>> = ProofCache::new("c2");
    PROOFS.get_or_prove(serde_json::to_vec(input).unwrap(), || {
        ferrite_proofs::seal::c2(input.clone()).unwrap().0
    })
}
