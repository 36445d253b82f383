//! Transactions: `eth_sendRawTransaction`, `eth_getTransactionByHash` and
//! `eth_getTransactionReceipt` (logs from the EVM actor's events).

use cid::Cid;
use fvm_ipld_encoding::CborStore;
use fvm_shared::bigint::{BigInt, Sign};
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};

use super::logs::{Log, LogPlace};
use super::{EthError, hex};
use crate::block::TipSet;
use crate::devnet::Devnet;
use crate::eth::EthAddress;
use crate::eth::tx::{EthTx, MAX_TX_SIZE, TxError, TxKind};
use crate::message::SignedMessage;

impl From<TxError> for EthError {
    fn from(e: TxError) -> Self {
        EthError::refused(e)
    }
}

/// Checks a signed transaction and hands its message to the pool; its hash.
pub(super) fn send_raw(dn: &Devnet, raw: &[u8]) -> Result<Value, EthError> {
    if raw.len() > MAX_TX_SIZE {
        return Err(TxError::TooLarge { size: raw.len() }.into());
    }
    let tx = EthTx::decode(raw)?;
    tx.check_chain(dn.settings().chain_id)?;
    let from = tx.sender()?.to_filecoin();
    let sm = SignedMessage {
        message: tx.to_message(from)?,
        signature: tx.signature(),
    };
    dn.push(sm)?;
    Ok(json!(hex::data(&tx.hash())))
}

/// The Ethereum block hash of a tipset: its key CID's digest.
pub(super) fn block_hash(ts: &TipSet) -> Result<[u8; 32], EthError> {
    let cid = ts
        .key_cid()
        .map_err(|e| EthError::refused(format!("tipset key: {e:#}")))?;
    cid.hash()
        .digest()
        .try_into()
        .map_err(|_| EthError::refused("tipset key CID's digest is not 32 bytes"))
}

/// Where an executed message is: its block (the including tipset), and
/// its index there.
struct Location {
    block: TipSet,
    hash: [u8; 32],
    index: u64,
}

fn included(dn: &Devnet, executed: &TipSet, index: u64) -> Result<Location, EthError> {
    let parents = executed
        .blocks
        .first()
        .map(|b| b.parents.clone())
        .unwrap_or_default();
    let block = dn.tipset(&parents)?;
    let hash = block_hash(&block)?;
    Ok(Location { block, hash, index })
}

fn signed_message(dn: &Devnet, cid: &Cid) -> Result<Option<SignedMessage>, EthError> {
    if let Some(sm) = dn
        .blockstore()
        .get_cbor::<SignedMessage>(cid)
        .map_err(|e| EthError::refused(format!("read message {cid}: {e:#}")))?
    {
        return Ok(Some(sm));
    }
    Ok(dn
        .pending()
        .into_iter()
        .find(|sm| sm.cid().ok().as_ref() == Some(cid)))
}

/// The transaction of a message, and its sender's Ethereum address.
fn rebuild(dn: &Devnet, sm: &SignedMessage) -> Result<(EthTx, EthAddress), EthError> {
    let tx = EthTx::from_message(&sm.message, &sm.signature, dn.settings().chain_id)?;
    let from = EthAddress::from_filecoin(&sm.message.from)
        .ok_or_else(|| EthError::refused(format!("sender {} is not an f410", sm.message.from)))?;
    Ok((tx, from))
}

fn word(w: &[u8; 32]) -> String {
    hex::big(&BigInt::from_bytes_be(Sign::Plus, w))
}

fn tx_json(tx: &EthTx, from: EthAddress, at: Option<&Location>) -> Value {
    let mut v = json!({
        "chainId": hex::quantity(tx.chain_id),
        "nonce": hex::quantity(tx.nonce),
        "hash": hex::data(&tx.hash()),
        "blockHash": at.map(|l| hex::data(&l.hash)),
        "blockNumber": at.map(|l| hex::quantity(u64::try_from(l.block.height()).unwrap_or_default())),
        "transactionIndex": at.map(|l| hex::quantity(l.index)),
        "from": from.to_hex(),
        "to": tx.to.map(|a| a.to_hex()),
        "value": hex::amount(&tx.value),
        "type": hex::quantity(u64::from(tx.kind.type_number())),
        "input": hex::data(&tx.input),
        "gas": hex::quantity(tx.gas_limit),
        "accessList": [],
        "v": hex::big(&BigInt::from(tx.v)),
        "r": word(&tx.r),
        "s": word(&tx.s),
    });
    match tx.kind {
        TxKind::Eip1559 => {
            v["maxFeePerGas"] = json!(hex::amount(&tx.max_fee_per_gas));
            v["maxPriorityFeePerGas"] = json!(hex::amount(&tx.max_priority_fee_per_gas));
        }
        TxKind::Legacy155 => v["gasPrice"] = json!(hex::amount(&tx.max_fee_per_gas)),
    }
    v
}

/// A transaction's object in block `ts` (whose hash is `hash`) at `index`.
pub(super) fn tx_json_at(
    tx: &EthTx,
    from: EthAddress,
    ts: &TipSet,
    hash: [u8; 32],
    index: u64,
) -> Value {
    let at = Location {
        block: ts.clone(),
        hash,
        index,
    };
    tx_json(tx, from, Some(&at))
}

/// `eth_getTransactionByHash`: null for an unknown hash.
pub(super) fn transaction(dn: &Devnet, hash: &[u8; 32]) -> Result<Value, EthError> {
    let Some(cid) = dn.eth_tx_cid(hash)? else {
        return Ok(Value::Null);
    };
    let Some(sm) = signed_message(dn, &cid)? else {
        return Ok(Value::Null);
    };
    let (tx, from) = rebuild(dn, &sm)?;
    let at = match dn.search(&cid)? {
        Some(found) => Some(included(dn, &found.tipset, found.index)?),
        None => None,
    };
    Ok(tx_json(&tx, from, at.as_ref()))
}

/// `eth_getTransactionReceipt`: null until the transaction has executed.
pub(super) fn receipt(dn: &Devnet, hash: &[u8; 32]) -> Result<Value, EthError> {
    let Some(cid) = dn.eth_tx_cid(hash)? else {
        return Ok(Value::Null);
    };
    let Some(found) = dn.search(&cid)? else {
        return Ok(Value::Null);
    };
    let Some(sm) = signed_message(dn, &cid)? else {
        return Ok(Value::Null);
    };
    let (tx, from) = rebuild(dn, &sm)?;
    let at = included(dn, &found.tipset, found.index)?;
    let number = u64::try_from(at.block.height()).unwrap_or_default();
    let ok = found.receipt.exit_code.is_success();
    let contract = match (tx.to, ok) {
        (None, true) => {
            let r = crate::eth::eam::decode_create(found.receipt.return_data.bytes())
                .map_err(|e| EthError::refused(format!("{e:#}")))?;
            Some(hex::data(&r.eth_address))
        }
        _ => None,
    };
    let base_fee = at
        .block
        .blocks
        .first()
        .map(|b| b.parent_base_fee.clone())
        .unwrap_or_default();
    let tip = (tx.max_fee_per_gas.clone() - base_fee.clone())
        .min(tx.max_priority_fee_per_gas.clone())
        .max(TokenAmount::default());
    let (_, ret, events_before) = dn.replay_in_block(&cid)?;
    let mut bloom = [0u8; 256];
    let mut logs = Vec::new();
    for (i, ev) in ret.events.iter().enumerate() {
        let log = Log::of(dn, ev, &found.tipset.key)?;
        log.add_to_bloom(&mut bloom);
        logs.push(log.json(&LogPlace {
            log_index: (events_before + i) as u64,
            tx_index: at.index,
            tx_hash: hash,
            block_hash: &at.hash,
            number,
        }));
    }
    Ok(json!({
        "transactionHash": hex::data(hash),
        "transactionIndex": hex::quantity(at.index),
        "blockHash": hex::data(&at.hash),
        "blockNumber": hex::quantity(number),
        "from": from.to_hex(),
        "to": tx.to.map(|a| a.to_hex()),
        "root": hex::data(&[0u8; 32]),
        "status": hex::quantity(u64::from(ok)),
        "contractAddress": contract,
        "cumulativeGasUsed": hex::quantity(0),
        "gasUsed": hex::quantity(found.receipt.gas_used),
        "effectiveGasPrice": hex::amount(&(base_fee + tip)),
        "logsBloom": hex::data(&bloom),
        "logs": logs,
        "type": hex::quantity(u64::from(tx.kind.type_number())),
    }))
}
