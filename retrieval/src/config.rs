//! `[retrieval]` in ferrite.toml: where the HTTP server listens, its limits,
//! what happens when a piece has no unsealed copy, and the unpadded-piece
//! cache. Checked once with
//! [`RetrievalConfig::validate`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::RetrievalError;

/// `[retrieval]` in ferrite.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalConfig {
    /// Serve retrievals at all. Default: true.
    pub enabled: bool,
    /// Where the HTTP server listens. Default: `0.0.0.0:2347` (Curio's port).
    pub listen: String,
    /// Transfers served at once; a request past it gets 429 with
    /// Retry-After. Default: 256.
    pub max_concurrent_transfers: usize,
    /// Bytes per second one client (one IP address) is sent, over all its
    /// transfers; 0 for no limit. Default: 0.
    pub max_bytes_per_second_per_client: u64,
    /// `[retrieval.unseal]`: unsealing on demand.
    pub unseal: UnsealConfig,
    /// `[retrieval.ipni]`: advertising to network indexers.
    pub ipni: IpniConfig,
    /// `[retrieval.cache]`: unpadded copies of the pieces asked for.
    pub cache: CacheConfig,
}

/// `[retrieval.cache]`: pieces served over `/piece/` are kept unpadded in
/// files of their own, and served from there with sendfile(2), at the cost
/// of their size on disk a second time ([`crate::cache`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// The cache's directory (made if missing); empty turns the cache off.
    /// Default: empty.
    pub dir: PathBuf,
    /// Bytes the cached pieces may take in all; past it, the least recently
    /// served go. A piece larger than this is never cached.
    /// Default: 64 GiB.
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::new(),
            max_bytes: 64 << 30,
        }
    }
}

/// `[retrieval.ipni]`: IPNI advertisements of the pieces and blocks stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpniConfig {
    /// Build and serve advertisements. Default: true.
    pub enabled: bool,
    /// The URL clients reach this retrieval server at, put in every ad
    /// (e.g. `https://sp.example.com`). Default: empty, meaning
    /// `http://<retrieval.listen>` (fine for loopback tests only).
    pub public_url: String,
    /// Indexers told of each new ad (HTTP announce), e.g.
    /// `https://cid.contact/ingest/announce`. Default: none.
    pub announce_urls: Vec<String>,
    /// Seconds between passes that advertise new pieces and withdraw gone
    /// ones. Default: 30.
    pub interval_secs: u64,
}

impl Default for IpniConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public_url: String::new(),
            announce_urls: Vec::new(),
            interval_secs: 30,
        }
    }
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "0.0.0.0:2347".to_string(),
            max_concurrent_transfers: 256,
            max_bytes_per_second_per_client: 0,
            unseal: UnsealConfig::default(),
            ipni: IpniConfig::default(),
            cache: CacheConfig::default(),
        }
    }
}

/// `[retrieval.unseal]`: a piece whose sector has no unsealed copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnsealConfig {
    /// Hold the request until the unseal is done (true), or answer 503 with
    /// `Retry-After` at once and unseal in the background (false).
    /// Default: true.
    pub wait: bool,
    /// The Retry-After, in seconds, when not waiting. Default: 60.
    pub retry_after_secs: u64,
    /// How long an unsealed copy made on demand is kept after its last
    /// read, in seconds; 0 keeps it for good. Copies that sealing kept are
    /// never removed. Default: 0.
    pub keep_secs: u64,
}

impl Default for UnsealConfig {
    fn default() -> Self {
        Self {
            wait: true,
            retry_after_secs: 60,
            keep_secs: 0,
        }
    }
}

impl RetrievalConfig {
    /// Checks the values no type can.
    pub fn validate(&self) -> Result<(), RetrievalError> {
        if self.max_concurrent_transfers == 0 {
            return Err(RetrievalError::Config(
                "retrieval.max_concurrent_transfers must be at least 1".into(),
            ));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(RetrievalError::Config(format!(
                "retrieval.listen {:?} is not an address:port",
                self.listen
            )));
        }
        if self.ipni.enabled && self.ipni.interval_secs == 0 {
            return Err(RetrievalError::Config(
                "retrieval.ipni.interval_secs must be at least 1".into(),
            ));
        }
        if !self.cache.dir.as_os_str().is_empty() && self.cache.max_bytes == 0 {
            return Err(RetrievalError::Config(
                "retrieval.cache.max_bytes must be above 0 when retrieval.cache.dir is set".into(),
            ));
        }
        if !self.unseal.wait && self.unseal.retry_after_secs == 0 {
            return Err(RetrievalError::Config(
                "retrieval.unseal.retry_after_secs must be at least 1 when wait is false".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_mistakes_do_not() {
        assert!(RetrievalConfig::default().validate().is_ok());
        let mut c = RetrievalConfig {
            max_concurrent_transfers: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("at least 1"));
        c.max_concurrent_transfers = 1;
        c.listen = "nowhere".into();
        assert!(c.validate().unwrap_err().to_string().contains("nowhere"));
        c.listen = "127.0.0.1:0".into();
        c.cache = CacheConfig {
            dir: "/var/cache/pieces".into(),
            max_bytes: 0,
        };
        assert!(c.validate().unwrap_err().to_string().contains("max_bytes"));
    }
}
