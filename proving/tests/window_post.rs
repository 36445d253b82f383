//! The WindowPoSt loop on the devnet with two real 2 KiB sectors, A and B,
//! in one partition, over whole proving periods (2880 epochs, 48 deadlines
//! of 60):
//!
//! 1. two periods pass with the deadline proven each time: the first PoSt
//!    activates the sectors' power, which then stays unchanged;
//! 2. A's sealed file is corrupted: the fault check two deadlines ahead
//!    declares A faulty before its cutoff, the PoSt for B still goes in and
//!    only A's power is lost; the file is restored: a recovery is declared,
//!    both are proven and the power returns;
//! 3. A is corrupted after the declarations: the PoSt skips it and proves B;
//!    then A's cache is corrupted where the fault check does not look (its
//!    comm_c): the whole partition's proof fails without naming a sector,
//!    the prover narrows it down to A, skips A and proves B;
//! 4. the prover is stopped across the deadline: the chain marks the missed
//!    sectors faulty; a new prover recovers them with no manual step.
//!
//! Blocks come from the test: as fast as they execute where the prover has
//! nothing to do, and one every 40 ms from the moment it has (declarations
//! two deadlines ahead, the challenge) until its messages landed, so the
//! prover (polling every 20 ms) sees every epoch that matters. The margins
//! printed are therefore not operational figures: the node's are, with its
//! real block time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrite_chain::api::Chain;
use ferrite_proofs::{StageLimits, Workers};
use ferrite_proving::{ProverConfig, Replica, Replicas, WindowPoster};
use ferrite_sealing::testnet::{FAST_RETRY, SEAL_TIMEOUT, TestNet, init_proofs_from_env};
use ferrite_types::{ActorId, CommR, SectorId, SectorNumber};
use fvm_shared::clock::ChainEpoch;
use tokio::sync::watch;

/// The pause between blocks while the prover has work at hand.
const STEP: Duration = Duration::from_millis(40);
/// The pause while it narrows a failed proof down (four proofs, not one).
const SLOW_STEP: Duration = Duration::from_millis(150);

/// The replicas the test pipeline left in the net's seal directory.
/// Its sectors are not snapped: the sealed pair, whatever the CommR.
#[derive(Debug)]
struct SealDir(std::path::PathBuf);

impl Replicas for SealDir {
    fn locate(&self, miner: ActorId, number: SectorNumber, _: CommR) -> Option<Replica> {
        let f = ferrite_sealing::tasks::SectorFiles::new(&self.0, SectorId::new(miner, number));
        Some(Replica {
            sealed: f.sealed,
            cache: f.cache,
        })
    }
}

struct Running {
    prover: Arc<WindowPoster>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start_prover(net: &TestNet) -> Running {
    let prover = Arc::new(
        WindowPoster::new(
            Arc::new(net.chain.clone()),
            Arc::new(SealDir(net.seal_dir())),
            Workers::new(&StageLimits::default()).unwrap(),
            ProverConfig {
                miner: net.miner,
                sender: net.worker,
                poll_interval: Duration::from_millis(20),
                challenge_confidence: 0,
                partitions_per_message: 10,
            },
        )
        .unwrap(),
    );
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(prover.clone().run(rx));
    Running { prover, stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// The deadline and partition of sector `n`.
async fn locate(net: &TestNet, n: u64) -> (u64, u64) {
    for d in 0..48 {
        for (i, p) in net
            .chain
            .partitions(&net.miner, d)
            .await
            .unwrap()
            .iter()
            .enumerate()
        {
            if p.all.get(n) {
                return (d, i as u64);
            }
        }
    }
    panic!("sector {n} is in no partition");
}

async fn head(net: &TestNet) -> ChainEpoch {
    net.chain.head().await.unwrap().height
}

/// Produces blocks as fast as they execute up to `epoch`.
async fn run_to(net: &TestNet, epoch: ChainEpoch) {
    while head(net).await < epoch {
        net.produce_block().await.unwrap();
    }
}

/// Produces a block every `step` while `waiting()` holds, up to `limit`.
async fn step_while(net: &TestNet, limit: ChainEpoch, step: Duration, waiting: impl Fn() -> bool) {
    while waiting() && head(net).await < limit {
        tokio::time::sleep(step).await;
        net.produce_block().await.unwrap();
    }
}

/// The next window of deadline `d` that opens after the head: (open, close).
async fn next_window(net: &TestNet, d: u64) -> (ChainEpoch, ChainEpoch) {
    let w = net.chain.proving_deadline(&net.miner).await.unwrap();
    let mut open = w.period_start + d as i64 * 60;
    if open <= head(net).await {
        open += 2880;
    }
    (open, open + 60)
}

/// Runs the chain to the point where the prover declares faults and
/// recoveries for deadline `d` (while deadline `d - 2` is open), and block
/// by block until its check of `d` is recorded (its messages landed) or
/// the fault cutoff passes. Returns `d`'s window.
async fn through_declarations(
    net: &TestNet,
    d: u64,
    prover: Option<&WindowPoster>,
) -> (ChainEpoch, ChainEpoch) {
    let (open, close) = next_window(net, d).await;
    let declare_from = open - 2 * 60;
    run_to(net, declare_from - 1).await;
    if let Some(p) = prover {
        step_while(net, open - 70, STEP, || {
            !p.checks()
                .iter()
                .any(|c| c.deadline == d && c.epoch >= declare_from - 1)
        })
        .await;
    }
    (open, close)
}

/// Runs the chain through the next window of deadline `d`: block by block
/// from its challenge until the prover's PoSt for it landed (if it has one
/// to send), then fast to the window's end.
async fn through_deadline(net: &TestNet, d: u64, prover: Option<&WindowPoster>) {
    through_deadline_stepping(net, d, prover, STEP).await
}

/// [`through_deadline`], with a block every `step` while the prover works.
async fn through_deadline_stepping(
    net: &TestNet,
    d: u64,
    prover: Option<&WindowPoster>,
    step: Duration,
) {
    let (open, close) = through_declarations(net, d, prover).await;
    run_to(net, open - 20 - 1).await;
    if let Some(p) = prover {
        let before = p.posts().len();
        step_while(net, close, step, || p.posts().len() == before).await;
    }
    run_to(net, close + 1).await;
}

async fn raw_power(net: &TestNet) -> fvm_shared::sector::StoragePower {
    net.chain.miner_power(&net.miner).await.unwrap().raw
}

async fn faulty(net: &TestNet, d: u64, n: u64) -> bool {
    net.chain.partitions(&net.miner, d).await.unwrap()[0]
        .faulty
        .get(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "real 2 KiB proofs: scripts/test runs it with --include-ignored"]
async fn deadlines_are_proven_and_faults_declared_and_recovered() {
    init_proofs_from_env().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    // Two sectors sealed together: builtin-actors fills the partially full
    // partition first, so they share one (2 KiB partitions hold two).
    let (a, b) = {
        let pipeline = net.open_pipeline(FAST_RETRY).unwrap();
        let (a, b) = (
            pipeline.pledge().await.unwrap(),
            pipeline.pledge().await.unwrap(),
        );
        for n in [a, b] {
            pipeline
                .run_until(n, |r| r.state.name() == "Proving", SEAL_TIMEOUT)
                .await
                .unwrap();
        }
        (a.0, b.0)
    };
    // Both C2s went through this process's resident prover: the PoRep
    // parameters were read and decoded once, the second proved from them.
    let resident = ferrite_proofs::prover::stats();
    assert_eq!(
        (resident.loads, resident.sets),
        (1, 1),
        "two C2s, one parameter load: {resident:?}"
    );
    net.pause_producer().await.unwrap();
    let (d, partition) = locate(&net, a).await;
    assert_eq!(locate(&net, b).await, (d, partition), "one partition");
    // builtin-actors activates a new sector's power at its first PoSt.
    assert_eq!(
        raw_power(&net).await,
        0u64.into(),
        "no power before the first PoSt"
    );
    let sector: fvm_shared::sector::StoragePower = 2048u64.into();
    eprintln!("sectors {a} and {b} are in deadline {d}, partition {partition}");
    let last_post = |r: &Running| r.prover.posts().last().cloned().expect("a window post");

    // 1. Two periods, each proven in time: power comes with the first and
    //    stays.
    let running = start_prover(&net);
    let started = Instant::now();
    for period in 0..2 {
        let (open, close) = next_window(&net, d).await;
        through_deadline(&net, d, Some(&running.prover)).await;
        let post = last_post(&running);
        assert_eq!(post.deadline, d);
        assert_eq!(post.exit_code, 0, "{post:?}");
        assert!(post.landed >= open && post.landed < close, "{post:?}");
        assert_eq!(post.sectors, 2);
        assert_eq!(raw_power(&net).await, &sector * 2, "period {period}");
        eprintln!(
            "period {period}: proven at {} ({} epochs before close, proof {:.2}s), {:.0?} so far",
            post.landed,
            post.margin,
            post.prove_seconds,
            started.elapsed()
        );
    }

    // 2. Corrupt A's replica: the check two deadlines ahead declares it
    //    faulty before the cutoff; B's PoSt still goes in; A's power goes.
    let files = net.sector_files(SectorNumber(a)).unwrap();
    let good = std::fs::read(&files.sealed).unwrap();
    std::fs::write(&files.sealed, vec![0x5a; good.len()]).unwrap();
    let (open, _) = through_declarations(&net, d, Some(&running.prover)).await;
    assert!(head(&net).await < open - 70, "declared before the cutoff");
    assert!(faulty(&net, d, a).await);
    let check = running
        .prover
        .checks()
        .into_iter()
        .find(|c| c.deadline == d)
        .unwrap();
    assert_eq!(check.declared_faulty, vec![a], "{check:?}");
    assert_eq!(raw_power(&net).await, sector, "only A's power is lost");
    let faults = running.prover.faults().await.unwrap();
    assert_eq!(faults.iter().map(|f| f.sector).collect::<Vec<_>>(), vec![a]);
    assert!(faults[0].terminated_by > faults[0].faulty_since);
    through_deadline(&net, d, Some(&running.prover)).await;
    let post = last_post(&running);
    assert_eq!((post.exit_code, post.sectors), (0, 1), "B alone: {post:?}");
    assert!(!faulty(&net, d, b).await);

    // Restore it: a recovery is declared, both are proven, power returns.
    std::fs::write(&files.sealed, &good).unwrap();
    through_deadline(&net, d, Some(&running.prover)).await;
    assert!(!faulty(&net, d, a).await, "recovered and proven");
    assert_eq!(raw_power(&net).await, &sector * 2);
    let post = last_post(&running);
    assert_eq!((post.exit_code, post.sectors), (0, 2), "{post:?}");

    // 3. Corrupt A after the declarations, before the challenge: the PoSt
    //    skips it (the chain marks it faulty) and still proves B.
    let (open, _) = through_declarations(&net, d, Some(&running.prover)).await;
    std::fs::write(&files.sealed, vec![0x5a; good.len()]).unwrap();
    assert!(head(&net).await < open - 20, "before the challenge");
    through_deadline(&net, d, Some(&running.prover)).await;
    let post = last_post(&running);
    assert_eq!(post.skipped, vec![a], "{post:?}");
    assert_eq!((post.exit_code, post.sectors), (0, 1), "{post:?}");
    assert!(faulty(&net, d, a).await, "a skipped sector is faulty");
    assert_eq!(raw_power(&net).await, sector);
    std::fs::write(&files.sealed, &good).unwrap();

    // A's comm_c (in its cache's p_aux) is corrupted after the declarations
    // (A, restored, is declared recovered): the vanilla proofs check the
    // tree, not comm_r = H(comm_c, comm_r_last), so the check passes and
    // the whole partition's proof fails, naming no sector. The prover
    // narrows it down to A, skips A and proves B.
    let (open, _) = through_declarations(&net, d, Some(&running.prover)).await;
    let p_aux = files.cache.join("p_aux");
    let good_aux = std::fs::read(&p_aux).unwrap();
    let mut bad_aux = good_aux.clone();
    bad_aux[0] ^= 0x01; // still a field element
    std::fs::write(&p_aux, &bad_aux).unwrap();
    assert!(head(&net).await < open - 20, "before the challenge");
    through_deadline_stepping(&net, d, Some(&running.prover), SLOW_STEP).await;
    let post = last_post(&running);
    assert_eq!(post.narrowed, vec![a], "narrowed down to A: {post:?}");
    assert_eq!(post.skipped, vec![a], "{post:?}");
    assert_eq!((post.exit_code, post.sectors), (0, 1), "{post:?}");
    assert!(faulty(&net, d, a).await && !faulty(&net, d, b).await);
    eprintln!(
        "narrowed a failed proof down to sector {a} and proved the rest in {:.2}s",
        post.prove_seconds
    );
    std::fs::write(&p_aux, &good_aux).unwrap();

    // 4. Stop the prover across the deadline: the chain marks the missed
    //    sectors faulty and all power goes.
    running.stop().await;
    through_deadline(&net, d, None).await;
    assert!(faulty(&net, d, b).await, "a missed deadline is a fault");
    assert_eq!(raw_power(&net).await, 0u64.into());
    // A new prover recovers both by itself.
    let running = start_prover(&net);
    through_deadline(&net, d, Some(&running.prover)).await;
    assert!(
        !faulty(&net, d, a).await && !faulty(&net, d, b).await,
        "recovered"
    );
    assert_eq!(raw_power(&net).await, &sector * 2);
    let post = last_post(&running);
    assert_eq!((post.exit_code, post.sectors), (0, 2), "{post:?}");
    eprintln!(
        "recovered after the restart: proven at {} ({} epochs before close); all periods: {:.0?}",
        post.landed,
        post.margin,
        started.elapsed()
    );
    running.stop().await;
    net.stop().await.unwrap();
}
