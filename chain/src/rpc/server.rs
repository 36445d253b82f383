//! The JSON-RPC 2.0 server, with Lotus's method names, JSON shapes, error
//! codes and token permissions.
//!
//! `POST /rpc/v1` (and `/rpc/v0`) takes a request or a batch. A request
//! without a token runs with `read`; a bad token gets HTTP 401. A method the
//! token does not allow fails with Lotus's error: code 1, "missing permission
//! to invoke 'X' (need 'write')". `GET` with a websocket upgrade on the same
//! paths serves the same methods and the subscriptions
//! (`Filecoin.ChainNotify`, `eth_subscribe`: [`super::ws`]). On the devnet, `/rpc/v1` also serves
//! the Ethereum JSON-RPC (`eth_*`, [`super::eth`]), with `read`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::json::{
    ActorJson, AddressJson, BlockHeaderJson, BlockMsgJson, BlockTemplateJson, CidJson, MessageJson,
    MessageSendSpec, MiningBaseInfoJson, MsgLookupJson, ReceiptJson, SignatureJson,
    SignedMessageJson, TipSetJson, TipSetKeyJson, key,
};
use crate::ChainError;
use crate::auth::{ApiAuth, Permission};
use crate::devnet::{BlockMsg, BlockTemplate, Devnet, RandomnessSource};
use crate::message::SignedMessage;
use crate::wallet::{KeyType, Wallet};

/// Ferrite's extension: produce N blocks now (tests pass whole proving
/// periods this way). Admin only; not a Lotus method. A test-only
/// fast-forward: the blocks hold no election, so an epoch the block miner
/// would win (it has power) gets a block without a winner and no reward
/// (`Devnet::produce_block_unelected`); blocks before it has power are as
/// the producer makes them.
pub const FERRITE_CHAIN_ADVANCE: &str = "Ferrite.ChainAdvance";

/// The most blocks one ChainAdvance call produces.
pub const MAX_ADVANCE: u64 = 100_000;

/// Methods a process adds to the API beyond the chain's, in Ferrite's own
/// namespace (`Ferrite.*`): the node's sealing commands, say. The chain's
/// server checks the token's permission and counts the call; the extension
/// does the rest.
#[async_trait::async_trait]
pub trait RpcExtension: Send + Sync {
    /// The permission `method` (full name) needs, or `None` if it is not
    /// one of the extension's.
    fn permission(&self, method: &str) -> Option<Permission>;
    /// Runs `method` with positional `params`; an error is `(code, message)`,
    /// answered as a JSON-RPC error.
    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)>;
}

/// What the server serves: the node's operator API (its `Ferrite.*`
/// methods, `AuthNew`, `/metrics`, the health checks) and, on the embedded
/// devnet, the chain's Lotus methods.
pub struct RpcState {
    /// The embedded chain's Lotus methods; `None` for a node that follows a
    /// remote chain (`ferrite run`), whose Lotus API is the remote node's.
    pub chain: Option<LotusMethods>,
    /// Token checks.
    pub auth: ApiAuth,
    /// The registry `/metrics` serves.
    pub registry: prometheus::Registry,
    /// The chain's metrics (the RPC call counter among them).
    pub metrics: crate::metrics::Metrics,
    /// The process's own methods, if any.
    pub extension: Option<Arc<dyn RpcExtension>>,
    /// Whether `/health/readyz` answers 200: set once the node's services
    /// have started, cleared when it begins to stop.
    pub ready: Arc<AtomicBool>,
}

/// The devnet's Lotus methods: the chain, and the node's wallet that signs
/// for `MpoolPushMessage` and `WalletSign`.
pub struct LotusMethods {
    /// The chain.
    pub devnet: Arc<Devnet>,
    /// The node's keys.
    pub wallet: Arc<std::sync::Mutex<Wallet>>,
    /// The wallet's default address.
    pub default_address: Address,
    /// The head height, published by the block producer (and by ChainAdvance).
    pub heads: Arc<watch::Sender<i64>>,
    /// The block time, as Version reports it.
    pub block_time: Duration,
}

impl std::fmt::Debug for LotusMethods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LotusMethods")
            .field("default_address", &self.default_address)
            .field("block_time", &self.block_time)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RpcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcState").finish()
    }
}

/// The routes: `/rpc/v0` and `/rpc/v1`, Prometheus's `/metrics`, and the
/// health checks Lotus serves, `/health/livez` (the process answers) and
/// `/health/readyz` (its services run).
pub fn router(state: Arc<RpcState>) -> Router {
    Router::new()
        .route("/rpc/{version}", post(http_handler).get(super::ws::handler))
        .route("/metrics", get(metrics_handler))
        .route("/health/livez", get(livez))
        .route("/health/readyz", get(readyz))
        .with_state(state)
}

async fn livez() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<RpcState>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        "ok\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics_handler(State(state): State<Arc<RpcState>>) -> Response {
    if let Some(lotus) = &state.chain {
        state
            .metrics
            .mpool_pending
            .set(i64::try_from(lotus.devnet.pending_count()).unwrap_or(i64::MAX));
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        crate::metrics::encode(&state.registry),
    )
        .into_response()
}

/// A JSON-RPC error.
#[derive(Debug)]
pub(super) struct RpcError {
    pub(super) code: i64,
    pub(super) message: String,
}

impl RpcError {
    pub(super) fn method(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        RpcError::method(e)
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Api {
    V0,
    V1,
}

pub(super) fn permissions(headers: &HeaderMap, auth: &ApiAuth) -> Result<Vec<Permission>, ()> {
    let Some(value) = headers.get("authorization") else {
        return Ok(vec![Permission::Read]);
    };
    let text = value.to_str().map_err(|_| ())?;
    let token = text.strip_prefix("Bearer ").ok_or(())?;
    auth.verify(token).map_err(|_| ())
}

async fn http_handler(
    State(state): State<Arc<RpcState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let api = match version.as_str() {
        "v0" => Api::V0,
        "v1" => Api::V1,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Ok(perms) = permissions(&headers, &state.auth) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if body.is_empty() {
        return error_response(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            "Invalid request",
        );
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                Value::Null,
                -32700,
                "Parse error",
            );
        }
    };
    match parsed {
        Value::Array(requests) => {
            if requests.is_empty() {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    Value::Null,
                    -32600,
                    "Invalid request",
                );
            }
            let mut out = Vec::new();
            for r in requests {
                let (_, v) = one(&state, api, &perms, r).await;
                out.push(v);
            }
            axum::Json(Value::Array(out)).into_response()
        }
        request => {
            let (status, v) = one(&state, api, &perms, request).await;
            (status, axum::Json(v)).into_response()
        }
    }
}

fn error_response(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        ),
    )
        .into_response()
}

/// Runs one request; returns the HTTP status Lotus would use and the response object.
pub(super) async fn one(
    state: &RpcState,
    api: Api,
    perms: &[Permission],
    req: Value,
) -> (StatusCode, Value) {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "Invalid request"}}),
        );
    };
    let params = match req.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32700, "message": "unmarshaling param array: params must be an array"}}),
            );
        }
    };
    // The Ethereum methods need only `read` (as in Lotus), on the devnet.
    let eth = super::eth::lookup(method).filter(|_| api == Api::V1);
    let result = match (eth, &state.chain) {
        (Some(m), Some(lotus)) => super::eth::call(lotus, m, params).await,
        _ => call(state, api, perms, method, params)
            .await
            .map_err(super::eth::EthError::from),
    };
    let label = eth
        .or(method
            .strip_prefix("Filecoin.")
            .filter(|m| required(m).is_some()))
        .or((method == FERRITE_CHAIN_ADVANCE).then_some(method))
        .or(state
            .extension
            .as_ref()
            .filter(|e| e.permission(method).is_some())
            .map(|_| method))
        .unwrap_or("unknown");
    let outcome = if result.is_ok() { "ok" } else { "error" };
    state
        .metrics
        .rpc_requests
        .with_label_values(&[label, outcome])
        .inc();
    match result {
        Ok(result) => (
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": result}),
        ),
        Err(e) => {
            let status = if e.code < 0 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            let mut error = json!({"code": e.code, "message": e.message});
            if let Some(data) = e.data {
                error["data"] = json!(data);
            }
            (status, json!({"jsonrpc": "2.0", "id": id, "error": error}))
        }
    }
}

/// The permission each method needs (Lotus's `perm:` tags).
fn required(method: &str) -> Option<Permission> {
    use Permission::*;
    Some(match method {
        "Version"
        | "ChainHead"
        | "ChainGetTipSetByHeight"
        | "ChainGetBlock"
        | "ChainGetMessage"
        | "ChainReadObj"
        | "ChainGetParentReceipts"
        | "ChainNotify"
        | "StateGetActor"
        | "StateLookupID"
        | "StateAccountKey"
        | "StateNetworkName"
        | "StateNetworkVersion"
        | "StateWaitMsg"
        | "StateSearchMsg"
        | "StateCall"
        | "StateReplay"
        | "MpoolGetNonce"
        | "MpoolPending"
        | "GasEstimateMessageGas"
        | "WalletBalance"
        | "StateGetRandomnessFromTickets"
        | "StateGetRandomnessFromBeacon"
        | "MinerGetBaseInfo"
        | "MpoolSelect" => Read,
        m if super::state::METHODS.contains(&m) => Read,
        "MpoolPush"
        | "WalletNew"
        | "WalletList"
        | "WalletDefaultAddress"
        | "WalletHas"
        | "MinerCreateBlock"
        | "SyncSubmitBlock" => Write,
        "MpoolPushMessage" | "WalletSign" => Sign,
        "AuthNew" | FERRITE_CHAIN_ADVANCE => Admin,
        _ => return None,
    })
}

pub(super) struct Params {
    method: String,
    values: Vec<Value>,
}

impl Params {
    pub(super) fn check(&self, max: usize) -> Result<(), RpcError> {
        if self.values.len() > max {
            return Err(RpcError {
                code: -32602,
                message: format!(
                    "wrong param count (method 'Filecoin.{}'): {} != {max}",
                    self.method,
                    self.values.len()
                ),
            });
        }
        Ok(())
    }

    /// Parameter `i`; a missing trailing one reads as null.
    pub(super) fn get<T: DeserializeOwned>(&self, i: usize) -> Result<T, RpcError> {
        let v = self.values.get(i).cloned().unwrap_or(Value::Null);
        serde_json::from_value(v).map_err(|e| RpcError {
            code: -32700,
            message: format!(
                "unmarshaling params for 'Filecoin.{}' (param {i}): {e}",
                self.method
            ),
        })
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|e| RpcError::method(format!("encode result: {e}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ChainError> + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RpcError::method(format!("task failed: {e}")))?
        .map_err(RpcError::from)
}

async fn call(
    state: &RpcState,
    api: Api,
    perms: &[Permission],
    full_method: &str,
    values: Vec<Value>,
) -> Result<Value, RpcError> {
    if let Some(ext) = &state.extension
        && let Some(need) = ext.permission(full_method)
    {
        if !perms.contains(&need) {
            return Err(RpcError::method(format!(
                "missing permission to invoke '{full_method}' (need '{}')",
                need.name()
            )));
        }
        return ext
            .call(full_method, values)
            .await
            .map_err(|(code, message)| RpcError { code, message });
    }
    // Lotus's namespace, plus Ferrite's own admin extension.
    let not_found = || RpcError {
        code: -32601,
        message: format!("method '{full_method}' not found"),
    };
    if full_method == "Filecoin.AuthNew" {
        // The operator API's own: every node makes tokens.
        if !perms.contains(&Permission::Admin) {
            return Err(RpcError::method(
                "missing permission to invoke 'AuthNew' (need 'admin')",
            ));
        }
        let p = Params {
            method: "AuthNew".to_string(),
            values,
        };
        p.check(1)?;
        let perms: Vec<Permission> = p.get(0)?;
        let token = state.auth.create_token(&perms).map_err(RpcError::method)?;
        return to_value(B64.encode(token.as_bytes()));
    }
    let Some(lotus) = &state.chain else {
        return Err(not_found());
    };
    let method = match full_method.strip_prefix("Filecoin.") {
        Some(m) if !m.contains('.') => m,
        _ if full_method == FERRITE_CHAIN_ADVANCE => FERRITE_CHAIN_ADVANCE,
        _ => {
            return Err(RpcError {
                code: -32601,
                message: format!("method '{full_method}' not found"),
            });
        }
    };
    let Some(need) = required(method) else {
        return Err(RpcError {
            code: -32601,
            message: format!("method '{full_method}' not found"),
        });
    };
    if !perms.contains(&need) {
        return Err(RpcError::method(format!(
            "missing permission to invoke '{method}' (need '{}')",
            need.name()
        )));
    }
    let p = Params {
        method: method.to_string(),
        values,
    };
    let dn = lotus.devnet.clone();
    match method {
        "Version" => {
            p.check(0)?;
            let api_version = match api {
                Api::V0 => 66816,
                Api::V1 => 131840,
            };
            to_value(json!({
                "Version": concat!("ferrite/", env!("CARGO_PKG_VERSION"), "+devnet"),
                "APIVersion": api_version,
                "BlockDelay": lotus.block_time.as_secs(),
                "Agent": "ferrite",
            }))
        }
        "ChainHead" => {
            p.check(0)?;
            to_value(TipSetJson::from(&dn.head()))
        }
        "ChainGetTipSetByHeight" => {
            p.check(2)?;
            let height: i64 = p.get(0)?;
            let from = key(&p.get::<Option<TipSetKeyJson>>(1)?);
            let ts = blocking(move || {
                let top = dn.tipset_or_head(&from)?;
                if height > top.height() {
                    return Err(ChainError::NotFound(format!(
                        "looking for tipset with height greater than start point ({height} > {})",
                        top.height()
                    )));
                }
                dn.tipset_at(height)
            })
            .await?;
            to_value(TipSetJson::from(&ts))
        }
        "ChainGetBlock" => {
            p.check(1)?;
            let cid: CidJson = p.get(0)?;
            let b = blocking(move || dn.block(&cid.0)).await?;
            to_value(BlockHeaderJson::from(&b))
        }
        "ChainGetMessage" => {
            p.check(1)?;
            let cid: CidJson = p.get(0)?;
            let m = blocking(move || dn.message(&cid.0)).await?;
            to_value(MessageJson::from(&m))
        }
        "ChainReadObj" => {
            p.check(1)?;
            let cid: CidJson = p.get(0)?;
            let bytes = blocking(move || {
                fvm_ipld_blockstore::Blockstore::get(dn.blockstore(), &cid.0)
                    .map_err(ChainError::Internal)?
                    .ok_or_else(|| ChainError::NotFound(format!("block {} not found", cid.0)))
            })
            .await?;
            to_value(B64.encode(bytes))
        }
        "ChainGetParentReceipts" => {
            p.check(1)?;
            let cid: CidJson = p.get(0)?;
            let r = blocking(move || dn.parent_receipts(&cid.0)).await?;
            to_value(r.iter().map(ReceiptJson::from).collect::<Vec<_>>())
        }
        "ChainNotify" => Err(RpcError {
            code: -32601,
            message: format!(
                "method '{full_method}' not supported in this mode (no out channel support)"
            ),
        }),
        "StateGetActor" => {
            p.check(2)?;
            let addr: AddressJson = p.get(0)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(1)?);
            let a = blocking(move || dn.actor(&addr.0, &k)).await?;
            match a {
                Some(a) => to_value(ActorJson::from(&a)),
                None => Err(RpcError::method(format!("actor not found: {}", addr.0))),
            }
        }
        "StateLookupID" => {
            p.check(2)?;
            let addr: AddressJson = p.get(0)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(1)?);
            match blocking(move || dn.lookup_id(&addr.0, &k)).await? {
                Some(id) => to_value(AddressJson(id)),
                None => Err(RpcError {
                    code: 3,
                    message: "actor not found".to_string(),
                }),
            }
        }
        "StateAccountKey" => {
            p.check(2)?;
            let addr: AddressJson = p.get(0)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(1)?);
            let a = blocking(move || dn.account_key(&addr.0, &k)).await?;
            to_value(AddressJson(a))
        }
        "StateNetworkName" => {
            p.check(0)?;
            to_value(dn.network_name())
        }
        "StateNetworkVersion" => {
            p.check(1)?;
            to_value(u32::from(dn.settings().network_version))
        }
        "StateSearchMsg" => {
            let cid: CidJson = match api {
                Api::V0 => {
                    p.check(1)?;
                    p.get(0)?
                }
                Api::V1 => {
                    p.check(4)?;
                    p.get(1)?
                }
            };
            let found = blocking(move || dn.search(&cid.0)).await?;
            to_value(found.as_ref().map(MsgLookupJson::from))
        }
        "StateWaitMsg" => {
            p.check(if api == Api::V0 { 2 } else { 4 })?;
            let cid: CidJson = p.get(0)?;
            let confidence: Option<i64> = p.get(1)?;
            let confidence = confidence.unwrap_or(0).max(0);
            let mut heads = lotus.heads.subscribe();
            loop {
                let d = dn.clone();
                if let Some(found) = blocking(move || d.search(&cid.0)).await?
                    && dn.head().height() >= found.tipset.height() + confidence
                {
                    return to_value(MsgLookupJson::from(&found));
                }
                if heads.changed().await.is_err() {
                    return Err(RpcError::method("the node is shutting down"));
                }
            }
        }
        "StateCall" => {
            p.check(2)?;
            let m: MessageJson = p.get(0)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(1)?);
            let mut msg = Message::from(m);
            if msg.gas_limit == 0 {
                msg.gas_limit = crate::vm::BLOCK_GAS_LIMIT;
            }
            let call_msg = msg.clone();
            let ret = blocking(move || dn.call(call_msg, &k)).await?;
            to_value(invoc_result(&msg, &ret))
        }
        "StateReplay" => {
            p.check(2)?;
            let cid: CidJson = p.get(1)?;
            let (msg, ret) = blocking(move || dn.replay_traced(&cid.0)).await?;
            to_value(invoc_result(&msg, &ret))
        }
        "StateGetRandomnessFromTickets" | "StateGetRandomnessFromBeacon" => {
            p.check(4)?;
            let tag: i64 = p.get(0)?;
            let round: i64 = p.get(1)?;
            let entropy: Option<String> = p.get(2)?;
            let entropy = match entropy {
                Some(e) => B64
                    .decode(e)
                    .map_err(|e| RpcError::method(format!("entropy: {e}")))?,
                None => Vec::new(),
            };
            let source = if method == "StateGetRandomnessFromBeacon" {
                RandomnessSource::Beacon
            } else {
                RandomnessSource::Tickets
            };
            let r = blocking(move || dn.randomness(source, tag, round, &entropy)).await?;
            to_value(B64.encode(r))
        }
        m if super::state::METHODS.contains(&m) => super::state::call(dn, api, &p, m).await,
        "MpoolPush" => {
            p.check(1)?;
            let sm: SignedMessageJson = p.get(0)?;
            let sm = SignedMessage::try_from(sm).map_err(RpcError::method)?;
            let cid = blocking(move || dn.push(sm)).await?;
            to_value(CidJson(cid))
        }
        "MpoolPushMessage" => {
            p.check(2)?;
            let m: MessageJson = p.get(0)?;
            let spec: Option<MessageSendSpec> = p.get(1)?;
            let msg = Message::from(m);
            if msg.sequence != 0 {
                return Err(RpcError::method(format!(
                    "MpoolPushMessage expects message nonce to be 0, was {}",
                    msg.sequence
                )));
            }
            let wallet = lotus.wallet.clone();
            let sm = blocking(move || {
                let signer = dn.account_key(&msg.from, &[]).or_else(|e| {
                    if matches!(msg.from.protocol(), Protocol::Secp256k1 | Protocol::BLS) {
                        Ok(msg.from)
                    } else {
                        Err(e)
                    }
                })?;
                let max_fee = spec.map(|s| s.max_fee).unwrap_or_default();
                let msg = dn.estimate_gas(msg, &max_fee)?;
                let key = {
                    let w = wallet.lock().unwrap_or_else(|p| p.into_inner());
                    w.key(&signer).cloned().ok_or_else(|| {
                        ChainError::NotFound(format!("no key for {signer} in the node's wallet"))
                    })?
                };
                dn.push_next(msg, &key)
            })
            .await?;
            to_value(SignedMessageJson::from(&sm))
        }
        "MpoolGetNonce" => {
            p.check(1)?;
            let addr: AddressJson = p.get(0)?;
            to_value(blocking(move || dn.next_nonce(&addr.0)).await?)
        }
        "MpoolPending" => {
            p.check(1)?;
            let pending = blocking(move || Ok(dn.pending())).await?;
            to_value(
                pending
                    .iter()
                    .map(SignedMessageJson::from)
                    .collect::<Vec<_>>(),
            )
        }
        "GasEstimateMessageGas" => {
            p.check(3)?;
            let m: MessageJson = p.get(0)?;
            let spec: Option<MessageSendSpec> = p.get(1)?;
            let max_fee = spec.map(|s| s.max_fee).unwrap_or_default();
            let msg = blocking(move || dn.estimate_gas(Message::from(m), &max_fee)).await?;
            to_value(MessageJson::from(&msg))
        }
        "WalletNew" => {
            p.check(1)?;
            let kind: KeyType = p.get(0)?;
            let wallet = lotus.wallet.clone();
            // Key generation and the fsync'd key file stay off the runtime.
            let addr = blocking(move || {
                let mut w = wallet.lock().unwrap_or_else(|e| e.into_inner());
                Ok(w.new_key(kind)?)
            })
            .await?;
            to_value(AddressJson(addr))
        }
        "WalletList" => {
            p.check(0)?;
            let w = lotus.wallet.lock().unwrap_or_else(|e| e.into_inner());
            to_value(w.list().into_iter().map(AddressJson).collect::<Vec<_>>())
        }
        "WalletHas" => {
            p.check(1)?;
            let addr: AddressJson = p.get(0)?;
            let w = lotus.wallet.lock().unwrap_or_else(|e| e.into_inner());
            to_value(w.key(&addr.0).is_some())
        }
        "WalletDefaultAddress" => {
            p.check(0)?;
            to_value(AddressJson(lotus.default_address))
        }
        "WalletBalance" => {
            p.check(1)?;
            let addr: AddressJson = p.get(0)?;
            let a = blocking(move || dn.actor(&addr.0, &[])).await?;
            to_value(a.map(|a| a.balance).unwrap_or_default().atto().to_string())
        }
        "WalletSign" => {
            p.check(2)?;
            let addr: AddressJson = p.get(0)?;
            let data: String = p.get(1)?;
            let data = B64
                .decode(data)
                .map_err(|e| RpcError::method(format!("data: {e}")))?;
            let w = lotus.wallet.lock().unwrap_or_else(|e| e.into_inner());
            let sig = w.sign(&addr.0, &data).map_err(RpcError::method)?;
            to_value(SignatureJson::from(&sig))
        }
        "MinerGetBaseInfo" => {
            p.check(3)?;
            let miner: AddressJson = p.get(0)?;
            let epoch: i64 = p.get(1)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(2)?);
            let base = blocking(move || dn.mining_base(&miner.0, epoch, &k)).await?;
            to_value(base.as_ref().map(MiningBaseInfoJson::from))
        }
        "MpoolSelect" => {
            p.check(2)?;
            let k = key(&p.get::<Option<TipSetKeyJson>>(0)?);
            let msgs = blocking(move || {
                if !k.is_empty() && k != dn.head().key {
                    return Err(ChainError::NotFound(
                        "the devnet selects messages for a block on its head only".to_string(),
                    ));
                }
                dn.select_messages()
            })
            .await?;
            to_value(msgs.iter().map(SignedMessageJson::from).collect::<Vec<_>>())
        }
        "MinerCreateBlock" => {
            p.check(1)?;
            let t: BlockTemplateJson = p.get(0)?;
            let t = BlockTemplate::try_from(t).map_err(RpcError::method)?;
            let wallet = lotus.wallet.clone();
            let b = blocking(move || {
                let (mut b, worker) = dn.create_block(t)?;
                // Lotus signs the block with the worker key in the node's
                // wallet, too.
                let bytes = crate::winning::signing_bytes(&b.header)?;
                let w = wallet.lock().unwrap_or_else(|e| e.into_inner());
                let sig = w.sign(&worker, &bytes).map_err(|e| {
                    ChainError::NotFound(format!("sign the block with {worker}: {e:#}"))
                })?;
                b.header.block_sig = Some(sig);
                Ok(b)
            })
            .await?;
            to_value(BlockMsgJson::from(&b))
        }
        "SyncSubmitBlock" => {
            p.check(1)?;
            let b: BlockMsgJson = p.get(0)?;
            let b = BlockMsg::try_from(b).map_err(RpcError::method)?;
            let ts = blocking(move || dn.submit_block(b)).await?;
            state.metrics.head_height.set(ts.height());
            lotus.heads.send_replace(ts.height());
            to_value(Value::Null)
        }
        FERRITE_CHAIN_ADVANCE => {
            p.check(1)?;
            let n: u64 = p.get(0)?;
            if n == 0 || n > MAX_ADVANCE {
                return Err(RpcError::method(format!(
                    "advance by 1 to {MAX_ADVANCE} epochs, not {n}"
                )));
            }
            let heads = lotus.heads.clone();
            // A test-only fast-forward: no WinningPoSt per epoch, and no
            // elected block of the producer in between (see
            // `Devnet::produce_blocks_unelected`).
            let ts = blocking(move || {
                dn.produce_blocks_unelected(n, |ts| {
                    heads.send_replace(ts.height());
                })
            })
            .await?;
            to_value(TipSetJson::from(&ts))
        }
        _ => Err(RpcError {
            code: -32601,
            message: format!("method '{full_method}' not found"),
        }),
    }
}

fn invoc_result(msg: &Message, ret: &fvm::executor::ApplyRet) -> Value {
    let cid = crate::message::message_cid(msg).ok().map(CidJson);
    let total =
        ret.base_fee_burn.clone() + ret.over_estimation_burn.clone() + ret.miner_tip.clone();
    let atto = |t: &TokenAmount| t.atto().to_string();
    json!({
        "MsgCid": cid,
        "Msg": MessageJson::from(msg),
        "MsgRct": ReceiptJson::from(&ret.msg_receipt),
        "GasCost": {
            "Message": cid,
            "GasUsed": ret.msg_receipt.gas_used.to_string(),
            "BaseFeeBurn": atto(&ret.base_fee_burn),
            "OverEstimationBurn": atto(&ret.over_estimation_burn),
            "MinerPenalty": atto(&ret.penalty),
            "MinerTip": atto(&ret.miner_tip),
            "Refund": atto(&ret.refund),
            "TotalCost": atto(&total),
        },
        "ExecutionTrace": super::trace::execution_trace(msg, ret),
        "Error": match &ret.failure_info {
            Some(f) if !ret.msg_receipt.exit_code.is_success() => f.to_string(),
            _ => String::new(),
        },
        "Duration": 0,
    })
}
