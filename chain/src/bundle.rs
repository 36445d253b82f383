//! The actor bundle: the WASM code of the builtin actors and the manifest
//! that names them.
//!
//! The embedded bundle is Ferrite's own actors (actors/, compiled to wasm32
//! by this crate's build script). `--actors-bundle FILE.car` loads another
//! bundle instead, such as the official builtin-actors release, as a CAR
//! whose root is the manifest `[1, data]`.

use anyhow::Context;
use cid::Cid;
use fvm::machine::Manifest;
use fvm_ipld_blockstore::{Block, Blockstore};
use fvm_ipld_encoding::{CborStore, IPLD_RAW};
use multihash_codetable::Code;

/// The embedded actors, with builtin-actors' manifest names and order (the
/// order numbers the actor types, which actors check callers by).
const EMBEDDED: [(&str, &[u8]); 16] = [
    (
        "system",
        include_bytes!(concat!(env!("OUT_DIR"), "/system.wasm")),
    ),
    (
        "init",
        include_bytes!(concat!(env!("OUT_DIR"), "/init.wasm")),
    ),
    (
        "cron",
        include_bytes!(concat!(env!("OUT_DIR"), "/cron.wasm")),
    ),
    (
        "account",
        include_bytes!(concat!(env!("OUT_DIR"), "/account.wasm")),
    ),
    (
        "storagepower",
        include_bytes!(concat!(env!("OUT_DIR"), "/power.wasm")),
    ),
    (
        "storageminer",
        include_bytes!(concat!(env!("OUT_DIR"), "/miner.wasm")),
    ),
    (
        "storagemarket",
        include_bytes!(concat!(env!("OUT_DIR"), "/market.wasm")),
    ),
    (
        "paymentchannel",
        include_bytes!(concat!(env!("OUT_DIR"), "/paych.wasm")),
    ),
    (
        "multisig",
        include_bytes!(concat!(env!("OUT_DIR"), "/multisig.wasm")),
    ),
    (
        "reward",
        include_bytes!(concat!(env!("OUT_DIR"), "/reward.wasm")),
    ),
    (
        "verifiedregistry",
        include_bytes!(concat!(env!("OUT_DIR"), "/verifreg.wasm")),
    ),
    (
        "datacap",
        include_bytes!(concat!(env!("OUT_DIR"), "/datacap.wasm")),
    ),
    (
        "placeholder",
        include_bytes!(concat!(env!("OUT_DIR"), "/placeholder.wasm")),
    ),
    ("evm", include_bytes!(concat!(env!("OUT_DIR"), "/evm.wasm"))),
    ("eam", include_bytes!(concat!(env!("OUT_DIR"), "/eam.wasm"))),
    (
        "ethaccount",
        include_bytes!(concat!(env!("OUT_DIR"), "/ethaccount.wasm")),
    ),
];

/// A loaded bundle: its manifest and every actor's code CID by name.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The manifest's data CID (what the system actor's state points to).
    pub manifest_data: Cid,
    /// `(name, code CID)` in manifest order.
    pub actors: Vec<(String, Cid)>,
}

impl Bundle {
    /// Writes the embedded actors and their manifest into `bs`.
    pub fn embedded(bs: &impl Blockstore) -> anyhow::Result<Self> {
        let mut actors = Vec::new();
        for (name, wasm) in EMBEDDED {
            let cid = bs
                .put(Code::Blake2b256, &Block::new(IPLD_RAW, wasm))
                .with_context(|| format!("store {name} actor code"))?;
            actors.push((name.to_string(), cid));
        }
        let manifest_data = bs
            .put_cbor(&actors, Code::Blake2b256)
            .context("store manifest")?;
        // The manifest root, as a bundle CAR carries it.
        bs.put_cbor(&(1u32, manifest_data), Code::Blake2b256)
            .context("store manifest root")?;
        let bundle = Self {
            manifest_data,
            actors,
        };
        bundle.check(bs)?;
        Ok(bundle)
    }

    /// Loads a bundle CAR (`[1, data]` root) into `bs`.
    pub fn from_car(bs: &impl Blockstore, car: &[u8]) -> anyhow::Result<Self> {
        let roots = fvm_ipld_car::load_car_unchecked(bs, car).context("read actor bundle CAR")?;
        let root = roots.first().context("actor bundle CAR has no root")?;
        let (version, manifest_data): (u32, Cid) = bs
            .get_cbor(root)?
            .context("actor bundle root block missing")?;
        anyhow::ensure!(
            version == 1,
            "actor bundle manifest version {version}, expected 1"
        );
        let actors: Vec<(String, Cid)> = bs
            .get_cbor(&manifest_data)?
            .context("actor bundle manifest data missing")?;
        let bundle = Self {
            manifest_data,
            actors,
        };
        bundle.check(bs)?;
        Ok(bundle)
    }

    /// The code CID of the actor called `name`.
    pub fn code(&self, name: &str) -> anyhow::Result<Cid> {
        self.actors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .with_context(|| format!("the actor bundle has no {name:?} actor"))
    }

    fn check(&self, bs: &impl Blockstore) -> anyhow::Result<()> {
        // The FVM's own parser accepts it, or the machine would refuse later.
        Manifest::load(bs, &self.manifest_data, 1).context("invalid actor manifest")?;
        for (name, code) in &self.actors {
            anyhow::ensure!(
                bs.has(code)?,
                "the code of actor {name} ({code}) is missing"
            );
        }
        Ok(())
    }
}
