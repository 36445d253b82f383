//! A devnet as the differential scenarios drive it: fixed keys (so both
//! bundles' runs create the same addresses and sign the same bytes), one
//! message at a time, and the state read back with the v18 types.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use ferrite_chain::devnet::{Devnet, DevnetSettings, RandomnessSource, TABLES};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::PrivateKey;
use ferrite_proofs::ProofsConfig;
use ferrite_store::{Db, RocksDb, RocksOptions};
use fil_actors_shared::v18::runtime::DomainSeparationTag;
use fvm_ipld_encoding::{CborStore, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::version::NetworkVersion;

use super::Actors;
use super::state::{self, Snapshot};

/// The proof parameters' directories, as `scripts/test` sets them.
pub fn init_proofs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let mut cfg = ProofsConfig::default();
        if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARAMETER_CACHE") {
            cfg.parameter_cache = PathBuf::from(p);
        }
        if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARENT_CACHE") {
            cfg.parent_cache = PathBuf::from(p);
        }
        ferrite_proofs::init(&cfg).unwrap();
    });
}

/// The devnet's settings for the tests: network version 25 (v18's), a
/// constant base fee, and `accounts` funded at genesis.
pub fn settings(network_name: &str, accounts: Vec<(Address, TokenAmount)>) -> DevnetSettings {
    DevnetSettings {
        vm: VmSettings {
            network_version: NetworkVersion::V25,
            chain_id: 31415926,
            base_fee: TokenAmount::from_atto(100),
            circulating_supply: TokenAmount::from_whole(1_000_000),
        },
        genesis: GenesisSpec {
            network_name: network_name.to_string(),
            accounts,
        },
    }
}

/// A devnet on `actors`, its database in `dir`. A test's database need not
/// survive power loss, so its writes are not fsynced (thousands per test).
pub fn open_in(dir: &Path, settings: DevnetSettings, actors: Actors) -> Devnet {
    let opts = RocksOptions { sync_writes: false };
    let db: Arc<dyn Db> = Arc::new(RocksDb::open(&dir.join("chain"), &TABLES, opts).unwrap());
    super::open_devnet(db, settings, actors)
}

/// The fixed secp256k1 key the scenarios own (and pay) with.
pub fn owner_key() -> PrivateKey {
    PrivateKey::Secp256k1(k256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap())
}

/// The fixed BLS key the scenarios' miners work with (v18 wants BLS).
pub fn worker_key() -> PrivateKey {
    PrivateKey::Bls(bls_signatures::PrivateKey::new([11u8; 32]))
}

/// A message as the scenarios send it: nonce 0 (the pool fills it in), a
/// gas limit of 3e9 and a fee cap well over the devnet's base fee.
pub fn message(
    from: Address,
    to: Address,
    method: u64,
    params: RawBytes,
    value: TokenAmount,
) -> Message {
    Message {
        version: 0,
        from,
        to,
        sequence: 0,
        value,
        method_num: method,
        params,
        gas_limit: 3_000_000_000,
        gas_fee_cap: TokenAmount::from_atto(1_000),
        gas_premium: TokenAmount::from_atto(100),
    }
}

/// A devnet with an owner (secp256k1) and a worker (BLS), both funded.
pub struct Net {
    pub actors: Actors,
    pub dn: Devnet,
    pub owner: PrivateKey,
    pub worker: PrivateKey,
    /// The gas fees each sender (by actor ID) burnt: the state comparison
    /// adds them back to its balance, since gas is compared on its own.
    pub burnt: RefCell<BTreeMap<u64, TokenAmount>>,
    _dir: tempfile::TempDir,
}

/// One executed message.
#[derive(Debug, Clone)]
pub struct Executed {
    pub receipt: Receipt,
    /// Why it failed, from a replay (the actors' abort messages).
    pub failure: String,
    /// The epoch it executed in.
    pub epoch: i64,
}

impl Executed {
    pub fn exit(&self) -> ExitCode {
        self.receipt.exit_code
    }
    pub fn ret<T: serde::de::DeserializeOwned>(&self) -> T {
        fvm_ipld_encoding::from_slice(self.receipt.return_data.bytes()).unwrap()
    }
}

impl Net {
    /// A devnet named `network_name` on `actors`.
    pub fn open(actors: Actors, network_name: &str) -> Self {
        init_proofs();
        let dir = tempfile::tempdir().unwrap();
        let (owner, worker) = (owner_key(), worker_key());
        let accounts = vec![
            (owner.address().unwrap(), TokenAmount::from_whole(100_000)),
            (worker.address().unwrap(), TokenAmount::from_whole(100_000)),
        ];
        let dn = open_in(dir.path(), settings(network_name, accounts), actors);
        Net {
            actors,
            dn,
            owner,
            worker,
            burnt: RefCell::default(),
            _dir: dir,
        }
    }

    pub fn height(&self) -> i64 {
        self.dn.head().height()
    }

    /// Sends a message signed by `key` with parameters already encoded,
    /// produces blocks until it has executed, and returns its receipt.
    pub fn exec_raw(
        &self,
        key: &PrivateKey,
        to: Address,
        method: u64,
        params: RawBytes,
        value: TokenAmount,
    ) -> Executed {
        let from = key.address().unwrap();
        let msg = message(from, to, method, params, value);
        let (gas_limit, fee_cap, premium) = (
            msg.gas_limit,
            msg.gas_fee_cap.clone(),
            msg.gas_premium.clone(),
        );
        let sm = self.dn.push_next(msg, key).unwrap();
        let cid = sm.cid().unwrap();
        // It executes in the next block; its receipt shows with the one after.
        self.dn.produce_block().unwrap();
        let epoch = self.height();
        self.dn.produce_block().unwrap();
        let found = self.dn.search(&cid).unwrap().expect("message executed");
        let fees = fvm::gas::GasOutputs::compute(
            found.receipt.gas_used,
            gas_limit,
            &self.dn.settings().base_fee,
            &fee_cap,
            &premium,
        );
        let sender = self
            .dn
            .lookup_id(&from, &[])
            .unwrap()
            .unwrap()
            .id()
            .unwrap();
        *self.burnt.borrow_mut().entry(sender).or_default() +=
            fees.base_fee_burn + fees.over_estimation_burn;
        let failure = if found.receipt.exit_code.is_success() {
            String::new()
        } else {
            let (_, ret) = self.dn.replay(&cid).unwrap();
            format!("{:?}", ret.failure_info)
        };
        Executed {
            receipt: found.receipt,
            failure,
            epoch,
        }
    }

    /// Produces blocks until the head is `height`.
    pub fn advance_to(&self, height: i64) {
        while self.height() < height {
            self.dn.produce_block().unwrap();
        }
    }

    /// Actor `id`'s state, decoded as `T`.
    pub fn state<T: serde::de::DeserializeOwned>(&self, id: u64) -> T {
        let actor = self
            .dn
            .actor(&Address::new_id(id), &[])
            .unwrap()
            .expect("actor exists");
        self.dn
            .blockstore()
            .get_cbor(&actor.state)
            .unwrap()
            .expect("state block")
    }

    /// Everything the state holds now, for the comparison of the bundles.
    pub fn snapshot(&self) -> Snapshot {
        let root = self.dn.state_root(&[]).unwrap();
        state::snapshot(self.dn.blockstore(), &root, &self.burnt.borrow())
    }

    /// Randomness as the miner draws it (`entropy`: its address, or
    /// nothing for the PoSt chain commit).
    pub fn randomness(
        &self,
        source: RandomnessSource,
        tag: DomainSeparationTag,
        round: i64,
        entropy: &[u8],
    ) -> [u8; 32] {
        self.dn
            .randomness(source, tag as i64, round, entropy)
            .unwrap()
    }
}
