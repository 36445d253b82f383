//! The WindowPoSt loop: a thin driver over [`crate::plan`].
//!
//! Every `poll_interval` it reads the head. When the head moves it:
//! 1. once per deadline window, checks the sectors of the deadline after
//!    next and declares faults (sectors that fail the check) and recoveries
//!    (faulty sectors that pass it) before that deadline's fault cutoff;
//! 2. once the current deadline's challenge is `challenge_confidence`
//!    epochs deep, checks its sectors again, proves the partitions not yet
//!    posted (skipping sectors that fail), verifies the proof locally, and
//!    submits SubmitWindowedPoSt as soon as the window is open, then follows
//!    the message until it is executed. At every head of an open window the
//!    chain's posted partitions are read again: a failed message, one that
//!    does not land, or one a reorg removed is recomputed while the window
//!    is open.
//!
//! Each piece of work (one deadline's proof, submission and wait for the
//! message; one window's declarations) runs as a task of its own, at most
//! one per deadline and kind at a time. A task that fails is logged,
//! counted (`ferrite_wdpost_task_failures_total{task}`) and started again
//! at the next head; a task that waits for its message holds nothing else.
//! So one bad deadline never delays another deadline's proof or any
//! declaration.
//!
//! A proof that fails (a library error or panic, or a proof that does not
//! verify locally) names no sector. It is narrowed down, as Lotus skips the
//! sectors its prover fails on: the sectors are proven in halves, then
//! halves of the failing halves, down to the sectors whose proofs fail
//! alone (two proofs per level for one bad sector: 2·log2(n)). Those are
//! skipped (the chain marks them faulty, and the next check declares them)
//! and the rest are proven.
//!
//! The chain is the source of truth: nothing here is persisted, so a
//! restarted prover simply picks up the current deadline (a partition the
//! chain shows as posted is not proven again).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cid::Cid;
use ferrite_chain::api::{BitField, Chain, DeadlineWindow, PartitionSectors, ProvenSector};
use ferrite_proofs::post::{self, PostInput, ProvingSector, VerifyPostInput};
use ferrite_proofs::{ProofsError, Stage, Workers};
use ferrite_types::{ActorId, CommR, PostProof, PostRandomness, SealProof, SectorNumber};
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::messages;
use crate::plan::{self, PartitionProof};
use crate::{ProvingError, ProvingMetrics, Replicas};

/// Filecoin's randomness tags (domain separation).
const TAG_WINDOWED_POST_CHALLENGE_SEED: i64 = 4;
const TAG_POST_CHAIN_COMMIT: i64 = 9;

/// How many PoSt records `info` keeps.
const HISTORY: usize = 200;

/// The loop's settings.
#[derive(Debug, Clone)]
pub struct ProverConfig {
    /// The miner (its ID address).
    pub miner: Address,
    /// The address that sends the miner's messages (its worker or a control
    /// address in the node's wallet).
    pub sender: Address,
    /// How often the head is read.
    pub poll_interval: Duration,
    /// Epochs after a deadline's challenge epoch before its proof is
    /// computed (Lotus: 10 on mainnet, against reorgs; 0 on the devnet).
    pub challenge_confidence: ChainEpoch,
    /// Most partitions one SubmitWindowedPoSt carries.
    pub partitions_per_message: usize,
}

/// One submitted Window PoSt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PostRecord {
    /// The deadline.
    pub deadline: u64,
    /// The proving period's first epoch.
    pub period_start: ChainEpoch,
    /// The partitions it proved.
    pub partitions: Vec<u64>,
    /// Sectors proven.
    pub sectors: usize,
    /// Sectors skipped (they failed the check, or the narrowing).
    pub skipped: Vec<u64>,
    /// Of those, the sectors found by narrowing down a failed proof.
    pub narrowed: Vec<u64>,
    /// The message.
    pub message: String,
    /// The epoch it was executed in (0 while in flight).
    pub landed: ChainEpoch,
    /// The first epoch after the window.
    pub close: ChainEpoch,
    /// Epochs left in the window when it landed.
    pub margin: ChainEpoch,
    /// Its exit code (0: accepted).
    pub exit_code: u32,
    /// Seconds spent generating the proof.
    pub prove_seconds: f64,
}

/// One fault check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckRecord {
    /// The deadline checked.
    pub deadline: u64,
    /// The head when it ran.
    pub epoch: ChainEpoch,
    /// Sectors checked.
    pub checked: usize,
    /// Sectors that failed, with the reason.
    pub bad: Vec<(u64, String)>,
    /// Sectors declared faulty after it.
    pub declared_faulty: Vec<u64>,
    /// Sectors declared recovered after it.
    pub declared_recovered: Vec<u64>,
}

#[derive(Debug, Default)]
struct LoopState {
    /// Windows whose declarations are done, by (period start, index).
    declared: HashSet<(ChainEpoch, u64)>,
    posts: VecDeque<PostRecord>,
    checks: BTreeMap<u64, CheckRecord>,
    /// When this prover first saw each sector faulty on chain.
    faulty_since: BTreeMap<u64, ChainEpoch>,
    deadline_count: Option<u64>,
    /// The tasks running now.
    running: HashSet<(u8, ChainEpoch, u64)>,
    /// Tasks that failed, since the start.
    failures: u64,
}

/// One piece of the loop's work, run as its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Prove the deadline window `w` (keyed by its period and index).
    Prove(DeadlineWindow),
    /// Check deadline `index` and declare before `cutoff`, for the window
    /// `open` now (which keys it).
    Declare {
        open: DeadlineWindow,
        index: u64,
        cutoff: ChainEpoch,
    },
}

impl Job {
    /// What identifies the job: one task per key at a time.
    fn key(&self) -> (u8, ChainEpoch, u64) {
        match self {
            Job::Prove(w) => (0, w.period_start, w.index),
            Job::Declare { open, .. } => (1, open.period_start, open.index),
        }
    }

    /// The metric label.
    fn task(&self) -> &'static str {
        match self {
            Job::Prove(_) => "prove",
            Job::Declare { .. } => "declare",
        }
    }
}

/// The WindowPoSt prover of one miner.
pub struct WindowPoster {
    chain: Arc<dyn Chain>,
    replicas: Arc<dyn Replicas>,
    workers: Workers,
    cfg: ProverConfig,
    miner_id: ActorId,
    state: Mutex<LoopState>,
    metrics: Option<ProvingMetrics>,
}

impl std::fmt::Debug for WindowPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowPoster")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl WindowPoster {
    /// The prover of `cfg.miner`, proving on `workers`' PoSt slots (which
    /// sealing never uses, so a running C2 cannot take them).
    pub fn new(
        chain: Arc<dyn Chain>,
        replicas: Arc<dyn Replicas>,
        workers: Workers,
        cfg: ProverConfig,
    ) -> Result<Self, ProvingError> {
        let miner_id = cfg.miner.id().map_err(|_| {
            ProvingError::InvalidInput(format!("{} is not an ID address", cfg.miner))
        })?;
        Ok(Self {
            chain,
            replicas,
            workers,
            cfg,
            miner_id: ActorId(miner_id),
            state: Mutex::new(LoopState::default()),
            metrics: None,
        })
    }

    /// Reports to `metrics` from now on.
    pub fn with_metrics(mut self, metrics: ProvingMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The settings.
    pub fn config(&self) -> &ProverConfig {
        &self.cfg
    }

    /// The chain it reads.
    pub fn chain(&self) -> &Arc<dyn Chain> {
        &self.chain
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LoopState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs until `stop` turns true. Each due piece of work runs as its own
    /// task (see the module doc); they are cancelled when the loop stops.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut last = None;
        let mut tasks = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let head = match self.chain.head().await {
                Ok(h) => Some(h.height),
                Err(e) => {
                    warn!("window post: read the head: {e}");
                    None
                }
            };
            if let Some(h) = head
                && last != Some(h)
            {
                last = Some(h);
                match self.due(h).await {
                    Ok(jobs) => {
                        for job in jobs {
                            if self.claim(&job) {
                                let me = self.clone();
                                tasks.spawn(async move { me.run_job(job, h).await });
                            }
                        }
                    }
                    Err(e) => warn!(epoch = h, "window post: {e}"),
                }
            }
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    warn!("window post task ended abnormally: {e}");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        tasks.shutdown().await;
    }

    /// One step at `head`, with each piece of work run to its end here, one
    /// after another (tests and tools; the loop runs them as tasks).
    pub async fn on_head(&self, head: ChainEpoch) -> Result<(), ProvingError> {
        for job in self.due(head).await? {
            self.execute(job).await?;
        }
        Ok(())
    }

    /// The work due at `head`: the proofs of the current deadline and of the
    /// next one once its challenge is drawn (which happens while the current
    /// one is open), and the declarations for the deadline after next. The
    /// chain says which partitions are posted: asking it at every head
    /// (instead of remembering what was sent) re-proves a partition whose
    /// PoSt a reorg took away, while the window is open.
    async fn due(&self, head: ChainEpoch) -> Result<Vec<Job>, ProvingError> {
        let w = self.chain.proving_deadline(&self.cfg.miner).await?;
        let count = self.deadline_count().await?;
        let mut jobs = Vec::new();
        for window in [w, plan::following_window(&w, count)] {
            if plan::can_compute(&window, head, self.cfg.challenge_confidence) {
                jobs.push(Job::Prove(window));
            }
        }
        let key = (w.period_start, w.index);
        if !self.state().declared.contains(&key) {
            let t = plan::declaration_target(&w, count);
            if head < t.cutoff {
                jobs.push(Job::Declare {
                    open: w,
                    index: t.index,
                    cutoff: t.cutoff,
                });
            } else {
                self.mark_declared(key, &w, count);
            }
        }
        Ok(jobs)
    }

    /// Takes `job`'s slot; false if a task for it is running already.
    fn claim(&self, job: &Job) -> bool {
        self.state().running.insert(job.key())
    }

    /// Runs `job` as a task: a failure is logged and counted, and the job
    /// is due again at the next head.
    async fn run_job(self: Arc<Self>, job: Job, head: ChainEpoch) {
        /// Frees the job's slot however the task ends (cancelled included).
        struct Slot<'a>(&'a WindowPoster, (u8, ChainEpoch, u64));
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                self.0.state().running.remove(&self.1);
            }
        }
        let _slot = Slot(&self, job.key());
        if let Err(e) = self.execute(job).await {
            warn!(
                epoch = head,
                task = job.task(),
                "window post: {e}; retrying at the next head"
            );
            self.state().failures += 1;
            if let Some(m) = &self.metrics {
                m.task_failures.with_label_values(&[job.task()]).inc();
            }
        }
    }

    async fn execute(&self, job: Job) -> Result<(), ProvingError> {
        match job {
            Job::Prove(w) => self.prove_deadline(&w).await,
            Job::Declare {
                open,
                index,
                cutoff,
            } => {
                self.declare(index, cutoff).await?;
                let count = self.deadline_count().await?;
                self.mark_declared((open.period_start, open.index), &open, count);
                Ok(())
            }
        }
    }

    /// Records that the declarations of window `key` are done.
    fn mark_declared(&self, key: (ChainEpoch, u64), w: &DeadlineWindow, count: u64) {
        let period = (w.close - w.open) * count as i64;
        let mut st = self.state();
        st.declared.insert(key);
        // Only this period's and the last one's windows can come again.
        st.declared
            .retain(|(start, _)| *start >= w.period_start - period);
    }

    /// The number of deadlines in a proving period (48 on every network
    /// builtin-actors defines), read from the chain once.
    async fn deadline_count(&self) -> Result<u64, ProvingError> {
        if let Some(n) = self.state().deadline_count {
            return Ok(n);
        }
        let n = self.chain.deadlines(&self.cfg.miner).await?.len() as u64;
        if n == 0 {
            return Err(ProvingError::Internal(
                "the miner has no deadlines".to_string(),
            ));
        }
        self.state().deadline_count = Some(n);
        Ok(n)
    }

    /// Checks deadline `index`'s sectors and declares faults and recoveries,
    /// waiting for them to land before `cutoff`.
    async fn declare(&self, index: u64, cutoff: ChainEpoch) -> Result<(), ProvingError> {
        let parts = self.chain.partitions(&self.cfg.miner, index).await?;
        if parts.iter().all(|p| p.live.is_empty()) {
            return Ok(());
        }
        let head = self.chain.head().await?.height;
        let (checked, bad) = self.check_partitions(&parts, head).await?;
        let bad_set: BTreeSet<u64> = bad.iter().map(|(n, _)| *n).collect();
        let mut faults = Vec::new();
        let mut recoveries = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let d = plan::declarations(p, &bad_set);
            if !d.faults.is_empty() {
                faults.push((i as u64, d.faults));
            }
            if !d.recoveries.is_empty() {
                recoveries.push((i as u64, d.recoveries));
            }
        }
        let flat =
            |v: &[(u64, BitField)]| -> Vec<u64> { v.iter().flat_map(|(_, b)| b.iter()).collect() };
        let record = CheckRecord {
            deadline: index,
            epoch: head,
            checked,
            bad: bad.clone(),
            declared_faulty: flat(&faults),
            declared_recovered: flat(&recoveries),
        };
        if !faults.is_empty() {
            warn!(deadline = index, sectors = ?record.declared_faulty, "declaring faults");
            let params = messages::faults_params(index, &faults);
            self.send_and_wait("DeclareFaults", messages::DECLARE_FAULTS, &params, cutoff)
                .await?;
            if let Some(m) = &self.metrics {
                m.declarations.with_label_values(&["faults"]).inc();
            }
        }
        if !recoveries.is_empty() {
            info!(deadline = index, sectors = ?record.declared_recovered, "declaring recoveries");
            let params = messages::recoveries_params(index, &recoveries);
            self.send_and_wait(
                "DeclareFaultsRecovered",
                messages::DECLARE_FAULTS_RECOVERED,
                &params,
                cutoff,
            )
            .await?;
            if let Some(m) = &self.metrics {
                m.declarations.with_label_values(&["recoveries"]).inc();
            }
        }
        self.state().checks.insert(index, record);
        Ok(())
    }

    /// Runs the fault check over every live sector of `parts`: the number
    /// checked and the failures.
    async fn check_partitions(
        &self,
        parts: &[PartitionSectors],
        head: ChainEpoch,
    ) -> Result<(usize, Vec<(u64, String)>), ProvingError> {
        let numbers = plan::bitfield(parts.iter().flat_map(plan::to_check));
        let infos = self.chain.sectors(&self.cfg.miner, &numbers).await?;
        let entropy = self.entropy()?;
        // Any randomness picks the leaves to read; the chain's is at hand.
        let rand = self
            .chain
            .ticket_randomness(TAG_WINDOWED_POST_CHALLENGE_SEED, head, &entropy)
            .await?;
        let bad = self.check(&infos, PostRandomness::new(rand)).await?;
        Ok((infos.len(), bad))
    }

    /// The fault check proper: locates each replica and reads its
    /// challenged leaves (vanilla proofs).
    async fn check(
        &self,
        infos: &[ProvenSector],
        randomness: PostRandomness,
    ) -> Result<Vec<(u64, String)>, ProvingError> {
        let mut bad = Vec::new();
        let mut by_proof: BTreeMap<String, (PostProof, Vec<ProvingSector>)> = BTreeMap::new();
        for s in infos {
            match self.proving_sector(s) {
                Ok((proof, ps)) => by_proof
                    .entry(proof.to_string())
                    .or_insert_with(|| (proof, Vec::new()))
                    .1
                    .push(ps),
                Err(why) => bad.push((s.number, why)),
            }
        }
        for (_, (proof, sectors)) in by_proof {
            let miner = self.miner_id;
            let failed = self
                .workers
                .run(Stage::Post, move || {
                    post::check_provable(proof, miner, randomness, &sectors)
                })
                .await?;
            bad.extend(failed.into_iter().map(|(n, why)| (n.0, why)));
        }
        bad.sort();
        if let Some(m) = &self.metrics {
            m.check_failures.inc_by(bad.len() as u64);
        }
        Ok(bad)
    }

    /// Where `s` is and which Window PoSt proves it; an error says why it
    /// cannot be proven here.
    fn proving_sector(&self, s: &ProvenSector) -> Result<(PostProof, ProvingSector), String> {
        let seal = SealProof::try_from(s.seal_proof).map_err(|e| format!("seal proof: {e}"))?;
        let comm_r = CommR::from_cid(&s.sealed_cid).map_err(|e| format!("sealed CID: {e}"))?;
        let replica = self
            .replicas
            .locate(self.miner_id, SectorNumber(s.number), comm_r)
            .ok_or_else(|| "the replica is not on this node".to_string())?;
        Ok((
            seal.window_post(),
            ProvingSector {
                number: SectorNumber(s.number),
                comm_r,
                cache_dir: replica.cache,
                sealed_path: replica.sealed,
            },
        ))
    }

    fn entropy(&self) -> Result<Vec<u8>, ProvingError> {
        fvm_ipld_encoding::to_vec(&self.cfg.miner)
            .map_err(|e| ProvingError::Internal(format!("encode the miner address: {e}")))
    }

    /// Proves every partition of `w` the chain does not show as posted.
    #[tracing::instrument(skip_all, fields(miner = %self.cfg.miner, deadline = w.index))]
    async fn prove_deadline(&self, w: &DeadlineWindow) -> Result<(), ProvingError> {
        let deadlines = self.chain.deadlines(&self.cfg.miner).await?;
        let posted = deadlines
            .get(w.index as usize)
            .map(|d| d.posted.clone())
            .unwrap_or_default();
        let parts = self.chain.partitions(&self.cfg.miner, w.index).await?;
        let pending: Vec<(u64, &PartitionSectors)> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u64, p))
            .filter(|(i, p)| !posted.get(*i) && !plan::provable(p).is_empty())
            .collect();
        self.note_faults(&parts, w.current_epoch);
        if pending.is_empty() {
            return Ok(());
        }
        let numbers = plan::bitfield(
            pending
                .iter()
                .flat_map(|(_, p)| plan::provable(p).iter().collect::<Vec<_>>()),
        );
        let infos = self.chain.sectors(&self.cfg.miner, &numbers).await?;
        let entropy = self.entropy()?;
        let rand = PostRandomness::new(
            self.chain
                .beacon_randomness(TAG_WINDOWED_POST_CHALLENGE_SEED, w.challenge, &entropy)
                .await?,
        );
        let bad: BTreeSet<u64> = self
            .check(&infos, rand)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let proofs: Vec<PartitionProof> = pending
            .iter()
            .map(|(i, p)| plan::partition_proof(*i, p, &bad))
            .collect();
        let by_number: BTreeMap<u64, &ProvenSector> = infos.iter().map(|s| (s.number, s)).collect();
        for batch in plan::batches(proofs, self.cfg.partitions_per_message) {
            self.prove_batch(w, &batch, &by_number, rand).await?;
        }
        Ok(())
    }

    /// Remembers when each faulty sector was first seen faulty.
    fn note_faults(&self, parts: &[PartitionSectors], epoch: ChainEpoch) {
        let mut st = self.state();
        for p in parts {
            for n in p.all.iter() {
                if p.faulty.get(n) {
                    st.faulty_since.entry(n).or_insert(epoch);
                } else {
                    st.faulty_since.remove(&n);
                }
            }
        }
        if let Some(m) = &self.metrics {
            m.faulty_sectors.set(st.faulty_since.len() as i64);
        }
    }

    async fn prove_batch(
        &self,
        w: &DeadlineWindow,
        batch: &[PartitionProof],
        infos: &BTreeMap<u64, &ProvenSector>,
        randomness: PostRandomness,
    ) -> Result<(), ProvingError> {
        let mut located = BTreeMap::new();
        let mut proof_kind = None;
        for n in batch.iter().flat_map(|p| p.prove.iter()) {
            let info = infos.get(n).ok_or_else(|| {
                ProvingError::Internal(format!("sector {n} has no on-chain record"))
            })?;
            let (kind, ps) = self
                .proving_sector(info)
                .map_err(|why| ProvingError::Internal(format!("sector {n}: {why}")))?;
            proof_kind = Some(kind);
            located.insert(*n, ps);
        }
        let Some(proof) = proof_kind else {
            return Ok(());
        };
        let started = Instant::now();
        let miner = self.miner_id;
        let sectors: Vec<ProvingSector> = located.values().cloned().collect();
        let deadline = w.index;
        let (first, narrowed) = self
            .workers
            .run(Stage::Post, move || {
                prove_narrowing(proof, miner, randomness, &sectors, deadline)
            })
            .await?;
        let prove_seconds = started.elapsed().as_secs_f64();
        if let Some(m) = &self.metrics {
            m.prove_seconds.observe(prove_seconds);
        }
        let Some(first) = first else {
            self.count_proof(false);
            return Err(ProvingError::BadProof { deadline: w.index });
        };
        let batch: Vec<PartitionProof> = if narrowed.is_empty() {
            batch.to_vec()
        } else {
            warn!(deadline = w.index, sectors = ?narrowed, "the proof failed with these sectors: skipping them");
            let bad: BTreeSet<u64> = narrowed.iter().copied().collect();
            batch
                .iter()
                .map(|p| PartitionProof {
                    index: p.index,
                    prove: p
                        .prove
                        .iter()
                        .copied()
                        .filter(|n| !bad.contains(n))
                        .collect(),
                    skipped: plan::bitfield(
                        p.skipped
                            .iter()
                            .chain(p.prove.iter().copied().filter(|n| bad.contains(n))),
                    ),
                })
                .collect()
        };
        let batch = &batch[..];
        // Wait for the window to open: the message must land inside it.
        let head = self
            .wait_until(|h| plan::can_submit(w, h) || h >= w.close)
            .await?;
        if head >= w.close {
            return Err(ProvingError::Internal(format!(
                "deadline {} closed at {} before its proof was ready",
                w.index, w.close
            )));
        }
        let commit_epoch = head.max(w.challenge);
        let commit_rand = self
            .chain
            .ticket_randomness(TAG_POST_CHAIN_COMMIT, commit_epoch, &[])
            .await?;
        let params = messages::submit_post_params(
            w.index,
            batch,
            first.proof.into(),
            first.bytes,
            commit_epoch,
            commit_rand,
        );
        let msg = messages::message(
            self.cfg.sender,
            self.cfg.miner,
            messages::SUBMIT_WINDOWED_POST,
            &params,
        )?;
        let cid = self.chain.send(msg).await?;
        info!(deadline = w.index, partitions = batch.len(), %cid, prove_seconds, "window post sent");
        let mut record = PostRecord {
            deadline: w.index,
            period_start: w.period_start,
            partitions: batch.iter().map(|p| p.index).collect(),
            sectors: batch.iter().map(|p| p.prove.len()).sum(),
            skipped: batch.iter().flat_map(|p| p.skipped.iter()).collect(),
            narrowed,
            message: cid.to_string(),
            landed: 0,
            close: w.close,
            margin: 0,
            exit_code: 0,
            prove_seconds,
        };
        let landed = self.follow(&cid, w.close).await;
        if let Ok((epoch, code)) = &landed {
            record.landed = *epoch;
            record.margin = w.close - *epoch;
            record.exit_code = *code;
        }
        {
            let mut st = self.state();
            st.posts.push_back(record);
            while st.posts.len() > HISTORY {
                st.posts.pop_front();
            }
        }
        let landed_ok = matches!(landed, Ok((_, 0)));
        self.count_proof(landed_ok);
        if landed_ok && let Some(m) = &self.metrics {
            m.margin
                .set(w.close - landed.as_ref().map(|l| l.0).unwrap_or(w.close));
        }
        match landed? {
            (_, 0) => Ok(()),
            (_, code) => Err(ProvingError::MessageFailed {
                what: format!("SubmitWindowedPoSt for deadline {}", w.index),
                code,
            }),
        }
    }

    fn count_proof(&self, ok: bool) {
        if let Some(m) = &self.metrics {
            m.proofs
                .with_label_values(&[if ok { "ok" } else { "failed" }])
                .inc();
        }
    }

    /// Sends a miner message and follows it until it is executed or `until`.
    async fn send_and_wait<P: serde::Serialize>(
        &self,
        what: &str,
        method: u64,
        params: &P,
        until: ChainEpoch,
    ) -> Result<(), ProvingError> {
        let msg = messages::message(self.cfg.sender, self.cfg.miner, method, params)?;
        let cid = self.chain.send(msg).await?;
        match self.follow(&cid, until).await? {
            (_, 0) => Ok(()),
            (_, code) => Err(ProvingError::MessageFailed {
                what: what.to_string(),
                code,
            }),
        }
    }

    /// Where `cid` was executed and its exit code; an error if the head
    /// passes `until` first.
    async fn follow(
        &self,
        cid: &Cid,
        until: ChainEpoch,
    ) -> Result<(ChainEpoch, u32), ProvingError> {
        loop {
            if let Some(e) = self.chain.search(cid).await? {
                return Ok((e.height, e.receipt.exit_code.value()));
            }
            let head = self.chain.head().await?.height;
            if head > until {
                return Err(ProvingError::Internal(format!(
                    "message {cid} was not executed by epoch {until}"
                )));
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }

    /// Polls the head until `done(head)`; returns that head.
    async fn wait_until(
        &self,
        done: impl Fn(ChainEpoch) -> bool,
    ) -> Result<ChainEpoch, ProvingError> {
        loop {
            let head = self.chain.head().await?.height;
            if done(head) {
                return Ok(head);
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }

    /// Runs the fault check over deadline `index` now, without declaring.
    pub async fn check_deadline(&self, index: u64) -> Result<CheckRecord, ProvingError> {
        let count = self.deadline_count().await?;
        if index >= count {
            return Err(ProvingError::InvalidInput(format!(
                "deadline {index} does not exist (0 to {})",
                count - 1
            )));
        }
        let parts = self.chain.partitions(&self.cfg.miner, index).await?;
        let head = self.chain.head().await?.height;
        let (checked, bad) = self.check_partitions(&parts, head).await?;
        Ok(CheckRecord {
            deadline: index,
            epoch: head,
            checked,
            bad,
            declared_faulty: Vec::new(),
            declared_recovered: Vec::new(),
        })
    }

    /// The recent submissions, oldest first.
    pub fn posts(&self) -> Vec<PostRecord> {
        self.state().posts.iter().cloned().collect()
    }

    /// The last check of each deadline.
    pub fn checks(&self) -> Vec<CheckRecord> {
        self.state().checks.values().cloned().collect()
    }

    /// How many of the loop's tasks failed (each was retried at the next
    /// head).
    pub fn task_failures(&self) -> u64 {
        self.state().failures
    }

    /// Faulty sectors and the epoch this prover first saw each faulty.
    pub fn faulty_since(&self) -> BTreeMap<u64, ChainEpoch> {
        self.state().faulty_since.clone()
    }
}

/// A Window PoSt over `sectors`, verified; when the whole proof fails, the
/// sectors it fails on are found by bisection and the proof is made over
/// the rest. Returns the proof (none if no sector is left, or if the
/// failure names no sector) and the sectors narrowed out. Errors that are
/// not about the sectors (missing parameters, bad input) are returned as
/// they are, without narrowing.
fn prove_narrowing(
    proof: PostProof,
    miner: ActorId,
    randomness: PostRandomness,
    sectors: &[ProvingSector],
    deadline: u64,
) -> Result<(Option<post::PostProofBytes>, Vec<u64>), ProofsError> {
    if let Some(p) = prove_verified(proof, miner, randomness, sectors)? {
        return Ok((Some(p), Vec::new()));
    }
    warn!(
        deadline,
        sectors = sectors.len(),
        "the Window PoSt failed: narrowing it down"
    );
    let mid = sectors.len() / 2;
    let mut bad = Vec::new();
    if sectors.len() > 1 {
        bisect(proof, miner, randomness, &sectors[..mid], &mut bad)?;
        bisect(proof, miner, randomness, &sectors[mid..], &mut bad)?;
    } else {
        bad.extend(sectors.iter().map(|s| s.number.0));
    }
    let rest: Vec<ProvingSector> = sectors
        .iter()
        .filter(|s| !bad.contains(&s.number.0))
        .cloned()
        .collect();
    if bad.is_empty() || rest.is_empty() {
        // Every part proves alone but not the whole, or nothing proves:
        // nothing to single out; the caller reports a bad proof.
        return Ok((None, bad));
    }
    Ok((prove_verified(proof, miner, randomness, &rest)?, bad))
}

/// Adds to `bad` the sectors of `sectors` whose proofs fail.
fn bisect(
    proof: PostProof,
    miner: ActorId,
    randomness: PostRandomness,
    sectors: &[ProvingSector],
    bad: &mut Vec<u64>,
) -> Result<(), ProofsError> {
    if sectors.is_empty() || prove_verified(proof, miner, randomness, sectors)?.is_some() {
        return Ok(());
    }
    if let [one] = sectors {
        bad.push(one.number.0);
        return Ok(());
    }
    let mid = sectors.len() / 2;
    bisect(proof, miner, randomness, &sectors[..mid], bad)?;
    bisect(proof, miner, randomness, &sectors[mid..], bad)
}

/// The Window PoSt over `sectors` if it is made and verifies; `None` if the
/// library fails on these sectors (an error or a caught panic) or the proof
/// does not verify. Other errors are returned.
fn prove_verified(
    proof: PostProof,
    miner: ActorId,
    randomness: PostRandomness,
    sectors: &[ProvingSector],
) -> Result<Option<post::PostProofBytes>, ProofsError> {
    let input = PostInput {
        proof,
        miner,
        randomness,
        sectors: sectors.to_vec(),
    };
    let proofs = match post::generate_window_post(&input) {
        Ok(p) => p,
        Err(e @ (ProofsError::Panicked { .. } | ProofsError::Proof(_))) => {
            warn!("window post over sectors {:?}: {e}", numbers(sectors));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let ok = post::verify_window_post(&VerifyPostInput {
        miner,
        randomness,
        sectors: sectors
            .iter()
            .map(|s| post::ChainSector {
                number: s.number,
                comm_r: s.comm_r,
            })
            .collect(),
        proofs: proofs.clone(),
    })?;
    Ok(if ok { proofs.into_iter().next() } else { None })
}

fn numbers(sectors: &[ProvingSector]) -> Vec<u64> {
    sectors.iter().map(|s| s.number.0).collect()
}
