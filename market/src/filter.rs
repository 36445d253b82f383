//! The deal filter: an operator's program that sees each deal that passed
//! the [checks](crate::checks) and says yes or no.
//!
//! ```text
//!  FilterInput ─► JSON (Boost's shape) ─► stdin ─► program args…  ─┬─ exit 0 ─────────► Accept
//!                                                                  ├─ exit ≠ 0 ───────► Reject(stdout+stderr, trimmed, bounded)
//!                                                                  ├─ past the timeout ► killed, Reject("deal filter timed out after N s")
//!                                                                  └─ cannot start ───► Err(MarketError::FilterUnavailable)
//! ```
//!
//! The JSON is Boost's `DealParams` with `"DealType": "storage"` (what
//! Boost's `CliStorageDealFilter` writes), so existing Boost filter scripts
//! work. Where we differ: the program and its arguments are configured
//! separately and run directly, not through `sh -c` (name `sh` with `-c` to
//! get that); `Transfer.Params` is left out, because it carries the
//! client's URL and auth headers; and a filter that hangs is killed after a
//! timeout, which Boost does not have.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use cid::Cid;
use fil_actor_market_state::v18::{ClientDealProposal, Label};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::checks::truncate;
use crate::config::FilterConfig;
use crate::deal::DealUuid;
use crate::error::MarketError;

/// The most bytes kept from each of the filter's stdout and stderr; the
/// rest is read and dropped, so a chatty filter never blocks on its pipe.
pub const MAX_OUTPUT_BYTES: usize = 4096;

/// The longest reason sent back to the client, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;

/// The deal as the filter sees it: the fields of Boost's `DealParams`.
#[derive(Debug, Clone)]
pub struct FilterInput<'a> {
    /// The deal's UUID.
    pub uuid: DealUuid,
    /// The signed proposal.
    pub proposal: &'a ClientDealProposal,
    /// Whether the data comes by import.
    pub is_offline: bool,
    /// The root CID of the deal's payload (`DealDataRoot`).
    pub data_root: Option<Cid>,
    /// The transfer type (`"http"`), empty for offline deals.
    pub transfer_type: String,
    /// The client's transfer id, as given.
    pub transfer_client_id: String,
    /// The declared transfer size.
    pub transfer_size: u64,
    /// Whether the client asked that no unsealed copy be kept.
    pub remove_unsealed_copy: bool,
    /// Whether the client asked that the deal not be announced to IPNI.
    pub skip_ipni_announce: bool,
}

/// What the filter said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterVerdict {
    /// Exit status 0.
    Accept,
    /// Anything else: the reason for the client.
    Reject(String),
}

/// The configured filter program. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealFilter {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl DealFilter {
    /// The filter of `config` (validated with the market config).
    pub fn new(config: &FilterConfig) -> Self {
        Self {
            program: config.command.clone(),
            args: config.args.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
        }
    }

    /// Runs the filter on `deal`. A filter that exits non-zero or runs past
    /// the timeout rejects the deal; one that cannot be started is an error
    /// (the deal should be refused as "try later", and the operator told).
    pub async fn check(&self, deal: &FilterInput<'_>) -> Result<FilterVerdict, MarketError> {
        let unavailable = |reason: String| MarketError::FilterUnavailable {
            program: self.program.clone(),
            reason,
        };
        let json = serde_json::to_vec_pretty(&BoostDealParams::from(deal))
            .map_err(|e| unavailable(format!("encode the deal: {e}")))?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unavailable(e.to_string()))?;

        match tokio::time::timeout(self.timeout, run(&mut child, &json)).await {
            Ok(Ok(Finished { success: true, .. })) => Ok(FilterVerdict::Accept),
            Ok(Ok(Finished {
                success: false,
                status,
                stdout,
                stderr,
            })) => {
                let (out, err) = (
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr),
                );
                let text = [out.trim(), err.trim()]
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(FilterVerdict::Reject(if text.is_empty() {
                    format!("deal filter exited with {status}")
                } else {
                    bounded(&text)
                }))
            }
            Ok(Err(e)) => Err(unavailable(e.to_string())),
            Err(_) => {
                // Kill it by its own PID, and reap it so no zombie stays.
                if let Err(e) = child.start_kill() {
                    tracing::warn!(program = %self.program, "kill the deal filter: {e:#}");
                }
                let _ = child.wait().await;
                Ok(FilterVerdict::Reject(format!(
                    "deal filter timed out after {} s",
                    self.timeout.as_secs()
                )))
            }
        }
    }
}

struct Finished {
    success: bool,
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Feeds `json` to the child and collects its (bounded) output and status.
async fn run(child: &mut Child, json: &[u8]) -> std::io::Result<Finished> {
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A filter may exit without reading its input: not an error.
            match stdin.write_all(json).await {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let (written, out, err) = tokio::join!(write, read_bounded(stdout), read_bounded(stderr));
    written?;
    let status = child.wait().await?;
    Ok(Finished {
        success: status.success(),
        status,
        stdout: out?,
        stderr: err?,
    })
}

/// Everything `r` yields up to EOF, of which the first
/// [`MAX_OUTPUT_BYTES`] are kept.
async fn read_bounded<R: AsyncRead + Unpin>(r: Option<R>) -> std::io::Result<Vec<u8>> {
    let Some(mut r) = r else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(kept);
        }
        let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// `text` cut to [`MAX_REASON_BYTES`], marked when cut.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_REASON_BYTES {
        text.to_string()
    } else {
        format!("{}…", truncate(text, MAX_REASON_BYTES))
    }
}

/// Boost's `DealParams` JSON (Go field names), plus `DealType`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BoostDealParams {
    #[serde(rename = "DealUUID")]
    deal_uuid: String,
    is_offline: bool,
    client_deal_proposal: BoostClientDealProposal,
    deal_data_root: Option<CidJson>,
    transfer: BoostTransfer,
    remove_unsealed_copy: bool,
    #[serde(rename = "SkipIPNIAnnounce")]
    skip_ipni_announce: bool,
    deal_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BoostClientDealProposal {
    proposal: BoostProposal,
    client_signature: BoostSignature,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BoostProposal {
    #[serde(rename = "PieceCID")]
    piece_cid: CidJson,
    piece_size: u64,
    verified_deal: bool,
    client: String,
    provider: String,
    label: String,
    start_epoch: i64,
    end_epoch: i64,
    storage_price_per_epoch: String,
    provider_collateral: String,
    client_collateral: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BoostSignature {
    /// 1 secp256k1, 2 BLS (go-state-types' crypto.SigType).
    #[serde(rename = "Type")]
    kind: u8,
    data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BoostTransfer {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "ClientID")]
    client_id: String,
    /// Left out: the URL and headers may hold the client's secrets.
    params: Option<()>,
    size: u64,
}

/// A CID as Go's JSON writes it: `{"/": "bafy…"}`.
#[derive(Serialize)]
struct CidJson {
    #[serde(rename = "/")]
    cid: String,
}

impl From<&FilterInput<'_>> for BoostDealParams {
    fn from(d: &FilterInput<'_>) -> Self {
        let p = &d.proposal.proposal;
        let sig = &d.proposal.client_signature;
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            deal_uuid: d.uuid.to_string(),
            is_offline: d.is_offline,
            client_deal_proposal: BoostClientDealProposal {
                proposal: BoostProposal {
                    piece_cid: CidJson {
                        cid: p.piece_cid.to_string(),
                    },
                    piece_size: p.piece_size.0,
                    verified_deal: p.verified_deal,
                    client: p.client.to_string(),
                    provider: p.provider.to_string(),
                    label: match &p.label {
                        Label::String(s) => s.clone(),
                        Label::Bytes(b) => b64.encode(b),
                    },
                    start_epoch: p.start_epoch,
                    end_epoch: p.end_epoch,
                    storage_price_per_epoch: p.storage_price_per_epoch.atto().to_string(),
                    provider_collateral: p.provider_collateral.atto().to_string(),
                    client_collateral: p.client_collateral.atto().to_string(),
                },
                client_signature: BoostSignature {
                    kind: match sig.sig_type {
                        fvm_shared::crypto::signature::SignatureType::Secp256k1 => 1,
                        fvm_shared::crypto::signature::SignatureType::BLS => 2,
                    },
                    data: b64.encode(&sig.bytes),
                },
            },
            deal_data_root: d.data_root.map(|c| CidJson { cid: c.to_string() }),
            transfer: BoostTransfer {
                kind: d.transfer_type.clone(),
                client_id: d.transfer_client_id.clone(),
                params: None,
                size: d.transfer_size,
            },
            remove_unsealed_copy: d.remove_unsealed_copy,
            skip_ipni_announce: d.skip_ipni_announce,
            deal_type: "storage",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Instant;

    use fil_actor_market_state::v18::DealProposal;
    use fvm_shared::address::Address;
    use fvm_shared::crypto::signature::Signature;
    use fvm_shared::econ::TokenAmount;
    use fvm_shared::piece::PaddedPieceSize;

    use super::*;

    fn proposal() -> ClientDealProposal {
        ClientDealProposal {
            proposal: DealProposal {
                piece_cid: "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
                    .parse()
                    .unwrap(),
                piece_size: PaddedPieceSize(2048),
                verified_deal: true,
                client: Address::new_id(1001),
                provider: Address::new_id(1000),
                label: Label::String("root".to_string()),
                start_epoch: 10,
                end_epoch: 20,
                storage_price_per_epoch: TokenAmount::from_atto(7),
                provider_collateral: TokenAmount::from_atto(8),
                client_collateral: TokenAmount::from_atto(9),
            },
            client_signature: Signature::new_secp256k1(vec![1, 2, 3]),
        }
    }

    fn input(p: &ClientDealProposal) -> FilterInput<'_> {
        FilterInput {
            uuid: DealUuid([0xab; 16]),
            proposal: p,
            is_offline: false,
            data_root: None,
            transfer_type: "http".to_string(),
            transfer_client_id: "c1".to_string(),
            transfer_size: 2000,
            remove_unsealed_copy: false,
            skip_ipni_announce: true,
        }
    }

    fn sh(script: &str, timeout_secs: u64) -> DealFilter {
        DealFilter::new(&FilterConfig {
            command: "sh".to_string(),
            args: vec!["-c".to_string(), script.to_string()],
            timeout_secs,
        })
    }

    #[tokio::test]
    async fn exit_zero_accepts() {
        let p = proposal();
        let v = sh("cat >/dev/null; exit 0", 10)
            .check(&input(&p))
            .await
            .unwrap();
        assert_eq!(v, FilterVerdict::Accept);
        // Not reading stdin is fine too.
        let v = sh("true", 10).check(&input(&p)).await.unwrap();
        assert_eq!(v, FilterVerdict::Accept);
    }

    #[tokio::test]
    async fn the_filter_sees_boosts_json() {
        let p = proposal();
        // Echo the input back on stderr and reject, to look at it.
        let v = sh("cat >&2; exit 1", 10).check(&input(&p)).await.unwrap();
        let FilterVerdict::Reject(json) = v else {
            panic!("expected a rejection")
        };
        let j: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(j["DealUUID"], "abababab-abab-abab-abab-abababababab");
        assert_eq!(j["DealType"], "storage");
        assert_eq!(j["SkipIPNIAnnounce"], true);
        let prop = &j["ClientDealProposal"]["Proposal"];
        assert_eq!(
            prop["PieceCID"]["/"],
            "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
        );
        assert_eq!(prop["PieceSize"], 2048);
        assert_eq!(prop["Client"], "f01001");
        assert_eq!(prop["StoragePricePerEpoch"], "7");
        assert_eq!(prop["VerifiedDeal"], true);
        assert_eq!(j["ClientDealProposal"]["ClientSignature"]["Type"], 1);
        assert_eq!(j["Transfer"]["Type"], "http");
        assert_eq!(j["Transfer"]["Size"], 2000);
        assert!(j["Transfer"]["Params"].is_null());
    }

    #[tokio::test]
    async fn non_zero_rejects_with_the_trimmed_output() {
        let p = proposal();
        let v = sh("echo '  price too low  '; echo 'see ask' >&2; exit 3", 10)
            .check(&input(&p))
            .await
            .unwrap();
        assert_eq!(
            v,
            FilterVerdict::Reject("price too low\nsee ask".to_string())
        );
        let v = sh("exit 4", 10).check(&input(&p)).await.unwrap();
        let FilterVerdict::Reject(msg) = v else {
            panic!("expected a rejection")
        };
        assert!(msg.contains("exit status: 4"), "{msg}");
    }

    #[tokio::test]
    async fn a_hanging_filter_is_killed_at_the_timeout() {
        let p = proposal();
        let started = Instant::now();
        let v = sh("exec sleep 30", 1).check(&input(&p)).await.unwrap();
        assert_eq!(
            v,
            FilterVerdict::Reject("deal filter timed out after 1 s".to_string())
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error() {
        let p = proposal();
        let f = DealFilter::new(&FilterConfig {
            command: "/nonexistent/ferrite-deal-filter".to_string(),
            args: Vec::new(),
            timeout_secs: 5,
        });
        let err = f.check(&input(&p)).await.unwrap_err();
        assert!(
            matches!(err, MarketError::FilterUnavailable { .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("/nonexistent/ferrite-deal-filter"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn huge_output_is_bounded() {
        let p = proposal();
        let v = sh("yes no | head -c 5000000; exit 1", 10)
            .check(&input(&p))
            .await
            .unwrap();
        let FilterVerdict::Reject(msg) = v else {
            panic!("expected a rejection")
        };
        assert!(
            msg.len() <= MAX_REASON_BYTES + '…'.len_utf8(),
            "{}",
            msg.len()
        );
        assert!(msg.starts_with("no\nno\n"));
        assert!(msg.ends_with('…'));
    }
}
