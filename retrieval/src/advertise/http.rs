//! The ad chain over HTTP, where indexers fetch it:
//! `GET /ipni-provider/{peerId}/ipni/v1/ad/head` (the signed head) and
//! `GET /ipni-provider/{peerId}/ipni/v1/ad/{cid}` (an ad or entry chunk).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use libp2p::identity::Keypair;

use crate::ipni::{self, AdStore, PublishError};
use crate::server::Retrieval;

const ENDPOINT: &str = "ipni";

/// What the routes serve from: the chain and the key that signs its head.
#[derive(Clone)]
pub struct Publisher {
    /// The chain's blocks and head.
    pub store: Arc<dyn AdStore>,
    /// The provider's libp2p key.
    pub key: Keypair,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("peer", &self.key.public().to_peer_id())
            .finish_non_exhaustive()
    }
}

/// The `/ipni-provider/{peer}/ipni/v1/ad/{name}` handler.
pub async fn handle(
    State(r): State<Arc<Retrieval>>,
    Path((peer, name)): Path<(String, String)>,
) -> Response {
    let started = Instant::now();
    let Some(p) = r.ipni.clone() else {
        let resp = (StatusCode::NOT_FOUND, "IPNI advertisements are off\n").into_response();
        return r.count(ENDPOINT, started, resp);
    };
    let answer = tokio::task::spawn_blocking(move || {
        if name == "head" {
            ipni::head_response(p.store.as_ref(), &p.key, &peer)
        } else {
            let own = p.key.public().to_peer_id().to_string();
            ipni::block_response(p.store.as_ref(), &own, &peer, &name)
        }
    })
    .await;
    let resp = match answer {
        Ok(Ok(payload)) => {
            let mut resp = (StatusCode::OK, payload.body).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(payload.content_type),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(payload.cache_control),
            );
            resp
        }
        Ok(Err(e)) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let PublishError::Internal(err) = &e {
                tracing::warn!("serve the ad chain: {err:#}");
            }
            (status, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    r.count(ENDPOINT, started, resp)
}
