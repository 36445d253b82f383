//! Deal data on its way into a sector: the node serves the market's staged
//! files to workers over HTTP, and a worker fetches a deal piece's data
//! before its AddPiece task runs.
//!
//! ```text
//!  node:   Job::AddPiece (JobPiece::Deal { path }) ─► PieceUrls::url_of(path)
//!          ─► AddPieceTask (DealPieceSource { source: http://node/staging/<name> })
//!  worker: GET /staging/<name> (Authorization: Bearer <worker token>)
//!          ─► <sector dir>/deal-<id>.piece ─► Job::AddPiece (JobPiece::Deal { path }) ─► removed
//! ```
//!
//! Only plain file names directly in the staging directory are served, and
//! only to a caller with the worker token: a name with a path separator,
//! `..`, or anything but `[A-Za-z0-9._-]` is refused before any file is
//! opened.

use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ferrite_proto::{BearerToken, HttpUrl, ProtoError};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

/// Where workers download the staged files of `dir` from.
#[derive(Debug, Clone)]
pub struct PieceUrls {
    /// The node's HTTP base, e.g. `http://127.0.0.1:1234`.
    pub base: String,
    /// The staging directory.
    pub dir: PathBuf,
}

/// Whether `name` is a plain file name the route may serve.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

impl PieceUrls {
    /// The URL of `path`, which must be a file directly in the staging
    /// directory.
    pub fn url_of(&self, path: &Path) -> Result<HttpUrl, ProtoError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| safe_name(n) && path.parent() == Some(self.dir.as_path()))
            .ok_or_else(|| {
                ProtoError::invalid(
                    "add_piece.adding",
                    format!(
                        "{} is not a file of the staging area {}",
                        path.display(),
                        self.dir.display()
                    ),
                )
            })?;
        HttpUrl::new(format!(
            "{}/staging/{name}",
            self.base.trim_end_matches('/')
        ))
        .map_err(|e| e.at("add_piece.adding"))
    }
}

#[derive(Clone)]
struct Served {
    dir: PathBuf,
    token: BearerToken,
}

/// `GET /staging/{name}`: the staged file, to a caller with the worker token.
pub fn router(dir: PathBuf, token: BearerToken) -> Router {
    Router::new()
        .route("/staging/{name}", get(serve))
        .with_state(Served { dir, token })
}

async fn serve(
    State(s): State<Served>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| s.token.matches_header(v.as_bytes()));
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "the worker token is required\n").into_response();
    }
    if !safe_name(&name) {
        return (StatusCode::BAD_REQUEST, "not a staged file name\n").into_response();
    }
    let path = s.dir.join(&name);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (StatusCode::NOT_FOUND, "no such staged file\n").into_response();
        }
        Err(e) => {
            tracing::warn!("open {}: {e}", path.display());
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n").into_response();
        }
    };
    let len = match file.metadata().await {
        Ok(m) if m.is_file() => m.len(),
        _ => return (StatusCode::NOT_FOUND, "no such staged file\n").into_response(),
    };
    // Streamed in 1 MiB chunks, never read whole.
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Downloads `url` (with the worker token) to `dest`, checking that the
/// body is as long as announced; removes a partial file on failure.
pub async fn fetch(url: &HttpUrl, token: &BearerToken, dest: &Path) -> anyhow::Result<u64> {
    let result = fetch_to(url, token, dest).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn fetch_to(url: &HttpUrl, token: &BearerToken, dest: &Path) -> anyhow::Result<u64> {
    use tokio::io::AsyncWriteExt;
    let response = reqwest::Client::new()
        .get(url.as_str())
        .header(header::AUTHORIZATION, token.header_value())
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    let expected = response.content_length();
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .with_context(|| format!("create {}", parent.display()))?;
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .with_context(|| format!("create {}", dest.display()))?;
    let mut body = response.bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("read {url}"))?;
        got += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("write {}", dest.display()))?;
    }
    if let Some(n) = expected {
        anyhow::ensure!(got == n, "GET {url}: {got} of {n} bytes came");
    }
    file.sync_all()
        .await
        .with_context(|| format!("sync {}", dest.display()))?;
    Ok(got)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_in_the_staging_dir_get_a_url() {
        let urls = PieceUrls {
            base: "http://127.0.0.1:1234/".to_string(),
            dir: PathBuf::from("/home/m/staging"),
        };
        assert_eq!(
            urls.url_of(Path::new("/home/m/staging/abc-1.data"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:1234/staging/abc-1.data"
        );
        for bad in [
            "/home/m/other/x.data",
            "/home/m/staging/sub/x.data",
            "/home/m/staging/a b",
        ] {
            assert!(urls.url_of(Path::new(bad)).is_err(), "{bad}");
        }
        for bad in ["", ".", "..", "a/b", "a%2f", "a\\b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
