//! The sealing pipeline end to end on the devnet, with real 2 KiB proofs: a
//! pledged committed-capacity sector goes from AddPiece to Proving through
//! the driver, with the node "crashing" (the pipeline and its RocksDB closed
//! and reopened) at three points on the way:
//!
//! 1. in PreCommitReady, right after a precommit was sent but before the
//!    driver could record it (the test sends it, as the crashed driver did);
//! 2. in C2, right after C1 wrote its output;
//! 3. in ProveCommitReady, right after a prove-commit was sent but before the
//!    driver could record it.
//!
//! Each time the reopened pipeline carries on from the stored record, and the
//! sector reaches Proving. The result is checked with builtin-actors v18's
//! own miner state (`fil_actor_miner_state::v18`): the sector is active with
//! this replica's CommR, assigned to a deadline's partition.
//!
//! One sector, one C2: about a minute on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use ferrite_sealing::tasks::SectorFiles;
use ferrite_sealing::testnet::{self, FAST_RETRY, SEAL_TIMEOUT, TestNet};
use ferrite_sealing::{
    Action, Event, Pipeline, RetryPolicy, SealingError, SectorRecord, SectorState,
};
use ferrite_types::{SectorId, SectorNumber};
use tokio::sync::watch;

fn init_proofs() {
    testnet::init_proofs_from_env().unwrap();
}

/// The pipeline on the RocksDB at `dir/sealing`, as a node opens it at start.
fn open_pipeline(net: &TestNet, policy: RetryPolicy) -> Pipeline {
    net.open_pipeline(policy).unwrap()
}

fn in_state(name: &'static str) -> impl Fn(&SectorRecord) -> bool {
    move |r| r.state.name() == name
}

/// The states the sector went through, in order.
fn states(r: &SectorRecord) -> Vec<&str> {
    r.history.iter().map(|e| e.state.as_str()).collect()
}

/// Whether `want` appears in `seen` in this order (other entries between).
fn in_order(seen: &[&str], want: &[&str]) -> bool {
    let mut it = seen.iter();
    want.iter().all(|w| it.any(|s| s == w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn a_pledged_sector_reaches_proving_across_restarts() {
    init_proofs();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();

    let pipeline = open_pipeline(&net, FAST_RETRY);
    let n = pipeline.pledge().await.unwrap();
    assert_eq!(n, SectorNumber(1));
    let id = SectorId::new(net.miner_id().unwrap(), n);
    assert_eq!(pipeline.record(n).unwrap().state.name(), "AddPiece");

    // Crash 1: the precommit went out, the driver died before recording it.
    let r = pipeline
        .run_until(n, in_state("PreCommitReady"), SEAL_TIMEOUT)
        .await
        .unwrap();
    let SectorState::PreCommitReady { base, sealed } = &r.state else {
        unreachable!()
    };
    let first_precommit = net
        .steps
        .send_precommit(&[ferrite_sealing::chain::PreCommitInput {
            number: n.0,
            proof: base.proof,
            comm_r: sealed.comm_r,
            comm_d: None,
            ticket_epoch: sealed.ticket.epoch.0,
            deals_end: 0,
        }])
        .await
        .unwrap();
    let comm_r = sealed.comm_r;
    drop(pipeline);

    // The reopened driver finds the precommit not landed yet and sends its
    // own; the chain takes the first and refuses the duplicate.
    let pipeline = open_pipeline(&net, FAST_RETRY);
    assert_eq!(pipeline.record(n).unwrap(), r, "the record survived");
    let r = pipeline
        .run_until(n, |r| r.state.name() != "PreCommitReady", SEAL_TIMEOUT)
        .await
        .unwrap();
    let duplicate_precommit = match &r.state {
        SectorState::PreCommitting { message, .. } => Some(message.0.parse::<Cid>().unwrap()),
        _ => None, // the first one landed before the driver looked
    };
    drop(pipeline);

    // Crash 2: right after C1.
    let pipeline = open_pipeline(&net, FAST_RETRY);
    let r = pipeline
        .run_until(n, in_state("C2"), SEAL_TIMEOUT)
        .await
        .unwrap();
    assert!(
        SectorFiles::new(&dir.path().join("seal"), id)
            .c1_output()
            .exists()
    );
    drop(pipeline);

    // Crash 3: the prove-commit went out, the driver died before recording it.
    let pipeline = open_pipeline(&net, FAST_RETRY);
    assert_eq!(pipeline.record(n).unwrap(), r, "the record survived");
    let r = pipeline
        .run_until(n, in_state("ProveCommitReady"), SEAL_TIMEOUT)
        .await
        .unwrap();
    let SectorState::ProveCommitReady { proof, .. } = &r.state else {
        unreachable!()
    };
    let first_prove_commit = net
        .steps
        .send_prove_commit(n.0, &proof.0, &[])
        .await
        .unwrap();
    drop(pipeline);

    // The rest runs as the node runs it: `Pipeline::run` over every sector.
    let pipeline = Arc::new(open_pipeline(&net, FAST_RETRY));
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(pipeline.clone().run(stopped));
    let start = std::time::Instant::now();
    let r = loop {
        let r = pipeline.record(n).unwrap();
        if r.state.name() == "Proving" {
            break r;
        }
        assert!(
            start.elapsed() < SEAL_TIMEOUT,
            "stuck in {}",
            r.state.name()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.send_replace(true);
    running.await.unwrap().unwrap();
    eprintln!(
        "the restarted driver sent a duplicate precommit: {}",
        duplicate_precommit.is_some()
    );
    let seen = states(&r);
    eprintln!("sector {n} went through {seen:?}");
    assert!(
        in_order(
            &seen,
            &[
                "Packing",
                "AddPiece",
                "PC1",
                "PC2",
                "PreCommitReady",
                "WaitSeed",
                "C1",
                "C2",
                "ProveCommitReady",
                "Finalizing",
                "Proving",
            ]
        ),
        "{seen:?}"
    );
    // After crashes 1 and 3 the restarted driver either waited for its own
    // message, or (when the first one landed while it was sending a
    // duplicate, whose gas estimate then failed) recorded the failure and
    // found the sector on chain at its retry.
    for (ready, sent, failed, next) in [
        (
            "PreCommitReady",
            "PreCommitting",
            "PreCommitFailed",
            "WaitSeed",
        ),
        (
            "ProveCommitReady",
            "ProveCommitting",
            "ProveCommitFailed",
            "Finalizing",
        ),
    ] {
        assert!(
            in_order(&seen, &[ready, sent, next]) || in_order(&seen, &[ready, failed, ready, next]),
            "{seen:?}"
        );
    }
    let SectorState::Proving {
        sealed, activation, ..
    } = &r.state
    else {
        unreachable!()
    };
    assert_eq!(sealed.comm_r, comm_r, "PC1 and PC2 ran once");
    // Every transition was written with its time, oldest first.
    assert!(r.history.windows(2).all(|w| w[0].at_secs <= w[1].at_secs));

    // The messages the "crashed" driver sent landed; its successor's
    // duplicates, if it sent any, were refused by the chain and harmed nothing.
    for first in [first_precommit, first_prove_commit] {
        let x = net.steps.executed(&first).await.unwrap().expect("executed");
        assert!(x.receipt.exit_code.is_success(), "{first}: {:?}", x.receipt);
    }
    if let Some(dup) = duplicate_precommit {
        let x = net.steps.executed(&dup).await.unwrap().expect("executed");
        assert!(!x.receipt.exit_code.is_success(), "the duplicate precommit");
    }

    // The chain, read with builtin-actors v18's own state type.
    let st = net.miner_state().unwrap();
    let bs = net.devnet.blockstore();
    let sector = st
        .get_sector(bs, n.0)
        .unwrap()
        .expect("the sector is active on chain");
    assert_eq!(sector.sealed_cid, comm_r.to_cid());
    assert_eq!(sector.activation, activation.0);
    assert!(sector.initial_pledge.is_positive());
    assert!(st.get_precommitted_sector(bs, n.0).unwrap().is_none());
    let (dl, part) = st.find_sector(bs, n.0).unwrap();
    let deadline = st
        .load_deadlines(bs)
        .unwrap()
        .load_deadline(bs, dl)
        .unwrap();
    assert!(deadline.load_partition(bs, part).unwrap().sectors.get(n.0));

    // Finalized: C1's output and the PC1 layers are gone, the replica stays.
    let files = SectorFiles::new(&dir.path().join("seal"), id);
    assert!(!files.c1_output().exists());
    assert!(files.sealed.exists());
    let layers = std::fs::read_dir(&files.cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("layer"))
        .count();
    assert_eq!(layers, 0, "PC1's layers are cleared");

    // A step of a proving sector does nothing, and the next pledge gets 2.
    assert!(!pipeline.step(n).await.unwrap());
    drop(pipeline);
    let pipeline = open_pipeline(&net, FAST_RETRY);
    assert_eq!(pipeline.records().next_number().unwrap(), SectorNumber(2));
    drop(pipeline);
    net.stop().await.unwrap();
}

/// Failures without proofs: a task that fails moves the sector to its
/// failure state, which retries after its backoff until the policy's limit,
/// then waits for the operator; `Restart` and `Remove` are recorded and acted
/// on, and a command that does not fit is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_then_wait_for_the_operator() {
    init_proofs();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    // The seal directory is a file: AddPiece cannot create the sector's.
    let seal_dir = dir.path().join("seal");
    std::fs::write(&seal_dir, b"not a directory").unwrap();
    let policy = RetryPolicy {
        max_attempts: 2,
        backoff_secs: 3,
        max_backoff_secs: 3,
    };
    let pipeline = open_pipeline(&net, policy);
    let n = pipeline.pledge().await.unwrap();

    assert!(pipeline.step(n).await.unwrap());
    let r = pipeline.record(n).unwrap();
    let SectorState::SealFailed(f) = &r.state else {
        panic!("{:?}", r.state)
    };
    assert!(f.reason.starts_with("AddPiece failed"), "{}", f.reason);
    // Within the backoff nothing happens; after it, AddPiece runs again.
    assert!(!pipeline.step(n).await.unwrap());
    let r = pipeline
        .run_until(n, in_state("AddPiece"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(r.history.last().unwrap().event, "Retry");
    // The second failure reaches the limit: the operator must act.
    assert!(pipeline.step(n).await.unwrap());
    let r = pipeline.record(n).unwrap();
    assert_eq!(r.state.next_action(&policy), Action::AwaitOperator);
    assert!(!pipeline.step(n).await.unwrap());

    // The operator frees the directory and restarts the sector.
    std::fs::remove_file(&seal_dir).unwrap();
    let r = pipeline.command(n, Event::Restart).unwrap();
    assert_eq!(r.state.name(), "AddPiece");
    assert!(pipeline.step(n).await.unwrap());
    assert_eq!(pipeline.record(n).unwrap().state.name(), "PC1");
    let files = SectorFiles::new(&seal_dir, SectorId::new(net.miner_id().unwrap(), n));
    assert_eq!(std::fs::metadata(&files.unsealed).unwrap().len(), 2048);

    // Removal deletes the files; a second removal is refused.
    pipeline.command(n, Event::Remove).unwrap();
    assert!(pipeline.step(n).await.unwrap());
    assert_eq!(pipeline.record(n).unwrap().state.name(), "Removed");
    assert!(!files.dir.exists());
    assert!(matches!(
        pipeline.command(n, Event::Remove),
        Err(SealingError::Refused(_))
    ));
    assert!(matches!(
        pipeline.record(SectorNumber(99)),
        Err(SealingError::UnknownSector(SectorNumber(99)))
    ));
    drop(pipeline);
    net.stop().await.unwrap();
}

/// Precommit batching: two sectors ready together go in one
/// PreCommitSectorBatch2, which lands for both; a third, alone, waits for
/// the batch wait to run out and then goes by itself. Stops at WaitSeed: no
/// C2, so a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn sectors_ready_together_are_precommitted_in_one_message() {
    init_proofs();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    let wait = 4;
    let pipeline =
        open_pipeline(&net, FAST_RETRY).with_precommit_batch(ferrite_sealing::BatchConfig {
            max_sectors: 2,
            wait_secs: wait,
        });
    let (a, b) = (
        pipeline.pledge().await.unwrap(),
        pipeline.pledge().await.unwrap(),
    );
    let precommitting = |r: &SectorRecord| matches!(r.state, SectorState::PreCommitting { .. });
    let (ra, rb) = tokio::join!(
        pipeline.run_until(a, precommitting, SEAL_TIMEOUT),
        pipeline.run_until(b, precommitting, SEAL_TIMEOUT)
    );
    let message = |r: &SectorRecord| match &r.state {
        SectorState::PreCommitting { message, .. } => message.clone(),
        other => panic!("{other:?}"),
    };
    let (ma, mb) = (message(&ra.unwrap()), message(&rb.unwrap()));
    assert_eq!(ma, mb, "one message for both");
    for n in [a, b] {
        pipeline
            .run_until(n, in_state("WaitSeed"), SEAL_TIMEOUT)
            .await
            .unwrap();
        assert!(
            net.miner_state()
                .unwrap()
                .get_precommitted_sector(net.devnet.blockstore(), n.0)
                .unwrap()
                .is_some(),
            "sector {n} is precommitted on chain"
        );
    }
    // Alone, a sector waits for the batch to fill, then goes anyway.
    let c = pipeline.pledge().await.unwrap();
    let rc = pipeline
        .run_until(c, precommitting, SEAL_TIMEOUT)
        .await
        .unwrap();
    let ready_at = rc
        .history
        .iter()
        .find(|e| e.state == "PreCommitReady")
        .unwrap()
        .at_secs;
    let sent_at = rc.history.last().unwrap().at_secs;
    assert!(
        sent_at >= ready_at + wait - 1,
        "sent after the wait: ready {ready_at}, sent {sent_at}"
    );
    assert_ne!(message(&rc), ma);
    drop(pipeline);
    net.stop().await.unwrap();
}
