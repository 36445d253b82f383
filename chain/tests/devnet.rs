//! The devnet end to end: genesis, blocks, signed transfers through the
//! message pool, receipts, restarts; and the JSON-RPC API through the Lotus
//! client, with its permissions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrite_chain::api::{Chain, DevnetChain};
use ferrite_chain::auth::{ApiAuth, Permission};
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::RandomnessSource::Tickets;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::message::{SignedMessage, transfer};
use ferrite_chain::metrics::Metrics;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::rpc::server::{LotusMethods, RpcState, router};
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, PrivateKey, Wallet};
use ferrite_chain::{ChainError, producer};
use ferrite_store::{Db, RocksDb, RocksOptions};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::version::NetworkVersion;
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

fn open(dir: &std::path::Path, accounts: Vec<(Address, TokenAmount)>) -> Devnet {
    let db: Arc<dyn Db> =
        Arc::new(RocksDb::open(&dir.join("chain"), &TABLES, RocksOptions::default()).unwrap());
    Devnet::open(db, settings(accounts), Bundle::embedded).unwrap()
}

fn signed_transfer(from: Address, to: Address, nonce: u64, fil: u64) -> Message {
    Message {
        sequence: nonce,
        gas_limit: 10_000_000,
        gas_fee_cap: TokenAmount::from_atto(1_000),
        gas_premium: TokenAmount::from_atto(500),
        ..transfer(from, to, TokenAmount::from_whole(fil))
    }
}

#[test]
fn signed_transfers_execute_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let secp = PrivateKey::generate(KeyType::Secp256k1);
    let bls = PrivateKey::generate(KeyType::Bls);
    let (a, b) = (secp.address().unwrap(), bls.address().unwrap());
    let fresh = PrivateKey::generate(KeyType::Secp256k1).address().unwrap();
    let genesis = vec![
        (a, TokenAmount::from_whole(1000)),
        (b, TokenAmount::from_whole(1000)),
    ];
    let dn = open(dir.path(), genesis.clone());
    assert_eq!(dn.head().height(), 0);
    assert_eq!(dn.network_name(), "test-devnet");
    let a_id = dn.lookup_id(&a, &[]).unwrap().unwrap();
    assert_eq!(a_id, Address::new_id(100));

    // A secp transfer to a key that has no actor yet (the FVM creates it), and a BLS one.
    let m1 = SignedMessage::sign(signed_transfer(a, fresh, 0, 10), &secp).unwrap();
    let m2 = SignedMessage::sign(signed_transfer(b, a, 0, 5), &bls).unwrap();
    let c1 = dn.push(m1).unwrap();
    let c2 = dn.push(m2).unwrap();
    assert_eq!(dn.next_nonce(&a).unwrap(), 1);
    assert_eq!(dn.pending().len(), 2);

    // Bad input is refused with the reason and changes nothing.
    let forged = SignedMessage::sign(signed_transfer(a, fresh, 1, 1), &bls).unwrap();
    let err = dn.push(forged).unwrap_err();
    assert!(err.to_string().contains("invalid signature"), "{err}");
    let replay = SignedMessage::sign(signed_transfer(b, a, 0, 1), &bls).unwrap();
    let err = dn.push(replay).unwrap_err();
    assert!(err.to_string().contains("replace by fee"), "{err}");
    let unknown = PrivateKey::generate(KeyType::Secp256k1);
    let m = signed_transfer(unknown.address().unwrap(), a, 0, 1);
    let err = dn
        .push(SignedMessage::sign(m, &unknown).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("no account on chain"), "{err}");
    assert_eq!(dn.pending().len(), 2);

    let b1 = dn.produce_block().unwrap();
    assert_eq!(b1.height(), 1);
    assert!(dn.pending().is_empty());
    // Receipts appear with the next block, as in Lotus.
    assert!(dn.search(&c1).unwrap().is_none());
    let b2 = dn.produce_block().unwrap();
    for c in [c1, c2] {
        let found = dn.search(&c).unwrap().expect("executed");
        assert!(found.receipt.exit_code.is_success(), "{:?}", found.receipt);
        assert_eq!(found.tipset.height(), 2);
    }
    let bal = |d: &Devnet, x: &Address| {
        d.actor(x, &[])
            .unwrap()
            .map(|a| a.balance)
            .unwrap_or_default()
    };
    assert_eq!(bal(&dn, &fresh), TokenAmount::from_whole(10));
    let a_bal = bal(&dn, &a);
    assert!(
        a_bal < TokenAmount::from_whole(995) && a_bal > TokenAmount::from_whole(994),
        "{a_bal}"
    );
    assert_eq!(dn.parent_receipts(&b2.key[0]).unwrap().len(), 2);
    let (msg, ret) = dn.replay(&c1).unwrap();
    assert_eq!(msg.to, fresh);
    assert!(ret.msg_receipt.exit_code.is_success());

    // Restart: the chain continues from its head, and a pending message survives.
    let m3 = SignedMessage::sign(signed_transfer(a, fresh, 1, 2), &secp).unwrap();
    let c3 = dn.push(m3).unwrap();
    let head = dn.head();
    drop(dn);
    let dn = open(dir.path(), vec![]);
    assert_eq!(dn.head(), head);
    assert_eq!(bal(&dn, &fresh), TokenAmount::from_whole(10));
    assert_eq!(dn.pending().len(), 1);
    assert_eq!(dn.next_nonce(&a).unwrap(), 2);
    assert_eq!(dn.produce_block().unwrap().height(), 3);
    assert!(dn.pending().is_empty());
    dn.produce_block().unwrap();
    assert!(
        dn.search(&c3)
            .unwrap()
            .unwrap()
            .receipt
            .exit_code
            .is_success()
    );
    assert_eq!(bal(&dn, &fresh), TokenAmount::from_whole(12));
    // Randomness is deterministic and depends on the round and the entropy.
    let r1 = dn.randomness(Tickets, 5, 2, b"x").unwrap();
    assert_eq!(r1, dn.randomness(Tickets, 5, 2, b"x").unwrap());
    assert_ne!(r1, dn.randomness(Tickets, 5, 1, b"x").unwrap());
    assert!(dn.randomness(Tickets, 5, 10, b"x").is_err()); // the future
}

struct Node {
    url: String,
    auth: ApiAuth,
    wallet_addr: Address,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
    devnet: Arc<Devnet>,
    heads: watch::Receiver<i64>,
    wallet: Arc<Mutex<Wallet>>,
}

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = Wallet::open(&dir.path().join("keystore")).unwrap();
    let wallet_addr = wallet.new_key(KeyType::Secp256k1).unwrap();
    let bls = wallet.new_key(KeyType::Bls).unwrap();
    let accounts = vec![
        (wallet_addr, TokenAmount::from_whole(1000)),
        (bls, TokenAmount::from_whole(1000)),
    ];
    let path = dir.path().to_path_buf();
    let devnet = Arc::new(
        tokio::task::spawn_blocking(move || open(&path, accounts))
            .await
            .unwrap(),
    );
    let auth = ApiAuth::load_or_create(&dir.path().join("keystore")).unwrap();
    let heads_tx = Arc::new(watch::Sender::new(0));
    let heads = heads_tx.subscribe();
    let (stop, stop_rx) = watch::channel(false);
    let registry = prometheus::Registry::new();
    let metrics = Metrics::register(&registry).unwrap();
    tokio::spawn(producer::run(
        devnet.clone(),
        Duration::from_millis(300),
        heads_tx.clone(),
        metrics.clone(),
        stop_rx,
    ));
    let wallet = Arc::new(Mutex::new(wallet));
    let state = Arc::new(RpcState {
        chain: Some(LotusMethods {
            devnet: devnet.clone(),
            wallet: wallet.clone(),
            default_address: wallet_addr,
            heads: heads_tx,
            block_time: Duration::from_millis(300),
        }),
        auth: auth.clone(),
        registry,
        metrics,
        extension: None,
        ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Node {
        url: format!("http://{addr}/rpc/v1"),
        auth,
        wallet_addr,
        _dir: dir,
        _stop: stop,
        devnet,
        heads,
        wallet,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lotus_client_against_the_devnet_rpc() {
    let n = node().await;
    let sign = n.auth.create_token(&Permission::Sign.up_to()).unwrap();
    let client = LotusClient::new(&n.url, Some(sign)).unwrap();
    let embedded = DevnetChain::new(n.devnet.clone(), n.wallet.clone(), n.heads.clone());
    let chains: [&dyn Chain; 2] = [&client, &embedded];
    let dest = PrivateKey::generate(KeyType::Bls).address().unwrap();
    for (i, chain) in chains.into_iter().enumerate() {
        assert_eq!(chain.network_name().await.unwrap(), "test-devnet");
        let before = chain.balance(&n.wallet_addr).await.unwrap();
        let msg = transfer(n.wallet_addr, dest, TokenAmount::from_whole(7));
        let cid = chain.send(msg).await.unwrap();
        let exec = chain.wait(&cid, 0).await.unwrap();
        assert!(exec.receipt.exit_code.is_success(), "{:?}", exec.receipt);
        assert_eq!(
            chain.search(&cid).await.unwrap().unwrap().height,
            exec.height
        );
        let expected = TokenAmount::from_whole(7 * (i as u64 + 1));
        assert_eq!(chain.balance(&dest).await.unwrap(), expected);
        assert!(chain.balance(&n.wallet_addr).await.unwrap() < before);
        let id = chain.lookup_id(&dest).await.unwrap().unwrap();
        assert_eq!(chain.actor(&id).await.unwrap().unwrap().balance, expected);
        assert!(chain.head().await.unwrap().height >= exec.height);
        let r = chain.ticket_randomness(5, 1, b"e").await.unwrap();
        assert_eq!(r, n.devnet.randomness(Tickets, 5, 1, b"e").unwrap());
    }
    // Both implementations see an unknown actor the same way.
    let nobody = PrivateKey::generate(KeyType::Secp256k1).address().unwrap();
    assert_eq!(client.actor(&nobody).await.unwrap(), None);
    assert_eq!(embedded.actor(&nobody).await.unwrap(), None);
    assert_eq!(client.lookup_id(&nobody).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_are_enforced_as_lotus_does() {
    let n = node().await;
    let anonymous = LotusClient::new(&n.url, None).unwrap();
    // Reads need no token.
    anonymous.head().await.unwrap();
    let msg = transfer(
        n.wallet_addr,
        Address::new_id(100),
        TokenAmount::from_whole(1),
    );
    let err = anonymous.send(msg.clone()).await.unwrap_err();
    match err {
        ChainError::Remote { code, message } => {
            assert_eq!(code, 1);
            assert_eq!(
                message,
                "missing permission to invoke 'MpoolPushMessage' (need 'sign')"
            );
        }
        other => panic!("{other}"),
    }
    let write = LotusClient::new(
        &n.url,
        Some(n.auth.create_token(&Permission::Write.up_to()).unwrap()),
    )
    .unwrap();
    assert!(write.send(msg).await.is_err());
    let key: String = write
        .request("WalletNew", serde_json::json!(["bls"]))
        .await
        .unwrap();
    assert!(key.starts_with("f3"), "{key}");

    // A forged token gets HTTP 401.
    let forged = ApiAuth::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
    let bad = LotusClient::new(
        &n.url,
        Some(forged.create_token(&Permission::Admin.up_to()).unwrap()),
    )
    .unwrap();
    match bad.head().await.unwrap_err() {
        ChainError::Remote { code, .. } => assert_eq!(code, 401),
        other => panic!("{other}"),
    }

    // Unknown methods and bad parameters get JSON-RPC errors, not crashes.
    match anonymous
        .request::<serde_json::Value>("NoSuchMethod", serde_json::json!([]))
        .await
        .unwrap_err()
    {
        ChainError::Remote { code, .. } => assert_eq!(code, -32601),
        other => panic!("{other}"),
    }
    match anonymous
        .request::<serde_json::Value>("ChainGetBlock", serde_json::json!([{"/": "garbage"}]))
        .await
        .unwrap_err()
    {
        ChainError::Remote { code, message } => {
            assert_eq!(code, -32700);
            assert!(message.contains("invalid CID"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_notify_streams_new_heads_over_a_websocket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;

    let n = node().await;
    let url = n.url.replace("http://", "ws://");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Ws::Text(
        r#"{"jsonrpc":"2.0","id":1,"method":"Filecoin.ChainNotify","params":[]}"#.into(),
    ))
    .await
    .unwrap();
    let mut kinds = Vec::new();
    let mut heights = Vec::new();
    while heights.len() < 3 {
        let Some(Ok(Ws::Text(t))) = ws.next().await else {
            panic!("socket closed")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        if v.get("id").is_some() {
            assert_eq!(v["result"], 1);
            continue;
        }
        assert_eq!(v["method"], "xrpc.ch.val");
        for change in v["params"][1].as_array().unwrap() {
            kinds.push(change["Type"].as_str().unwrap().to_string());
            heights.push(change["Val"]["Height"].as_i64().unwrap());
        }
    }
    assert_eq!(kinds[0], "current");
    assert!(kinds[1..].iter().all(|k| k == "apply"));
    assert!(heights.windows(2).all(|w| w[1] == w[0] + 1), "{heights:?}");
}

/// Every method of the issue, once, checking the Lotus shapes of the answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_in_lotus_shapes() {
    use serde_json::{Value, json};
    let n = node().await;
    let admin = n.auth.create_token(&Permission::Admin.up_to()).unwrap();
    let c = LotusClient::new(&n.url, Some(admin.clone())).unwrap();
    let v0 = LotusClient::new(n.url.replace("/rpc/v1", "/rpc/v0"), Some(admin)).unwrap();
    let call = |m: &'static str, p: Value| {
        let c = c.clone();
        async move { c.request::<Value>(m, p).await.unwrap() }
    };

    let version = call("Version", json!([])).await;
    assert_eq!(version["APIVersion"], 131840);
    let v0_version: Value = v0.request("Version", json!([])).await.unwrap();
    assert_eq!(v0_version["APIVersion"], 66816);
    assert_eq!(call("StateNetworkVersion", json!([[]])).await, 25);

    // A message signed outside the node, pushed raw.
    let outsider = PrivateKey::generate(KeyType::Secp256k1);
    let fund: Value = call(
        "MpoolPushMessage",
        json!([{"To": outsider.address().unwrap().to_string(), "From": n.wallet_addr.to_string(),
                "Value": "5000000000000000000", "GasFeeCap": "0", "GasPremium": "0"}, null]),
    )
    .await;
    assert!(
        fund["Signature"]["Type"] == 1 && fund["CID"]["/"].is_string(),
        "{fund}"
    );
    call("StateWaitMsg", json!([fund["CID"], 0, -1, true])).await;
    let to = Address::new_id(100);
    let est = call(
        "GasEstimateMessageGas",
        json!([{"To": to.to_string(), "From": outsider.address().unwrap().to_string(),
                "Value": "1", "GasFeeCap": "0", "GasPremium": "0"}, null, []]),
    )
    .await;
    assert!(est["GasLimit"].as_u64().unwrap() > 0, "{est}");
    let msg: Message = serde_json::from_value::<ferrite_chain::rpc::json::MessageJson>(est)
        .unwrap()
        .into();
    let nonce = call(
        "MpoolGetNonce",
        json!([outsider.address().unwrap().to_string()]),
    )
    .await;
    assert_eq!(nonce, 0);
    let sm = SignedMessage::sign(msg, &outsider).unwrap();
    let smj = ferrite_chain::rpc::json::SignedMessageJson::from(&sm);
    let cid = call("MpoolPush", json!([smj])).await;
    assert_eq!(cid["/"], sm.cid().unwrap().to_string());
    let pending = call("MpoolPending", json!([[]])).await;
    assert!(pending.as_array().unwrap().len() <= 1);
    let lookup = call("StateWaitMsg", json!([cid, 1, -1, true])).await;
    assert_eq!(lookup["Receipt"]["ExitCode"], 0);
    let height = lookup["Height"].as_i64().unwrap();
    let v0_lookup: Value = v0.request("StateSearchMsg", json!([cid])).await.unwrap();
    assert_eq!(v0_lookup["Height"], height);

    let ts = call("ChainGetTipSetByHeight", json!([height, []])).await;
    assert_eq!(ts["Height"], height);
    let block_cid = ts["Cids"][0].clone();
    let block = call("ChainGetBlock", json!([block_cid])).await;
    assert_eq!(block["Height"], height);
    assert!(
        block["ParentStateRoot"]["/"].is_string() && block["ParentBaseFee"] == "100",
        "{block}"
    );
    let receipts = call("ChainGetParentReceipts", json!([block_cid])).await;
    assert!(!receipts.as_array().unwrap().is_empty());
    let m = call("ChainGetMessage", json!([cid])).await;
    assert_eq!(m["To"], to.to_string());
    let replay = call("StateReplay", json!([[], cid])).await;
    assert_eq!(replay["MsgRct"]["ExitCode"], 0);
    assert_eq!(replay["Error"], "");

    let key = call("StateAccountKey", json!([to.to_string(), []])).await;
    assert_eq!(key, n.wallet_addr.to_string());
    let call_ret = call(
        "StateCall",
        json!([{"To": "f01", "From": n.wallet_addr.to_string(), "Value": "0", "Method": 99,
                "GasFeeCap": "0", "GasPremium": "0"}, []]),
    )
    .await;
    assert_eq!(call_ret["MsgRct"]["ExitCode"], 22, "{call_ret}"); // USR_UNHANDLED_MESSAGE
    assert!(!call_ret["Error"].as_str().unwrap().is_empty());

    let list = call("WalletList", json!([])).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        call("WalletDefaultAddress", json!([])).await,
        n.wallet_addr.to_string()
    );
    let sig = call("WalletSign", json!([n.wallet_addr.to_string(), "aGVsbG8="])).await;
    let sig: ferrite_chain::rpc::json::SignatureJson = serde_json::from_value(sig).unwrap();
    let sig = fvm_shared::crypto::signature::Signature::try_from(sig).unwrap();
    ferrite_chain::wallet::verify(&sig, b"hello", &n.wallet_addr).unwrap();
    let token = call("AuthNew", json!([["read"]])).await;
    assert!(token.is_string());

    // Ferrite's admin extension: advance the chain now.
    let before = n.devnet.head().height();
    let ts: Value = c
        .request_full("Ferrite.ChainAdvance", json!([50]))
        .await
        .unwrap();
    assert!(ts["Height"].as_i64().unwrap() >= before + 50, "{ts}");
    let read = LotusClient::new(&n.url, None).unwrap();
    let err = read
        .request_full::<Value>("Ferrite.ChainAdvance", json!([1]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("need 'admin'"), "{err}");
    assert!(
        c.request_full::<Value>("Ferrite.ChainAdvance", json!([0]))
            .await
            .is_err()
    );
}

/// Concurrent MpoolPushMessage calls for one sender get distinct nonces and all execute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_get_distinct_nonces() {
    let n = node().await;
    let sign = n.auth.create_token(&Permission::Sign.up_to()).unwrap();
    let client = LotusClient::new(&n.url, Some(sign)).unwrap();
    let dest = PrivateKey::generate(KeyType::Secp256k1).address().unwrap();
    let sends = (0..6).map(|_| {
        let c = client.clone();
        let from = n.wallet_addr;
        tokio::spawn(async move {
            c.send(transfer(from, dest, TokenAmount::from_whole(1)))
                .await
        })
    });
    let mut cids = Vec::new();
    for s in sends {
        cids.push(s.await.unwrap().unwrap());
    }
    for cid in &cids {
        let e = client.wait(cid, 0).await.unwrap();
        assert!(e.receipt.exit_code.is_success());
    }
    assert_eq!(
        client.balance(&dest).await.unwrap(),
        TokenAmount::from_whole(6)
    );
}

/// `/metrics` serves the chain's metrics, and every metric the dashboards
/// and alert rules query is among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_and_cover_the_dashboards() {
    let n = node().await;
    let client = LotusClient::new(&n.url, None).unwrap();
    client.head().await.unwrap();
    let mut heads = n.heads.clone();
    heads.changed().await.unwrap();
    let base = n.url.trim_end_matches("/rpc/v1");
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
    };
    assert!(value("ferrite_chain_head_height") >= 1.0);
    assert!(value("ferrite_chain_blocks_produced_total") >= 1.0);
    assert!(
        text.contains(r#"ferrite_chain_rpc_requests_total{method="ChainHead",result="ok"} 1"#),
        "{text}"
    );

    // Every ferrite_* name in the chain's dashboards must be exported (the
    // node's test checks the other services' files).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards");
    let mut checked = 0;
    let chain_files = walk(&dir).into_iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("ferrite-chain") || n == "prometheus.yml")
    });
    for entry in chain_files {
        let body = std::fs::read_to_string(&entry).unwrap();
        for name in metric_names(&body) {
            let base_name = ["_bucket", "_sum", "_count"]
                .iter()
                .fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
            assert!(
                text.contains(&format!("# TYPE {base_name} ")),
                "{} queries {name}, which the chain does not export",
                entry.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no metric names found in {}", dir.display());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("json" | "yml" | "yaml")
        ) {
            out.push(p);
        }
    }
    out
}

fn metric_names(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(pos) = body[i..].find("ferrite_") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        out.push(body[start..end].to_string());
        i = end;
    }
    out
}

/// A remote miner's API (`MinerGetBaseInfo`, `MinerCreateBlock`,
/// `SyncSubmitBlock`, `MpoolSelect`): Lotus's permissions, and the blocks the
/// devnet refuses, each with its reason, leaving the head as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_miners_blocks_are_checked_before_they_count() {
    use ferrite_chain::block::{BeaconEntry, Ticket};
    use ferrite_chain::devnet::{BlockMsg, BlockTemplate};
    use ferrite_chain::node_miner::{self, MinerSpec};
    let n = node().await;
    let anonymous = LotusClient::new(&n.url, None).unwrap();
    let write = LotusClient::new(
        &n.url,
        Some(n.auth.create_token(&Permission::Write.up_to()).unwrap()),
    )
    .unwrap();
    let (key, head) = anonymous.head_block().await.unwrap();
    let again = BlockMsg {
        header: head.clone(),
        bls_messages: vec![],
        secp_messages: vec![],
    };
    match anonymous.submit_block(&again).await.unwrap_err() {
        ChainError::Remote { message, .. } => assert_eq!(
            message,
            "missing permission to invoke 'SyncSubmitBlock' (need 'write')"
        ),
        other => panic!("{other}"),
    }
    assert!(anonymous.select_messages(&key).await.unwrap().is_empty());

    // A miner without power cannot mine: no base (Lotus's null).
    let (bls, owner_key) = {
        let w = n.wallet.lock().unwrap();
        let bls = w
            .list()
            .into_iter()
            .find(|a| a.protocol() == fvm_shared::address::Protocol::BLS)
            .unwrap();
        (bls, w.key(&n.wallet_addr).unwrap().clone())
    };
    let spec = MinerSpec {
        owner: n.wallet_addr,
        worker: bls,
        window_post_proof: fvm_shared::sector::RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        funds: TokenAmount::from_whole(10),
    };
    let (spec2, owner_key2) = (spec.clone(), owner_key.clone());
    let dn = n.devnet.clone();
    let miner = tokio::task::spawn_blocking(move || node_miner::create(&dn, &spec, &owner_key))
        .await
        .unwrap()
        .unwrap();
    let (key, head) = anonymous.head_block().await.unwrap();
    let base = anonymous
        .mining_base(&miner, head.height + 1, &key)
        .await
        .unwrap();
    assert_eq!(base, None);
    let account = anonymous
        .mining_base(&n.wallet_addr, head.height + 1, &key)
        .await
        .unwrap_err();
    assert!(
        account.to_string().contains("is not a storage miner"),
        "{account}"
    );

    // Refused: a block whose parent is not the head, then one by the block
    // miner before it has power (its blocks are the producer's to make).
    fn refused(e: ChainError) -> String {
        match e {
            ChainError::Remote { message, .. } => message,
            other => panic!("{other}"),
        }
    }
    let why = refused(write.submit_block(&again).await.unwrap_err());
    assert!(why.contains("refused: its parent"), "{why}");
    n.devnet.set_block_miner(Some(miner)).unwrap();
    // The producer moves the head every 300 ms: a refusal for the parent
    // means the head moved between the template and the submission.
    let submit_on_head = |block_miner: Address| {
        let (anonymous, write) = (anonymous.clone(), write.clone());
        async move {
            for _ in 0..20 {
                let (key, head) = anonymous.head_block().await.unwrap();
                let template = BlockTemplate {
                    miner: block_miner,
                    parents: key,
                    ticket: Ticket {
                        vrf_proof: vec![1; 96],
                    },
                    election_proof: None,
                    beacon_values: vec![BeaconEntry {
                        round: u64::try_from(head.height + 1).unwrap(),
                        data: ferrite_chain::randomness::beacon_entry(head.height + 1).to_vec(),
                    }],
                    messages: vec![],
                    epoch: head.height + 1,
                    timestamp: head.timestamp + 1,
                    win_post_proof: vec![],
                };
                let block = match write.create_block(&template).await {
                    Ok(b) => b,
                    Err(e) => return refused(e),
                };
                assert!(block.header.block_sig.is_some());
                let why = refused(write.submit_block(&block).await.unwrap_err());
                if !why.contains("is not the head") {
                    return why;
                }
            }
            panic!("the head moved under every try");
        }
    };
    // MinerCreateBlock needs a storage miner (it signs with its worker key).
    let why = submit_on_head(Address::new_id(100)).await;
    assert!(why.contains("is not a storage miner"), "{why}");
    let dn = n.devnet.clone();
    let other = tokio::task::spawn_blocking(move || node_miner::create(&dn, &spec2, &owner_key2))
        .await
        .unwrap()
        .unwrap();
    let why = submit_on_head(other).await;
    assert!(
        why.contains(&format!("only from its block miner ({miner})")),
        "{why}"
    );
    let why = submit_on_head(miner).await;
    assert!(why.contains("the miner is not elected"), "{why}");
    assert!(why.contains(&format!("by {miner} refused")), "{why}");
}
