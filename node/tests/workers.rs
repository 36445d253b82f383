//! Workers in their own processes, over gRPC, against a real `ferrite
//! devnet --no-worker`: a sector sealed by `ferrite worker`s, a worker
//! killed with SIGKILL in the middle of C2 and its task run elsewhere, a
//! worker that returns a corrupted proof caught by verify_seal before
//! anything is sent, and malformed or unauthenticated calls refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ferrite, start_devnet_with, stderr, stdout};
use ferrite_proto::generated as pb;
use ferrite_proto::{BearerToken, GROTH16_PROOF_BYTES};

/// A worker process, killed when the test ends.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start_worker(home: &Path, id: &str) -> Worker {
    let grpc = std::fs::read_to_string(home.join("grpc")).unwrap();
    let log = home.join(format!("{id}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        // Its own home: a worker shares only the storage path with the node.
        .arg("--home")
        .arg(home.join(id))
        .args(["worker", "--node", grpc.trim(), "--id", id, "--token-file"])
        .arg(home.join("worker-token"))
        .arg("--storage")
        .arg(home.join("sealing/sectors"))
        .env_remove("FERRITE_CONFIG")
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Worker { child, log }
}

fn state(home: &Path) -> String {
    let st = ferrite(home, &["sectors", "status", "1"]);
    assert!(st.status.success(), "{}", stderr(&st));
    stdout(&st)
}

/// Polls `sectors status 1` until its state line is `want`.
fn wait_state(home: &Path, want: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let st = state(home);
        if st.contains(&format!("state:    {want}\n")) {
            return st;
        }
        assert!(started.elapsed() < limit, "no {want} after {limit:?}: {st}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn worker_processes_seal_a_sector_through_a_kill_and_a_corrupted_proof() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let node_log = home.join("node.log");
    let _node = start_devnet_with(
        home,
        &["--no-worker"],
        File::create(&node_log).unwrap().into(),
    );
    let grpc = std::fs::read_to_string(home.join("grpc"))
        .unwrap()
        .trim()
        .to_string();
    let token = std::fs::read_to_string(home.join("worker-token"))
        .unwrap()
        .trim()
        .to_string();

    // A directory no node attached is refused up front, by name.
    let stray = home.join("stray");
    std::fs::create_dir(&stray).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(["worker", "--node", &grpc, "--token", "x", "--storage"])
        .arg(&stray)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is not an attached storage path"),
        "{}",
        stderr(&refused)
    );

    // Worker A, its own process, seals up to C2; it is killed there.
    let mut a = start_worker(home, "worker-a");
    let pledged = ferrite(home, &["sectors", "pledge"]);
    assert!(pledged.status.success(), "{}", stderr(&pledged));
    wait_state(home, "C2", Duration::from_secs(300));
    wait_for("worker A runs C2", Duration::from_secs(30), || {
        a.log().contains("kind=c2")
    });
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    assert!(a.log().contains("kind=pc1") && a.log().contains("kind=pc2"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Calls without the token, or with a malformed message, are refused.
        let bad_token = BearerToken::new("not-the-token").unwrap();
        let mut stranger = ferrite_proto::connect(grpc.clone(), &bad_token)
            .await
            .unwrap();
        let err = stranger.register(rogue_registration()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);

        let token = BearerToken::new(token.clone()).unwrap();
        let mut rogue = ferrite_proto::connect(grpc.clone(), &token).await.unwrap();
        let err = rogue
            .register(pb::RegisterRequest {
                cores: 0,
                ..rogue_registration()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().contains("cores"), "{}", err.message());
        let err = rogue
            .heartbeat(pb::HeartbeatRequest {
                worker_id: "never-registered".into(),
                running_task_ids: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);

        // A rogue C2 worker takes the task A lost, and answers with a
        // proof of the right length that is not a proof.
        rogue.register(rogue_registration()).await.unwrap();
        let mut tasks = rogue
            .tasks(pb::TasksRequest {
                worker_id: "rogue".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let assignment = tokio::time::timeout(Duration::from_secs(60), tasks.message())
            .await
            .expect("the lost C2 is assigned again")
            .unwrap()
            .unwrap();
        assert!(
            matches!(
                assignment.payload,
                Some(pb::task_assignment::Payload::C2(_))
            ),
            "{assignment:?}"
        );
        // A completion for a task it does not hold is refused.
        let err = rogue
            .complete(pb::CompleteRequest {
                worker_id: "rogue".into(),
                task_id: assignment.task_id + 1000,
                outcome: Some(pb::complete_request::Outcome::C2(pb::C2Result {
                    proof: vec![0x5a; GROTH16_PROOF_BYTES],
                })),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        rogue
            .complete(pb::CompleteRequest {
                worker_id: "rogue".into(),
                task_id: assignment.task_id,
                outcome: Some(pb::complete_request::Outcome::C2(pb::C2Result {
                    proof: vec![0x5a; GROTH16_PROOF_BYTES],
                })),
            })
            .await
            .unwrap();
    });
    drop(rt); // the rogue goes away
    let st = wait_state(home, "ComputeProofFailed", Duration::from_secs(60));
    assert!(st.contains("verify_seal"), "{st}");

    // Worker B takes over; the operator skips the backoff.
    let b = start_worker(home, "worker-b");
    wait_for("worker B registers", Duration::from_secs(30), || {
        stdout(&ferrite(home, &["workers", "list"])).contains("worker-b")
    });
    let list = stdout(&ferrite(home, &["workers", "list"]));
    assert!(list.contains("storage paths: 1"), "{list}");
    assert!(
        !list.contains("worker-a") && !list.contains("rogue"),
        "{list}"
    );
    let restart = ferrite(home, &["sectors", "restart", "1"]);
    assert!(restart.status.success(), "{}", stderr(&restart));
    wait_state(home, "Proving", Duration::from_secs(600));
    assert!(b.log().contains("kind=c2"), "{}", b.log());
    let node = std::fs::read_to_string(&node_log).unwrap();
    assert!(
        node.contains("a worker's task stream closed") && node.contains("worker-a"),
        "the node saw A go: {node}"
    );
    // Only a proof that verified was sent: one prove-commit, after the retry.
    let log = stdout(&ferrite(home, &["sectors", "status", "1", "--log"]));
    assert_eq!(log.matches("-> ProveCommitting").count(), 1, "{log}");
    assert!(log.contains("-> ComputeProofFailed"), "{log}");
}

fn rogue_registration() -> pb::RegisterRequest {
    pb::RegisterRequest {
        worker_id: "rogue".into(),
        hostname: "rogue.local".into(),
        cores: 2,
        memory_bytes: 8 << 30,
        gpus: 0,
        gpu_devices: vec![],
        task_kinds: vec![pb::TaskKind::C2 as i32],
        task_limits: vec![],
        storage_path_ids: vec![],
    }
}
