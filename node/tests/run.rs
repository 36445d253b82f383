//! `ferrite run` against a second process that plays the remote Lotus node:
//! a `ferrite devnet` with no miner of its own. `ferrite init` creates the
//! miner through it, and the run seals a 2 KiB sector with real proofs and
//! proves it, while the chain node restarts under it and the run itself is
//! stopped with SIGTERM in the middle of C2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Node, ferrite, stderr, stdout};
use serde_json::{Value, json};

/// A free loopback port: the chain node restarts on the same one.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP request to `addr`; the status line and the body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (String, String) {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// A JSON-RPC call; the whole response object. Bodies are small and sent
/// whole, so a chunked reply is one chunk: its size line is skipped.
fn rpc(addr: &str, token: Option<&str>, method: &str, params: Value) -> Value {
    let req = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, body) = http(addr, "POST", "/rpc/v1", token, &req.to_string());
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map(|e| e + 1).unwrap_or(body.len());
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// `ferrite devnet` on `port`, with no miner of its own and no worker: the
/// chain node; `block_miner` mines on it remotely.
fn start_chain(home: &Path, port: u16, log: &Path, block_miner: Option<&str>) -> Node {
    let log = append(log);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    if let Some(m) = block_miner {
        cmd.env("FERRITE_DEVNET__BLOCK_MINER", m);
    }
    let child = cmd
        .arg("--home")
        .arg(home)
        .args(["devnet", "--block-time-ms", "200", "--no-worker"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--grpc-listen", "127.0.0.1:0"])
        .env_remove("FERRITE_CONFIG")
        .env("FERRITE_DEVNET__CREATE_MINER", "false")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for(&home.join("api"), "the chain node");
    Node(child)
}

/// `ferrite run` in `home` through the chain node at `api_info`.
/// The passphrase of the run's encrypted keystore.
const PASSPHRASE: &str = "correct horse battery staple";

/// `ferrite run` in `home` through the chain node at `api_info`, its
/// messages signed by `signer` (`local` or `node`).
fn start_run(home: &Path, api_info: &str, signer: &str, log: &Path) -> Node {
    let log = append(log);
    let child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .arg("--home")
        .arg(home)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--market-listen",
            "/ip4/127.0.0.1/tcp/0",
            "--retrieval-listen",
            "127.0.0.1:0",
        ])
        .env_remove("FERRITE_CONFIG")
        .env("FULLNODE_API_INFO", api_info)
        .env("FERRITE_CHAIN__HEAD_POLL_MS", "200")
        .env("FERRITE_CHAIN__SIGNER", signer)
        .env("FERRITE_KEYSTORE_PASSPHRASE", PASSPHRASE)
        // A stop abandons the running C2 at once: the restart must redo it.
        .env("FERRITE_NODE__SHUTDOWN_GRACE_SECS", "0")
        // Every mining round in the log (a failure prints it).
        .env("FERRITE_NODE__LOG_LEVEL", "info,ferrite::mining=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for(&home.join("api"), "ferrite run");
    Node(child)
}

/// `path`, opened to append a process's log to it.
fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn wait_for(file: &Path, what: &str) {
    let started = Instant::now();
    while !file.exists() {
        assert!(started.elapsed().as_secs() < 60, "{what} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGTERM to `node` and waits for it to exit cleanly.
fn terminate(node: &mut Node) {
    let pid = node.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = node.0.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            return;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "no exit within 60 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn api_addr(home: &Path) -> String {
    std::fs::read_to_string(home.join("api"))
        .unwrap()
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches("/rpc/v1")
        .to_string()
}

fn sector_state(home: &Path) -> String {
    let st = ferrite(home, &["sectors", "status", "1"]);
    assert!(st.status.success(), "{}", stderr(&st));
    stdout(&st)
}

/// Waits until sector 1's status contains `what`.
fn wait_state(home: &Path, what: &str, secs: u64) {
    let started = Instant::now();
    loop {
        let st = sector_state(home);
        if st.contains(what) {
            return;
        }
        assert!(!st.contains("error:"), "the sector failed: {st}");
        assert!(
            started.elapsed().as_secs() < secs,
            "no {what:?} after {secs} s: {st}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn child_exited(node: &mut Child) -> bool {
    node.try_wait().unwrap().is_some()
}

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn run_seals_and_proves_through_a_remote_node() {
    let chain_home = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (chain_home.path(), home.path());
    let (chain_log, run_log) = (a.join("node.log"), b.join("node.log"));
    let port = free_port();
    let mut chain = start_chain(a, port, &chain_log, None);
    let chain_addr = format!("127.0.0.1:{port}");
    let token = std::fs::read_to_string(a.join("token")).unwrap();
    let token = token.trim();
    let api_info = format!("{token}:/ip4/127.0.0.1/tcp/{port}/http");
    let keys = rpc(&chain_addr, Some(token), "Filecoin.WalletList", json!([]));
    let keys: Vec<String> = keys["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let owner = keys.iter().find(|k| k.starts_with("f1")).unwrap();
    let worker = keys.iter().find(|k| k.starts_with("f3")).unwrap();

    // ferrite init: a wrong token and a miner that is not one are refused.
    let init = |args: &[&str], info: &str| {
        Command::new(env!("CARGO_BIN_EXE_ferrite"))
            .arg("--home")
            .arg(b)
            .arg("init")
            .args(args)
            .env_remove("FERRITE_CONFIG")
            .env("FULLNODE_API_INFO", info)
            .env("FERRITE_KEYSTORE_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap()
    };
    // The owner's and worker's keys move from the chain node's wallet into
    // the run's encrypted keystore, as Lotus's exports.
    let wallet = |home: &Path, args: &[&str], input: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
            .arg("--home")
            .arg(home)
            .arg("wallet")
            .args(args)
            .env_remove("FERRITE_CONFIG")
            .env("FERRITE_KEYSTORE_PASSPHRASE", PASSPHRASE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "wallet {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    wallet(
        b,
        &[
            "init-encrypted",
            "--kdf-memory-kib",
            "8192",
            "--kdf-iterations",
            "1",
        ],
        None,
    );
    // Without the owner's key, init says where it looked.
    let keyless = init(
        &[
            "--owner",
            owner,
            "--worker",
            worker,
            "--sector-size",
            "2KiB",
        ],
        &api_info,
    );
    assert_eq!(keyless.status.code(), Some(1));
    assert!(
        stderr(&keyless).contains("the keystore has no key for the owner"),
        "{}",
        stderr(&keyless)
    );
    for key in [owner, worker] {
        let exported = wallet(a, &["export", key], None);
        wallet(b, &["import", "-"], Some(&exported));
    }
    let listed = wallet(b, &["list"], None);
    assert!(
        listed.contains(owner.as_str()) && listed.contains(worker.as_str()),
        "{listed}"
    );
    let wrong = init(
        &[
            "--owner",
            owner,
            "--worker",
            worker,
            "--sector-size",
            "2KiB",
        ],
        &format!("bad:/ip4/127.0.0.1/tcp/{port}/http"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("refused the API token"),
        "{}",
        stderr(&wrong)
    );
    let absent = init(&["--actor", "f099999"], &api_info);
    assert_eq!(absent.status.code(), Some(1));
    assert!(
        stderr(&absent).contains("is not a storage miner"),
        "{}",
        stderr(&absent)
    );
    let created = init(
        &[
            "--owner",
            owner,
            "--worker",
            worker,
            "--sector-size",
            "2KiB",
            "--deposit-fil",
            "100",
        ],
        &api_info,
    );
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(
        stdout(&created).contains("ferrite-devnet"),
        "{}",
        stdout(&created)
    );
    assert!(
        stdout(&created).contains("created storage miner f0"),
        "{}",
        stdout(&created)
    );
    let miner = std::fs::read_to_string(b.join("miner")).unwrap();
    assert!(miner.starts_with("f0"), "{miner}");

    // ferrite run: its operator API serves Ferrite's methods and the health
    // checks, not the chain's Lotus methods.
    // The first run signs through the chain node's wallet, the second (after
    // the SIGTERM) with the keystore.
    let mut run = start_run(b, &api_info, "node", &run_log);
    let addr = api_addr(b);
    let started = Instant::now();
    while http(&addr, "GET", "/health/readyz", None, "").0 != "HTTP/1.1 200 OK" {
        assert!(started.elapsed().as_secs() < 60, "not ready in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        http(&addr, "GET", "/health/livez", None, "").0,
        "HTTP/1.1 200 OK"
    );
    let head = rpc(&addr, None, "Filecoin.ChainHead", json!([]));
    assert_eq!(head["error"]["code"], -32601, "{head}");
    let log = std::fs::read_to_string(&run_log).unwrap();
    assert!(log.contains("config [chain]"), "{log}");

    let pledged = ferrite(b, &["sectors", "pledge"]);
    assert!(pledged.status.success(), "{}", stderr(&pledged));

    // The chain node restarts while the sector seals, now with the run's
    // miner as its block miner, which mines remotely once it has power.
    terminate(&mut chain);
    std::thread::sleep(Duration::from_secs(2));
    chain = start_chain(a, port, &chain_log, Some(miner.trim()));
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(&run_log).unwrap();
        if log.contains("the chain node answers again") {
            assert!(log.contains("lost the chain node"), "{log}");
            break;
        }
        assert!(!child_exited(&mut run.0), "ferrite run exited: {log}");
        assert!(started.elapsed().as_secs() < 60, "no reconnection: {log}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // SIGTERM in the middle of C2, then a restart: the sector goes on.
    wait_state(b, "state:    C2", 600);
    terminate(&mut run);
    let log = std::fs::read_to_string(&run_log).unwrap();
    assert!(log.contains("SIGTERM: stopping"), "{log}");
    assert!(log.contains("grace period over"), "{log}");
    assert!(!b.join("api").exists(), "the api file outlived the node");
    let _run = start_run(b, &api_info, "local", &run_log);
    wait_state(b, "state:    Proving", 600);

    // Its WindowPoSt: the chain node skips to a few epochs before the
    // challenge, the rest in real time.
    let info = || -> Value {
        let o = ferrite(b, &["proving", "info", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let i = info();
    assert_eq!(i["Sectors"]["Live"], 1, "{i}");
    let challenge = i["NextWithSectors"][0]["Challenge"].as_i64().unwrap();
    let epoch = i["Epoch"].as_i64().unwrap();
    if challenge - 5 > epoch {
        let n = (challenge - 5 - epoch).to_string();
        let adv = ferrite(a, &["chain", "advance", &n]);
        assert!(adv.status.success(), "{}", stderr(&adv));
    }
    let started = Instant::now();
    loop {
        let i = info();
        if let Some(post) = i["RecentPosts"].get(0) {
            assert_eq!(post["ExitCode"], 0, "{i}");
            assert_eq!(i["RawPower"], "2048", "{i}");
            break;
        }
        assert!(
            started.elapsed().as_secs() < 180,
            "no PoSt in 3 minutes: {i}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The first run (signed by the chain node) had no market: it signs its
    // publish messages before it pushes them. The second put the market's
    // peer id on chain, through the chain node, signed with the keystore.
    let log = std::fs::read_to_string(&run_log).unwrap();
    assert!(
        log.contains("the market and retrieval are not started"),
        "{log}"
    );
    assert!(
        log.contains("following the chain node's head through ChainNotify"),
        "{log}"
    );
    let peer = std::fs::read_to_string(b.join("market-peer")).unwrap();
    let started = Instant::now();
    loop {
        let info = rpc(
            &chain_addr,
            None,
            "Filecoin.StateMinerInfo",
            json!([miner.trim(), null]),
        );
        if let Some(id) = info["result"]["PeerId"].as_str() {
            assert!(peer.contains(id), "{id} is not in {peer}");
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "no peer id on chain: {info}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // ferrite status: one screen, from the node's API alone.
    let status = ferrite(b, &["status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let shown = stdout(&status);
    println!("{shown}");
    for line in [
        "chain:    ferrite-devnet via remote node http://127.0.0.1:",
        &format!("miner:    {} (2048 B sectors)", miner.trim()),
        "power:    2048 B raw, 2048 B quality-adjusted",
        "sectors:  1 (Proving 1)",
        "workers:  1 (local)",
        "proving:  1 live, 0 faulty",
        "deals:    0",
    ] {
        assert!(shown.contains(line), "{line:?} missing:\n{shown}");
    }

    // With power, the miner wins the chain node's blocks: ferrite run makes
    // each one (VRFs through WalletSign, a real WinningPoSt) and submits it.
    let miner = miner.trim();
    let started = Instant::now();
    let mined = loop {
        let head = rpc(&chain_addr, None, "Filecoin.ChainHead", json!([]));
        let block = &head["result"]["Blocks"][0];
        if block["Miner"] == miner {
            assert_eq!(block["ElectionProof"]["WinCount"], 1, "{head}");
            assert!(block["WinPoStProof"][0]["ProofBytes"].is_string(), "{head}");
            break head["result"].clone();
        }
        if started.elapsed().as_secs() >= 90 {
            let log = std::fs::read_to_string(&run_log).unwrap();
            let chain = std::fs::read_to_string(&chain_log).unwrap();
            panic!("no block by {miner} in 90 s: {head}\nrun's log:\n{log}\nchain's log:\n{chain}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!("mined on the chain node after {:?}", started.elapsed());
    let log = std::fs::read_to_string(&run_log).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("s from the start of its round, submitted"))
        .unwrap_or_else(|| panic!("no time-to-submit line: {log}"));
    assert!(line.contains("mined block"), "{line}");
    let times: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("s from the start of its round, submitted"))
        .collect();
    println!("{} blocks mined so far:\n{}", times.len(), times.join("\n"));

    // A block the chain node refuses, with the reason: the mined head block
    // again (its parent is no longer the head)...
    let again = json!([{"Header": mined["Blocks"][0], "BlsMessages": [], "SecpkMessages": []}]);
    let refused = rpc(&chain_addr, Some(token), "Filecoin.SyncSubmitBlock", again);
    let why = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("refused: its parent"), "{refused}");
    // ...and a block on the head whose ticket and election proof are the
    // worker's VRFs for its height, but whose WinningPoSt is another
    // height's.
    let unproven = refuse_a_wrong_winning_post(&chain_addr, token, miner);
    assert!(
        unproven.contains("the WinningPoSt does not verify"),
        "{unproven}"
    );
    // The run restarted on a new port.
    let m = http(&api_addr(b), "GET", "/metrics", None, "").1;
    let submitted = m
        .lines()
        .find(|l| l.starts_with("ferrite_mining_blocks_submitted_total "))
        .unwrap_or_else(|| panic!("no submitted counter: {m}"));
    assert_ne!(submitted, "ferrite_mining_blocks_submitted_total 0", "{m}");
    // The mining loop's metrics that dashboards/ queries are exported here
    // (cli.rs checks the others on a devnet).
    let mining: Vec<_> = common::dashboard_metric_names()
        .into_iter()
        .filter(|(_, n)| n.starts_with("ferrite_mining_"))
        .collect();
    assert!(mining.len() >= 4, "{mining:?}");
    for (file, name) in mining {
        assert!(
            m.contains(&format!("# TYPE {name} ")),
            "{} queries {name}, which `ferrite run` does not export",
            file.display()
        );
    }
    let chain_text = std::fs::read_to_string(&chain_log).unwrap();
    let missed = chain_text
        .lines()
        .filter(|l| l.contains("submitted no block in time"))
        .count();
    println!("{submitted}; epochs the chain node made without the miner: {missed}");
    drop(chain);
}

/// Builds a block on the chain node's head with MinerCreateBlock (VRFs
/// signed by the worker key through WalletSign, as the miner signs them)
/// but the head block's WinningPoSt, and submits it: the refusal's message.
/// The miner's own block may land first: then it tries again on the new head.
fn refuse_a_wrong_winning_post(chain: &str, token: &str, miner: &str) -> String {
    use base64::Engine;
    use ferrite_chain::winning;
    let b64 = base64::engine::general_purpose::STANDARD;
    let maddr = ferrite_types::address::parse(miner).unwrap();
    for _ in 0..5 {
        let head = rpc(chain, None, "Filecoin.ChainHead", json!([]))["result"].clone();
        let parent = &head["Blocks"][0];
        let height = head["Height"].as_i64().unwrap() + 1;
        let base = rpc(
            chain,
            None,
            "Filecoin.MinerGetBaseInfo",
            json!([miner, height, head["Cids"]]),
        )["result"]
            .clone();
        assert_eq!(base["EligibleForMining"], true, "{base}");
        let worker = base["WorkerKey"].as_str().unwrap();
        let beacon = b64
            .decode(base["BeaconEntries"][0]["Data"].as_str().unwrap())
            .unwrap();
        let parent_ticket = b64
            .decode(parent["Ticket"]["VRFProof"].as_str().unwrap())
            .unwrap();
        let sign = |data: &[u8]| {
            let s = rpc(
                chain,
                Some(token),
                "Filecoin.WalletSign",
                json!([worker, b64.encode(data)]),
            );
            s["result"]["Data"].clone()
        };
        let ticket = winning::ticket_seed(&maddr, height, &beacon, &parent_ticket).unwrap();
        let (election, _) = winning::mining_seeds(&maddr, height, &beacon).unwrap();
        let template = json!({
            "Miner": miner,
            "Parents": head["Cids"],
            "Ticket": {"VRFProof": sign(&ticket)},
            "Eproof": {"WinCount": 1, "VRFProof": sign(&election)},
            "BeaconValues": base["BeaconEntries"],
            "Messages": [],
            "Epoch": height,
            "Timestamp": parent["Timestamp"].as_u64().unwrap() + 1,
            "WinningPoStProof": parent["WinPoStProof"],
        });
        let created = rpc(
            chain,
            Some(token),
            "Filecoin.MinerCreateBlock",
            json!([template]),
        );
        assert!(
            created["result"]["Header"]["BlockSig"].is_object(),
            "{created}"
        );
        let refused = rpc(
            chain,
            Some(token),
            "Filecoin.SyncSubmitBlock",
            json!([created["result"]]),
        );
        let why = refused["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not refused: {refused}"))
            .to_string();
        if !why.contains("is not the head") {
            return why;
        }
    }
    panic!("the head moved under every try");
}
