//! Sector files between hosts over loopback HTTP: a whole sector fetched
//! byte for byte, resumes after a cut connection and from a partial file,
//! hash and size checks, a full disk, and the server's refusals (path
//! tricks, missing token, ranges past the end).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use ferrite_cluster::transfer::{
    ExpectedFile, Fetcher, Manifest, SectorDir, SectorFileKind, Sha256Digest, TransferError,
    TransferToken, partial_path, sector_files_router, sector_url,
};
use ferrite_types::{ActorId, SectorId, SectorNumber};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "test-token";
const SECRET: &[u8] = b"TOP SECRET, outside every root";

/// Deterministic bytes that differ at every offset and between seeds.
fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    status: u16,
    content_length: Option<u64>,
}

/// A host holding one sector (and some traps), served on 127.0.0.1:0 with
/// every request logged.
struct Host {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
    sector: SectorDir,
    sealed: Vec<u8>,
    unsealed: Vec<u8>,
    cache: Vec<(&'static str, Vec<u8>)>,
}

impl Host {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Two roots: the first is empty, so lookups go on to the second.
        let seal = dir.path().join("seal");
        let store = dir.path().join("store");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&seal).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), SECRET).unwrap();
        std::fs::create_dir_all(outside.join("s-t01000-3/cache")).unwrap();
        std::fs::write(outside.join("s-t01000-3/sealed"), SECRET).unwrap();

        let sector = SectorDir::of(SectorId::new(ActorId(1000), SectorNumber(1)));
        let sdir = store.join(sector.as_str());
        std::fs::create_dir_all(sdir.join("cache/subdir")).unwrap();
        let sealed = data(1, (2 << 20) + 123);
        let unsealed = data(2, 4096);
        let cache = vec![
            ("p_aux", data(3, 64)),
            ("t_aux", data(4, 321)),
            ("sc-02-data-tree-r-last.dat", data(5, 8192)),
            ("sc-02-data-layer-1.dat", data(6, 300_000)),
        ];
        std::fs::write(sdir.join("sealed"), &sealed).unwrap();
        std::fs::write(sdir.join("unsealed"), &unsealed).unwrap();
        for (name, bytes) in &cache {
            std::fs::write(sdir.join("cache").join(name), bytes).unwrap();
        }
        // Traps: a cache entry and a sealed file linking out of the root, a
        // sector directory linking out, a subdirectory, a hidden file.
        std::os::unix::fs::symlink(outside.join("secret"), sdir.join("cache/evil")).unwrap();
        std::fs::write(sdir.join("cache/.hidden"), SECRET).unwrap();
        std::fs::create_dir_all(store.join("s-t01000-2")).unwrap();
        std::os::unix::fs::symlink("../../outside/secret", store.join("s-t01000-2/sealed"))
            .unwrap();
        std::os::unix::fs::symlink(outside.join("s-t01000-3"), store.join("s-t01000-3")).unwrap();

        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen = log.clone();
        let router = sector_files_router(vec![seal, store], TransferToken::new(TOKEN).unwrap())
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                let seen = seen.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let range = req
                        .headers()
                        .get("range")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let resp = next.run(req).await;
                    let content_length = resp
                        .headers()
                        .get("content-length")
                        .map(|v| v.to_str().unwrap().parse().unwrap());
                    seen.lock().unwrap().push(Seen {
                        path,
                        range,
                        status: resp.status().as_u16(),
                        content_length,
                    });
                    resp
                }
            }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Host {
            dir,
            addr,
            log,
            sector,
            sealed,
            unsealed,
            cache,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url(&self, kind: SectorFileKind) -> String {
        sector_url(&self.base(), &self.sector, kind)
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("dest")
    }

    fn cache_file(&self, name: &str) -> &[u8] {
        &self.cache.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// The requests for URLs ending in `suffix`, in order.
    fn seen(&self, suffix: &str) -> Vec<Seen> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|s| s.path.ends_with(suffix))
            .cloned()
            .collect()
    }
}

fn fetcher(attempts: u32) -> Fetcher {
    Fetcher::new(TransferToken::new(TOKEN).unwrap())
        .unwrap()
        .with_retries(attempts, Duration::from_millis(10))
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// A raw HTTP/1.1 request, so the path reaches the server exactly as
/// written (an HTTP client would normalise `..` and `%2e%2e` away).
/// Returns the status, the head (lowercased) and the body.
async fn raw(addr: SocketAddr, head: &str) -> (u16, String, Vec<u8>) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).await.unwrap();
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8(resp[..split].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
    (status, headers, resp[split + 4..].to_vec())
}

async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {TOKEN}"),
    )
    .await
}

#[tokio::test]
async fn fetches_a_whole_sector_byte_identical() {
    let host = Host::start().await;
    let dest = host.dest();
    let stats = fetcher(1)
        .fetch_sector(&host.base(), &host.sector, &SectorFileKind::ALL, &dest)
        .await
        .unwrap();

    let got = dest.join(host.sector.as_str());
    assert_eq!(std::fs::read(got.join("sealed")).unwrap(), host.sealed);
    assert_eq!(std::fs::read(got.join("unsealed")).unwrap(), host.unsealed);
    for (name, bytes) in &host.cache {
        assert_eq!(
            &std::fs::read(got.join("cache").join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    // Only the cache files the manifest lists: no link out, no hidden file,
    // no subdirectory, no partial file left over.
    let mut names: Vec<String> = std::fs::read_dir(got.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want: Vec<String> = host.cache.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(names, want);

    let total = (host.sealed.len()
        + host.unsealed.len()
        + host.cache.iter().map(|(_, b)| b.len()).sum::<usize>()) as u64;
    assert_eq!(stats.files, 2 + host.cache.len() as u64);
    assert_eq!(
        (stats.bytes, stats.downloaded, stats.skipped),
        (total, total, 0)
    );

    // Again: everything is in place, nothing is downloaded.
    let again = fetcher(1)
        .fetch_sector(&host.base(), &host.sector, &SectorFileKind::ALL, &dest)
        .await
        .unwrap();
    assert_eq!(again.downloaded, 0);
    assert_eq!(again.skipped, stats.files);
}

#[tokio::test]
async fn manifest_lists_sizes_and_small_files_hashes() {
    let host = Host::start().await;
    let manifest: Manifest = fetcher(1)
        .manifest(&host.url(SectorFileKind::Cache))
        .await
        .unwrap();
    let mut want = host.cache.clone();
    want.sort();
    assert_eq!(manifest.files.len(), want.len());
    for (entry, (name, bytes)) in manifest.files.iter().zip(&want) {
        assert_eq!(entry.name, *name);
        assert_eq!(entry.size, bytes.len() as u64);
        // All fixtures are under 64 MiB, so all are hashed.
        assert_eq!(entry.sha256, Some(Sha256Digest::of(bytes)), "{name}");
    }
}

/// Bytes a proxy sent to the client, per connection.
type SentPerConnection = Arc<Mutex<Vec<Arc<AtomicU64>>>>;

/// A TCP proxy in front of `upstream` that cuts the first connection after
/// `cut` bytes of response (headers included) and passes later ones
/// through.
async fn cutting_proxy(upstream: SocketAddr, cut: u64) -> (SocketAddr, SentPerConnection) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent: SentPerConnection = Arc::default();
    let counters = sent.clone();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = TcpStream::connect(upstream).await.unwrap();
            let counter = Arc::new(AtomicU64::new(0));
            let first = {
                let mut c = counters.lock().unwrap();
                c.push(counter.clone());
                c.len() == 1
            };
            let limit = if first { cut } else { u64::MAX };
            let (mut client_rd, mut client_wr) = client.into_split();
            let (mut server_rd, mut server_wr) = server.into_split();
            let upward = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_rd, &mut server_wr).await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 << 10];
                loop {
                    let n = match server_rd.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let left = limit - counter.load(Ordering::SeqCst);
                    let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
                    if client_wr.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    counter.fetch_add(n as u64, Ordering::SeqCst);
                    if counter.load(Ordering::SeqCst) >= limit {
                        break;
                    }
                }
                // Dropping both halves closes the client's connection.
                upward.abort();
            });
        }
    });
    (addr, sent)
}

#[tokio::test]
async fn a_cut_transfer_resumes_with_a_range_request() {
    let host = Host::start().await;
    let len = host.sealed.len() as u64;
    let cut = 700_000;
    let (proxy, sent) = cutting_proxy(host.addr, cut).await;
    let url = sector_url(
        &format!("http://{proxy}"),
        &host.sector,
        SectorFileKind::Sealed,
    );
    let dest = host.dest().join("sealed");

    let expected = ExpectedFile {
        len: Some(len),
        sha256: None,
    };
    let stats = fetcher(3).fetch_file(&url, &dest, expected).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), host.sealed);
    assert!(!exists(&partial_path(&dest).unwrap()));

    let seen = host.seen("/sealed/s-t01000-1");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!((seen[0].range.as_deref(), seen[0].status), (None, 200));
    // The second request asks for the rest, from what the first delivered.
    let range = seen[1].range.as_deref().expect("the retry sends a Range");
    let from: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .unwrap()
        .parse()
        .unwrap();
    assert!(from > 0 && from < cut, "resumed at {from}");
    assert_eq!(seen[1].status, 206);
    assert_eq!(seen[1].content_length, Some(len - from));
    // Every byte of the file crossed the wire once.
    assert_eq!(stats.downloaded, len);
    let sent: Vec<u64> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], cut);
    assert!(
        sent[1] < len - from + 1024,
        "second connection sent {}",
        sent[1]
    );
}

#[tokio::test]
async fn a_partial_file_from_an_earlier_attempt_is_resumed() {
    let host = Host::start().await;
    let len = host.sealed.len() as u64;
    let dest = host.dest().join("sealed");
    std::fs::create_dir_all(host.dest()).unwrap();
    let half = host.sealed.len() / 2;
    std::fs::write(partial_path(&dest).unwrap(), &host.sealed[..half]).unwrap();

    let expected = ExpectedFile {
        len: Some(len),
        sha256: None,
    };
    let stats = fetcher(1)
        .fetch_file(&host.url(SectorFileKind::Sealed), &dest, expected)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), host.sealed);
    assert!(!exists(&partial_path(&dest).unwrap()));
    let seen = host.seen("/sealed/s-t01000-1");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(seen[0].status, 206);
    assert_eq!(seen[0].content_length, Some(len - half as u64));
    assert_eq!(stats.downloaded, len - half as u64);
}

#[tokio::test]
async fn a_complete_partial_file_of_unknown_length_is_finished_after_a_416() {
    let host = Host::start().await;
    let dest = host.dest().join("unsealed");
    std::fs::create_dir_all(host.dest()).unwrap();
    std::fs::write(partial_path(&dest).unwrap(), &host.unsealed).unwrap();

    let stats = fetcher(1)
        .fetch_file(
            &host.url(SectorFileKind::Unsealed),
            &dest,
            ExpectedFile::default(),
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), host.unsealed);
    assert_eq!(stats.downloaded, 0);
    let seen = host.seen("/unsealed/s-t01000-1");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].status, 416);
}

#[tokio::test]
async fn a_corrupt_partial_file_is_caught_by_the_hash_and_fetched_again() {
    let host = Host::start().await;
    let dest_dir = host.dest().join("cache");
    std::fs::create_dir_all(&dest_dir).unwrap();
    let t_aux = host.cache_file("t_aux").to_vec();
    let half = t_aux.len() / 2;
    // A prefix of the right length with a wrong byte: only the hash can
    // tell.
    let mut corrupt = t_aux[..half].to_vec();
    corrupt[3] ^= 0xff;
    std::fs::write(partial_path(&dest_dir.join("t_aux")).unwrap(), &corrupt).unwrap();

    let stats = fetcher(1)
        .fetch_cache_dir(&host.url(SectorFileKind::Cache), &dest_dir)
        .await
        .unwrap();
    assert_eq!(std::fs::read(dest_dir.join("t_aux")).unwrap(), t_aux);
    let seen = host.seen("/t_aux");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[0].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!((seen[1].range.as_deref(), seen[1].status), (None, 200));
    let all: u64 = host.cache.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(stats.downloaded, all + (t_aux.len() - half) as u64);
}

#[tokio::test]
async fn a_wrong_hash_is_an_error_and_leaves_no_file() {
    let host = Host::start().await;
    let p_aux = host.cache_file("p_aux");
    let url = format!("{}/p_aux", host.url(SectorFileKind::Cache));
    let dest = host.dest().join("p_aux");
    let wrong = Sha256Digest::of(b"something else");
    let expected = ExpectedFile {
        len: Some(p_aux.len() as u64),
        sha256: Some(wrong),
    };
    let err = fetcher(3)
        .fetch_file(&url, &dest, expected)
        .await
        .unwrap_err();
    match &err {
        TransferError::HashMismatch {
            url: u,
            expected,
            actual,
        } => {
            assert_eq!(u, &url);
            assert_eq!(*expected, wrong);
            assert_eq!(*actual, Sha256Digest::of(p_aux));
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(err.to_string().contains("p_aux"), "{err}");
    assert!(!exists(&dest));
    assert!(!exists(&partial_path(&dest).unwrap()));
}

#[tokio::test]
async fn a_size_mismatch_is_an_error_and_leaves_no_file() {
    let host = Host::start().await;
    let len = host.sealed.len() as u64;
    let dest = host.dest().join("sealed");
    std::fs::create_dir_all(host.dest()).unwrap();
    // A partial file of the right prefix, which must go too: it belongs to
    // a file of another size.
    std::fs::write(partial_path(&dest).unwrap(), &host.sealed[..1000]).unwrap();
    let expected = ExpectedFile {
        len: Some(len + 1),
        sha256: None,
    };
    let err = fetcher(3)
        .fetch_file(&host.url(SectorFileKind::Sealed), &dest, expected)
        .await
        .unwrap_err();
    match &err {
        TransferError::SizeMismatch {
            expected, actual, ..
        } => {
            assert_eq!((*expected, *actual), (len + 1, len));
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(!exists(&dest));
    assert!(!exists(&partial_path(&dest).unwrap()));
    // Not retried.
    assert_eq!(host.seen("/sealed/s-t01000-1").len(), 1);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_leaves_only_the_partial_file() {
    let host = Host::start().await;
    let dest = host.dest().join("sealed");
    std::fs::create_dir_all(host.dest()).unwrap();
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    let partial = partial_path(&dest).unwrap();
    std::os::unix::fs::symlink("/dev/full", &partial).unwrap();
    let expected = ExpectedFile {
        len: Some(host.sealed.len() as u64),
        sha256: None,
    };
    let err = fetcher(3)
        .fetch_file(&host.url(SectorFileKind::Sealed), &dest, expected)
        .await
        .unwrap_err();
    match &err {
        TransferError::DiskFull { path, .. } => assert_eq!(path, &partial),
        other => panic!("expected a full disk, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(!exists(&dest));
    assert!(exists(&partial));
}

#[tokio::test]
async fn path_tricks_get_400_or_404() {
    let host = Host::start().await;
    let cases: &[(&str, u16)] = &[
        ("/sectors/sealed/..", 400),
        ("/sectors/sealed/%2e%2e", 400),
        ("/sectors/sealed/%2E%2E", 400),
        ("/sectors/cache/s-t01000-1/..", 400),
        ("/sectors/cache/s-t01000-1/%2e%2e", 400),
        (
            "/sectors/cache/s-t01000-1/..%2f..%2f..%2foutside%2fsecret",
            400,
        ),
        ("/sectors/cache/s-t01000-1/%2fetc%2fpasswd", 400),
        ("/sectors/sealed/%2fetc%2fpasswd", 400),
        ("/sectors/sealed/s-t01000-1%2f..%2f..%2foutside", 400),
        ("/sectors/cache/s-t01000-1/.hidden", 400),
        ("/sectors/cache/s-t01000-1/%00", 400),
        ("/sectors/cache/s-t01000-1/%ff", 400),
        ("/sectors/sealed/s-t001000-1", 400),
        ("/sectors/sealed/outside", 400),
        ("/sectors/cache/s-t01000-1/../../../outside/secret", 404),
        ("/sectors/sealed/s-t01000-1/../../../outside/secret", 404),
        ("/sectors/sealed//etc/passwd", 404),
        ("/sectors/cache//etc/passwd", 404),
        ("//etc/passwd", 404),
        ("/sectors/layers/s-t01000-1", 404),
        ("/sectors/sealed/s-t01000-1/sealed", 404),
        ("/sectors/unsealed/s-t01000-99", 404),
        // Links out of the root: a cache entry, a sealed file, a sector
        // directory.
        ("/sectors/cache/s-t01000-1/evil", 404),
        ("/sectors/sealed/s-t01000-2", 404),
        ("/sectors/sealed/s-t01000-3", 404),
        ("/sectors/cache/s-t01000-3", 404),
    ];
    for (path, want) in cases {
        let (status, _, body) = raw_get(host.addr, path).await;
        assert_eq!(status, *want, "{path}");
        assert!(
            !body.windows(SECRET.len()).any(|w| w == SECRET),
            "{path} leaked"
        );
    }
    // The manifest lists neither the link out nor the hidden file.
    let manifest = fetcher(1)
        .manifest(&host.url(SectorFileKind::Cache))
        .await
        .unwrap();
    assert!(
        manifest
            .files
            .iter()
            .all(|f| f.name != "evil" && f.name != ".hidden")
    );
}

#[tokio::test]
async fn requests_without_the_token_get_401() {
    let host = Host::start().await;
    let path = "/sectors/sealed/s-t01000-1";
    let (status, headers, _) = raw(host.addr, &format!("GET {path} HTTP/1.1")).await;
    assert_eq!(status, 401);
    assert!(headers.contains("www-authenticate: bearer"), "{headers}");
    for auth in ["Bearer wrong", "Basic test-token", "test-token"] {
        let (status, _, _) = raw(
            host.addr,
            &format!("GET {path} HTTP/1.1\r\nAuthorization: {auth}"),
        )
        .await;
        assert_eq!(status, 401, "{auth}");
    }
    // Every route needs the token, tricks included.
    for path in ["/sectors/sealed/%2e%2e", "/sectors/cache/s-t01000-1/p_aux"] {
        let (status, _, _) = raw(host.addr, &format!("GET {path} HTTP/1.1")).await;
        assert_eq!(status, 401, "{path}");
    }

    let wrong = Fetcher::new(TransferToken::new("wrong").unwrap()).unwrap();
    let dest = host.dest().join("sealed");
    let err = wrong
        .fetch_file(
            &host.url(SectorFileKind::Sealed),
            &dest,
            ExpectedFile::default(),
        )
        .await
        .unwrap_err();
    match &err {
        TransferError::Status { status, .. } => assert_eq!(status.as_u16(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(!exists(&dest));
}

#[tokio::test]
async fn ranges_head_and_416() {
    let host = Host::start().await;
    let len = host.sealed.len();
    let path = "/sectors/sealed/s-t01000-1";
    let get = |range: String| {
        format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nRange: {range}")
    };

    let (status, headers, body) = raw(host.addr, &get(format!("bytes={len}-"))).await;
    assert_eq!(status, 416);
    assert!(
        headers.contains(&format!("content-range: bytes */{len}")),
        "{headers}"
    );
    assert!(body.is_empty());
    let (status, _, _) = raw(host.addr, &get(format!("bytes={}-{}", len + 10, len + 20))).await;
    assert_eq!(status, 416);

    let (status, headers, body) = raw(host.addr, &get("bytes=10-19".into())).await;
    assert_eq!(status, 206);
    assert!(
        headers.contains(&format!("content-range: bytes 10-19/{len}")),
        "{headers}"
    );
    assert_eq!(body, host.sealed[10..20]);
    let (status, headers, body) = raw(host.addr, &get(format!("bytes={}-", len - 5))).await;
    assert_eq!(status, 206);
    assert!(
        headers.contains(&format!(
            "content-range: bytes {}-{}/{len}",
            len - 5,
            len - 1
        )),
        "{headers}"
    );
    assert_eq!(body, host.sealed[len - 5..]);

    let (status, headers, body) = raw(
        host.addr,
        &format!("HEAD {path} HTTP/1.1\r\nAuthorization: Bearer {TOKEN}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers.contains(&format!("content-length: {len}")),
        "{headers}"
    );
    assert!(headers.contains("accept-ranges: bytes"), "{headers}");
    assert!(body.is_empty());
    assert_eq!(
        fetcher(1)
            .remote_len(&host.url(SectorFileKind::Sealed))
            .await
            .unwrap(),
        len as u64
    );

    let (status, headers, body) = raw_get(host.addr, path).await;
    assert_eq!(status, 200);
    assert!(
        headers.contains(&format!("content-length: {len}")),
        "{headers}"
    );
    assert_eq!(body, host.sealed);
}

#[tokio::test]
async fn merged_into_another_router_it_guards_only_its_own_routes() {
    let host = Host::start().await;
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(|| async { "metrics" }))
        .merge(sector_files_router(
            vec![host.dir.path().join("store")],
            TransferToken::new(TOKEN).unwrap(),
        ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (status, _, body) = raw(addr, "GET /metrics HTTP/1.1").await;
    assert_eq!((status, body.as_slice()), (200, &b"metrics"[..]));
    let (status, _, _) = raw(addr, "GET /elsewhere HTTP/1.1").await;
    assert_eq!(status, 404);
    let (status, _, _) = raw(addr, "GET /sectors/sealed/s-t01000-1 HTTP/1.1").await;
    assert_eq!(status, 401);
    let (status, _, body) = raw_get(addr, "/sectors/sealed/s-t01000-1").await;
    assert_eq!(status, 200);
    assert_eq!(body, host.sealed);
}
