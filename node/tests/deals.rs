//! Storage deals end to end, as a user runs them: `ferrite devnet` with its
//! market service, and `ferrite client` (the `boost` client's role) making
//! deals over libp2p, with real 2 KiB proofs.
//!
//! - An online deal (the node pulls the data from the test's HTTP server)
//!   and an offline deal (`ferrite deals import-data`) are accepted,
//!   published in one PublishStorageDeals message, packed into one sector
//!   (through the gRPC worker, which fetches their data from the node),
//!   sealed and activated on chain.
//! - Bad deals are rejected, each with its own reason and none changing
//!   another deal: a price below the ask, a start epoch too soon, a piece
//!   larger than a sector, too little client escrow, a duplicate proposal, and
//!   a deal the operator's filter hangs on. A deal whose data does not match
//!   its piece CID fails with both CIDs and keeps the file; a transfer that
//!   is cut short every time is retried, then fails, and keeps the file.
//!
//! - SnapDeals: a committed-capacity sector pledged at the start is proven
//!   by a Window PoSt; a third deal then goes into it (its replica updated
//!   with ProveReplicaUpdates3, not a new sector), is activated, and the
//!   updated sector passes its next Window PoSt.
//!
//! Two sectors sealed at once (two C2s) and one update proof: about five
//! minutes on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;
#[path = "deals/retrieval.rs"]
mod retrieval;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use common::market::{COLLATERAL, PRICE, deal, head, payload, status, uuid_of, wait_for};
use common::{ferrite, start_devnet_with, stderr, stdout};

/// Serves `/good` (the online deal's data), `/other` (other bytes of the
/// same length) and `/cut` (announces the length, sends half, closes) on a
/// loopback port; returns the base URL.
fn serve(data: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split(' ').nth(1).unwrap_or("/").to_string();
            let (status, body, send): (&str, Vec<u8>, usize) = match path.as_str() {
                "/good" => ("200 OK", data.clone(), data.len()),
                "/other" => (
                    "200 OK",
                    data.iter().map(|b| b ^ 0x5a).collect(),
                    data.len(),
                ),
                "/cut" => ("200 OK", data.clone(), data.len() / 2),
                _ => ("404 Not Found", Vec::new(), 0),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body[..send]);
            let _ = stream.flush();
        }
    });
    base
}

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn online_and_offline_deals_are_published_sealed_and_activated() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("config.toml"),
        r#"
[market]
sealing_lead_epochs = 100
[market.ask]
price_per_gib_epoch = "1000000000000"
[market.publish]
max_deals = 8
wait_secs = 2
[market.transfer]
max_attempts = 2
backoff_secs = 1
max_backoff_secs = 1
timeout_secs = 10
[market.filter]
command = "sh"
args = ["-c", "if grep -q hang-me; then sleep 60; fi"]
timeout_secs = 2
[retrieval.ipni]
interval_secs = 1
[sealing.packing]
max_wait_secs = 3
seal_epochs = 600
snap_deals = true
"#,
    )
    .unwrap();
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    let _node = start_devnet_with(home, &[], log.into());
    let peer_file = home.join("market-peer");
    let started = Instant::now();
    while !peer_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no market-peer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let provider = std::fs::read_to_string(home.join("miner")).unwrap();
    let provider = provider.trim();

    // Two payloads: a 1 KiB piece (online) and a 512 B one (offline, a CAR
    // for the trustless gateway).
    let online = payload(700, 1);
    let (offline, offline_blocks) = retrieval::car_payload();
    assert!(offline.len() <= 508, "{}", offline.len());
    let files = home.join("client");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("online"), &online).unwrap();
    std::fs::write(files.join("offline"), &offline).unwrap();
    std::fs::write(files.join("big"), payload(3000, 3)).unwrap();
    let base = serve(online.clone());
    let file = |name: &str| files.join(name).to_string_lossy().into_owned();

    let add = ferrite(home, &["client", "add-balance", "1"]);
    assert!(add.status.success(), "{}", stderr(&add));
    // A committed-capacity sector, sealed beside the deals' sector, for the
    // SnapDeals deal at the end. Still sealing when the first deals come, so
    // they go into a new sector.
    let pledged = ferrite(home, &["sectors", "pledge"]);
    assert!(pledged.status.success(), "{}", stderr(&pledged));
    let cc = stdout(&pledged)
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.trim_end_matches(':').parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no sector number in {}", stdout(&pledged)));

    // Sealing takes a few hundred 200 ms epochs here: start well after.
    let start = (head(home) + 2500).to_string();
    let common_args = |f: String| -> Vec<String> {
        [
            "--file",
            &f,
            "--start-epoch",
            &start,
            "--price",
            PRICE,
            "--provider-collateral",
            COLLATERAL,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |extra: &[&str], f: &str| {
        let mut args = common_args(file(f));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        deal(home, provider, &args)
    };

    // The good deals.
    let good_url = format!("{base}/good");
    let out = run(&["--url", &good_url], "online").unwrap();
    let online_deal = uuid_of(&out);
    let out = run(&[], "offline").unwrap();
    let offline_deal = uuid_of(&out);
    assert!(out.contains("deals import-data"), "{out}");
    let import = ferrite(
        home,
        &["deals", "import-data", &offline_deal, &file("offline")],
    );
    assert!(import.status.success(), "{}", stderr(&import));

    // Bad deals, each rejected with its reason.
    let rejected = |result: Result<String, String>, want: &str| {
        let err = result.expect_err("the deal was accepted");
        assert!(err.contains(want), "expected {want:?} in: {err}");
    };
    // The online deal's file and URL, with its start epoch and price set.
    let online_at = |start: &str, price: &str| {
        deal(
            home,
            provider,
            &[
                "--file",
                &file("online"),
                "--url",
                &good_url,
                "--start-epoch",
                start,
                "--price",
                price,
                "--provider-collateral",
                COLLATERAL,
            ],
        )
    };
    rejected(online_at(&start, "1"), "below the ask");
    let soon = (head(home) + 5).to_string();
    rejected(online_at(&soon, PRICE), "before a sector can be sealed");
    rejected(
        run(&["--url", &format!("{base}/big")], "big"),
        "piece size 4096 is not accepted",
    );
    rejected(
        online_at(&start, "100000000000000000000000"),
        "does not cover",
    );
    rejected(run(&["--url", &good_url], "online"), "duplicates deal");
    rejected(
        run(&["--url", &good_url, "--label", "hang-me"], "online"),
        "timed out",
    );

    // The same deal messages over HTTP, as Curio serves them (mk12).
    let http_deal = mk12_over_http(home, provider, &files.join("offline"), &start);

    // Data that is not the proposal's piece, and a transfer always cut short.
    let other = format!("{base}/other");
    let mismatch = uuid_of(&run(&["--url", &other, "--label", "mismatch"], "online").unwrap());
    let cut = format!("{base}/cut");
    let truncated = uuid_of(&run(&["--url", &cut, "--label", "cut"], "online").unwrap());

    let failed = wait_for(home, &mismatch, Duration::from_secs(60), |s| {
        s["state"] == "Failed"
    });
    let err = &failed["error"];
    assert!(err.contains("baga"), "both piece CIDs named: {err}");
    assert!(
        home.join("market/staging")
            .join(format!("{mismatch}.data"))
            .exists(),
        "the mismatched data is kept"
    );
    let failed = wait_for(home, &truncated, Duration::from_secs(60), |s| {
        s["state"] == "Failed"
    });
    assert!(failed["error"].contains("bytes"), "{failed:?}");
    assert!(
        home.join("market/staging")
            .join(format!("{truncated}.data"))
            .exists()
    );

    // The good deals: one publish message, one sector, activated.
    let mut sectors = std::collections::HashMap::new();
    let started = Instant::now();
    let finals = loop {
        let now: Vec<_> = [&online_deal, &offline_deal]
            .iter()
            .map(|uuid| {
                let s = status(home, uuid);
                if let Some(n) = s
                    .get("sealing")
                    .and_then(|v| v.strip_prefix("sealing in sector "))
                {
                    sectors.insert((*uuid).clone(), n.to_string());
                }
                s
            })
            .collect();
        if now.iter().all(|s| s["state"] == "Active") {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the deals are stuck: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let published: Vec<String> = finals.iter().map(|s| s["published"].clone()).collect();
    for s in &finals {
        assert!(s.contains_key("deal id"), "{s:?}");
    }
    assert_eq!(published[0], published[1], "published in one message");
    assert_eq!(
        sectors.get(&online_deal),
        sectors.get(&offline_deal),
        "packed into one sector"
    );
    assert_eq!(
        status(home, &http_deal)["state"],
        "Accepted",
        "no data, no publish"
    );
    let deal_sector: u64 = sectors[&online_deal].parse().unwrap();
    assert_ne!(deal_sector, cc, "the deals did not go into the CC sector");
    // Activation lands with the prove-commit; finalizing follows. The CC
    // sector gets there too.
    wait_proving(home, &[deal_sector, cc]);

    retrieval::retrieve_the_deals(
        home,
        (&online_deal, &online),
        (&offline_deal, &offline),
        &offline_blocks,
        deal_sector,
    );

    // The metrics count the deals and the rejections by reason.
    let api = std::fs::read_to_string(home.join("api")).unwrap();
    let metrics_url = api.trim().replace("/rpc/v1", "/metrics");
    let body = reqwest_get(&metrics_url);
    assert!(
        body.contains("ferrite_market_deals{state=\"Active\"} 2"),
        "{body}"
    );
    for reason in [
        "price",
        "start_too_soon",
        "piece_size",
        "client_balance",
        "duplicate",
        "filter",
    ] {
        assert!(
            body.contains(&format!(
                "ferrite_market_rejections_total{{reason=\"{reason}\"}} 1"
            )),
            "{reason}: {body}"
        );
    }

    // The ask changes at run time, and the new one is enforced.
    let ask = |args: &[&str]| {
        let mut all = vec!["deals", "ask"];
        all.extend_from_slice(args);
        ferrite(home, &all)
    };
    let set = ask(&[
        "set",
        "--price",
        "2000000000000",
        "--max-piece-size",
        "1KiB",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    let shown = stdout(&ask(&["get"]));
    assert!(
        shown.contains("price:              2000000000000"),
        "{shown}"
    );
    assert!(shown.contains("to 1024 bytes"), "{shown}");
    assert!(
        shown.contains("set by:             ferrite deals ask set"),
        "{shown}"
    );
    let bad = ask(&["set", "--min-piece-size", "3KiB"]);
    assert!(!bad.status.success(), "a size that is no power of two");
    let start = (head(home) + 2500).to_string();
    rejected(online_at(&start, PRICE), "below the ask");
    let reset = ask(&["set", "--price", PRICE, "--max-piece-size", "2KiB"]);
    assert!(reset.status.success(), "{}", stderr(&reset));

    snap_deal_into_the_cc_sector(home, provider, cc, &files);
}

/// Waits until every sector of `numbers` is Proving.
fn wait_proving(home: &Path, numbers: &[u64]) {
    let started = Instant::now();
    loop {
        let list = stdout(&ferrite(home, &["sectors", "list"]));
        let proving = |n: &u64| {
            list.lines().any(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(&n.to_string()) && l.contains("Proving")
            })
        };
        if numbers.iter().all(proving) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "{list}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `ferrite proving info --json`.
fn proving_info(home: &Path) -> serde_json::Value {
    let o = ferrite(home, &["proving", "info", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The deadline that holds `sector`, from `ferrite proving deadline`.
fn deadline_of(home: &Path, sector: u64) -> u64 {
    let info = proving_info(home);
    let holds = |d: u64| {
        let o = ferrite(home, &["proving", "deadline", &d.to_string()]);
        let text = stdout(&o);
        text.lines().any(|l| {
            l.split_once("sectors [")
                .and_then(|(_, rest)| rest.split_once(']'))
                .is_some_and(|(list, _)| {
                    list.split(|c: char| !c.is_ascii_digit())
                        .any(|n| n == sector.to_string())
                })
        })
    };
    info["NextWithSectors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["Index"].as_u64())
        .find(|d| holds(*d))
        .unwrap_or_else(|| panic!("sector {sector} is in no deadline: {info}"))
}

/// The head's epoch and the deadline with sectors whose window closes next
/// and whose PoSt has not landed in it: (epoch, (deadline, challenge, open)).
fn next_challenge(home: &Path) -> (i64, Option<(u64, i64, i64)>) {
    let info = proving_info(home);
    let epoch = info["Epoch"].as_i64().unwrap();
    let posts = info["RecentPosts"].as_array().cloned().unwrap_or_default();
    let next = info["NextWithSectors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            Some((
                n["Index"].as_u64()?,
                n["Challenge"].as_i64()?,
                n["Open"].as_i64()?,
                n["Close"].as_i64()?,
            ))
        })
        .filter(|(k, _, open, close)| {
            *close > epoch
                && !posts.iter().any(|p| {
                    p["Deadline"].as_u64() == Some(*k) && p["Landed"].as_i64() >= Some(*open)
                })
        })
        .min_by_key(|(_, c, _, _)| *c)
        .map(|(k, c, open, _)| (k, c, open));
    (epoch, next)
}

/// Skips up to `n` epochs with `chain advance` (unelected blocks, fast),
/// never past the epoch before the next window of a deadline with sectors
/// whose PoSt has not landed: there the node proves at once (its challenge
/// is drawn) and sends as the window opens, in real time.
fn skip_epochs(home: &Path, n: i64) {
    let (epoch, next) = next_challenge(home);
    let n = next.map_or(n, |(_, _, open)| n.min(open - 1 - epoch));
    if n > 0 {
        let adv = ferrite(home, &["chain", "advance", &n.to_string()]);
        assert!(adv.status.success(), "{}", stderr(&adv));
    }
}

/// The next Window PoSt of `sector`'s deadline, as `proving info` shows it:
/// skips the chain to the epoch before each deadline with sectors opens, in
/// order (its challenge is drawn by then, so the node proves at once and
/// sends as the window opens), and waits in real time for its PoSt.
fn next_window_post(home: &Path, sector: u64) -> serde_json::Value {
    let d = deadline_of(home, sector);
    let started = Instant::now();
    loop {
        let (epoch, next) = next_challenge(home);
        let Some((k, _, open)) = next else {
            // Every window open now is proven; the next ones are listed
            // once the current one closes.
            skip_epochs(home, 60);
            assert!(
                started.elapsed() < Duration::from_secs(240),
                "no deadline ahead at {epoch}"
            );
            continue;
        };
        if open - 1 > epoch {
            let n = (open - 1 - epoch).to_string();
            let adv = ferrite(home, &["chain", "advance", &n]);
            assert!(adv.status.success(), "{}", stderr(&adv));
        }
        loop {
            let i = proving_info(home);
            let posts = i["RecentPosts"].as_array().cloned().unwrap_or_default();
            let landed = posts
                .iter()
                .find(|p| p["Deadline"].as_u64() == Some(k) && p["Landed"].as_i64() >= Some(open));
            if let Some(post) = landed {
                assert_eq!(post["ExitCode"], 0, "{i}");
                if k == d {
                    return post.clone();
                }
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(240),
                "no Window PoSt of deadline {k}: {i}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// SnapDeals: once the CC sector is proven by a Window PoSt, a deal goes
/// into it rather than into a new sector; the update lands, the deal is
/// activated, the sector's CommR on chain is the new replica's, and the
/// updated sector passes its next Window PoSt.
fn snap_deal_into_the_cc_sector(home: &Path, provider: &str, cc: u64, files: &Path) {
    next_window_post(home, cc);
    let before = stdout(&ferrite(home, &["sectors", "status", &cc.to_string()]));

    std::fs::write(files.join("snap"), payload(400, 4)).unwrap();
    let snap_file = files.join("snap").to_string_lossy().into_owned();
    let start = (head(home) + 800).to_string();
    let out = deal(
        home,
        provider,
        &[
            "--file",
            &snap_file,
            "--start-epoch",
            &start,
            "--price",
            PRICE,
            "--provider-collateral",
            COLLATERAL,
        ],
    )
    .unwrap();
    let snap = uuid_of(&out);
    let import = ferrite(home, &["deals", "import-data", &snap, &snap_file]);
    assert!(import.status.success(), "{}", stderr(&import));
    // Placed in the CC sector, not a new one.
    let placed = wait_for(home, &snap, Duration::from_secs(120), |s| {
        s.get("sealing")
            .is_some_and(|v| v.starts_with("sealing in sector "))
            || s["state"] == "Failed"
    });
    assert_eq!(
        placed.get("sealing").map(String::as_str),
        Some(format!("sealing in sector {cc}").as_str()),
        "{placed:?}"
    );
    // The update waits until the sector's deadline is neither open nor next:
    // the chain skips ahead (fast blocks) while the update is ready.
    let started = Instant::now();
    let active = loop {
        let s = status(home, &snap);
        if s["state"] == "Active" || s["state"] == "Failed" {
            break s;
        }
        let sector = stdout(&ferrite(home, &["sectors", "status", &cc.to_string()]));
        if sector.contains("state:    UpdateReady") {
            skip_epochs(home, 60);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the snap deal is stuck: {s:?}\n{sector}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(active["state"], "Active", "{active:?}");
    wait_proving(home, &[cc]);
    let after = stdout(&ferrite(home, &["sectors", "status", &cc.to_string()]));
    let comm_r = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("CommR:"))
            .map(|l| l.to_string())
            .unwrap_or_else(|| panic!("no CommR in {text}"))
    };
    assert_ne!(comm_r(&before), comm_r(&after), "{before}\n{after}");
    let post = next_window_post(home, cc);
    assert_eq!(post["ExitCode"], 0, "the updated sector's PoSt: {post}");
    let info = proving_info(home);
    assert_eq!(info["Sectors"]["Faulty"], 0, "{info}");
}

/// `/market/mk12`: a store without the API token is refused, a malformed
/// body is a 400 naming the problem, the ask answers in CBOR, and an offline
/// deal signed through the node's wallet is accepted over HTTP and waits for
/// its data. Returns its UUID.
fn mk12_over_http(home: &Path, provider: &str, data: &Path, start: &str) -> String {
    use base64::Engine as _;
    use ferrite_market::wire::{
        AskRequest, AskResponse, DealParams, DealResponse, Transfer, WireMessage,
    };
    use fil_actor_market_state::v18 as market;
    use fvm_shared::address::Address;

    let api = std::fs::read_to_string(home.join("api")).unwrap();
    let base = api.trim().trim_end_matches("/rpc/v1").to_string();
    let token = std::fs::read_to_string(home.join("token")).unwrap();
    let token = token.trim();
    let store = format!("{base}/market/mk12/store");

    let (code, _) = http(
        &store,
        "POST",
        &[("Content-Type", "application/cbor")],
        b"\xa0",
    );
    assert_eq!(code, 401, "a store without the token");
    let auth = format!("Bearer {token}");
    let (code, body) = http(
        &store,
        "POST",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        b"x",
    );
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let (code, body) = http(
        &store,
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/cbor"),
        ],
        b"\x82\x01",
    );
    assert_eq!(code, 400);
    assert!(
        String::from_utf8_lossy(&body).contains("DealParams"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    let miner: Address = provider.parse().unwrap();
    let (code, body) = http(
        &format!("{base}/market/mk12/ask"),
        "GET",
        &[("Content-Type", "application/cbor")],
        &AskRequest { miner }.to_cbor().unwrap(),
    );
    assert_eq!(code, 200);
    let ask = AskResponse::from_cbor(&body)
        .unwrap()
        .ask
        .unwrap()
        .ask
        .unwrap();
    assert_eq!(ask.price.atto().to_string(), PRICE);
    assert_eq!(ask.miner, miner);

    // An offline deal, its proposal signed by the node's wallet.
    let bytes = std::fs::read(data).unwrap();
    let size = ferrite_types::PaddedPieceSize::for_payload(bytes.len() as u64).unwrap();
    let source = std::io::Read::chain(&bytes[..], std::io::repeat(0));
    let piece = ferrite_proofs::commp::piece_commitment(
        std::io::Read::take(source, size.unpadded().bytes()),
        size.unpadded(),
    )
    .unwrap();
    let client: String = rpc(
        &base,
        token,
        "Filecoin.WalletDefaultAddress",
        serde_json::json!([]),
    );
    let start: i64 = start.parse().unwrap();
    let per_epoch = (PRICE.parse::<u128>().unwrap() * u128::from(size.bytes())).div_ceil(1 << 30);
    let proposal = market::DealProposal {
        piece_cid: piece.comm_p.to_cid(),
        piece_size: fvm_shared::piece::PaddedPieceSize(size.bytes()),
        verified_deal: false,
        client: client.parse().unwrap(),
        provider: miner,
        label: market::Label::String("over http".to_string()),
        start_epoch: start,
        end_epoch: start + 518_400,
        storage_price_per_epoch: fvm_shared::econ::TokenAmount::from_atto(per_epoch),
        provider_collateral: fvm_shared::econ::TokenAmount::from_atto(
            COLLATERAL.parse::<u64>().unwrap(),
        ),
        client_collateral: Default::default(),
    };
    let signed: serde_json::Value = rpc(
        &base,
        token,
        "Filecoin.WalletSign",
        serde_json::json!([
            client,
            base64::engine::general_purpose::STANDARD
                .encode(fvm_ipld_encoding::to_vec(&proposal).unwrap())
        ]),
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signed["Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(signed["Type"], 1, "the default address is a secp256k1 key");
    let uuid = ferrite_market::deal::DealUuid::new_random();
    let params = DealParams {
        deal_uuid: uuid,
        is_offline: true,
        client_deal_proposal: market::ClientDealProposal {
            proposal,
            client_signature: fvm_shared::crypto::signature::Signature::new_secp256k1(sig),
        },
        deal_data_root: piece.comm_p.to_cid(),
        transfer: Transfer {
            kind: String::new(),
            client_id: String::new(),
            params: Vec::new(),
            size: 0,
        },
        remove_unsealed_copy: false,
        skip_ipni_announce: false,
    };
    let (code, body) = http(
        &store,
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/cbor"),
        ],
        &params.to_cbor().unwrap(),
    );
    assert_eq!(code, 200);
    let answer = DealResponse::from_cbor(&body).unwrap();
    assert!(answer.accepted, "{}", answer.message);
    let s = status(home, &uuid.to_string());
    assert_eq!(s["state"], "Accepted", "{s:?}");
    uuid.to_string()
}

/// A JSON-RPC call to the node.
fn rpc<T: serde::de::DeserializeOwned>(
    base: &str,
    token: &str,
    method: &str,
    params: serde_json::Value,
) -> T {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let auth = format!("Bearer {token}");
    let (code, out) = http(
        &format!("{base}/rpc/v1"),
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    serde_json::from_value(v["result"].clone()).unwrap_or_else(|e| panic!("{method}: {e}: {v}"))
}

/// One HTTP/1.0 request on loopback: the status code and the body.
fn http(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let mut req = format!(
        "{method} /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, out[split + 4..].to_vec())
}

/// A plain HTTP GET on loopback.
fn reqwest_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}
