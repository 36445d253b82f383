//! Blocks and fees: `eth_getBlockByNumber`, `eth_getBlockByHash` and
//! `eth_feeHistory`.
//!
//! A block hash is the digest of the tipset key's CID (blake2b-256 over the
//! key's DAG-CBOR), so the hash gives back the CID, and the devnet keeps each
//! key as a block under it ([`Devnet::tipset_by_key_cid`]): a lookup by hash
//! is one read, and survives restarts.

use cid::Cid;
use cid::multihash::Multihash;
use fvm_ipld_encoding::DAG_CBOR;
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};

use super::txs::block_hash;
use super::{EthError, PRIORITY_FEE, block_number, hex, latest, tipset_of};
use crate::devnet::Devnet;
use crate::eth::EthAddress;
use crate::eth::tx::EthTx;
use crate::vm::BLOCK_GAS_LIMIT;

/// keccak-256 of the RLP of an empty list: an Ethereum block's uncle hash
/// when it has none.
const EMPTY_UNCLES: &str = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
/// The root of an empty trie (keccak-256 of the RLP of an empty string):
/// the transactions root Lotus gives a block without transactions (zero
/// when it has some), which some clients read as "no transactions".
const EMPTY_ROOT: &str = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

/// The gas the messages of Ethereum block `n` used (from the receipts in
/// the next tipset).
fn gas_used(dn: &Devnet, n: u64) -> Result<Vec<u64>, EthError> {
    let next = tipset_of(dn, n + 1)?;
    let Some(cid) = next.key.first() else {
        return Ok(Vec::new());
    };
    Ok(dn
        .parent_receipts(cid)?
        .iter()
        .map(|r| r.gas_used)
        .collect())
}

/// The multihash code of blake2b-256.
const BLAKE2B_256: u64 = 0xb220;

/// The Ethereum block number of the block whose hash is `hash`, if it is
/// one of this chain's executed blocks (at most `latest`: the head's own
/// messages have not run yet, so it is no Ethereum block so far).
pub(super) fn number_of_hash(dn: &Devnet, hash: &[u8; 32]) -> Result<Option<u64>, EthError> {
    let digest = Multihash::<64>::wrap(BLAKE2B_256, hash)
        .map_err(|e| EthError::params(format!("block hash: {e}")))?;
    let Some(ts) = dn.tipset_by_key_cid(&Cid::new_v1(DAG_CBOR, digest))? else {
        return Ok(None);
    };
    Ok(u64::try_from(ts.height()).ok().filter(|n| *n <= latest(dn)))
}

/// `eth_getBlockByNumber`: the block's Ethereum transactions (the
/// Delegated-signed messages), as hashes or objects.
pub(super) fn block_by_number(dn: &Devnet, block: &Value, full: bool) -> Result<Value, EthError> {
    let n = block_number(dn, block)?;
    block_json(dn, n, full)
}

/// `eth_getBlockByHash`: as [`block_by_number`]; `null` for a hash that
/// names no block of this chain.
pub(super) fn block_by_hash(dn: &Devnet, hash: &[u8; 32], full: bool) -> Result<Value, EthError> {
    match number_of_hash(dn, hash)? {
        Some(n) => block_json(dn, n, full),
        None => Ok(Value::Null),
    }
}

/// Ethereum block `n` (at most `latest`).
fn block_json(dn: &Devnet, n: u64, full: bool) -> Result<Value, EthError> {
    let ts = tipset_of(dn, n)?;
    let header = ts
        .blocks
        .first()
        .ok_or_else(|| EthError::refused("empty tipset"))?;
    let hash = block_hash(&ts)?;
    let parent = if header.parents.is_empty() {
        [0u8; 32]
    } else {
        block_hash(&dn.tipset(&header.parents)?)?
    };
    let used: u64 = gas_used(dn, n)?.iter().sum();
    let (bls, secp) = dn.block_signed_messages(header)?;
    let chain_id = dn.settings().chain_id;
    let mut txs = Vec::new();
    for (i, (_, sm)) in secp.iter().enumerate() {
        let Ok(tx) = EthTx::from_message(&sm.message, &sm.signature, chain_id) else {
            continue; // a Filecoin message
        };
        if full {
            let Some(from) = EthAddress::from_filecoin(&sm.message.from) else {
                continue;
            };
            txs.push(super::txs::tx_json_at(&tx, from, &ts, hash, bls + i as u64));
        } else {
            txs.push(json!(hex::data(&tx.hash())));
        }
    }
    Ok(json!({
        "hash": hex::data(&hash),
        "parentHash": hex::data(&parent),
        "sha3Uncles": EMPTY_UNCLES,
        "miner": header.miner.id().map(|id| EthAddress::from_id(id).to_hex()).unwrap_or_default(),
        "stateRoot": hex::data(&[0u8; 32]),
        "transactionsRoot": if txs.is_empty() {
            EMPTY_ROOT.to_string()
        } else {
            hex::data(&[0u8; 32])
        },
        "receiptsRoot": hex::data(&[0u8; 32]),
        // As Lotus: a full bloom (every bit set), since the block's logs
        // are not gathered here; an empty one would tell a client that
        // filters by bloom that the block has no logs.
        "logsBloom": hex::data(&[0xff; 256]),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "number": hex::quantity(n),
        "gasLimit": hex::quantity(BLOCK_GAS_LIMIT),
        "gasUsed": hex::quantity(used),
        "timestamp": hex::quantity(header.timestamp),
        "extraData": "0x",
        "mixHash": hex::data(&[0u8; 32]),
        "nonce": "0x0000000000000000",
        "baseFeePerGas": hex::amount(&header.parent_base_fee),
        "size": "0x0",
        "transactions": txs,
        "uncles": [],
    }))
}

/// `eth_feeHistory`: base fees, gas used ratios and, for each percentile,
/// the priority fee paid at it (gas-weighted), over `count` blocks up to
/// `newest`.
pub(super) fn fee_history(
    dn: &Devnet,
    count: u64,
    newest: &Value,
    percentiles: &[f64],
) -> Result<Value, EthError> {
    if percentiles.windows(2).any(|w| w[0] > w[1])
        || percentiles.iter().any(|p| !(0.0..=100.0).contains(p))
    {
        return Err(EthError::params(
            "reward percentiles must rise, from 0 to 100",
        ));
    }
    let newest = block_number(dn, newest)?;
    let count = count.min(1024).min(newest + 1);
    let oldest = newest + 1 - count;
    let mut base_fees = Vec::new();
    let mut ratios = Vec::new();
    let mut rewards = Vec::new();
    for n in oldest..=newest {
        let ts = tipset_of(dn, n)?;
        let header = ts
            .blocks
            .first()
            .ok_or_else(|| EthError::refused("empty tipset"))?;
        base_fees.push(hex::amount(&header.parent_base_fee));
        let used = gas_used(dn, n)?;
        ratios.push(used.iter().sum::<u64>() as f64 / BLOCK_GAS_LIMIT as f64);
        if !percentiles.is_empty() {
            let (bls, secp) = dn.block_signed_messages(header)?;
            let mut paid: Vec<(TokenAmount, u64)> = secp
                .iter()
                .enumerate()
                .map(|(i, (_, sm))| {
                    let m = &sm.message;
                    let tip = (m.gas_fee_cap.clone() - header.parent_base_fee.clone())
                        .min(m.gas_premium.clone())
                        .max(TokenAmount::default());
                    let gas = used.get(bls as usize + i).copied().unwrap_or_default();
                    (tip, gas)
                })
                .collect();
            paid.sort();
            rewards.push(
                percentiles
                    .iter()
                    .map(|p| hex::amount(&at_percentile(&paid, *p)))
                    .collect::<Vec<_>>(),
            );
        }
    }
    let next = tipset_of(dn, newest + 1)?;
    if let Some(b) = next.blocks.first() {
        base_fees.push(hex::amount(&b.parent_base_fee));
    }
    let mut out = json!({
        "oldestBlock": hex::quantity(oldest),
        "baseFeePerGas": base_fees,
        "gasUsedRatio": ratios,
    });
    if !percentiles.is_empty() {
        out["reward"] = json!(rewards);
    }
    Ok(out)
}

/// The tip at gas-weighted percentile `p` of `paid` (sorted by tip); an
/// empty block gives the devnet's suggested priority fee, as Lotus gives
/// its minimum premium.
fn at_percentile(paid: &[(TokenAmount, u64)], p: f64) -> TokenAmount {
    let total: u64 = paid.iter().map(|(_, g)| g).sum();
    let Some(last) = paid.last() else {
        return TokenAmount::from_atto(PRIORITY_FEE);
    };
    let threshold = (total as f64 * p / 100.0) as u64;
    let mut sum = 0;
    for (tip, gas) in paid {
        sum += gas;
        if sum >= threshold {
            return tip.clone();
        }
    }
    last.0.clone()
}
