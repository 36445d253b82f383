//! Where files are: absolute paths on a worker's host, and http(s) URLs a
//! worker downloads from. Both travel as text, so both are checked to be
//! text that means what it should before anyone opens a file with it.

use std::fmt;
use std::path::Path;

use crate::ProtoError;

/// Longest path accepted (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;
/// Longest URL accepted.
const MAX_URL_BYTES: usize = 8192;

/// An absolute path on a worker's host, as UTF-8 text (what the wire
/// carries): not empty, starting with `/`, without NUL bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPath(String);

impl HostPath {
    /// Checks `path`. The error's field is empty; callers name it with
    /// [`ProtoError::at`].
    pub fn new(path: impl Into<String>) -> Result<Self, ProtoError> {
        let path = path.into();
        if path.is_empty() {
            return Err(ProtoError::invalid("", "empty path"));
        }
        if !path.starts_with('/') {
            return Err(ProtoError::invalid(
                "",
                format!("path {path:?} is not absolute"),
            ));
        }
        if path.contains('\0') {
            return Err(ProtoError::invalid("", "path contains a NUL byte"));
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(ProtoError::invalid(
                "",
                format!("path of {} bytes; at most {MAX_PATH_BYTES}", path.len()),
            ));
        }
        Ok(Self(path))
    }

    /// `path` as a [`HostPath`]: it must be absolute and valid UTF-8 (a
    /// non-UTF-8 path cannot travel as protobuf text without changing).
    pub fn from_path(path: &Path) -> Result<Self, ProtoError> {
        let text = path.to_str().ok_or_else(|| {
            ProtoError::invalid("", format!("path {} is not UTF-8", path.display()))
        })?;
        Self::new(text)
    }

    /// The path, to open.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<HostPath> for String {
    fn from(p: HostPath) -> String {
        p.0
    }
}

/// An `http://` or `https://` URL with a host, and no whitespace or control
/// characters: where a worker downloads a piece or a sector file from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Checks `url`. The error's field is empty; callers name it with
    /// [`ProtoError::at`].
    pub fn new(url: impl Into<String>) -> Result<Self, ProtoError> {
        let url = url.into();
        if url.len() > MAX_URL_BYTES {
            return Err(ProtoError::invalid(
                "",
                format!("URL of {} bytes; at most {MAX_URL_BYTES}", url.len()),
            ));
        }
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| ProtoError::invalid("", format!("{url:?} is not an http(s) URL")))?;
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProtoError::invalid(
                "",
                format!("URL {url:?} contains whitespace or control characters"),
            ));
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // user@host:port: what follows the last '@' must name a host.
        let host = host.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(ProtoError::invalid("", format!("URL {url:?} has no host")));
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<HttpUrl> for String {
    fn from(u: HttpUrl) -> String {
        u.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_must_be_absolute_text() {
        assert_eq!(
            HostPath::new("/seal/s-t01000-1").unwrap().as_str(),
            "/seal/s-t01000-1"
        );
        for bad in ["", "seal/x", "./x", "/a\0b"] {
            assert!(HostPath::new(bad).is_err(), "{bad:?}");
        }
        assert!(HostPath::new(format!("/{}", "a".repeat(MAX_PATH_BYTES))).is_err());
        assert!(HostPath::from_path(Path::new("/x/y")).is_ok());
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        for ok in [
            "http://127.0.0.1:2347/piece/x",
            "https://host.example/a?b=c",
            "http://user@host:80/",
        ] {
            assert_eq!(HttpUrl::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "ftp://host/x",
            "http://",
            "http:///path",
            "http://:80/x",
            "https://host/a b",
            "http://host/\n",
            "/local/path",
        ] {
            assert!(HttpUrl::new(bad).is_err(), "{bad:?}");
        }
    }
}
