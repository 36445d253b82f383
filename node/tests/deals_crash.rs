//! The market survives `kill -9`: the node is killed while a deal's data
//! is transferring, and again while a deal is publishing; after each
//! restart (same home, same flags) the deal carries on, and each deal is
//! published exactly once.
//!
//! - Transfer: the test's HTTP server sends the first half of the online
//!   deal's data and holds the connection; the node is killed once the
//!   half is in its staging file. After the restart the pull resumes with
//!   `Range: bytes=HALF-` and the deal is published.
//! - Publish: the devnet produces blocks only when the test asks
//!   (`Ferrite.ChainAdvance`; its own block time is an hour), so the
//!   offline deal's PublishStorageDeals message stays in the mpool and the
//!   deal in `Publishing`. The node is killed there; after the restart the
//!   message is still in the (persisted) mpool, the deal still waits on
//!   it, and once blocks come it is published by that message.
//! - Exactly once: `Filecoin.StateMarketDeals` holds one deal per
//!   proposal (matched by label and piece CID).
//!
//! The test does not wait for sealing (the sector waits for more deals):
//! a deal is done here once it is past publishing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::market::{COLLATERAL, PRICE, deal, head, payload, status, uuid_of, wait_for};
use common::{Node, ferrite, stderr};
use serde_json::{Value, json};

/// States a deal is in once it is past publishing.
const PUBLISHED: [&str; 4] = ["Published", "AddingToSector", "Sealing", "Active"];

/// An HTTP server for one payload that sends its first half, then holds
/// the connection until [`SlowServer::release`]; a request with
/// `Range: bytes=N-` gets a 206 with the bytes from N, after the release
/// too. It records each request's range start.
struct SlowServer {
    url: String,
    ranges: Arc<Mutex<Vec<Option<u64>>>>,
    released: Arc<AtomicBool>,
}

impl SlowServer {
    fn start(data: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/data", listener.local_addr().unwrap());
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new(AtomicBool::new(false));
        let data = Arc::new(data);
        let (r, rel) = (ranges.clone(), released.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (data, ranges, released) = (data.clone(), r.clone(), rel.clone());
                std::thread::spawn(move || serve_slowly(stream, &data, &ranges, &released));
            }
        });
        Self {
            url,
            ranges,
            released,
        }
    }

    fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }

    fn ranges(&self) -> Vec<Option<u64>> {
        self.ranges.lock().unwrap().clone()
    }
}

fn serve_slowly(
    mut stream: std::net::TcpStream,
    data: &[u8],
    ranges: &Mutex<Vec<Option<u64>>>,
    released: &AtomicBool,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range:") {
            range = v
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<u64>().ok());
        }
    }
    ranges.lock().unwrap().push(range);
    let wait_release = || {
        while !released.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let len = data.len();
    match range {
        Some(from) if from > 0 => {
            wait_release();
            let from = usize::try_from(from).unwrap().min(len);
            let _ = write!(
                stream,
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                len - 1,
                len - from
            );
            let _ = stream.write_all(&data[from..]);
        }
        _ => {
            let half = len / 2;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(&data[..half]);
            let _ = stream.flush();
            wait_release();
            // The node that asked may be dead by now: the write fails then.
            let _ = stream.write_all(&data[half..]);
        }
    }
    let _ = stream.flush();
}

/// Starts `ferrite devnet` in `home` with an hour's block time (blocks come
/// from [`Blocks`]), the market on a free port, its log appended to
/// `<home>/node.log`; waits for its API. The `api` and `market-peer` files
/// of a killed node are removed first, so the wait is for this one's.
fn start_node(home: &Path) -> Node {
    for f in ["api", "market-peer"] {
        let _ = std::fs::remove_file(home.join(f));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("node.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .arg("--home")
        .arg(home)
        .args([
            "devnet",
            "--block-time-ms",
            "3600000",
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
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let node = Node(child);
    let started = Instant::now();
    while !home.join("api").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the devnet did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    node
}

/// Prints the node's log when the test fails, before its home is removed.
struct LogOnPanic(std::path::PathBuf);

impl Drop for LogOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            let lines: Vec<&str> = log.lines().filter(|l| !l.contains("new block")).collect();
            eprintln!("--- {} (last 60 lines) ---", self.0.display());
            for l in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{l}");
            }
        }
    }
}

/// `kill -9` (the child's `kill` sends SIGKILL), and reaps it.
fn kill_9(node: &mut Node) {
    let pid = node.0.id();
    node.0.kill().unwrap();
    let status = node.0.wait().unwrap();
    println!("killed the node (pid {pid}) with SIGKILL: {status}");
}

/// A JSON-RPC call to the devnet in `home` (URL from `<home>/api`, admin
/// token from `<home>/token`), over plain HTTP/1.0: the result, or the
/// error (a transport error too, as when the node is down).
fn rpc(home: &Path, method: &str, params: Value) -> Result<Value, String> {
    let read = |f: &str| {
        std::fs::read_to_string(home.join(f))
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("read {f}: {e}"))
    };
    let (api, token) = (read("api")?, read("token")?);
    let rest = api.strip_prefix("http://").ok_or("api is not http")?;
    let (host, path) = rest.split_once('/').ok_or("api has no path")?;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "POST /{path} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (_, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP body in {response:?}"))?;
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    match v.get("error") {
        Some(e) if !e.is_null() => Err(e.to_string()),
        _ => Ok(v["result"].clone()),
    }
}

/// The CIDs of the messages in the mpool, with their `To` and `Method`.
fn mpool(home: &Path) -> Vec<(String, String, u64)> {
    let pending = rpc(home, "Filecoin.MpoolPending", json!([null])).unwrap();
    pending
        .as_array()
        .unwrap()
        .iter()
        .map(|sm| {
            (
                sm["CID"]["/"].as_str().unwrap_or_default().to_string(),
                sm["Message"]["To"].as_str().unwrap_or_default().to_string(),
                sm["Message"]["Method"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// The test's block producer: a thread that asks the devnet for one block
/// (`Ferrite.ChainAdvance`) every 200 ms while it runs; calls that fail
/// (the node is down) are skipped.
struct Blocks {
    running: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Held while a block is being made, so `pause` returns only after it.
    making: Arc<Mutex<()>>,
}

impl Blocks {
    fn start(home: &Path) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let making = Arc::new(Mutex::new(()));
        let (r, s, m, home) = (
            running.clone(),
            stop.clone(),
            making.clone(),
            home.to_path_buf(),
        );
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                {
                    let _making = m.lock().unwrap();
                    if r.load(Ordering::SeqCst) {
                        let _ = rpc(&home, "Ferrite.ChainAdvance", json!([1]));
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            running,
            stop,
            making,
        }
    }

    fn pause(&self) {
        self.running.store(false, Ordering::SeqCst);
        drop(self.making.lock().unwrap());
    }

    fn resume(&self) {
        self.running.store(true, Ordering::SeqCst);
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn is_published(s: &HashMap<String, String>) -> bool {
    PUBLISHED.contains(&s["state"].as_str())
}

/// The deals on chain whose proposal has `label`: (deal id, piece CID).
fn chain_deals_labelled(home: &Path, label: &str) -> Vec<(String, String)> {
    let deals = rpc(home, "Filecoin.StateMarketDeals", json!([null])).unwrap();
    deals
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, d)| d["Proposal"]["Label"] == label)
        .map(|(id, d)| {
            (
                id.clone(),
                d["Proposal"]["PieceCID"]["/"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Asserts that the deal is on chain exactly once, under its deal id and
/// with its piece.
fn assert_published_once(home: &Path, label: &str, s: &HashMap<String, String>) {
    let on_chain = chain_deals_labelled(home, label);
    let piece = s["piece"].split_whitespace().next().unwrap().to_string();
    assert_eq!(
        on_chain,
        vec![(s["deal id"].clone(), piece)],
        "deal {label:?} on chain: {on_chain:?}, status {s:?}"
    );
}

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn deals_survive_kill_9_while_transferring_and_publishing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let _log = LogOnPanic(home.join("node.log"));
    // The sector waits an hour for more deals: nothing seals during the test.
    std::fs::write(
        home.join("config.toml"),
        r#"
[market]
sealing_lead_epochs = 100
[market.ask]
price_per_gib_epoch = "1000000000000"
[market.publish]
max_deals = 8
wait_secs = 1
[market.transfer]
max_attempts = 3
backoff_secs = 1
max_backoff_secs = 1
timeout_secs = 60
[sealing.packing]
max_wait_secs = 3600
seal_epochs = 600
"#,
    )
    .unwrap();
    let mut node = start_node(home);
    println!("node pid {}", node.0.id());
    let blocks = Blocks::start(home);
    let provider = std::fs::read_to_string(home.join("miner")).unwrap();
    let provider = provider.trim().to_string();

    // A 1 KiB piece pulled slowly, and a 512 B one imported.
    let online = payload(700, 1);
    let offline = payload(300, 2);
    let files = home.join("client");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("online"), &online).unwrap();
    std::fs::write(files.join("offline"), &offline).unwrap();
    let file = |name: &str| files.join(name).to_string_lossy().into_owned();
    let server = SlowServer::start(online.clone());

    let add = ferrite(home, &["client", "add-balance", "1"]);
    assert!(add.status.success(), "{}", stderr(&add));
    let start = (head(home) + 2500).to_string();
    let make_deal = |label: &str, f: &str, extra: &[&str]| {
        let path = file(f);
        let mut args = vec![
            "--file",
            &path,
            "--start-epoch",
            &start,
            "--price",
            PRICE,
            "--provider-collateral",
            COLLATERAL,
            "--label",
            label,
        ];
        args.extend_from_slice(extra);
        uuid_of(&deal(home, &provider, &args).unwrap())
    };
    let online_deal = make_deal("crash-transfer", "online", &["--url", &server.url]);
    // The offline deal waits for its data through the first crash.
    let offline_deal = make_deal("crash-publish", "offline", &[]);

    // 1. Killed while transferring: half the data is in the staging file.
    let staged = home
        .join("market/staging")
        .join(format!("{online_deal}.data"));
    let half = (online.len() / 2) as u64;
    let t = Instant::now();
    let at_kill = loop {
        let s = status(home, &online_deal);
        let on_disk = std::fs::metadata(&staged).map(|m| m.len()).unwrap_or(0);
        if s["state"] == "Transferring" && on_disk >= half {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the transfer did not start: {s:?}, {on_disk} bytes staged"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "transfer crash: {} ({}), {half} bytes staged",
        at_kill["state"], at_kill["received"]
    );
    kill_9(&mut node);
    assert_eq!(std::fs::metadata(&staged).unwrap().len(), half);
    node = start_node(home);
    println!("restarted: pid {}", node.0.id());
    server.release();
    let online_done = wait_for(home, &online_deal, Duration::from_secs(60), is_published);
    println!("online deal after the restart: {online_done:?}");
    assert_eq!(
        server.ranges(),
        vec![None, Some(half)],
        "one pull from the start, killed; one resumed after the half on disk"
    );
    assert_eq!(
        online_done["received"],
        format!("{} of {} bytes", online.len(), online.len())
    );
    assert!(online_done.contains_key("deal id"), "{online_done:?}");

    // 2. Killed while publishing: blocks come only when the test makes
    // them, and only to land the provider's collateral top-up (AddBalance,
    // method 2 to the market actor f05), which the node waits for before it
    // signs the publish message.
    blocks.pause();
    let import = ferrite(
        home,
        &["deals", "import-data", &offline_deal, &file("offline")],
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let t = Instant::now();
    let publishing = loop {
        let pending = mpool(home);
        let s = status(home, &offline_deal);
        if s["state"] == "Publishing" {
            break s;
        }
        // The mpool was read before the deal was seen short of Publishing,
        // and the top-up it holds keeps the publish message unsigned, so
        // this block cannot carry the publish message.
        if pending
            .iter()
            .any(|(_, to, m)| to.get(1..) == Some("05") && *m == 2)
        {
            // Two blocks: one carries it, the next executes it.
            rpc(home, "Ferrite.ChainAdvance", json!([2])).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the offline deal did not reach Publishing: {s:?}, mpool {pending:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let message = publishing["published"].clone();
    assert!(!message.is_empty(), "{publishing:?}");
    // The CID is recorded before the push: wait for the push.
    let t = Instant::now();
    while !mpool(home).iter().any(|(c, _, _)| *c == message) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{message} not pushed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("publish crash: Publishing, message {message} in the mpool");
    kill_9(&mut node);
    node = start_node(home);
    println!("restarted: pid {}", node.0.id());
    assert!(
        mpool(home).iter().any(|(c, _, _)| *c == message),
        "the publish message survives the restart in the mpool"
    );
    // A few driver steps with no block: the deal keeps waiting on its message.
    std::thread::sleep(Duration::from_secs(3));
    let waiting = status(home, &offline_deal);
    assert_eq!(waiting["state"], "Publishing", "{waiting:?}");
    assert_eq!(waiting["published"], message, "{waiting:?}");
    blocks.resume();
    let offline_done = wait_for(home, &offline_deal, Duration::from_secs(60), is_published);
    println!("offline deal after the restart: {offline_done:?}");
    assert_eq!(
        offline_done["published"], message,
        "published by the message signed before the crash"
    );
    assert!(offline_done.contains_key("deal id"), "{offline_done:?}");

    // 3. Exactly once on chain, and the online deal too.
    assert_published_once(home, "crash-transfer", &online_done);
    assert_published_once(home, "crash-publish", &offline_done);
    assert_ne!(online_done["deal id"], offline_done["deal id"]);
    drop(blocks);
    drop(node);
    println!("done in {:?}", started.elapsed());
}
