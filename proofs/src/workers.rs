//! The one bridge from async code to proof work (STYLE R4).

use std::fmt;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{ProofsError, StageLimits};

/// A kind of proof work, each with its own concurrency cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// AddPiece and piece commitments.
    AddPiece,
    /// PreCommit phase 1 (SDR).
    Pc1,
    /// PreCommit phase 2 (trees, CommR).
    Pc2,
    /// Commit phase 1 (vanilla proofs).
    C1,
    /// Commit phase 2 (the SNARK).
    C2,
    /// Winning and Window PoSt.
    Post,
    /// Unsealing for retrieval.
    Unseal,
    /// Verification and cache clean-up.
    Verify,
}

impl Stage {
    /// Every stage.
    pub const ALL: [Stage; 8] = [
        Stage::AddPiece,
        Stage::Pc1,
        Stage::Pc2,
        Stage::C1,
        Stage::C2,
        Stage::Post,
        Stage::Unseal,
        Stage::Verify,
    ];

    /// A short lowercase name, for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Stage::AddPiece => "add_piece",
            Stage::Pc1 => "pc1",
            Stage::Pc2 => "pc2",
            Stage::C1 => "c1",
            Stage::C2 => "c2",
            Stage::Post => "post",
            Stage::Unseal => "unseal",
            Stage::Verify => "verify",
        }
    }

    fn index(self) -> usize {
        match self {
            Stage::AddPiece => 0,
            Stage::Pc1 => 1,
            Stage::Pc2 => 2,
            Stage::C1 => 3,
            Stage::C2 => 4,
            Stage::Post => 5,
            Stage::Unseal => 6,
            Stage::Verify => 7,
        }
    }

    fn limit(self, l: &StageLimits) -> usize {
        match self {
            Stage::AddPiece => l.add_piece,
            Stage::Pc1 => l.pc1,
            Stage::Pc2 => l.pc2,
            Stage::C1 => l.c1,
            Stage::C2 => l.c2,
            Stage::Post => l.post,
            Stage::Unseal => l.unseal,
            Stage::Verify => l.verify,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs proof work on blocking threads, at most `limit` tasks per stage at
/// once. Cheap to clone; clones share the caps.
#[derive(Debug, Clone)]
pub struct Workers {
    caps: Arc<[Arc<Semaphore>; 8]>,
}

impl Workers {
    /// Workers with the caps of `limits`. A cap of 0 is an error: the stage
    /// could never run.
    pub fn new(limits: &StageLimits) -> Result<Self, ProofsError> {
        for stage in Stage::ALL {
            if stage.limit(limits) == 0 {
                return Err(ProofsError::InvalidInput(format!(
                    "proofs.limits.{} must be at least 1",
                    stage.name()
                )));
            }
        }
        let caps = Stage::ALL.map(|s| Arc::new(Semaphore::new(s.limit(limits))));
        Ok(Self {
            caps: Arc::new(caps),
        })
    }

    /// Runs `job` off the async runtime once a `stage` slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        stage: Stage,
        job: impl FnOnce() -> Result<T, ProofsError> + Send + 'static,
    ) -> Result<T, ProofsError> {
        let sem = Arc::clone(&self.caps[stage.index()]);
        let _permit = sem
            .acquire_owned()
            .await
            .map_err(|_| ProofsError::Settings(format!("{stage} workers are shut down")))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ProofsError::Proof(anyhow::anyhow!("{stage} task panicked: {e}")))?
    }

    /// Free slots of `stage` right now (for queue-depth gauges and tests).
    pub fn available(&self, stage: Stage) -> usize {
        self.caps[stage.index()].available_permits()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stage_never_exceeds_its_cap() {
        let limits = StageLimits {
            c2: 2,
            ..StageLimits::default()
        };
        let w = Workers::new(&limits).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (w, running, peak) = (w.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                w.run(Stage::C2, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(w.available(Stage::C2), 2);
    }

    #[tokio::test]
    async fn errors_and_panics_come_back_as_errors() {
        let w = Workers::new(&StageLimits::default()).unwrap();
        let err = w
            .run(Stage::Pc1, || -> Result<(), ProofsError> {
                Err(ProofsError::InvalidInput("x".into()))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, ProofsError::InvalidInput(_)));
        let err = w
            .run(Stage::Pc1, || -> Result<(), ProofsError> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("pc1 task panicked"), "{err}");
        assert_eq!(w.available(Stage::Pc1), 2);
    }

    #[test]
    fn zero_cap_is_rejected() {
        let limits = StageLimits {
            pc2: 0,
            ..StageLimits::default()
        };
        let err = Workers::new(&limits).unwrap_err();
        assert!(err.to_string().contains("proofs.limits.pc2"), "{err}");
    }
}
