//! Transfers into the staging area against a real HTTP server on loopback
//! (axum on 127.0.0.1:0) that misbehaves on purpose: it drops the
//! connection half-way, ignores ranges, always stops short, sends too much,
//! answers 404 or 503, or stalls. Each test checks the staged file, the
//! CommP against `piece_commitment` of the zero-filled data, and what the
//! server saw (headers, `Range`). Plus the offline import.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use ferrite_market::config::TransferConfig;
use ferrite_market::deal::StagedPiece;
use ferrite_market::transfer::{self, Staged, TransferError};
use ferrite_market::wire::HttpRequest;
use ferrite_proofs::commp::{CommpPool, piece_commitment};
use ferrite_types::{PaddedPieceSize, PieceInfo};
use futures_util::StreamExt;

/// Payload bytes served: not a multiple of 127, in a 256 KiB piece.
const LEN: usize = 200_000;
const HALF: usize = LEN / 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serves the data, honouring `Range`.
    Full,
    /// First request: half the data, then the connection drops; then Full.
    DropFirst,
    /// Like DropFirst, but ignores `Range` (a 200 with everything).
    DropFirstIgnoreRange,
    /// Always a 200 with half the data, cleanly ended.
    AlwaysShort,
    /// The data and 1000 bytes more, chunked (no Content-Length).
    TooMany,
    /// 404.
    NotFound,
    /// 503 once, then Full.
    BusyOnce,
    /// Half the data, then nothing.
    Stall,
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    range: Option<String>,
    deal: Option<String>,
}

struct Server {
    data: Vec<u8>,
    mode: Mode,
    seen: Mutex<Vec<Seen>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let range = text("range");
    let n = {
        let mut seen = s.seen.lock().unwrap();
        seen.push(Seen {
            range: range.clone(),
            deal: text("x-deal"),
        });
        seen.len()
    };
    if text("authorization").as_deref() != Some("Bearer secret") {
        return status(StatusCode::UNAUTHORIZED);
    }
    let data = &s.data;
    match s.mode {
        Mode::NotFound => return status(StatusCode::NOT_FOUND),
        Mode::BusyOnce if n == 1 => return status(StatusCode::SERVICE_UNAVAILABLE),
        Mode::DropFirst | Mode::DropFirstIgnoreRange if n == 1 => {
            // Announce it all, send half, pause (so the half is flushed),
            // then fail the body: hyper closes the connection.
            let chunks = futures_util::stream::iter([
                Ok(data[..HALF].to_vec()),
                Err(std::io::Error::other("dropped")),
            ])
            .then(|item| async move {
                if item.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                item
            });
            return Response::builder()
                .header(header::CONTENT_LENGTH, data.len())
                .body(Body::from_stream(chunks))
                .unwrap();
        }
        Mode::AlwaysShort => {
            return Response::new(Body::from(data[..HALF].to_vec()));
        }
        Mode::TooMany => {
            let chunks = futures_util::stream::iter([
                Ok::<_, std::io::Error>(data.clone()),
                Ok(vec![7u8; 1000]),
            ]);
            return Response::new(Body::from_stream(chunks));
        }
        Mode::Stall => {
            let chunks = futures_util::stream::iter([Ok(data[..HALF].to_vec()), Ok(Vec::new())])
                .then(|item: Result<Vec<u8>, std::io::Error>| async move {
                    if item.as_ref().is_ok_and(Vec::is_empty) {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    item
                });
            return Response::new(Body::from_stream(chunks));
        }
        _ => {}
    }
    let from = range
        .filter(|_| s.mode != Mode::DropFirstIgnoreRange)
        .and_then(|r| {
            r.strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<usize>()
                .ok()
        });
    match from {
        Some(from) if from < data.len() => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {from}-{}/{}", data.len() - 1, data.len()),
            )
            .body(Body::from(data[from..].to_vec()))
            .unwrap(),
        Some(_) => status(StatusCode::RANGE_NOT_SATISFIABLE),
        None => Response::new(Body::from(data.clone())),
    }
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

/// A server in `mode` on 127.0.0.1:0, and the URL of its data.
async fn start(mode: Mode) -> (Arc<Server>, String) {
    let server = Arc::new(Server {
        data: payload(LEN),
        mode,
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/deal.car", get(serve))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, format!("http://{addr}/deal.car"))
}

/// Deterministic bytes that are not all alike.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

fn piece_size() -> PaddedPieceSize {
    PaddedPieceSize::new(256 << 10).unwrap()
}

/// filecoin-proofs' CommP of `data` zero-filled to the piece.
fn reference(data: &[u8]) -> PieceInfo {
    let zero_filled = data.chain(std::io::repeat(0));
    piece_commitment(zero_filled, piece_size().unpadded()).unwrap()
}

fn cfg() -> TransferConfig {
    TransferConfig {
        max_bytes: 1 << 30,
        max_attempts: 3,
        backoff_secs: 0,
        max_backoff_secs: 0,
        timeout_secs: 5,
    }
}

fn request(url: &str) -> HttpRequest {
    let mut headers = BTreeMap::new();
    headers.insert("Authorization".to_string(), "Bearer secret".to_string());
    headers.insert("X-Deal".to_string(), "d1".to_string());
    HttpRequest {
        url: url.to_string(),
        headers,
    }
}

/// Pulls `url` into `dest` with `cfg`; returns the result and the last
/// progress reported.
async fn pull_with(
    url: &str,
    dest: &Path,
    cfg: &TransferConfig,
) -> (Result<Staged, TransferError>, u64) {
    let last = AtomicU64::new(0);
    let pool = CommpPool::new(2).unwrap();
    let result = transfer::pull(
        &request(url),
        dest,
        LEN as u64,
        piece_size(),
        cfg,
        &pool,
        |n| last.store(n, Ordering::Relaxed),
    )
    .await;
    (result, last.load(Ordering::Relaxed))
}

fn assert_staged(staged: &Staged, dest: &Path) {
    let data = payload(LEN);
    assert_eq!(staged.piece, reference(&data));
    assert_eq!(staged.piece_cid.piece_info(), staged.piece);
    assert_eq!(staged.piece_cid.payload_size(), LEN as u64);
    assert_eq!(staged.bytes, LEN as u64);
    assert_eq!(staged.path, dest);
    assert!(
        std::fs::read(dest).unwrap() == data,
        "the staged bytes differ"
    );
}

#[tokio::test]
async fn pull_streams_with_the_clients_headers() {
    let (server, url) = start(Mode::Full).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("staging/a/deal.car");
    let (result, progress) = pull_with(&url, &dest, &cfg()).await;
    let staged = result.unwrap();
    assert_staged(&staged, &dest);
    assert_eq!(progress, LEN as u64);
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[0].deal.as_deref(), Some("d1"));
    let piece = StagedPiece::from(staged.clone());
    assert_eq!(
        (piece.comm_p, piece.bytes),
        (staged.piece.comm_p, LEN as u64)
    );
}

#[tokio::test]
async fn pull_resumes_after_a_dropped_connection() {
    let (server, url) = start(Mode::DropFirst).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let (result, progress) = pull_with(&url, &dest, &cfg()).await;
    assert_staged(&result.unwrap(), &dest);
    assert_eq!(progress, LEN as u64);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].range, Some(format!("bytes={HALF}-")));
    assert_eq!(seen[1].deal.as_deref(), Some("d1"));
}

#[tokio::test]
async fn pull_starts_over_when_the_server_ignores_range() {
    let (server, url) = start(Mode::DropFirstIgnoreRange).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let (result, _) = pull_with(&url, &dest, &cfg()).await;
    assert_staged(&result.unwrap(), &dest);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].range, Some(format!("bytes={HALF}-")));
}

#[tokio::test]
async fn pull_resumes_from_a_partial_file_on_disk() {
    let (server, url) = start(Mode::Full).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let third = LEN / 3;
    std::fs::write(&dest, &payload(LEN)[..third]).unwrap();
    let (result, _) = pull_with(&url, &dest, &cfg()).await;
    assert_staged(&result.unwrap(), &dest);
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].range, Some(format!("bytes={third}-")));
}

#[tokio::test]
async fn pull_gives_up_after_the_configured_attempts() {
    let (server, url) = start(Mode::AlwaysShort).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let (result, _) = pull_with(&url, &dest, &cfg()).await;
    let err = result.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(err.reason().contains("3 attempts"), "{err}");
    assert!(
        err.reason().contains(&format!("{HALF} of {LEN} bytes")),
        "{err}"
    );
    assert_eq!(server.seen().len(), 3);
    // The partial file stays, for a later pull to resume.
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), HALF as u64);
}

#[tokio::test]
async fn pull_retries_a_busy_server() {
    let (server, url) = start(Mode::BusyOnce).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let (result, _) = pull_with(&url, &dest, &cfg()).await;
    assert_staged(&result.unwrap(), &dest);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn pull_refuses_more_bytes_than_announced() {
    let (server, url) = start(Mode::TooMany).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let (result, _) = pull_with(&url, &dest, &cfg()).await;
    let err = result.unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert!(
        err.reason()
            .contains(&format!("more than the {LEN} bytes it announced")),
        "{err}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn pull_fails_on_404_without_retrying() {
    let (server, url) = start(Mode::NotFound).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = pull_with(&url, &dir.path().join("deal.car"), &cfg()).await;
    let err = result.unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert!(err.reason().contains("404"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn pull_refuses_local_and_non_http_urls_before_any_request() {
    let (server, url) = start(Mode::Full).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let ftp = url.replacen("http://", "ftp://", 1);
    for bad in ["file:///etc/passwd", "/etc/passwd", ftp.as_str()] {
        let (result, _) = pull_with(bad, &dest, &cfg()).await;
        let err = result.unwrap_err();
        assert!(!err.retryable(), "{bad}: {err}");
        assert!(err.reason().contains("transfer URL"), "{bad}: {err}");
    }
    assert!(server.seen().is_empty());
    assert!(!dest.exists());
}

#[tokio::test]
async fn pull_refuses_a_bad_header_by_name() {
    let (server, url) = start(Mode::Full).await;
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(&url);
    req.headers
        .insert("X-Bad".to_string(), "two\r\nlines".to_string());
    let err = transfer::pull(
        &req,
        &dir.path().join("deal.car"),
        LEN as u64,
        piece_size(),
        &cfg(),
        &CommpPool::single_thread(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(!err.retryable() && err.reason().contains("X-Bad"), "{err}");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn pull_times_out_a_stalled_body() {
    let (_server, url) = start(Mode::Stall).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("deal.car");
    let cfg = TransferConfig {
        max_attempts: 1,
        timeout_secs: 1,
        ..cfg()
    };
    let (result, progress) = pull_with(&url, &dest, &cfg).await;
    let err = result.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(
        err.reason().contains("stalled") && err.reason().contains(&format!("{HALF} of {LEN}")),
        "{err}"
    );
    assert_eq!(progress, HALF as u64);
}

#[tokio::test]
async fn import_copies_and_hashes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("client.car");
    let data = payload(LEN);
    std::fs::write(&src, &data).unwrap();
    let dest = dir.path().join("staging/deal.car");
    let staged = transfer::import(&src, &dest, piece_size(), &CommpPool::new(2).unwrap())
        .await
        .unwrap();
    assert_staged(&staged, &dest);
    assert!(std::fs::read(&src).unwrap() == data, "the source changed");
}

#[tokio::test]
async fn import_refuses_a_file_larger_than_the_piece() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("client.car");
    let room = piece_size().unpadded().bytes() as usize;
    std::fs::write(&src, payload(room + 1)).unwrap();
    let dest = dir.path().join("deal.car");
    let pool = CommpPool::single_thread();
    let err = transfer::import(&src, &dest, piece_size(), &pool)
        .await
        .unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert!(
        err.reason().contains(&format!("{} bytes", room + 1)),
        "{err}"
    );
    assert!(!dest.exists());
    // A staging file is never imported onto itself (that would empty it).
    std::fs::write(&dest, payload(10)).unwrap();
    let err = transfer::import(&dest, &dest, piece_size(), &pool)
        .await
        .unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), payload(10));
}
