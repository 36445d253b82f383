//! `params fetch` against a local HTTP server: download, resume, digest
//! mismatch, server errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use ferrite_proofs::ProofsError;
use ferrite_proofs::params::fetch::{FetchEvent, Manifest, digest_of, fetch};
use ferrite_types::SectorSize;
use tower_http::services::ServeDir;

type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// Serves `dir` on loopback; records each request's Range header.
async fn serve(dir: &Path) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let log = log.clone();
            async move {
                let range = req
                    .headers()
                    .get("range")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                log.lock().unwrap().push(range);
                next.run(req).await
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn payload() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

async fn manifest_for(served: &Path, name: &str, cid: &str, digest: Option<&str>) -> Manifest {
    let digest = match digest {
        Some(d) => d.to_string(),
        None => digest_of(&served.join(cid)).await.unwrap(),
    };
    Manifest::parse(&format!(
        r#"{{"{name}": {{"cid": "{cid}", "digest": "{digest}", "sector_size": 2048}}}}"#
    ))
    .unwrap()
}

const NAME: &str = "v28-test-circuit.params";
const CID: &str = "QmTestParamsCid";

#[tokio::test]
async fn downloads_and_checks_the_digest() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join(CID), payload()).unwrap();
    let (addr, seen) = serve(served.path()).await;
    let manifest = manifest_for(served.path(), NAME, CID, None).await;
    let entries = manifest.select(&[SectorSize::S2KiB]);
    assert_eq!(entries.len(), 1);

    let dest = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    let client = reqwest::Client::new();
    let base = format!("http://{addr}/");
    fetch(&client, &base, dest.path(), &entries, &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read(dest.path().join(NAME)).unwrap(), payload());
    assert!(!dest.path().join(format!("{NAME}.partial")).exists());
    assert!(events.contains(&FetchEvent::Verified { name: NAME.into() }));
    assert_eq!(seen.lock().unwrap().as_slice(), &[None]);

    // A second run finds the file and downloads nothing.
    let mut events = Vec::new();
    fetch(&client, &base, dest.path(), &entries, &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    assert_eq!(events, vec![FetchEvent::Present { name: NAME.into() }]);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn resumes_a_partial_download_with_a_range_request() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join(CID), payload()).unwrap();
    let (addr, seen) = serve(served.path()).await;
    let manifest = manifest_for(served.path(), NAME, CID, None).await;

    let dest = tempfile::tempdir().unwrap();
    let half = 123_456;
    std::fs::write(
        dest.path().join(format!("{NAME}.partial")),
        &payload()[..half],
    )
    .unwrap();
    let mut events = Vec::new();
    fetch(
        &reqwest::Client::new(),
        &format!("http://{addr}/"),
        dest.path(),
        &manifest.select(&[SectorSize::S2KiB]),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(dest.path().join(NAME)).unwrap(), payload());
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        &[Some(format!("bytes={half}-"))]
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FetchEvent::Started { from, .. } if *from == half as u64))
    );
}

#[tokio::test]
async fn a_digest_mismatch_discards_the_file() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join(CID), payload()).unwrap();
    let (addr, _) = serve(served.path()).await;
    let wrong = "00000000000000000000000000000000";
    let manifest = manifest_for(served.path(), NAME, CID, Some(wrong)).await;
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(
        &reqwest::Client::new(),
        &format!("http://{addr}/"),
        dest.path(),
        &manifest.select(&[SectorSize::S2KiB]),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProofsError::Digest { .. }), "{err}");
    assert!(err.to_string().contains(wrong), "{err}");
    assert!(!dest.path().join(NAME).exists());
    assert!(!dest.path().join(format!("{NAME}.partial")).exists());
}

#[tokio::test]
async fn a_missing_file_on_the_server_is_a_clear_error() {
    let served = tempfile::tempdir().unwrap();
    let (addr, _) = serve(served.path()).await;
    let manifest = Manifest::parse(&format!(
        r#"{{"{NAME}": {{"cid": "QmAbsent", "digest": "00", "sector_size": 2048}}}}"#
    ))
    .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(
        &reqwest::Client::new(),
        &format!("http://{addr}/"),
        dest.path(),
        &manifest.select(&[SectorSize::S2KiB]),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("404"), "{msg}");
    assert!(msg.contains(NAME), "{msg}");
    assert!(!dest.path().join(NAME).exists());
}
