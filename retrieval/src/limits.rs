//! The server's limits: a cap on transfers running at once, and a pace per
//! client (IP address) in bytes per second.
//!
//! The pace is a token bucket kept as a time: each client's `next` is when
//! its bytes sent so far are paid for at its rate. Sending `n` bytes moves
//! `next` on by `n / rate`, and the sender waits until `next` is at most a
//! second ahead of now (a second's burst). It is a few lines over a map,
//! with no timer per client: a rate-limiter crate's cells do not fit
//! variable-sized chunks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::RetrievalError;

/// The burst a client may take ahead of its rate.
const BURST: Duration = Duration::from_secs(1);

/// Clients remembered before idle ones are forgotten.
const FORGET_PAST: usize = 4096;

/// The transfer cap and the per-client pace.
#[derive(Debug, Clone)]
pub struct Limits {
    transfers: Arc<Semaphore>,
    pace: Option<Arc<Pace>>,
}

impl Limits {
    /// At most `transfers` at once; each client at most `bytes_per_second`
    /// (0: no limit).
    pub fn new(transfers: usize, bytes_per_second: u64) -> Self {
        Self {
            transfers: Arc::new(Semaphore::new(transfers)),
            pace: (bytes_per_second > 0).then(|| {
                Arc::new(Pace {
                    rate: bytes_per_second,
                    clients: Mutex::new(HashMap::new()),
                })
            }),
        }
    }

    /// A transfer slot, held until the body is sent or dropped;
    /// [`RetrievalError::Busy`] when none is free.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, RetrievalError> {
        self.transfers
            .clone()
            .try_acquire_owned()
            .map_err(|_| RetrievalError::Busy)
    }

    /// How long `client` must wait before sending `bytes` more.
    pub fn delay(&self, client: Option<IpAddr>, bytes: u64) -> Duration {
        match (&self.pace, client) {
            (Some(p), Some(ip)) => p.take(ip, bytes, Instant::now()),
            _ => Duration::ZERO,
        }
    }
}

#[derive(Debug)]
struct Pace {
    rate: u64,
    clients: Mutex<HashMap<IpAddr, Instant>>,
}

impl Pace {
    fn take(&self, ip: IpAddr, bytes: u64, now: Instant) -> Duration {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() > FORGET_PAST {
            clients.retain(|_, next| *next > now);
        }
        let next = clients.entry(ip).or_insert(now);
        // Unused time does not pile up: the burst is BURST, however long
        // the client was idle.
        if *next < now {
            *next = now;
        }
        *next += Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        next.saturating_duration_since(now + BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_refuses_past_its_count_and_frees_on_drop() {
        let l = Limits::new(2, 0);
        let a = l.admit().unwrap();
        let _b = l.admit().unwrap();
        assert!(matches!(l.admit(), Err(RetrievalError::Busy)));
        drop(a);
        assert!(l.admit().is_ok());
    }

    #[test]
    fn the_pace_holds_each_client_to_its_rate() {
        let p = Pace {
            rate: 1000,
            clients: Mutex::new(HashMap::new()),
        };
        let now = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        // A second's burst passes at once, the next second's waits a second.
        assert_eq!(p.take(a, 1000, now), Duration::ZERO);
        assert_eq!(p.take(a, 1000, now), Duration::from_secs(1));
        // Another client has its own bucket.
        assert_eq!(p.take(b, 500, now), Duration::ZERO);
        // Ten seconds idle do not bank ten seconds of bytes.
        let later = now + Duration::from_secs(10);
        assert_eq!(p.take(a, 2000, later), Duration::from_secs(1));
        assert_eq!(Limits::new(1, 0).delay(Some(a), 1 << 30), Duration::ZERO);
    }
}
