//! Deal intake: the node's answers to Boost's libp2p protocols. A proposal
//! goes through the checks (ferrite-market's `check_deal`, with what they
//! need read from the chain and the store) and the operator's filter, and is
//! recorded Accepted; a status request is answered once its signature is the
//! client's; the ask is the one in force (`[market.ask]`, or the one
//! `ferrite deals ask set` stored), signed by the worker key.

use std::sync::Arc;

use anyhow::Context;
use ferrite_market::checks::{self, CheckContext, DealInput, Rejection};
use ferrite_market::deal::ProposalCid;
use ferrite_market::filter::{FilterInput, FilterVerdict};
use ferrite_market::net::{DealProtocols, MkVersion};
use ferrite_market::records::{DealRecord, Transfer};
use ferrite_market::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatus, DealStatusRequest,
    DealStatusResponse,
};
use libp2p::PeerId;
use tracing::{info, warn};

use super::{Market, now_secs};

/// `ferrite_market_*`: deals by state, bytes received, rejections by reason.
pub struct MarketMetrics {
    deals: prometheus::IntGaugeVec,
    pub(super) bytes_received: prometheus::IntCounter,
    rejections: prometheus::IntCounterVec,
}

impl MarketMetrics {
    pub fn register(registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let deals = prometheus::IntGaugeVec::new(
            prometheus::Opts::new("ferrite_market_deals", "The market's deals by state"),
            &["state"],
        )?;
        let bytes_received = prometheus::IntCounter::new(
            "ferrite_market_bytes_received_total",
            "Deal data received, by transfer or import",
        )?;
        let rejections = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "ferrite_market_rejections_total",
                "Deal proposals rejected, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(deals.clone()))?;
        registry.register(Box::new(bytes_received.clone()))?;
        registry.register(Box::new(rejections.clone()))?;
        // Every reason is exported from the start, at 0.
        for reason in Rejection::REASONS.iter().chain(&["internal"]) {
            rejections.with_label_values(&[reason]);
        }
        Ok(Self {
            deals,
            bytes_received,
            rejections,
        })
    }

    /// Sets the per-state gauge from the records (every state, 0 when empty).
    pub(super) fn export_states(&self, all: &[DealRecord]) {
        let mut counts: std::collections::BTreeMap<&'static str, i64> = Default::default();
        for r in all {
            *counts.entry(r.state.name()).or_default() += 1;
        }
        for state in ferrite_market::DealState::NAMES {
            self.deals
                .with_label_values(&[state])
                .set(counts.get(state).copied().unwrap_or(0));
        }
    }
}

/// The libp2p handler over the market service.
#[derive(Debug, Clone)]
pub struct Intake(pub Arc<Market>);

impl Market {
    /// Checks, filters and records a proposal; the answer for the client.
    pub async fn propose(&self, params: DealParams) -> DealResponse {
        match self.accept(&params).await {
            Ok(()) => {
                info!(deal = %params.deal_uuid, offline = params.is_offline, "accepted a deal");
                DealResponse::accept()
            }
            Err(Refusal::Rejected(r)) => {
                self.metrics
                    .rejections
                    .with_label_values(&[r.reason()])
                    .inc();
                info!(deal = %params.deal_uuid, reason = r.reason(), "rejected a deal: {r}");
                DealResponse::reject(r.to_string())
            }
            Err(Refusal::Internal(e)) => {
                self.metrics
                    .rejections
                    .with_label_values(&["internal"])
                    .inc();
                warn!(deal = %params.deal_uuid, "could not take a deal: {e:#}");
                DealResponse::reject(format!("the provider could not take the deal: {e:#}"))
            }
        }
    }

    async fn accept(&self, params: &DealParams) -> Result<(), Refusal> {
        let proposal = &params.client_deal_proposal;
        let transfer = if params.is_offline {
            Transfer::default()
        } else {
            checks::check_transfer_type(&params.transfer.kind)?;
            let http = params
                .transfer
                .http_request()
                .map_err(|e| Rejection::TransferUrl {
                    reason: e.to_string(),
                })?;
            checks::check_transfer_url(&http.url)?;
            Transfer {
                kind: params.transfer.kind.clone(),
                client_id: params.transfer.client_id.clone(),
                url: http.url,
                headers: http.headers,
                size: params.transfer.size,
            }
        };
        let client_key = self
            .chain
            .account_key(proposal.proposal.client)
            .await
            .map_err(|e| Rejection::BadSignature {
                reason: format!(
                    "the client {} has no key on chain: {e:#}",
                    proposal.proposal.client
                ),
            })?;
        let proposal_cid =
            ProposalCid::of(&proposal.proposal).map_err(|e| Rejection::Malformed {
                reason: e.to_string(),
            })?;
        let client_available = self
            .chain
            .available_escrow(proposal.proposal.client)
            .await
            .map_err(Refusal::Internal)?;
        // The provider's escrow, plus what its worker can move into it at
        // publish time (as Boost's fund manager does).
        let provider_available = self
            .chain
            .available_escrow(self.miner)
            .await
            .map_err(Refusal::Internal)?
            + self
                .chain
                .balance(self.worker)
                .await
                .map_err(Refusal::Internal)?;
        let staging_free_bytes = fs2::available_space(&self.staging)
            .with_context(|| format!("free space of {}", self.staging.display()))
            .map_err(Refusal::Internal)?;
        // One acceptance at a time: the duplicate check and the insert go together.
        let _one = self.accepting.lock().await;
        let known = self
            .deals
            .known(&params.deal_uuid, &proposal_cid)
            .map_err(|e| Refusal::Internal(e.into()))?;
        let (ask, _) = self.ask_in_force();
        let ctx = CheckContext {
            provider: self.miner,
            client_key,
            head: ferrite_types::ChainEpoch(self.chain.head()),
            sector_size: self.sector_size,
            sealing_lead_epochs: self.lead_epochs,
            min_duration: self.cfg.min_duration_epochs,
            max_duration: self.cfg.max_duration_epochs,
            ask: &ask,
            client_available,
            provider_available,
            staging_free_bytes,
            known,
        };
        let input = DealInput {
            uuid: params.deal_uuid,
            proposal,
            is_offline: params.is_offline,
            transfer_size: params.transfer.size,
        };
        let checked = checks::check_deal(&input, &ctx)?;
        if let Some(filter) = &self.filter {
            let verdict = filter
                .check(&FilterInput {
                    uuid: params.deal_uuid,
                    proposal,
                    is_offline: params.is_offline,
                    data_root: Some(params.deal_data_root),
                    transfer_type: params.transfer.kind.clone(),
                    transfer_client_id: params.transfer.client_id.clone(),
                    transfer_size: params.transfer.size,
                    remove_unsealed_copy: params.remove_unsealed_copy,
                    skip_ipni_announce: params.skip_ipni_announce,
                })
                .await
                .map_err(|e| Rejection::Filter {
                    message: e.to_string(),
                })?;
            if let FilterVerdict::Reject(message) = verdict {
                return Err(Rejection::Filter { message }.into());
            }
        }
        let record = DealRecord::new(
            params.deal_uuid,
            proposal.clone(),
            &checked,
            params.is_offline,
            transfer,
            now_secs(),
        );
        let inserted = self
            .deals
            .insert_new(&record)
            .map_err(|e| Refusal::Internal(e.into()))?;
        if !inserted {
            return Err(Rejection::Duplicate {
                existing: params.deal_uuid,
            }
            .into());
        }
        Ok(())
    }

    /// The status of a deal, for its client only.
    pub async fn status(&self, req: DealStatusRequest) -> DealStatusResponse {
        let uuid = req.deal_uuid;
        let record = match self.deals.get(&uuid) {
            Ok(Some(r)) => r,
            Ok(None) => return DealStatusResponse::error(uuid, format!("deal {uuid} not found")),
            Err(e) => return DealStatusResponse::error(uuid, format!("read deal {uuid}: {e}")),
        };
        let client = record.proposal.proposal.client;
        let verified = match self.chain.account_key(client).await {
            Ok(key) => req.signature.verify(uuid.as_bytes(), &key),
            Err(e) => Err(format!("{e:#}")),
        };
        if let Err(e) = verified {
            return DealStatusResponse::error(
                uuid,
                format!("the request is not signed by the deal's client {client}: {e}"),
            );
        }
        let state = &record.state;
        DealStatusResponse {
            deal_uuid: uuid,
            error: String::new(),
            deal_status: Some(DealStatus {
                error: state.failure_reason().unwrap_or_default(),
                status: state.name().to_string(),
                sealing_status: state.sealing_status(),
                proposal: record.proposal.proposal.clone(),
                signed_proposal_cid: record.proposal_cid.0,
                publish_cid: state.publish_message().map(|m| m.0),
                chain_deal_id: state.deal_id().map(|d| d.0).unwrap_or_default(),
            }),
            is_offline: record.is_offline,
            transfer_size: record.transfer.size,
            n_bytes_received: state.bytes_received(),
        }
    }

    /// The configured ask, signed by the worker key.
    pub async fn ask(&self, req: AskRequest) -> AskResponse {
        if req.miner != self.miner {
            return AskResponse { ask: None };
        }
        match self.signed_ask().await {
            Ok(ask) => AskResponse { ask: Some(ask) },
            Err(e) => {
                warn!("sign the storage ask: {e:#}");
                AskResponse { ask: None }
            }
        }
    }

    async fn signed_ask(&self) -> anyhow::Result<ferrite_market::wire::SignedStorageAsk> {
        use ferrite_market::wire::WireMessage;
        let head = self.chain.head();
        let (a, _) = self.ask_in_force();
        let ask = ferrite_market::wire::StorageAsk {
            price: a.price_per_gib_epoch.clone(),
            verified_price: a.verified_price_per_gib_epoch.clone(),
            min_piece_size: fvm_shared::piece::PaddedPieceSize(a.min_piece_size.bytes()),
            max_piece_size: fvm_shared::piece::PaddedPieceSize(a.max_piece_size.bytes()),
            miner: self.miner,
            timestamp: head,
            // A day of epochs, as Lotus's default ask.
            expiry: head + 2880,
            seq_no: 0,
        };
        let bytes = ask.to_cbor()?;
        let signature = self.chain.sign_bytes(self.worker, bytes).await?;
        Ok(ferrite_market::wire::SignedStorageAsk {
            ask: Some(ask),
            signature: Some(signature),
        })
    }
}

/// Why a proposal was not taken.
enum Refusal {
    /// A check or the filter said no.
    Rejected(Rejection),
    /// The node could not decide (a store or chain failure).
    Internal(anyhow::Error),
}

impl From<Rejection> for Refusal {
    fn from(r: Rejection) -> Self {
        Refusal::Rejected(r)
    }
}

#[async_trait::async_trait]
impl DealProtocols for Intake {
    async fn propose(
        &self,
        _from: PeerId,
        params: DealParams,
        _version: MkVersion,
    ) -> DealResponse {
        self.0.propose(params).await
    }

    async fn status(&self, _from: PeerId, req: DealStatusRequest) -> DealStatusResponse {
        self.0.status(req).await
    }

    async fn ask(&self, _from: PeerId, req: AskRequest) -> AskResponse {
        self.0.ask(req).await
    }
}
