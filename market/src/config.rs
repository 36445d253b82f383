//! `[market]` in ferrite.toml: the ask, the deal bounds, publishing,
//! transfers, staging and the deal filter. Read once at startup and checked
//! with [`MarketConfig::validate`]; the node then builds the market's parts
//! from it (the [`Ask`] and the limits of a
//! [`CheckContext`](crate::checks::CheckContext), the [`PublishConfig`] of
//! the batcher, the transfer [`RetryPolicy`], the [`DealFilter`](crate::filter::DealFilter)).

use std::path::PathBuf;

use ferrite_types::PaddedPieceSize;
use fvm_shared::econ::TokenAmount;
use serde::{Deserialize, Serialize};

use crate::checks::{Ask, MAX_DEAL_DURATION, MIN_DEAL_DURATION};
use crate::deal::RetryPolicy;
use crate::error::MarketError;
use crate::publish::PublishConfig;

/// `[market]` in ferrite.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketConfig {
    /// Where the libp2p deal protocols listen (multiaddrs). Default:
    /// `/ip4/0.0.0.0/tcp/24001` (Boost's port).
    pub listen: Vec<String>,
    /// The storage ask. Default: Lotus's default ask (see [`Ask`]).
    pub ask: Ask,
    /// Epochs between a deal's acceptance and its start epoch, at least:
    /// the time to transfer, publish and seal. Default: 480 (4 hours,
    /// Boost's `StartEpochSealingBuffer`).
    pub sealing_lead_epochs: i64,
    /// The shortest deal taken, in epochs; at least the v18 actor's 180
    /// days. Default: 180 days (518400).
    pub min_duration_epochs: i64,
    /// The longest deal taken, in epochs; at most the v18 actor's 1278 days.
    /// Default: 1278 days (3680640).
    pub max_duration_epochs: i64,
    /// Publish batching (`[market.publish]`).
    pub publish: PublishConfig,
    /// Data transfers (`[market.transfer]`).
    pub transfer: TransferConfig,
    /// Where transferred data waits until sealing has read it. Relative
    /// paths are under the node's home. Default: `market/staging`.
    pub staging_dir: PathBuf,
    /// The deal filter (`[market.filter]`); none by default.
    pub filter: Option<FilterConfig>,
    /// Transfers running at once. Default: 20 (Boost's
    /// `HttpTransferMaxConcurrentDownloads`).
    pub max_concurrent_transfers: usize,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/24001".to_string()],
            ask: Ask::default(),
            sealing_lead_epochs: 480,
            min_duration_epochs: MIN_DEAL_DURATION,
            max_duration_epochs: MAX_DEAL_DURATION,
            publish: PublishConfig::default(),
            transfer: TransferConfig::default(),
            staging_dir: PathBuf::from("market/staging"),
            filter: None,
            max_concurrent_transfers: 20,
        }
    }
}

/// `[market.transfer]`: how data is pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferConfig {
    /// The largest transfer accepted, in bytes. Default: 64 GiB.
    pub max_bytes: u64,
    /// Tries of a transfer (the first one included) before the deal fails.
    /// Default: 5.
    pub max_attempts: u32,
    /// The wait before the first retry, doubling after each failure.
    /// Default: 30 s.
    pub backoff_secs: u64,
    /// The longest wait between retries. Default: 600 s.
    pub max_backoff_secs: u64,
    /// A transfer that receives nothing for this long fails (and is
    /// retried). Default: 300 s.
    pub timeout_secs: u64,
}

impl Default for TransferConfig {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Self {
            max_bytes: 64 << 30,
            max_attempts: retry.max_attempts,
            backoff_secs: retry.backoff_secs,
            max_backoff_secs: retry.max_backoff_secs,
            timeout_secs: 300,
        }
    }
}

impl TransferConfig {
    /// The retry policy of transfers (and of publish messages that failed
    /// for a passing reason).
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            backoff_secs: self.backoff_secs,
            max_backoff_secs: self.max_backoff_secs,
        }
    }
}

/// `[market.filter]`: the operator's deal filter program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The program (a path, or a name looked up in `PATH`).
    pub command: String,
    /// Its arguments. Default: none. (`command = "sh"`, `args = ["-c",
    /// "…"]` runs a shell line, as Boost's `Filter` does.)
    #[serde(default)]
    pub args: Vec<String>,
    /// How long it may take before it is killed and the deal rejected.
    /// Default: 10 s.
    #[serde(default = "default_filter_timeout")]
    pub timeout_secs: u64,
}

fn default_filter_timeout() -> u64 {
    10
}

impl MarketConfig {
    /// Checks the values against each other and the v18 market actor's
    /// rules; the first problem as [`MarketError::Config`].
    pub fn validate(&self) -> Result<(), MarketError> {
        let bad = |msg: String| Err(MarketError::Config(msg));
        if let Err(e) = self.ask.validate() {
            return bad(format!("ask: {e}"));
        }
        if self.sealing_lead_epochs < 0 {
            return bad(format!(
                "sealing_lead_epochs is {}; it must not be negative",
                self.sealing_lead_epochs
            ));
        }
        if self.min_duration_epochs < MIN_DEAL_DURATION
            || self.max_duration_epochs > MAX_DEAL_DURATION
            || self.min_duration_epochs > self.max_duration_epochs
        {
            return bad(format!(
                "deal durations {}..={} must lie within the market actor's {MIN_DEAL_DURATION}..={MAX_DEAL_DURATION} epochs, min first",
                self.min_duration_epochs, self.max_duration_epochs
            ));
        }
        if self.publish.max_deals == 0 {
            return bad("publish.max_deals must be at least 1".to_string());
        }
        let t = &self.transfer;
        if t.max_attempts == 0 || t.timeout_secs == 0 || t.max_bytes == 0 {
            return bad(
                "transfer.max_attempts, transfer.timeout_secs and transfer.max_bytes must be at least 1"
                    .to_string(),
            );
        }
        if self.max_concurrent_transfers == 0 {
            return bad("max_concurrent_transfers must be at least 1".to_string());
        }
        if self.staging_dir.as_os_str().is_empty() {
            return bad("staging_dir must be set".to_string());
        }
        if let Some(f) = &self.filter {
            if f.command.trim().is_empty() {
                return bad("filter.command is empty".to_string());
            }
            if f.timeout_secs == 0 {
                return bad("filter.timeout_secs must be at least 1".to_string());
            }
        }
        Ok(())
    }
}

impl Default for Ask {
    /// Lotus's default ask: 0.0000000005 FIL per GiB-epoch, a tenth of that
    /// for verified deals, pieces of 256 bytes to 64 GiB (the sector size
    /// caps it further).
    fn default() -> Self {
        Self {
            price_per_gib_epoch: TokenAmount::from_atto(500_000_000),
            verified_price_per_gib_epoch: TokenAmount::from_atto(50_000_000),
            min_piece_size: PaddedPieceSize::new(256).unwrap_or_else(|_| unreachable!()),
            max_piece_size: PaddedPieceSize::new(64 << 30).unwrap_or_else(|_| unreachable!()),
        }
    }
}

/// Serde for token amounts in config files: attoFIL as a decimal string
/// (`"500000000"`), or as an integer where it fits.
pub(crate) mod atto {
    use fvm_shared::bigint::BigInt;
    use fvm_shared::econ::TokenAmount;
    use serde::{Deserialize, Deserializer, Serializer, de};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Int(i64),
        Str(String),
    }

    pub fn serialize<S: Serializer>(v: &TokenAmount, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.atto().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TokenAmount, D::Error> {
        match Text::deserialize(d)? {
            Text::Int(i) => Ok(TokenAmount::from_atto(i)),
            Text::Str(s) => s
                .trim()
                .parse::<BigInt>()
                .map(TokenAmount::from_atto)
                .map_err(|e| de::Error::custom(format!("{s:?} is not an attoFIL amount: {e}"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> MarketConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        let c = MarketConfig::default();
        c.validate().unwrap();
        assert_eq!(parse(""), c);
        assert_eq!(c.transfer.retry_policy(), RetryPolicy::default());
    }

    #[test]
    fn a_full_section_parses_and_round_trips() {
        let c = parse(
            r#"
            sealing_lead_epochs = 2880
            min_duration_epochs = 600000
            staging_dir = "/srv/staging"
            max_concurrent_transfers = 4
            [ask]
            price_per_gib_epoch = "1000000000000"
            verified_price_per_gib_epoch = 0
            min_piece_size = 1048576
            max_piece_size = 34359738368
            [publish]
            max_deals = 3
            wait_secs = 60
            [transfer]
            max_attempts = 2
            [filter]
            command = "/usr/local/bin/filter"
            args = ["--strict"]
            "#,
        );
        c.validate().unwrap();
        assert_eq!(
            c.ask.price_per_gib_epoch,
            TokenAmount::from_atto(1_000_000_000_000u64)
        );
        assert_eq!(c.ask.min_piece_size.bytes(), 1 << 20);
        assert_eq!(c.publish.max_deals, 3);
        assert_eq!(c.transfer.max_attempts, 2);
        assert_eq!(c.transfer.timeout_secs, 300);
        let f = c.filter.clone().unwrap();
        assert_eq!(f.timeout_secs, 10);
        assert_eq!(f.args, ["--strict"]);
        let again: MarketConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(toml::from_str::<MarketConfig>("bogus = 1").is_err());
        assert!(toml::from_str::<MarketConfig>("[ask]\nmin_piece_size = 1000").is_err());
        assert!(toml::from_str::<MarketConfig>("[ask]\nprice_per_gib_epoch = \"1.5\"").is_err());
        assert!(toml::from_str::<MarketConfig>("[filter]\nargs = []").is_err());
        type Edit = fn(&mut MarketConfig);
        let cases: [(&str, Edit); 8] = [
            ("min_piece_size", |c| {
                c.ask.min_piece_size = PaddedPieceSize::new(1 << 20).unwrap();
                c.ask.max_piece_size = PaddedPieceSize::new(1 << 10).unwrap();
            }),
            ("negative", |c| {
                c.ask.price_per_gib_epoch = TokenAmount::from_atto(-1)
            }),
            ("sealing_lead_epochs", |c| c.sealing_lead_epochs = -1),
            ("durations", |c| c.min_duration_epochs = 100),
            ("durations", |c| {
                c.max_duration_epochs = MAX_DEAL_DURATION + 1
            }),
            ("max_deals", |c| c.publish.max_deals = 0),
            ("max_concurrent_transfers", |c| {
                c.max_concurrent_transfers = 0
            }),
            ("filter.command", |c| {
                c.filter = Some(FilterConfig {
                    command: " ".to_string(),
                    args: Vec::new(),
                    timeout_secs: 1,
                })
            }),
        ];
        for (what, edit) in cases {
            let mut c = MarketConfig::default();
            edit(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(what), "{what}: {err}");
        }
    }
}
