//! Issue 17: Solidity contracts of our own, deployed and driven with viem
//! from a Node.js script against the devnet's Ethereum JSON-RPC, on each
//! bundle (Ferrite's, and the official v18 one when
//! `FERRITE_REFERENCE_BUNDLE` names it).
//!
//! The test starts a devnet and its RPC server, funds an Ethereum account
//! (its f410 address, a placeholder until it sends) and an f1 account from
//! the genesis owner, lets the node produce a block every 300 ms, and runs
//! `fixtures/evm/viem-check.mjs`, which deploys `Store.sol` and
//! `Factory.sol` with viem and checks storage (`eth_call`,
//! `eth_getStorageAt`), events (receipts, `eth_getLogs`), a custom error
//! decoded from a revert, a CREATE2 address, a contract calling another and
//! one sending FIL to the f1 address, a transaction sent with exactly
//! `eth_estimateGas`'s figure, and blocks by hash. The script prints what it
//! observed; the two bundles' observations (return data, logs, storage,
//! statuses) must be equal, and their gas is reported side by side.
//!
//! Needs `node` and the script's packages:
//! `npm ci --prefix chain/tests/fixtures/evm`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Actors;
use common::node::Node;
use ferrite_chain::eth::EthAddress;
use ferrite_chain::wallet::PrivateKey;
use fvm_shared::econ::TokenAmount;
use serde_json::Value;

const CHAIN_ID: u64 = 31415926;

/// The most one bundle's run of the script may take (it takes seconds).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// The Ethereum account's secp256k1 key.
const ETH_KEY: [u8; 32] = [21; 32];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evm")
}

/// Fails, saying how to install them, unless `node` and the script's
/// packages are there: never a silent skip.
fn require_node() {
    let install = "`npm ci --prefix chain/tests/fixtures/evm` (Node.js 18 or later)";
    let node = std::process::Command::new("node").arg("--version").output();
    match node {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`node --version` failed ({}): install Node.js and npm, then run {install}",
            o.status
        ),
        Err(e) => panic!("cannot run node ({e}): install Node.js and npm, then run {install}"),
    }
    assert!(
        fixtures().join("node_modules/viem/package.json").is_file(),
        "viem is not installed for the check: run {install}"
    );
}

/// One bundle's run: the script's summary, and how long the script took.
async fn run_check(actors: Actors) -> (Value, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let owner = common::net::owner_key();
    let signing = k256::ecdsa::SigningKey::from_bytes(&ETH_KEY.into()).unwrap();
    let me =
        EthAddress::from_public_key(signing.verifying_key().to_encoded_point(false).as_bytes())
            .unwrap();
    let payee =
        PrivateKey::Secp256k1(k256::ecdsa::SigningKey::from_bytes(&[22u8; 32].into()).unwrap())
            .address()
            .unwrap();
    let node = Node::start(dir.path(), actors, &owner).await;
    node.produce(1).await;
    // 10 FIL to the Ethereum account, 1 FIL to the f1 (so that it has an
    // ID, which is its Ethereum form).
    for (to, fil) in [(me.to_filecoin(), 10), (payee, 1)] {
        let fund = common::net::message(
            owner.address().unwrap(),
            to,
            0,
            Default::default(),
            TokenAmount::from_whole(fil),
        );
        node.devnet.push_next(fund, &owner).unwrap();
    }
    node.produce(2).await;
    let id = node
        .devnet
        .lookup_id(&payee, &[])
        .unwrap()
        .expect("the funded f1 has an ID")
        .id()
        .unwrap();

    let producer = node.produce_every();
    let started = Instant::now();
    let script = tokio::process::Command::new("node")
        .arg(fixtures().join("viem-check.mjs"))
        .args(["--rpc", &node.url])
        .args(["--chain-id", &CHAIN_ID.to_string()])
        .args(["--key", &format!("0x{}", hex::encode(ETH_KEY))])
        .args(["--payee", &EthAddress::from_id(id).to_hex()])
        .args(["--payee-f1", &payee.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, script.wait_with_output()).await;
    let took = started.elapsed();
    producer.stop().await;
    node.stop().await;
    let out = out
        .unwrap_or_else(|_| panic!("{actors:?}: the viem check took over {SCRIPT_TIMEOUT:?}"))
        .expect("wait for node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{actors:?}: the viem check failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{actors:?}: the script's summary is no JSON ({e}):\n{stdout}"));
    (summary, took)
}

/// A gas figure of the summary (a decimal string).
fn gas(summary: &Value, tx: &str) -> u64 {
    summary["gas"][tx]["used"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no gas used for {tx} in {summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viem_deploys_and_drives_our_contracts_on_each_bundle() {
    require_node();
    let mut runs = Vec::new();
    for actors in common::bundles() {
        let t = Instant::now();
        let (summary, script) = run_check(actors).await;
        println!(
            "{actors:?}: {:.1} s, the script {:.1} s",
            t.elapsed().as_secs_f64(),
            script.as_secs_f64()
        );
        let observed = summary["observed"].as_object().unwrap();
        for part in [
            "deployStore",
            "store1234",
            "storage",
            "revert",
            "deployFactory",
            "create2",
            "storeIn",
            "pay",
            "blockByHash",
        ] {
            assert!(
                observed.contains_key(part),
                "{actors:?}: no {part} in {summary}"
            );
        }
        runs.push((actors, summary));
    }
    let of = |which: Actors| runs.iter().find(|(a, _)| *a == which).map(|(_, s)| s);
    let (Some(ferrite), Some(official)) = (of(Actors::Ferrite), of(Actors::Official)) else {
        return; // one bundle: nothing to compare (storage_actors.rs names the skip)
    };
    println!("gas used:        Ferrite   official   ratio");
    for tx in ferrite["gas"].as_object().unwrap().keys() {
        let (f, o) = (gas(ferrite, tx), gas(official, tx));
        println!("{tx:16} {f:>9} {o:>10}   {:.3}", f as f64 / o as f64);
    }
    for (part, seen) in ferrite["observed"].as_object().unwrap() {
        assert_eq!(
            seen, &official["observed"][part],
            "{part}: what viem observed differs between the bundles (left: Ferrite's, right: the official)"
        );
    }
    assert_eq!(ferrite["observed"], official["observed"]);
}
