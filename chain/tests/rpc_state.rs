//! The storage-provider State* methods over HTTP, in Lotus's JSON shapes:
//! miners, power, deadlines, partitions, sectors, pledge and the market.
//!
//! The devnet runs Ferrite's bundle; with `FERRITE_REFERENCE_BUNDLE` set to the
//! official builtin-actors v18 devnet bundle (a CAR file), it runs that one
//! instead. The miner-dependent checks need a working power actor's
//! CreateMiner: where the bundle cannot create a miner yet, they are skipped
//! with a note, and only the shapes that need no miner are checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrite_chain::auth::ApiAuth;
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::metrics::Metrics;
use ferrite_chain::rpc::server::{RpcState, router};
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, PrivateKey, Wallet};
use ferrite_store::{Db, RocksDb, RocksOptions};
use fil_actor_power_state::v18::{CreateMinerParams, CreateMinerReturn};
use fvm_ipld_encoding::{BytesDe, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::sector::RegisteredPoStProof;
use fvm_shared::version::NetworkVersion;
use serde_json::{Value, json};
use tokio::sync::watch;

fn settings(accounts: Vec<(Address, TokenAmount)>) -> DevnetSettings {
    DevnetSettings {
        vm: VmSettings {
            network_version: NetworkVersion::V25,
            chain_id: 31415926,
            base_fee: TokenAmount::from_atto(100),
            circulating_supply: TokenAmount::from_whole(1_000_000),
        },
        genesis: GenesisSpec {
            network_name: "test-devnet".to_string(),
            accounts,
        },
    }
}

/// Opens a devnet on Ferrite's bundle, or on the CAR that
/// `FERRITE_REFERENCE_BUNDLE` names.
fn open(dir: &std::path::Path, accounts: Vec<(Address, TokenAmount)>) -> Devnet {
    let db: Arc<dyn Db> =
        Arc::new(RocksDb::open(&dir.join("chain"), &TABLES, RocksOptions::default()).unwrap());
    match std::env::var_os("FERRITE_REFERENCE_BUNDLE") {
        Some(path) => {
            let car = std::fs::read(&path).expect("read FERRITE_REFERENCE_BUNDLE");
            Devnet::open(db, settings(accounts), |bs| Bundle::from_car(bs, &car)).unwrap()
        }
        None => Devnet::open(db, settings(accounts), Bundle::embedded).unwrap(),
    }
}

struct Node {
    v1: String,
    v0: String,
    http: reqwest::Client,
    devnet: Arc<Devnet>,
    owner: PrivateKey,
    worker: PrivateKey,
    _dir: tempfile::TempDir,
}

impl Node {
    /// The whole response object of one call on `url`.
    async fn raw(&self, url: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": format!("Filecoin.{method}"), "params": params});
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A v1 call that must succeed.
    async fn call(&self, method: &str, params: Value) -> Value {
        let r = self.raw(&self.v1, method, params).await;
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }

    /// A v1 call that must fail; returns `(code, message)`.
    async fn fail(&self, method: &str, params: Value) -> (i64, String) {
        let r = self.raw(&self.v1, method, params).await;
        assert!(r.get("result").is_none(), "{method} should fail: {r}");
        (
            r["error"]["code"].as_i64().unwrap(),
            r["error"]["message"].as_str().unwrap().to_string(),
        )
    }

    async fn produce(&self, blocks: usize) {
        let dn = self.devnet.clone();
        tokio::task::spawn_blocking(move || {
            for _ in 0..blocks {
                dn.produce_block().unwrap();
            }
        })
        .await
        .unwrap();
    }

    /// Sends power's CreateMiner (method 2 to f04) and returns the new miner's
    /// ID address, or why it failed.
    async fn create_miner(&self) -> Result<Address, String> {
        let params = CreateMinerParams {
            owner: self.owner.address().unwrap(),
            worker: self.worker.address().unwrap(),
            window_post_proof_type: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            peer: PEER_ID.to_vec(),
            multiaddrs: vec![BytesDe(MULTIADDR.to_vec())],
        };
        let msg = Message {
            version: 0,
            from: self.owner.address().unwrap(),
            to: Address::new_id(4),
            sequence: 0,
            value: TokenAmount::from_whole(MINER_FUNDS),
            method_num: 2,
            params: RawBytes::serialize(&params).unwrap(),
            gas_limit: 0,
            gas_fee_cap: TokenAmount::from_atto(0),
            gas_premium: TokenAmount::from_atto(0),
        };
        let dn = self.devnet.clone();
        let owner = self.owner.clone();
        let sent = tokio::task::spawn_blocking(move || {
            let msg = dn.estimate_gas(msg, &TokenAmount::from_atto(0))?;
            dn.push_next(msg, &owner)
        })
        .await
        .unwrap()
        .map_err(|e| format!("send CreateMiner: {e}"))?;
        self.produce(2).await;
        let cid = sent.cid().unwrap();
        let found = self
            .devnet
            .search(&cid)
            .unwrap()
            .ok_or("CreateMiner was not executed")?;
        if !found.receipt.exit_code.is_success() {
            return Err(format!("CreateMiner failed: {:?}", found.receipt));
        }
        let ret: CreateMinerReturn = found
            .receipt
            .return_data
            .deserialize()
            .map_err(|e| format!("decode CreateMinerReturn: {e}"))?;
        Ok(ret.id_address)
    }
}

/// What CreateMiner sends the new miner.
const MINER_FUNDS: u64 = 10;

/// An Ed25519 identity-multihash peer ID, as libp2p writes one.
const PEER_ID: [u8; 38] = {
    let mut b = [7u8; 38];
    b[0] = 0x00;
    b[1] = 0x24;
    b[2] = 0x08;
    b[3] = 0x01;
    b[4] = 0x12;
    b[5] = 0x20;
    b
};

/// `/ip4/127.0.0.1/tcp/1234` as multiaddr bytes.
const MULTIADDR: [u8; 8] = [0x04, 127, 0, 0, 1, 0x06, 0x04, 0xd2];

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let owner = PrivateKey::generate(KeyType::Secp256k1);
    let worker = PrivateKey::generate(KeyType::Bls);
    let accounts = vec![
        (owner.address().unwrap(), TokenAmount::from_whole(1000)),
        (worker.address().unwrap(), TokenAmount::from_whole(1000)),
    ];
    let path = dir.path().to_path_buf();
    let devnet = Arc::new(
        tokio::task::spawn_blocking(move || open(&path, accounts))
            .await
            .unwrap(),
    );
    let wallet = Wallet::open(&dir.path().join("keystore")).unwrap();
    let auth = ApiAuth::load_or_create(&dir.path().join("keystore")).unwrap();
    let registry = prometheus::Registry::new();
    let metrics = Metrics::register(&registry).unwrap();
    let (heads, _) = watch::channel(0);
    let state = Arc::new(RpcState {
        devnet: devnet.clone(),
        wallet: Arc::new(Mutex::new(wallet)),
        default_address: owner.address().unwrap(),
        auth,
        heads: Arc::new(heads),
        block_time: Duration::from_millis(300),
        registry,
        metrics,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let n = Node {
        v1: format!("http://{addr}/rpc/v1"),
        v0: format!("http://{addr}/rpc/v0"),
        http: reqwest::Client::new(),
        devnet,
        owner,
        worker,
        _dir: dir,
    };
    // Genesis' state is read through the tipset above it.
    n.produce(1).await;
    n
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort_unstable();
    v
}

fn is_decimal(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_methods_answer_in_lotus_shapes() {
    let n = node().await;
    let head = json!(null);

    // Without a miner: shapes that need none.
    assert_eq!(n.call("StateListMiners", json!([head])).await, json!([]));
    assert_eq!(n.call("StateListMiners", json!([[]])).await, json!([]));
    assert_eq!(n.call("StateMarketDeals", json!([head])).await, json!({}));
    let owner = n.owner.address().unwrap().to_string();
    let bal = n.call("StateMarketBalance", json!([owner, head])).await;
    assert_eq!(bal, json!({"Escrow": "0", "Locked": "0"}));
    let (code, msg) = n.fail("StateMarketStorageDeal", json!([0, head])).await;
    assert_eq!(code, 1);
    assert!(msg.starts_with("deal 0 not found"), "{msg}");
    let pledge = n
        .call(
            "StateMinerInitialPledgeForSector",
            json!([518400, 2048, 0, head]),
        )
        .await;
    assert!(is_decimal(&pledge) && pledge != "0", "{pledge}");
    let verified = n
        .call(
            "StateMinerInitialPledgeForSector",
            json!([518400, 2048, 2048, head]),
        )
        .await;
    assert!(is_decimal(&verified), "{verified}");
    let (code, _) = n
        .fail(
            "StateMinerInitialPledgeForSector",
            json!([0, 2048, 0, head]),
        )
        .await;
    assert_eq!(code, 1);
    // A miner that does not exist, and malformed parameters.
    let (code, msg) = n.fail("StateMinerInfo", json!(["f099999", head])).await;
    assert_eq!(code, 1);
    assert!(msg.contains("actor not found"), "{msg}");
    let (code, _) = n
        .fail("StateMinerInfo", json!(["not-an-address", head]))
        .await;
    assert_eq!(code, -32700);
    let (code, _) = n.fail("StateMinerInfo", json!(["f01000", head, 1])).await;
    assert_eq!(code, -32602);
    let nobody = n.call("StateMinerPower", json!(["f099999", head])).await;
    assert_eq!(
        nobody["MinerPower"],
        json!({"RawBytePower": "0", "QualityAdjPower": "0"})
    );
    assert_eq!(nobody["HasMinPower"], false);
    // Read permission suffices (no token means read).
    let (code, msg) = n.fail("StateMinerFaults", json!(["f099999", head])).await;
    assert_eq!(code, 1, "{msg}");

    let miner = match n.create_miner().await {
        Ok(m) => m,
        Err(why) => {
            eprintln!("no miner on this bundle ({why}); the miner shapes are not checked");
            return;
        }
    };
    let m = miner.to_string();

    assert_eq!(n.call("StateListMiners", json!([head])).await, json!([m]));

    let info = n.call("StateMinerInfo", json!([m, head])).await;
    assert_eq!(
        keys(&info),
        sorted(&[
            "Owner",
            "Worker",
            "NewWorker",
            "ControlAddresses",
            "WorkerChangeEpoch",
            "PeerId",
            "Multiaddrs",
            "WindowPoStProofType",
            "SectorSize",
            "WindowPoStPartitionSectors",
            "ConsensusFaultElapsed",
            "PendingOwnerAddress",
            "Beneficiary",
            "BeneficiaryTerm",
            "PendingBeneficiaryTerm",
        ])
    );
    let id = |a: &Address| n.devnet.lookup_id(a, &[]).unwrap().unwrap().to_string();
    assert_eq!(info["Owner"], id(&n.owner.address().unwrap()));
    assert_eq!(info["Worker"], id(&n.worker.address().unwrap()));
    assert_eq!(info["Beneficiary"], info["Owner"]);
    assert_eq!(info["NewWorker"], "<empty>");
    assert_eq!(info["WorkerChangeEpoch"], -1);
    assert_eq!(info["ControlAddresses"], json!([]));
    assert_eq!(info["SectorSize"], 2048);
    assert_eq!(info["WindowPoStPartitionSectors"], 2);
    assert_eq!(
        info["WindowPoStProofType"],
        i64::from(RegisteredPoStProof::StackedDRGWindow2KiBV1P1)
    );
    assert!(
        info["PeerId"].as_str().unwrap().starts_with("12D3KooW"),
        "{info}"
    );
    assert_eq!(info["Multiaddrs"], json!(["BH8AAAEGBNI="]));
    assert_eq!(info["PendingOwnerAddress"], Value::Null);
    assert_eq!(info["PendingBeneficiaryTerm"], Value::Null);
    assert_eq!(
        keys(&info["BeneficiaryTerm"]),
        sorted(&["Quota", "UsedQuota", "Expiration"])
    );
    assert!(is_decimal(&info["BeneficiaryTerm"]["Quota"]));

    let power = n.call("StateMinerPower", json!([m, head])).await;
    assert_eq!(
        power,
        json!({
            "MinerPower": {"RawBytePower": "0", "QualityAdjPower": "0"},
            "TotalPower": {"RawBytePower": "0", "QualityAdjPower": "0"},
            "HasMinPower": false,
        })
    );

    assert_eq!(
        n.call("StateMinerSectors", json!([m, null, head])).await,
        json!([])
    );
    assert_eq!(
        n.call("StateMinerSectors", json!([m, [0], head])).await,
        json!([])
    );
    assert_eq!(
        n.call("StateMinerActiveSectors", json!([m, head])).await,
        json!([])
    );
    assert_eq!(
        n.call("StateSectorGetInfo", json!([m, 1, head])).await,
        Value::Null
    );
    assert_eq!(
        n.call("StateSectorPreCommitInfo", json!([m, 1, head]))
            .await,
        Value::Null
    );
    let v0 = n
        .raw(&n.v0, "StateSectorPreCommitInfo", json!([m, 1, head]))
        .await;
    assert_eq!(v0["error"]["code"], 1, "{v0}");

    let di = n.call("StateMinerProvingDeadline", json!([m, head])).await;
    assert_eq!(
        keys(&di),
        sorted(&[
            "CurrentEpoch",
            "PeriodStart",
            "Index",
            "Open",
            "Close",
            "Challenge",
            "FaultCutoff",
            "WPoStPeriodDeadlines",
            "WPoStProvingPeriod",
            "WPoStChallengeWindow",
            "WPoStChallengeLookback",
            "FaultDeclarationCutoff",
        ])
    );
    let e = |k: &str| di[k].as_i64().unwrap();
    assert_eq!(e("CurrentEpoch"), n.devnet.head().height());
    assert_eq!(e("WPoStPeriodDeadlines"), 48);
    assert_eq!(e("WPoStProvingPeriod"), 2880);
    assert_eq!(e("WPoStChallengeWindow"), 60);
    assert_eq!(e("WPoStChallengeLookback"), 20);
    assert_eq!(e("FaultDeclarationCutoff"), 70);
    assert!(e("Index") < 48);
    assert_eq!(e("Close"), e("Open") + 60);
    assert_eq!(e("Challenge"), e("Open") - 20);
    assert_eq!(e("FaultCutoff"), e("Open") - 70);
    assert!(e("Close") > e("CurrentEpoch"), "{di}");

    let deadlines = n.call("StateMinerDeadlines", json!([m, head])).await;
    let deadlines = deadlines.as_array().unwrap();
    assert_eq!(deadlines.len(), 48);
    for d in deadlines {
        assert_eq!(
            d,
            &json!({"PostSubmissions": [0], "DisputableProofCount": 0, "DailyFee": "0"})
        );
    }
    assert_eq!(
        n.call("StateMinerPartitions", json!([m, 0, head])).await,
        json!([])
    );
    let (code, _) = n.fail("StateMinerPartitions", json!([m, 48, head])).await;
    assert_eq!(code, 1);
    assert_eq!(
        n.call("StateMinerFaults", json!([m, head])).await,
        json!([0])
    );
    assert_eq!(
        n.call("StateMinerRecoveries", json!([m, head])).await,
        json!([0])
    );

    let available = n.call("StateMinerAvailableBalance", json!([m, head])).await;
    assert!(is_decimal(&available), "{available}");
    let available: u128 = available.as_str().unwrap().parse().unwrap();
    assert!(available <= u128::from(MINER_FUNDS) * 10u128.pow(18));

    // An older tipset reads the state before the miner existed.
    let genesis_child = n.devnet.tipset_at(1).unwrap();
    let old: Vec<Value> = genesis_child
        .key
        .iter()
        .map(|c| json!({"/": c.to_string()}))
        .collect();
    assert_eq!(n.call("StateListMiners", json!([old])).await, json!([]));
    let (code, msg) = n.fail("StateMinerInfo", json!([m, old])).await;
    assert_eq!(code, 1);
    assert!(msg.contains("actor not found"), "{msg}");
}
