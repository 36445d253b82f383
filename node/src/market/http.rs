//! Boost's deal messages over HTTP, as Curio serves them under
//! `/market/mk12`: `POST /store` (a `DealParams` → a `DealResponse`),
//! `GET /status` (a signed `DealStatusRequest` → a `DealStatusResponse`) and
//! `GET /ask` (an `AskRequest` → an `AskResponse`). Bodies are CBOR
//! (`Content-Type: application/cbor`, both ways), in the same encoding as the
//! libp2p protocols, and go to the same intake, so a deal is checked the same
//! way whichever way it came.
//!
//! Where we differ from Curio: `store` changes state, so it needs the node's
//! API token with the write permission (`Authorization: Bearer <jwt>`);
//! status requests are signed by the deal's client and asks are public, as
//! Curio has them. Bodies are limited as Curio limits them (4 MiB for a
//! proposal, 1 MiB otherwise), and a malformed body is a 400 naming what
//! could not be decoded.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferrite_chain::auth::{ApiAuth, Permission};
use ferrite_market::wire::{AskRequest, DealParams, DealStatusRequest, WireMessage};

use super::Market;

/// The largest proposal body (Curio's limit).
const MAX_STORE_BYTES: usize = 4 << 20;

#[derive(Clone)]
struct Served {
    market: Arc<Market>,
    auth: ApiAuth,
}

/// The `/market/mk12` routes over the market service.
pub fn router(market: Arc<Market>, auth: ApiAuth) -> Router {
    Router::new()
        .route("/market/mk12/store", post(store))
        .route("/market/mk12/status", get(status))
        .route("/market/mk12/ask", get(ask))
        .layer(DefaultBodyLimit::max(MAX_STORE_BYTES))
        .with_state(Served { market, auth })
}

fn cbor(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()
}

fn bad(status: StatusCode, message: impl Into<String>) -> Response {
    (status, format!("{}\n", message.into())).into_response()
}

/// Why the body is refused: not CBOR, or more than `max` bytes.
fn refuse_body(headers: &HeaderMap, bytes: &Bytes, max: usize) -> Option<Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct != "application/cbor" {
        return Some(bad(
            StatusCode::BAD_REQUEST,
            format!("Content-Type must be application/cbor, not {ct:?}"),
        ));
    }
    if bytes.len() > max {
        return Some(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body has {} bytes; at most {max}", bytes.len()),
        ));
    }
    None
}

fn encode(message: &impl WireMessage) -> Response {
    match message.to_cbor() {
        Ok(bytes) => cbor(bytes),
        Err(e) => bad(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encode the answer: {e}"),
        ),
    }
}

async fn store(State(s): State<Served>, headers: HeaderMap, bytes: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = token
        .and_then(|t| s.auth.verify(t).ok())
        .is_some_and(|perms| perms.contains(&Permission::Write));
    if !allowed {
        return bad(
            StatusCode::UNAUTHORIZED,
            "a deal over HTTP needs the node's API token with the write permission",
        );
    }
    if let Some(r) = refuse_body(&headers, &bytes, MAX_STORE_BYTES) {
        return r;
    }
    let params = match DealParams::from_cbor(&bytes) {
        Ok(p) => p,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    encode(&s.market.propose(params).await)
}

async fn status(State(s): State<Served>, headers: HeaderMap, bytes: Bytes) -> Response {
    if let Some(r) = refuse_body(&headers, &bytes, 1 << 20) {
        return r;
    }
    match DealStatusRequest::from_cbor(&bytes) {
        Ok(req) => encode(&s.market.status(req).await),
        Err(e) => bad(StatusCode::BAD_REQUEST, format!("{e}")),
    }
}

async fn ask(State(s): State<Served>, headers: HeaderMap, bytes: Bytes) -> Response {
    if let Some(r) = refuse_body(&headers, &bytes, 1 << 20) {
        return r;
    }
    match AskRequest::from_cbor(&bytes) {
        Ok(req) => encode(&s.market.ask(req).await),
        Err(e) => bad(StatusCode::BAD_REQUEST, format!("{e}")),
    }
}
