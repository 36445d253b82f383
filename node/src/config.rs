//! The configuration: one TOML file with a section per crate.
//!
//! Precedence, highest first: command-line flags, `FERRITE_<SECTION>__<KEY>`
//! environment variables (nested keys joined by `__`, e.g.
//! `FERRITE_PROOFS__LIMITS__C2=2`), the file (`--config`, or `config.toml`
//! in the home directory), and the defaults. Every section denies unknown
//! keys, so a typo is an error rather than a silently ignored setting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ferrite_chain::config::DevnetConfig;
use ferrite_proofs::ProofsConfig;
use serde::{Deserialize, Serialize};

use crate::cli::GlobalArgs;

/// The documented default config, as `ferrite config default` prints it.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The whole of ferrite.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[node]`: this process.
    pub node: NodeConfig,
    /// `[proofs]`: parameters, caches and proof concurrency.
    pub proofs: ProofsConfig,
    /// `[devnet]`: the embedded chain of `ferrite devnet`.
    pub devnet: DevnetConfig,
    pub cluster: ClusterConfig,
    pub sealing: SealingConfig,
    /// `[market]`: storage deals.
    pub market: ferrite_market::MarketConfig,
    /// `[retrieval]`: serving pieces and blocks over HTTP.
    pub retrieval: ferrite_retrieval::RetrievalConfig,
    /// `[chain]`: the remote node of `ferrite run`.
    pub chain: ChainConfig,
}

/// `[sealing]`: the node's sealing pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealingConfig {
    /// `[sealing.precommit_batch]`: sectors per PreCommitSectorBatch2 and how
    /// long a batch waits to fill.
    pub precommit_batch: ferrite_sealing::BatchConfig,
    /// `[sealing.packing]`: how long a sector with deal pieces waits for
    /// more, and the epochs sealing takes (deals starting sooner are refused).
    pub packing: ferrite_sealing::PackingConfig,
}

impl Default for SealingConfig {
    fn default() -> Self {
        Self {
            precommit_batch: ferrite_sealing::BatchConfig {
                max_sectors: 16,
                wait_secs: 5,
            },
            packing: ferrite_sealing::PackingConfig::default(),
        }
    }
}

/// `[cluster]`: the workers' gRPC endpoint and the task scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Where the gRPC endpoint for workers listens.
    pub grpc_listen: String,
    /// Run a worker in the node's process, taking every sealing task.
    pub local_worker: bool,
    /// `[cluster.scheduler]`: resources per task kind and size, caps,
    /// heartbeat timeout.
    pub scheduler: ferrite_cluster::SchedulerConfig,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            grpc_listen: "127.0.0.1:2346".to_string(),
            local_worker: true,
            scheduler: ferrite_cluster::SchedulerConfig::default(),
        }
    }
}

/// `[node]` in ferrite.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Log filter, in `tracing`'s syntax (`info`, `ferrite=debug,info`). Default: `info`.
    pub log_level: String,
    /// Log line format: `text` or `json`. Default: `text`.
    pub log_format: LogFormat,
    /// Where `ferrite run` serves its operator API (JSON-RPC `Ferrite.*`,
    /// `/metrics`, `/health/livez`, `/health/readyz`). `ferrite devnet`
    /// serves it on `[devnet] listen`, with the chain's Lotus methods.
    pub api_listen: String,
    /// On SIGTERM or SIGINT, how long running tasks get to finish and be
    /// recorded before the node stops; a task cut short runs again after
    /// the restart.
    pub shutdown_grace_secs: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            log_level: "info".to_string(),
            log_format: LogFormat::Text,
            api_listen: "127.0.0.1:2345".to_string(),
            shutdown_grace_secs: 60,
        }
    }
}

/// `[chain]`: the Lotus or Forest node `ferrite run` works through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// Its JSON-RPC URL (`http://host:1234/rpc/v1`). Empty: from
    /// `FULLNODE_API_INFO` (`TOKEN:/ip4/HOST/tcp/PORT/http`), as Lotus's
    /// tools take it.
    pub url: String,
    /// Its API token (sign permission, for the node's messages). Empty:
    /// from `FULLNODE_API_INFO`, or none.
    pub token: String,
    /// The miner the node seals and proves for (`f0...`). Empty: the one
    /// in `<home>/miner`.
    pub miner: String,
    /// How often the node reads the chain's head, in milliseconds.
    pub head_poll_ms: u64,
    /// Who signs the node's messages: `local` (the keys of `<home>/keystore`)
    /// or `node` (the chain node's wallet, through `MpoolPushMessage`).
    pub signer: Signer,
}

/// Who signs the node's messages on a remote chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signer {
    /// The node's own keystore.
    Local,
    /// The chain node's wallet.
    Node,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            token: String::new(),
            miner: String::new(),
            head_poll_ms: 1000,
            signer: Signer::Local,
        }
    }
}

impl Config {
    /// Checks what serde cannot: the scheduler's resources and the
    /// precommit batch size.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.cluster
            .scheduler
            .validate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // builtin-actors' PRE_COMMIT_SECTOR_BATCH_MAX_SIZE.
        let batch = self.sealing.precommit_batch;
        anyhow::ensure!(
            (1..=256).contains(&batch.max_sectors),
            "sealing.precommit_batch.max_sectors is {}: it must be 1 to 256",
            batch.max_sectors
        );
        self.retrieval
            .validate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}

/// Logs `cfg` readably: one line per section, its plain keys as
/// `key=value` (STYLE R7: the daemon logs its effective config).
pub fn log_effective(cfg: &Config) {
    fn walk(section: &str, table: &toml::Table) {
        let mut plain = Vec::new();
        let mut nested = Vec::new();
        for (k, v) in table {
            match v {
                toml::Value::Table(t) => nested.push((k, t)),
                v => plain.push(format!("{k}={v}")),
            }
        }
        if !plain.is_empty() {
            tracing::info!("config [{section}] {}", plain.join(" "));
        }
        for (k, t) in nested {
            let name = if section.is_empty() {
                k.to_string()
            } else {
                format!("{section}.{k}")
            };
            walk(&name, t);
        }
    }
    match toml::Table::try_from(cfg) {
        Ok(t) => walk("", &t),
        Err(e) => tracing::warn!("encode the effective config: {e}"),
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where the home directory and the config file are.
pub fn config_path(global: &GlobalArgs) -> (PathBuf, bool) {
    match &global.config {
        Some(p) => (p.clone(), true),
        None => (global.home().join("config.toml"), false),
    }
}

/// Loads the effective config for `global`'s flags from the process environment.
pub fn load(global: &GlobalArgs) -> anyhow::Result<Config> {
    let env: HashMap<String, String> = std::env::vars().collect();
    load_with_env(global, &env)
}

/// Loads the effective config, with `env` standing in for the environment.
pub fn load_with_env(global: &GlobalArgs, env: &HashMap<String, String>) -> anyhow::Result<Config> {
    let (path, explicit) = config_path(global);
    if explicit && !path.is_file() {
        anyhow::bail!("config file {} does not exist", path.display());
    }
    // Only FERRITE_<SECTION>__<KEY> variables are config; FERRITE_HOME and
    // FERRITE_CONFIG belong to the command line.
    let overrides: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("FERRITE_") && k.contains("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut builder = config::Config::builder()
        .add_source(config::Config::try_from(&Config::default()).context("encode defaults")?)
        .add_source(
            config::File::from(path.as_path())
                .format(config::FileFormat::Toml)
                .required(explicit),
        )
        .add_source(
            config::Environment::with_prefix("FERRITE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(overrides)),
        );
    if let Some(level) = &global.log_level {
        builder = builder.set_override("node.log_level", level.as_str())?;
    }
    if let Some(format) = global.log_format {
        let name = match format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        };
        builder = builder.set_override("node.log_format", name)?;
    }
    if let Some(dir) = &global.parameter_cache {
        builder = builder.set_override("proofs.parameter_cache", path_str(dir)?)?;
    }
    builder
        .build()
        .and_then(|c| c.try_deserialize::<Config>())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "load config ({}, FERRITE_* environment, flags)",
                path.display()
            )
        })
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(config: Option<PathBuf>, home: &Path) -> GlobalArgs {
        GlobalArgs {
            home: Some(home.to_path_buf()),
            config,
            log_format: None,
            log_level: None,
            parameter_cache: None,
        }
    }

    #[test]
    fn documented_default_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn example_in_deploy_parses() {
        let example = include_str!("../../deploy/ferrite.toml");
        let parsed: Config = toml::from_str(example).unwrap();
        assert_eq!(parsed.node.log_format, LogFormat::Json);
    }

    #[test]
    fn no_file_means_defaults() {
        let home = tempfile::tempdir().unwrap();
        let cfg = load_with_env(&global(None, home.path()), &HashMap::new()).unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn flags_over_env_over_file_over_defaults() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("config.toml");
        std::fs::write(
            &file,
            "[node]\nlog_level = \"debug\"\n[proofs]\nparameter_cache = \"/from/file\"\nthreads = 3\n[proofs.limits]\nc2 = 5\n",
        )
        .unwrap();
        let env: HashMap<String, String> = [
            ("FERRITE_PROOFS__PARAMETER_CACHE", "/from/env"),
            ("FERRITE_PROOFS__LIMITS__PC1", "7"),
            ("FERRITE_HOME", "/ignored/by/config"),
            ("OTHER", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cfg = load_with_env(&global(None, home.path()), &env).unwrap();
        assert_eq!(cfg.node.log_level, "debug"); // file over default
        assert_eq!(cfg.proofs.threads, 3);
        assert_eq!(cfg.proofs.limits.c2, 5);
        assert_eq!(cfg.proofs.limits.pc1, 7); // env
        assert_eq!(cfg.proofs.limits.pc2, 1); // default
        assert_eq!(cfg.proofs.parameter_cache, PathBuf::from("/from/env")); // env over file

        let mut g = global(None, home.path());
        g.parameter_cache = Some(PathBuf::from("/from/flag"));
        g.log_format = Some(LogFormat::Json);
        let cfg = load_with_env(&g, &env).unwrap();
        assert_eq!(cfg.proofs.parameter_cache, PathBuf::from("/from/flag")); // flag over env
        assert_eq!(cfg.node.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("bad.toml");
        std::fs::write(&file, "[proofs]\nparamter_cache = \"/typo\"\n").unwrap();
        let err = load_with_env(&global(Some(file), home.path()), &HashMap::new()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("paramter_cache"), "{msg}");
        assert!(msg.contains("unknown field"), "{msg}");

        let env: HashMap<String, String> =
            [("FERRITE_PROOFS__NOPE".to_string(), "1".to_string())].into();
        let err = load_with_env(&global(None, home.path()), &env).unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
    }

    #[test]
    fn missing_explicit_file_and_bad_values_are_errors() {
        let home = tempfile::tempdir().unwrap();
        let err = load_with_env(
            &global(Some(home.path().join("absent.toml")), home.path()),
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");

        let env: HashMap<String, String> =
            [("FERRITE_PROOFS__LIMITS__C2".to_string(), "many".to_string())].into();
        assert!(load_with_env(&global(None, home.path()), &env).is_err());
    }
}
