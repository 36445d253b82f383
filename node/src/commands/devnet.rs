//! `ferrite devnet`: the embedded chain (genesis, the node's miner and keys)
//! under the node's services (`crate::services`), until SIGTERM or SIGINT.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES, total_balance};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::node_miner::{self, MinerSpec};
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, Wallet, write_private};
use ferrite_store::{RocksDb, RocksOptions};
use ferrite_types::{SealProof, SectorSize};
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;
use fvm_shared::version::NetworkVersion;
use tracing::info;

use crate::cli::{DevnetArgs, GlobalArgs};
use crate::config::Config;
use crate::params::ParamsGate;
use crate::services::{EmbeddedChain, NodeChain, NodeSpec};

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
    let mut effective = Config {
        devnet: dc.clone(),
        cluster: cc.clone(),
        ..cfg.clone()
    };
    if let Some(l) = &args.market_listen {
        effective.market.listen = vec![l.clone()];
    }
    if let Some(l) = &args.retrieval_listen {
        effective.retrieval.listen = l.clone();
    }
    effective.validate()?;
    // STYLE R7: the daemon logs its effective config.
    crate::config::log_effective(&effective);
    let home = global.home();
    std::fs::create_dir_all(&home).with_context(|| format!("create {}", home.display()))?;
    let keystore = home.join("keystore");
    // An encrypted keystore (`ferrite wallet init-encrypted`) opens with
    // FERRITE_KEYSTORE_PASSPHRASE; the devnet's own is plain.
    let passphrase = std::env::var("FERRITE_KEYSTORE_PASSPHRASE")
        .ok()
        .map(ferrite_chain::wallet::Passphrase::new)
        .transpose()?;
    let mut wallet = Wallet::open_with(&keystore, passphrase.as_ref())?;
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
    devnet.set_remote_block_wait(dc.remote_block_wait());
    // The node seals for its own miner when its worker key is in the
    // wallet; a configured block miner mines remotely (ferrite_chain::winning).
    let sealer = match miner {
        Some(m) if dc.block_miner.is_empty() => worker_in_wallet(&devnet, &wallet, &m)?,
        _ => None,
    };
    let worker = sealer.map(|(w, _)| w);
    // Missing test-size parameters are generated in the background: the
    // chain and the API answer meanwhile, and sealing waits for them.
    let params = match sealer {
        Some((_, size)) => Some(ParamsGate::start(&cfg.proofs.parameter_cache, size)?),
        None => None,
    };
    println!(
        "devnet {:?} at height {}",
        devnet.network_name(),
        devnet.head().height()
    );
    println!("default wallet address: {default_address}");
    match miner {
        Some(m) if !dc.block_miner.is_empty() => println!(
            "block miner: {m} (credited with the blocks; it mines remotely, with SyncSubmitBlock)"
        ),
        Some(m) => println!("block miner: {m} (credited with the blocks)"),
        None => println!("block miner: none (blocks by f00)"),
    }
    println!("NOTE: the devnet's beacon and tickets are deterministic: for private testing only");
    if let Some(p) = &params {
        println!("proof parameters: {}", p.describe());
    }
    let chain = NodeChain::Embedded(EmbeddedChain {
        devnet,
        wallet: Arc::new(Mutex::new(wallet)),
        default_address,
        block_time: dc.block_time(),
    });
    let spec = NodeSpec {
        home,
        api_listen: dc.listen.clone(),
        cfg: effective,
        miner: miner.zip(worker),
        params,
    };
    let grace = std::time::Duration::from_secs(spec.cfg.node.shutdown_grace_secs);
    let rt = super::runtime()?;
    let result = rt.block_on(crate::services::run(spec, chain));
    // Proof tasks past the grace period are not waited for: they run again
    // after the restart.
    rt.shutdown_timeout(grace);
    result
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

/// The miner's worker key's address, if the wallet holds it, and the
/// miner's sector size.
fn worker_in_wallet(
    devnet: &Devnet,
    wallet: &Wallet,
    miner: &Address,
) -> anyhow::Result<Option<(Address, SectorSize)>> {
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
    let size = SectorSize::from(info.sector_size);
    Ok(wallet.key(&key).map(|_| (key, size)))
}
