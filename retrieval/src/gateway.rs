//! `GET|HEAD /ipfs/{cid}[/path]`: the IPFS trustless gateway over the
//! market's block index of CAR pieces.
//!
//! A block is found by its multihash in the index, which gives the piece
//! and the block's offset in the piece's payload; its bytes are read from
//! the piece's sector's unsealed copy (unsealed first if there is none) and
//! checked against the CID before they are sent.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use cid::Cid;
use ferrite_market::index::PieceIndex;
use ferrite_types::SectorNumber;

use crate::error::RetrievalError;
use crate::server::{CACHE_CONTROL, Retrieval, head_only};
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
    /// unsealed copy.
    pub fn sectors_of(&self, cid: &Cid) -> Result<Vec<SectorNumber>, RetrievalError> {
        let mut out = Vec::new();
        for b in self.index.find_block(cid.hash()).map_err(internal)? {
            for l in self.index.locations(&b.piece).map_err(internal)? {
                if !out.contains(&l.sector) {
                    out.push(l.sector);
                }
            }
        }
        Ok(out)
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

fn internal(e: impl std::fmt::Display) -> RetrievalError {
    RetrievalError::Internal(anyhow::anyhow!("read the block index: {e}"))
}

/// The `/ipfs/{cid}` handler.
pub async fn handle(
    State(r): State<Arc<Retrieval>>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
    ext: Extensions,
) -> Response {
    let started = Instant::now();
    let _ = (&headers, &ext);
    match serve(&r, &path, &method).await {
        Ok(resp) => r.count(ENDPOINT, started, resp),
        Err(e) => r.error(ENDPOINT, started, e),
    }
}

async fn serve(
    r: &Arc<Retrieval>,
    path: &str,
    method: &Method,
) -> Result<Response, RetrievalError> {
    let first = path.split('/').next().unwrap_or_default();
    let cid: Cid = first
        .parse()
        .map_err(|e| RetrievalError::BadRequest(format!("{first:?} is not a CID: {e}")))?;
    let blocks = PieceBlocks::new(r.index.clone(), r.sectors.clone());
    let b = blocks.clone();
    let sectors = tokio::task::spawn_blocking(move || b.sectors_of(&cid))
        .await
        .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("{e}")))??;
    let Some(sector) = sectors.first().copied() else {
        return Err(RetrievalError::NotFound(format!(
            "block {cid} is not stored here"
        )));
    };
    if method != Method::HEAD {
        r.unsealed(sector).await?;
    }
    let data = tokio::task::spawn_blocking(move || blocks.read(&cid))
        .await
        .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("{e}")))??
        .ok_or_else(|| RetrievalError::NotFound(format!("block {cid} is not readable here")))?;
    let headers = vec![
        (header::CONTENT_TYPE, "application/vnd.ipld.raw".to_string()),
        (header::CONTENT_LENGTH, data.len().to_string()),
        (header::CACHE_CONTROL, CACHE_CONTROL.to_string()),
        (header::ETAG, format!("\"{cid}.raw\"")),
    ];
    let mut resp = head_only(StatusCode::OK, headers);
    if method != Method::HEAD {
        *resp.body_mut() = axum::body::Body::from(data);
    }
    Ok(resp)
}
