//! The fetching side: downloads into `<name>.partial`, resumes with a
//! `Range` request, checks, syncs and renames into place.

use std::collections::HashSet;
use std::ops::AddAssign;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::error::TransferError;
use super::layout::{SectorDir, SectorFileKind, is_cache_file_name};
use super::manifest::{Manifest, Sha256Digest};
use super::token::TransferToken;

/// A manifest larger than this is refused (a real one is a few KiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Bytes buffered before a write to the `.partial` file.
const WRITE_BUFFER: usize = 1 << 20;

/// What a fetched file must be. Unset fields are not checked beyond the
/// server's own `Content-Length`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpectedFile {
    /// Its length. Known from the manifest, a `HEAD`, or the sector size.
    pub len: Option<u64>,
    /// Its SHA-256, which the manifest gives for small files.
    pub sha256: Option<Sha256Digest>,
}

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Files now in place (fetched or already there).
    pub files: u64,
    /// Their total length.
    pub bytes: u64,
    /// Bytes received over the network by this call (less than `bytes` when
    /// files were resumed or already there; more when a corrupt partial
    /// file had to be fetched again).
    pub downloaded: u64,
    /// Files that were already in place and not fetched again.
    pub skipped: u64,
}

impl AddAssign for FetchStats {
    fn add_assign(&mut self, other: Self) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.downloaded += other.downloaded;
        self.skipped += other.skipped;
    }
}

/// Fetches sector files from another host's [`super::sector_files_router`].
/// Cheap to clone; clones share one connection pool.
///
/// Each file goes to `<dest>.partial` first. An attempt that is cut off
/// leaves what it received there, and the next one (in the same call, up to
/// the configured attempts, or a later call) asks for the rest with
/// `Range: bytes=<partial length>-`. Once the file is complete its length
/// is checked against the server's and the expected one, its SHA-256 when
/// one is expected (a mismatch after a resume discards the partial file and
/// fetches the whole file once more), it is fsynced and renamed to `dest`,
/// and the directory is fsynced. So `dest` only ever holds a whole, checked
/// file, and a full disk or a crash leaves nothing but the `.partial` file.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    token: TransferToken,
    attempts: u32,
    backoff: Duration,
}

impl Fetcher {
    /// A fetcher that sends `token`, tries each file up to 3 times with 1 s,
    /// then 2 s between tries, gives up connecting after 10 s and on a
    /// connection idle for 60 s. It follows no redirects.
    pub fn new(token: TransferToken) -> Result<Self, TransferError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(TransferError::Client)?;
        Ok(Self {
            client,
            token,
            attempts: 3,
            backoff: Duration::from_secs(1),
        })
    }

    /// Tries each file up to `attempts` times (at least once), waiting
    /// `backoff` × the attempt number between tries. Only
    /// [`TransferError::is_transient`] errors are retried.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// Fetches the sector's files of the given kinds from the host at
    /// `base_url` (`http://host:port`, where the router is mounted) into
    /// `<dest_root>/<sector_dir>/{sealed,cache/,unsealed}`, the layout of
    /// the serving side. Sealed and unsealed files are checked against the
    /// length a `HEAD` gives; the cache directory against its manifest.
    /// Files already in place with the right length (and hash) are kept.
    pub async fn fetch_sector(
        &self,
        base_url: &str,
        sector_dir: &SectorDir,
        kinds: &[SectorFileKind],
        dest_root: &Path,
    ) -> Result<FetchStats, TransferError> {
        let dest = dest_root.join(sector_dir.as_str());
        let mut stats = FetchStats::default();
        for &kind in kinds {
            let url = sector_url(base_url, sector_dir, kind);
            let to = dest.join(kind.as_str());
            stats += if kind.is_dir() {
                self.fetch_cache_dir(&url, &to).await?
            } else {
                let len = self.remote_len(&url).await?;
                let expected = ExpectedFile {
                    len: Some(len),
                    sha256: None,
                };
                self.fetch_file(&url, &to, expected).await?
            };
        }
        Ok(stats)
    }

    /// Fetches a cache directory: its manifest from `manifest_url`
    /// (`.../sectors/cache/<sector_dir>`), then each file it lists into
    /// `dest_dir`, checked against the manifest's size and SHA-256.
    pub async fn fetch_cache_dir(
        &self,
        manifest_url: &str,
        dest_dir: &Path,
    ) -> Result<FetchStats, TransferError> {
        let manifest = self.manifest(manifest_url).await?;
        tokio::fs::create_dir_all(dest_dir)
            .await
            .map_err(|e| TransferError::io("create directory", dest_dir, e))?;
        let base = manifest_url.trim_end_matches('/');
        let mut stats = FetchStats::default();
        for entry in &manifest.files {
            let expected = ExpectedFile {
                len: Some(entry.size),
                sha256: entry.sha256,
            };
            stats += self
                .fetch_file(
                    &format!("{base}/{}", entry.name),
                    &dest_dir.join(&entry.name),
                    expected,
                )
                .await?;
        }
        Ok(stats)
    }

    /// The manifest of a cache directory. Every name in it is checked with
    /// the server's own rules, so a manifest cannot name a file outside the
    /// destination directory.
    pub async fn manifest(&self, url: &str) -> Result<Manifest, TransferError> {
        let resp = self.send(self.client.get(url), url).await?;
        if resp.status() != StatusCode::OK {
            return Err(status_error(url, resp.status()));
        }
        let bad = |problem: String| TransferError::BadResponse {
            url: url.to_owned(),
            problem,
        };
        if header_u64(resp.headers(), header::CONTENT_LENGTH)
            .is_some_and(|n| n > MAX_MANIFEST_BYTES as u64)
        {
            return Err(bad("manifest too large".into()));
        }
        let body = resp.bytes().await.map_err(|source| TransferError::Http {
            url: url.to_owned(),
            source,
        })?;
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(bad("manifest too large".into()));
        }
        let manifest: Manifest =
            serde_json::from_slice(&body).map_err(|e| bad(format!("bad manifest: {e}")))?;
        let mut seen = HashSet::new();
        for entry in &manifest.files {
            if !is_cache_file_name(&entry.name) {
                return Err(bad(format!("manifest names a bad file {:?}", entry.name)));
            }
            if !seen.insert(entry.name.as_str()) {
                return Err(bad(format!("manifest lists {:?} twice", entry.name)));
            }
        }
        Ok(manifest)
    }

    /// The length of the file at `url`, from a `HEAD`.
    pub async fn remote_len(&self, url: &str) -> Result<u64, TransferError> {
        let resp = self.send(self.client.head(url), url).await?;
        if resp.status() != StatusCode::OK {
            return Err(status_error(url, resp.status()));
        }
        // Read the header itself: reqwest's `content_length` is the body's,
        // and a HEAD response has none.
        header_u64(resp.headers(), header::CONTENT_LENGTH).ok_or_else(|| {
            TransferError::BadResponse {
                url: url.to_owned(),
                problem: "no Content-Length".into(),
            }
        })
    }

    /// Fetches one file from `url` to `dest` (see [`Fetcher`] for the
    /// steps), resuming a `<dest>.partial` left by an earlier attempt. If
    /// `dest` already has the expected length (and hash), nothing is
    /// fetched. Without an expected length, `dest` is fetched again.
    pub async fn fetch_file(
        &self,
        url: &str,
        dest: &Path,
        expected: ExpectedFile,
    ) -> Result<FetchStats, TransferError> {
        let partial = partial_path(dest)?;
        if let Some(len) = expected.len
            && in_place(dest, len, expected.sha256).await?
        {
            return Ok(FetchStats {
                files: 1,
                bytes: len,
                downloaded: 0,
                skipped: 1,
            });
        }
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| TransferError::io("create directory", parent, e))?;
        }
        let mut downloaded = 0;
        let mut attempt = 1;
        loop {
            match self
                .fetch_once(url, dest, &partial, expected, &mut downloaded)
                .await
            {
                Ok(len) => {
                    return Ok(FetchStats {
                        files: 1,
                        bytes: len,
                        downloaded,
                        skipped: 0,
                    });
                }
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    tracing::warn!(
                        attempt,
                        "fetch {url}: {e:#}; trying again from the partial file"
                    );
                    tokio::time::sleep(self.backoff * attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt: download what is missing, check, rename. Returns the
    /// file's length.
    async fn fetch_once(
        &self,
        url: &str,
        dest: &Path,
        partial: &Path,
        expected: ExpectedFile,
        downloaded: &mut u64,
    ) -> Result<u64, TransferError> {
        // A partial file may be restarted from zero once: when the server
        // says it is longer than the file, or its hash is wrong after a
        // resume (the bytes kept from before were not the file's).
        let mut restarted = false;
        loop {
            let have = file_len(partial).await?;
            if expected.len.is_some_and(|len| have > len) {
                remove(partial).await?;
                continue;
            }
            let total = if have > 0 && expected.len == Some(have) {
                have
            } else {
                match self
                    .download(url, partial, have, expected.len, downloaded)
                    .await?
                {
                    Download::Complete(total) => total,
                    Download::Restart if !restarted => {
                        restarted = true;
                        remove(partial).await?;
                        continue;
                    }
                    Download::Restart => {
                        return Err(TransferError::BadResponse {
                            url: url.to_owned(),
                            problem: "refuses the range even for a fresh download".into(),
                        });
                    }
                }
            };
            let on_disk = file_len(partial).await?;
            if on_disk != total {
                remove(partial).await?;
                return Err(TransferError::SizeMismatch {
                    url: url.to_owned(),
                    expected: total,
                    actual: on_disk,
                });
            }
            if let Some(want) = expected.sha256 {
                let got = sha256_of(partial).await?;
                if got != want {
                    remove(partial).await?;
                    if have > 0 && !restarted {
                        tracing::warn!(
                            "fetch {url}: SHA-256 mismatch after resuming at byte {have}; fetching the whole file again"
                        );
                        restarted = true;
                        continue;
                    }
                    return Err(TransferError::HashMismatch {
                        url: url.to_owned(),
                        expected: want,
                        actual: got,
                    });
                }
            }
            install(partial, dest).await?;
            return Ok(total);
        }
    }

    /// Requests the bytes from `have` on and appends them to `partial`.
    async fn download(
        &self,
        url: &str,
        partial: &Path,
        have: u64,
        expected_len: Option<u64>,
        downloaded: &mut u64,
    ) -> Result<Download, TransferError> {
        let mut req = self.client.get(url);
        if have > 0 {
            req = req.header(header::RANGE, format!("bytes={have}-"));
        }
        let resp = self.send(req, url).await?;
        let bad = |problem: &str| TransferError::BadResponse {
            url: url.to_owned(),
            problem: problem.to_owned(),
        };
        let (start, total) = match resp.status() {
            StatusCode::OK => {
                let total = header_u64(resp.headers(), header::CONTENT_LENGTH)
                    .ok_or_else(|| bad("no Content-Length"))?;
                (0, total)
            }
            StatusCode::PARTIAL_CONTENT => {
                let (first, last, total) =
                    content_range(resp.headers()).ok_or_else(|| bad("bad Content-Range"))?;
                if first != have || last.checked_add(1) != Some(total) {
                    return Err(bad("Content-Range is not the range asked for"));
                }
                (have, total)
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let total =
                    unsatisfied_range(resp.headers()).ok_or_else(|| bad("bad Content-Range"))?;
                check_len(url, expected_len, total, partial).await?;
                // The partial file is already whole, or it is longer than
                // the file and cannot be the start of it.
                return Ok(if total == have {
                    Download::Complete(total)
                } else {
                    Download::Restart
                });
            }
            status => return Err(status_error(url, status)),
        };
        check_len(url, expected_len, total, partial).await?;

        let mut options = tokio::fs::OpenOptions::new();
        options.create(true);
        if start == 0 {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let file = options
            .open(partial)
            .await
            .map_err(|e| TransferError::io("open", partial, e))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut written = start;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(source) => {
                    // Keep what arrived for the next attempt.
                    out.flush()
                        .await
                        .map_err(|e| TransferError::write(partial, e))?;
                    return Err(TransferError::Interrupted {
                        url: url.to_owned(),
                        received: written,
                        total,
                        source: Some(source),
                    });
                }
            };
            let n = chunk.len() as u64;
            if written + n > total {
                return Err(bad("more bytes than announced"));
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| TransferError::write(partial, e))?;
            written += n;
            *downloaded += n;
        }
        out.flush()
            .await
            .map_err(|e| TransferError::write(partial, e))?;
        if written < total {
            return Err(TransferError::Interrupted {
                url: url.to_owned(),
                received: written,
                total,
                source: None,
            });
        }
        Ok(Download::Complete(total))
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, TransferError> {
        req.bearer_auth(self.token.secret())
            .send()
            .await
            .map_err(|source| TransferError::Http {
                url: url.to_owned(),
                source,
            })
    }
}

/// How one download request ended.
enum Download {
    /// The partial file holds the whole file, of this length.
    Complete(u64),
    /// The partial file cannot be resumed; start from zero.
    Restart,
}

/// The URL of a sector's file or cache directory under `base_url`.
pub fn sector_url(base_url: &str, sector_dir: &SectorDir, kind: SectorFileKind) -> String {
    format!(
        "{}/sectors/{kind}/{sector_dir}",
        base_url.trim_end_matches('/')
    )
}

/// `<dest>.partial`, next to `dest`.
pub fn partial_path(dest: &Path) -> Result<PathBuf, TransferError> {
    let name = dest
        .file_name()
        .ok_or_else(|| TransferError::InvalidDestination(dest.to_owned()))?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(dest.with_file_name(partial))
}

fn status_error(url: &str, status: StatusCode) -> TransferError {
    TransferError::Status {
        url: url.to_owned(),
        status,
    }
}

/// A size that is not the expected one: the partial file belongs to
/// another file, so it goes too.
async fn check_len(
    url: &str,
    expected: Option<u64>,
    actual: u64,
    partial: &Path,
) -> Result<(), TransferError> {
    match expected {
        Some(expected) if expected != actual => {
            remove(partial).await?;
            Err(TransferError::SizeMismatch {
                url: url.to_owned(),
                expected,
                actual,
            })
        }
        _ => Ok(()),
    }
}

fn header_u64(headers: &HeaderMap, name: header::HeaderName) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `bytes FIRST-LAST/TOTAL`.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

/// `bytes */TOTAL`, as a 416 carries.
fn unsatisfied_range(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    v.strip_prefix("bytes */")?.parse().ok()
}

/// The length of `path`, 0 if it does not exist.
async fn file_len(path: &Path) -> Result<u64, TransferError> {
    match tokio::fs::metadata(path).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(TransferError::io("stat", path, e)),
    }
}

async fn remove(path: &Path) -> Result<(), TransferError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TransferError::io("remove", path, e)),
    }
}

async fn sha256_of(path: &Path) -> Result<Sha256Digest, TransferError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || Sha256Digest::of_file(&owned))
        .await
        .map_err(|e| TransferError::io("hash", path, std::io::Error::other(e)))?
        .map_err(|e| TransferError::io("hash", path, e))
}

/// Whether `dest` is already the expected file.
async fn in_place(
    dest: &Path,
    len: u64,
    sha256: Option<Sha256Digest>,
) -> Result<bool, TransferError> {
    match tokio::fs::metadata(dest).await {
        Ok(m) if m.is_file() && m.len() == len => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(TransferError::io("stat", dest, e)),
    }
    match sha256 {
        Some(want) => Ok(sha256_of(dest).await? == want),
        None => Ok(true),
    }
}

/// fsync the partial file, rename it to `dest`, fsync the directory so
/// the rename survives a crash.
async fn install(partial: &Path, dest: &Path) -> Result<(), TransferError> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(partial)
        .await
        .map_err(|e| TransferError::io("open", partial, e))?;
    file.sync_all()
        .await
        .map_err(|e| TransferError::write(partial, e))?;
    drop(file);
    tokio::fs::rename(partial, dest)
        .await
        .map_err(|e| TransferError::io("rename into place", dest, e))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        let dir_file = tokio::fs::File::open(dir)
            .await
            .map_err(|e| TransferError::io("open", dir, e))?;
        dir_file
            .sync_all()
            .await
            .map_err(|e| TransferError::io("sync directory", dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn content_ranges() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 5-9/10"),
        );
        assert_eq!(content_range(&h), Some((5, 9, 10)));
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes */10"),
        );
        assert_eq!(content_range(&h), None);
        assert_eq!(unsatisfied_range(&h), Some(10));
    }

    #[test]
    fn partial_name() {
        assert_eq!(
            partial_path(Path::new("/a/sealed")).unwrap(),
            Path::new("/a/sealed.partial")
        );
        assert!(partial_path(Path::new("/")).is_err());
    }
}
