//! `Filecoin.ChainNotify` as a client, over a websocket as Lotus serves it:
//! the current head first, then every tipset applied or reverted
//! (`xrpc.ch.val` notifications on the channel the call returned).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::json::CidJson;
use crate::ChainError;
use crate::api::Head;

/// One change of the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadChange {
    /// The head when the subscription began.
    Current(Head),
    /// A tipset became part of the chain.
    Apply(Head),
    /// A tipset left the chain (a reorganisation).
    Revert(Head),
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A ChainNotify subscription.
pub struct Notifications {
    socket: Socket,
    channel: Value,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> ChainError {
    ChainError::Unavailable(format!("ChainNotify: {e}"))
}

/// Subscribes to the head changes of the node at `url` (its JSON-RPC URL,
/// `http://host:port/rpc/v1`; the websocket is on the same path).
pub async fn subscribe(url: &str, token: Option<&str>) -> Result<Notifications, ChainError> {
    let ws_url = match url.split_once("://") {
        Some(("http", rest)) => format!("ws://{rest}"),
        Some(("https", rest)) => format!("wss://{rest}"),
        _ => url.to_string(),
    };
    let mut request = ws_url.into_client_request().map_err(unavailable)?;
    if let Some(t) = token {
        let value = format!("Bearer {t}").parse().map_err(unavailable)?;
        request.headers_mut().insert("Authorization", value);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(unavailable)?;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.ChainNotify", "params": []});
    socket
        .send(Ws::Text(call.to_string().into()))
        .await
        .map_err(unavailable)?;
    // The answer names the channel; notifications may not come before it.
    loop {
        let Some(msg) = socket.next().await else {
            return Err(unavailable("the socket closed before the answer"));
        };
        let Ws::Text(text) = msg.map_err(unavailable)? else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).map_err(unavailable)?;
        if v["id"] != 1 {
            continue;
        }
        if let Some(err) = v.get("error") {
            return Err(ChainError::Remote {
                code: err["code"].as_i64().unwrap_or(0),
                message: format!("ChainNotify: {}", err["message"]),
            });
        }
        return Ok(Notifications {
            socket,
            channel: v["result"].clone(),
        });
    }
}

impl Notifications {
    /// The next batch of changes; `None` once the node closed the channel
    /// or the socket.
    pub async fn next(&mut self) -> Result<Option<Vec<HeadChange>>, ChainError> {
        loop {
            let Some(msg) = self.socket.next().await else {
                return Ok(None);
            };
            let text = match msg.map_err(unavailable)? {
                Ws::Text(t) => t,
                Ws::Close(_) => return Ok(None),
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).map_err(unavailable)?;
            match v["method"].as_str() {
                Some("xrpc.ch.val") if v["params"][0] == self.channel => {
                    return changes(&v["params"][1]).map(Some);
                }
                Some("xrpc.ch.close") if v["params"][0] == self.channel => return Ok(None),
                _ => continue,
            }
        }
    }
}

/// Decodes `[{"Type": "apply", "Val": TipSet}, ...]`.
fn changes(v: &Value) -> Result<Vec<HeadChange>, ChainError> {
    let bad = |why: &str| ChainError::Unavailable(format!("ChainNotify: a change {why}: {v}"));
    let list = v.as_array().ok_or_else(|| bad("list is not an array"))?;
    list.iter()
        .map(|c| {
            let ts = &c["Val"];
            let height = ts["Height"].as_i64().ok_or_else(|| bad("has no height"))?;
            let key = serde_json::from_value::<Vec<CidJson>>(ts["Cids"].clone())
                .map_err(|_| bad("has no CIDs"))?
                .into_iter()
                .map(|c| c.0)
                .collect();
            let head = Head { height, key };
            match c["Type"].as_str() {
                Some("current") => Ok(HeadChange::Current(head)),
                Some("apply") => Ok(HeadChange::Apply(head)),
                Some("revert") => Ok(HeadChange::Revert(head)),
                _ => Err(bad("has an unknown type")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_decode_as_lotus_sends_them() {
        let cid = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
        let v = json!([
            {"Type": "revert", "Val": {"Height": 7, "Cids": [{"/": cid}], "Blocks": []}},
            {"Type": "apply", "Val": {"Height": 7, "Cids": [{"/": cid}], "Blocks": []}},
        ]);
        let got = changes(&v).unwrap();
        assert!(matches!(&got[0], HeadChange::Revert(h) if h.height == 7 && h.key.len() == 1));
        assert!(matches!(&got[1], HeadChange::Apply(h) if h.height == 7));
        assert!(changes(&json!([{"Type": "sideways", "Val": {"Height": 1, "Cids": []}}])).is_err());
        assert!(changes(&json!([{"Type": "apply", "Val": {"Cids": []}}])).is_err());
        assert!(changes(&json!({"Type": "apply"})).is_err());
    }
}
