//! `GET|HEAD /ipfs/{cid}[/path]`: the IPFS trustless gateway over the
//! market's block index of CAR pieces.
//!
//! A block is found by its multihash in the index, which gives the piece
//! and the block's offset in the piece's payload; its bytes are read from
//! the piece's sector's unsealed copy (unsealed first if there is none) and
//! checked against the CID before they are sent.
//!
//! - `format=raw` / `Accept: application/vnd.ipld.raw`: the block.
//! - `format=car` / `Accept: application/vnd.ipld.car`: a CARv1 of the DAG
//!   from the root (after the content path), as [`crate::dag::walk`] orders
//!   it, streamed as the walk goes. The walk runs on a blocking thread; the
//!   status is sent once the first block is found, so a root or path that
//!   is not there is a 404, and a block missing later aborts the body (the
//!   client sees a truncated CAR, as the spec says).
//! - HEAD answers from the index alone and never unseals.
//! - Only the root's sectors are unsealed on demand: a DAG whose blocks lie
//!   in other pieces is served from those pieces' copies if they exist.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use cid::Cid;
use ferrite_market::index::PieceIndex;
use ferrite_types::SectorNumber;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::body::{self, Transfer};
use crate::dag::{self, DagError, GatewayRequest, ResponseFormat};
use crate::error::RetrievalError;
use crate::server::{Retrieval, client, head_only};
use crate::source::{self, SectorAccess};
use crate::unpad::UnpaddedReader;

const ENDPOINT: &str = "ipfs";

/// Reads blocks out of unsealed copies. Blocking.
#[derive(Clone)]
pub struct PieceBlocks {
    index: PieceIndex,
    sectors: Arc<dyn SectorAccess>,
}

impl std::fmt::Debug for PieceBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PieceBlocks").finish_non_exhaustive()
    }
}

impl PieceBlocks {
    /// Blocks of the pieces in `index`, from the copies `sectors` holds.
    pub fn new(index: PieceIndex, sectors: Arc<dyn SectorAccess>) -> Self {
        Self { index, sectors }
    }

    /// The sectors holding `cid`'s block, whether or not they have an
    /// unsealed copy, and the block's length.
    pub fn sectors_of(&self, cid: &Cid) -> Result<(Vec<SectorNumber>, u64), RetrievalError> {
        let mut out = Vec::new();
        let mut length = 0;
        for b in self.index.find_block(cid.hash()).map_err(internal)? {
            length = b.length;
            for l in self.index.locations(&b.piece).map_err(internal)? {
                if !out.contains(&l.sector) {
                    out.push(l.sector);
                }
            }
        }
        Ok((out, length))
    }

    /// The block's bytes from a piece that has an unsealed copy, or `None`
    /// when the index does not know it or no copy holds it.
    pub fn read(&self, cid: &Cid) -> Result<Option<Vec<u8>>, RetrievalError> {
        for b in self.index.find_block(cid.hash()).map_err(internal)? {
            for l in self.index.locations(&b.piece).map_err(internal)? {
                let Some(file) = self.sectors.unsealed(l.sector) else {
                    continue;
                };
                let span = source::span(file, &l);
                let mut r = UnpaddedReader::open(&span, b.offset, b.length).map_err(|e| {
                    RetrievalError::Internal(anyhow::anyhow!(
                        "read block {cid} in sector {}: {e}",
                        l.sector
                    ))
                })?;
                let mut out = Vec::with_capacity(usize::try_from(b.length).unwrap_or(0));
                while let Some(c) = r.next_chunk(1 << 20).map_err(|e| {
                    RetrievalError::Internal(anyhow::anyhow!("read block {cid}: {e}"))
                })? {
                    out.extend_from_slice(&c);
                }
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}

impl dag::BlockSource for PieceBlocks {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, DagError> {
        self.read(cid)
            .map_err(|e| DagError::Source(anyhow::anyhow!("{e}")))
    }
}

fn internal(e: impl std::fmt::Display) -> RetrievalError {
    RetrievalError::Internal(anyhow::anyhow!("read the block index: {e}"))
}

fn joined(e: tokio::task::JoinError) -> RetrievalError {
    RetrievalError::Internal(anyhow::anyhow!("blocking task: {e}"))
}

/// CAR bytes gathered before a send: fewer, larger chunks for small blocks.
const FLUSH_BYTES: usize = 256 << 10;

/// The `/ipfs/{cid}[/path]` handler.
pub async fn handle(
    State(r): State<Arc<Retrieval>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ext: Extensions,
) -> Response {
    let started = Instant::now();
    match serve(&r, &method, &uri, &headers, &ext, started).await {
        Ok(resp) => r.count(ENDPOINT, started, resp),
        Err(e) => r.error(ENDPOINT, started, e),
    }
}

async fn serve(
    r: &Arc<Retrieval>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    ext: &Extensions,
    started: Instant,
) -> Result<Response, RetrievalError> {
    // The raw path, still percent-encoded: the content path's parser
    // rejects encoded slashes and dot segments itself.
    let raw = uri.path().strip_prefix("/ipfs/").unwrap_or_default();
    let (first, rest) = raw.split_once('/').unwrap_or((raw, ""));
    let root: Cid = first
        .parse()
        .map_err(|e| RetrievalError::BadRequest(format!("{first:?} is not a CID: {e}")))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let request =
        dag::parse_request(accept, uri.query().unwrap_or_default(), rest).map_err(|e| {
            match e.http_status() {
                406 => RetrievalError::NotAcceptable(e.to_string()),
                _ => RetrievalError::BadRequest(e.to_string()),
            }
        })?;
    let blocks = PieceBlocks::new(r.index.clone(), r.sectors.clone());
    let b = blocks.clone();
    let (sectors, length) = if is_identity(&root) {
        (Vec::new(), root.hash().digest().len() as u64)
    } else {
        let (sectors, length) = tokio::task::spawn_blocking(move || b.sectors_of(&root))
            .await
            .map_err(joined)??;
        if sectors.is_empty() {
            return Err(RetrievalError::NotFound(format!(
                "block {root} is not stored here"
            )));
        }
        (sectors, length)
    };
    let mut out: Vec<(HeaderName, String)> = dag::response_headers(&root, &request)
        .into_iter()
        .filter_map(|(k, v)| HeaderName::from_bytes(k.as_bytes()).ok().map(|k| (k, v)))
        .collect();
    if request.format == ResponseFormat::Raw {
        out.push((header::CONTENT_LENGTH, length.to_string()));
    }
    if method == Method::HEAD {
        return Ok(head_only(StatusCode::OK, out));
    }
    let permit = r.limits.admit()?;
    for s in &sectors {
        r.unsealed(*s).await?;
    }
    let readings: Vec<_> = sectors.iter().map(|s| r.unseals.reading(*s)).collect();
    let transfer = Transfer {
        permit,
        reading: None,
        client: client(ext),
        endpoint: ENDPOINT,
        started,
    };
    if request.format == ResponseFormat::Raw {
        let data = tokio::task::spawn_blocking(move || dag::load_block(&blocks, &root))
            .await
            .map_err(joined)?
            .map_err(walk_error)?;
        drop(readings);
        let (tx, rx) = body::channel();
        drop(tx);
        let mut resp = head_only(StatusCode::OK, out);
        *resp.body_mut() = body::from_channel(
            Some(Bytes::from(data)),
            rx,
            transfer,
            r.limits.clone(),
            r.metrics.clone(),
        );
        return Ok(resp);
    }

    let (tx, rx) = body::channel();
    let (started_tx, started_rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let _readings = readings;
        write_car(&blocks, &root, &request, &tx, started_tx);
    });
    match started_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(walk_error(e)),
        Err(_) => {
            return Err(RetrievalError::Internal(anyhow::anyhow!(
                "the CAR writer ended without a word"
            )));
        }
    }
    let mut resp = head_only(StatusCode::OK, out);
    *resp.body_mut() = body::from_channel(None, rx, transfer, r.limits.clone(), r.metrics.clone());
    Ok(resp)
}

fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == 0x00
}

/// The answer for a walk that failed before anything was sent.
fn walk_error(e: DagError) -> RetrievalError {
    match e {
        DagError::BlockNotFound(_) | DagError::PathNotFound { .. } => {
            RetrievalError::NotFound(e.to_string())
        }
        DagError::NotADirectory { .. } | DagError::ShardedDirectory { .. } => {
            RetrievalError::BadRequest(e.to_string())
        }
        e => RetrievalError::Internal(anyhow::anyhow!("{e}")),
    }
}

/// The blocking CAR writer: says on `started` whether the walk found its
/// first block (or failed before it), then streams the CAR on `tx`.
fn write_car(
    blocks: &PieceBlocks,
    root: &Cid,
    request: &GatewayRequest,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
    started: oneshot::Sender<Result<(), DagError>>,
) {
    let mut started = Some(started);
    let mut buf = match dag::car_header(std::slice::from_ref(root)) {
        Ok(h) => h,
        Err(e) => {
            if let Some(s) = started.take() {
                let _ = s.send(Err(e));
            }
            return;
        }
    };
    let result = dag::walk(
        blocks,
        root,
        &request.path,
        request.scope,
        request.entity_bytes,
        |cid, data| {
            if let Some(s) = started.take() {
                let _ = s.send(Ok(()));
            }
            buf.extend(dag::car_section(cid, data));
            if buf.len() >= FLUSH_BYTES {
                let chunk = Bytes::from(std::mem::take(&mut buf));
                tx.blocking_send(Ok(chunk))
                    .map_err(|_| DagError::Sink(anyhow::anyhow!("the client went away")))?;
            }
            Ok(())
        },
    );
    match result {
        Ok(_) => {
            if let Some(s) = started.take() {
                let _ = s.send(Ok(()));
            }
            if !buf.is_empty() {
                let _ = tx.blocking_send(Ok(Bytes::from(buf)));
            }
        }
        Err(e) => match started.take() {
            Some(s) => {
                let _ = s.send(Err(*e.error));
            }
            None => {
                if !matches!(*e.error, DagError::Sink(_)) {
                    warn!(%root, "CAR walk failed after {} blocks: {}", e.emitted, e.error);
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.error.to_string())));
                }
            }
        },
    }
}
