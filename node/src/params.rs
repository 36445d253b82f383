//! The node's proof parameters: at start, which of the files its miner's
//! sector size needs are missing from the parameter cache; the generation
//! of missing test-size ones in the background, so that the node answers at
//! once on a fresh machine; and the gate ([`ParamsGate`]) that holds back
//! the work that needs them (the local worker's tasks, the WindowPoSt
//! prover) until every file exists.
//!
//! ```text
//!  start ─► params::missing(size, dir) ── none ─────────────────────────────► Ready
//!               │ test size (2 KiB, 8 MiB)          │ production size
//!               ▼                                   ▼
//!   Generating { circuit, k of n }            Missing { command }: never generated;
//!   on a thread of its own, one circuit       the operator runs `ferrite params
//!   after another ─► Ready                    fetch`, and the cache is checked
//!               │ error                       again every RECHECK ─► Ready
//!               ▼
//!   Failed { error }: checked again every RECHECK (`ferrite params generate`
//!   in another terminal opens the gate) ─► Ready
//! ```
//!
//! Tasks queue in the cluster meanwhile: `ferrite sectors pledge` answers,
//! and its sectors wait in their first state. `ferrite status` shows the
//! gate (`Ferrite.NodeStatus`'s `Params`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use ferrite_proofs::params::generate::{self, ParamCircuit};
use ferrite_proofs::params::{self, MissingCircuit};
use ferrite_types::SectorSize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tracing::{info, warn};

/// How often a gate that waits for someone else (a fetch, or a generation
/// run by hand after a failure) looks at the cache again.
const RECHECK: Duration = Duration::from_secs(10);

/// Where the gate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsState {
    /// Every file is there.
    Ready,
    /// The node generates the missing circuits, one after another.
    Generating {
        /// The circuit being generated (`PoRep 2KiB`).
        circuit: String,
        /// Its place among the circuits generated, from 1.
        index: usize,
        /// How many circuits are generated.
        total: usize,
        /// When this circuit started.
        since: SystemTime,
    },
    /// Production-size files are missing; only the operator can fetch them.
    Missing {
        /// The absent files.
        files: Vec<PathBuf>,
    },
    /// Generation failed; the cache is still checked every [`RECHECK`].
    Failed {
        /// Why.
        error: String,
    },
}

/// What to do about the missing circuits of a sector size.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Ready,
    Generate(Vec<ParamCircuit>),
    Fetch(Vec<PathBuf>),
}

fn plan(size: SectorSize, missing: Vec<MissingCircuit>) -> Plan {
    if missing.is_empty() {
        Plan::Ready
    } else if size.is_test_size() {
        Plan::Generate(missing.into_iter().map(|m| m.circuit).collect())
    } else {
        Plan::Fetch(missing.into_iter().flat_map(|m| m.files).collect())
    }
}

/// Whether the proof parameters of the node's miner exist yet, shared by
/// whatever waits for them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ParamsGate {
    dir: PathBuf,
    size: SectorSize,
    state: watch::Receiver<ParamsState>,
}

impl ParamsGate {
    /// Checks `dir` for the files a miner of `size` needs. What is missing
    /// is generated on a thread of its own for a test size, and waited for
    /// (checked every [`RECHECK`]) for a production size.
    pub fn start(dir: &Path, size: SectorSize) -> anyhow::Result<Self> {
        let missing = params::missing(size, dir).context("check the proof parameters")?;
        let (tx, gate) = Self::new(dir, size, ParamsState::Ready);
        match plan(size, missing) {
            Plan::Ready => {}
            Plan::Generate(circuits) => {
                // The first state is set before the thread starts, so that
                // the caller's first look already says what happens.
                tx.send_replace(generating(&circuits, 0));
                let dir = dir.to_path_buf();
                std::thread::Builder::new()
                    .name("params".to_string())
                    // CPU-bound for minutes, off the runtime (STYLE R4): a
                    // thread of its own rather than a proofs `Workers` slot,
                    // which sealing's own tasks would then wait behind.
                    .spawn(move || {
                        if let Err(error) = generate_all(&circuits, &dir, &tx) {
                            warn!(
                                "generating the proof parameters failed: {error:#}; sealing waits until `{}` succeeds",
                                params::command_for(size)
                            );
                            tx.send_replace(ParamsState::Failed {
                                error: format!("{error:#}"),
                            });
                            recheck(&dir, size, &tx, RECHECK);
                        }
                    })
                    .context("start the parameter generation")?;
            }
            Plan::Fetch(files) => {
                warn!(
                    missing = files.len(),
                    "the proof parameters for {size} sectors are missing from {}: sealing and proving wait until `{}` has fetched them",
                    dir.display(),
                    params::command_for(size)
                );
                tx.send_replace(ParamsState::Missing { files });
                let dir = dir.to_path_buf();
                std::thread::Builder::new()
                    .name("params".to_string())
                    .spawn(move || recheck(&dir, size, &tx, RECHECK))
                    .context("start the parameter check")?;
            }
        }
        Ok(gate)
    }

    fn new(
        dir: &Path,
        size: SectorSize,
        first: ParamsState,
    ) -> (watch::Sender<ParamsState>, ParamsGate) {
        let (tx, state) = watch::channel(first);
        let gate = ParamsGate {
            dir: dir.to_path_buf(),
            size,
            state,
        };
        (tx, gate)
    }

    /// The current state.
    pub fn state(&self) -> ParamsState {
        self.state.borrow().clone()
    }

    /// Waits until the parameters exist: true then, false if `stop` came
    /// first. Says in the log that `what` waits, and when it starts.
    pub async fn wait(&self, what: &str, stop: &mut watch::Receiver<bool>) -> bool {
        let mut state = self.state.clone();
        let mut waited = false;
        loop {
            let now = state.borrow_and_update().clone();
            if now == ParamsState::Ready {
                if waited {
                    info!("{what} starts: the proof parameters are ready");
                }
                return true;
            }
            if !waited {
                info!("{what} waits for the proof parameters: {}", self.describe());
                waited = true;
            }
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        // The thread that would open the gate is gone.
                        let _ = stop.changed().await;
                        return false;
                    }
                }
                _ = stop.changed() => return false,
            }
        }
    }

    /// One line on the state, for the log and `ferrite status`.
    pub fn describe(&self) -> String {
        describe(&self.to_json())
    }

    /// `Ferrite.NodeStatus`'s `Params`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "Dir": self.dir.display().to_string(),
            "SectorSize": self.size.to_string(),
            "Command": params::command_for(self.size),
        });
        match self.state() {
            ParamsState::Ready => v["State"] = json!("ready"),
            ParamsState::Generating {
                circuit,
                index,
                total,
                since,
            } => {
                v["State"] = json!("generating");
                v["Circuit"] = json!(circuit);
                v["Index"] = json!(index);
                v["Total"] = json!(total);
                v["ElapsedSecs"] = json!(since.elapsed().map(|d| d.as_secs()).unwrap_or(0));
            }
            ParamsState::Missing { files } => {
                v["State"] = json!("missing");
                v["MissingFiles"] = json!(files.len());
            }
            ParamsState::Failed { error } => {
                v["State"] = json!("failed");
                v["Error"] = json!(error);
            }
        }
        v
    }
}

/// One line on `Ferrite.NodeStatus`'s `Params`, as [`ParamsGate::to_json`]
/// writes it.
pub fn describe(p: &Value) -> String {
    let dir = p["Dir"].as_str().unwrap_or("?");
    let size = p["SectorSize"].as_str().unwrap_or("?");
    let command = p["Command"].as_str().unwrap_or("?");
    match p["State"].as_str().unwrap_or("?") {
        "ready" => format!("ready for {size} sectors in {dir}"),
        "generating" => format!(
            "generating {} ({} of {}) for {}s, into {dir}; sealing waits for them \
             (minutes, once per machine)",
            p["Circuit"].as_str().unwrap_or("?"),
            p["Index"],
            p["Total"],
            p["ElapsedSecs"]
        ),
        "missing" => format!(
            "{} files for {size} sectors missing from {dir}; sealing and proving wait until \
             `{command}` has fetched them",
            p["MissingFiles"]
        ),
        "failed" => format!(
            "generation failed ({}); sealing waits until `{command}` succeeds",
            p["Error"].as_str().unwrap_or("?")
        ),
        other => format!("{other} in {dir}"),
    }
}

fn generating(circuits: &[ParamCircuit], k: usize) -> ParamsState {
    ParamsState::Generating {
        circuit: circuits.get(k).map(|c| c.label()).unwrap_or_default(),
        index: k + 1,
        total: circuits.len(),
        since: SystemTime::now(),
    }
}

/// Generates `circuits` into `dir` in order, publishing each on `tx`;
/// `Ready` at the end.
fn generate_all(
    circuits: &[ParamCircuit],
    dir: &Path,
    tx: &watch::Sender<ParamsState>,
) -> anyhow::Result<()> {
    info!(
        "generating the parameters of {} circuits into {} in the background. {}",
        circuits.len(),
        dir.display(),
        generate::TEST_ONLY_WARNING
    );
    for (k, circuit) in circuits.iter().enumerate() {
        let label = circuit.label();
        tx.send_replace(generating(circuits, k));
        info!(
            "generating the {label} parameters ({} of {})",
            k + 1,
            circuits.len()
        );
        // Generation takes the cache's lock: a `ferrite params generate`
        // run elsewhere at the same time is waited for, not repeated.
        let done = generate::generate_circuit(*circuit, dir, &mut |_| {})
            .with_context(|| format!("generate the {label} parameters"))?;
        info!(
            "the {label} parameters are {} ({:.0} s)",
            if done.created {
                "generated"
            } else {
                "already there"
            },
            done.elapsed.as_secs_f64()
        );
    }
    tx.send_replace(ParamsState::Ready);
    info!("the proof parameters are ready: sealing and proving start");
    Ok(())
}

/// Looks at the cache `every` so often until nothing of `size` is
/// missing, then publishes `Ready`.
fn recheck(dir: &Path, size: SectorSize, tx: &watch::Sender<ParamsState>, every: Duration) {
    loop {
        std::thread::sleep(every);
        match params::missing(size, dir) {
            Ok(m) if m.is_empty() => {
                tx.send_replace(ParamsState::Ready);
                info!("the proof parameters are ready: sealing and proving start");
                return;
            }
            Ok(_) => {}
            Err(e) => warn!("check the proof parameters: {e}"),
        }
        if tx.is_closed() {
            // Nobody waits any more: the node is stopping.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_size_is_generated_and_a_production_size_is_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let small = params::missing(SectorSize::S2KiB, dir.path()).unwrap();
        assert_eq!(
            plan(SectorSize::S2KiB, small),
            Plan::Generate(params::required(SectorSize::S2KiB))
        );
        let big = params::missing(SectorSize::S32GiB, dir.path()).unwrap();
        let files: Vec<PathBuf> = big.iter().flat_map(|m| m.files.clone()).collect();
        assert_eq!(files.len(), 6);
        assert_eq!(plan(SectorSize::S32GiB, big), Plan::Fetch(files));
        assert_eq!(plan(SectorSize::S2KiB, Vec::new()), Plan::Ready);
    }

    #[test]
    fn a_gate_with_every_file_present_is_ready_without_a_thread() {
        let dir = tempfile::tempdir().unwrap();
        for m in params::missing(SectorSize::S2KiB, dir.path()).unwrap() {
            for f in m.files {
                std::fs::write(f, b"x").unwrap();
            }
        }
        let gate = ParamsGate::start(dir.path(), SectorSize::S2KiB).unwrap();
        assert_eq!(gate.state(), ParamsState::Ready);
        assert_eq!(gate.to_json()["State"], "ready");
    }

    #[tokio::test]
    async fn waiters_start_when_the_parameters_are_ready_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let circuits = params::required(SectorSize::S2KiB);
        let (tx, gate) = ParamsGate::new(dir.path(), SectorSize::S2KiB, generating(&circuits, 0));
        let (_stop_tx, stop) = watch::channel(false);
        let waiter = {
            let (gate, mut stop) = (gate.clone(), stop.clone());
            tokio::spawn(async move { gate.wait("the local worker", &mut stop).await })
        };
        let v = gate.to_json();
        assert_eq!(v["State"], "generating");
        assert_eq!(v["Circuit"], "PoRep 2KiB");
        assert_eq!(
            (v["Index"].as_u64(), v["Total"].as_u64()),
            (Some(1), Some(4))
        );
        assert!(
            gate.describe().contains("PoRep 2KiB (1 of 4)"),
            "{}",
            gate.describe()
        );
        tx.send_replace(generating(&circuits, 3));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "a waiter started before the parameters were ready"
        );
        tx.send_replace(ParamsState::Ready);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .unwrap()
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_waiter_gives_up_when_the_node_stops() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, gate) = ParamsGate::new(
            dir.path(),
            SectorSize::S32GiB,
            ParamsState::Missing { files: Vec::new() },
        );
        assert!(
            gate.describe()
                .contains("ferrite params fetch --sizes 32GiB")
        );
        let (stop_tx, mut stop) = watch::channel(false);
        let waiter = tokio::spawn(async move { gate.wait("proving", &mut stop).await });
        stop_tx.send_replace(true);
        assert!(
            !tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .unwrap()
                .unwrap()
        );
    }

    #[test]
    fn the_recheck_opens_the_gate_once_the_files_appear() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, gate) = ParamsGate::new(
            dir.path(),
            SectorSize::S2KiB,
            ParamsState::Failed {
                error: "out of memory".to_string(),
            },
        );
        assert!(gate.describe().contains("out of memory"));
        assert!(
            gate.describe()
                .contains("ferrite params generate --sizes 2KiB")
        );
        let checker = {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                recheck(&dir, SectorSize::S2KiB, &tx, Duration::from_millis(5))
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(matches!(gate.state(), ParamsState::Failed { .. }));
        for m in params::missing(SectorSize::S2KiB, dir.path()).unwrap() {
            for f in m.files {
                std::fs::write(f, b"x").unwrap();
            }
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !checker.is_finished() {
            assert!(std::time::Instant::now() < deadline, "the gate stayed shut");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(gate.state(), ParamsState::Ready);
    }
}
