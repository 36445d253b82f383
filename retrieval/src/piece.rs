//! `GET|HEAD /piece/{pieceCid}`: a piece's bytes, from its sector's
//! unsealed copy, unpadded as they stream.
//!
//! - A v1 CID (`baga…`) serves the whole unpadded piece, zero fill
//!   included; a v2 CID (`bafkzcib…`) serves its payload, the client's
//!   original bytes, whose v2 CID the client can recompute.
//! - Range: 206 for one range, multipart/byteranges for several, 416 past
//!   the end ([`crate::range`]).
//! - Headers: `ETag` (the CID as asked), `Content-Type:
//!   application/octet-stream`, `Content-Length`, `Accept-Ranges: bytes`,
//!   `Cache-Control: public, max-age=29030400, immutable`;
//!   `If-None-Match` with that ETag gets 304.
//! - HEAD answers from the index alone: it never unseals.
//! - With `[retrieval.cache]` on, a cached piece is served from its
//!   unpadded file (sent with sendfile), needing no unsealed copy; a piece
//!   served from its unsealed copy is cached meanwhile ([`crate::cache`]).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use crate::body::{self, Part, Transfer};
use crate::error::RetrievalError;
use crate::range::{self, Multipart, RangePlan};
use crate::server::{CACHE_CONTROL, Retrieval, client, head_only};
use crate::source::{self, FoundPiece, PieceName};
use crate::unpad::{PieceSpan, UnpaddedReader};

const ENDPOINT: &str = "piece";
const OCTET_STREAM: &str = "application/octet-stream";

/// The `/piece/{cid}` handler.
pub async fn handle(
    State(r): State<Arc<Retrieval>>,
    Path(cid): Path<String>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
) -> Response {
    let started = Instant::now();
    match serve(&r, &cid, &method, &headers, &ext, started).await {
        Ok(resp) => r.count(ENDPOINT, started, resp),
        Err(e) => r.error(ENDPOINT, started, e),
    }
}

async fn serve(
    r: &Arc<Retrieval>,
    cid: &str,
    method: &Method,
    headers: &HeaderMap,
    ext: &Extensions,
    started: Instant,
) -> Result<Response, RetrievalError> {
    let name: PieceName = cid.parse()?;
    let index = r.index.clone();
    let found = tokio::task::spawn_blocking(move || source::find_piece(&index, &name))
        .await
        .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("find the piece: {e}")))??;
    let len = found.len;
    let etag = format!("\"{cid}\"");
    let mut common = vec![
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, CACHE_CONTROL.to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(head_only(StatusCode::NOT_MODIFIED, common));
    }
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let plan = range::plan(range_header, len);
    if plan == RangePlan::Unsatisfiable {
        common.push((header::CONTENT_RANGE, format!("bytes */{len}")));
        let mut resp = head_only(StatusCode::RANGE_NOT_SATISFIABLE, common);
        *resp.body_mut() = Body::from(format!(
            "range {range_header:?} is past the piece's {len} bytes\n"
        ));
        return Ok(resp);
    }
    let multipart = match &plan {
        RangePlan::Multi(_) => Some(Multipart::new(
            uuid::Uuid::new_v4().simple().to_string(),
            OCTET_STREAM,
            len,
        )),
        _ => None,
    };
    let (status, body_len) = match (&plan, &multipart) {
        (RangePlan::Single(rg), _) => {
            common.push((header::CONTENT_RANGE, range::content_range(rg, len)));
            (StatusCode::PARTIAL_CONTENT, range::range_len(rg))
        }
        (RangePlan::Multi(rgs), Some(m)) => (StatusCode::PARTIAL_CONTENT, m.body_len(rgs)),
        _ => (StatusCode::OK, len),
    };
    let content_type = multipart
        .as_ref()
        .map_or_else(|| OCTET_STREAM.to_string(), Multipart::content_type);
    common.push((header::CONTENT_TYPE, content_type));
    common.push((header::CONTENT_LENGTH, body_len.to_string()));
    if method == Method::HEAD {
        return Ok(head_only(status, common));
    }

    let permit = r.limits.admit()?;
    let sector = found.location.sector;
    let (parts, reading) = match cached(r, &found).await? {
        Some(piece) => (
            cached_parts(&piece, found.len, &plan, multipart.as_ref()),
            None,
        ),
        None => {
            let file = r.unsealed(sector).await?;
            let reading = r.unseals.reading(sector);
            let span = source::span(file, &found.location);
            if let Some(cache) = &r.cache {
                cache.fill(found.comm_p, span.clone(), Some(r.unseals.reading(sector)));
            }
            let plan = plan.clone();
            let parts = tokio::task::spawn_blocking(move || {
                parts(&found, &span, &plan, multipart.as_ref())
            })
            .await
            .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("open the piece: {e}")))??;
            (parts, Some(reading))
        }
    };
    let transfer = Transfer {
        permit,
        reading,
        client: client(ext),
        endpoint: ENDPOINT,
        started,
    };
    let mut resp = head_only(status, common);
    *resp.body_mut() = body::stream(parts, transfer, r.limits.clone(), r.metrics.clone());
    Ok(resp)
}

/// The piece's unpadded bytes from the cache, if it is on and has them.
async fn cached(r: &Retrieval, found: &FoundPiece) -> Result<Option<Bytes>, RetrievalError> {
    let Some(cache) = r.cache.clone() else {
        return Ok(None);
    };
    let comm_p = found.comm_p;
    let len = found.location.size.unpadded().bytes();
    tokio::task::spawn_blocking(move || cache.get(&comm_p, len))
        .await
        .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("look in the piece cache: {e}")))
}

/// The body's parts for `plan`, sliced from the cached `piece`, of which
/// the first `len` bytes are served.
fn cached_parts(
    piece: &Bytes,
    len: u64,
    plan: &RangePlan,
    multipart: Option<&Multipart>,
) -> Vec<Part> {
    let slice = |start: u64, len: u64| {
        // The plan's ranges lie inside the piece, whose length fits memory.
        let (start, len) = (start as usize, len as usize);
        Part::Cached(piece.slice(start..start + len))
    };
    match (plan, multipart) {
        (RangePlan::Single(rg), _) => vec![slice(*rg.start(), range::range_len(rg))],
        (RangePlan::Multi(rgs), Some(m)) => multipart_parts(rgs, m, |rg| {
            Ok::<_, std::convert::Infallible>(slice(*rg.start(), range::range_len(rg)))
        })
        .unwrap_or_else(|e| match e {}),
        _ => vec![slice(0, len)],
    }
}

/// The parts of a multipart body: each range's head and bytes, then the
/// closing boundary.
fn multipart_parts<E>(
    rgs: &[std::ops::RangeInclusive<u64>],
    m: &Multipart,
    mut part: impl FnMut(&std::ops::RangeInclusive<u64>) -> Result<Part, E>,
) -> Result<Vec<Part>, E> {
    let mut parts = Vec::with_capacity(rgs.len() * 2 + 1);
    for rg in rgs {
        parts.push(Part::Bytes(Bytes::from(m.part_head(rg))));
        parts.push(part(rg)?);
    }
    parts.push(Part::Bytes(Bytes::from(m.tail())));
    Ok(parts)
}

/// The body's parts for `plan`, with each reader opened (so a missing or
/// short copy fails before the status line is sent).
fn parts(
    found: &FoundPiece,
    span: &PieceSpan,
    plan: &RangePlan,
    multipart: Option<&Multipart>,
) -> Result<Vec<Part>, RetrievalError> {
    let open = |start: u64, len: u64| {
        UnpaddedReader::open(span, start, len).map_err(|e| {
            RetrievalError::Internal(anyhow::anyhow!(
                "read piece in sector {}: {e}",
                found.location.sector
            ))
        })
    };
    Ok(match (plan, multipart) {
        (RangePlan::Single(rg), _) => vec![Part::Piece(open(*rg.start(), range::range_len(rg))?)],
        (RangePlan::Multi(rgs), Some(m)) => multipart_parts(rgs, m, |rg| {
            open(*rg.start(), range::range_len(rg)).map(Part::Piece)
        })?,
        _ => vec![Part::Piece(open(0, found.len)?)],
    })
}
