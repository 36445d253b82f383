//! The storage-provider State* methods over HTTP, in Lotus's JSON shapes:
//! miners, power, deadlines, partitions, sectors, pledge and the market.
//!
//! Every test runs on Ferrite's bundle and, when `FERRITE_REFERENCE_BUNDLE`
//! names the official builtin-actors v18 devnet bundle (a CAR file;
//! `scripts/test` sets it), on that one too: the shapes must be the same.
//!
//! `a_proven_sector_reads_as_lotus_does` (ignored: real 2 KiB proofs) seals,
//! pre-commits and proves a sector, then Window-PoSts it in the deadline
//! StateMinerProvingDeadline announces, checking sectors, partitions,
//! deadlines and power on the way, and that StateMinerInitialPledgeForSector
//! is exactly 110% of the pledge the actor took.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cid::Cid;
use cid::multihash::Multihash;
use common::{Actors, bundles};
use ferrite_chain::auth::ApiAuth;
use ferrite_chain::devnet::{Devnet, DevnetSettings};
use ferrite_chain::metrics::Metrics;
use ferrite_chain::rpc::server::{LotusMethods, RpcState, router};
use ferrite_chain::wallet::{KeyType, PrivateKey, Wallet};
use fil_actor_market_state::v18::{
    ClientDealProposal, DealProposal, Label, PublishStorageDealsParams, PublishStorageDealsReturn,
};
use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18::{CreateMinerParams, CreateMinerReturn};
use fvm_ipld_encoding::{BytesDe, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::piece::PaddedPieceSize;
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof};
use serde_json::{Value, json};
use tokio::sync::watch;

fn settings(accounts: Vec<(Address, TokenAmount)>) -> DevnetSettings {
    common::net::settings("test-devnet", accounts)
}

/// Opens a devnet on `actors`.
fn open(dir: &std::path::Path, accounts: Vec<(Address, TokenAmount)>, actors: Actors) -> Devnet {
    common::net::open_in(dir, settings(accounts), actors)
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
        common::produce_blocks(&self.devnet, blocks).await;
    }

    /// Sends a message from `key`'s account, produces two blocks and returns
    /// the receipt's return value, or why the message failed.
    async fn send(
        &self,
        key: &PrivateKey,
        to: Address,
        method: u64,
        params: RawBytes,
        value: TokenAmount,
    ) -> Result<RawBytes, String> {
        let msg = Message {
            version: 0,
            from: key.address().unwrap(),
            to,
            sequence: 0,
            value,
            method_num: method,
            params,
            gas_limit: 0,
            gas_fee_cap: TokenAmount::from_atto(0),
            gas_premium: TokenAmount::from_atto(0),
        };
        let dn = self.devnet.clone();
        let key = key.clone();
        let sent = tokio::task::spawn_blocking(move || {
            let msg = dn.estimate_gas(msg, &TokenAmount::from_atto(0))?;
            dn.push_next(msg, &key)
        })
        .await
        .unwrap()
        .map_err(|e| format!("send method {method} to {to}: {e}"))?;
        self.produce(2).await;
        let found = self
            .devnet
            .search(&sent.cid().unwrap())
            .unwrap()
            .ok_or("the message was not executed")?;
        if !found.receipt.exit_code.is_success() {
            return Err(format!(
                "method {method} to {to} failed: {:?}",
                found.receipt
            ));
        }
        Ok(found.receipt.return_data)
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
        let ret = self
            .send(
                &self.owner,
                Address::new_id(4),
                2,
                RawBytes::serialize(&params).unwrap(),
                TokenAmount::from_whole(MINER_FUNDS),
            )
            .await?;
        let ret: CreateMinerReturn = ret
            .deserialize()
            .map_err(|e| format!("decode CreateMinerReturn: {e}"))?;
        Ok(ret.id_address)
    }

    /// Funds the owner (as client) and `miner` (as provider) in the market and
    /// publishes one unverified 2 KiB deal between them; returns its ID.
    async fn publish_deal(&self, miner: Address) -> Result<u64, String> {
        let market = Address::new_id(5);
        let client = self.owner.address().unwrap();
        for (who, fil) in [(client, CLIENT_ESCROW), (miner, PROVIDER_ESCROW)] {
            let params = RawBytes::serialize(who).unwrap();
            self.send(&self.owner, market, 2, params, TokenAmount::from_whole(fil))
                .await?;
        }
        let start = self.devnet.head().height() + 200;
        let proposal = DealProposal {
            piece_cid: Cid::new_v1(
                0xf101,                                       // fil-commitment-unsealed
                Multihash::wrap(0x1012, &[3u8; 32]).unwrap(), // sha2-256-trunc254-padded
            ),
            piece_size: PaddedPieceSize(2048),
            verified_deal: false,
            client,
            provider: miner,
            label: Label::String(DEAL_LABEL.to_string()),
            start_epoch: start,
            end_epoch: start + 518_400,
            storage_price_per_epoch: TokenAmount::from_atto(0),
            provider_collateral: TokenAmount::from_whole(DEAL_COLLATERAL),
            client_collateral: TokenAmount::from_atto(0),
        };
        let signature = self
            .owner
            .sign(&fvm_ipld_encoding::to_vec(&proposal).unwrap())
            .unwrap();
        let params = PublishStorageDealsParams {
            deals: vec![ClientDealProposal {
                proposal,
                client_signature: signature,
            }],
        };
        let ret = self
            .send(
                &self.worker,
                market,
                4,
                RawBytes::serialize(&params).unwrap(),
                TokenAmount::from_atto(0),
            )
            .await?;
        let ret: PublishStorageDealsReturn = ret
            .deserialize()
            .map_err(|e| format!("decode PublishStorageDealsReturn: {e}"))?;
        ret.ids.first().copied().ok_or("no deal published".into())
    }
}

impl Node {
    /// Pre-commits CC sector `number` of `miner` with `sealed` (a pre-commit
    /// carries no proof); returns the sector's expiration.
    async fn precommit(
        &self,
        miner: Address,
        number: u64,
        sealed: Cid,
        seal_rand_epoch: i64,
    ) -> Result<i64, String> {
        let expiration = self.devnet.head().height() + 518_400 + 100_000;
        let params = miner::PreCommitSectorBatchParams2 {
            sectors: vec![miner::SectorPreCommitInfo {
                seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
                sector_number: number,
                sealed_cid: sealed,
                seal_rand_epoch,
                deal_ids: vec![],
                expiration,
                unsealed_cid: miner::CompactCommD::empty(),
            }],
        };
        self.send(
            &self.worker,
            miner,
            miner::Method::PreCommitSectorBatch2 as u64,
            RawBytes::serialize(&params).unwrap(),
            TokenAmount::from_whole(1),
        )
        .await?;
        Ok(expiration)
    }
}

/// A sealed CID in the right format (the actors check only the format at pre-commit).
fn fake_sealed_cid() -> Cid {
    Cid::new_v1(
        0xf102,                                       // fil-commitment-sealed
        Multihash::wrap(0xb401, &[5u8; 32]).unwrap(), // poseidon-bls12_381-a2-fc1
    )
}

/// What the deal test escrows for the client and the provider, in FIL.
const CLIENT_ESCROW: u64 = 3;
const PROVIDER_ESCROW: u64 = 4;
/// The provider collateral of the test deal, in FIL.
const DEAL_COLLATERAL: u64 = 1;
const DEAL_LABEL: &str = "ferrite-rpc-state";

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

async fn node(actors: Actors) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let owner = PrivateKey::generate(KeyType::Secp256k1);
    let worker = PrivateKey::generate(KeyType::Bls);
    let accounts = vec![
        (owner.address().unwrap(), TokenAmount::from_whole(1000)),
        (worker.address().unwrap(), TokenAmount::from_whole(1000)),
    ];
    let path = dir.path().to_path_buf();
    let devnet = Arc::new(
        tokio::task::spawn_blocking(move || open(&path, accounts, actors))
            .await
            .unwrap(),
    );
    let wallet = Wallet::open(&dir.path().join("keystore")).unwrap();
    let auth = ApiAuth::load_or_create(&dir.path().join("keystore")).unwrap();
    let registry = prometheus::Registry::new();
    let metrics = Metrics::register(&registry).unwrap();
    let (heads, _) = watch::channel(0);
    let state = Arc::new(RpcState {
        chain: Some(LotusMethods {
            devnet: devnet.clone(),
            wallet: Arc::new(Mutex::new(wallet)),
            default_address: owner.address().unwrap(),
            heads: Arc::new(heads),
            block_time: Duration::from_millis(300),
        }),
        auth,
        registry,
        metrics,
        extension: None,
        ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
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
    for actors in bundles() {
        eprintln!("state_methods_answer_in_lotus_shapes on {actors:?}");
        state_methods_answer_in_lotus_shapes_on(actors).await;
    }
}

async fn state_methods_answer_in_lotus_shapes_on(actors: Actors) {
    let n = node(actors).await;
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

    let miner = n
        .create_miner()
        .await
        .unwrap_or_else(|why| panic!("{actors:?}: CreateMiner failed: {why}"));
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

    // A published deal: escrow, locked collateral, the proposal, and a state
    // that reads as Lotus's EmptyDealState until the deal is activated.
    match n.publish_deal(miner).await {
        Ok(deal) => {
            let fil = |x: u64| (u128::from(x) * 10u128.pow(18)).to_string();
            let client = n.call("StateMarketBalance", json!([owner, head])).await;
            assert_eq!(client, json!({"Escrow": fil(CLIENT_ESCROW), "Locked": "0"}));
            let provider = n.call("StateMarketBalance", json!([m, head])).await;
            assert_eq!(
                provider,
                json!({"Escrow": fil(PROVIDER_ESCROW), "Locked": fil(DEAL_COLLATERAL)})
            );
            let d = n.call("StateMarketStorageDeal", json!([deal, head])).await;
            assert_eq!(keys(&d), sorted(&["Proposal", "State"]));
            let p = &d["Proposal"];
            assert_eq!(
                keys(p),
                sorted(&[
                    "PieceCID",
                    "PieceSize",
                    "VerifiedDeal",
                    "Client",
                    "Provider",
                    "Label",
                    "StartEpoch",
                    "EndEpoch",
                    "StoragePricePerEpoch",
                    "ProviderCollateral",
                    "ClientCollateral",
                ])
            );
            assert!(
                p["PieceCID"]["/"]
                    .as_str()
                    .unwrap()
                    .starts_with("baga6ea4sea"),
                "{p}"
            );
            assert_eq!(p["PieceSize"], 2048);
            assert_eq!(p["VerifiedDeal"], false);
            assert_eq!(p["Provider"], m);
            assert_eq!(p["Label"], DEAL_LABEL);
            assert_eq!(
                p["EndEpoch"].as_i64().unwrap() - p["StartEpoch"].as_i64().unwrap(),
                518_400
            );
            assert_eq!(p["StoragePricePerEpoch"], "0");
            assert_eq!(p["ProviderCollateral"], fil(DEAL_COLLATERAL));
            assert_eq!(p["ClientCollateral"], "0");
            assert_eq!(
                d["State"],
                json!({"SectorNumber": 0, "SectorStartEpoch": -1, "LastUpdatedEpoch": -1, "SlashEpoch": -1})
            );
            let all = n.call("StateMarketDeals", json!([head])).await;
            assert_eq!(all, json!({ deal.to_string(): d }));
        }
        Err(why) => panic!("{actors:?}: PublishStorageDeals failed: {why}"),
    }

    // A pre-committed sector (no proof needed yet): its on-chain pre-commit info.
    let rand = n.devnet.head().height() - 1;
    match n.precommit(miner, 7, fake_sealed_cid(), rand).await {
        Ok(expiration) => {
            let sealed = fake_sealed_cid();
            let pc = n
                .call("StateSectorPreCommitInfo", json!([m, 7, head]))
                .await;
            assert_eq!(
                keys(&pc),
                sorted(&["Info", "PreCommitDeposit", "PreCommitEpoch"])
            );
            assert_eq!(
                pc["Info"],
                json!({
                    "SealProof": i64::from(RegisteredSealProof::StackedDRG2KiBV1P1),
                    "SectorNumber": 7,
                    "SealedCID": {"/": sealed.to_string()},
                    "SealRandEpoch": rand,
                    "DealIDs": [],
                    "Expiration": expiration,
                    "UnsealedCid": null,
                })
            );
            assert!(is_decimal(&pc["PreCommitDeposit"]) && pc["PreCommitDeposit"] != "0");
            let epoch = pc["PreCommitEpoch"].as_i64().unwrap();
            assert!(epoch > rand && epoch <= n.devnet.head().height(), "{pc}");
            let v0 = n
                .raw(&n.v0, "StateSectorPreCommitInfo", json!([m, 7, head]))
                .await;
            assert_eq!(v0["result"], pc);
            assert_eq!(
                n.call("StateSectorGetInfo", json!([m, 7, head])).await,
                Value::Null
            );
            assert_eq!(
                n.call("StateMinerSectors", json!([m, null, head])).await,
                json!([])
            );
        }
        Err(why) => panic!("{actors:?}: the pre-commit failed: {why}"),
    }

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

/// Seals 2 KiB CC sector `number` of `miner` for real and proves it: PC1/PC2,
/// pre-commit, the interactive seed, C1/C2, ProveCommitSectors3.
async fn onboard(
    n: &Node,
    miner: Address,
    number: u64,
    work: &std::path::Path,
) -> ferrite_types::CommR {
    use ferrite_chain::devnet::RandomnessSource;
    use ferrite_proofs::seal;
    use ferrite_types::{ActorId, SealProof, SectorId, SectorNumber, SectorSize, Seed, Ticket};
    use fil_actors_shared::v18::runtime::DomainSeparationTag;

    common::net::init_proofs();
    let proof = SealProof::new(SectorSize::S2KiB);
    let sector = SectorId::new(ActorId(miner.id().unwrap()), SectorNumber(number));
    let entropy = fvm_ipld_encoding::to_vec(&miner).unwrap();
    let seal_rand_epoch = n.devnet.head().height() - 1;
    let ticket = Ticket(
        n.devnet
            .randomness(
                RandomnessSource::Tickets,
                DomainSeparationTag::SealRandomness as i64,
                seal_rand_epoch,
                &entropy,
            )
            .unwrap(),
    );
    let dir = work.to_path_buf();
    let (commitments, pieces) = tokio::task::spawn_blocking(move || {
        let (staged, sealed, cache) = (dir.join("unsealed"), dir.join("sealed"), dir.join("cache"));
        let size = ferrite_types::PaddedPieceSize::from(SectorSize::S2KiB).unpadded();
        let zeros = vec![0u8; usize::try_from(size.bytes()).unwrap()];
        let added = seal::add_piece(
            &seal::AddPieceInput {
                proof,
                staged_path: staged.clone(),
                size,
                existing: vec![],
            },
            &zeros[..],
        )
        .unwrap();
        let pieces = vec![added.piece];
        let pc1 = seal::pc1(&seal::Pc1Input {
            proof,
            sector,
            staged_path: staged,
            sealed_path: sealed.clone(),
            cache_dir: cache.clone(),
            ticket,
            pieces: pieces.clone(),
        })
        .unwrap();
        let out = seal::pc2(seal::Pc2Input {
            pc1,
            cache_dir: cache,
            sealed_path: sealed,
        })
        .unwrap();
        (out, pieces)
    })
    .await
    .unwrap();
    let sealed_cid = commitments.comm_r.to_cid();
    n.precommit(miner, number, sealed_cid, seal_rand_epoch)
        .await
        .unwrap();

    let m = miner.to_string();
    let pc = n
        .call("StateSectorPreCommitInfo", json!([m, number, null]))
        .await;
    let seed_epoch = pc["PreCommitEpoch"].as_i64().unwrap() + 10; // the devnet's challenge delay
    let behind = usize::try_from(seed_epoch + 1 - n.devnet.head().height()).unwrap_or(0);
    n.produce(behind).await;
    let seed = Seed(
        n.devnet
            .randomness(
                RandomnessSource::Beacon,
                DomainSeparationTag::InteractiveSealChallengeSeed as i64,
                seed_epoch,
                &entropy,
            )
            .unwrap(),
    );
    let dir = work.to_path_buf();
    let proof_bytes = tokio::task::spawn_blocking(move || {
        let c1 = seal::c1(&seal::C1Input {
            proof,
            sector,
            cache_dir: dir.join("cache"),
            sealed_path: dir.join("sealed"),
            ticket,
            seed,
            commitments,
            pieces,
        })
        .unwrap();
        common::c2_once(&seal::C2Input { c1, sector })
    })
    .await
    .unwrap();
    let params = miner::ProveCommitSectors3Params {
        sector_activations: vec![miner::SectorActivationManifest {
            sector_number: number,
            pieces: vec![],
        }],
        sector_proofs: vec![proof_bytes.into()],
        aggregate_proof: RawBytes::default(),
        aggregate_proof_type: None,
        require_activation_success: true,
        require_notification_success: true,
    };
    n.send(
        &n.worker,
        miner,
        miner::Method::ProveCommitSectors3 as u64,
        RawBytes::serialize(&params).unwrap(),
        TokenAmount::from_whole(1),
    )
    .await
    .unwrap();
    commitments.comm_r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn a_proven_sector_reads_as_lotus_does() {
    for actors in bundles() {
        eprintln!("a_proven_sector_reads_as_lotus_does on {actors:?}");
        a_proven_sector_reads_as_lotus_does_on(actors).await;
    }
}

async fn a_proven_sector_reads_as_lotus_does_on(actors: Actors) {
    let n = node(actors).await;
    let miner = n.create_miner().await.unwrap();
    let m = miner.to_string();
    let work = tempfile::tempdir().unwrap();
    let comm_r = onboard(&n, miner, 3, work.path()).await;
    let sealed = comm_r.to_cid();
    let head = json!(null);

    let s = n.call("StateSectorGetInfo", json!([m, 3, head])).await;
    assert_eq!(s["SectorNumber"], 3);
    assert_eq!(
        s["SealProof"],
        i64::from(RegisteredSealProof::StackedDRG2KiBV1P1)
    );
    assert_eq!(s["SealedCID"], json!({"/": sealed.to_string()}));
    assert_eq!(s["SectorKeyCID"], Value::Null);
    assert_eq!(s["DealWeight"], "0");
    assert_eq!(s["VerifiedDealWeight"], "0");
    for k in [
        "InitialPledge",
        "ExpectedDayReward",
        "ExpectedStoragePledge",
    ] {
        assert!(is_decimal(&s[k]), "{k}: {s}");
    }
    assert_eq!(
        n.call("StateMinerSectors", json!([m, null, head])).await,
        json!([s])
    );
    assert_eq!(
        n.call("StateMinerSectors", json!([m, [3, 1], head])).await,
        json!([s])
    );
    let (code, _) = n.fail("StateMinerSectors", json!([m, [4, 1], head])).await;
    assert_eq!(
        code, 1,
        "a filtered sector that does not exist is an error, as in Lotus"
    );
    assert_eq!(
        n.call("StateSectorPreCommitInfo", json!([m, 3, head]))
            .await,
        Value::Null
    );

    // The pledge the actor took is StateMinerInitialPledgeForSector's, less its
    // 10% margin, on the state and epoch the prove-commit ran on.
    let activation = s["Activation"].as_i64().unwrap();
    let duration = s["Expiration"].as_i64().unwrap() - activation;
    let at: Vec<Value> = n
        .devnet
        .tipset_at(activation)
        .unwrap()
        .key
        .iter()
        .map(|c| json!({"/": c.to_string()}))
        .collect();
    let estimate = n
        .call(
            "StateMinerInitialPledgeForSector",
            json!([duration, 2048, 0, at]),
        )
        .await;
    let taken: u128 = s["InitialPledge"].as_str().unwrap().parse().unwrap();
    let estimate: u128 = estimate.as_str().unwrap().parse().unwrap();
    assert_eq!(estimate, taken * 110 / 100, "taken {taken}");

    // The new sector is live but unproven (not active) until its first Window PoSt.
    let mut found = None;
    for dl in 0..48 {
        let parts = n.call("StateMinerPartitions", json!([m, dl, head])).await;
        if !parts.as_array().unwrap().is_empty() {
            found = Some((dl, parts));
        }
    }
    let (dl, parts) = found.expect("the sector is in a partition");
    assert_eq!(
        parts,
        json!([{
            "AllSectors": [3, 1],
            "FaultySectors": [0],
            "RecoveringSectors": [0],
            "LiveSectors": [3, 1],
            "ActiveSectors": [0],
        }])
    );
    let deadlines = n.call("StateMinerDeadlines", json!([m, head])).await;
    assert_eq!(deadlines[dl]["PostSubmissions"], json!([0]));
    assert_eq!(
        n.call("StateMinerActiveSectors", json!([m, head])).await,
        json!([])
    );
    assert_eq!(
        n.call("StateMinerFaults", json!([m, head])).await,
        json!([0])
    );
    let power = n.call("StateMinerPower", json!([m, head])).await;
    assert_eq!(power["MinerPower"]["RawBytePower"], "0", "{power}");

    // A real Window PoSt in the deadline StateMinerProvingDeadline announces
    // activates the sector and gives the miner its power.
    window_post(&n, miner, dl as u64, comm_r, work.path()).await;
    let parts = n.call("StateMinerPartitions", json!([m, dl, head])).await;
    assert_eq!(parts[0]["ActiveSectors"], json!([3, 1]), "{parts}");
    assert_eq!(parts[0]["LiveSectors"], json!([3, 1]));
    let deadlines = n.call("StateMinerDeadlines", json!([m, head])).await;
    assert_eq!(deadlines[dl]["PostSubmissions"], json!([0, 1]));
    let active = n.call("StateMinerActiveSectors", json!([m, head])).await;
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["SectorNumber"], 3);
    let claim = json!({"RawBytePower": "2048", "QualityAdjPower": "2048"});
    let power = n.call("StateMinerPower", json!([m, head])).await;
    assert_eq!(
        power,
        json!({"MinerPower": claim, "TotalPower": claim, "HasMinPower": true})
    );
    assert_eq!(n.call("StateListMiners", json!([head])).await, json!([m]));
}

/// Waits, by StateMinerProvingDeadline, for deadline `dl` of `miner` to open,
/// then proves its partition 0 (sector 3) with a real Window PoSt.
async fn window_post(
    n: &Node,
    miner: Address,
    dl: u64,
    comm_r: ferrite_types::CommR,
    work: &std::path::Path,
) {
    use ferrite_chain::devnet::RandomnessSource;
    use ferrite_proofs::post;
    use ferrite_types::{ActorId, PostRandomness, SealProof, SectorNumber, SectorSize};
    use fil_actors_shared::v18::runtime::DomainSeparationTag;

    let m = miner.to_string();
    let di = loop {
        let di = n.call("StateMinerProvingDeadline", json!([m, null])).await;
        let at = |k: &str| di[k].as_i64().unwrap();
        if di["Index"] == dl && at("CurrentEpoch") >= at("Open") {
            break di;
        }
        // Past the current deadline's close, one deadline at a time.
        let behind = at("Close") - at("CurrentEpoch");
        n.produce(usize::try_from(behind.max(1)).unwrap()).await;
    };
    let entropy = fvm_ipld_encoding::to_vec(&miner).unwrap();
    let challenge = di["Challenge"].as_i64().unwrap();
    let rand = PostRandomness::new(
        n.devnet
            .randomness(
                RandomnessSource::Beacon,
                DomainSeparationTag::WindowedPoStChallengeSeed as i64,
                challenge,
                &entropy,
            )
            .unwrap(),
    );
    let sectors = vec![post::ProvingSector {
        number: SectorNumber(3),
        comm_r,
        cache_dir: work.join("cache"),
        sealed_path: work.join("sealed"),
    }];
    let id = miner.id().unwrap();
    static PROOFS: common::ProofCache<String> = common::ProofCache::new("rpc-window-post");
    let key = format!("{id} {rand:?} {comm_r:?}");
    let bytes = tokio::task::spawn_blocking(move || {
        PROOFS.get_or_prove(key, || {
            post::generate_window_post(&post::PostInput {
                proof: SealProof::new(SectorSize::S2KiB).window_post(),
                miner: ActorId(id),
                randomness: rand,
                sectors,
            })
            .unwrap()
            .remove(0)
            .bytes
        })
    })
    .await
    .unwrap();
    let commit_epoch = n.devnet.head().height() - 1;
    let commit_rand = n
        .devnet
        .randomness(
            RandomnessSource::Tickets,
            DomainSeparationTag::PoStChainCommit as i64,
            commit_epoch,
            &[],
        )
        .unwrap();
    let params = miner::SubmitWindowedPoStParams {
        deadline: dl,
        partitions: vec![miner::PoStPartition {
            index: 0,
            skipped: Default::default(),
        }],
        proofs: vec![fvm_shared::sector::PoStProof {
            post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            proof_bytes: bytes,
        }],
        chain_commit_epoch: commit_epoch,
        chain_commit_rand: fvm_shared::randomness::Randomness(commit_rand.to_vec()),
    };
    n.send(
        &n.worker,
        miner,
        miner::Method::SubmitWindowedPoSt as u64,
        RawBytes::serialize(&params).unwrap(),
        TokenAmount::from_atto(0),
    )
    .await
    .unwrap();
}

/// The `Chain` trait's miner queries give the same answers in process
/// (`DevnetChain`, reading v18 state) and over JSON-RPC (`LotusClient`,
/// through the State* methods), as the sealing and proving loops need them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_trait_miner_queries_agree_in_process_and_over_rpc() {
    for actors in bundles() {
        eprintln!("chain_trait_miner_queries_agree_in_process_and_over_rpc on {actors:?}");
        chain_trait_miner_queries_agree_in_process_and_over_rpc_on(actors).await;
    }
}

async fn chain_trait_miner_queries_agree_in_process_and_over_rpc_on(actors: Actors) {
    use ferrite_chain::api::{Chain, DevnetChain};
    use ferrite_chain::node_miner::{self, MinerSpec};
    use ferrite_chain::rpc::client::LotusClient;

    let n = node(actors).await;
    let spec = MinerSpec {
        owner: n.owner.address().unwrap(),
        worker: n.worker.address().unwrap(),
        window_post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        funds: TokenAmount::from_whole(100),
    };
    let (dn, owner) = (n.devnet.clone(), n.owner.clone());
    let miner = tokio::task::spawn_blocking(move || node_miner::create(&dn, &spec, &owner))
        .await
        .unwrap()
        .unwrap();
    // A node that lost track of its miner finds it by its owner.
    let found = node_miner::find(&n.devnet, &n.owner.address().unwrap()).unwrap();
    assert_eq!(found, Some(miner));
    assert_eq!(
        node_miner::find(&n.devnet, &n.worker.address().unwrap()).unwrap(),
        None
    );
    let head = n.devnet.head().height();
    let pc = miner::PreCommitSectorBatchParams2 {
        sectors: vec![miner::SectorPreCommitInfo {
            seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
            sector_number: 1,
            sealed_cid: fake_sealed_cid(),
            seal_rand_epoch: head - 1,
            deal_ids: vec![],
            expiration: head + 700_000,
            unsealed_cid: miner::CompactCommD::empty(),
        }],
    };
    n.send(
        &n.worker,
        miner,
        miner::Method::PreCommitSectorBatch2 as u64,
        RawBytes::serialize(&pc).unwrap(),
        TokenAmount::from_whole(1),
    )
    .await
    .unwrap();
    n.produce(1).await;

    let (_, heads) = watch::channel(n.devnet.head().height());
    let wallet = Wallet::open(&n._dir.path().join("keystore")).unwrap();
    let local = DevnetChain::new(n.devnet.clone(), Arc::new(Mutex::new(wallet)), heads);
    let remote = LotusClient::new(n.v1.clone(), None).unwrap();
    let chains: [&dyn Chain; 2] = [&local, &remote];
    let mut answers = Vec::new();
    for c in chains {
        let info = c.miner_info(&miner).await.unwrap();
        assert_eq!(info.sector_size, 2048);
        assert_eq!(info.window_post_partition_sectors, 2);
        let pre = c
            .precommit(&miner, 1)
            .await
            .unwrap()
            .expect("sector 1 precommitted");
        assert_eq!(pre.sealed_cid, fake_sealed_cid());
        assert!(pre.deposit.is_positive());
        assert!(c.precommit(&miner, 2).await.unwrap().is_none());
        assert!(c.sector(&miner, 1).await.unwrap().is_none());
        let seed = c.beacon_randomness(6, head, b"entropy").await.unwrap();
        // An account is not a miner.
        let not_miner = c.miner_info(&n.owner.address().unwrap()).await;
        assert!(not_miner.is_err());
        // The proving queries: a precommitted sector is in no partition
        // and has no power yet.
        let window = c.proving_deadline(&miner).await.unwrap();
        assert!(
            window.index < 48 && window.close - window.open == 60,
            "{window:?}"
        );
        let deadlines = c.deadlines(&miner).await.unwrap();
        assert_eq!(deadlines.len(), 48);
        assert!(deadlines.iter().all(|d| d.posted.is_empty()));
        let partitions = c.partitions(&miner, window.index).await.unwrap();
        assert!(partitions.is_empty(), "{partitions:?}");
        let mut one = ferrite_chain::api::BitField::new();
        one.set(1);
        // Only proven sectors have records: asking for another is an error.
        assert!(c.sectors(&miner, &one).await.is_err());
        let none = ferrite_chain::api::BitField::new();
        assert!(c.sectors(&miner, &none).await.unwrap().is_empty());
        let power = c.miner_power(&miner).await.unwrap();
        assert_eq!(power.raw, 0u64.into());
        answers.push((info, pre, seed, window, power));
    }
    assert_eq!(answers[0], answers[1]);
}

/// StateDealProviderCollateralBounds answers `{"Min","Max"}` in attoFIL, Max
/// the total FIL supply and Min 110% (floored) of the least provider
/// collateral the market actor takes, computed from the state it reads:
/// `ceil(Min × 100/110)` is published and one attoFIL less is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deal_collateral_bounds_are_what_the_market_enforces() {
    for actors in bundles() {
        eprintln!("deal_collateral_bounds_are_what_the_market_enforces on {actors:?}");
        deal_collateral_bounds_are_what_the_market_enforces_on(actors).await;
    }
}

async fn deal_collateral_bounds_are_what_the_market_enforces_on(actors: Actors) {
    use fil_actor_power_state::v18::State as PowerState;
    use fil_actor_reward_state::v18::State as RewardState;
    use fvm_ipld_encoding::CborStore;
    use fvm_shared::bigint::BigInt;

    const MARKET: Address = Address::new_id(5);
    let n = node(actors).await;
    let miner = n.create_miner().await.unwrap();
    let client = n.owner.address().unwrap();
    for who in [client, miner] {
        let params = RawBytes::serialize(who).unwrap();
        n.send(&n.owner, MARKET, 2, params, TokenAmount::from_whole(1))
            .await
            .unwrap();
    }
    let tsk = |ts: &ferrite_chain::block::TipSet| -> Value {
        json!(
            ts.key
                .iter()
                .map(|c| json!({"/": c.to_string()}))
                .collect::<Vec<_>>()
        )
    };
    let bounds = |b: Value| -> BigInt {
        assert_eq!(keys(&b), ["Max", "Min"], "{b}");
        assert_eq!(b["Max"], "2000000000000000000000000000");
        assert!(is_decimal(&b["Min"]), "{b}");
        b["Min"].as_str().unwrap().parse().unwrap()
    };
    // The actor's minimum, from the power and reward states at `ts`.
    let actor_min = |ts: &ferrite_chain::block::TipSet| -> TokenAmount {
        let state = |id: u64| {
            n.devnet
                .actor(&Address::new_id(id), &ts.key)
                .unwrap()
                .unwrap()
                .state
        };
        let bs = n.devnet.blockstore();
        let pwr: PowerState = bs.get_cbor(&state(4)).unwrap().unwrap();
        let rwd: RewardState = bs.get_cbor(&state(2)).unwrap().unwrap();
        ferrite_actor_types::market::provider_collateral_min(
            PaddedPieceSize(2048),
            &pwr.this_epoch_raw_byte_power,
            &rwd.this_epoch_baseline_power,
            &n.devnet.settings().circulating_supply,
        )
    };

    let head = n.devnet.head();
    let min = bounds(
        n.call(
            "StateDealProviderCollateralBounds",
            json!([2048, false, tsk(&head)]),
        )
        .await,
    );
    assert!(min > BigInt::from(0), "a 2 KiB deal needs some collateral");
    assert_eq!(
        min,
        (actor_min(&head) * 110).div_floor(100).atto().clone(),
        "Min is 110% of the actor's minimum"
    );
    // Verification does not move the bounds; the head is the default.
    let verified = n
        .call(
            "StateDealProviderCollateralBounds",
            json!([2048, true, null]),
        )
        .await;
    assert_eq!(bounds(verified), min);

    // The baseline grows every epoch, so the minimum drops a little (about 5
    // atto here) before the message runs: offer the least the head asks for
    // and up to 15 atto below it in one batch, then check the cut against the
    // bounds of the state the message ran on.
    let least = (&min * 100 + 109) / 110;
    let start = n.devnet.head().height() + 200;
    let offers: Vec<BigInt> = (0..16).map(|d| &least - d).collect();
    let deals = offers
        .iter()
        .map(|c| {
            let proposal = DealProposal {
                piece_cid: Cid::new_v1(0xf101, Multihash::wrap(0x1012, &[4u8; 32]).unwrap()),
                piece_size: PaddedPieceSize(2048),
                verified_deal: false,
                client,
                provider: miner,
                label: Label::String(DEAL_LABEL.to_string()),
                start_epoch: start,
                end_epoch: start + 518_400,
                storage_price_per_epoch: TokenAmount::from_atto(0),
                provider_collateral: TokenAmount::from_atto(c.clone()),
                client_collateral: TokenAmount::from_atto(0),
            };
            let client_signature = n
                .owner
                .sign(&fvm_ipld_encoding::to_vec(&proposal).unwrap())
                .unwrap();
            ClientDealProposal {
                proposal,
                client_signature,
            }
        })
        .collect();
    let msg = Message {
        version: 0,
        from: n.worker.address().unwrap(),
        to: MARKET,
        sequence: 0,
        value: TokenAmount::from_atto(0),
        method_num: 4,
        params: RawBytes::serialize(&PublishStorageDealsParams { deals }).unwrap(),
        gas_limit: 0,
        gas_fee_cap: TokenAmount::from_atto(0),
        gas_premium: TokenAmount::from_atto(0),
    };
    let (dn, key) = (n.devnet.clone(), n.worker.clone());
    let sent = tokio::task::spawn_blocking(move || {
        let msg = dn.estimate_gas(msg, &TokenAmount::from_atto(0))?;
        dn.push_next(msg, &key)
    })
    .await
    .unwrap()
    .unwrap();
    n.produce(2).await;
    let found = n.devnet.search(&sent.cid().unwrap()).unwrap().unwrap();
    assert!(found.receipt.exit_code.is_success(), "{:?}", found.receipt);
    let ret: PublishStorageDealsReturn = found.receipt.return_data.deserialize().unwrap();

    // The message ran on the parent state of the tipset that included it.
    let ran_on = n.devnet.tipset_at(found.tipset.height() - 1).unwrap();
    let min_then = bounds(
        n.call(
            "StateDealProviderCollateralBounds",
            json!([2048, false, tsk(&ran_on)]),
        )
        .await,
    );
    let enforced = actor_min(&ran_on);
    assert_eq!(
        min_then,
        (enforced.clone() * 110).div_floor(100).atto().clone()
    );
    let least_then = (&min_then * 100 + 109) / 110;
    assert_eq!(
        &least_then,
        enforced.atto(),
        "ceil(Min × 100/110) is the actor's minimum"
    );
    let accepted: Vec<u64> = (0..offers.len() as u64)
        .filter(|&i| offers[i as usize] >= least_then)
        .collect();
    assert!(
        !accepted.is_empty() && accepted.len() < offers.len(),
        "the offers {offers:?} do not straddle the minimum {least_then}"
    );
    assert_eq!(
        ret.valid_deals.iter().collect::<Vec<_>>(),
        accepted,
        "the market took exactly the offers at or above ceil(Min × 100/110)"
    );
}
