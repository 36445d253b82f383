//! The driver: runs each sector's next action and records what came of it.
//!
//! One step of a sector: load its record, ask the pure state machine for the
//! next [`Action`], carry it out (a proof task through [`Tasks`], a chain step
//! through [`ChainSteps`], or nothing yet), apply the resulting [`Event`], and
//! write the new record before anything else acts on it. A refused event is
//! logged and the record kept. Every action is idempotent, so a crash between
//! two steps replays the last one:
//!
//! - tasks rewrite their outputs (see [`crate::tasks`]);
//! - `SendPreCommit` and `VerifyAndSendProveCommit` first look on chain, and
//!   report a precommit or a proof that already landed instead of sending;
//!   a duplicate that was sent anyway fails on chain, and the wait that
//!   follows finds the first one landed;
//! - waits only read the chain.
//!
//! Precommits go in batches ([`crate::batch`]): a sector ready to precommit
//! joins the batch, and the step that finds it due sends one
//! PreCommitSectorBatch2 for all of its sectors; each records the message at
//! its next step. A message that vanishes from the mpool is waited on until
//! the operator acts.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use cid::Cid;
use ferrite_chain::ChainError;
use ferrite_cluster::StorageRegistry;
use ferrite_proofs::Workers;
use ferrite_store::Store;
use ferrite_types::{ActorId, ChainEpoch, SectorId, SectorNumber};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, instrument, warn};

use crate::batch::{BatchConfig, PreCommitBatch};
use crate::chain::{ChainSteps, PreCommitInput};
use crate::job::Executor;
use crate::packing::{PackingConfig, deal_pieces};
use crate::records::Records;
use crate::tasks::{SectorStorage, Tasks};
use crate::{
    Action, Event, MessageCid, RetryPolicy, SealingError, SectorPiece, SectorRecord, SectorState,
    Task,
};

mod update;

/// How often a sector that waits on the chain is looked at again. Default
/// of [`Pipeline::new`]; change it with [`Pipeline::with_poll_interval`].
const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// The sealing pipeline of one miner: its sector records, its chain steps and
/// its in-process workers.
#[derive(Debug)]
pub struct Pipeline {
    records: Records,
    chain: Arc<ChainSteps>,
    tasks: Tasks,
    miner: ActorId,
    policy: RetryPolicy,
    poll: Duration,
    /// Serializes the allocation of sector numbers.
    allocating: Mutex<()>,
    /// Sectors being stepped now: a sector is stepped by one caller at a time.
    busy: Mutex<HashSet<SectorNumber>>,
    /// Sectors waiting to be precommitted together.
    batch: Mutex<PreCommitBatch>,
    /// Serializes each read-modify-write of a record between a step and
    /// [`Pipeline::add_piece`], which may queue a piece in a sector whose
    /// AddPiece task is running.
    writing: Mutex<()>,
    /// When sectors with deal pieces start sealing.
    packing: PackingConfig,
}

/// Holds a sector in [`Pipeline::busy`] while it is stepped.
struct Claim<'a> {
    busy: &'a Mutex<HashSet<SectorNumber>>,
    number: SectorNumber,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        lock(self.busy).remove(&self.number);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A chain read that failed: the step is tried again later.
fn unavailable(what: &str, e: ChainError) -> SealingError {
    SealingError::Transient(anyhow::Error::new(e).context(what.to_string()))
}

/// A message that could not be sent: `Ok(reason)` when the sector should
/// fail (and retry after its backoff), `Err` when the node was unreachable.
fn send_failure(what: &str, e: ChainError) -> Result<String, SealingError> {
    match e {
        ChainError::Unavailable(_) => Err(unavailable(what, e)),
        e => Ok(format!("{what}: {e:#}")),
    }
}

fn task_failed(task: Task, e: impl std::fmt::Display) -> Event {
    Event::TaskFailed {
        task,
        reason: format!("{e:#}"),
    }
}

fn precommit_event(sent: crate::batch::Sent) -> Event {
    match sent {
        Ok(cid) => Event::PreCommitSent {
            message: MessageCid(cid),
        },
        Err(reason) => Event::PreCommitFailed { reason },
    }
}

/// Committed capacity (only fillers) precommits without a CommD.
fn is_cc(pieces: &[SectorPiece]) -> bool {
    pieces.iter().all(|p| matches!(p, SectorPiece::Filler(_)))
}

impl Pipeline {
    /// The pipeline of `miner`: records in `store` (opened with
    /// [`crate::records::TABLES`]), chain steps through `chain` (which must
    /// be `miner`'s: the proofs are bound to the miner that sends them),
    /// proof work on `workers`, sector files under `seal_dir`.
    pub fn new(
        store: Store,
        chain: Arc<ChainSteps>,
        workers: Workers,
        seal_dir: PathBuf,
        miner: ActorId,
        policy: RetryPolicy,
    ) -> Result<Self, SealingError> {
        let steps_miner = chain.config().miner;
        if steps_miner.id().ok() != Some(miner.0) {
            return Err(SealingError::Fatal(anyhow::anyhow!(
                "the chain steps are for {steps_miner}, the pipeline for {miner}"
            )));
        }
        Ok(Self {
            records: Records::new(store),
            chain,
            tasks: Tasks::new(workers, SectorStorage::Dir(seal_dir)),
            miner,
            policy,
            poll: DEFAULT_POLL,
            allocating: Mutex::new(()),
            busy: Mutex::new(HashSet::new()),
            batch: Mutex::new(PreCommitBatch::new(BatchConfig::default())),
            writing: Mutex::new(()),
            packing: PackingConfig::default(),
        })
    }

    /// Puts sector files on the storage paths attached to `registry`
    /// instead of under the seal directory, reserving each task's space
    /// there (see [`crate::tasks`]). Call it at start, before anything runs:
    /// it releases the reservations of this miner's sectors that a crash
    /// left behind (keep one pipeline per miner on a registry).
    pub fn with_storage(mut self, registry: Arc<StorageRegistry>) -> Result<Self, SealingError> {
        let stale: Vec<_> = registry
            .reservations()
            .context("read storage reservations")?
            .into_iter()
            .filter(|r| r.sector.miner == self.miner)
            .collect();
        for r in stale {
            registry
                .release(r.id)
                .context("release a stale storage reservation")?;
            info!(
                sector = %r.sector,
                task = %r.purpose,
                bytes = r.bytes,
                "released the space a crashed task held"
            );
        }
        self.tasks = self.tasks.with_storage(SectorStorage::Paths(registry));
        Ok(self)
    }

    /// Runs the sealing tasks on `executor` (the cluster's workers) instead
    /// of in this process. Proof verification and sector removal stay here.
    pub fn with_executor(mut self, executor: Arc<dyn Executor>) -> Self {
        self.tasks = self.tasks.with_executor(executor);
        self
    }

    /// Where the sector files are.
    pub fn storage(&self) -> &SectorStorage {
        self.tasks.storage()
    }

    /// Precommits sectors in batches of up to `config.max_sectors`, waiting
    /// up to `config.wait_secs` for a batch to fill (default: one sector per
    /// message, at once).
    pub fn with_precommit_batch(self, config: BatchConfig) -> Self {
        *lock(&self.batch) = PreCommitBatch::new(config);
        self
    }

    /// Packs deal pieces with `config` (default: [`PackingConfig::default`]).
    pub fn with_packing(mut self, config: PackingConfig) -> Self {
        self.packing = config;
        self
    }

    /// Looks at waiting sectors every `poll` instead of every second.
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The sector records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The record of sector `number`.
    pub fn record(&self, number: SectorNumber) -> Result<SectorRecord, SealingError> {
        self.records
            .get(number)
            .context("read sector record")?
            .ok_or(SealingError::UnknownSector(number))
    }

    /// Every sector, by number (the scan runs off the async runtime).
    pub async fn sectors(&self) -> Result<Vec<SectorRecord>, SealingError> {
        let records = self.records.clone();
        let all = tokio::task::spawn_blocking(move || records.all())
            .await
            .context("scan sector records")?
            .context("scan sector records")?;
        Ok(all)
    }

    /// Pledges a committed-capacity sector: takes the next sector number,
    /// and records the sector with `StartSealing` applied, in one write.
    pub async fn pledge(&self) -> Result<SectorNumber, SealingError> {
        let proof = self
            .chain
            .seal_proof()
            .await
            .map_err(|e| unavailable("read the miner's sector size", e))?;
        let record = {
            let _one_at_a_time = lock(&self.allocating);
            let number = self.records.next_number().context("read sector counter")?;
            let now = now_secs();
            let record = SectorRecord::new(SectorId::new(self.miner, number), proof, now)
                .apply(Event::StartSealing, &self.policy, now)
                .context("start sealing a new sector")?;
            self.records
                .insert_new(&record)
                .context("write new sector record")?;
            record
        };
        info!(sector = %record.id, "pledged a committed-capacity sector");
        Ok(record.id.number)
    }

    /// Puts a published deal's piece into a sector: the open sector with
    /// the least room that still fits it, or, with
    /// [`PackingConfig::snap_deals`], a proven committed-capacity sector
    /// (which is then updated), or a new one. The AddPiece task
    /// then writes it (a piece assigned while the sector's AddPiece task
    /// runs is written by the next one). Refused, with the reason, when the
    /// deal starts too soon to be sealed first, or its piece is larger than
    /// a sector. Returns the sector's number.
    pub async fn add_piece(&self, deal: crate::DealPiece) -> Result<SectorNumber, SealingError> {
        let proof = self
            .chain
            .seal_proof()
            .await
            .map_err(|e| unavailable("read the miner's sector size", e))?;
        let head = self
            .chain
            .head()
            .await
            .map_err(|e| unavailable("read the chain head", e))?;
        crate::packing::check_start(&deal, ChainEpoch(head), &self.packing).map_err(|reason| {
            SealingError::PieceRefused {
                deal: deal.deal,
                reason,
            }
        })?;
        let sector = ferrite_types::PaddedPieceSize::from(proof.sector_size()).bytes();
        if deal.piece.size.bytes() > sector {
            return Err(SealingError::PieceRefused {
                deal: deal.deal,
                reason: format!(
                    "its piece of {} bytes is larger than a {} sector",
                    deal.piece.size,
                    proof.sector_size()
                ),
            });
        }
        let records = self.sectors().await?;
        let event = Event::AssignPiece {
            piece: deal.clone(),
        };
        for number in crate::packing::candidates(&records, deal.piece.size.bytes()) {
            let _writing = lock(&self.writing);
            let record = self.record(number)?;
            // Another piece may have taken the room since the scan.
            if let Ok(next) = record.apply(event.clone(), &self.policy, now_secs()) {
                self.records.put(&next).context("write sector record")?;
                info!(sector = %record.id, deal = %deal.deal, to = next.state.name(), "assigned a deal piece");
                return Ok(number);
            }
        }
        if self.packing.snap_deals {
            if let Some(number) = self.snap_into_cc(&deal, &records).await? {
                return Ok(number);
            }
            info!(deal = %deal.deal, "no proven CC sector can take the deal: it goes into a new sector");
        }
        let record = {
            let _one_at_a_time = lock(&self.allocating);
            let number = self.records.next_number().context("read sector counter")?;
            let now = now_secs();
            let record = SectorRecord::new(SectorId::new(self.miner, number), proof, now)
                .apply(event, &self.policy, now)
                .map_err(SealingError::Refused)?;
            self.records
                .insert_new(&record)
                .context("write new sector record")?;
            record
        };
        info!(sector = %record.id, deal = %deal.deal, "opened a sector for a deal piece");
        Ok(record.id.number)
    }

    /// Applies an operator command (`Event::Remove`, `Event::Restart`, or
    /// `Event::Retry` to skip a backoff) to sector `number` and records it;
    /// the next step acts on it. A sector being stepped right now is
    /// `Transient`: the command is refused rather than raced.
    pub fn command(
        &self,
        number: SectorNumber,
        event: Event,
    ) -> Result<SectorRecord, SealingError> {
        let Some(_claim) = self.claim(number) else {
            return Err(SealingError::Transient(anyhow::anyhow!(
                "sector {number} is running a step; try again"
            )));
        };
        let record = self.record(number)?;
        let event_name = event.name();
        let next = record
            .apply(event, &self.policy, now_secs())
            .map_err(SealingError::Refused)?;
        self.records.put(&next).context("write sector record")?;
        info!(
            sector = number.0,
            event = event_name,
            to = next.state.name(),
            "operator command"
        );
        Ok(next)
    }

    /// Marks `number` as being stepped, unless it already is.
    fn claim(&self, number: SectorNumber) -> Option<Claim<'_>> {
        // Not `then_some`: a Claim built for nothing would release, on drop,
        // the claim of whoever holds the sector.
        if !lock(&self.busy).insert(number) {
            return None;
        }
        Some(Claim {
            busy: &self.busy,
            number,
        })
    }

    /// One step of sector `number`: runs its next action and records the
    /// resulting transition. `Ok(true)` if the sector moved on, `Ok(false)`
    /// if there was nothing to do yet (a wait, a backoff, a sector being
    /// stepped elsewhere, or a refused event).
    #[instrument(skip_all, fields(miner = %self.miner, sector = number.0))]
    pub async fn step(&self, number: SectorNumber) -> Result<bool, SealingError> {
        let Some(_claim) = self.claim(number) else {
            return Ok(false);
        };
        let record = self.record(number)?;
        let action = record.state.next_action(&self.policy);
        let Some(event) = self.act(&record, action).await? else {
            return Ok(false);
        };
        let event_name = event.name();
        let _writing = lock(&self.writing);
        // Read again: `add_piece` may have queued a piece meanwhile.
        let record = self.record(number)?;
        match record.apply(event, &self.policy, now_secs()) {
            Ok(next) => {
                self.records.put(&next).context("write sector record")?;
                info!(
                    event = event_name,
                    from = record.state.name(),
                    to = next.state.name(),
                    "sector moved on"
                );
                Ok(true)
            }
            Err(e) => {
                warn!(
                    "{event_name} refused, the sector stays in {}: {e:#}",
                    record.state.name()
                );
                Ok(false)
            }
        }
    }

    /// Steps sector `number` until `done` holds for its record, or `timeout`
    /// passes (a `Transient` error). Transient step errors are logged and
    /// the step is tried again.
    pub async fn run_until(
        &self,
        number: SectorNumber,
        done: impl Fn(&SectorRecord) -> bool,
        timeout: Duration,
    ) -> Result<SectorRecord, SealingError> {
        let start = Instant::now();
        loop {
            let record = self.record(number)?;
            if done(&record) {
                return Ok(record);
            }
            if start.elapsed() > timeout {
                return Err(SealingError::Transient(anyhow::anyhow!(
                    "sector {number} is still in {} after {timeout:?}",
                    record.state.name()
                )));
            }
            match self.step(number).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.poll).await,
                Err(SealingError::Transient(e)) => {
                    warn!(sector = number.0, "step failed, trying again: {e:#}");
                    tokio::time::sleep(self.poll).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Drives every sector until `stop` turns true: each sector with work to
    /// do gets a task that steps it while it moves on; the records are
    /// scanned again every poll interval.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> Result<(), SealingError> {
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            match self.sectors().await {
                Ok(records) => {
                    for r in records {
                        let idle = match r.state.next_action(&self.policy) {
                            // A sector with deal pieces is checked for its
                            // start of sealing.
                            Action::WaitPieces => !matches!(
                                &r.state,
                                SectorState::Packing { base, .. } if deal_pieces(&base.pieces).next().is_some()
                            ),
                            Action::AwaitOperator | Action::None => true,
                            _ => false,
                        };
                        let number = r.id.number;
                        if idle || lock(&self.busy).contains(&number) {
                            continue;
                        }
                        let me = Arc::clone(&self);
                        running.spawn(async move { me.drive(number).await });
                    }
                }
                Err(e) => error!("list sectors: {e:#}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        Ok(())
    }

    /// Steps one sector while it moves on.
    async fn drive(&self, number: SectorNumber) {
        loop {
            match self.step(number).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(SealingError::Transient(e)) => {
                    warn!(sector = number.0, "step failed, trying again later: {e:#}");
                    return;
                }
                Err(e) => {
                    error!(sector = number.0, "step failed: {e:#}");
                    return;
                }
            }
        }
    }

    /// Carries out `action` for `record`; the event it produced, if any.
    async fn act(
        &self,
        record: &SectorRecord,
        action: Action,
    ) -> Result<Option<Event>, SealingError> {
        use SectorState as S;
        let id = record.id;
        let n = id.number.0;
        let event = match (action, &record.state) {
            (Action::WaitPieces, S::Packing { base, .. })
                if deal_pieces(&base.pieces).next().is_some() =>
            {
                let head = match self.chain.head().await {
                    Ok(h) => Some(ChainEpoch(h)),
                    Err(e) => {
                        warn!("read the chain head for packing: {e:#}");
                        None
                    }
                };
                crate::packing::seal_now(record, now_secs(), &self.packing, || head).map(|why| {
                    info!(sector = %id, reason = ?why, "closing the sector to new pieces");
                    Event::StartSealing
                })
            }
            (Action::WaitPieces | Action::AwaitOperator | Action::None, _) => None,
            (Action::Retry { after }, _) => {
                let since = record.since_secs().unwrap_or(0);
                (now_secs() >= since.saturating_add(after.as_secs())).then_some(Event::Retry)
            }
            (Action::AddPiece, S::AddPiece { base, adding, .. }) => Some(
                match self
                    .tasks
                    .add_pieces(id, base.proof, &base.pieces, adding)
                    .await
                {
                    Ok(pieces) => Event::PieceAdded { pieces },
                    Err(e) => task_failed(Task::AddPiece, e),
                },
            ),
            (Action::Pc1, S::Pc1 { base }) => {
                let (ticket, epoch) = self
                    .chain
                    .ticket()
                    .await
                    .map_err(|e| unavailable("draw the seal ticket", e))?;
                Some(
                    match self.tasks.pc1(id, base.proof, &base.pieces, ticket).await {
                        Ok(output) => Event::Pc1Done {
                            ticket,
                            ticket_epoch: ChainEpoch(epoch),
                            output,
                        },
                        Err(e) => task_failed(Task::Pc1, e),
                    },
                )
            }
            (Action::Pc2, S::Pc2 { base, pc1, .. }) => {
                Some(match self.tasks.pc2(id, base.proof, pc1).await {
                    Ok(out) => Event::Pc2Done {
                        comm_r: out.comm_r,
                        comm_d: out.comm_d,
                    },
                    Err(e) => task_failed(Task::Pc2, e),
                })
            }
            (Action::SendPreCommit, S::PreCommitReady { base, sealed }) => {
                if let Some(landed) = self.precommit_on_chain(n, sealed.comm_r).await? {
                    Some(landed)
                } else if self
                    .chain
                    .proven(n)
                    .await
                    .map_err(|e| unavailable("look up the sector", e))?
                    .is_some()
                {
                    Some(Event::PreCommitFailed {
                        reason: format!("sector number {n} is already proven on chain"),
                    })
                } else {
                    let input = PreCommitInput {
                        number: n,
                        proof: base.proof,
                        comm_r: sealed.comm_r,
                        comm_d: (!is_cc(&base.pieces)).then_some(sealed.comm_d),
                        ticket_epoch: sealed.ticket.epoch.0,
                        deals_end: deal_pieces(&base.pieces)
                            .map(|d| d.end.0)
                            .max()
                            .unwrap_or(0),
                    };
                    self.precommit_batched(input).await?
                }
            }
            (
                Action::WaitPreCommit,
                S::PreCommitting {
                    sealed, message, ..
                },
            ) => match self.precommit_on_chain(n, sealed.comm_r).await? {
                Some(landed) => Some(landed),
                None => self
                    .failed_message(message)
                    .await?
                    .map(|reason| Event::PreCommitFailed { reason }),
            },
            (
                Action::WaitSeed,
                S::WaitSeed {
                    precommit_epoch, ..
                },
            ) => match self.precommit_moved(n, *precommit_epoch).await? {
                Some(moved) => Some(moved),
                None if !self.precommit_present(n).await? => None,
                None => self
                    .chain
                    .seed(precommit_epoch.0)
                    .await
                    .map_err(|e| unavailable("draw the seed", e))?
                    .map(|(seed, epoch)| Event::SeedReady {
                        seed,
                        epoch: ChainEpoch(epoch),
                    }),
            },
            (
                Action::C1,
                S::C1 {
                    base,
                    sealed,
                    challenge,
                },
            ) => Some(
                match self
                    .tasks
                    .c1(id, base.proof, &base.pieces, sealed, challenge)
                    .await
                {
                    Ok(()) => Event::C1Done,
                    Err(e) => task_failed(Task::C1, e),
                },
            ),
            (Action::C2, S::C2 { base, .. }) => Some(match self.tasks.c2(id, base.proof).await {
                Ok(proof) => Event::C2Done { proof },
                Err(e) => task_failed(Task::C2, e),
            }),
            (
                Action::VerifyAndSendProveCommit,
                S::ProveCommitReady {
                    base,
                    sealed,
                    challenge,
                    proof,
                },
            ) => {
                if let Some(landed) = self.proven_on_chain(n).await? {
                    Some(landed)
                } else if let Some(moved) =
                    self.precommit_moved(n, challenge.precommit_epoch).await?
                {
                    Some(moved)
                } else if !self.precommit_present(n).await? {
                    None
                } else {
                    match self
                        .tasks
                        .verify(id, base.proof, sealed, challenge, proof)
                        .await
                    {
                        Ok(true) => Some(
                            match self
                                .chain
                                .send_prove_commit(
                                    n,
                                    &proof.0,
                                    &deal_pieces(&base.pieces).collect::<Vec<_>>(),
                                )
                                .await
                            {
                                Ok(cid) => Event::ProveCommitSent {
                                    message: MessageCid(cid.to_string()),
                                },
                                Err(e) => Event::ProveCommitFailed {
                                    reason: send_failure("send the prove-commit", e)?,
                                },
                            },
                        ),
                        Ok(false) => Some(Event::ProofInvalid {
                            reason: "verify_seal rejected the proof".to_string(),
                        }),
                        Err(e) => Some(Event::ProofInvalid {
                            reason: format!("verify_seal failed on the proof: {e:#}"),
                        }),
                    }
                }
            }
            (Action::WaitProveCommit, S::ProveCommitting { message, .. }) => {
                match self.proven_on_chain(n).await? {
                    Some(landed) => Some(landed),
                    None => self
                        .failed_message(message)
                        .await?
                        .map(|reason| Event::ProveCommitFailed { reason }),
                }
            }
            (Action::Finalize, S::Finalizing { base, .. }) => {
                Some(match self.tasks.finalize(id, base.proof).await {
                    Ok(()) => Event::Finalized,
                    Err(e) => task_failed(Task::Finalize, e),
                })
            }
            (
                Action::UpdateEncode
                | Action::UpdateProve
                | Action::VerifyAndSendUpdate
                | Action::WaitUpdate
                | Action::FinalizeUpdate,
                _,
            ) => self.act_update(record, action).await?,
            (Action::RemoveData, S::Removing) => Some(match self.tasks.remove(id).await {
                Ok(()) => Event::DataRemoved,
                Err(e) => task_failed(Task::RemoveData, e),
            }),
            (action, state) => {
                return Err(SealingError::Fatal(anyhow::anyhow!(
                    "no way to run {action:?} in {}",
                    state.name()
                )));
            }
        };
        Ok(event)
    }

    /// Joins the sector to the precommit batch and sends the batch if it is
    /// due; the sector's event once its batch was sent (or could not be).
    async fn precommit_batched(
        &self,
        input: PreCommitInput,
    ) -> Result<Option<Event>, SealingError> {
        let n = input.number;
        let batch = {
            let mut b = lock(&self.batch);
            if let Some(sent) = b.take_sent(n) {
                return Ok(Some(precommit_event(sent)));
            }
            b.join(input, Instant::now());
            b.take_due(Instant::now())
        };
        // A sector removed or restarted while it waited stays out.
        let batch: Vec<PreCommitInput> = batch
            .into_iter()
            .filter(|i| {
                self.record(SectorNumber(i.number))
                    .is_ok_and(|r| matches!(r.state, SectorState::PreCommitReady { .. }))
            })
            .collect();
        if batch.is_empty() {
            return Ok(None);
        }
        let numbers: Vec<u64> = batch.iter().map(|i| i.number).collect();
        let sent = match self.chain.send_precommit(&batch).await {
            Ok(cid) => {
                info!(sectors = ?numbers, message = %cid, "sent a precommit batch");
                Ok(cid.to_string())
            }
            // Unreachable node: the sectors join the next batch.
            Err(e) => Err(send_failure("send the precommit batch", e)?),
        };
        let mut b = lock(&self.batch);
        b.record(&batch, &sent);
        Ok(b.take_sent(n).map(precommit_event))
    }

    /// `PreCommitLanded` if the chain has the sector precommitted, or
    /// `PreCommitFailed` if it has it precommitted with another CommR.
    async fn precommit_on_chain(
        &self,
        n: u64,
        comm_r: ferrite_types::CommR,
    ) -> Result<Option<Event>, SealingError> {
        let Some(pre) = self
            .chain
            .precommit(n)
            .await
            .map_err(|e| unavailable("look up the precommit", e))?
        else {
            return Ok(None);
        };
        Ok(Some(if pre.sealed_cid == comm_r.to_cid() {
            Event::PreCommitLanded {
                epoch: ChainEpoch(pre.precommit_epoch),
            }
        } else {
            Event::PreCommitFailed {
                reason: format!(
                    "sector {n} is precommitted on chain with CommR {}, not this replica's {}",
                    pre.sealed_cid,
                    comm_r.to_cid()
                ),
            }
        }))
    }

    /// `PreCommitLanded` with the new epoch if a reorganisation moved the
    /// sector's precommit away from `epoch` (its seed then changes).
    async fn precommit_moved(
        &self,
        n: u64,
        epoch: ChainEpoch,
    ) -> Result<Option<Event>, SealingError> {
        let pre = self
            .chain
            .precommit(n)
            .await
            .map_err(|e| unavailable("look up the precommit", e))?;
        Ok(match pre {
            Some(p) if p.precommit_epoch != epoch.0 => {
                warn!(
                    sector = n,
                    from = epoch.0,
                    to = p.precommit_epoch,
                    "the precommit moved to another epoch (a reorganisation): waiting for its new seed"
                );
                Some(Event::PreCommitLanded {
                    epoch: ChainEpoch(p.precommit_epoch),
                })
            }
            _ => None,
        })
    }

    /// Whether the sector's precommit is on chain; when it is not (its
    /// tipset was reverted), the sector waits for the message to land again.
    async fn precommit_present(&self, n: u64) -> Result<bool, SealingError> {
        let present = self
            .chain
            .precommit(n)
            .await
            .map_err(|e| unavailable("look up the precommit", e))?
            .is_some();
        if !present {
            warn!(
                sector = n,
                "the precommit is not on chain any more (reverted): waiting for it to land again"
            );
        }
        Ok(present)
    }

    /// `ProveCommitLanded` if the chain has the sector proven.
    async fn proven_on_chain(&self, n: u64) -> Result<Option<Event>, SealingError> {
        Ok(self
            .chain
            .proven(n)
            .await
            .map_err(|e| unavailable("look up the sector", e))?
            .map(|s| Event::ProveCommitLanded {
                epoch: ChainEpoch(s.activation),
            }))
    }

    /// Why `message` failed on chain, once it has executed and failed.
    async fn failed_message(&self, message: &MessageCid) -> Result<Option<String>, SealingError> {
        let cid = match Cid::try_from(message.0.as_str()) {
            Ok(c) => c,
            Err(e) => return Ok(Some(format!("unreadable message CID {message}: {e}"))),
        };
        let executed = self
            .chain
            .executed(&cid)
            .await
            .map_err(|e| unavailable("look up the message", e))?;
        Ok(executed.and_then(|x| {
            (!x.receipt.exit_code.is_success()).then(|| {
                format!(
                    "message {} failed at epoch {} with exit code {}",
                    x.message, x.height, x.receipt.exit_code
                )
            })
        }))
    }
}
