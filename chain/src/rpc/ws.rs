//! The JSON-RPC websocket (`GET /rpc/v0` or `/rpc/v1` with an upgrade): every
//! method as over HTTP, plus the subscriptions a socket holds:
//!
//! * Lotus's `Filecoin.ChainNotify`: a channel (`xrpc.ch.val`
//!   notifications), the head first, then each tipset applied;
//! * on `/rpc/v1`, Ethereum's `eth_subscribe` (as Lotus serves it):
//!   `["newHeads"]` sends each new Ethereum block (its header, as
//!   `eth_getBlockByNumber` without transactions), `["logs", {address,
//!   topics}]` each log of a new block that the filter matches (as
//!   `eth_getLogs` finds it), both in `eth_subscription` notifications
//!   named by the id the call returned; `eth_unsubscribe [id]` ends one.
//!
//! Ethereum block N is tipset N, whose messages execute in tipset N+1 (see
//! [`super::eth`]): when the head reaches height H, block H-1 is new.
//!
//! [`Subscriptions`] is the socket's bookkeeping, without I/O; [`serve`]
//! drives it from the socket and the head watch.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::eth::{self, EthError, hex};
use super::json::TipSetJson;
use super::server::{Api, RpcState, one, permissions};
use crate::auth::Permission;

/// The most subscriptions one socket holds (each costs work per block).
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// What an Ethereum subscription sends.
#[derive(Debug, Clone, PartialEq)]
pub enum EthSubscription {
    /// Each new block's header.
    NewHeads,
    /// Each matching log of a new block: `eth_getLogs`'s `address` and
    /// `topics` (checked when subscribing).
    Logs {
        /// One address or a list; null for any.
        address: Value,
        /// Up to four positions, each a topic, a list of topics or null.
        topics: Value,
    },
}

impl EthSubscription {
    /// Reads `eth_subscribe`'s parameters.
    pub fn parse(params: &[Value]) -> Result<Self, EthError> {
        match params.first().and_then(Value::as_str) {
            Some("newHeads") => Ok(Self::NewHeads),
            Some("logs") => {
                let filter = params.get(1).cloned().unwrap_or(Value::Null);
                let (address, topics) = match &filter {
                    Value::Null => (Value::Null, Value::Null),
                    Value::Object(o) => {
                        let address = o.get("address").cloned().unwrap_or(Value::Null);
                        let topics = o.get("topics").cloned().unwrap_or(Value::Null);
                        check_addresses(&address)?;
                        check_topics(&topics)?;
                        (address, topics)
                    }
                    v => return Err(bad_params(format!("invalid logs filter {v}"))),
                };
                Ok(Self::Logs { address, topics })
            }
            Some(kind) => Err(bad_params(format!(
                "unsupported subscription type {kind:?} (newHeads or logs)"
            ))),
            None => Err(bad_params(
                "subscription type (parameter 0) must be a string",
            )),
        }
    }
}

fn bad_params(message: impl Into<String>) -> EthError {
    EthError {
        code: -32602,
        message: message.into(),
        data: None,
    }
}

fn refused(message: impl Into<String>) -> EthError {
    EthError {
        code: 1,
        message: message.into(),
        data: None,
    }
}

fn check_hex(v: &Value, len: usize, what: &str) -> Result<(), EthError> {
    let s = v
        .as_str()
        .ok_or_else(|| bad_params(format!("{what} must be a string")))?;
    let bytes = hex::parse_data(s, what)?;
    if bytes.len() != len {
        return Err(bad_params(format!(
            "{what} must be {len} bytes, not {}",
            bytes.len()
        )));
    }
    Ok(())
}

fn check_addresses(v: &Value) -> Result<(), EthError> {
    match v {
        Value::Null => Ok(()),
        Value::Array(list) => list.iter().try_for_each(|a| check_hex(a, 20, "address")),
        a => check_hex(a, 20, "address"),
    }
}

fn check_topics(v: &Value) -> Result<(), EthError> {
    match v {
        Value::Null => Ok(()),
        Value::Array(list) if list.len() <= 4 => list.iter().try_for_each(|t| match t {
            Value::Null => Ok(()),
            Value::Array(any) => any.iter().try_for_each(|t| check_hex(t, 32, "topic")),
            t => check_hex(t, 32, "topic"),
        }),
        Value::Array(_) => Err(bad_params("at most 4 topic positions")),
        t => Err(bad_params(format!("topics must be an array, not {t}"))),
    }
}

/// One socket's subscriptions and how far it has been told of the chain.
#[derive(Debug)]
pub struct Subscriptions {
    /// The ChainNotify channel, once asked for.
    notify: Option<u64>,
    eth: BTreeMap<String, EthSubscription>,
    /// The head height the socket has been told of.
    seen: i64,
}

/// What to send for a change of head: ChainNotify's tipsets applied and the
/// Ethereum blocks now complete.
#[derive(Debug, PartialEq, Eq)]
pub struct Due {
    /// The ChainNotify channel and the heights it gets.
    pub notify: Option<(u64, Vec<i64>)>,
    /// The Ethereum block numbers the Ethereum subscriptions get.
    pub eth_blocks: Vec<u64>,
}

impl Subscriptions {
    /// A socket opened when the head was at `head`.
    pub fn new(head: i64) -> Self {
        Self {
            notify: None,
            eth: BTreeMap::new(),
            seen: head,
        }
    }

    /// Opens the ChainNotify channel (one per socket, as Lotus numbers it).
    pub fn chain_notify(&mut self) -> u64 {
        *self.notify.get_or_insert(1)
    }

    /// Adds an Ethereum subscription under `id`.
    pub fn subscribe(&mut self, id: String, sub: EthSubscription) -> Result<(), EthError> {
        if self.eth.len() >= MAX_SUBSCRIPTIONS {
            return Err(refused(format!(
                "this socket already holds {MAX_SUBSCRIPTIONS} subscriptions"
            )));
        }
        self.eth.insert(id, sub);
        Ok(())
    }

    /// Ends the Ethereum subscription `id`; whether there was one.
    pub fn unsubscribe(&mut self, id: &str) -> bool {
        self.eth.remove(id).is_some()
    }

    /// The Ethereum subscriptions, by id.
    pub fn eth(&self) -> impl Iterator<Item = (&String, &EthSubscription)> {
        self.eth.iter()
    }

    /// Whether a change of head concerns this socket at all.
    pub fn listening(&self) -> bool {
        self.notify.is_some() || !self.eth.is_empty()
    }

    /// The head is now at `head`: what is due, and the new height is seen.
    /// A head that did not move on (a reorganisation's revert is not made
    /// by the devnet) is nothing.
    pub fn advance(&mut self, head: i64) -> Due {
        let from = self.seen + 1;
        self.seen = self.seen.max(head);
        let heights: Vec<i64> = (from..=head).collect();
        let eth_blocks = if self.eth.is_empty() {
            Vec::new()
        } else {
            heights
                .iter()
                .filter_map(|h| u64::try_from(h - 1).ok())
                .collect()
        };
        Due {
            notify: self.notify.map(|chan| (chan, heights)),
            eth_blocks,
        }
    }
}

pub(super) async fn handler(
    State(state): State<Arc<RpcState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let api = match version.as_str() {
        "v0" => Api::V0,
        "v1" => Api::V1,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Ok(perms) = permissions(&headers, &state.auth) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // The subscriptions are the chain's: a node following a remote chain
    // has none.
    if state.chain.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    ws.on_upgrade(move |socket| serve(state, api, perms, socket))
}

fn reply(id: Value, result: Result<Value, EthError>) -> Value {
    match result {
        Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Err(e) => {
            let mut err = json!({"code": e.code, "message": e.message});
            if let Some(data) = e.data {
                err["data"] = json!(data);
            }
            json!({"jsonrpc": "2.0", "id": id, "error": err})
        }
    }
}

fn need_read(perms: &[Permission], method: &str) -> Result<(), EthError> {
    if perms.contains(&Permission::Read) {
        Ok(())
    } else {
        Err(EthError {
            code: 1,
            message: format!("missing permission to invoke '{method}' (need 'read')"),
            data: None,
        })
    }
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(WsMessage::Text(v.to_string().into()))
        .await
        .is_ok()
}

/// Serves one socket until it closes or sends what is not JSON.
async fn serve(state: Arc<RpcState>, api: Api, perms: Vec<Permission>, mut socket: WebSocket) {
    let Some(lotus) = &state.chain else { return };
    let mut heads = lotus.heads.subscribe();
    let mut subs = Subscriptions::new(lotus.devnet.head().height());
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    _ => return,
                };
                let Ok(req) = serde_json::from_str::<Value>(&text) else { return };
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let method = req.get("method").and_then(Value::as_str).unwrap_or_default().to_string();
                let params: Vec<Value> = match req.get("params") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                let answer = match (method.as_str(), api) {
                    ("Filecoin.ChainNotify", _) => match need_read(&perms, "ChainNotify") {
                        Err(e) => reply(id, Err(e)),
                        Ok(()) => {
                            // The head now, then (from the head watch) every
                            // tipset after it.
                            let head = lotus.devnet.head();
                            // What the Ethereum subscriptions are owed first.
                            let due = subs.advance(head.height());
                            if !deliver(&mut socket, lotus, &subs, due).await {
                                return;
                            }
                            let chan = subs.chain_notify();
                            if !send(&mut socket, json!({"jsonrpc": "2.0", "id": id, "result": chan})).await {
                                return;
                            }
                            json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [chan, [{"Type": "current", "Val": TipSetJson::from(&head)}]]})
                        }
                    },
                    ("eth_subscribe" | "Filecoin.EthSubscribe", Api::V1) => {
                        let result = need_read(&perms, "EthSubscribe")
                            .and_then(|()| EthSubscription::parse(&params))
                            .and_then(|sub| {
                                let sub_id = hex::data(&rand::random::<[u8; 16]>());
                                // Blocks from the head on: not those before.
                                if !subs.listening() {
                                    subs.advance(lotus.devnet.head().height());
                                }
                                subs.subscribe(sub_id.clone(), sub)?;
                                Ok(json!(sub_id))
                            });
                        reply(id, result)
                    }
                    ("eth_unsubscribe" | "Filecoin.EthUnsubscribe", Api::V1) => {
                        let result = match params.first().and_then(Value::as_str) {
                            Some(sub_id) => Ok(json!(subs.unsubscribe(sub_id))),
                            None => Err(bad_params("subscription id (parameter 0) must be a string")),
                        };
                        reply(id, result)
                    }
                    _ => one(&state, api, &perms, req).await.1,
                };
                if !send(&mut socket, answer).await {
                    return;
                }
            }
            changed = heads.changed(), if subs.listening() => {
                if changed.is_err() { return }
                let due = subs.advance(lotus.devnet.head().height());
                if !deliver(&mut socket, lotus, &subs, due).await {
                    return;
                }
            }
        }
    }
}

/// Sends what `due` names; false once the socket is gone.
async fn deliver(
    socket: &mut WebSocket,
    lotus: &super::server::LotusMethods,
    subs: &Subscriptions,
    due: Due,
) -> bool {
    if let Some((chan, heights)) = due.notify.filter(|(_, h)| !h.is_empty()) {
        let changes: Vec<Value> = heights
            .iter()
            .filter_map(|h| lotus.devnet.tipset_at(*h).ok())
            .map(|ts| json!({"Type": "apply", "Val": TipSetJson::from(&ts)}))
            .collect();
        let note = json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [chan, changes]});
        if !send(socket, note).await {
            return false;
        }
    }
    for n in due.eth_blocks {
        for note in eth_notifications(lotus, subs, n).await {
            if !send(socket, note).await {
                return false;
            }
        }
    }
    true
}

/// The `eth_subscription` notifications of Ethereum block `n`.
async fn eth_notifications(
    lotus: &super::server::LotusMethods,
    subs: &Subscriptions,
    n: u64,
) -> Vec<Value> {
    let note = |id: &str, result: Value| json!({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": id, "result": result}});
    let number = json!(hex::quantity(n));
    let mut out = Vec::new();
    let mut header: Option<Value> = None;
    for (id, sub) in subs.eth() {
        match sub {
            EthSubscription::NewHeads => {
                if header.is_none() {
                    match eth::call(
                        lotus,
                        "eth_getBlockByNumber",
                        vec![number.clone(), json!(false)],
                    )
                    .await
                    {
                        Ok(block) => header = Some(block),
                        Err(e) => {
                            tracing::warn!(block = n, error = %e.message, "eth_subscribe: no header for a new block");
                            continue;
                        }
                    }
                }
                if let Some(h) = &header {
                    out.push(note(id, h.clone()));
                }
            }
            EthSubscription::Logs { address, topics } => {
                let filter = json!({"fromBlock": number, "toBlock": number, "address": address, "topics": topics});
                match eth::call(lotus, "eth_getLogs", vec![filter]).await {
                    Ok(Value::Array(logs)) => out.extend(logs.into_iter().map(|l| note(id, l))),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(block = n, error = %e.message, "eth_subscribe: no logs for a new block");
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_that_moves_on_is_due_once_and_eth_gets_the_blocks_before_it() {
        let mut subs = Subscriptions::new(10);
        assert!(!subs.listening());
        // Nothing asked for: nothing due, but the height is seen.
        assert_eq!(
            subs.advance(11),
            Due {
                notify: None,
                eth_blocks: vec![]
            }
        );
        assert_eq!(subs.chain_notify(), 1);
        assert_eq!(subs.chain_notify(), 1);
        subs.subscribe("0x01".into(), EthSubscription::NewHeads)
            .unwrap();
        let due = subs.advance(13);
        assert_eq!(due.notify, Some((1, vec![12, 13])));
        assert_eq!(due.eth_blocks, vec![11, 12]);
        // The same head again, or an older one: nothing.
        assert_eq!(subs.advance(13).eth_blocks, Vec::<u64>::new());
        assert_eq!(subs.advance(12).notify, Some((1, vec![])));
        assert!(subs.unsubscribe("0x01"));
        assert!(!subs.unsubscribe("0x01"));
        assert!(subs.advance(14).eth_blocks.is_empty());
    }

    #[test]
    fn subscriptions_are_capped_per_socket() {
        let mut subs = Subscriptions::new(0);
        for i in 0..MAX_SUBSCRIPTIONS {
            subs.subscribe(format!("{i}"), EthSubscription::NewHeads)
                .unwrap();
        }
        let err = subs
            .subscribe("over".into(), EthSubscription::NewHeads)
            .unwrap_err();
        assert!(err.message.contains("64 subscriptions"), "{}", err.message);
    }

    #[test]
    fn subscribe_parameters_are_checked() {
        assert_eq!(
            EthSubscription::parse(&[json!("newHeads")]).unwrap(),
            EthSubscription::NewHeads
        );
        let addr = format!("0x{}", "ab".repeat(20));
        let topic = format!("0x{}", "cd".repeat(32));
        let sub = EthSubscription::parse(&[
            json!("logs"),
            json!({"address": addr, "topics": [topic, null, [topic]]}),
        ])
        .unwrap();
        assert!(matches!(sub, EthSubscription::Logs { .. }));
        assert!(EthSubscription::parse(&[json!("logs")]).is_ok());
        for (bad, why) in [
            (vec![], "must be a string"),
            (vec![json!("newPendingTransactions")], "unsupported"),
            (vec![json!("logs"), json!({"address": "0x12"})], "20 bytes"),
            (vec![json!("logs"), json!({"address": "zz"})], "address"),
            (vec![json!("logs"), json!({"topics": ["0x00"]})], "32 bytes"),
            (
                vec![
                    json!("logs"),
                    json!({"topics": [null, null, null, null, null]}),
                ],
                "at most 4",
            ),
            (vec![json!("logs"), json!({"topics": "0x00"})], "array"),
            (vec![json!("logs"), json!(7)], "invalid logs filter"),
        ] {
            let err = EthSubscription::parse(&bad).unwrap_err();
            assert_eq!(err.code, -32602, "{bad:?}");
            assert!(err.message.contains(why), "{bad:?}: {}", err.message);
        }
    }
}
