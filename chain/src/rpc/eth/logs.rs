//! Logs: the EVM actor's events as Ethereum logs, for receipts and
//! `eth_getLogs`.
//!
//! An event's `t1`..`t4` entries are its topics and `d` its data; its
//! address is the emitter's f410 (or masked ID). `logIndex` counts every
//! event of the block in execution order, so a log has the same index in a
//! receipt and in `eth_getLogs`.

use cid::Cid;
use fvm_shared::address::Address;
use fvm_shared::event::StampedEvent;
use serde_json::{Value, json};

use super::txs::block_hash;
use super::{EthError, block_number, hex, tipset_of};
use crate::devnet::Devnet;
use crate::eth::tx::EthTx;
use crate::eth::{EthAddress, keccak};

/// The most blocks one `eth_getLogs` reads (Lotus's default
/// `MaxFilterHeightRange`).
pub const MAX_RANGE: u64 = 2880;

/// An Ethereum log.
pub(super) struct Log {
    address: EthAddress,
    topics: Vec<Vec<u8>>,
    data: Vec<u8>,
}

/// Where a log is: its index in the block, its transaction and block.
pub(super) struct LogPlace<'a> {
    pub(super) log_index: u64,
    pub(super) tx_index: u64,
    pub(super) tx_hash: &'a [u8; 32],
    pub(super) block_hash: &'a [u8; 32],
    pub(super) number: u64,
}

impl Log {
    /// The log of event `ev`; `key` reads the emitter's address.
    pub(super) fn of(dn: &Devnet, ev: &StampedEvent, key: &[Cid]) -> Result<Self, EthError> {
        let f410 = dn
            .actor(&Address::new_id(ev.emitter), key)?
            .and_then(|a| a.delegated_address)
            .and_then(|a| EthAddress::from_filecoin(&a));
        let mut topics = Vec::new();
        let mut data = Vec::new();
        for e in &ev.event.entries {
            match e.key.as_str() {
                "t1" | "t2" | "t3" | "t4" => topics.push(e.value.clone()),
                "d" => data = e.value.clone(),
                _ => {}
            }
        }
        Ok(Self {
            address: f410.unwrap_or(EthAddress::from_id(ev.emitter)),
            topics,
            data,
        })
    }

    /// Adds the log's address and topics to a 2048-bit log bloom.
    pub(super) fn add_to_bloom(&self, bloom: &mut [u8; 256]) {
        add_to_bloom(bloom, &self.address.0);
        for t in &self.topics {
            add_to_bloom(bloom, t);
        }
    }

    pub(super) fn json(&self, at: &LogPlace) -> Value {
        json!({
            "address": self.address.to_hex(),
            "data": hex::data(&self.data),
            "topics": self.topics.iter().map(|t| hex::data(t)).collect::<Vec<_>>(),
            "removed": false,
            "logIndex": hex::quantity(at.log_index),
            "transactionIndex": hex::quantity(at.tx_index),
            "transactionHash": hex::data(at.tx_hash),
            "blockHash": hex::data(at.block_hash),
            "blockNumber": hex::quantity(at.number),
        })
    }
}

/// Ethereum's log bloom: three bits from keccak of each address and topic.
fn add_to_bloom(bloom: &mut [u8; 256], item: &[u8]) {
    let h = keccak(item);
    for i in [0, 2, 4] {
        let bit = ((usize::from(h[i]) << 8) | usize::from(h[i + 1])) & 2047;
        bloom[255 - bit / 8] |= 1 << (bit % 8);
    }
}

/// What `eth_getLogs` looks for.
struct Filter {
    from: u64,
    to: u64,
    addresses: Vec<EthAddress>,
    /// Per position: the topics allowed there (empty: any).
    topics: Vec<Vec<Vec<u8>>>,
}

impl Filter {
    fn parse(dn: &Devnet, v: &Value) -> Result<Self, EthError> {
        let o = v
            .as_object()
            .ok_or_else(|| EthError::params("the filter must be an object"))?;
        let latest = json!("latest");
        let (from, to) = match o.get("blockHash").filter(|h| !h.is_null()) {
            // EIP-234: one block, by hash, instead of a range.
            Some(h) => {
                if ["fromBlock", "toBlock"]
                    .iter()
                    .any(|k| o.get(*k).is_some_and(|v| !v.is_null()))
                {
                    return Err(EthError::params(
                        "a filter takes blockHash or fromBlock/toBlock, not both",
                    ));
                }
                let n = block_number(dn, &json!({ "blockHash": h }))?;
                (n, n)
            }
            None => (
                block_number(dn, o.get("fromBlock").unwrap_or(&latest))?,
                block_number(dn, o.get("toBlock").unwrap_or(&latest))?,
            ),
        };
        if from > to {
            return Err(EthError::params(format!(
                "fromBlock {from} is after toBlock {to}"
            )));
        }
        if to - from >= MAX_RANGE {
            return Err(EthError::refused(format!(
                "the range {from}..={to} exceeds {MAX_RANGE} blocks"
            )));
        }
        let address = |v: &Value| -> Result<EthAddress, EthError> {
            v.as_str()
                .ok_or_else(|| EthError::params("address must be a string"))?
                .parse()
                .map_err(EthError::params)
        };
        let addresses = match o.get("address") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(address).collect::<Result<_, _>>()?,
            Some(v) => vec![address(v)?],
        };
        let topic = |v: &Value| -> Result<Vec<u8>, EthError> {
            super::hex::parse_hash(
                v.as_str()
                    .ok_or_else(|| EthError::params("a topic must be a string"))?,
                "topic",
            )
            .map(|h| h.to_vec())
        };
        let topics = match o.get("topics") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|p| match p {
                    Value::Null => Ok(Vec::new()),
                    Value::Array(any) => any.iter().map(topic).collect(),
                    v => Ok(vec![topic(v)?]),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(EthError::params("topics must be an array")),
        };
        Ok(Self {
            from,
            to,
            addresses,
            topics,
        })
    }

    fn matches(&self, log: &Log) -> bool {
        (self.addresses.is_empty() || self.addresses.contains(&log.address))
            && self.topics.len() <= log.topics.len()
            && self
                .topics
                .iter()
                .zip(&log.topics)
                .all(|(allowed, t)| allowed.is_empty() || allowed.contains(t))
    }
}

/// `eth_getLogs`: the logs of blocks `fromBlock..=toBlock` that match.
pub(super) fn get_logs(dn: &Devnet, filter: &Value) -> Result<Value, EthError> {
    let f = Filter::parse(dn, filter)?;
    let chain_id = dn.settings().chain_id;
    let mut out = Vec::new();
    for n in f.from..=f.to {
        let ts = tipset_of(dn, n)?;
        let hash = block_hash(&ts)?;
        let key = tipset_of(dn, n + 1)?.key;
        let height = i64::try_from(n).map_err(|_| EthError::params("block out of range"))?;
        let mut log_index = 0u64;
        for (i, (cid, signed, events)) in dn.block_events(height)?.into_iter().enumerate() {
            // An Ethereum transaction's hash, else (as Lotus) the message
            // CID's digest.
            let tx_hash: [u8; 32] = match signed
                .and_then(|sm| EthTx::from_message(&sm.message, &sm.signature, chain_id).ok())
            {
                Some(tx) => tx.hash(),
                None => cid.hash().digest().try_into().unwrap_or([0; 32]),
            };
            for ev in &events {
                let log = Log::of(dn, ev, &key)?;
                if f.matches(&log) {
                    out.push(log.json(&LogPlace {
                        log_index,
                        tx_index: i as u64,
                        tx_hash: &tx_hash,
                        block_hash: &hash,
                        number: n,
                    }));
                }
                log_index += 1;
            }
        }
    }
    Ok(Value::Array(out))
}
