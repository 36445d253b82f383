//! [`TransferError`]: why fetching sector files failed, and whether trying
//! again can help.

use std::io;
use std::path::PathBuf;

use reqwest::StatusCode;

use super::manifest::Sha256Digest;

/// Why a sector-file transfer failed. Each variant names the URL or file it
/// is about. [`TransferError::is_transient`] is the retry policy: the
/// fetcher retries those itself (resuming), and a Fetch task that fails with
/// one may be rerun; the others need someone to look.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The request could not be sent or its response not read (refused
    /// connection, timeout, TLS).
    #[error("GET {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// What reqwest returned.
        source: reqwest::Error,
    },
    /// The server answered with a status the fetcher does not expect (401
    /// for a wrong token, 404 for a file it does not hold...).
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The server's answer breaks the protocol: no length, a
    /// `Content-Range` that does not start where asked, a bad manifest.
    #[error("GET {url}: {problem}")]
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The body stopped before the announced length. What arrived is in the
    /// `.partial` file, and the next attempt resumes from there.
    #[error("GET {url}: connection cut at byte {received} of {total}")]
    Interrupted {
        /// The URL.
        url: String,
        /// Bytes of the file now in the `.partial` file.
        received: u64,
        /// The file's length.
        total: u64,
        /// The transport error, if the body ended with one.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The file on the server does not have the length the caller (or the
    /// manifest) expects. Nothing is kept under either name.
    #[error("{url}: the file has {actual} bytes, expected {expected}")]
    SizeMismatch {
        /// The URL.
        url: String,
        /// The length asked for.
        expected: u64,
        /// The server's length.
        actual: u64,
    },
    /// A complete, freshly downloaded file whose SHA-256 is not the
    /// manifest's. It is deleted.
    #[error("{url}: SHA-256 {actual}, expected {expected}")]
    HashMismatch {
        /// The URL.
        url: String,
        /// The manifest's digest.
        expected: Sha256Digest,
        /// The downloaded file's digest.
        actual: Sha256Digest,
    },
    /// The disk filled up while writing. Only the `.partial` file exists; a
    /// later attempt resumes it once there is room.
    #[error("disk full writing {}", path.display())]
    DiskFull {
        /// The `.partial` file.
        path: PathBuf,
        /// The write error.
        source: io::Error,
    },
    /// A local file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, as a short verb phrase.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A destination path without a file name (`/`, `..`).
    #[error("destination {} has no file name", .0.display())]
    InvalidDestination(PathBuf),
    /// A token that cannot go in an `Authorization` header.
    #[error("invalid transfer token: {0}")]
    InvalidToken(String),
    /// The HTTP client could not be built.
    #[error("build the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl TransferError {
    /// Whether trying again, later, can succeed without anyone acting: a
    /// network failure, a cut connection, a server error (5xx), or a server
    /// that asks to slow down (408, 429). A full disk is not: space has to
    /// be freed first.
    pub fn is_transient(&self) -> bool {
        match self {
            TransferError::Http { .. } | TransferError::Interrupted { .. } => true,
            TransferError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        TransferError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A write error: [`TransferError::DiskFull`] when the disk or quota is
    /// full, [`TransferError::Io`] otherwise.
    pub(crate) fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if matches!(
            source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        ) {
            TransferError::DiskFull { path, source }
        } else {
            TransferError::io("write", path, source)
        }
    }
}
