//! Response bodies streamed from unsealed copies.
//!
//! A blocking thread reads and unpads one chunk at a time (or slices a
//! cached piece's mapping into frames) and hands it over a small channel; the response's stream takes each chunk, waits out the
//! client's pace, counts it, and sends it. A client that goes away drops
//! the stream, the thread's next send fails, and the thread ends, closing
//! the file. At most [`CHANNEL_CHUNKS`] chunks are in memory per transfer.
//! A read error halfway aborts the response (the client sees a short body,
//! never wrong bytes).

use std::net::IpAddr;
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tracing::warn;

use crate::limits::Limits;
use crate::metrics::RetrievalMetrics;
use crate::unpad::UnpaddedReader;
use crate::unseal::Reading;

/// Unpadded bytes read per chunk.
pub const CHUNK: usize = 1 << 20;

/// Bytes per frame of a cached piece: slicing costs nothing, and larger
/// frames mean fewer wake-ups per byte; each frame goes out with sendfile.
pub const CACHED_CHUNK: usize = 4 << 20;

/// Chunks in flight between the reader thread and the response.
const CHANNEL_CHUNKS: usize = 4;

/// One part of a body, in order.
#[derive(Debug)]
pub enum Part {
    /// Bytes known already (multipart framing, a block).
    Bytes(Bytes),
    /// A range of a piece, read as it is sent.
    Piece(UnpaddedReader),
    /// A range of a cached piece (a mapped file), sent in frames of
    /// [`CACHED_CHUNK`].
    Cached(Bytes),
}

/// What a transfer holds until its body is sent or dropped, and where it
/// reports.
#[derive(Debug)]
pub struct Transfer {
    /// The transfer slot.
    pub permit: OwnedSemaphorePermit,
    /// The unsealed copy being read, so it is not swept meanwhile.
    pub reading: Option<Reading>,
    /// The client, for its pace.
    pub client: Option<IpAddr>,
    /// The endpoint label of the metrics.
    pub endpoint: &'static str,
    /// When the request arrived.
    pub started: Instant,
}

/// The body made of `parts`, read on a blocking thread.
pub fn stream(
    parts: Vec<Part>,
    transfer: Transfer,
    limits: Limits,
    metrics: RetrievalMetrics,
) -> Body {
    let (tx, rx) = channel();
    tokio::task::spawn_blocking(move || produce(parts, &tx));
    from_channel(None, rx, transfer, limits, metrics)
}

/// A channel for a blocking producer of body chunks; an error aborts the
/// body.
pub fn channel() -> (
    mpsc::Sender<std::io::Result<Bytes>>,
    mpsc::Receiver<std::io::Result<Bytes>>,
) {
    mpsc::channel(CHANNEL_CHUNKS)
}

/// The body of `first` (if any) then what `rx` yields, paced and counted,
/// holding `transfer` until it is sent or dropped.
pub fn from_channel(
    first: Option<Bytes>,
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    transfer: Transfer,
    limits: Limits,
    metrics: RetrievalMetrics,
) -> Body {
    metrics.transfers.inc();
    let guard = Guard {
        metrics: metrics.clone(),
        transfer,
        first: true,
    };
    let state = (first, rx, guard, limits);
    let chunks = futures_util::stream::unfold(state, |(first, mut rx, mut g, l)| async move {
        let item = match first {
            Some(b) => Ok(b),
            None => rx.recv().await?,
        };
        if let Ok(b) = &item {
            let wait = l.delay(g.transfer.client, b.len() as u64);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let endpoint = g.transfer.endpoint;
            if g.first {
                g.first = false;
                g.metrics
                    .ttfb
                    .with_label_values(&[endpoint])
                    .observe(g.transfer.started.elapsed().as_secs_f64());
            }
            g.metrics
                .bytes
                .with_label_values(&[endpoint])
                .inc_by(b.len() as u64);
        }
        Some((item, (None, rx, g, l)))
    });
    Body::from_stream(chunks.boxed())
}

/// Keeps the transfer's slot and counts it as running until dropped.
struct Guard {
    metrics: RetrievalMetrics,
    transfer: Transfer,
    first: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.metrics.transfers.dec();
    }
}

/// The reader thread: every part, chunk by chunk, until the end or until
/// the receiver is gone.
fn produce(parts: Vec<Part>, tx: &mpsc::Sender<std::io::Result<Bytes>>) {
    for part in parts {
        match part {
            Part::Bytes(b) => {
                if tx.blocking_send(Ok(b)).is_err() {
                    return;
                }
            }
            Part::Cached(mut b) => {
                while !b.is_empty() {
                    let frame = b.split_to(b.len().min(CACHED_CHUNK));
                    if tx.blocking_send(Ok(frame)).is_err() {
                        return;
                    }
                }
            }
            Part::Piece(mut reader) => loop {
                match reader.next_chunk(CHUNK) {
                    Ok(Some(c)) => {
                        if tx.blocking_send(Ok(c)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!(file = %reader.path().display(), "read for a retrieval: {e}");
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            },
        }
    }
}
