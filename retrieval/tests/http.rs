//! `/piece/` and `/ipfs/` over a real HTTP server on loopback, over a real
//! piece index (in memory) and a Fr32-padded unsealed file, with an
//! unsealer that makes the copy by copying a file (the node's e2e test
//! unseals with real proofs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cid::Cid;
use ferrite_market::deal::DealUuid;
use ferrite_market::index::{PieceIndex, PieceLocation, TABLES};
use ferrite_retrieval::dag;
use ferrite_retrieval::{Retrieval, RetrievalConfig, RetrievalMetrics, SectorAccess, Unsealer};
use ferrite_store::{MemDb, Store};
use ferrite_types::{CommP, PaddedPieceSize, PieceCidV2, SectorNumber};
use ipld_core::ipld::Ipld;
use multihash_codetable::{Code, MultihashDigest};
use tokio::sync::watch;

/// The pieces: A at 0 (2 KiB padded), B at 2048 (2 KiB), C at 4096 (a CAR
/// of a dag-cbor root linking to two raw blocks), all in sector 1.
const PIECE: u64 = 2048;

struct Disk {
    dir: PathBuf,
}

impl SectorAccess for Disk {
    fn unsealed(&self, sector: SectorNumber) -> Option<PathBuf> {
        let p = self.dir.join(format!("unsealed-{}", sector.0));
        p.is_file().then_some(p)
    }
}

/// "Unseals" by copying the padded original into place, slowly.
struct CopyUnsealer {
    dir: PathBuf,
    original: PathBuf,
    calls: AtomicUsize,
}

#[async_trait]
impl Unsealer for CopyUnsealer {
    async fn unseal(&self, sector: SectorNumber) -> anyhow::Result<PathBuf> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let p = self.dir.join(format!("unsealed-{}", sector.0));
        std::fs::copy(&self.original, &p)?;
        Ok(p)
    }
}

fn sha256(codec: u64, data: &[u8]) -> Cid {
    Cid::new_v1(codec, Code::Sha2_256.digest(data))
}

/// A CARv1 of a dag-cbor root linking to two raw leaves, and its blocks.
fn car() -> (Vec<u8>, Vec<(Cid, Vec<u8>)>) {
    let l1 = b"first leaf".to_vec();
    let l2 = b"second leaf, a little longer".to_vec();
    let (c1, c2) = (sha256(0x55, &l1), sha256(0x55, &l2));
    let root = serde_ipld_dagcbor::to_vec(&Ipld::Map(
        [
            ("name".to_string(), Ipld::String("two leaves".into())),
            (
                "leaves".to_string(),
                Ipld::List(vec![Ipld::Link(c1), Ipld::Link(c2)]),
            ),
        ]
        .into(),
    ))
    .unwrap();
    let root_cid = sha256(0x71, &root);
    let blocks = vec![(root_cid, root), (c1, l1), (c2, l2)];
    let mut car = dag::car_header(&[root_cid]).unwrap();
    for (c, d) in &blocks {
        car.extend(dag::car_section(c, d));
    }
    (car, blocks)
}

fn pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    fr32::Fr32Reader::new(Cursor::new(data))
        .read_to_end(&mut out)
        .unwrap();
    out
}

struct Fixture {
    base: String,
    a: Vec<u8>,
    b_payload: Vec<u8>,
    comm_a: CommP,
    v2_b: PieceCidV2,
    /// The CAR's blocks, root first.
    dag: Vec<(Cid, Vec<u8>)>,
    unsealer: Arc<CopyUnsealer>,
    metrics: RetrievalMetrics,
    retrieval: Arc<Retrieval>,
    index: PieceIndex,
    dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

async fn start(cfg: RetrievalConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    // A fills its piece; B's payload is 1000 bytes, zero-filled after.
    let unpadded = (PIECE / 128 * 127) as usize;
    let a: Vec<u8> = (0..unpadded).map(|i| (i * 7 % 251) as u8).collect();
    let b_payload: Vec<u8> = (0..1000).map(|i| (i * 13 % 241) as u8).collect();
    let mut b = b_payload.clone();
    b.resize(unpadded, 0);
    let (car, dag) = car();
    let mut c = car.clone();
    c.resize(unpadded, 0);
    let mut file = pad(&a);
    file.extend_from_slice(&pad(&b));
    file.extend_from_slice(&pad(&c));
    assert_eq!(file.len() as u64, 3 * PIECE);
    let original = dir.path().join("original");
    std::fs::write(&original, &file).unwrap();
    std::fs::copy(&original, dir.path().join("unsealed-1")).unwrap();

    let index = PieceIndex::new(Store::new(MemDb::new(TABLES)).unwrap());
    let size = PaddedPieceSize::new(PIECE).unwrap();
    let comm_a = CommP([1; 32]);
    let comm_b = CommP([2; 32]);
    let at = |offset: u64, payload: u64| PieceLocation {
        deal: DealUuid::new_random(),
        sector: SectorNumber(1),
        offset,
        size,
        payload,
    };
    index.add_piece(comm_a, at(0, unpadded as u64)).unwrap();
    index.add_piece(comm_b, at(PIECE, 1000)).unwrap();
    let v2_b = PieceCidV2::new(comm_b, size, 1000).unwrap();
    let comm_c = CommP([3; 32]);
    index
        .add_piece(comm_c, at(2 * PIECE, car.len() as u64))
        .unwrap();
    index.index_car(comm_c, Cursor::new(&car)).unwrap();

    let unsealer = Arc::new(CopyUnsealer {
        dir: dir.path().to_path_buf(),
        original,
        calls: AtomicUsize::new(0),
    });
    let metrics = RetrievalMetrics::unregistered().unwrap();
    let r = Retrieval::new(
        cfg,
        index.clone(),
        Arc::new(Disk {
            dir: dir.path().to_path_buf(),
        }),
        unsealer.clone(),
        metrics.clone(),
        None,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = watch::channel(false);
    tokio::spawn(r.clone().serve(listener, rx));
    Fixture {
        base,
        a,
        b_payload,
        comm_a,
        v2_b,
        dag,
        unsealer,
        metrics,
        retrieval: r,
        index,
        dir,
        _stop: stop,
    }
}

/// The status of `GET path`, the path sent exactly as given.
async fn raw_status(base: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

fn get(url: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(url)
}

#[tokio::test]
async fn pieces_ranges_and_bad_requests() {
    let f = start(RetrievalConfig::default()).await;
    let a_url = format!("{}/piece/{}", f.base, f.comm_a);
    let b_url = format!("{}/piece/{}", f.base, f.v2_b);

    // v1: the whole unpadded piece, with the headers clients rely on.
    let resp = get(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["content-length"], f.a.len().to_string());
    assert_eq!(h["etag"], format!("\"{}\"", f.comm_a));
    assert_eq!(h["cache-control"], "public, max-age=29030400, immutable");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.a[..]);

    // v2: the payload only.
    let resp = get(&b_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.b_payload[..]);

    // HEAD: the headers, no body.
    let resp = reqwest::Client::new().head(&b_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "1000");
    assert!(resp.bytes().await.unwrap().is_empty());

    // One range.
    let resp = get(&a_url)
        .header("Range", "bytes=100-299")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes 100-299/{}", f.a.len())
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.a[100..300]);
    let resp = get(&b_url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.b_payload[990..]);

    // Several ranges: multipart/byteranges with each part's bytes.
    let resp = get(&a_url)
        .header("Range", "bytes=0-9,500-509")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap()
        .to_string();
    let declared: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(text.matches(&format!("--{boundary}")).count(), 3);
    assert!(text.contains(&format!("Content-Range: bytes 500-509/{}", f.a.len())));
    let at = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(&body[at + 4..at + 14], &f.a[0..10]);

    // Past the end: 416 with the length.
    let resp = get(&b_url)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");

    // If-None-Match with the ETag: 304.
    let resp = get(&a_url)
        .header("If-None-Match", format!("\"{}\"", f.comm_a))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    // Unknown piece: 404. Malformed CIDs, a CID that is no piece, path
    // tricks: 400 or 404, never a file.
    let unknown = CommP([9; 32]);
    let resp = get(&format!("{}/piece/{unknown}", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("not stored here"));
    // Sent byte for byte, so no client normalizes the path first.
    for (path, status) in [
        ("/piece/notacid", 400),
        (
            "/piece/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            400,
        ),
        ("/piece/..%2F..%2Fetc%2Fpasswd", 400),
        ("/piece/%2e%2e", 400),
        ("/piece/a/../../etc/passwd", 404),
        ("/piece/", 404),
        ("/nothing", 404),
        ("/piece/%2e%2e/%2e%2e/etc/passwd", 404),
        ("/piece/..", 400),
    ] {
        assert_eq!(raw_status(&f.base, path).await, status, "{path}");
    }
    // A v2 CID whose sizes disagree with the stored piece names another piece.
    let wrong = PieceCidV2::new(f.v2_b.comm_p(), f.v2_b.size(), 999).unwrap();
    let resp = get(&format!("{}/piece/{wrong}", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // /health and /info answer.
    let resp = get(&format!("{}/health", f.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let info = get(&format!("{}/info", f.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["server"], "ferrite");

    let m = &f.metrics;
    assert_eq!(m.requests.with_label_values(&["piece", "200"]).get(), 3);
    assert_eq!(m.requests.with_label_values(&["piece", "206"]).get(), 3);
    assert_eq!(m.requests.with_label_values(&["piece", "416"]).get(), 1);
    // The bodies: A whole, B's payload, 200 + 10 range bytes, 20 in parts
    // (whose framing counts too).
    let bodies = (f.a.len() + 1000 + 200 + 10 + 20) as u64;
    let sent = m.bytes.with_label_values(&["piece"]).get();
    assert!((bodies..bodies + 400).contains(&sent), "{sent}");
    assert_eq!(m.transfers.get(), 0);
    assert_eq!(f.unsealer.calls.load(Ordering::SeqCst), 0);
    assert_eq!(open_handles(&f.dir.path().join("unsealed-1")), 0);
}

#[tokio::test]
async fn one_unseal_for_ten_requests_and_a_vanishing_client_frees_its_slot() {
    let f = start(RetrievalConfig::default()).await;
    std::fs::remove_file(f.dir.path().join("unsealed-1")).unwrap();
    let a_url = format!("{}/piece/{}", f.base, f.comm_a);
    // HEAD answers from the index: no unseal.
    let resp = reqwest::Client::new().head(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(f.unsealer.calls.load(Ordering::SeqCst), 0);

    let gets: Vec<_> = (0..10)
        .map(|_| {
            let url = a_url.clone();
            tokio::spawn(async move { get(&url).send().await.unwrap().bytes().await.unwrap() })
        })
        .collect();
    for g in gets {
        assert_eq!(g.await.unwrap().as_ref(), &f.a[..]);
    }
    assert_eq!(f.unsealer.calls.load(Ordering::SeqCst), 1);
    assert_eq!(f.metrics.unseals.with_label_values(&["ok"]).get(), 1);

    // A client that reads a little and goes away: its transfer ends.
    let mut resp = get(&a_url).send().await.unwrap();
    let _ = resp.chunk().await.unwrap();
    drop(resp);
    for _ in 0..50 {
        if f.metrics.transfers.get() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(f.metrics.transfers.get(), 0);
    // And no file handle on the copy is left open.
    let copy = f.dir.path().join("unsealed-1");
    for _ in 0..50 {
        if open_handles(&copy) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open_handles(&copy), 0);
}

#[tokio::test]
async fn cached_pieces_go_out_with_sendfile_without_their_unsealed_copy() {
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = RetrievalConfig::default();
    cfg.cache.dir = cache.path().to_path_buf();
    let f = start(cfg).await;
    let a_url = format!("{}/piece/{}", f.base, f.comm_a);
    let b_url = format!("{}/piece/{}", f.base, f.v2_b);
    // The first GETs are served from the unsealed copy, and fill the cache.
    for url in [&a_url, &b_url] {
        let resp = get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let _ = resp.bytes().await.unwrap();
    }
    for _ in 0..250 {
        if f.metrics.cache.with_label_values(&["filled"]).get() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(f.metrics.cache.with_label_values(&["filled"]).get(), 2);
    assert_eq!(f.retrieval.sendfile_bytes(), 0);

    // Without the unsealed copy, the cache serves, and nothing unseals.
    std::fs::remove_file(f.dir.path().join("unsealed-1")).unwrap();
    let resp = get(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], f.a.len().to_string());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.a[..]);
    let resp = get(&b_url).send().await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.b_payload[..]);
    let resp = get(&a_url)
        .header("Range", "bytes=100-299")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.a[100..300]);
    let resp = get(&b_url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.b_payload[990..]);
    let resp = get(&a_url)
        .header("Range", "bytes=0-9,500-509")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    let body = resp.bytes().await.unwrap();
    let at = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(&body[at + 4..at + 14], &f.a[0..10]);
    let rest = &body[at + 14..];
    let at = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(&rest[at + 4..at + 14], &f.a[500..510]);
    assert_eq!(f.unsealer.calls.load(Ordering::SeqCst), 0);
    assert_eq!(f.metrics.cache.with_label_values(&["hit"]).get(), 5);
    // Every body byte above went out with sendfile.
    let sent = (f.a.len() + 1000 + 200 + 10 + 20) as u64;
    assert_eq!(f.retrieval.sendfile_bytes(), sent);

    // A piece whose deal is gone is not served, cached or not.
    let deal = f.index.locations(&f.comm_a).unwrap()[0].deal;
    f.index.remove_deal(deal).unwrap();
    assert_eq!(get(&a_url).send().await.unwrap().status(), 404);
}

/// This process's open file descriptors on `path`.
fn open_handles(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}

#[tokio::test]
async fn the_cap_answers_429_and_no_wait_answers_503() {
    let cfg = RetrievalConfig {
        max_concurrent_transfers: 1,
        // 1 KiB/s: a 2 KiB body holds its slot for about a second.
        max_bytes_per_second_per_client: 1024,
        unseal: ferrite_retrieval::config::UnsealConfig {
            wait: false,
            retry_after_secs: 7,
            keep_secs: 0,
        },
        ..Default::default()
    };
    let f = start(cfg).await;
    let a_url = format!("{}/piece/{}", f.base, f.comm_a);
    let slow = get(&a_url).send().await.unwrap();
    assert_eq!(slow.status(), 200);
    let resp = get(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let started = std::time::Instant::now();
    assert_eq!(slow.bytes().await.unwrap().as_ref(), &f.a[..]);
    // 2032 bytes at 1 KiB/s with a one-second burst: about a second.
    assert!(started.elapsed() >= Duration::from_millis(500));

    std::fs::remove_file(f.dir.path().join("unsealed-1")).unwrap();
    let resp = get(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "7");
    // The unseal goes on; the copy comes back.
    for _ in 0..100 {
        if f.dir.path().join("unsealed-1").exists() && f.unsealer.calls.load(Ordering::SeqCst) == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let resp = get(&a_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &f.a[..]);
}

#[tokio::test]
async fn the_gateway_serves_blocks_and_cars() {
    let f = start(RetrievalConfig::default()).await;
    let (root, root_bytes) = f.dag[0].clone();
    let ipfs = |rest: &str| format!("{}/ipfs/{rest}", f.base);

    // A raw block, by query or by Accept; a CIDv1 of another codec naming
    // the same bytes finds the same block.
    let resp = get(&ipfs(&format!("{root}?format=raw")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.ipld.raw");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &root_bytes[..]);
    let (leaf, leaf_bytes) = f.dag[2].clone();
    let resp = get(&ipfs(&leaf.to_string()))
        .header("Accept", "application/vnd.ipld.raw")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"],
        leaf_bytes.len().to_string()
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &leaf_bytes[..]);

    // The whole DAG as a CAR: every block, each hashing to its CID.
    let resp = get(&ipfs(&format!("{root}?format=car")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let car = resp.bytes().await.unwrap();
    let got = read_car(&car);
    assert_eq!(got, f.dag);
    // dag-scope=block: the root alone.
    let resp = get(&ipfs(&format!("{root}?format=car&dag-scope=block")))
        .send()
        .await
        .unwrap();
    let got = read_car(&resp.bytes().await.unwrap());
    assert_eq!(got, f.dag[..1]);

    // HEAD answers from the index.
    let resp = reqwest::Client::new()
        .head(ipfs(&format!("{root}?format=raw")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"],
        root_bytes.len().to_string()
    );

    // A CID not stored: 404; malformed: 400; no trustless format: 400;
    // a CAR variant we do not write: 400; path tricks: 400.
    let absent = sha256(0x55, b"not stored");
    let resp = get(&ipfs(&format!("{absent}?format=raw")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    for (path, status) in [
        ("/ipfs/notacid?format=raw", 400),
        (&format!("/ipfs/{root}")[..], 400),
        (
            &format!("/ipfs/{root}?format=car&dag-scope=everything")[..],
            400,
        ),
        (&format!("/ipfs/{root}?format=car&car-dups=y")[..], 400),
        (&format!("/ipfs/{root}/a%2Fb?format=car")[..], 400),
        (&format!("/ipfs/{root}/../x?format=car")[..], 400),
        (&format!("/ipfs/{root}/name?format=car")[..], 400),
    ] {
        assert_eq!(raw_status(&f.base, path).await, status, "{path}");
    }
    assert_eq!(
        f.metrics.requests.with_label_values(&["ipfs", "200"]).get(),
        5
    );
    assert_eq!(f.metrics.transfers.get(), 0);
}

/// The blocks of a CARv1, read with fvm_ipld_car, each hash checked here.
fn read_car(car: &[u8]) -> Vec<(Cid, Vec<u8>)> {
    let r = fvm_ipld_car::CarReader::new(Cursor::new(car.to_vec())).unwrap();
    let mut out = Vec::new();
    for b in r {
        let b = b.unwrap();
        assert_eq!(
            Cid::new_v1(b.cid.codec(), Code::Sha2_256.digest(&b.data)),
            b.cid
        );
        out.push((b.cid, b.data));
    }
    out
}
