//! Unsealing on demand, once per sector however many requests ask.
//!
//! ```text
//!  request ─► SectorAccess::unsealed(sector) ─► Some(path): serve
//!                                            └► None: Unseals::start(sector)
//!                                                 ├─ one runs already: share its outcome
//!                                                 └─ none runs: spawn Unsealer::unseal (a cluster task)
//!             wait = true:  await the outcome, then serve
//!             wait = false: 503 + Retry-After; the unseal goes on
//! ```
//!
//! The unseal runs in its own task, so a client that goes away does not
//! cancel it for the others. Copies made here are remembered with their
//! last read: with `keep_secs` set, [`Unseals::sweep`] removes those idle
//! longer (never while a read holds a [`Reading`] guard, and never a copy
//! that sealing kept).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferrite_types::SectorNumber;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::error::RetrievalError;
use crate::metrics::RetrievalMetrics;
use crate::source::Unsealer;

/// An unseal's outcome, once it has one: the copy's path, or why not.
type Outcome = Option<Result<PathBuf, String>>;

/// A copy this module made, and who reads it.
#[derive(Debug)]
struct Made {
    path: PathBuf,
    last_read: Instant,
    readers: usize,
}

#[derive(Debug, Default)]
struct State {
    running: HashMap<SectorNumber, watch::Receiver<Outcome>>,
    made: HashMap<SectorNumber, Made>,
}

/// The unseals on demand; see the module docs.
pub struct Unseals {
    unsealer: Arc<dyn Unsealer>,
    state: Mutex<State>,
    metrics: RetrievalMetrics,
}

impl std::fmt::Debug for Unseals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unseals").finish_non_exhaustive()
    }
}

impl Unseals {
    /// Unseals with `unsealer`.
    pub fn new(unsealer: Arc<dyn Unsealer>, metrics: RetrievalMetrics) -> Arc<Self> {
        Arc::new(Self {
            unsealer,
            state: Mutex::new(State::default()),
            metrics,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The unseal of `sector`: the one running, or a new one.
    pub fn start(self: &Arc<Self>, sector: SectorNumber) -> watch::Receiver<Outcome> {
        let mut st = self.lock();
        if let Some(rx) = st.running.get(&sector) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        st.running.insert(sector, rx.clone());
        drop(st);
        let me = self.clone();
        tokio::spawn(async move {
            info!(%sector, "unsealing for a retrieval");
            let started = Instant::now();
            let result = me.unsealer.unseal(sector).await;
            let secs = started.elapsed().as_secs_f64();
            let outcome = match result {
                Ok(path) => {
                    info!(%sector, secs, path = %path.display(), "unsealed");
                    me.metrics.unseals.with_label_values(&["ok"]).inc();
                    me.metrics
                        .unseal_seconds
                        .with_label_values(&["ok"])
                        .observe(secs);
                    Ok(path)
                }
                Err(e) => {
                    warn!(%sector, "unseal for a retrieval: {e:#}");
                    me.metrics.unseals.with_label_values(&["failed"]).inc();
                    me.metrics
                        .unseal_seconds
                        .with_label_values(&["failed"])
                        .observe(secs);
                    Err(format!("{e:#}"))
                }
            };
            let mut st = me.lock();
            st.running.remove(&sector);
            if let Ok(path) = &outcome {
                st.made.insert(
                    sector,
                    Made {
                        path: path.clone(),
                        last_read: Instant::now(),
                        readers: 0,
                    },
                );
            }
            drop(st);
            let _ = tx.send(Some(outcome));
        });
        rx
    }

    /// Waits for an unseal's outcome.
    pub async fn wait(
        sector: SectorNumber,
        mut rx: watch::Receiver<Outcome>,
    ) -> Result<PathBuf, RetrievalError> {
        let outcome = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| RetrievalError::UnsealFailed {
                sector: sector.0,
                reason: "the unseal task ended without an outcome".into(),
            })?
            .clone();
        match outcome {
            Some(Ok(path)) => Ok(path),
            Some(Err(reason)) => Err(RetrievalError::UnsealFailed {
                sector: sector.0,
                reason,
            }),
            None => Err(RetrievalError::UnsealFailed {
                sector: sector.0,
                reason: "no outcome".into(),
            }),
        }
    }

    /// Whether an unseal of `sector` runs now.
    pub fn running(&self, sector: SectorNumber) -> bool {
        self.lock().running.contains_key(&sector)
    }

    /// Marks a read of `sector`'s copy, until the guard drops.
    pub fn reading(self: &Arc<Self>, sector: SectorNumber) -> Reading {
        if let Some(m) = self.lock().made.get_mut(&sector) {
            m.readers += 1;
            m.last_read = Instant::now();
        }
        Reading {
            unseals: self.clone(),
            sector,
        }
    }

    /// Removes the copies made here that nobody has read for `keep`.
    /// Blocking (it removes files).
    pub fn sweep(&self, keep: Duration) -> Vec<SectorNumber> {
        let now = Instant::now();
        let mut gone = Vec::new();
        let mut st = self.lock();
        st.made.retain(|sector, m| {
            let idle = m.readers == 0 && now.duration_since(m.last_read) >= keep;
            if !idle {
                return true;
            }
            match std::fs::remove_file(&m.path) {
                Ok(()) => {
                    info!(%sector, path = %m.path.display(), "removed an idle unsealed copy");
                    gone.push(*sector);
                    false
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => {
                    warn!(%sector, path = %m.path.display(), "remove an idle unsealed copy: {e}");
                    true
                }
            }
        });
        gone
    }
}

/// A read of an unsealed copy; see [`Unseals::reading`].
#[derive(Debug)]
pub struct Reading {
    unseals: Arc<Unseals>,
    sector: SectorNumber,
}

impl Drop for Reading {
    fn drop(&mut self) {
        if let Some(m) = self.unseals.lock().made.get_mut(&self.sector) {
            m.readers = m.readers.saturating_sub(1);
            m.last_read = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;

    struct Slow {
        calls: AtomicUsize,
        dir: PathBuf,
        fail: bool,
    }

    #[async_trait]
    impl Unsealer for Slow {
        async fn unseal(&self, sector: SectorNumber) -> anyhow::Result<PathBuf> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            anyhow::ensure!(!self.fail, "the worker died");
            let p = self.dir.join(format!("unsealed-{}", sector.0));
            std::fs::write(&p, b"data")?;
            Ok(p)
        }
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_unseal_and_idle_copies_go() {
        let dir = tempfile::tempdir().unwrap();
        let slow = Arc::new(Slow {
            calls: AtomicUsize::new(0),
            dir: dir.path().to_path_buf(),
            fail: false,
        });
        let metrics = RetrievalMetrics::unregistered().unwrap();
        let u = Unseals::new(slow.clone(), metrics.clone());
        let waits: Vec<_> = (0..10)
            .map(|_| {
                let rx = u.start(SectorNumber(7));
                tokio::spawn(Unseals::wait(SectorNumber(7), rx))
            })
            .collect();
        assert!(u.running(SectorNumber(7)));
        for w in waits {
            let p = w.await.unwrap().unwrap();
            assert!(p.ends_with("unsealed-7"));
        }
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1);
        assert_eq!(metrics.unseals.with_label_values(&["ok"]).get(), 1);
        assert!(!u.running(SectorNumber(7)));
        // Read now: not swept; idle: swept.
        let guard = u.reading(SectorNumber(7));
        assert!(u.sweep(Duration::ZERO).is_empty());
        drop(guard);
        assert_eq!(u.sweep(Duration::from_secs(3600)), vec![]);
        assert_eq!(u.sweep(Duration::ZERO), vec![SectorNumber(7)]);
        assert!(!dir.path().join("unsealed-7").exists());
    }

    #[tokio::test]
    async fn a_failed_unseal_reaches_every_waiter_and_can_be_retried() {
        let dir = tempfile::tempdir().unwrap();
        let slow = Arc::new(Slow {
            calls: AtomicUsize::new(0),
            dir: dir.path().to_path_buf(),
            fail: true,
        });
        let metrics = RetrievalMetrics::unregistered().unwrap();
        let u = Unseals::new(slow.clone(), metrics.clone());
        let a = u.start(SectorNumber(1));
        let b = u.start(SectorNumber(1));
        for rx in [a, b] {
            let err = Unseals::wait(SectorNumber(1), rx).await.unwrap_err();
            assert!(err.to_string().contains("the worker died"), "{err}");
        }
        assert_eq!(metrics.unseals.with_label_values(&["failed"]).get(), 1);
        let _ = Unseals::wait(SectorNumber(1), u.start(SectorNumber(1))).await;
        assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
    }
}
