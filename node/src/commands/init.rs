//! `ferrite init`: sets up a home directory for a network. It creates a
//! storage miner through the chain node (the power actor's `CreateMiner`,
//! builtin-actors v18 parameters, signed by the owner's key: in the node's
//! keystore, or in the chain node's wallet with `[chain] signer = "node"`)
//! or attaches an existing one, checks that the owner and worker
//! can pay (and shows the control addresses' balances), and writes the miner to `<home>/miner` for `ferrite run`.

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::rpc::client::LotusClient;
use fil_actor_power_state::v18 as power;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;

use crate::cli::{GlobalArgs, InitArgs};
use crate::config::Config;

/// The power actor.
const POWER_ACTOR: u64 = 4;

pub fn run(args: InitArgs, global: &GlobalArgs, cfg: &Config) -> anyhow::Result<()> {
    let home = global.home();
    std::fs::create_dir_all(&home).with_context(|| format!("create {}", home.display()))?;
    let file = home.join("miner");
    if let Ok(text) = std::fs::read_to_string(&file) {
        anyhow::bail!(
            "{} is already set up for miner {}: use another --home",
            home.display(),
            text.trim()
        );
    }
    let api_info = std::env::var("FULLNODE_API_INFO").ok();
    let endpoint = crate::remote::endpoint(&cfg.chain, api_info.as_deref())?;
    let mut pass = args.passphrase.clone();
    let client = crate::remote::client(&endpoint, &cfg.chain, &home, &mut pass)?;
    let no_fetch_params = args.no_fetch_params;
    let size = super::runtime()?.block_on(async move {
        let facts = crate::remote::check(&client)
            .await
            .with_context(|| format!("reach the chain node at {}", endpoint.url))?;
        println!("chain node {}: {facts}", endpoint.url);
        let miner = match (&args.actor, &args.owner) {
            (Some(actor), None) => {
                let miner = parse(actor, "--actor")?;
                client
                    .miner_info(&miner)
                    .await
                    .with_context(|| format!("{miner} is not a storage miner on this chain"))?;
                println!("attaching storage miner {miner}");
                miner
            }
            (None, Some(owner)) => create(&client, &args, parse(owner, "--owner")?).await?,
            _ => anyhow::bail!("give either --actor (an existing miner) or --owner (a new one)"),
        };
        let info = client.miner_info(&miner).await?;
        for (role, addr) in [("owner", info.owner), ("worker", info.worker)] {
            let balance = client.balance(&addr).await?;
            if balance.is_zero() {
                anyhow::bail!(
                    "the {role} {addr} of {miner} has no funds: it pays for the miner's messages; \
                     send it FIL, then run `ferrite init --actor {miner}`"
                );
            }
            println!("{role} {addr}: {} FIL", crate::status_api::fil(&balance));
        }
        // Ferrite sends the miner's messages from the worker; the control
        // addresses (Lotus and Curio pay PoSts from them) are shown so
        // that one left without funds is seen before a move back.
        for addr in &info.control {
            let balance = client.balance(addr).await?;
            let note = if balance.is_zero() { " (no funds)" } else { "" };
            println!(
                "control {addr}: {} FIL{note}; Ferrite sends from the worker",
                crate::status_api::fil(&balance)
            );
        }
        ferrite_chain::wallet::write_private(&file, format!("{miner}\n").as_bytes())?;
        let size = ferrite_types::SectorSize::from_bytes(info.sector_size)
            .map_err(|e| anyhow::anyhow!("miner {miner}: {e}"))?;
        println!(
            "wrote {}: `ferrite run` seals and proves for {miner}",
            file.display()
        );
        anyhow::Ok(size)
    })?;
    // The official parameter files of a production size; test sizes are
    // generated locally, for private networks only.
    if ferrite_proofs::params::generate::circuits(size).is_ok() {
        println!(
            "{size} sectors use test parameters: `ferrite params generate --sizes {size}` \
             (private networks only)"
        );
    } else if no_fetch_params {
        println!("not fetching the {size} parameters: run `ferrite params fetch --sizes {size}`");
    } else {
        super::params::fetch_sizes(cfg, &[size], None, None)
            .context("fetch the proof parameters (or --no-fetch-params)")?;
    }
    Ok(())
}

fn parse(text: &str, flag: &str) -> anyhow::Result<Address> {
    ferrite_types::address::parse(text).with_context(|| format!("{flag} {text:?}"))
}

/// Sends `CreateMiner` from `owner` (signed by the chain node's wallet) and
/// waits for the new miner's address.
async fn create(client: &LotusClient, args: &InitArgs, owner: Address) -> anyhow::Result<Address> {
    let worker = match &args.worker {
        Some(w) => parse(w, "--worker")?,
        None => anyhow::bail!("--worker: a BLS address (f3...) in the chain node's wallet"),
    };
    let size = args
        .sector_size
        .context("--sector-size: the new miner's sector size, e.g. 32GiB")?;
    crate::remote::ensure_can_sign(client, &owner, "owner").await?;
    let params = power::CreateMinerParams {
        owner,
        worker,
        window_post_proof_type: ferrite_types::SealProof::new(size).window_post().into(),
        peer: Vec::new(),
        multiaddrs: Vec::new(),
    };
    let msg = Message {
        version: 0,
        from: owner,
        to: Address::new_id(POWER_ACTOR),
        sequence: 0,
        value: TokenAmount::from_whole(args.deposit_fil),
        method_num: power::Method::CreateMiner as u64,
        params: RawBytes::serialize(&params).context("encode CreateMiner")?,
        gas_limit: 0,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
    };
    println!("creating a storage miner ({size} sectors) owned by {owner}, worker {worker}");
    let cid = client.send(msg).await.context("send CreateMiner")?;
    println!("CreateMiner {cid}: waiting for it to execute");
    let done = client.wait(&cid, 0).await.context("wait for CreateMiner")?;
    anyhow::ensure!(
        done.receipt.exit_code.is_success(),
        "CreateMiner failed with exit code {}",
        done.receipt.exit_code
    );
    let ret: power::CreateMinerReturn =
        fvm_ipld_encoding::from_slice(done.receipt.return_data.bytes())
            .context("decode CreateMiner's return")?;
    println!("created storage miner {}", ret.id_address);
    Ok(ret.id_address)
}
