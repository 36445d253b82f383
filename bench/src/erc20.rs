//! ERC-20 transfers on the devnet's EVM: the same work on Ferrite's EVM
//! actor (revm) and, given its CAR, the official builtin-actors v18 one, on
//! two in-process devnets (a temporary RocksDB each, no block miner).
//!
//! On each: [`SENDERS`] secp256k1 accounts; the first deploys
//! `chain/tests/fixtures/evm/Token.sol` (a plain ERC-20, the bytecode its
//! pinned solc made) with the EAM's `CreateExternal` and hands each other account a
//! share; then `transfers` `transfer(to, 1)` calls (Filecoin messages with
//! `InvokeContract`, each sender paying the next), pushed through the
//! message pool and executed by blocks produced until the pool is empty,
//! and one more. The time runs from the first push to that last block, as
//! the devnet group's FIL transfers. Every receipt must succeed and every
//! balance must add up afterwards; the gas is the median of the transfers'
//! receipts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cid::Cid;
use ferrite_chain::devnet::Devnet;
use ferrite_chain::eth::{EthAddress, eam};
use ferrite_chain::wallet::{KeyType, PrivateKey};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;

use crate::devnet::{SENDERS, drain, open, receipts};

/// The token's compiled form (init code, runtime code, ABI).
const TOKEN_JSON: &str = include_str!("../../chain/tests/fixtures/evm/Token.json");

/// The supply the deployer mints.
const SUPPLY: u64 = 1_000_000_000;

/// What one bundle's run measured.
#[derive(Debug, Clone)]
pub struct Erc20Figures {
    /// Transfers executed.
    pub transfers: usize,
    /// Blocks they took (the last, receipt-only block included).
    pub blocks: u64,
    /// From the first push to the block with the last receipt.
    pub time: Duration,
    /// The median gas a transfer used (FVM gas, from its receipt).
    pub gas_per_transfer: u64,
    /// The gas the deployment used.
    pub deploy_gas: u64,
    /// Where one transfer's gas went: the FVM's gas charges by name (its
    /// execution trace, from a traced replay of the last transfer), with
    /// how many there were and their gas, largest first.
    pub gas_by_charge: Vec<ChargeTotal>,
}

/// The gas charges of one name in a message's execution trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeTotal {
    /// The FVM's name for the charge (`wasm_exec`, `OnBlockOpen`, ...).
    pub name: String,
    /// How many charges of that name.
    pub count: u64,
    /// Their gas, compute and other together.
    pub gas: u64,
}

/// Sums `trace`'s gas charges by name, largest first.
pub fn gas_by_charge(trace: &[fvm::trace::ExecutionEvent]) -> Vec<ChargeTotal> {
    let mut by_name: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for event in trace {
        if let fvm::trace::ExecutionEvent::GasCharge(c) = event {
            let e = by_name.entry(c.name.as_ref()).or_default();
            e.0 += 1;
            e.1 += c.total().as_milligas();
        }
    }
    let mut out: Vec<ChargeTotal> = by_name
        .into_iter()
        .map(|(name, (count, milligas))| ChargeTotal {
            name: name.to_string(),
            count,
            gas: milligas.div_ceil(1000),
        })
        .collect();
    out.sort_by(|a, b| b.gas.cmp(&a.gas).then_with(|| a.name.cmp(&b.name)));
    out
}

impl Erc20Figures {
    /// Transfers per second, pool and blocks together.
    pub fn per_second(&self) -> f64 {
        self.transfers as f64 / self.time.as_secs_f64()
    }
}

fn word(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

fn address_word(a: &EthAddress) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&a.0);
    w
}

fn calldata(selector: [u8; 4], args: &[[u8; 32]]) -> Vec<u8> {
    let mut out = selector.to_vec();
    for a in args {
        out.extend_from_slice(a);
    }
    out
}

/// `transfer(address,uint256)`.
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `balanceOf(address)`.
const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];

fn token_initcode() -> anyhow::Result<Vec<u8>> {
    let json: serde_json::Value = serde_json::from_str(TOKEN_JSON)?;
    let code = json["initcode"]
        .as_str()
        .context("Token.json has no initcode")?;
    let mut initcode = hex::decode(code).context("Token.json's initcode is not hex")?;
    initcode.extend_from_slice(&word(SUPPLY));
    Ok(initcode)
}

/// Pushes `msgs` (each from its key's account), executes them all and
/// returns their receipts' gas used, the blocks they took and their CIDs.
fn execute(
    devnet: &Devnet,
    msgs: Vec<(Message, &PrivateKey)>,
    what: &str,
) -> anyhow::Result<(Vec<u64>, u64, Vec<Cid>)> {
    let mut cids = Vec::with_capacity(msgs.len());
    let n = msgs.len();
    for (i, (msg, key)) in msgs.into_iter().enumerate() {
        let sm = devnet
            .push_next(msg, key)
            .with_context(|| format!("push {what} {i}"))?;
        cids.push(sm.cid()?);
    }
    let blocks = drain(devnet, n)?;
    let gas = receipts(devnet, &cids, what)?
        .into_iter()
        .map(|r| r.gas_used)
        .collect();
    Ok((gas, blocks, cids))
}

/// The token balance of `holder`, read with `balanceOf` on the head.
fn balance_of(
    devnet: &Devnet,
    from: Address,
    token: Address,
    holder: &EthAddress,
) -> anyhow::Result<u64> {
    let msg = eam::invoke_message(
        from,
        token,
        &calldata(BALANCE_OF, &[address_word(holder)]),
        TokenAmount::default(),
    )?;
    let msg = Message {
        gas_limit: 100_000_000,
        sequence: devnet.next_nonce(&from)?,
        ..msg
    };
    let ret = devnet.call(msg, &devnet.head().key)?;
    ensure!(
        ret.msg_receipt.exit_code.is_success(),
        "balanceOf failed: {:?}",
        ret.msg_receipt
    );
    let out = eam::decode_output(ret.msg_receipt.return_data.bytes())?;
    ensure!(out.len() == 32, "balanceOf returned {} bytes", out.len());
    let mut n = [0u8; 8];
    n.copy_from_slice(&out[24..]);
    ensure!(out[..24].iter().all(|b| *b == 0), "a balance beyond u64");
    Ok(u64::from_be_bytes(n))
}

/// Runs the transfers on a devnet in `dir`, on Ferrite's actors or on the
/// bundle `bundle_car`.
pub fn measure(
    dir: &Path,
    bundle_car: Option<&[u8]>,
    transfers: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<Erc20Figures> {
    ensure!(
        transfers <= SENDERS * 100,
        "at most {} transfers, not {transfers}",
        SENDERS * 100
    );
    let side = if bundle_car.is_some() {
        "official EVM actor"
    } else {
        "Ferrite's EVM actor"
    };
    let keys: Vec<PrivateKey> = (0..SENDERS)
        .map(|_| PrivateKey::generate(KeyType::Secp256k1))
        .collect();
    let addresses: Vec<Address> = keys
        .iter()
        .map(PrivateKey::address)
        .collect::<anyhow::Result<_>>()?;
    let accounts = addresses
        .iter()
        .map(|a| (*a, TokenAmount::from_whole(1_000_000)))
        .collect();
    progress(format!("erc20 ({side}): genesis"));
    let devnet = open(dir, accounts, bundle_car)?;
    devnet.produce_block_unelected()?;
    // The senders' Ethereum forms: their ID addresses, masked.
    let head_key = devnet.head().key;
    let eth: Vec<EthAddress> = addresses
        .iter()
        .map(|a| {
            let id = devnet
                .lookup_id(a, &head_key)?
                .with_context(|| format!("{a} has no ID"))?
                .id()?;
            Ok(EthAddress::from_id(id))
        })
        .collect::<anyhow::Result<_>>()?;

    progress(format!("erc20 ({side}): deploying the token"));
    let deployer = addresses[0];
    let create = eam::create_message(deployer, &token_initcode()?, TokenAmount::default())?;
    let create = devnet.estimate_gas(create, &TokenAmount::default())?;
    let sm = devnet.push_next(create, &keys[0])?;
    drain(&devnet, 1)?;
    let found = devnet
        .search(&sm.cid()?)?
        .context("the token's deployment was not executed")?;
    ensure!(
        found.receipt.exit_code.is_success(),
        "deploying the token failed: {:?}",
        found.receipt
    );
    let created = eam::decode_create(found.receipt.return_data.bytes())?;
    let token = Address::new_id(created.actor_id);
    let deploy_gas = found.receipt.gas_used;

    // Each other sender gets a share, enough for its transfers.
    let share = SUPPLY / SENDERS as u64;
    let first = transfer_message(&devnet, deployer, token, &eth[1], share)?;
    // Doubled, as for the transfers below.
    let gas_limit = 2 * first.gas_limit;
    let handouts = (1..SENDERS)
        .map(|i| {
            let msg = eam::invoke_message(
                deployer,
                token,
                &calldata(TRANSFER, &[address_word(&eth[i]), word(share)]),
                TokenAmount::default(),
            )?;
            Ok((priced(msg, gas_limit), &keys[0]))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    execute(&devnet, handouts, "hand-out")?;

    // The timed transfers' gas limit: a ring transfer's estimate (which
    // already has Lotus's 25 % margin), doubled, since a block executes
    // them on states the estimate did not see.
    let gas_limit = 2 * transfer_message(&devnet, addresses[1], token, &eth[2], 1)?.gas_limit;
    progress(format!("erc20 ({side}): {transfers} transfers"));
    let msgs = (0..transfers)
        .map(|i| {
            let (s, r) = (i % SENDERS, (i + 1) % SENDERS);
            let msg = eam::invoke_message(
                addresses[s],
                token,
                &calldata(TRANSFER, &[address_word(&eth[r]), word(1)]),
                TokenAmount::default(),
            )?;
            Ok((priced(msg, gas_limit), &keys[s]))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t = Instant::now();
    let (mut gas, blocks, cids) = execute(&devnet, msgs, "transfer")?;
    let time = t.elapsed();
    let last = cids.last().context("no transfer ran")?;
    let (_, traced) = devnet.replay_traced(last)?;
    ensure!(
        traced.msg_receipt.gas_used == gas.last().copied().unwrap_or_default(),
        "the traced replay of the last transfer used {} gas, its receipt {:?}",
        traced.msg_receipt.gas_used,
        gas.last()
    );
    let gas_by_charge = gas_by_charge(&traced.exec_trace);

    // Every account sent as many as it received but the ring's ends.
    let mut total = 0;
    for (i, holder) in eth.iter().enumerate() {
        let sent = (0..transfers).filter(|k| k % SENDERS == i).count() as u64;
        let got = (0..transfers).filter(|k| (k + 1) % SENDERS == i).count() as u64;
        let start = if i == 0 {
            SUPPLY - share * (SENDERS as u64 - 1)
        } else {
            share
        };
        let have = balance_of(&devnet, addresses[0], token, holder)?;
        ensure!(
            have == start - sent + got,
            "account {i} holds {have} tokens, not {}",
            start - sent + got
        );
        total += have;
    }
    ensure!(
        total == SUPPLY,
        "the balances add up to {total}, not {SUPPLY}"
    );
    gas.sort_unstable();
    Ok(Erc20Figures {
        transfers,
        blocks,
        time,
        gas_per_transfer: gas.get(gas.len() / 2).copied().unwrap_or_default(),
        deploy_gas,
        gas_by_charge,
    })
}

/// A transfer of `value` from `from` to `to`, its gas estimated.
fn transfer_message(
    devnet: &Devnet,
    from: Address,
    token: Address,
    to: &EthAddress,
    value: u64,
) -> anyhow::Result<Message> {
    let msg = eam::invoke_message(
        from,
        token,
        &calldata(TRANSFER, &[address_word(to), word(value)]),
        TokenAmount::default(),
    )?;
    Ok(devnet.estimate_gas(msg, &TokenAmount::default())?)
}

/// `msg` with the gas limit of a hand-out's estimate (a transfer that
/// fills a new storage slot, so enough for any here), and fees over the
/// devnet's base fee.
fn priced(msg: Message, gas_limit: u64) -> Message {
    Message {
        gas_limit,
        gas_fee_cap: TokenAmount::from_atto(1_000),
        gas_premium: TokenAmount::from_atto(500),
        ..msg
    }
}

#[cfg(test)]
mod tests {
    use fvm::gas::{Gas, GasCharge};
    use fvm::trace::ExecutionEvent;

    use super::{ChargeTotal, gas_by_charge};

    fn charge(name: &'static str, compute_milligas: u64, other: u64) -> ExecutionEvent {
        ExecutionEvent::GasCharge(GasCharge::new(
            name,
            Gas::from_milligas(compute_milligas),
            Gas::new(other),
        ))
    }

    #[test]
    fn charges_are_summed_by_name_largest_first() {
        let trace = vec![
            charge("wasm_exec", 1_500, 0),
            ExecutionEvent::Log("not a charge".into()),
            charge("OnBlockLink", 0, 10),
            charge("wasm_exec", 1_000, 1),
            charge("OnSyscall", 7_000, 0),
        ];
        let totals = gas_by_charge(&trace);
        let expect = |name: &str, count, gas| ChargeTotal {
            name: name.to_string(),
            count,
            gas,
        };
        assert_eq!(
            totals,
            vec![
                expect("OnBlockLink", 1, 10),
                expect("OnSyscall", 1, 7),
                // 2.5 gas of compute and 1 of other: 3.5, rounded up.
                expect("wasm_exec", 2, 4),
            ]
        );
        assert!(gas_by_charge(&[]).is_empty());
    }
}
