//! What the chain's differential tests share: which bundles a scenario runs
//! on, opening a devnet on one of them, and a cache of C2 proofs so that the
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
pub struct ProofCache<K>(Mutex<BTreeMap<K, Arc<OnceLock<Vec<u8>>>>>);

impl<K: Ord> ProofCache<K> {
    /// An empty cache, for a `static`.
    pub const fn new() -> Self {
        Self(Mutex::new(BTreeMap::new()))
    }

    /// The proof for `key`, made by `prove` if no caller has made it yet.
    pub fn get_or_prove(&self, key: K, prove: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
        let cell = self.0.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(prove).clone()
    }
}

/// C2 proofs by their input. Both bundles' runs of a scenario use the same
/// keys, epochs and deterministic randomness, so their C1 outputs are the
/// same bytes; the SNARK (most of a 2 KiB seal's time) is made once. A proof
/// for identical public inputs is as valid for one run as for the other.
pub fn c2_once(input: &ferrite_proofs::seal::C2Input) -> Vec<u8> {
    static PROOFS: ProofCache<Vec<u8>> = ProofCache::new();
    PROOFS.get_or_prove(serde_json::to_vec(input).unwrap(), || {
        ferrite_proofs::seal::c2(input.clone()).unwrap().0
    })
}
