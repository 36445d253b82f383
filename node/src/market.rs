//! The node's market service: it takes storage deals over Boost's libp2p
//! protocols, gets their data, publishes them and hands their pieces to the
//! sealing pipeline, then follows each deal on chain until it ends.
//!
//! ```text
//!  libp2p DealParams ─► intake: checks, filter ─► record (Accepted) ─┐
//!  deals import-data ─────────────────────────────────────────────────┤
//!                                                                     ▼
//!  driver, every second, per live deal: next_action ─► transfer (HTTP pull, CommP)
//!     │                                             ─► publish batch ─► sign, record, push
//!     │                                             ─► Pipeline::add_piece ─► sector
//!     └── apply the event, write the record ◄────────── chain: landed, activated, expired
//! ```
//!
//! The deal state machine is ferrite-market's ([`ferrite_market::deal`]):
//! pure, persisted after every transition (RocksDB at `<home>/market/db`),
//! every step idempotent, so a restart carries on. The publish message is
//! signed and its CID recorded on every deal of its batch before it is
//! pushed, so a deal is published exactly once.

pub mod api;
mod chain;
pub mod http;
mod intake;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferrite_market::MarketConfig;
use ferrite_market::deal::{DealAction, DealEvent, DealUuid, RetryPolicy, StagedPiece};
use ferrite_market::index::{IndexError, PieceIndex, PieceLocation};
use ferrite_market::publish::{PendingDeal, PublishBatch};
use ferrite_market::records::{DealRecord, Deals};
use ferrite_proofs::commp::CommpPool;
use ferrite_sealing::{DealPiece, PieceData, Pipeline};
use ferrite_store::{RocksDb, RocksOptions, Store};
use ferrite_types::{ChainEpoch, SectorSize};
use fvm_shared::address::Address;
use tokio::sync::watch;
use tracing::{info, warn};

pub use api::MarketApi;
pub use chain::MarketChain;

/// How often the driver looks at the live deals.
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Epochs a publish message must stay out of the mpool, unexecuted, before
/// it counts as lost: the block that includes a message executes it, and
/// its receipt shows, only at the next epoch.
const LOST_AFTER_EPOCHS: i64 = 2;

/// The market service of the node's miner.
pub struct Market {
    cfg: MarketConfig,
    deals: Deals,
    /// Where each piece is (sector, offset) and, for CAR data, each block.
    index: PieceIndex,
    chain: MarketChain,
    pipeline: Arc<Pipeline>,
    miner: Address,
    worker: Address,
    sector_size: SectorSize,
    /// Epochs a deal must start after the head: the market's lead and the
    /// sealing pipeline's, whichever is longer.
    lead_epochs: i64,
    staging: PathBuf,
    filter: Option<ferrite_market::filter::DealFilter>,
    batch: Mutex<PublishBatch>,
    /// The ask in force: `[market.ask]`, or the one `ferrite deals ask set`
    /// stored (and whether it is that one).
    ask: Mutex<(ferrite_market::checks::Ask, bool)>,
    /// Publish messages seen neither in the mpool nor executed, and the
    /// head when that was first seen: a message included in the head waits
    /// there for its receipt until the next epoch, so only a message still
    /// missing [`LOST_AFTER_EPOCHS`] later is lost.
    missing: Mutex<HashMap<cid::Cid, i64>>,
    /// Serializes acceptance, so two proposals cannot both pass the
    /// duplicate check.
    accepting: tokio::sync::Mutex<()>,
    /// Deals whose transfer runs now.
    transferring: Mutex<HashSet<DealUuid>>,
    /// Bytes each running transfer has received; the driver records them in
    /// the deal's state (`TransferProgress`) at its next step.
    progress: Mutex<std::collections::HashMap<DealUuid, u64>>,
    /// Serializes each read-modify-write of deal records (the driver, the
    /// transfer tasks and `import-data` write them).
    writing: Mutex<()>,
    pool: CommpPool,
    policy: RetryPolicy,
    metrics: intake::MarketMetrics,
}

impl std::fmt::Debug for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Market")
            .field("miner", &self.miner)
            .finish_non_exhaustive()
    }
}

/// What the market needs from the rest of the node.
pub struct MarketDeps {
    /// The chain.
    pub chain: MarketChain,
    /// The sealing pipeline deals go into.
    pub pipeline: Arc<Pipeline>,
    /// The miner (an ID address).
    pub miner: Address,
    /// Its worker, which publishes deals.
    pub worker: Address,
    /// Its sector size.
    pub sector_size: SectorSize,
    /// The epochs sealing takes (`[sealing.packing] seal_epochs`).
    pub seal_epochs: i64,
    /// The metrics registry.
    pub registry: prometheus::Registry,
}

impl Market {
    /// Opens the deal records at `<home>/market/db` and the staging area.
    pub fn open(home: &Path, cfg: MarketConfig, deps: MarketDeps) -> anyhow::Result<Self> {
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("[market]: {e}"))?;
        let dir = home.join("market");
        let tables: Vec<&str> = ferrite_market::records::TABLES
            .iter()
            .chain(ferrite_market::index::TABLES)
            .copied()
            .collect();
        let db = RocksDb::open(&dir.join("db"), &tables, RocksOptions::default())
            .context("open the market database")?;
        let store = Store::new(db).context("open the market store")?;
        let deals = Deals::new(store.clone());
        let index = PieceIndex::new(store);
        let ask = match deals.ask().context("read the stored ask")? {
            Some(stored) => (stored, true),
            None => (cfg.ask.clone(), false),
        };
        let staging = staging_dir(home, &cfg);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("create the staging area {}", staging.display()))?;
        let filter = cfg
            .filter
            .as_ref()
            .map(ferrite_market::filter::DealFilter::new);
        Ok(Self {
            deals,
            index,
            chain: deps.chain,
            pipeline: deps.pipeline,
            miner: deps.miner,
            worker: deps.worker,
            sector_size: deps.sector_size,
            lead_epochs: cfg.sealing_lead_epochs.max(deps.seal_epochs),
            staging,
            filter,
            batch: Mutex::new(PublishBatch::new(cfg.publish)),
            missing: Mutex::new(HashMap::new()),
            ask: Mutex::new(ask),
            accepting: tokio::sync::Mutex::new(()),
            transferring: Mutex::new(HashSet::new()),
            progress: Mutex::new(Default::default()),
            writing: Mutex::new(()),
            pool: CommpPool::all_cores()?,
            policy: cfg.transfer.retry_policy(),
            metrics: intake::MarketMetrics::register(&deps.registry)?,
            cfg,
        })
    }

    /// The piece and block index (retrieval reads it).
    pub fn index(&self) -> &PieceIndex {
        &self.index
    }

    /// The sector size of the miner's sectors.
    pub fn sector_size(&self) -> SectorSize {
        self.sector_size
    }

    /// The ask in force, and whether `ferrite deals ask set` stored it
    /// (rather than `[market.ask]`).
    pub fn ask_in_force(&self) -> (ferrite_market::checks::Ask, bool) {
        lock(&self.ask).clone()
    }

    /// Stores `ask` as the ask in force, for this run and the next ones.
    pub fn set_ask(&self, ask: ferrite_market::checks::Ask) -> anyhow::Result<()> {
        ask.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut current = lock(&self.ask);
        self.deals.set_ask(&ask).context("store the ask")?;
        info!(
            price = %ask.price_per_gib_epoch.atto(),
            verified_price = %ask.verified_price_per_gib_epoch.atto(),
            min_piece = ask.min_piece_size.bytes(),
            max_piece = ask.max_piece_size.bytes(),
            "the ask is set"
        );
        *current = (ask, true);
        Ok(())
    }

    /// The deal records.
    pub fn deals(&self) -> &Deals {
        &self.deals
    }

    fn staged_path(&self, uuid: &DealUuid) -> PathBuf {
        self.staging.join(format!("{uuid}.data"))
    }

    /// Reads, applies and writes one deal's transition; the new record, or
    /// `None` when the event did not fit (logged).
    fn transition(&self, uuid: &DealUuid, event: DealEvent) -> anyhow::Result<Option<DealRecord>> {
        let _one = lock(&self.writing);
        let record = self
            .deals
            .get(uuid)?
            .with_context(|| format!("deal {uuid} is not known"))?;
        let name = event.name();
        match record.apply(event, &self.policy, now_secs()) {
            Ok(next) => {
                self.deals.put(&next)?;
                info!(deal = %uuid, event = name, from = record.state.name(), to = next.state.name(), "deal moved on");
                // A deal that failed with staged data it does not keep for
                // inspection frees its staging space.
                if let ferrite_market::DealState::Failed(f) = &next.state
                    && f.kept_file.is_none()
                    && let Some(staged) = record.state.staged_file()
                    && let Err(e) = std::fs::remove_file(staged)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    warn!(deal = %uuid, "remove the staged file {}: {e}", staged.display());
                }
                Ok(Some(next))
            }
            Err(e) => {
                warn!(deal = %uuid, "{name} refused in {}: {e}", record.state.name());
                Ok(None)
            }
        }
    }

    /// `ferrite deals import-data UUID FILE`: copies `file` into the staging
    /// area of an offline deal, computing its CommP on the way.
    pub async fn import_data(&self, uuid: DealUuid, file: PathBuf) -> anyhow::Result<DealRecord> {
        let record = self
            .deals
            .get(&uuid)?
            .with_context(|| format!("deal {uuid} is not known"))?;
        anyhow::ensure!(
            record.state.next_action(&self.policy) == DealAction::AwaitImport,
            "deal {uuid} is in {}, not waiting for its data",
            record.state.name()
        );
        let piece = record
            .state
            .base()
            .with_context(|| format!("deal {uuid} is over"))?
            .piece;
        let dest = self.staged_path(&uuid);
        let staged = ferrite_market::transfer::import(&file, &dest, piece.size, &self.pool)
            .await
            .map_err(|e| anyhow::anyhow!("import {}: {e}", file.display()))?;
        self.metrics.bytes_received.inc_by(staged.bytes);
        let event = DealEvent::Imported(StagedPiece {
            comm_p: staged.piece.comm_p,
            bytes: staged.bytes,
            path: staged.path.clone(),
        });
        self.transition(&uuid, event)?
            .with_context(|| format!("deal {uuid} no longer waits for its data"))
    }

    /// Drives every live deal until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.step_all().await {
                warn!("market step: {e:#}");
            }
            let deals = self.deals.clone();
            match tokio::task::spawn_blocking(move || deals.all()).await {
                Ok(Ok(all)) => self.metrics.export_states(&all),
                Ok(Err(e)) => warn!("read the deals for the metrics: {e}"),
                Err(e) => warn!("read the deals for the metrics: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    async fn step_all(self: &Arc<Self>) -> anyhow::Result<()> {
        let deals = self.deals.clone();
        let live = tokio::task::spawn_blocking(move || deals.live())
            .await
            .context("scan deals")??;
        for record in live {
            let uuid = record.uuid;
            if let Err(e) = self.step(record).await {
                warn!(deal = %uuid, "deal step: {e:#}");
            }
        }
        self.publish_due().await
    }

    #[tracing::instrument(skip_all, fields(deal = %record.uuid))]
    async fn step(self: &Arc<Self>, record: DealRecord) -> anyhow::Result<()> {
        let uuid = record.uuid;
        let event = match record.state.next_action(&self.policy) {
            DealAction::StartTransfer => Some(DealEvent::TransferStarted),
            DealAction::Transfer => {
                self.start_transfer(&record);
                let got = lock(&self.progress).get(&uuid).copied();
                match (got, &record.state) {
                    (Some(n), ferrite_market::DealState::Transferring { received, .. })
                        if n > *received =>
                    {
                        Some(DealEvent::TransferProgress { received: n })
                    }
                    _ => None,
                }
            }
            DealAction::RetryTransfer { after } => {
                let since = record.since_secs().unwrap_or_default();
                (now_secs() >= since.saturating_add(after.as_secs()))
                    .then_some(DealEvent::RetryTransfer)
            }
            DealAction::AwaitImport | DealAction::None => None,
            DealAction::QueueForPublish => Some(DealEvent::PublishQueued),
            DealAction::JoinPublishBatch => {
                lock(&self.batch).join(
                    PendingDeal {
                        uuid,
                        proposal: record.proposal.clone(),
                    },
                    Instant::now(),
                );
                None
            }
            DealAction::CheckPublish { message } => self.check_publish(&record, message.0).await?,
            DealAction::AssignToSector => self.assign(&record).await?,
            DealAction::WaitPieceAdded { sector } => {
                let r = self.pipeline.record(sector)?;
                let deal = record
                    .state
                    .deal_id()
                    .context("a published deal has an ID")?;
                let written = r.state.base().is_some_and(|b| {
                    b.pieces.iter().any(
                        |p| matches!(p, ferrite_sealing::SectorPiece::Deal(d) if d.deal == deal),
                    )
                });
                written.then_some(DealEvent::PieceAdded)
            }
            DealAction::WaitActivation { staged, .. } => {
                if let Err(e) = std::fs::remove_file(&staged)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    warn!(deal = %uuid, "remove the staged file {}: {e}", staged.display());
                }
                let deal = record
                    .state
                    .deal_id()
                    .context("a published deal has an ID")?;
                let on_chain = self.chain.deal(deal.0).await?;
                on_chain
                    .state
                    .filter(|s| s.sector_start_epoch >= 0)
                    .map(|s| DealEvent::Activated {
                        epoch: ChainEpoch(s.sector_start_epoch),
                    })
            }
            DealAction::WatchDeal => {
                let deal = record
                    .state
                    .deal_id()
                    .context("a published deal has an ID")?;
                let on_chain = self.chain.deal(deal.0).await?;
                let head = self.chain.head();
                match (&on_chain.state, &on_chain.proposal) {
                    (Some(s), _) if s.slash_epoch >= 0 => Some(DealEvent::Slashed {
                        epoch: ChainEpoch(s.slash_epoch),
                    }),
                    (_, Some(p)) if head >= p.end_epoch => Some(DealEvent::Expired {
                        epoch: ChainEpoch(p.end_epoch),
                    }),
                    (_, None) => Some(DealEvent::Expired {
                        epoch: ChainEpoch(head),
                    }),
                    _ => None,
                }
            }
        };
        // A deal not active by its start epoch can no longer be: the market
        // actor refuses it (Publishing waits for its message's fate).
        let event = event.or_else(|| {
            let head = self.chain.head();
            let live = !matches!(
                record.state,
                ferrite_market::DealState::Publishing { .. }
                    | ferrite_market::DealState::Active { .. }
            ) && !record.state.is_terminal();
            (live && head >= record.proposal.proposal.start_epoch).then_some(
                DealEvent::StartEpochMissed {
                    head: ChainEpoch(head),
                },
            )
        });
        if let Some(event) = event {
            let over = matches!(
                event,
                DealEvent::Expired { .. }
                    | DealEvent::Slashed { .. }
                    | DealEvent::StartEpochMissed { .. }
            );
            if self.transition(&uuid, event)?.is_some() && over {
                let index = self.index.clone();
                tokio::task::spawn_blocking(move || index.remove_deal(uuid))
                    .await
                    .context("index task")??;
            }
        }
        Ok(())
    }

    /// Starts the pull of an online deal's data, unless it runs already or
    /// `max_concurrent_transfers` run (it starts at a later step).
    fn start_transfer(self: &Arc<Self>, record: &DealRecord) {
        let uuid = record.uuid;
        {
            let mut running = lock(&self.transferring);
            if running.len() >= self.cfg.max_concurrent_transfers || !running.insert(uuid) {
                return;
            }
        }
        let me = Arc::clone(self);
        let record = record.clone();
        let span = tracing::info_span!("transfer", deal = %uuid);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let event = me.transfer(&record).await;
                if let DealEvent::TransferDone(s) = &event {
                    me.metrics.bytes_received.inc_by(s.bytes);
                }
                if let Err(e) = me.transition(&uuid, event) {
                    warn!(deal = %uuid, "record the transfer: {e:#}");
                }
                lock(&me.progress).remove(&uuid);
                lock(&me.transferring).remove(&uuid);
            },
            span,
        ));
    }

    async fn transfer(&self, record: &DealRecord) -> DealEvent {
        let request = ferrite_market::wire::HttpRequest {
            url: record.transfer.url.clone(),
            headers: record.transfer.headers.clone(),
        };
        let Some(piece) = record.state.base().map(|b| b.piece) else {
            return DealEvent::TransferFailed {
                retryable: false,
                reason: format!("deal {} is over", record.uuid),
            };
        };
        let dest = self.staged_path(&record.uuid);
        match ferrite_market::transfer::pull(
            &request,
            &dest,
            record.transfer.size,
            piece.size,
            // One attempt per step: the deal's state counts the retries and
            // waits out the backoff, durably.
            &ferrite_market::config::TransferConfig {
                max_attempts: 1,
                ..self.cfg.transfer
            },
            &self.pool,
            |n| {
                lock(&self.progress).insert(record.uuid, n);
            },
        )
        .await
        {
            Ok(staged) => DealEvent::TransferDone(StagedPiece {
                comm_p: staged.piece.comm_p,
                bytes: staged.bytes,
                path: staged.path,
            }),
            Err(e) => DealEvent::TransferFailed {
                retryable: e.retryable(),
                reason: e.to_string(),
            },
        }
    }

    /// Sends the publish batch that is due, if any: signs the message,
    /// records its CID on every deal of the batch in one write, then pushes.
    async fn publish_due(&self) -> anyhow::Result<()> {
        let batch = lock(&self.batch).take_due(Instant::now());
        if batch.is_empty() {
            return Ok(());
        }
        // The provider's collateral for the batch: what its escrow lacks
        // moves in from the worker first.
        let needed: fvm_shared::econ::TokenAmount = batch
            .iter()
            .map(|d| d.proposal.proposal.provider_collateral.clone())
            .sum();
        let available = self.chain.available_escrow(self.miner).await?;
        if available < needed {
            let top_up = needed - available;
            info!(amount = %top_up, "adding the provider's collateral to its market escrow");
            if let Err(e) = self
                .chain
                .add_balance(
                    self.worker,
                    self.miner,
                    top_up,
                    std::time::Duration::from_secs(120),
                )
                .await
            {
                // The batch waits in the batcher's place: its deals join again.
                warn!("add the provider's collateral: {e:#}");
                return Ok(());
            }
        }
        let params = ferrite_market::publish::publish_params(&batch);
        let msg = fvm_shared::message::Message {
            version: 0,
            from: self.worker,
            to: chain::MARKET_ACTOR,
            sequence: 0,
            value: Default::default(),
            method_num: fil_actor_market_state::v18::Method::PublishStorageDeals as u64,
            params: fvm_ipld_encoding::RawBytes::serialize(&params)?,
            gas_limit: 0,
            gas_fee_cap: Default::default(),
            gas_premium: Default::default(),
        };
        let signed = match self.chain.sign(msg).await {
            Ok(s) => s,
            Err(e) => {
                // Gas estimation runs the message: one bad deal fails it.
                warn!(deals = batch.len(), "sign the publish message: {e:#}");
                for d in &batch {
                    self.transition(
                        &d.uuid,
                        DealEvent::PublishFailed {
                            retryable: true,
                            reason: format!("{e:#}"),
                        },
                    )?;
                }
                return Ok(());
            }
        };
        let cid = signed.cid()?;
        let message = ferrite_market::deal::MessageCid(cid);
        let mut records = Vec::with_capacity(batch.len());
        let one = lock(&self.writing);
        for d in &batch {
            let Some(r) = self.deals.get(&d.uuid)? else {
                continue;
            };
            match r.apply(
                DealEvent::PublishSigned { message },
                &self.policy,
                now_secs(),
            ) {
                Ok(next) => records.push(next),
                Err(e) => warn!(deal = %d.uuid, "left out of the publish batch: {e}"),
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        self.deals.put_all(&records)?;
        drop(one);
        match self.chain.push(signed).await {
            Ok(_) => info!(deals = records.len(), message = %cid, "published a batch of deals"),
            // The deals find the message lost and join the next batch.
            Err(e) => warn!(message = %cid, "push the publish message: {e:#}"),
        }
        Ok(())
    }

    /// The fate of the deal's publish message.
    async fn check_publish(
        &self,
        record: &DealRecord,
        message: cid::Cid,
    ) -> anyhow::Result<Option<DealEvent>> {
        if let Some((exit, ret)) = self.chain.executed(message).await? {
            lock(&self.missing).remove(&message);
            if !exit.is_success() {
                return Ok(Some(ferrite_market::publish::message_failed(exit, "")));
            }
            let order = self.chain.publish_order(message).await?;
            let ret: fil_actor_market_state::v18::PublishStorageDealsReturn =
                fvm_ipld_encoding::from_slice(&ret).context("decode the publish return")?;
            let outcomes =
                ferrite_market::publish::outcomes(&order_uuids(&self.deals, &order)?, &ret)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            return Ok(outcomes
                .into_iter()
                .find(|(u, _)| *u == record.uuid)
                .map(|(_, o)| o.into_event()));
        }
        if self.chain.in_mpool(&message).await? {
            lock(&self.missing).remove(&message);
            return Ok(None);
        }
        // Out of the mpool and not executed: included in the head (its
        // receipt comes with the next block, which may take a WinningPoSt's
        // time), or lost. Only the epochs tell.
        let head = self.chain.head();
        let since = *lock(&self.missing).entry(message).or_insert(head);
        if head < since + LOST_AFTER_EPOCHS {
            return Ok(None);
        }
        lock(&self.missing).remove(&message);
        if self.chain.executed(message).await?.is_some() {
            // Executed since the first look: the next step reads its fate.
            return Ok(None);
        }
        if self.chain.is_pending(record.proposal_cid.0).await? {
            // Published by a message this node no longer knows of: the
            // proposal stays pending until a sector activates it, and the
            // market refuses to publish it twice.
            return Ok(Some(DealEvent::Abort {
                reason: format!(
                    "proposal {} is published by another message than {message}",
                    record.proposal_cid
                ),
            }));
        }
        Ok(Some(DealEvent::PublishMessageLost))
    }

    /// Hands a published deal's piece to sealing, once; reports the
    /// placement when its offset is fixed.
    async fn assign(&self, record: &DealRecord) -> anyhow::Result<Option<DealEvent>> {
        let deal = record
            .state
            .deal_id()
            .context("a published deal has an ID")?;
        let placed = |sectors: &[ferrite_sealing::SectorRecord]| {
            sectors.iter().find_map(|r| {
                ferrite_sealing::packing::deal_offset(r, deal).map(|o| (r.id.number, o))
            })
        };
        let sectors = self.pipeline.sectors().await?;
        let found = match placed(&sectors) {
            Some(p) => Some(p),
            None => {
                let p = &record.proposal.proposal;
                let staged = record
                    .state
                    .staged_file()
                    .context("a published deal has staged data")?
                    .to_path_buf();
                let piece = DealPiece {
                    piece: record
                        .state
                        .base()
                        .context("a published deal is live")?
                        .piece,
                    deal,
                    start: ChainEpoch(p.start_epoch),
                    end: ChainEpoch(p.end_epoch),
                    data: PieceData::File(staged),
                };
                match self.pipeline.add_piece(piece).await {
                    Ok(_) => placed(&self.pipeline.sectors().await?),
                    Err(ferrite_sealing::SealingError::PieceRefused { reason, .. }) => {
                        return Ok(Some(DealEvent::Abort { reason }));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        Ok(match found {
            Some((sector, Some(offset))) => {
                self.index_piece(record, sector, offset).await?;
                Some(DealEvent::SectorAssigned { sector, offset })
            }
            // Queued behind a running AddPiece: its offset is fixed later.
            _ => None,
        })
    }

    /// Records where the deal's piece is, and for CAR data where each of
    /// its blocks is in the payload (retrieval serves from it). Idempotent.
    async fn index_piece(
        &self,
        record: &DealRecord,
        sector: ferrite_types::SectorNumber,
        offset: u64,
    ) -> anyhow::Result<()> {
        let base = record.state.base().context("a placed deal is live")?;
        let piece = base.piece;
        let staged = record
            .state
            .staged_file()
            .context("a placed deal has staged data")?
            .to_path_buf();
        let location = PieceLocation {
            deal: record.uuid,
            sector,
            offset,
            size: piece.size,
            payload: record.state.bytes_received(),
        };
        let index = self.index.clone();
        let uuid = record.uuid;
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            // Blocks first, then the location: a piece with a location is
            // complete, so the IPNI advertiser never sees it half indexed.
            let file = std::fs::File::open(&staged)
                .with_context(|| format!("open {}", staged.display()))?;
            match index.index_car(piece.comm_p, std::io::BufReader::new(file)) {
                Ok(car) => {
                    info!(deal = %uuid, blocks = car.blocks, "indexed the deal's CAR blocks")
                }
                Err(IndexError::NotCar(why)) => {
                    info!(deal = %uuid, "not CAR data, no block index: {why}")
                }
                Err(e) => warn!(deal = %uuid, "index the deal's CAR blocks: {e}"),
            }
            index.add_piece(piece.comm_p, location)?;
            Ok(())
        })
        .await
        .context("index task")?
    }
}

/// The staging area: `[market] staging_dir`, under the home when relative.
pub fn staging_dir(home: &Path, cfg: &MarketConfig) -> PathBuf {
    if cfg.staging_dir.is_absolute() {
        cfg.staging_dir.clone()
    } else {
        home.join(&cfg.staging_dir)
    }
}

/// The market service, running: its libp2p address and its tasks.
pub struct Running {
    /// The service.
    pub market: Arc<Market>,
    /// `<multiaddr>/p2p/<peer id>` of each listen address.
    pub addrs: Vec<String>,
    /// The driver and the libp2p server; they end at `stop`.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the market service and starts it: the libp2p deal protocols on
/// `listen`, the peer id and addresses put on chain at each start
/// (ChangePeerID, ChangeMultiaddrs), and the deal driver. The addresses
/// are also written to `<home>/market-peer`, one per line.
///
/// `retrieval_url` (see [`retrieval_url`]) is what the same host answers on
/// `/fil/retrieval/transports/1.0.0`, as `http` at its multiaddr; `None`
/// (retrieval off) answers no transports. No `libp2p` entry: that would
/// send clients to Graphsync, which Ferrite does not serve.
pub async fn serve(
    home: &Path,
    cfg: MarketConfig,
    listen: &[String],
    retrieval_url: Option<String>,
    deps: MarketDeps,
    chain: Arc<dyn ferrite_chain::api::Chain>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Running> {
    let (miner, worker) = (deps.miner, deps.worker);
    let market = Arc::new(Market::open(home, cfg, deps)?);
    let keypair = {
        let path = home.join("market").join("libp2p-key");
        tokio::task::spawn_blocking(move || ferrite_market::net::load_or_create_keypair(&path))
            .await
            .context("load the libp2p key")??
    };
    let listen = listen
        .iter()
        .map(|a| {
            a.parse::<libp2p::Multiaddr>()
                .with_context(|| format!("market listen address {a:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut net = ferrite_market::net::NetConfig::new(listen, keypair);
    net.agent_version = format!("ferrite/{}", env!("CARGO_PKG_VERSION"));
    if let Some(url) = &retrieval_url {
        net.transports = vec![http_transport(url)?];
    }
    let server = ferrite_market::net::Server::bind(net, Arc::new(intake::Intake(market.clone())))
        .await
        .context("start the deal protocols")?;
    let peer = server.peer_id();
    let addrs: Vec<String> = server
        .listen_addrs()
        .iter()
        .map(|a| format!("{a}/p2p/{peer}"))
        .collect();
    ferrite_chain::wallet::write_private(
        &home.join("market-peer"),
        format!("{}\n", addrs.join("\n")).as_bytes(),
    )?;
    if let Err(e) = announce(&chain, miner, worker, &peer, server.listen_addrs()).await {
        warn!("put the market's peer id on chain: {e:#}");
    }
    let mut tasks = Vec::new();
    let server_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = server.run(server_stop).await {
            warn!("deal protocols stopped: {e:#}");
        }
    }));
    tasks.push(tokio::spawn(market.clone().run(stop)));
    Ok(Running {
        market,
        addrs,
        tasks,
    })
}

/// The URL retrieval clients reach the retrieval server at, the one the
/// IPNI ads and the transports protocol give: `[retrieval.ipni] public_url`
/// if set, else `http://<the bound address>` with a wildcard 0.0.0.0 turned
/// into loopback (fine for local tests only).
pub fn retrieval_url(
    cfg: &ferrite_retrieval::RetrievalConfig,
    bound: std::net::SocketAddr,
) -> String {
    if !cfg.ipni.public_url.is_empty() {
        return cfg.ipni.public_url.clone();
    }
    let mut at = bound;
    if at.ip().is_unspecified() {
        at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{at}")
}

/// The transports entry for HTTP retrieval at `url`, as Curio builds it:
/// `https://sp.example.com` → `/dns/sp.example.com/tcp/443/https`,
/// `http://127.0.0.1:2347` → `/ip4/127.0.0.1/tcp/2347/http` (a path
/// becomes `/http-path/...`).
fn http_transport(url: &str) -> anyhow::Result<ferrite_market::wire::TransportProtocol> {
    let addr = ferrite_retrieval::ipni::HttpAddr::from_url(url)
        .map_err(|e| anyhow::anyhow!("retrieval URL {url:?}: {e}"))?;
    Ok(ferrite_market::wire::TransportProtocol {
        name: ferrite_market::wire::TRANSPORT_HTTP.to_owned(),
        addresses: vec![addr.to_multiaddr_bytes(None)],
    })
}

/// Sends ChangePeerID and ChangeMultiaddrs from the worker, so that clients
/// reading `StateMinerInfo` find the deal protocols. Addresses that listen
/// on every interface (0.0.0.0) are not dialable and are left off.
async fn announce(
    chain: &Arc<dyn ferrite_chain::api::Chain>,
    miner: Address,
    worker: Address,
    peer: &libp2p::PeerId,
    addrs: &[libp2p::Multiaddr],
) -> anyhow::Result<()> {
    use fil_actor_miner_state::v18 as m;
    let send = |method: m::Method, params: fvm_ipld_encoding::RawBytes| {
        let chain = chain.clone();
        async move {
            let cid = chain
                .send(fvm_shared::message::Message {
                    version: 0,
                    from: worker,
                    to: miner,
                    sequence: 0,
                    value: Default::default(),
                    method_num: method as u64,
                    params,
                    gas_limit: 0,
                    gas_fee_cap: Default::default(),
                    gas_premium: Default::default(),
                })
                .await?;
            anyhow::Ok(cid)
        }
    };
    let dialable: Vec<fvm_ipld_encoding::BytesDe> = addrs
        .iter()
        .filter(|a| !a.to_string().contains("/0.0.0.0/"))
        .map(|a| fvm_ipld_encoding::BytesDe(a.to_vec()))
        .collect();
    let id = send(
        m::Method::ChangePeerID,
        fvm_ipld_encoding::RawBytes::serialize(m::ChangePeerIDParams {
            new_id: peer.to_bytes(),
        })?,
    )
    .await?;
    let maddrs = send(
        m::Method::ChangeMultiaddrs,
        fvm_ipld_encoding::RawBytes::serialize(m::ChangeMultiaddrsParams {
            new_multi_addrs: dialable,
        })?,
    )
    .await?;
    info!(peer = %peer, messages = ?[id, maddrs], "put the market's peer id and addresses on chain");
    Ok(())
}

/// The deal UUIDs of the proposals of a publish message, in its order.
fn order_uuids(
    deals: &Deals,
    proposals: &[ferrite_market::deal::ProposalCid],
) -> anyhow::Result<Vec<DealUuid>> {
    proposals
        .iter()
        .map(|c| {
            deals
                .by_proposal(c)?
                .with_context(|| format!("proposal {c} of the publish message is not ours"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieval_url_becomes_curio_style_multiaddrs() {
        let mut cfg = ferrite_retrieval::RetrievalConfig::default();
        let bound: std::net::SocketAddr = "0.0.0.0:2347".parse().unwrap();
        assert_eq!(retrieval_url(&cfg, bound), "http://127.0.0.1:2347");
        let local = http_transport(&retrieval_url(&cfg, bound)).unwrap();
        assert_eq!(local.name, "http");
        assert_eq!(
            local.multiaddrs().unwrap(),
            vec![
                "/ip4/127.0.0.1/tcp/2347/http"
                    .parse::<libp2p::Multiaddr>()
                    .unwrap()
            ]
        );
        cfg.ipni.public_url = "https://sp.example.com".into();
        let public = http_transport(&retrieval_url(&cfg, bound)).unwrap();
        assert_eq!(
            public.multiaddrs().unwrap(),
            vec![
                "/dns/sp.example.com/tcp/443/https"
                    .parse::<libp2p::Multiaddr>()
                    .unwrap()
            ]
        );
        assert!(http_transport("ftp://x").is_err());
    }
}
