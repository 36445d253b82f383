//! The Ethereum JSON-RPC on `/rpc/v1`, as Lotus serves it: `eth_*`,
//! `net_version`, `web3_clientVersion` (each also under Lotus's
//! `Filecoin.Eth*` name), and the `Filecoin.EthAddressToFilecoinAddress` /
//! `FilecoinAddressToEthAddress` helpers. All need `read`, as in Lotus.
//!
//! Blocks are tipsets (one block each on the devnet). Ethereum block N is
//! tipset N; its hash is the blake2b-256 digest of the tipset key's CID; its
//! state (what `eth_getBalance` and `eth_call` read at N) is the state after
//! its messages, tipset N+1's parent state. `latest` is the head's parent,
//! the newest block whose messages have executed (Lotus's rule); `pending`
//! reads as `latest`. A transaction is found by its hash once the pool took
//! it ([`crate::devnet::Devnet::eth_tx_cid`]) and shows in a block once it
//! has executed, as Lotus's `StateSearchMsg` finds it.

mod blocks;
pub mod hex;
mod logs;
mod txs;

use cid::Cid;
use fvm_ipld_encoding::{BytesDe, BytesSer, CborStore, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use serde_json::{Value, json};

use super::json::AddressJson;
use super::server::{LotusMethods, RpcError};
use crate::ChainError;
use crate::block::TipSet;
use crate::devnet::Devnet;
use crate::eth::EthAddress;
use crate::eth::address::EAM_ID;
use crate::eth::tx::{CREATE_EXTERNAL, INVOKE_CONTRACT};
use crate::vm::BLOCK_GAS_LIMIT;

/// The methods, by their Ethereum name and Lotus's `Filecoin.` name.
pub const METHODS: &[(&str, &str)] = &[
    ("eth_chainId", "Filecoin.EthChainId"),
    ("net_version", "Filecoin.NetVersion"),
    ("web3_clientVersion", "Filecoin.Web3ClientVersion"),
    ("eth_blockNumber", "Filecoin.EthBlockNumber"),
    ("eth_getBalance", "Filecoin.EthGetBalance"),
    ("eth_getTransactionCount", "Filecoin.EthGetTransactionCount"),
    ("eth_getCode", "Filecoin.EthGetCode"),
    ("eth_getStorageAt", "Filecoin.EthGetStorageAt"),
    ("eth_call", "Filecoin.EthCall"),
    ("eth_estimateGas", "Filecoin.EthEstimateGas"),
    ("eth_sendRawTransaction", "Filecoin.EthSendRawTransaction"),
    (
        "eth_getTransactionByHash",
        "Filecoin.EthGetTransactionByHash",
    ),
    (
        "eth_getTransactionReceipt",
        "Filecoin.EthGetTransactionReceipt",
    ),
    ("eth_gasPrice", "Filecoin.EthGasPrice"),
    (
        "eth_maxPriorityFeePerGas",
        "Filecoin.EthMaxPriorityFeePerGas",
    ),
    ("eth_feeHistory", "Filecoin.EthFeeHistory"),
    ("eth_getBlockByNumber", "Filecoin.EthGetBlockByNumber"),
    ("eth_getBlockByHash", "Filecoin.EthGetBlockByHash"),
    ("eth_getLogs", "Filecoin.EthGetLogs"),
    (
        "EthAddressToFilecoinAddress",
        "Filecoin.EthAddressToFilecoinAddress",
    ),
    (
        "FilecoinAddressToEthAddress",
        "Filecoin.FilecoinAddressToEthAddress",
    ),
];

/// The priority fee the devnet suggests (what `GasEstimateMessageGas`
/// gives a message without one).
pub const PRIORITY_FEE: u64 = 100_000;

/// The EVM actor's `GetBytecode` and `GetStorageAt`.
const GET_BYTECODE: u64 = 3;
const GET_STORAGE_AT: u64 = 5;

/// The Ethereum name of `method` (either of its names), if it is one of these.
pub fn lookup(method: &str) -> Option<&'static str> {
    METHODS
        .iter()
        .find(|(eth, lotus)| *eth == method || *lotus == method)
        .map(|(eth, _)| *eth)
}

/// A JSON-RPC error, with Ethereum's `data` (a revert's return data).
#[derive(Debug)]
pub struct EthError {
    /// The code: 1 for a refused request (as Lotus), 3 for a reverted
    /// execution, -32602 for bad parameters.
    pub code: i64,
    /// What went wrong.
    pub message: String,
    /// The revert data, as 0x data.
    pub data: Option<String>,
}

impl EthError {
    fn params(message: impl Into<String>) -> Self {
        Self {
            code: -32602,
            message: message.into(),
            data: None,
        }
    }

    fn refused(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
            data: None,
        }
    }
}

impl From<ChainError> for EthError {
    fn from(e: ChainError) -> Self {
        Self::refused(e)
    }
}

impl From<RpcError> for EthError {
    fn from(e: RpcError) -> Self {
        Self {
            code: e.code,
            message: e.message,
            data: None,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EthError> + Send + 'static,
) -> Result<T, EthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EthError::refused(format!("task failed: {e}")))?
}

fn param(params: &[Value], i: usize) -> Value {
    params.get(i).cloned().unwrap_or(Value::Null)
}

fn param_str<'a>(params: &'a [Value], i: usize, what: &str) -> Result<&'a str, EthError> {
    params
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| EthError::params(format!("{what} (parameter {i}) must be a string")))
}

fn param_address(params: &[Value], i: usize) -> Result<EthAddress, EthError> {
    param_str(params, i, "address")?
        .parse()
        .map_err(EthError::params)
}

/// Runs `method` (its Ethereum name, from [`lookup`]).
pub async fn call(
    lotus: &LotusMethods,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, EthError> {
    let dn = lotus.devnet.clone();
    let chain_id = dn.settings().chain_id;
    match method {
        "eth_chainId" => Ok(json!(hex::quantity(chain_id))),
        "net_version" => Ok(json!(chain_id.to_string())),
        "web3_clientVersion" => Ok(json!(concat!(
            "ferrite/",
            env!("CARGO_PKG_VERSION"),
            "+devnet"
        ))),
        "eth_blockNumber" => Ok(json!(hex::quantity(latest(&dn)))),
        "eth_gasPrice" => {
            let price = dn.settings().base_fee.clone() + TokenAmount::from_atto(PRIORITY_FEE);
            Ok(json!(hex::amount(&price)))
        }
        "eth_maxPriorityFeePerGas" => Ok(json!(hex::quantity(PRIORITY_FEE))),
        "eth_getBalance" => {
            let addr = param_address(&params, 0)?;
            let block = param(&params, 1);
            blocking(move || {
                let key = state_key(&dn, &block)?;
                let balance = dn
                    .actor(&addr.to_filecoin(), &key)?
                    .map(|a| a.balance)
                    .unwrap_or_default();
                Ok(json!(hex::amount(&balance)))
            })
            .await
        }
        "eth_getTransactionCount" => {
            let addr = param_address(&params, 0)?;
            let block = param(&params, 1);
            blocking(move || {
                let f = addr.to_filecoin();
                if block.as_str() == Some("pending") {
                    return Ok(json!(hex::quantity(dn.next_nonce(&f)?)));
                }
                let key = state_key(&dn, &block)?;
                let nonce = dn.actor(&f, &key)?.map(|a| a.sequence).unwrap_or_default();
                Ok(json!(hex::quantity(nonce)))
            })
            .await
        }
        "eth_getCode" => {
            let addr = param_address(&params, 0)?;
            let block = param(&params, 1);
            blocking(move || get_code(&dn, addr, &block)).await
        }
        "eth_getStorageAt" => {
            let addr = param_address(&params, 0)?;
            let slot = hex::parse_data(param_str(&params, 1, "position")?, "position")?;
            if slot.len() > 32 {
                return Err(EthError::params("position exceeds 32 bytes"));
            }
            let block = param(&params, 2);
            blocking(move || get_storage_at(&dn, addr, &slot, &block)).await
        }
        "eth_call" => {
            let tx = CallTx::parse(&param(&params, 0))?;
            let block = param(&params, 1);
            blocking(move || eth_call(&dn, tx, &block)).await
        }
        "eth_estimateGas" => {
            let tx = CallTx::parse(&param(&params, 0))?;
            blocking(move || estimate_gas(&dn, &tx)).await
        }
        "eth_sendRawTransaction" => {
            let raw =
                hex::parse_data(param_str(&params, 0, "raw transaction")?, "raw transaction")?;
            blocking(move || txs::send_raw(&dn, &raw)).await
        }
        "eth_getTransactionByHash" => {
            let hash = hex::parse_hash(param_str(&params, 0, "hash")?, "hash")?;
            blocking(move || txs::transaction(&dn, &hash)).await
        }
        "eth_getTransactionReceipt" => {
            let hash = hex::parse_hash(param_str(&params, 0, "hash")?, "hash")?;
            blocking(move || txs::receipt(&dn, &hash)).await
        }
        "eth_feeHistory" => {
            let count = hex::parse_quantity(&param(&params, 0), "block count")?;
            let newest = param(&params, 1);
            let percentiles: Vec<f64> = match param(&params, 2) {
                Value::Null => Vec::new(),
                v => serde_json::from_value(v)
                    .map_err(|e| EthError::params(format!("reward percentiles: {e}")))?,
            };
            blocking(move || blocks::fee_history(&dn, count, &newest, &percentiles)).await
        }
        "eth_getBlockByNumber" => {
            let block = param(&params, 0);
            let full = param(&params, 1).as_bool().unwrap_or(false);
            blocking(move || blocks::block_by_number(&dn, &block, full)).await
        }
        "eth_getBlockByHash" => {
            let hash = hex::parse_hash(param_str(&params, 0, "block hash")?, "block hash")?;
            let full = param(&params, 1).as_bool().unwrap_or(false);
            blocking(move || blocks::block_by_hash(&dn, &hash, full)).await
        }
        "eth_getLogs" => {
            let filter = param(&params, 0);
            blocking(move || logs::get_logs(&dn, &filter)).await
        }
        "EthAddressToFilecoinAddress" => {
            let addr = param_address(&params, 0)?;
            Ok(serde_json::to_value(AddressJson(addr.to_filecoin()))
                .map_err(|e| EthError::refused(format!("encode result: {e}")))?)
        }
        "FilecoinAddressToEthAddress" => {
            let AddressJson(addr) = serde_json::from_value(param(&params, 0))
                .map_err(|e| EthError::params(format!("address: {e}")))?;
            blocking(move || {
                if let Some(a) = EthAddress::from_filecoin(&addr) {
                    return Ok(json!(a.to_hex()));
                }
                let id = dn
                    .lookup_id(&addr, &[])?
                    .and_then(|a| a.id().ok())
                    .ok_or_else(|| EthError::refused(format!("actor {addr} not found")))?;
                Ok(json!(EthAddress::from_id(id).to_hex()))
            })
            .await
        }
        m => Err(EthError {
            code: -32601,
            message: format!("method '{m}' not found"),
            data: None,
        }),
    }
}

/// The newest block whose messages have executed: the head's parent.
fn latest(dn: &Devnet) -> u64 {
    u64::try_from(dn.head().height() - 1).unwrap_or_default()
}

/// The Ethereum block a block parameter names (see the module docs).
fn block_number(dn: &Devnet, block: &Value) -> Result<u64, EthError> {
    let latest = latest(dn);
    let n = match block {
        Value::Null => latest,
        Value::String(s) => match s.as_str() {
            "latest" | "pending" | "safe" | "finalized" => latest,
            "earliest" => 0,
            _ => hex::parse_quantity(block, "block number")?,
        },
        // EIP-1898. This chain has no forks, so `requireCanonical` holds.
        Value::Object(o) => match (o.get("blockNumber"), o.get("blockHash")) {
            (Some(n), None) => hex::parse_quantity(n, "blockNumber")?,
            (None, Some(h)) => {
                let text = h
                    .as_str()
                    .ok_or_else(|| EthError::params("blockHash must be a string"))?;
                let hash = hex::parse_hash(text, "blockHash")?;
                blocks::number_of_hash(dn, &hash)?
                    .ok_or_else(|| EthError::refused(format!("block {text} not found")))?
            }
            _ => {
                return Err(EthError::params(
                    "block parameter needs one of blockNumber and blockHash",
                ));
            }
        },
        v => return Err(EthError::params(format!("invalid block parameter {v}"))),
    };
    if n > latest {
        return Err(EthError::refused(format!(
            "requested a future epoch (beyond 'latest'): {n} > {latest}"
        )));
    }
    Ok(n)
}

/// The tipset of Ethereum block `n`.
fn tipset_of(dn: &Devnet, n: u64) -> Result<TipSet, EthError> {
    let h = i64::try_from(n).map_err(|_| EthError::params("block number out of range"))?;
    Ok(dn.tipset_at(h)?)
}

/// The key of the tipset whose parent state is the state after `block`.
fn state_key(dn: &Devnet, block: &Value) -> Result<Vec<Cid>, EthError> {
    let n = block_number(dn, block)?;
    Ok(tipset_of(dn, n + 1)?.key)
}

/// The name of the builtin actor whose code is `code` (from the system
/// actor's manifest), if any.
fn builtin_name(dn: &Devnet, code: &Cid, key: &[Cid]) -> Result<Option<String>, EthError> {
    #[derive(serde_tuple::Deserialize_tuple)]
    struct SystemState {
        builtin_actors: Cid,
    }
    let Some(system) = dn.actor(&Address::new_id(0), key)? else {
        return Ok(None);
    };
    let bs = dn.blockstore();
    let internal = |e: anyhow::Error| EthError::refused(format!("read manifest: {e:#}"));
    let st: Option<SystemState> = bs.get_cbor(&system.state).map_err(internal)?;
    let Some(st) = st else { return Ok(None) };
    let manifest: Option<Vec<(String, Cid)>> = bs.get_cbor(&st.builtin_actors).map_err(internal)?;
    Ok(manifest
        .unwrap_or_default()
        .into_iter()
        .find(|(_, c)| c == code)
        .map(|(n, _)| n))
}

/// Runs `msg` on the state `key` reads, from its sender's nonce there (see
/// [`Devnet::call`]); a failure is Ethereum's revert error (code 3) with
/// the return data.
fn run(dn: &Devnet, mut msg: Message, key: &[Cid]) -> Result<Vec<u8>, EthError> {
    // A chain whose genesis predates the zero address's account calls from
    // the system actor, as it always did.
    if msg.from == EthAddress([0; 20]).to_filecoin() && dn.actor(&msg.from, key)?.is_none() {
        msg.from = Address::new_id(0);
    }
    let method = msg.method_num;
    let ret = dn.call(msg, key)?;
    let raw = ret.msg_receipt.return_data.to_vec();
    let bytes = if method == INVOKE_CONTRACT {
        match fvm_ipld_encoding::from_slice::<BytesDe>(&raw) {
            Ok(BytesDe(b)) => b,
            Err(_) => raw,
        }
    } else {
        raw
    };
    if !ret.msg_receipt.exit_code.is_success() {
        return Err(EthError {
            code: 3,
            message: format!(
                "message execution failed (exit=[{}], vm error=[{}])",
                ret.msg_receipt.exit_code,
                ret.failure_info.map(|f| f.to_string()).unwrap_or_default()
            ),
            data: Some(hex::data(&bytes)),
        });
    }
    Ok(bytes)
}

/// An implicit call from the system actor (as Lotus reads contract state).
fn system_call(to: Address, method_num: u64, params: RawBytes) -> Message {
    Message {
        version: 0,
        from: Address::new_id(0),
        to,
        sequence: 0,
        value: TokenAmount::default(),
        method_num,
        params,
        gas_limit: BLOCK_GAS_LIMIT,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
    }
}

fn is_evm(dn: &Devnet, addr: &Address, key: &[Cid]) -> Result<bool, EthError> {
    let Some(actor) = dn.actor(addr, key)? else {
        return Ok(false);
    };
    Ok(builtin_name(dn, &actor.code, key)?.as_deref() == Some("evm"))
}

fn get_code(dn: &Devnet, addr: EthAddress, block: &Value) -> Result<Value, EthError> {
    let key = state_key(dn, block)?;
    let f = addr.to_filecoin();
    if !is_evm(dn, &f, &key)? {
        return Ok(json!("0x"));
    }
    let ret = run(dn, system_call(f, GET_BYTECODE, RawBytes::default()), &key)?;
    let cid: Option<Cid> = fvm_ipld_encoding::from_slice(&ret)
        .map_err(|e| EthError::refused(format!("GetBytecode returned {}: {e}", hex::data(&ret))))?;
    let Some(cid) = cid else {
        return Ok(json!("0x"));
    };
    let code = fvm_ipld_blockstore::Blockstore::get(dn.blockstore(), &cid)
        .map_err(|e| EthError::refused(format!("read bytecode: {e:#}")))?
        .ok_or_else(|| EthError::refused(format!("bytecode {cid} missing")))?;
    Ok(json!(hex::data(&code)))
}

fn get_storage_at(
    dn: &Devnet,
    addr: EthAddress,
    slot: &[u8],
    block: &Value,
) -> Result<Value, EthError> {
    let key = state_key(dn, block)?;
    let f = addr.to_filecoin();
    if !is_evm(dn, &f, &key)? {
        return Ok(json!(hex::data(&[0u8; 32])));
    }
    let skip = slot.iter().take_while(|b| **b == 0).count();
    let params = RawBytes::serialize((BytesSer(&slot[skip..]),))
        .map_err(|e| EthError::refused(format!("encode params: {e}")))?;
    let ret = run(dn, system_call(f, GET_STORAGE_AT, params), &key)?;
    let BytesDe(v) = fvm_ipld_encoding::from_slice(&ret).map_err(|e| {
        EthError::refused(format!("GetStorageAt returned {}: {e}", hex::data(&ret)))
    })?;
    if v.len() > 32 {
        return Err(EthError::refused(
            "GetStorageAt returned more than 32 bytes",
        ));
    }
    let mut word = [0u8; 32];
    word[32 - v.len()..].copy_from_slice(&v);
    Ok(json!(hex::data(&word)))
}

fn eth_call(dn: &Devnet, tx: CallTx, block: &Value) -> Result<Value, EthError> {
    let key = state_key(dn, block)?;
    let mut msg = tx.message()?;
    if msg.gas_limit == 0 {
        msg.gas_limit = BLOCK_GAS_LIMIT;
    }
    let create = msg.to == Address::new_id(EAM_ID);
    let ret = run(dn, msg, &key)?;
    // As Lotus: a creation's call returns nothing.
    Ok(json!(hex::data(if create { &[] } else { &ret })))
}

/// `eth_estimateGas`. A failed estimate is run again as `eth_call` runs it,
/// so that a revert comes back with its data (code 3), as Lotus does it.
fn estimate_gas(dn: &Devnet, tx: &CallTx) -> Result<Value, EthError> {
    let failed = match dn.estimate_eth_gas(tx.message()?) {
        Ok(gas) => return Ok(json!(hex::quantity(gas))),
        Err(e) => e,
    };
    let mut msg = tx.message()?;
    msg.gas_limit = BLOCK_GAS_LIMIT;
    let key = state_key(dn, &Value::Null)?;
    match run(dn, msg, &key) {
        Err(reverted @ EthError { data: Some(_), .. }) => Err(reverted),
        _ => Err(EthError {
            code: 3,
            message: failed.to_string(),
            data: None,
        }),
    }
}

/// The transaction object of `eth_call` and `eth_estimateGas`.
#[derive(Debug)]
struct CallTx {
    from: Option<EthAddress>,
    to: Option<EthAddress>,
    gas: Option<u64>,
    value: TokenAmount,
    input: Vec<u8>,
}

impl CallTx {
    fn parse(v: &Value) -> Result<Self, EthError> {
        let o = v
            .as_object()
            .ok_or_else(|| EthError::params("the transaction must be an object"))?;
        let addr = |k: &str| -> Result<Option<EthAddress>, EthError> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => s.parse().map(Some).map_err(EthError::params),
                Some(v) => Err(EthError::params(format!("{k}: {v} is not an address"))),
            }
        };
        let text = |k: &str| o.get(k).and_then(Value::as_str);
        let input = match (text("input"), text("data")) {
            (Some(s), _) | (None, Some(s)) => hex::parse_data(s, "input")?,
            (None, None) => Vec::new(),
        };
        Ok(Self {
            from: addr("from")?,
            to: addr("to")?,
            gas: o
                .get("gas")
                .filter(|v| !v.is_null())
                .map(|v| hex::parse_quantity(v, "gas"))
                .transpose()?,
            value: text("value")
                .map(|s| hex::parse_amount(s, "value"))
                .transpose()?
                .unwrap_or_default(),
            input,
        })
    }

    /// The message, as Lotus builds it: from the sender (the Ethereum zero
    /// address, an account genesis creates, when none is given or it is
    /// zero), to the recipient's `InvokeContract` or the EAM's
    /// `CreateExternal`.
    fn message(&self) -> Result<Message, EthError> {
        let cbor = |b: &[u8]| {
            RawBytes::serialize(BytesSer(b))
                .map_err(|e| EthError::refused(format!("encode params: {e}")))
        };
        let (to, method_num, params) = match self.to {
            None => (Address::new_id(EAM_ID), CREATE_EXTERNAL, cbor(&self.input)?),
            Some(a) if self.input.is_empty() => {
                (a.to_filecoin(), INVOKE_CONTRACT, RawBytes::default())
            }
            Some(a) => (a.to_filecoin(), INVOKE_CONTRACT, cbor(&self.input)?),
        };
        Ok(Message {
            version: 0,
            from: self.from.unwrap_or(EthAddress([0; 20])).to_filecoin(),
            to,
            sequence: 0,
            value: self.value.clone(),
            method_num,
            params,
            gas_limit: self.gas.unwrap_or(0),
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
        })
    }
}
