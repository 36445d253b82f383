//! One wiring for every mode: the node's services, built from the config
//! over a [`NodeChain`]. `ferrite devnet` passes the embedded chain and
//! `ferrite run` a remote Lotus or Forest node; nothing else differs.
//!
//! ```text
//!  start:  API listener ─► storage paths ─► cluster + gRPC ─► sealing, proving
//!          (both wait for the proof parameters) ─► market, retrieval
//!          ─► API server ─► workers ─► block producer (embedded), or head
//!          follower and mining loop (remote) ─► ready
//!  stop (SIGTERM or SIGINT):
//!          not ready ─► the cluster hands out no new task; running ones get
//!          [node] shutdown_grace_secs to finish and be recorded
//!          ─► every service is told to stop and awaited, last started first
//! ```
//!
//! Every sealing step is persisted and idempotent, so a task still running
//! after the grace period loses nothing: it runs again after the restart.
//!
//! The operator API (`Ferrite.*`, `AuthNew`, `/metrics`, `/health/*`) is the
//! node's own server; on the embedded chain it also serves the chain's Lotus
//! methods. On a remote chain the market needs `[chain] signer = "local"`:
//! it signs a publish message and records its CID before it pushes it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use ferrite_chain::api::{Chain, DevnetChain};
use ferrite_chain::auth::{ApiAuth, Permission};
use ferrite_chain::devnet::Devnet;
use ferrite_chain::metrics::Metrics;
use ferrite_chain::producer;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::rpc::server::{LotusMethods, RpcExtension, RpcState, router};
use ferrite_chain::wallet::{Wallet, write_private};
use ferrite_types::SectorSize;
use fvm_shared::address::Address;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Config;

/// The chain the node works on.
pub enum NodeChain {
    /// The embedded devnet: the node produces its blocks and serves its
    /// Lotus methods.
    Embedded(EmbeddedChain),
    /// A Lotus-compatible node over JSON-RPC; its wallet signs the node's
    /// messages.
    Remote(RemoteChain),
}

/// The embedded devnet and the node's wallet.
pub struct EmbeddedChain {
    /// The chain.
    pub devnet: Arc<Devnet>,
    /// The node's keys.
    pub wallet: Arc<Mutex<Wallet>>,
    /// The address `WalletDefaultAddress` gives.
    pub default_address: Address,
    /// Time between blocks.
    pub block_time: Duration,
}

/// A remote node.
pub struct RemoteChain {
    /// Its JSON-RPC client.
    pub client: LotusClient,
    /// Its network's name.
    pub network: String,
    /// How often the head is read.
    pub poll: Duration,
}

/// What the node runs, besides its chain.
pub struct NodeSpec {
    /// The home directory.
    pub home: PathBuf,
    /// The effective config (flags, environment and file applied).
    pub cfg: Config,
    /// Where the operator API listens.
    pub api_listen: String,
    /// The miner the node seals and proves for, and the address its
    /// messages are sent from (its worker key); `None` for a chain-only node.
    pub miner: Option<(Address, Address)>,
    /// The miner's proof parameters: the local worker and the prover wait
    /// for them; `None` when nothing waits (no miner).
    pub params: Option<crate::params::ParamsGate>,
}

/// The services started, in start order, for the stop.
struct Started {
    label: &'static str,
    task: JoinHandle<()>,
}

/// Runs the node until SIGTERM or SIGINT, then stops it (see the module's
/// doc for the order).
pub async fn run(spec: NodeSpec, chain: NodeChain) -> anyhow::Result<()> {
    let NodeSpec {
        home,
        cfg,
        api_listen,
        miner,
        params,
    } = spec;
    let listener = tokio::net::TcpListener::bind(&api_listen)
        .await
        .with_context(|| format!("listen on {api_listen}"))?;
    let addr = listener.local_addr()?;
    let registry = prometheus::Registry::new();
    let metrics = Metrics::register(&registry).context("register metrics")?;
    crate::metrics::register_process(&registry)?;
    let (stop_tx, stop) = watch::channel(false);
    let keystore = home.join("keystore");
    let auth = ApiAuth::load_or_create(&keystore)?;
    let admin = auth.create_token(&Permission::Admin.up_to())?;
    // The head height: the producer publishes it on the embedded chain,
    // the follower on a remote one.
    let heads = Arc::new(watch::Sender::new(0i64));
    let (api_chain, network): (Arc<dyn Chain>, String) = match &chain {
        NodeChain::Embedded(e) => {
            heads.send_replace(e.devnet.head().height());
            (
                Arc::new(DevnetChain::new(
                    e.devnet.clone(),
                    e.wallet.clone(),
                    heads.subscribe(),
                )),
                e.devnet.network_name().to_string(),
            )
        }
        NodeChain::Remote(r) => {
            let head = r
                .client
                .head()
                .await
                .context("read the chain node's head")?;
            heads.send_replace(head.height);
            (Arc::new(r.client.clone()), r.network.clone())
        }
    };
    metrics.head_height.set(*heads.borrow());

    // Storage paths (<home>/sealing/sectors is attached at the first start).
    let storage = crate::storage_api::open(&home)?;
    // Workers on other hosts find each path's id in its marker file.
    for (id, e) in storage.mark_all()? {
        warn!(path = %id, "write the storage path's marker: {e}");
    }
    // The cluster: the scheduler, and the gRPC endpoint workers dial.
    let cc = &cfg.cluster;
    let worker_token = crate::worker::load_or_create_token(&home.join("worker-token"))?;
    let local_worker = cc
        .local_worker
        .then(|| ferrite_cluster::WorkerId("local".to_string()));
    let cluster_metrics =
        crate::cluster::ClusterMetrics::register(&registry).context("register metrics")?;
    let mut cluster =
        crate::cluster::Cluster::new(cc.scheduler.clone(), storage.clone(), cluster_metrics);
    if let Some(id) = &local_worker {
        cluster = cluster.with_local_worker(id.clone());
    }
    // Workers fetch deal data from the market's staging area over the
    // API's HTTP server (with the worker token).
    let staging_dir = crate::market::staging_dir(&home, &cfg.market);
    cluster = cluster.with_piece_urls(crate::staging::PieceUrls {
        base: format!("http://{addr}"),
        dir: staging_dir.clone(),
    });
    let cluster = Arc::new(cluster);
    let grpc_listener = tokio::net::TcpListener::bind(&cc.grpc_listen)
        .await
        .with_context(|| format!("listen on {} (cluster.grpc_listen)", cc.grpc_listen))?;
    let grpc_url = format!("http://{}", grpc_listener.local_addr()?);
    // The provers find the pipeline's replicas on any attached path.
    let replicas: Arc<dyn ferrite_proving::Replicas> =
        Arc::new(crate::replicas::StorageReplicas::new(
            ferrite_sealing::tasks::SectorStorage::Paths(storage.clone()),
        ));
    if let (NodeChain::Embedded(e), Some(_)) = (&chain, miner) {
        // Once the miner has power it wins every block
        // (ferrite_chain::winning): the node proves them with those
        // replicas and its worker key.
        e.devnet.set_block_prover(Some(Arc::new(
            ferrite_proving::winning::WinningProver::new(replicas.clone(), e.wallet.clone()),
        )));
    }
    // The miner's sealing pipeline and WindowPoSt prover.
    let pipeline = match miner {
        Some((m, w)) => Some(Arc::new(
            crate::sealing_api::pipeline(&home, api_chain.clone(), &network, m, w, &cfg.proofs)?
                .with_storage(storage.clone())?
                .with_executor(cluster.clone())
                .with_precommit_batch(cfg.sealing.precommit_batch)
                .with_packing(cfg.sealing.packing),
        )),
        None => None,
    };
    let prover = match miner {
        Some((m, w)) => Some(crate::proving_api::prover(
            api_chain.clone(),
            replicas.clone(),
            m,
            w,
            &cfg.proofs,
            &registry,
        )?),
        None => None,
    };
    let market_chain = match (&chain, miner) {
        (NodeChain::Embedded(e), Some(_)) => Some(crate::market::MarketChain::new(
            e.devnet.clone(),
            e.wallet.clone(),
        )),
        (NodeChain::Remote(r), Some(_)) => {
            match crate::market::MarketChain::remote(r.client.clone(), heads.subscribe()) {
                Ok(c) => Some(c),
                Err(e) => {
                    warn!("the market and retrieval are not started: {e:#}");
                    None
                }
            }
        }
        _ => None,
    };
    let (market, retrieval) = match (market_chain, &pipeline, miner) {
        (Some(mc), Some(p), Some((m, w))) => {
            market_and_retrieval(
                &home, &cfg, mc, p, m, w, &api_chain, &cluster, &registry, &stop,
            )
            .await?
        }
        _ => (None, None),
    };

    let mut extensions: Vec<Arc<dyn RpcExtension>> = Vec::new();
    if let Some(m) = &market {
        extensions.push(Arc::new(crate::market::MarketApi(m.market.clone())));
    }
    if let Some(r) = &retrieval {
        extensions.push(Arc::new(crate::retrieval::RetrievalApi(
            r.retrieval.clone(),
        )));
    }
    extensions.push(Arc::new(crate::storage_api::StorageApi::new(
        storage, &home,
    )));
    extensions.push(Arc::new(crate::cluster::ClusterApi(cluster.clone())));
    if let Some(p) = &pipeline {
        extensions.push(Arc::new(crate::sealing_api::SealingApi::new(p.clone())));
    }
    if let Some(p) = &prover {
        extensions.push(Arc::new(crate::proving_api::ProvingApi::new(p.clone())));
    }
    extensions.push(Arc::new(crate::status_api::StatusApi {
        chain: api_chain.clone(),
        mode: match &chain {
            NodeChain::Embedded(_) => "embedded devnet".to_string(),
            NodeChain::Remote(r) => format!("remote node {}", r.client.url()),
        },
        network: network.clone(),
        miner,
        heads: heads.subscribe(),
        started: std::time::Instant::now(),
        params: params.clone(),
    }));
    let ready = Arc::new(AtomicBool::new(false));
    let state = Arc::new(RpcState {
        chain: match &chain {
            NodeChain::Embedded(e) => Some(LotusMethods {
                devnet: e.devnet.clone(),
                wallet: e.wallet.clone(),
                default_address: e.default_address,
                heads: heads.clone(),
                block_time: e.block_time,
            }),
            NodeChain::Remote(_) => None,
        },
        auth: auth.clone(),
        registry: registry.clone(),
        metrics: metrics.clone(),
        extension: Some(Arc::new(crate::proving_api::Extensions(extensions))),
        ready: ready.clone(),
    });
    write_private(
        &home.join("api"),
        format!("http://{addr}/rpc/v1\n").as_bytes(),
    )?;
    write_private(&home.join("token"), format!("{admin}\n").as_bytes())?;
    write_private(&home.join("grpc"), format!("{grpc_url}\n").as_bytes())?;

    // Clients post deal data to the market's HTTP routes on the API port.
    let market_routes = market
        .as_ref()
        .map(|m| crate::market::http::router(m.market.clone(), auth.clone()));
    // Start, in order; each entry ends at `stop`.
    let mut started: Vec<Started> = Vec::new();
    {
        let mut stop = stop.clone();
        let service =
            ferrite_proto::server(crate::cluster::Service(cluster.clone()), &worker_token);
        let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
        let grpc = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stop.changed().await;
            });
        started.push(Started {
            label: "the workers' gRPC endpoint",
            task: tokio::spawn(async move {
                if let Err(e) = grpc.await {
                    warn!("the workers' gRPC endpoint: {e:#}");
                }
            }),
        });
    }
    started.push(Started {
        label: "the scheduler",
        task: tokio::spawn(cluster.clone().run(stop.clone())),
    });
    if let Some(r) = retrieval {
        started.push(Started {
            label: "retrieval",
            task: r.task,
        });
    }
    for t in market.into_iter().flat_map(|m| m.tasks) {
        started.push(Started {
            label: "the market",
            task: t,
        });
    }
    if let Some(p) = &pipeline {
        let states =
            crate::sealing_api::export_sector_states(p.clone(), &registry, stop.clone()).await?;
        started.push(Started {
            label: "the sector-state metrics",
            task: states,
        });
        let (p, stop) = (p.clone(), stop.clone());
        started.push(Started {
            label: "sealing",
            task: tokio::spawn(async move {
                if let Err(e) = p.run(stop).await {
                    warn!("the sealing pipeline stopped: {e:#}");
                }
            }),
        });
    }
    if let Some(p) = prover {
        let (params, mut stop) = (params.clone(), stop.clone());
        started.push(Started {
            label: "proving",
            task: tokio::spawn(async move {
                if let Some(g) = params
                    && !g.wait("proving", &mut stop).await
                {
                    return;
                }
                p.run(stop).await
            }),
        });
    }
    {
        let mut stop = stop.clone();
        let app = router(state)
            .merge(crate::staging::router(staging_dir, worker_token.clone()))
            .merge(market_routes.unwrap_or_default());
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        });
        started.push(Started {
            label: "the API server",
            task: tokio::spawn(async move {
                if let Err(e) = server.await {
                    warn!("the API server: {e:#}");
                }
            }),
        });
    }
    if let Some(id) = local_worker {
        let paths = {
            let cluster = cluster.clone();
            tokio::task::spawn_blocking(move || cluster.attached_paths()).await??
        };
        let spec = crate::worker::WorkerSpec {
            node: grpc_url.clone(),
            token: worker_token.clone(),
            info: crate::worker::local_info(id, paths, &cfg.proofs),
            workers: ferrite_proofs::Workers::new(&cfg.proofs.limits)?,
        };
        let (params, mut stop) = (params.clone(), stop.clone());
        started.push(Started {
            label: "the local worker",
            // Until the parameters exist its tasks stay queued.
            task: tokio::spawn(async move {
                if let Some(g) = params
                    && !g.wait("the local worker", &mut stop).await
                {
                    return;
                }
                crate::worker::run(spec, stop).await
            }),
        });
    }
    match &chain {
        NodeChain::Embedded(e) => {
            let block_time = e.block_time;
            started.push(Started {
                label: "the block producer",
                task: tokio::spawn(producer::run(
                    e.devnet.clone(),
                    block_time,
                    heads.clone(),
                    metrics.clone(),
                    stop.clone(),
                )),
            });
        }
        NodeChain::Remote(r) => {
            started.push(Started {
                label: "the head follower",
                task: tokio::spawn(crate::follow::follow_head(
                    r.client.clone(),
                    r.poll,
                    heads.clone(),
                    metrics.clone(),
                    stop.clone(),
                )),
            });
            if let Some((m, _)) = miner {
                let miner = crate::mining::Miner {
                    client: r.client.clone(),
                    miner: m,
                    replicas: replicas.clone(),
                };
                let task = crate::mining::start(miner, &registry, heads.subscribe(), stop.clone())?;
                started.push(Started {
                    label: "mining",
                    task,
                });
            }
        }
    }

    println!(
        "API: http://{addr}/rpc/v1 (admin token in {})",
        home.join("token").display()
    );
    println!("metrics: http://{addr}/metrics, health: http://{addr}/health/readyz");
    println!(
        "workers: ferrite worker --node {grpc_url} --token-file {}",
        home.join("worker-token").display()
    );
    match miner {
        Some((m, w)) => println!("storage miner: {m} (messages from {w})"),
        None => println!("storage miner: none"),
    }
    ready.store(true, Ordering::Relaxed);
    info!("the node is ready");

    let signal = shutdown_signal().await?;
    info!("{signal}: stopping");
    ready.store(false, Ordering::Relaxed);
    let grace = Duration::from_secs(cfg.node.shutdown_grace_secs);
    drain(&cluster, grace).await;
    let _ = stop_tx.send(true);
    for s in started.into_iter().rev() {
        if tokio::time::timeout(STOP_WAIT, s.task).await.is_err() {
            warn!("{} did not stop within {STOP_WAIT:?}; leaving it", s.label);
        }
    }
    for f in ["api", "grpc", "retrieval"] {
        let _ = std::fs::remove_file(home.join(f));
    }
    info!("stopped");
    Ok(())
}

/// How long each service gets to end once told to stop.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Waits for SIGTERM or SIGINT, and names it.
pub async fn shutdown_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listen for SIGINT")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// Stops handing out tasks and gives the running ones `grace` to finish
/// (their results are recorded by the pipelines, which still run).
async fn drain(cluster: &crate::cluster::Cluster, grace: Duration) {
    cluster.drain();
    let deadline = tokio::time::Instant::now() + grace;
    let mut said = false;
    loop {
        let running = cluster.running_tasks();
        if running == 0 {
            return;
        }
        if !said {
            info!(
                running,
                "waiting up to {}s for the running tasks ([node] shutdown_grace_secs)",
                grace.as_secs()
            );
            said = true;
        }
        if tokio::time::Instant::now() >= deadline {
            warn!(
                running,
                "grace period over: the running tasks are abandoned and run again after the restart"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The market (and retrieval over its piece index).
#[allow(clippy::too_many_arguments)]
async fn market_and_retrieval(
    home: &std::path::Path,
    cfg: &Config,
    market_chain: crate::market::MarketChain,
    pipeline: &Arc<ferrite_sealing::Pipeline>,
    miner: Address,
    worker: Address,
    chain: &Arc<dyn Chain>,
    cluster: &Arc<crate::cluster::Cluster>,
    registry: &prometheus::Registry,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<(
    Option<crate::market::Running>,
    Option<crate::retrieval::Running>,
)> {
    // Retrieval's port, bound before the market starts: the market's
    // transports protocol gives its address.
    let retrieval_listener = match cfg.retrieval.enabled {
        true => Some(
            tokio::net::TcpListener::bind(&cfg.retrieval.listen)
                .await
                .with_context(|| {
                    format!("listen on {} (retrieval.listen)", cfg.retrieval.listen)
                })?,
        ),
        false => None,
    };
    let retrieval_url = match &retrieval_listener {
        Some(l) => Some(crate::market::retrieval_url(
            &cfg.retrieval,
            l.local_addr()?,
        )),
        None => None,
    };
    let info = chain.miner_info(&miner).await?;
    let sector_size = SectorSize::from_bytes(info.sector_size)
        .map_err(|err| anyhow::anyhow!("miner {miner}: {err}"))?;
    let deps = crate::market::MarketDeps {
        chain: market_chain,
        pipeline: pipeline.clone(),
        miner,
        worker,
        sector_size,
        seal_epochs: cfg.sealing.packing.seal_epochs,
        registry: registry.clone(),
    };
    let market = crate::market::serve(
        home,
        cfg.market.clone(),
        &cfg.market.listen,
        retrieval_url.clone(),
        deps,
        chain.clone(),
        stop.clone(),
    )
    .await?;
    for a in &market.addrs {
        println!("deals (libp2p): {a}");
    }
    let retrieval = match retrieval_listener {
        Some(listener) => {
            let r = crate::retrieval::serve(
                home,
                cfg.retrieval.clone(),
                listener,
                retrieval_url.unwrap_or_default(),
                crate::retrieval::RetrievalDeps {
                    index: market.market.index().clone(),
                    pipeline: pipeline.clone(),
                    executor: cluster.clone(),
                    miner: ferrite_types::ActorId(
                        miner.id().context("the miner's address is not an ID")?,
                    ),
                    sector_size: market.market.sector_size(),
                    registry: registry.clone(),
                },
                stop.clone(),
            )
            .await?;
            println!(
                "retrieval: {}/piece/{{pieceCid}}, {}/ipfs/{{cid}}",
                r.url, r.url
            );
            Some(r)
        }
        None => None,
    };
    Ok((Some(market), retrieval))
}
