//! `ferrite devnet`: the embedded chain, its block producer and its JSON-RPC
//! API, until Ctrl-C.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use ferrite_chain::auth::{ApiAuth, Permission};
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES, total_balance};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::metrics::Metrics;
use ferrite_chain::node_miner::{self, MinerSpec};
use ferrite_chain::producer;
use ferrite_chain::rpc::server::{RpcState, router};
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, Wallet, write_private};
use ferrite_store::{RocksDb, RocksOptions};
use ferrite_types::{SealProof, SectorSize};
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;
use fvm_shared::version::NetworkVersion;
use tokio::sync::watch;
use tracing::info;

use crate::cli::{DevnetArgs, GlobalArgs};
use crate::config::Config;

pub fn run(args: DevnetArgs, global: &GlobalArgs, cfg: &Config) -> anyhow::Result<()> {
    let mut dc = cfg.devnet.clone();
    if let Some(ms) = args.block_time_ms {
        dc.block_time_ms = ms;
    }
    if let Some(l) = args.listen {
        dc.listen = l;
    }
    let mut cc = cfg.cluster.clone();
    if let Some(l) = args.grpc_listen {
        cc.grpc_listen = l;
    }
    if args.no_worker {
        cc.local_worker = false;
    }
    cc.scheduler
        .validate()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // builtin-actors' PRE_COMMIT_SECTOR_BATCH_MAX_SIZE.
    let batch = cfg.sealing.precommit_batch;
    anyhow::ensure!(
        (1..=256).contains(&batch.max_sectors),
        "sealing.precommit_batch.max_sectors is {}: it must be 1 to 256",
        batch.max_sectors
    );
    // STYLE R7: the daemon logs its effective config.
    let effective = Config {
        devnet: dc.clone(),
        cluster: cc.clone(),
        ..cfg.clone()
    };
    info!(
        config = %toml::to_string(&effective).unwrap_or_default().replace('\n', "; "),
        "effective config"
    );
    let home = global.home();
    std::fs::create_dir_all(&home).with_context(|| format!("create {}", home.display()))?;
    let keystore = home.join("keystore");
    let mut wallet = Wallet::open(&keystore)?;
    if wallet.list().is_empty() {
        wallet.new_key(KeyType::Secp256k1)?;
        wallet.new_key(KeyType::Bls)?;
    }
    let balance = TokenAmount::from_whole(dc.genesis_balance_fil);
    let accounts: Vec<_> = wallet
        .list()
        .into_iter()
        .map(|a| (a, balance.clone()))
        .collect();
    // The first secp key signs by default.
    let default_address = wallet
        .list()
        .into_iter()
        .find(|a| a.protocol() == fvm_shared::address::Protocol::Secp256k1)
        .or_else(|| wallet.list().first().copied())
        .context("the wallet has no key")?;
    anyhow::ensure!(
        (21..=29).contains(&dc.network_version),
        "devnet.network_version {} is not 21 to 29",
        dc.network_version
    );
    let network_version = NetworkVersion::from(dc.network_version);
    let settings = DevnetSettings {
        vm: VmSettings {
            network_version,
            chain_id: dc.chain_id,
            base_fee: TokenAmount::from_atto(100),
            circulating_supply: total_balance(&accounts),
        },
        genesis: GenesisSpec {
            network_name: dc.network_name.clone(),
            accounts,
        },
    };
    let db = RocksDb::open(&home.join("chain"), &TABLES, RocksOptions::default())
        .context("open the chain database")?;
    let bundle_file = args.actors_bundle.clone();
    let market_listen = args.market_listen.clone();
    let mut retrieval_cfg = cfg.retrieval.clone();
    if let Some(l) = &args.retrieval_listen {
        retrieval_cfg.listen = l.clone();
    }
    println!(
        "starting the devnet in {} (compiling the actors takes a few seconds)",
        home.display()
    );
    let devnet = Arc::new(Devnet::open(
        Arc::new(db),
        settings,
        move |bs| match &bundle_file {
            Some(f) => {
                let car = std::fs::read(f).with_context(|| format!("read {}", f.display()))?;
                Bundle::from_car(bs, &car)
            }
            None => Bundle::embedded(bs),
        },
    )?);
    let miner = node_miner(&devnet, &dc, &wallet, &home)?;
    devnet.set_block_miner(miner)?;
    // The node seals for its miner when its worker key is in the wallet.
    let worker = match miner {
        Some(m) => worker_in_wallet(&devnet, &wallet, &m)?,
        None => None,
    };
    let auth = ApiAuth::load_or_create(&keystore)?;
    let admin = auth.create_token(&Permission::Admin.up_to())?;
    let block_time = dc.block_time();
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&dc.listen)
            .await
            .with_context(|| format!("listen on {}", dc.listen))?;
        let addr = listener.local_addr()?;
        let heads = Arc::new(watch::Sender::new(devnet.head().height()));
        let registry = prometheus::Registry::new();
        crate::metrics::register_process(&registry)?;
        let metrics = Metrics::register(&registry).context("register metrics")?;
        // The registry is shared: the API serves it, the services fill it.
        let sector_registry = registry.clone();
        metrics.head_height.set(devnet.head().height());
        let (stop_tx, stop) = watch::channel(false);
        let wallet = Arc::new(Mutex::new(wallet));
        // The storage paths sector files go to (<home>/sealing/sectors
        // is attached at the first start), with their reservations.
        let storage = crate::storage_api::open(&home)?;
        // Workers on other hosts find each path's id in its marker file.
        for (id, e) in storage.mark_all()? {
            tracing::warn!(path = %id, "write the storage path's marker: {e}");
        }
        // The cluster: the scheduler, and the gRPC endpoint workers dial.
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
        let grpc_addr = grpc_listener.local_addr()?;
        let grpc_url = format!("http://{grpc_addr}");
        // The provers find the pipeline's replicas on any attached path.
        let replicas: Arc<dyn ferrite_proving::Replicas> =
            Arc::new(crate::replicas::StorageReplicas::new(
                ferrite_sealing::tasks::SectorStorage::Paths(storage.clone()),
            ));
        // Once the miner has power it wins every block (ferrite_chain::winning):
        // the node proves them with those replicas and its worker key.
        if worker.is_some() {
            devnet.set_block_prover(Some(Arc::new(
                ferrite_proving::winning::WinningProver::new(replicas.clone(), wallet.clone()),
            )));
        }
        // The node's miner's sealing pipeline, when the wallet holds its worker key.
        let pipeline = match (miner, worker) {
            (Some(m), Some(w)) => Some(Arc::new(
                crate::sealing_api::pipeline(
                    &home,
                    devnet.clone(),
                    wallet.clone(),
                    heads.subscribe(),
                    m,
                    w,
                    &cfg.proofs,
                )?
                .with_storage(storage.clone())?
                .with_executor(cluster.clone())
                .with_precommit_batch(cfg.sealing.precommit_batch)
                .with_packing(cfg.sealing.packing),
            )),
            _ => None,
        };
        // Its WindowPoSt prover, with the same condition.
        let prover = match (miner, worker) {
            (Some(m), Some(w)) => Some(crate::proving_api::prover(
                Arc::new(ferrite_chain::api::DevnetChain::new(
                    devnet.clone(),
                    wallet.clone(),
                    heads.subscribe(),
                )),
                replicas.clone(),
                m,
                w,
                &cfg.proofs,
                &registry,
            )?),
            _ => None,
        };
        // Retrieval's port, bound before the market starts: the market's
        // transports protocol gives its address.
        let retrieval_listener = match (retrieval_cfg.enabled, miner, worker) {
            (true, Some(_), Some(_)) => Some(
                tokio::net::TcpListener::bind(&retrieval_cfg.listen)
                    .await
                    .with_context(|| {
                        format!("listen on {} (retrieval.listen)", retrieval_cfg.listen)
                    })?,
            ),
            _ => None,
        };
        let retrieval_url = match &retrieval_listener {
            Some(l) => Some(crate::market::retrieval_url(
                &retrieval_cfg,
                l.local_addr()?,
            )),
            None => None,
        };
        // The market service, with the same condition: deals go into the pipeline.
        let market = match (&pipeline, miner, worker) {
            (Some(p), Some(m), Some(w)) => {
                let mut mc = cfg.market.clone();
                if let Some(l) = &market_listen {
                    mc.listen = vec![l.clone()];
                }
                let listen = mc.listen.clone();
                let chain = Arc::new(ferrite_chain::api::DevnetChain::new(
                    devnet.clone(),
                    wallet.clone(),
                    heads.subscribe(),
                ));
                let info = ferrite_chain::api::Chain::miner_info(chain.as_ref(), &m).await?;
                let sector_size = SectorSize::from_bytes(info.sector_size)
                    .map_err(|e| anyhow::anyhow!("miner {m}: {e}"))?;
                let deps = crate::market::MarketDeps {
                    chain: crate::market::MarketChain::new(devnet.clone(), wallet.clone()),
                    pipeline: p.clone(),
                    miner: m,
                    worker: w,
                    sector_size,
                    seal_epochs: cfg.sealing.packing.seal_epochs,
                    registry: registry.clone(),
                };
                Some(
                    crate::market::serve(
                        &home,
                        mc,
                        &listen,
                        retrieval_url.clone(),
                        deps,
                        chain,
                        stop.clone(),
                    )
                    .await?,
                )
            }
            _ => None,
        };
        // Retrieval, over the market's piece index and the pipeline's storage.
        let retrieval = match (&market, &pipeline, miner, retrieval_listener) {
            (Some(m), Some(p), Some(miner), Some(listener)) => Some(
                crate::retrieval::serve(
                    &home,
                    retrieval_cfg.clone(),
                    listener,
                    retrieval_url.clone().unwrap_or_default(),
                    crate::retrieval::RetrievalDeps {
                        index: m.market.index().clone(),
                        pipeline: p.clone(),
                        executor: cluster.clone(),
                        miner: ferrite_types::ActorId(
                            miner.id().context("the miner's address is not an ID")?,
                        ),
                        sector_size: m.market.sector_size(),
                        registry: registry.clone(),
                    },
                    stop.clone(),
                )
                .await?,
            ),
            _ => None,
        };
        let mut extensions: Vec<Arc<dyn ferrite_chain::rpc::server::RpcExtension>> = Vec::new();
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
        let http_auth = auth.clone();
        let state = Arc::new(RpcState {
            devnet: devnet.clone(),
            wallet: wallet.clone(),
            default_address,
            auth,
            heads: heads.clone(),
            block_time,
            registry,
            metrics: metrics.clone(),
            extension: Some(Arc::new(crate::proving_api::Extensions(extensions))),
        });
        write_private(
            &home.join("api"),
            format!("http://{addr}/rpc/v1\n").as_bytes(),
        )?;
        write_private(&home.join("token"), format!("{admin}\n").as_bytes())?;
        write_private(&home.join("grpc"), format!("{grpc_url}\n").as_bytes())?;
        println!(
            "devnet {:?} at height {}",
            devnet.network_name(),
            devnet.head().height()
        );
        println!(
            "JSON-RPC: http://{addr}/rpc/v1 (admin token in {})",
            home.join("token").display()
        );
        println!("metrics: http://{addr}/metrics");
        println!(
            "workers: ferrite worker --node {grpc_url} --token-file {}",
            home.join("worker-token").display()
        );
        if let Some(m) = &market {
            for a in &m.addrs {
                println!("deals (libp2p): {a}");
            }
        }
        if let Some(r) = &retrieval {
            println!(
                "retrieval: {}/piece/{{pieceCid}}, {}/ipfs/{{cid}}",
                r.url, r.url
            );
        }
        println!("default wallet address: {default_address}");
        match miner {
            Some(m) => println!("storage miner: {m} (credited with the blocks)"),
            None => println!("storage miner: none (blocks by f00)"),
        }
        println!(
            "NOTE: the devnet's beacon and tickets are deterministic: for private testing only"
        );
        let producer = tokio::spawn(producer::run(
            devnet.clone(),
            block_time,
            heads,
            metrics,
            stop.clone(),
        ));
        let grpc = {
            let mut stop = stop.clone();
            let service =
                ferrite_proto::server(crate::cluster::Service(cluster.clone()), &worker_token);
            let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming_shutdown(incoming, async move {
                        let _ = stop.changed().await;
                    }),
            )
        };
        let scheduler = tokio::spawn(cluster.clone().run(stop.clone()));
        let local = match local_worker {
            Some(id) => {
                let paths = {
                    let cluster = cluster.clone();
                    tokio::task::spawn_blocking(move || cluster.attached_paths()).await??
                };
                let spec = crate::worker::WorkerSpec {
                    node: grpc_url.clone(),
                    token: worker_token.clone(),
                    info: crate::worker::local_info(id, paths),
                    workers: ferrite_proofs::Workers::new(&cfg.proofs.limits)?,
                };
                Some(tokio::spawn(crate::worker::run(spec, stop.clone())))
            }
            None => None,
        };
        let sector_states = match &pipeline {
            Some(p) => Some(
                crate::sealing_api::export_sector_states(p.clone(), &sector_registry, stop.clone())
                    .await?,
            ),
            None => None,
        };
        let sealing = pipeline.map(|p| tokio::spawn(p.run(stop.clone())));
        let proving = prover.map(|p| tokio::spawn(p.run(stop.clone())));
        let mut stop_server = stop.clone();
        let mut app =
            router(state).merge(crate::staging::router(staging_dir, worker_token.clone()));
        if let Some(m) = &market {
            app = app.merge(crate::market::http::router(m.market.clone(), http_auth));
        }
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop_server.changed().await;
        });
        let server = tokio::spawn(async move { server.await });
        tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
        info!("stopping");
        let _ = stop_tx.send(true);
        let _ = producer.await;
        if let Some(p) = proving {
            let _ = p.await;
        }
        if let Some(s) = sealing {
            let _ = s.await;
        }
        let _ = server.await;
        if let Some(w) = local {
            let _ = w.await;
        }
        let _ = scheduler.await;
        if let Some(r) = retrieval {
            let _ = r.task.await;
        }
        for t in market.into_iter().flat_map(|m| m.tasks) {
            let _ = t.await;
        }
        if let Some(s) = sector_states {
            let _ = s.await;
        }
        let _ = grpc.await;
        let _ = std::fs::remove_file(home.join("api"));
        let _ = std::fs::remove_file(home.join("grpc"));
        let _ = std::fs::remove_file(home.join("retrieval"));
        Ok(())
    })
}

/// The miner credited with the node's blocks: `[devnet] block_miner`, or
/// the node's own miner (`<home>/miner`), created on the first start when
/// `create_miner` is on.
fn node_miner(
    devnet: &Devnet,
    dc: &ferrite_chain::config::DevnetConfig,
    wallet: &Wallet,
    home: &std::path::Path,
) -> anyhow::Result<Option<Address>> {
    if !dc.block_miner.is_empty() {
        let miner =
            ferrite_types::address::parse(&dc.block_miner).context("[devnet] block_miner")?;
        return Ok(Some(miner));
    }
    let file = home.join("miner");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let miner = ferrite_types::address::parse(text.trim())
            .with_context(|| format!("{} holds no address", file.display()))?;
        return Ok(Some(miner));
    }
    if !dc.create_miner {
        return Ok(None);
    }
    let size: SectorSize = dc
        .sector_size
        .parse()
        .with_context(|| format!("[devnet] sector_size {:?}", dc.sector_size))?;
    let owner = first_key(wallet, Protocol::Secp256k1)?;
    let worker = first_key(wallet, Protocol::BLS)?;
    let owner_key = wallet.key(&owner).context("the owner key is missing")?;
    let spec = MinerSpec {
        owner,
        worker,
        window_post_proof: SealProof::new(size).window_post().into(),
        funds: TokenAmount::from_whole(100),
    };
    let miner = match node_miner::find(devnet, &owner)? {
        // Created before a crash, and not yet remembered.
        Some(m) => m,
        None => {
            println!("creating the node's storage miner ({size} sectors)");
            node_miner::create(devnet, &spec, owner_key)?
        }
    };
    write_private(&file, format!("{miner}\n").as_bytes())?;
    info!(%miner, "created the node's storage miner");
    Ok(Some(miner))
}

/// The wallet's first key of `protocol`.
fn first_key(wallet: &Wallet, protocol: Protocol) -> anyhow::Result<Address> {
    wallet
        .list()
        .into_iter()
        .find(|a| a.protocol() == protocol)
        .with_context(|| format!("the wallet has no {protocol:?} key"))
}

/// The miner's worker key's address, if the wallet holds it.
fn worker_in_wallet(
    devnet: &Devnet,
    wallet: &Wallet,
    miner: &Address,
) -> anyhow::Result<Option<Address>> {
    use fvm_ipld_encoding::CborStore;
    let Some(actor) = devnet.actor(miner, &[])? else {
        return Ok(None);
    };
    let Some(st) = devnet
        .blockstore()
        .get_cbor::<fil_actor_miner_state::v18::State>(&actor.state)
        .ok()
        .flatten()
    else {
        return Ok(None);
    };
    let info = st
        .get_info(devnet.blockstore())
        .map_err(|e| anyhow::anyhow!("read {miner}'s info: {e}"))?;
    let key = devnet.account_key(&info.worker, &[])?;
    Ok(wallet.key(&key).map(|_| key))
}
