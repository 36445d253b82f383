//! The serving side: an axum router over the seal and store paths of this
//! host.

use std::ffi::OsString;
use std::fs;
use std::io::{self, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::layout::{SectorDir, SectorFileKind, is_cache_file_name};
use super::manifest::{HASHED_BELOW, Manifest, ManifestEntry, Sha256Digest};
use super::token::TransferToken;

/// Bytes read from disk per body chunk.
const CHUNK: usize = 256 << 10;

/// Symbolic links followed while resolving one path (as Linux's `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug)]
struct Server {
    roots: Vec<PathBuf>,
    token: TransferToken,
}

/// The router that serves this host's sector files to other hosts:
///
/// - `GET|HEAD /sectors/{sealed|unsealed}/{sector_dir}`: the file, with
///   `Range: bytes=N-`, `bytes=N-M` and `bytes=-N` (206 and
///   `Content-Range`; 416 and `Content-Range: bytes */LEN` when the range
///   starts past the end).
/// - `GET /sectors/cache/{sector_dir}`: the cache directory's [`Manifest`]
///   (JSON).
/// - `GET|HEAD /sectors/cache/{sector_dir}/{file}`: one cache file, with
///   ranges as above.
///
/// Merge it into the host's HTTP router (`Router::merge`); it has no
/// fallback of its own and checks the token on its routes only.
///
/// `sector_dir` is `s-t0<miner>-<number>` ([`SectorDir`]), looked up under
/// each of `roots` in order (the seal and store paths; the first that holds
/// it serves it). Every request to them needs `Authorization: Bearer <token>` (401
/// otherwise). A name that breaks the rules (`..`, a `/` or `%2f`, anything
/// [`SectorDir::parse`] or [`is_cache_file_name`] refuses) is a 400 before
/// the disk is touched; a missing file, or a symbolic link that leads out
/// of its root, is a 404. Links are resolved one component at a time and a
/// link whose target leaves the root is never followed, so nothing outside
/// the roots is read or even looked up.
pub fn sector_files_router(roots: Vec<PathBuf>, token: TransferToken) -> Router {
    let server = Arc::new(Server { roots, token });
    Router::new()
        .route("/sectors/{kind}/{sector_dir}", get(entry))
        .route("/sectors/{kind}/{sector_dir}/{file}", get(cache_file))
        // A route layer, not a layer: merged into the node's router, this
        // one must not put its token check on the node's fallback.
        .route_layer(middleware::from_fn_with_state(
            server.clone(),
            require_token,
        ))
        .with_state(server)
}

async fn require_token(State(server): State<Arc<Server>>, req: Request, next: Next) -> Response {
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| server.token.matches_header(v.as_bytes()));
    if authorized {
        next.run(req).await
    } else {
        let mut resp = (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        resp
    }
}

/// `/sectors/{kind}/{sector_dir}`: a sealed or unsealed file, or the cache
/// manifest.
async fn entry(
    State(server): State<Arc<Server>>,
    UrlPath((kind, dir)): UrlPath<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Ok(kind) = kind.parse::<SectorFileKind>() else {
        return (StatusCode::NOT_FOUND, "unknown sector file kind").into_response();
    };
    let Some(dir) = SectorDir::parse(&dir) else {
        return bad_name();
    };
    let rel = vec![OsString::from(dir.as_str()), OsString::from(kind.as_str())];
    if kind.is_dir() {
        manifest(server, rel).await
    } else {
        file(server, rel, &method, &headers).await
    }
}

/// `/sectors/cache/{sector_dir}/{file}`.
async fn cache_file(
    State(server): State<Arc<Server>>,
    UrlPath((kind, dir, name)): UrlPath<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if kind.parse::<SectorFileKind>() != Ok(SectorFileKind::Cache) {
        return (StatusCode::NOT_FOUND, "only the cache directory has files").into_response();
    }
    let Some(dir) = SectorDir::parse(&dir) else {
        return bad_name();
    };
    if !is_cache_file_name(&name) {
        return bad_name();
    }
    let rel = vec![
        OsString::from(dir.as_str()),
        OsString::from(SectorFileKind::Cache.as_str()),
        OsString::from(name),
    ];
    file(server, rel, &method, &headers).await
}

fn bad_name() -> Response {
    (StatusCode::BAD_REQUEST, "bad sector directory or file name").into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such sector file").into_response()
}

fn internal(what: &str, err: impl std::fmt::Display) -> Response {
    tracing::warn!("sector files: {what}: {err:#}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "cannot read the sector file",
    )
        .into_response()
}

/// Serves one regular file, whole or a range of it.
async fn file(
    server: Arc<Server>,
    rel: Vec<OsString>,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let opened = tokio::task::spawn_blocking(move || -> io::Result<Option<(fs::File, u64)>> {
        let Some(path) = locate(&server.roots, &rel)? else {
            return Ok(None);
        };
        let file = fs::File::open(&path)?;
        let meta = file.metadata()?;
        Ok(meta.is_file().then_some((file, meta.len())))
    })
    .await;
    let (file, len) = match opened {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return not_found(),
        Ok(Err(e)) => return internal("open", e),
        Err(e) => return internal("open", e),
    };

    let range = if *method == Method::HEAD {
        ByteRange::Full
    } else {
        ByteRange::parse(headers.get(header::RANGE), len)
    };
    let (status, start, count) = match range {
        ByteRange::Full => (StatusCode::OK, 0, len),
        ByteRange::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        ByteRange::Unsatisfiable => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::ACCEPT_RANGES, "bytes")
                .body(Body::empty())
                .unwrap_or_else(|e| internal("build a response", e));
        }
    };

    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, count);
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", start + count - 1),
        );
    }
    let body = if *method == Method::HEAD || count == 0 {
        Body::empty()
    } else {
        let mut file = tokio::fs::File::from_std(file);
        if start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start)).await
        {
            return internal("seek", e);
        }
        file_body(file, count)
    };
    builder
        .body(body)
        .unwrap_or_else(|e| internal("build a response", e))
}

/// `count` bytes from the file's position, read in [`CHUNK`]s as the client
/// takes them. A file that shrinks while being served ends the body with an
/// error, so the client sees a cut connection rather than a short file.
fn file_body(file: tokio::fs::File, count: u64) -> Body {
    let chunks = futures_util::stream::try_unfold((file, count), |(mut file, left)| async move {
        if left == 0 {
            return Ok::<_, io::Error>(None);
        }
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let mut buf = vec![0u8; want];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while being served",
            ));
        }
        buf.truncate(n);
        let left = left.saturating_sub(n as u64);
        Ok(Some((Bytes::from(buf), (file, left))))
    });
    Body::from_stream(chunks)
}

/// The manifest of a cache directory.
async fn manifest(server: Arc<Server>, rel: Vec<OsString>) -> Response {
    // Listing, and hashing the small files, is disk and CPU work.
    let listed = tokio::task::spawn_blocking(move || list_cache(&server.roots, &rel)).await;
    match listed {
        Ok(Ok(Some(manifest))) => Json(manifest).into_response(),
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => internal("list the cache directory", e),
        Err(e) => internal("list the cache directory", e),
    }
}

fn list_cache(roots: &[PathBuf], rel: &[OsString]) -> io::Result<Option<Manifest>> {
    let Some((root, dir)) = locate_with_root(roots, rel)? else {
        return Ok(None);
    };
    if !fs::metadata(&dir)?.is_dir() {
        return Ok(None);
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_cache_file_name(&name) {
            continue;
        }
        let mut entry_rel = rel.to_vec();
        entry_rel.push(OsString::from(&name));
        let Some(path) = resolve_inside(&root, &entry_rel)? else {
            continue;
        };
        // A file removed while the directory is listed is left out.
        let entry = fs::metadata(&path).and_then(|meta| {
            let sha256 = if meta.is_file() && meta.len() < HASHED_BELOW {
                Some(Sha256Digest::of_file(&path)?)
            } else {
                None
            };
            Ok((meta, sha256))
        });
        let (meta, sha256) = match entry {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            continue;
        }
        files.push(ManifestEntry {
            name,
            size: meta.len(),
            sha256,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(Manifest { files }))
}

/// The first root that holds `rel`, resolved.
fn locate(roots: &[PathBuf], rel: &[OsString]) -> io::Result<Option<PathBuf>> {
    Ok(locate_with_root(roots, rel)?.map(|(_, path)| path))
}

/// The first root that holds `rel` (canonical) and the resolved path.
fn locate_with_root(roots: &[PathBuf], rel: &[OsString]) -> io::Result<Option<(PathBuf, PathBuf)>> {
    for root in roots {
        // The root itself may be a link (a mount point's alias); that is
        // the operator's choice, so it is followed.
        let root = match root.canonicalize() {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if let Some(path) = resolve_inside(&root, rel)? {
            return Ok(Some((root, path)));
        }
    }
    Ok(None)
}

/// `root/rel` with every symbolic link on the way resolved, or `None` if it
/// does not exist or a link leads out of `root` (or loops). `root` is
/// canonical. Each link's target is resolved lexically against the
/// directory it sits in, which is itself inside `root` and free of links,
/// and refused before anything outside is looked up.
fn resolve_inside(root: &Path, rel: &[OsString]) -> io::Result<Option<PathBuf>> {
    let mut pending: Vec<OsString> = rel.iter().rev().cloned().collect();
    let mut cur = root.to_path_buf();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match Path::new(&part).components().next() {
            None | Some(Component::CurDir) => continue,
            Some(Component::ParentDir) => {
                if cur == root {
                    return Ok(None);
                }
                cur.pop();
                continue;
            }
            Some(Component::Normal(_)) => {}
            Some(Component::RootDir | Component::Prefix(_)) => return Ok(None),
        }
        let next = cur.join(&part);
        let meta = match fs::symlink_metadata(&next) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            cur = next;
            continue;
        }
        hops += 1;
        if hops > MAX_SYMLINK_HOPS {
            return Ok(None);
        }
        let target = fs::read_link(&next)?;
        let relative = if target.is_absolute() {
            match target.strip_prefix(root) {
                Ok(rest) => {
                    cur = root.to_path_buf();
                    rest.to_path_buf()
                }
                Err(_) => return Ok(None),
            }
        } else {
            target
        };
        let parts: Vec<OsString> = relative
            .components()
            .map(|c| c.as_os_str().to_os_string())
            .collect();
        pending.extend(parts.into_iter().rev());
    }
    Ok(Some(cur))
}

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, PartialEq, Eq)]
enum ByteRange {
    /// No range, or one this server ignores (another unit, several ranges,
    /// bad syntax), as RFC 9110 allows: the whole file, 200.
    Full,
    /// Bytes `start..=end`, inside the file: 206.
    Part { start: u64, end: u64 },
    /// A range that starts past the end, or ends before it starts: 416.
    Unsatisfiable,
}

impl ByteRange {
    fn parse(value: Option<&HeaderValue>, len: u64) -> Self {
        let Some(spec) = value
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("bytes="))
        else {
            return ByteRange::Full;
        };
        if spec.contains(',') {
            return ByteRange::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return ByteRange::Full;
        };
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        match (first.trim().is_empty(), last.trim().is_empty()) {
            // bytes=-N: the last N bytes.
            (true, false) => match number(last) {
                None => ByteRange::Full,
                Some(0) => ByteRange::Unsatisfiable,
                Some(_) if len == 0 => ByteRange::Unsatisfiable,
                Some(n) => ByteRange::Part {
                    start: len.saturating_sub(n),
                    end: len - 1,
                },
            },
            // bytes=N-: from N to the end.
            (false, true) => match number(first) {
                None => ByteRange::Full,
                Some(start) if start >= len => ByteRange::Unsatisfiable,
                Some(start) => ByteRange::Part {
                    start,
                    end: len - 1,
                },
            },
            // bytes=N-M.
            (false, false) => match (number(first), number(last)) {
                (Some(start), Some(end)) if end < start || start >= len => ByteRange::Unsatisfiable,
                (Some(start), Some(end)) => ByteRange::Part {
                    start,
                    end: end.min(len - 1),
                },
                _ => ByteRange::Full,
            },
            (true, true) => ByteRange::Full,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn range(spec: &str, len: u64) -> ByteRange {
        ByteRange::parse(Some(&HeaderValue::from_str(spec).unwrap()), len)
    }

    #[test]
    fn ranges() {
        use ByteRange::*;
        assert_eq!(ByteRange::parse(None, 10), Full);
        assert_eq!(range("bytes=0-", 10), Part { start: 0, end: 9 });
        assert_eq!(range("bytes=4-", 10), Part { start: 4, end: 9 });
        assert_eq!(range("bytes=9-", 10), Part { start: 9, end: 9 });
        assert_eq!(range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(range("bytes=2-5", 10), Part { start: 2, end: 5 });
        assert_eq!(range("bytes=2-50", 10), Part { start: 2, end: 9 });
        assert_eq!(range("bytes=5-2", 10), Unsatisfiable);
        assert_eq!(range("bytes=10-12", 10), Unsatisfiable);
        assert_eq!(range("bytes=-3", 10), Part { start: 7, end: 9 });
        assert_eq!(range("bytes=-30", 10), Part { start: 0, end: 9 });
        assert_eq!(range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(range("bytes=0-1,4-5", 10), Full);
        assert_eq!(range("items=0-1", 10), Full);
        assert_eq!(range("bytes=a-", 10), Full);
        assert_eq!(range("bytes=+1-", 10), Full);
        assert_eq!(range("bytes=-", 10), Full);
        assert_eq!(range("bytes=18446744073709551616-", 10), Full);
    }

    #[test]
    fn links_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("root/a/b")).unwrap();
        fs::create_dir_all(dir.path().join("outside")).unwrap();
        fs::write(dir.path().join("root/a/b/f"), b"x").unwrap();
        fs::write(dir.path().join("outside/secret"), b"x").unwrap();
        let root = dir.path().join("root").canonicalize().unwrap();
        let os = |parts: &[&str]| parts.iter().map(OsString::from).collect::<Vec<_>>();
        std::os::unix::fs::symlink("b/f", root.join("a/rel")).unwrap();
        std::os::unix::fs::symlink(root.join("a/b/f"), root.join("a/abs")).unwrap();
        std::os::unix::fs::symlink("../../outside/secret", root.join("a/out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("a/outdir")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("a/loop")).unwrap();
        let f = Some(root.join("a/b/f"));
        assert_eq!(resolve_inside(&root, &os(&["a", "b", "f"])).unwrap(), f);
        assert_eq!(resolve_inside(&root, &os(&["a", "rel"])).unwrap(), f);
        assert_eq!(resolve_inside(&root, &os(&["a", "abs"])).unwrap(), f);
        assert_eq!(resolve_inside(&root, &os(&["a", "out"])).unwrap(), None);
        assert_eq!(
            resolve_inside(&root, &os(&["a", "outdir", "secret"])).unwrap(),
            None
        );
        assert_eq!(resolve_inside(&root, &os(&["a", "loop"])).unwrap(), None);
        assert_eq!(resolve_inside(&root, &os(&["a", "missing"])).unwrap(), None);
        assert_eq!(resolve_inside(&root, &os(&[".."])).unwrap(), None);
    }
}
