//! The node's retrieval service: ferrite-retrieval's HTTP server over the
//! market's piece index, finding unsealed copies in the sealing pipeline's
//! storage and recreating missing ones with an unseal task on the cluster
//! (`Job::Unseal`, run by whichever worker holds the sector's path).
//!
//! ```text
//!  GET /piece/… ─► ferrite_retrieval::Retrieval ─► StorageCopies::unsealed (sector dir's `unsealed`)
//!                                               └► ClusterUnsealer::unseal ─► Job::Unseal ─► the cluster
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use ferrite_market::index::PieceIndex;
use ferrite_retrieval::advertise::http::Publisher;
use ferrite_retrieval::ipni::{AdChain, HttpAddr};
use ferrite_retrieval::{Retrieval, RetrievalConfig, RetrievalMetrics, SectorAccess, Unsealer};
use ferrite_sealing::tasks::SectorStorage;
use ferrite_sealing::{Executor, Job, JobOutput, Pipeline};
use ferrite_types::{ActorId, SectorId, SectorNumber, SectorSize};
use tokio::sync::watch;
use tracing::info;

/// The unsealed copies in the pipeline's storage: a sector's `unsealed`
/// file counts only when it is whole (the sector's size).
#[derive(Debug, Clone)]
pub struct StorageCopies {
    storage: SectorStorage,
    miner: ActorId,
    size: SectorSize,
}

impl SectorAccess for StorageCopies {
    fn unsealed(&self, sector: SectorNumber) -> Option<PathBuf> {
        let files = self
            .storage
            .locate(SectorId::new(self.miner, sector))
            .ok()??;
        let len = std::fs::metadata(&files.unsealed).ok()?.len();
        (len == self.size.bytes()).then_some(files.unsealed)
    }
}

/// Unseals through the cluster, with the sector's ticket and CommD from its
/// sealing record.
#[derive(Debug)]
pub struct ClusterUnsealer {
    pipeline: Arc<Pipeline>,
    executor: Arc<dyn Executor>,
    copies: StorageCopies,
}

#[async_trait]
impl Unsealer for ClusterUnsealer {
    async fn unseal(&self, sector: SectorNumber) -> anyhow::Result<PathBuf> {
        let (pipeline, copies) = (self.pipeline.clone(), self.copies.clone());
        let planned =
            tokio::task::spawn_blocking(move || plan_unseal(&pipeline, &copies, sector)).await??;
        let (id, job, dest) = match planned {
            // A copy that appeared meanwhile (another request's unseal) is used.
            Planned::There(p) => return Ok(p),
            Planned::Unseal { id, job, dest } => (id, job, dest),
        };
        match self.executor.run(id, *job).await? {
            JobOutput::Unsealed => {
                info!(%sector, path = %dest.display(), "unsealed for a retrieval");
                Ok(dest)
            }
            other => anyhow::bail!("the unseal task answered {:?}", other.kind()),
        }
    }
}

/// What an unseal needs to do.
enum Planned {
    /// Nothing: the copy is there.
    There(PathBuf),
    /// Run `job`, which writes `dest`.
    Unseal {
        id: SectorId,
        job: Box<Job>,
        dest: PathBuf,
    },
}

/// The unseal job for `sector`, from its sealing record and its files.
/// Blocking (the record is in RocksDB, the files on disk).
fn plan_unseal(
    pipeline: &Pipeline,
    copies: &StorageCopies,
    sector: SectorNumber,
) -> anyhow::Result<Planned> {
    if let Some(p) = copies.unsealed(sector) {
        return Ok(Planned::There(p));
    }
    let record = pipeline.record(sector)?;
    let state = &record.state;
    anyhow::ensure!(
        state.name() == "Proving",
        "sector {sector} is {}, not Proving: only proven sectors are unsealed",
        state.name()
    );
    let sealed = state
        .sealed()
        .with_context(|| format!("sector {sector} has no sealing commitments"))?;
    let id = SectorId::new(copies.miner, sector);
    let files = copies
        .storage
        .locate(id)?
        .with_context(|| format!("sector {sector}'s files are on no storage path"))?;
    anyhow::ensure!(
        !files.update().exists(),
        "sector {sector} was updated by SnapDeals: unsealing an updated replica is not supported yet (its sector key is gone)"
    );
    anyhow::ensure!(
        files.sealed.is_file(),
        "sector {sector} has no sealed replica at {}",
        files.sealed.display()
    );
    let proof = state
        .base()
        .with_context(|| format!("sector {sector} has no proof kind"))?
        .proof;
    let dest = files.unsealed.clone();
    let job = Job::Unseal {
        proof,
        sector: id,
        files,
        comm_d: sealed.comm_d,
        ticket: sealed.ticket.ticket,
    };
    Ok(Planned::Unseal {
        id,
        job: Box::new(job),
        dest,
    })
}

/// `Ferrite.RetrievalStats []`: the retrieval server's totals since start.
pub const STATS: &str = "Ferrite.RetrievalStats";

/// The `Ferrite.Retrieval*` methods.
#[derive(Debug)]
pub struct RetrievalApi(pub Arc<Retrieval>);

#[async_trait]
impl ferrite_chain::rpc::server::RpcExtension for RetrievalApi {
    fn permission(&self, method: &str) -> Option<ferrite_chain::auth::Permission> {
        (method == STATS).then_some(ferrite_chain::auth::Permission::Read)
    }

    async fn call(
        &self,
        method: &str,
        _params: Vec<serde_json::Value>,
    ) -> Result<serde_json::Value, (i64, String)> {
        match method {
            STATS => serde_json::to_value(self.0.metrics().stats())
                .map_err(|e| (-32603, format!("encode the stats: {e}"))),
            other => Err((-32601, format!("method {other} not found"))),
        }
    }
}

/// The retrieval service, running.
#[derive(Debug)]
pub struct Running {
    /// The service (its metrics and stats).
    pub retrieval: Arc<Retrieval>,
    /// `http://addr` it listens on.
    pub url: String,
    /// The server task; it ends at `stop`.
    pub task: tokio::task::JoinHandle<()>,
}

/// Everything the retrieval service reads.
pub struct RetrievalDeps {
    /// The market's piece and block index.
    pub index: PieceIndex,
    /// The sealing pipeline (sector records, storage).
    pub pipeline: Arc<Pipeline>,
    /// Where unseal tasks run.
    pub executor: Arc<dyn Executor>,
    /// The node's miner.
    pub miner: ActorId,
    /// Its sector size.
    pub sector_size: SectorSize,
    /// Where the metrics go.
    pub registry: prometheus::Registry,
}

/// Opens the ad chain (`<home>/ipni`), signs with the market's
/// libp2p key (the peer id on chain), and starts the advertiser.
async fn advertise(
    home: &std::path::Path,
    cfg: &RetrievalConfig,
    public: &str,
    index: PieceIndex,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Publisher> {
    use ferrite_retrieval::advertise::{Advertiser, StoreAdStore, TABLES};
    let dir = home.join("ipni");
    let key_path = home.join("market").join("libp2p-key");
    let (store, key) = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let db = ferrite_store::RocksDb::open(&dir, TABLES, ferrite_store::RocksOptions::default())
            .context("open the IPNI ad chain")?;
        let store = StoreAdStore::new(ferrite_store::Store::new(db)?);
        let key = ferrite_market::net::load_or_create_keypair(&key_path)?;
        anyhow::Ok((store, key))
    })
    .await??;
    let http = HttpAddr::from_url(public)
        .map_err(|e| anyhow::anyhow!("retrieval.ipni.public_url: {e}"))?;
    let chain = AdChain::new(key.clone(), vec![http.to_multiaddr_string()]);
    info!(peer = %chain.peer_id(), address = %http.to_multiaddr_string(), "IPNI advertisements");
    let advertiser = Arc::new(Advertiser::new(
        chain,
        store.clone(),
        index,
        http,
        cfg.ipni.announce_urls.clone(),
    ));
    let every = std::time::Duration::from_secs(cfg.ipni.interval_secs);
    tokio::spawn(advertiser.run(every, stop));
    Ok(Publisher {
        store: Arc::new(store),
        key,
    })
}

/// Starts the retrieval server on `listener` (bound to `cfg.listen`) and
/// writes its URL to `<home>/retrieval`; `public_url` is what the IPNI ads
/// give clients (see `crate::market::retrieval_url`).
pub async fn serve(
    home: &std::path::Path,
    cfg: RetrievalConfig,
    listener: tokio::net::TcpListener,
    public_url: String,
    deps: RetrievalDeps,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Running> {
    cfg.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let metrics = RetrievalMetrics::register(&deps.registry).context("register metrics")?;
    let copies = StorageCopies {
        storage: deps.pipeline.storage().clone(),
        miner: deps.miner,
        size: deps.sector_size,
    };
    let unsealer = ClusterUnsealer {
        pipeline: deps.pipeline,
        executor: deps.executor,
        copies: copies.clone(),
    };
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let ipni = if cfg.ipni.enabled {
        Some(advertise(home, &cfg, &public_url, deps.index.clone(), stop.clone()).await?)
    } else {
        None
    };
    let retrieval = Retrieval::new(
        cfg,
        deps.index,
        Arc::new(copies),
        Arc::new(unsealer),
        metrics,
        ipni,
    );
    ferrite_chain::wallet::write_private(&home.join("retrieval"), format!("{url}\n").as_bytes())?;
    let server = retrieval.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = server.serve(listener, stop).await {
            tracing::warn!("retrieval server stopped: {e:#}");
        }
    });
    Ok(Running {
        retrieval,
        url,
        task,
    })
}
