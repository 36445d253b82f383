//! The remote chain node of `ferrite run` and `ferrite init`: where it is
//! (`[chain]` or `FULLNODE_API_INFO`), and what it is (version, network,
//! how far its head is behind the clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferrite_chain::rpc::client::LotusClient;
use serde_json::{Value, json};

use crate::config::ChainConfig;

/// A chain node's JSON-RPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port/rpc/v1`.
    pub url: String,
    /// The API token, if any.
    pub token: Option<String>,
}

/// Parses Lotus's `FULLNODE_API_INFO`: `TOKEN:MULTIADDR` or `MULTIADDR`,
/// the multiaddr being `/ip4/HOST/tcp/PORT[/http]` (or `/ip6/`, `/dns*/`).
pub fn parse_api_info(text: &str) -> anyhow::Result<Endpoint> {
    let text = text.trim();
    let (token, addr) = match text.split_once(":/") {
        Some((t, rest)) if !t.is_empty() => (Some(t.to_string()), format!("/{rest}")),
        _ => (None, text.to_string()),
    };
    let bad = || anyhow::anyhow!("FULLNODE_API_INFO {addr:?} is not TOKEN:/ip4/HOST/tcp/PORT/http");
    let parts: Vec<&str> = addr.split('/').collect();
    // ["", proto, host, "tcp", port, ("http"|"https")?]
    let (proto, host, tcp, port) = match parts.as_slice() {
        ["", proto, host, tcp, port, ..] => (*proto, *host, *tcp, *port),
        _ => return Err(bad()),
    };
    if tcp != "tcp" || port.parse::<u16>().is_err() || host.is_empty() {
        return Err(bad());
    }
    let host = match proto {
        "ip4" | "dns" | "dns4" | "dns6" => host.to_string(),
        "ip6" => format!("[{host}]"),
        _ => return Err(bad()),
    };
    let scheme = match parts.get(5).copied() {
        None | Some("http") | Some("ws") => "http",
        Some("https") | Some("wss") => "https",
        Some(_) => return Err(bad()),
    };
    Ok(Endpoint {
        url: format!("{scheme}://{host}:{port}/rpc/v1"),
        token,
    })
}

/// The endpoint `[chain]` names, or else `FULLNODE_API_INFO`'s.
pub fn endpoint(cfg: &ChainConfig, api_info: Option<&str>) -> anyhow::Result<Endpoint> {
    let token = (!cfg.token.is_empty()).then(|| cfg.token.clone());
    if !cfg.url.is_empty() {
        return Ok(Endpoint {
            url: cfg.url.clone(),
            token,
        });
    }
    match api_info {
        Some(info) => {
            let mut e = parse_api_info(info)?;
            if token.is_some() {
                e.token = token;
            }
            Ok(e)
        }
        None => anyhow::bail!(
            "no chain node: set [chain] url (and token) in the config, or \
             FULLNODE_API_INFO=TOKEN:/ip4/HOST/tcp/PORT/http"
        ),
    }
}

/// The client of `endpoint`, signing as `[chain] signer` says: with the
/// keys of `<home>/keystore` (opened with the passphrase `pass` gives, if
/// it is encrypted) or through the chain node's wallet.
pub fn client(
    endpoint: &Endpoint,
    cfg: &ChainConfig,
    home: &std::path::Path,
    pass: &mut crate::cli::PassphraseArgs,
) -> anyhow::Result<LotusClient> {
    let client = LotusClient::new(endpoint.url.clone(), endpoint.token.clone())?;
    Ok(match cfg.signer {
        crate::config::Signer::Node => client,
        crate::config::Signer::Local => {
            let wallet = crate::commands::wallet::open(&home.join("keystore"), pass)?;
            client.with_local_signing(std::sync::Arc::new(std::sync::Mutex::new(wallet)))
        }
    })
}

/// Checks that the signer holds the key of `addr`, naming where it looked.
pub async fn ensure_can_sign(
    client: &LotusClient,
    addr: &fvm_shared::address::Address,
    role: &str,
) -> anyhow::Result<()> {
    let key = client
        .account_key(addr)
        .await
        .with_context(|| format!("resolve the {role} {addr}"))?;
    let has = client
        .can_sign(&key)
        .await
        .with_context(|| format!("look for the {role} key {key}"))?;
    if !has {
        if client.signs_locally() {
            anyhow::bail!(
                "the keystore has no key for the {role} {addr} ({key}): import it with \
                 `ferrite wallet import`, or set [chain] signer = \"node\" to sign with the chain \
                 node's wallet"
            );
        }
        anyhow::bail!(
            "the chain node's wallet has no key for the {role} {addr} ({key}): import it there \
             (`lotus wallet import`), or set [chain] signer = \"local\" and import it with \
             `ferrite wallet import`"
        );
    }
    Ok(())
}

/// What the node found at start.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Its version string.
    pub version: String,
    /// Its network's name.
    pub network: String,
    /// The head's height.
    pub height: i64,
    /// How long ago the head's block was made.
    pub head_age: Duration,
    /// Seconds between blocks.
    pub block_delay: u64,
}

impl Facts {
    /// Whether the head is recent: within three block times of the clock.
    pub fn synced(&self) -> bool {
        self.head_age.as_secs() <= 3 * self.block_delay.max(1)
    }
}

impl std::fmt::Display for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on network {:?}, head {} made {}s ago ({})",
            self.version,
            self.network,
            self.height,
            self.head_age.as_secs(),
            if self.synced() {
                "in sync"
            } else {
                "NOT in sync"
            }
        )
    }
}

/// Asks the node its version, network and head.
pub async fn check(client: &LotusClient) -> anyhow::Result<Facts> {
    let version: Value = client
        .request("Version", json!([]))
        .await
        .context("ask the chain node its version")?;
    let network: String = client
        .request("StateNetworkName", json!([]))
        .await
        .context("ask the chain node its network")?;
    let head: Value = client
        .request("ChainHead", json!([]))
        .await
        .context("read the chain node's head")?;
    let height = head["Height"]
        .as_i64()
        .context("the chain node's head has no height")?;
    let stamp = head["Blocks"][0]["Timestamp"]
        .as_u64()
        .context("the chain node's head block has no timestamp")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Ok(Facts {
        version: version["Version"].as_str().unwrap_or("unknown").to_string(),
        network,
        height,
        head_age: Duration::from_secs(now.saturating_sub(stamp)),
        block_delay: version["BlockDelay"].as_u64().unwrap_or(30),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_info_forms() {
        let e = parse_api_info("eyJhbGc.x.y:/ip4/10.0.0.2/tcp/1234/http").unwrap();
        assert_eq!(e.url, "http://10.0.0.2:1234/rpc/v1");
        assert_eq!(e.token.as_deref(), Some("eyJhbGc.x.y"));
        let e = parse_api_info("/ip4/127.0.0.1/tcp/2345").unwrap();
        assert_eq!(e.url, "http://127.0.0.1:2345/rpc/v1");
        assert_eq!(e.token, None);
        let e = parse_api_info("t:/dns/lotus.internal/tcp/443/https").unwrap();
        assert_eq!(e.url, "https://lotus.internal:443/rpc/v1");
        let e = parse_api_info("t:/ip6/::1/tcp/1234/http").unwrap();
        assert_eq!(e.url, "http://[::1]:1234/rpc/v1");
        for bad in [
            "",
            "token",
            "t:/ip4/1.2.3.4/udp/1234/http",
            "t:/ip4/1.2.3.4/tcp/notaport/http",
            "t:/unix/x/tcp/1/http",
            "t:/ip4/1.2.3.4/tcp/1234/quic",
        ] {
            assert!(parse_api_info(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn config_over_env() {
        let cfg = ChainConfig {
            url: "http://a:1/rpc/v1".into(),
            token: "cfg".into(),
            ..ChainConfig::default()
        };
        let e = endpoint(&cfg, Some("env:/ip4/1.1.1.1/tcp/2/http")).unwrap();
        assert_eq!(e.url, "http://a:1/rpc/v1");
        assert_eq!(e.token.as_deref(), Some("cfg"));
        let e = endpoint(&ChainConfig::default(), Some("env:/ip4/1.1.1.1/tcp/2/http")).unwrap();
        assert_eq!(e.url, "http://1.1.1.1:2/rpc/v1");
        assert_eq!(e.token.as_deref(), Some("env"));
        let err = endpoint(&ChainConfig::default(), None).unwrap_err();
        assert!(err.to_string().contains("FULLNODE_API_INFO"), "{err}");
    }
}
