//! The retrieval HTTP server: its shared state and routes.
//!
//! | route | what |
//! |---|---|
//! | `GET|HEAD /piece/{cid}` | a piece, v1 or v2 CID, with Range ([`crate::piece`]) |
//! | `GET|HEAD /ipfs/{cid}[/path]` | the trustless gateway ([`crate::gateway`]) |
//! | `GET /ipni-provider/{peerId}/ipni/v1/ad/{head,cid}` | the IPNI ad chain ([`crate::advertise`]) |
//! | `GET /info`, `GET /health` | what this server is; that it is up |
//!
//! Every answer, error or not, is counted by endpoint and status.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use ferrite_market::index::PieceIndex;
use ferrite_types::SectorNumber;
use tokio::sync::watch;
use tracing::warn;

use crate::cache::PieceCache;
use crate::config::RetrievalConfig;
use crate::error::RetrievalError;
use crate::limits::Limits;
use crate::metrics::RetrievalMetrics;
use crate::sendfile::{Mappings, SendfileListener};
use crate::source::{SectorAccess, Unsealer};
use crate::unseal::Unseals;

/// What every retrieval answer may carry: pieces and blocks never change.
pub const CACHE_CONTROL: &str = "public, max-age=29030400, immutable";

/// The retrieval service: the piece index, the sectors' unsealed copies,
/// unsealing, limits and metrics.
pub struct Retrieval {
    pub(crate) cfg: RetrievalConfig,
    pub(crate) index: PieceIndex,
    pub(crate) sectors: Arc<dyn SectorAccess>,
    pub(crate) unseals: Arc<Unseals>,
    pub(crate) limits: Limits,
    pub(crate) metrics: RetrievalMetrics,
    pub(crate) ipni: Option<crate::advertise::http::Publisher>,
    /// The unpadded-piece cache, when `[retrieval.cache] dir` is set.
    pub(crate) cache: Option<Arc<PieceCache>>,
    /// The cache files mapped now, which the sockets send with sendfile.
    mappings: Arc<Mappings>,
}

impl std::fmt::Debug for Retrieval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrieval")
            .field("listen", &self.cfg.listen)
            .finish_non_exhaustive()
    }
}

impl Retrieval {
    /// The service over `index`, reading copies through `sectors` and
    /// unsealing through `unsealer`; serving the IPNI ad chain when `ipni`
    /// is given. A cache directory that cannot be opened leaves the cache
    /// off, with a warning.
    pub fn new(
        cfg: RetrievalConfig,
        index: PieceIndex,
        sectors: Arc<dyn SectorAccess>,
        unsealer: Arc<dyn Unsealer>,
        metrics: RetrievalMetrics,
        ipni: Option<crate::advertise::http::Publisher>,
    ) -> Arc<Self> {
        let limits = Limits::new(
            cfg.max_concurrent_transfers,
            cfg.max_bytes_per_second_per_client,
        );
        let mappings = Mappings::new();
        let cache =
            PieceCache::open(&cfg.cache, mappings.clone(), metrics.clone()).unwrap_or_else(|e| {
                warn!(dir = %cfg.cache.dir.display(), "piece cache off: open it: {e}");
                None
            });
        Arc::new(Self {
            unseals: Unseals::new(unsealer, metrics.clone()),
            cache,
            mappings,
            cfg,
            index,
            sectors,
            limits,
            metrics,
            ipni,
        })
    }

    /// The metrics this service fills.
    pub fn metrics(&self) -> &RetrievalMetrics {
        &self.metrics
    }

    /// Bytes sent with sendfile so far (from the piece cache).
    pub fn sendfile_bytes(&self) -> u64 {
        self.mappings.sent()
    }

    /// The routes. Serve them with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so that the
    /// per-client pace knows each client.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/piece/{cid}", get(crate::piece::handle))
            .route("/ipfs/{*path}", get(crate::gateway::handle))
            .route(
                "/ipni-provider/{peer}/ipni/v1/ad/{name}",
                get(crate::advertise::http::handle),
            )
            .route("/info", get(info))
            .route("/health", get(health))
            .fallback(not_found)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `stop`, and sweeps idle unsealed copies
    /// when `[retrieval.unseal] keep_secs` is set and cached pieces no
    /// longer stored when the cache is on. Cached pieces go out with
    /// sendfile ([`crate::sendfile`]).
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        if self.cfg.unseal.keep_secs > 0 || self.cache.is_some() {
            tokio::spawn(self.clone().sweep(stop.clone()));
        }
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        // No Nagle delay: a response's head and a body's last partial
        // segment go out at once, as they are written.
        let listener = SendfileListener::new(listener, self.mappings.clone()).tap_io(|io| {
            let _ = io.tcp().set_nodelay(true);
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await?;
        Ok(())
    }

    async fn sweep(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let keep = Duration::from_secs(self.cfg.unseal.keep_secs);
        let every = match keep.is_zero() {
            true => Duration::from_secs(60),
            false => keep.min(Duration::from_secs(60)),
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let me = self.clone();
            let swept = tokio::task::spawn_blocking(move || {
                if !keep.is_zero() {
                    me.unseals.sweep(keep);
                }
                if let Some(cache) = &me.cache {
                    // An index that can't be read keeps the piece.
                    cache.retain(|c| me.index.locations(c).map_or(true, |l| !l.is_empty()));
                }
            });
            if let Err(e) = swept.await {
                warn!("sweep idle unsealed copies and cached pieces: {e}");
            }
        }
    }

    /// The sector's unsealed copy: the one there is, or one unsealed now
    /// (or 503 with Retry-After when `[retrieval.unseal] wait` is off).
    pub(crate) async fn unsealed(&self, sector: SectorNumber) -> Result<PathBuf, RetrievalError> {
        if let Some(p) = self.find_unsealed(sector).await? {
            return Ok(p);
        }
        let rx = self.unseals.start(sector);
        if !self.cfg.unseal.wait {
            return Err(RetrievalError::Unsealing(self.cfg.unseal.retry_after_secs));
        }
        Unseals::wait(sector, rx).await
    }

    /// The sector's unsealed copy, if there is one now.
    pub(crate) async fn find_unsealed(
        &self,
        sector: SectorNumber,
    ) -> Result<Option<PathBuf>, RetrievalError> {
        let sectors = self.sectors.clone();
        tokio::task::spawn_blocking(move || sectors.unsealed(sector))
            .await
            .map_err(|e| RetrievalError::Internal(anyhow::anyhow!("look for the copy: {e}")))
    }

    /// The answer for `err`, counted.
    pub(crate) fn error(
        &self,
        endpoint: &'static str,
        started: Instant,
        err: RetrievalError,
    ) -> Response {
        let status = err.status();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            warn!(endpoint, "retrieval failed: {err:#}");
        }
        let mut resp = (status, format!("{err}\n")).into_response();
        if let Some(s) = err.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        self.count(endpoint, started, resp)
    }

    /// Counts `resp` by its status; for answers with no streamed body, the
    /// time to first byte is now.
    pub(crate) fn count(
        &self,
        endpoint: &'static str,
        started: Instant,
        resp: Response,
    ) -> Response {
        self.metrics
            .requests
            .with_label_values(&[endpoint, resp.status().as_str()])
            .inc();
        if resp.status() != StatusCode::OK && resp.status() != StatusCode::PARTIAL_CONTENT {
            self.metrics
                .ttfb
                .with_label_values(&[endpoint])
                .observe(started.elapsed().as_secs_f64());
        }
        resp
    }
}

/// The client's address, when the server was started with connect info.
pub(crate) fn client(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

async fn info() -> Response {
    let body = serde_json::json!({
        "server": "ferrite",
        "version": env!("CARGO_PKG_VERSION"),
        "endpoints": ["/piece/{pieceCid}", "/ipfs/{cid}", "/ipni-provider/{peerId}/ipni/v1/ad/{head|cid}"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn health() -> &'static str {
    "ok\n"
}

async fn not_found(axum::extract::State(r): axum::extract::State<Arc<Retrieval>>) -> Response {
    r.error(
        "other",
        Instant::now(),
        RetrievalError::NotFound("no such route".into()),
    )
}

/// A body-less answer with these headers, for HEAD.
pub(crate) fn head_only(
    status: StatusCode,
    headers: Vec<(header::HeaderName, String)>,
) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}
