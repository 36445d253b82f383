//! The HTTP pull of an online deal's data (Boost's `http` transfer).
//!
//! How data flows: the URL is checked, the client's headers are parsed,
//! and the staging file is opened on a blocking thread, which re-hashes
//! any prefix a previous pull left there. Each attempt then sends one GET
//! (with `Range: bytes=N-` when N bytes are already on disk) and streams
//! the body's chunks into a bounded channel read by the blocking writer
//! (`StagingFile::drain`), which writes and hashes them. A 206 appends to
//! what is there, a 200 starts the file over. A failed attempt that may
//! succeed later is retried after the configured backoff, up to the
//! configured number of attempts; the last error is returned otherwise.
//! When the file holds the announced size, it is fsynced and its CommP
//! finished.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferrite_proofs::commp::CommpPool;
use ferrite_types::PaddedPieceSize;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderName, HeaderValue, RANGE};
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::sink::StagingFile;
use super::{Staged, TransferError};
use crate::checks::check_transfer_url;
use crate::config::TransferConfig;
use crate::wire::HttpRequest;

/// Chunks in flight between the download and the writer: enough to keep
/// both busy, few enough that a slow disk soon slows the download.
const CHANNEL_CHUNKS: usize = 64;

/// Pulls `request.url` into `dest` and computes the CommP of what came,
/// zero-filled to `piece_size`.
///
/// - The URL must pass [`check_transfer_url`]; the client's headers must be
///   valid HTTP headers (a bad one is named). Both are checked before any
///   request, and fatal.
/// - `expected_size` is the size the deal announced: a body that runs past
///   it (or past `cfg.max_bytes`, or past the piece's unpadded size) is a
///   fatal error; one that ends short of it is retryable.
/// - Bytes already in `dest` are kept and re-hashed, and the pull resumes
///   after them; the file is kept on failure, so a later pull resumes too.
/// - Up to `cfg.max_attempts` attempts, `cfg.backoff_secs` apart and
///   doubling (at most `cfg.max_backoff_secs`). 5xx, 408, 429, connection
///   errors and stalls are retried; a 416, any other 4xx or a local I/O
///   error is fatal.
/// - `cfg.timeout_secs` bounds connecting, waiting for the response, and
///   any pause in the body.
/// - `progress` is called with the bytes received so far after each chunk
///   (the disk trails by at most a few chunks), and once with the bytes
///   found on disk when resuming.
///
/// The writing and hashing run on a blocking thread (STYLE R4).
#[tracing::instrument(skip_all, fields(dest = %dest.display(), size = expected_size))]
pub async fn pull(
    request: &HttpRequest,
    dest: &Path,
    expected_size: u64,
    piece_size: PaddedPieceSize,
    cfg: &TransferConfig,
    pool: &CommpPool,
    progress: impl Fn(u64) + Send + Sync,
) -> Result<Staged, TransferError> {
    check_transfer_url(&request.url).map_err(|r| TransferError::fatal(r.to_string()))?;
    let headers = header_map(&request.headers)?;
    let room = piece_size.unpadded().bytes();
    if expected_size > cfg.max_bytes {
        return Err(TransferError::fatal(format!(
            "the deal announces {expected_size} bytes, more than the {} bytes a transfer may bring",
            cfg.max_bytes
        )));
    }
    if expected_size > room {
        return Err(TransferError::fatal(format!(
            "the deal announces {expected_size} bytes, more than the {room} unpadded bytes of a {piece_size}-byte piece"
        )));
    }
    let stall = Duration::from_secs(cfg.timeout_secs.max(1));
    let client = reqwest::Client::builder()
        .connect_timeout(stall)
        .build()
        .map_err(|e| TransferError::fatal(format!("build the HTTP client: {}", chain(&e))))?;

    let mut file = {
        let (dest, pool) = (dest.to_path_buf(), pool.clone());
        blocking(move || StagingFile::resume(&dest, expected_size, &pool)).await?
    };
    if file.written() > 0 {
        progress(file.written());
    }
    let policy = cfg.retry_policy();
    let mut failures = 0u32;
    while file.written() < expected_size {
        let (back, result) = attempt(
            &client,
            &request.url,
            &headers,
            file,
            expected_size,
            stall,
            &progress,
        )
        .await?;
        file = back;
        let Err(err) = result else { continue };
        failures += 1;
        if !err.retryable() {
            return Err(err);
        }
        if !policy.allows_retry(failures) {
            return Err(TransferError::transient(format!(
                "gave up after {failures} attempts: {err}"
            )));
        }
        let wait = policy.backoff(failures);
        tracing::warn!(
            attempt = failures,
            bytes = file.written(),
            "transfer attempt failed, retrying in {wait:?}: {err}"
        );
        tokio::time::sleep(wait).await;
    }
    blocking(move || file.finish(piece_size)).await
}

/// One GET, streamed into the file. The outer error means the file is lost
/// to this pull (a write failed); the inner one is the attempt's.
async fn attempt(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    file: StagingFile,
    expected: u64,
    stall: Duration,
    progress: &(impl Fn(u64) + Send + Sync),
) -> Result<(StagingFile, Result<(), TransferError>), TransferError> {
    let offset = file.written();
    let mut response = match send(client, url, headers, offset, expected, stall).await {
        Ok(r) => r,
        Err(e) => return Ok((file, Err(e))),
    };
    // A 200 to a range request: the server ignores ranges and sends it all.
    let restart = offset > 0 && response.status() == StatusCode::OK;
    let mut at = if restart { 0 } else { offset };
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let writer = tokio::task::spawn_blocking(move || file.drain(restart, rx));
    let streamed = async {
        loop {
            let chunk = match timeout(stall, response.chunk()).await {
                Err(_) => {
                    return Err(TransferError::transient(format!(
                        "the transfer stalled: nothing for {}s after {at} of {expected} bytes",
                        stall.as_secs()
                    )));
                }
                Ok(Err(e)) => {
                    return Err(TransferError::transient(format!(
                        "the connection failed after {at} of {expected} bytes: {}",
                        chain(&e.without_url())
                    )));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => chunk,
            };
            let n = chunk.len() as u64;
            if at + n > expected {
                return Err(too_many(expected));
            }
            if tx.send(chunk).await.is_err() {
                // The writer failed; its error is the one reported.
                return Err(TransferError::fatal("the staging writer stopped"));
            }
            at += n;
            progress(at);
        }
        if at < expected {
            return Err(TransferError::transient(format!(
                "the body ended after {at} of {expected} bytes"
            )));
        }
        Ok(())
    }
    .await;
    drop(tx);
    let (file, written) = writer
        .await
        .map_err(|e| TransferError::fatal(format!("the staging writer failed: {e}")))?;
    written?;
    Ok((file, streamed))
}

/// Sends the GET and checks the status: what to stream, or why not.
async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    offset: u64,
    expected: u64,
    stall: Duration,
) -> Result<reqwest::Response, TransferError> {
    let mut request = client.get(url).headers(headers.clone());
    if offset > 0 {
        request = request.header(RANGE, format!("bytes={offset}-"));
    }
    let response = match timeout(stall, request.send()).await {
        Err(_) => {
            return Err(TransferError::transient(format!(
                "no response within {}s",
                stall.as_secs()
            )));
        }
        Ok(Err(e)) if e.is_builder() => {
            return Err(TransferError::fatal(format!(
                "invalid request: {}",
                chain(&e.without_url())
            )));
        }
        Ok(Err(e)) => {
            return Err(TransferError::transient(format!(
                "request failed: {}",
                chain(&e.without_url())
            )));
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    let start = match status {
        StatusCode::OK => 0,
        StatusCode::PARTIAL_CONTENT => {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start);
            if start != Some(offset) {
                return Err(TransferError::fatal(format!(
                    "asked for the bytes from {offset}, the server sent a 206 with Content-Range {:?}",
                    response.headers().get(CONTENT_RANGE)
                )));
            }
            offset
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            return Err(TransferError::fatal(format!(
                "the server cannot resume at byte {offset} of {expected}: {status}"
            )));
        }
        // Busy or rate-limited: worth another try, unlike other 4xx.
        s if s.is_server_error()
            || s == StatusCode::REQUEST_TIMEOUT
            || s == StatusCode::TOO_MANY_REQUESTS =>
        {
            return Err(TransferError::transient(format!("the server answered {s}")));
        }
        s => return Err(TransferError::fatal(format!("the server answered {s}"))),
    };
    if let Some(len) = response.content_length()
        && start.saturating_add(len) > expected
    {
        return Err(too_many(expected));
    }
    Ok(response)
}

fn too_many(expected: u64) -> TransferError {
    TransferError::fatal(format!(
        "the client sent more than the {expected} bytes it announced"
    ))
}

/// The client's headers as a request's. `Range` is left out: resuming
/// sets it.
fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, TransferError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let key = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TransferError::fatal(format!("invalid transfer header name {name:?}")))?;
        // The value may be a secret (a token): name the header only.
        let value = HeaderValue::from_str(value).map_err(|_| {
            TransferError::fatal(format!("invalid value for transfer header {name:?}"))
        })?;
        if key != RANGE {
            map.append(key, value);
        }
    }
    Ok(map)
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL`.
fn range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

/// An error with its sources, `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TransferError> + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TransferError::fatal(format!("the staging thread failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start() {
        assert_eq!(range_start("bytes 500-999/1000"), Some(500));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("bytes */1000"), None);
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn bad_headers_are_named() {
        let mut h = BTreeMap::new();
        h.insert("Authorization".to_string(), "Bearer t".to_string());
        h.insert("Range".to_string(), "bytes=5-".to_string());
        let map = header_map(&h).unwrap_or_default();
        assert_eq!(map.len(), 1);
        h.insert("bad name".to_string(), "x".to_string());
        let err = header_map(&h)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("\"bad name\""), "{err}");
        let mut h = BTreeMap::new();
        h.insert("X-Token".to_string(), "line\nbreak".to_string());
        let err = header_map(&h)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("X-Token") && !err.contains("break"), "{err}");
    }
}
