//! A test network for integration tests (sealing's, proving's): an embedded
//! devnet with one storage miner of 2 KiB sectors, a block producer that can
//! be paused and resumed, the miner's [`ChainSteps`] over [`DevnetChain`],
//! and a helper that seals one committed-capacity sector to Proving through
//! the [`Pipeline`] with real proofs.
//!
//! Test support only: hidden from the docs, used by `tests/` of this crate
//! and of ferrite-proving. Everything lives under one directory given by the
//! test (`chain/`, `keystore/`, `sealing/`, `seal/`).
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use ferrite_sealing::testnet::{self, TestNet};
//! testnet::init_proofs_from_env()?;
//! let dir = std::path::Path::new("/tmp/t");
//! let net = TestNet::start(dir).await?;
//! let sector = net.seal_cc_sector().await?; // about a minute: real C2
//! net.pause_producer().await?;              // blocks on demand from here
//! let head = net.produce_block().await?;
//! net.resume_producer();
//! net.stop().await?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use anyhow::Context;
use ferrite_chain::api::DevnetChain;
use ferrite_chain::block::TipSet;
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::node_miner::{self, MinerSpec};
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, PrivateKey, Wallet};
use ferrite_proofs::{ProofsConfig, StageLimits, Workers};
use ferrite_store::{Db, RocksDb, RocksOptions, Store};
use ferrite_types::{ActorId, SectorId, SectorNumber};
use fil_actor_miner_state::v18 as miner;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::RegisteredPoStProof;
use fvm_shared::version::NetworkVersion;
use tokio::sync::watch;

use crate::chain::{ChainSteps, ChainStepsConfig};
use crate::tasks::SectorFiles;
use crate::{Pipeline, RetryPolicy, SectorRecord, records};

/// Long enough for PC1, PC2, C1 and C2 of a 2 KiB sector on a slow machine.
pub const SEAL_TIMEOUT: Duration = Duration::from_secs(600);

/// The producer's block time.
pub const BLOCK_TIME: Duration = Duration::from_millis(100);

/// Retries a second after a failure, so that a test's duplicate messages
/// (which may fail a step) cost little time.
pub const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    backoff_secs: 1,
    max_backoff_secs: 2,
};

/// Initialises ferrite-proofs once per process, with the parameter and
/// parent caches of `FERRITE_PROOFS__PARAMETER_CACHE` and
/// `FERRITE_PROOFS__PARENT_CACHE` when they are set (the variables the
/// node's config loader reads), else the defaults, where the scripts keep
/// them. Test use only.
pub fn init_proofs_from_env() -> anyhow::Result<()> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        let mut cfg = ProofsConfig::default();
        if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARAMETER_CACHE") {
            cfg.parameter_cache = PathBuf::from(p);
        }
        if let Some(p) = std::env::var_os("FERRITE_PROOFS__PARENT_CACHE") {
            cfg.parent_cache = PathBuf::from(p);
        }
        result = ferrite_proofs::init(&cfg).context("init proofs");
    });
    result
}

/// The background block producer: a block every [`BLOCK_TIME`].
struct Producer {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

/// A devnet with one miner, its block producer and its chain steps.
pub struct TestNet {
    /// The chain.
    pub devnet: Arc<Devnet>,
    /// The miner actor (an ID address).
    pub miner: Address,
    /// The miner's owner (a secp256k1 key address, in [`TestNet::wallet`]).
    pub owner: Address,
    /// The miner's worker (a BLS key address, in [`TestNet::wallet`]); the
    /// chain steps send from it.
    pub worker: Address,
    /// The wallet holding the owner's and the worker's keys.
    pub wallet: Arc<Mutex<Wallet>>,
    /// The devnet as a `Chain`, signing with [`TestNet::wallet`] and
    /// following the producer's heads.
    pub chain: DevnetChain,
    /// The miner's chain steps over [`TestNet::chain`].
    pub steps: Arc<ChainSteps>,
    /// The directory everything lives under.
    pub dir: PathBuf,
    heads: Arc<watch::Sender<i64>>,
    producer: Mutex<Option<Producer>>,
}

impl std::fmt::Debug for TestNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNet")
            .field("miner", &self.miner)
            .field("dir", &self.dir)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TestNet {
    /// Creates the devnet under `dir/chain`, its miner (2 KiB sectors, 100
    /// FIL of funds) and starts the block producer.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let owner_key = PrivateKey::generate(KeyType::Secp256k1);
        let worker_key = PrivateKey::generate(KeyType::Bls);
        let (owner, worker) = (owner_key.address()?, worker_key.address()?);
        let settings = DevnetSettings {
            vm: VmSettings {
                network_version: NetworkVersion::V25,
                chain_id: 31415926,
                base_fee: TokenAmount::from_atto(100),
                circulating_supply: TokenAmount::from_whole(1_000_000),
            },
            genesis: GenesisSpec {
                network_name: "sealing-test".to_string(),
                accounts: vec![
                    (owner, TokenAmount::from_whole(10_000)),
                    (worker, TokenAmount::from_whole(10_000)),
                ],
            },
        };
        let chain_dir = dir.join("chain");
        let spec = MinerSpec {
            owner,
            worker,
            window_post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            funds: TokenAmount::from_whole(100),
        };
        let creator = owner_key.clone();
        let (devnet, miner) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            // A test chain need not survive power loss: its writes (thousands
            // of blocks' worth) are not fsynced.
            let opts = RocksOptions { sync_writes: false };
            let db: Arc<dyn Db> = Arc::new(RocksDb::open(&chain_dir, &TABLES, opts)?);
            let dn = Devnet::open(db, settings, Bundle::embedded)?;
            // Genesis' state is read through the tipset above it.
            dn.produce_block()?;
            let miner = node_miner::create(&dn, &spec, &creator)?;
            Ok((Arc::new(dn), miner))
        })
        .await
        .context("devnet setup task")??;

        let mut wallet = Wallet::open(&dir.join("keystore"))?;
        wallet.import(owner_key)?;
        wallet.import(worker_key)?;
        let wallet = Arc::new(Mutex::new(wallet));
        let (heads_tx, heads) = watch::channel(devnet.head().height());
        let chain = DevnetChain::new(devnet.clone(), wallet.clone(), heads);
        let policy = ferrite_chain::rpc::state::devnet_policy();
        let steps = Arc::new(ChainSteps::new(
            Arc::new(chain.clone()),
            ChainStepsConfig {
                miner,
                sender: worker,
                pre_commit_challenge_delay: policy.pre_commit_challenge_delay,
                ticket_lookback: 1,
                sector_lifetime: policy.min_sector_expiration + 100_000,
                precommit_value: TokenAmount::from_whole(1),
                provecommit_value: TokenAmount::from_whole(1),
            },
        ));
        let net = TestNet {
            devnet,
            miner,
            owner,
            worker,
            wallet,
            chain,
            steps,
            dir: dir.to_path_buf(),
            heads: Arc::new(heads_tx),
            producer: Mutex::new(None),
        };
        net.resume_producer();
        Ok(net)
    }

    /// The miner's actor ID.
    pub fn miner_id(&self) -> anyhow::Result<ActorId> {
        Ok(ActorId(self.miner.id()?))
    }

    /// The seal directory the pipeline writes sector files under.
    pub fn seal_dir(&self) -> PathBuf {
        self.dir.join("seal")
    }

    /// The files of the miner's sector `number`.
    pub fn sector_files(&self, number: SectorNumber) -> anyhow::Result<SectorFiles> {
        Ok(SectorFiles::new(
            &self.seal_dir(),
            SectorId::new(self.miner_id()?, number),
        ))
    }

    /// A receiver of the head heights the producer (or
    /// [`TestNet::produce_block`]) publishes.
    pub fn heads(&self) -> watch::Receiver<i64> {
        self.heads.subscribe()
    }

    /// The miner's state at the head, decoded with builtin-actors v18's own type.
    pub fn miner_state(&self) -> anyhow::Result<miner::State> {
        let actor = self
            .devnet
            .actor(&self.miner, &[])?
            .context("the miner actor exists")?;
        self.devnet
            .blockstore()
            .get_cbor(&actor.state)?
            .context("the miner's state block")
    }

    /// Starts the background producer (a block every [`BLOCK_TIME`]) if it
    /// is not running. A failed block is reported on stderr and the chain
    /// goes on, as the node's producer does.
    pub fn resume_producer(&self) {
        let mut slot = lock(&self.producer);
        if slot.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (dn, flag, heads) = (self.devnet.clone(), stop.clone(), self.heads.clone());
        let handle = tokio::task::spawn_blocking(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(BLOCK_TIME);
                match dn.produce_block() {
                    Ok(ts) => {
                        heads.send_replace(ts.height());
                    }
                    Err(e) => eprintln!("block production failed: {e:#}"),
                }
            }
        });
        *slot = Some(Producer { stop, handle });
    }

    /// Stops the background producer and waits for its last block; blocks
    /// then come only from [`TestNet::produce_block`].
    pub async fn pause_producer(&self) -> anyhow::Result<()> {
        let producer = lock(&self.producer).take();
        if let Some(p) = producer {
            p.stop.store(true, Ordering::Relaxed);
            p.handle.await.context("block producer task")?;
        }
        Ok(())
    }

    /// Produces one block now (off the runtime) and publishes its height.
    pub async fn produce_block(&self) -> anyhow::Result<TipSet> {
        let dn = self.devnet.clone();
        let ts = tokio::task::spawn_blocking(move || dn.produce_block())
            .await
            .context("block production task")??;
        self.heads.send_replace(ts.height());
        Ok(ts)
    }

    /// The pipeline on the RocksDB at `dir/sealing`, as a node opens it at
    /// start: sector files under [`TestNet::seal_dir`], polling every 100 ms.
    /// One may be open at a time (RocksDB locks its directory).
    pub fn open_pipeline(&self, policy: RetryPolicy) -> anyhow::Result<Pipeline> {
        let db = RocksDb::open(
            &self.dir.join("sealing"),
            &records::TABLES,
            RocksOptions::default(),
        )?;
        let workers = Workers::new(&StageLimits::default())?;
        Ok(Pipeline::new(
            Store::new(db)?,
            self.steps.clone(),
            workers,
            self.seal_dir(),
            self.miner_id()?,
            policy,
        )?
        .with_poll_interval(Duration::from_millis(100)))
    }

    /// Pledges a committed-capacity sector on `pipeline` and steps it to
    /// Proving (real proofs: about a minute of C2 on two cores). The
    /// producer must be running.
    pub async fn seal_cc_sector_with(&self, pipeline: &Pipeline) -> anyhow::Result<SectorRecord> {
        let n = pipeline.pledge().await?;
        Ok(pipeline
            .run_until(n, |r| r.state.name() == "Proving", SEAL_TIMEOUT)
            .await?)
    }

    /// [`TestNet::seal_cc_sector_with`] on a pipeline opened for the purpose
    /// (with [`FAST_RETRY`]) and closed afterwards.
    pub async fn seal_cc_sector(&self) -> anyhow::Result<SectorRecord> {
        let pipeline = self.open_pipeline(FAST_RETRY)?;
        self.seal_cc_sector_with(&pipeline).await
    }

    /// Stops the producer.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.pause_producer().await
    }
}

impl Drop for TestNet {
    /// Tells a running producer to stop: a test that panics before
    /// [`TestNet::stop`] would otherwise hang when its runtime shuts down,
    /// waiting for the producer's blocking task.
    fn drop(&mut self) {
        if let Some(p) = lock(&self.producer).take() {
            p.stop.store(true, Ordering::Relaxed);
        }
    }
}
