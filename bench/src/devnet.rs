//! The embedded devnet's own speed: an in-process devnet on a temporary
//! RocksDB (Ferrite's actor bundle, no block miner, so blocks carry no
//! election and no WinningPoSt).
//!
//! - Epochs: `epochs` empty blocks produced back to back (each executes the
//!   cron tick and is persisted before it becomes the head).
//! - Transfers: `messages` signed FIL transfers between genesis accounts,
//!   spread over [`SENDERS`] secp256k1 senders, pushed through the message
//!   pool (signature, nonce, funds and gas checks), then blocks produced
//!   until the pool is empty, and one more, so that every receipt is on
//!   chain. The time runs from the first push to that last block; every
//!   receipt must show success.
//!
//! There is no raw side: the devnet has no library counterpart to run the
//! same work through.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cid::Cid;
use ferrite_chain::bundle::Bundle;
use ferrite_chain::devnet::{Devnet, DevnetSettings, TABLES, total_balance};
use ferrite_chain::genesis::GenesisSpec;
use ferrite_chain::message::transfer;
use ferrite_chain::vm::VmSettings;
use ferrite_chain::wallet::{KeyType, PrivateKey};
use ferrite_store::{Db, RocksDb, RocksOptions};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::version::NetworkVersion;

/// Senders of the transfers; the pool takes at most 100 nonces ahead of a
/// sender's, so `messages` is at most 100 per sender.
pub const SENDERS: usize = 10;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct DevnetFigures {
    /// Empty epochs produced.
    pub epochs: u64,
    /// Their time.
    pub epochs_time: Duration,
    /// Transfers executed.
    pub messages: usize,
    /// Blocks they took (the last, receipt-only block included).
    pub message_blocks: u64,
    /// From the first push to the block with the last receipt.
    pub messages_time: Duration,
}

impl DevnetFigures {
    /// Empty epochs per second.
    pub fn epochs_per_second(&self) -> f64 {
        self.epochs as f64 / self.epochs_time.as_secs_f64()
    }

    /// Transfers per second, pool and blocks together.
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.messages_time.as_secs_f64()
    }
}

/// Produces blocks until the pool (holding `messages`) is empty, and one
/// more, so that every receipt is on chain; the blocks it took.
pub(crate) fn drain(devnet: &Devnet, messages: usize) -> anyhow::Result<u64> {
    let mut blocks = 0;
    while devnet.pending_count() > 0 {
        devnet.produce_block_unelected()?;
        blocks += 1;
        ensure!(
            blocks <= messages as u64 + 1,
            "the pool still holds {} messages after {blocks} blocks",
            devnet.pending_count()
        );
    }
    devnet.produce_block_unelected()?;
    Ok(blocks + 1)
}

/// The receipts of `cids`, each of which must have executed and succeeded.
pub(crate) fn receipts(devnet: &Devnet, cids: &[Cid], what: &str) -> anyhow::Result<Vec<Receipt>> {
    cids.iter()
        .map(|cid| {
            let found = devnet
                .search(cid)?
                .with_context(|| format!("{what} {cid} was not executed"))?;
            ensure!(
                found.receipt.exit_code.is_success(),
                "{what} {cid} failed: {:?}",
                found.receipt
            );
            Ok(found.receipt)
        })
        .collect()
}

/// A devnet on a new RocksDB in `dir`, with `accounts` funded at genesis,
/// on Ferrite's actors or, given its CAR, another v18 bundle.
pub(crate) fn open(
    dir: &Path,
    accounts: Vec<(Address, TokenAmount)>,
    bundle_car: Option<&[u8]>,
) -> anyhow::Result<Devnet> {
    let settings = DevnetSettings {
        vm: VmSettings {
            network_version: NetworkVersion::V25,
            chain_id: 31415926,
            base_fee: TokenAmount::from_atto(100),
            circulating_supply: total_balance(&accounts),
        },
        genesis: GenesisSpec {
            network_name: "bench-devnet".to_string(),
            accounts,
        },
    };
    let db: Arc<dyn Db> = Arc::new(
        RocksDb::open(&dir.join("chain"), &TABLES, RocksOptions::default())
            .context("open the devnet's database")?,
    );
    match bundle_car {
        None => Devnet::open(db, settings, Bundle::embedded),
        Some(car) => Devnet::open(db, settings, |bs| Bundle::from_car(bs, car)),
    }
    .context("open the devnet")
}

/// Opens a devnet in `dir` and measures `epochs` empty epochs, then
/// `messages` transfers.
pub fn measure(
    dir: &Path,
    epochs: u64,
    messages: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<DevnetFigures> {
    ensure!(
        messages <= SENDERS * 100,
        "at most {} transfers, not {messages}",
        SENDERS * 100
    );
    let keys: Vec<PrivateKey> = (0..SENDERS)
        .map(|_| PrivateKey::generate(KeyType::Secp256k1))
        .collect();
    let addresses: Vec<Address> = keys
        .iter()
        .map(PrivateKey::address)
        .collect::<anyhow::Result<_>>()?;
    let accounts: Vec<(Address, TokenAmount)> = addresses
        .iter()
        .map(|a| (*a, TokenAmount::from_whole(1_000_000)))
        .collect();
    progress("devnet: genesis (compiling the actors)".to_string());
    let devnet = open(dir, accounts, None)?;
    // The first block compiles what genesis did not touch; not timed.
    devnet.produce_block_unelected()?;

    progress(format!("devnet: {epochs} empty epochs"));
    let t = Instant::now();
    let start = devnet.head().height();
    let head = devnet.produce_blocks_unelected(epochs, |_| {})?;
    let epochs_time = t.elapsed();
    ensure!(
        head.height() == start + i64::try_from(epochs)?,
        "the devnet made {} epochs, not {epochs}",
        head.height() - start
    );

    progress(format!("devnet: {messages} transfers"));
    let t = Instant::now();
    let mut cids = Vec::with_capacity(messages);
    for i in 0..messages {
        let (from, key) = (addresses[i % SENDERS], &keys[i % SENDERS]);
        let to = addresses[(i + 1) % SENDERS];
        let msg = Message {
            gas_limit: 10_000_000,
            gas_fee_cap: TokenAmount::from_atto(1_000),
            gas_premium: TokenAmount::from_atto(500),
            ..transfer(from, to, TokenAmount::from_atto(1))
        };
        let sm = devnet
            .push_next(msg, key)
            .with_context(|| format!("push transfer {i}"))?;
        cids.push(sm.cid()?);
    }
    let blocks = drain(&devnet, messages)?;
    let messages_time = t.elapsed();
    receipts(&devnet, &cids, "transfer")?;
    Ok(DevnetFigures {
        epochs,
        epochs_time,
        messages,
        message_blocks: blocks,
        messages_time,
    })
}
