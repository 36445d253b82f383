//! Sealing on attached storage paths, without proofs: each task reserves its
//! space before it writes, on the path that holds the sector (a new sector on
//! the seal path the registry picks), and releases it when it ends; a path
//! without the room fails the task with a NoSpace reason and nothing written,
//! and the sector goes to its failure state with that reason.
//!
//! AddPiece of a 2 KiB committed-capacity sector needs no parameters, and a
//! PC1 refused for space fails before the proofs library is called, so these
//! run in seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrite_cluster::{AttachPath, ClusterError, PathKind, StorageRegistry, TaskKind, space};
use ferrite_proofs::{StageLimits, Workers};
use ferrite_sealing::tasks::{SectorFiles, SectorStorage, TaskError, Tasks};
use ferrite_sealing::testnet::{self, TestNet};
use ferrite_sealing::{Event, PieceToAdd, RetryPolicy, SectorPiece, SectorState};
use ferrite_store::{MemDb, Store};
use ferrite_types::{
    ActorId, PaddedPieceSize, SealProof, SectorId, SectorNumber, SectorSize, Ticket,
};

fn registry() -> Arc<StorageRegistry> {
    let db = MemDb::new(&ferrite_cluster::storage::TABLES);
    Arc::new(StorageRegistry::new(Store::new(db).unwrap()))
}

/// Creates `root/name` and attaches it as a seal path.
fn attach(reg: &StorageRegistry, root: &Path, name: &str, max_size: Option<u64>) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    reg.attach(AttachPath {
        path: dir,
        kind: PathKind::Seal,
        weight: 10,
        max_size,
    })
    .unwrap()
    .path
}

fn filler() -> PieceToAdd {
    PieceToAdd::Filler(PaddedPieceSize::new(2048).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_reserve_on_the_sectors_path_and_a_full_one_writes_nothing() {
    testnet::init_proofs_from_env().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    // 1 KiB: too small for the 2 KiB unsealed file.
    let tiny = attach(&reg, tmp.path(), "tiny", Some(1024));
    let tasks = Tasks::new(
        Workers::new(&StageLimits::default()).unwrap(),
        SectorStorage::Paths(reg.clone()),
    );
    let id = SectorId::new(ActorId(1000), SectorNumber(1));
    let proof = SealProof::new(SectorSize::S2KiB);

    let err = tasks
        .add_pieces(id, proof, &[], &[filler()])
        .await
        .unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert!(
        matches!(
            &err,
            TaskError::Space {
                purpose: TaskKind::AddPiece,
                bytes: 2048,
                source: ClusterError::NoSpace {
                    needed: 2048,
                    best_available: 1024
                },
                ..
            }
        ),
        "{err:?}"
    );
    let reason = err.to_string();
    assert!(
        reason.contains("no storage path has 2048 bytes free"),
        "{reason}"
    );
    assert!(
        !SectorFiles::new(&tiny, id).dir.exists(),
        "nothing was written"
    );
    assert!(reg.reservations().unwrap().is_empty());

    // A path with room for AddPiece but not for PC1's sealed file and cache.
    let small = attach(&reg, tmp.path(), "small", Some(4096));
    let pieces = tasks.add_pieces(id, proof, &[], &[filler()]).await.unwrap();
    let files = SectorFiles::new(&small, id);
    assert_eq!(std::fs::metadata(&files.unsealed).unwrap().len(), 2048);
    assert!(
        reg.reservations().unwrap().is_empty(),
        "released when AddPiece ended"
    );
    let listed = reg.list().unwrap();
    assert!(listed.iter().all(|p| p.reserved == 0));

    // A roomy path appears, but PC1 must write beside the unsealed file: it
    // reserves on the sector's own path, which is full.
    attach(&reg, tmp.path(), "big", None);
    let pieces: Vec<SectorPiece> = pieces.into_iter().map(SectorPiece::Filler).collect();
    let err = tasks
        .pc1(id, proof, &pieces, Ticket([7; 32]))
        .await
        .unwrap_err();
    let pc1_bytes = space::task_bytes(TaskKind::Pc1, SectorSize::S2KiB);
    assert!(
        matches!(
            &err,
            TaskError::Space {
                purpose: TaskKind::Pc1,
                source: ClusterError::NoSpace { needed, best_available: 2048 },
                ..
            } if *needed == pc1_bytes
        ),
        "{err:?}"
    );
    assert!(!files.sealed.exists() && !files.cache.exists());
    assert!(files.unsealed.exists(), "AddPiece's output stays");
    assert!(reg.reservations().unwrap().is_empty());
    assert_eq!(
        tasks.storage().locate(id).unwrap(),
        Some(files.clone()),
        "the sector is found on its path"
    );

    // Removal deletes the sector's directory wherever it is.
    tasks.remove(id).await.unwrap();
    assert!(!files.dir.exists());
    assert_eq!(tasks.storage().locate(id).unwrap(), None);
}

/// Through the driver: the NoSpace reason lands in the sector's failure
/// state, the operator attaches room and restarts, and AddPiece then writes
/// on the new path. Reservations a crash left behind are released when the
/// pipeline is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_seal_path_fails_the_sector_with_the_reason() {
    testnet::init_proofs_from_env().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    let miner = net.miner_id().unwrap();
    let reg = registry();
    let tiny = attach(&reg, dir.path(), "tiny", Some(1024));
    // A crashed task's reservation for this miner, and one of another miner.
    let stale = SectorId::new(miner, SectorNumber(77));
    let other = SectorId::new(ActorId(miner.0 + 1), SectorNumber(1));
    reg.reserve(PathKind::Seal, 10, stale, TaskKind::Pc1)
        .unwrap();
    reg.reserve(PathKind::Seal, 10, other, TaskKind::Pc1)
        .unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        backoff_secs: 60,
        max_backoff_secs: 60,
    };
    let pipeline = net
        .open_pipeline(policy)
        .unwrap()
        .with_storage(reg.clone())
        .unwrap();
    let left: Vec<SectorId> = reg
        .reservations()
        .unwrap()
        .iter()
        .map(|r| r.sector)
        .collect();
    assert_eq!(
        left,
        vec![other],
        "only this miner's stale reservation went"
    );
    reg.release(reg.reservations().unwrap()[0].id).unwrap();

    let n = pipeline.pledge().await.unwrap();
    assert!(pipeline.step(n).await.unwrap());
    let r = pipeline.record(n).unwrap();
    let SectorState::SealFailed(f) = &r.state else {
        panic!("{:?}", r.state)
    };
    assert!(
        f.reason.starts_with("AddPiece failed: reserve 2048 bytes"),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("no storage path has 2048 bytes free"),
        "{}",
        f.reason
    );
    let id = SectorId::new(miner, n);
    assert!(!SectorFiles::new(&tiny, id).dir.exists());
    assert!(reg.reservations().unwrap().is_empty());

    // The operator attaches room and restarts the sector without waiting
    // for the backoff.
    let roomy = attach(&reg, dir.path(), "roomy", None);
    pipeline.command(n, Event::Restart).unwrap();
    assert!(pipeline.step(n).await.unwrap());
    assert_eq!(pipeline.record(n).unwrap().state.name(), "PC1");
    let files = SectorFiles::new(&roomy, id);
    assert_eq!(std::fs::metadata(&files.unsealed).unwrap().len(), 2048);
    assert_eq!(pipeline.storage().locate(id).unwrap(), Some(files));
    assert!(reg.reservations().unwrap().is_empty());
    drop(pipeline);
    net.stop().await.unwrap();
}

/// With real proofs: a sector sealed on an attached seal path stays on it
/// through PC1, PC2, C1 and C2 (each task finds its files there), Finalize
/// moves it to the store path, and no reservation outlives its task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn a_sector_is_sealed_to_proving_on_the_path_the_registry_picked() {
    testnet::init_proofs_from_env().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    let reg = registry();
    // The heavier path wins; the other is never written to.
    let light = attach(&reg, dir.path(), "light", None);
    let heavy = dir.path().join("heavy");
    std::fs::create_dir(&heavy).unwrap();
    let heavy = reg
        .attach(AttachPath {
            path: heavy,
            kind: PathKind::Seal,
            weight: 1000,
            max_size: None,
        })
        .unwrap()
        .path;
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let store = reg
        .attach(AttachPath {
            path: store,
            kind: PathKind::Store,
            weight: 10,
            max_size: None,
        })
        .unwrap()
        .path;
    let pipeline = net
        .open_pipeline(testnet::FAST_RETRY)
        .unwrap()
        .with_storage(reg.clone())
        .unwrap();
    let r = net.seal_cc_sector_with(&pipeline).await.unwrap();
    let id = r.id;
    assert_eq!(r.state.name(), "Proving");
    let files = SectorFiles::new(&store, id);
    assert!(files.sealed.is_file() && files.cache.is_dir());
    assert_eq!(
        std::fs::metadata(&files.sealed).unwrap().len(),
        2048,
        "the whole replica moved"
    );
    assert!(!files.c1_output().exists(), "finalized");
    assert!(
        !SectorFiles::new(&heavy, id).dir.exists(),
        "nothing is left on the seal path"
    );
    let written: Vec<_> = std::fs::read_dir(&light)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ferrite_cluster::PATH_MARKER)
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert_eq!(pipeline.storage().locate(id).unwrap(), Some(files));
    assert!(reg.reservations().unwrap().is_empty());
    drop(pipeline);
    net.stop().await.unwrap();
}
