//! A real tonic server on 127.0.0.1:0 with a tiny test implementation of the
//! service, called over a real HTTP/2 channel: the token check, validation
//! at the boundary, and the task stream, end to end.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrite_cluster::{WorkerId, WorkerInfo};
use ferrite_proto::generated as pb;
use ferrite_proto::generated::worker_service_client::WorkerServiceClient;
use ferrite_proto::generated::worker_service_server::WorkerService;
use ferrite_proto::{
    AssignedTask, BearerToken, C1Output, Completion, Heartbeat, ProgressReport, RegisterReply,
    TaskOutcome, TaskOutput, WorkerClient,
};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};

use crate::fixtures;

const TOKEN: &str = "test-token-0123456789";

/// What the test node saw: only messages that validated get here.
#[derive(Debug, Default)]
struct Seen {
    registered: Vec<WorkerInfo>,
    heartbeats: Vec<Heartbeat>,
    progress: Vec<ProgressReport>,
    completions: Vec<Completion>,
}

/// A test node: accepts registrations, and streams one prepared task to
/// each registered worker that asks.
#[derive(Debug, Clone)]
struct TestNode {
    seen: Arc<Mutex<Seen>>,
    task: AssignedTask,
}

type TaskStream = Pin<Box<dyn Stream<Item = Result<pb::TaskAssignment, Status>> + Send>>;

#[tonic::async_trait]
impl WorkerService for TestNode {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let info = WorkerInfo::try_from(request.into_inner())?;
        self.seen.lock().unwrap().registered.push(info);
        Ok(Response::new(
            RegisterReply {
                heartbeat_interval: Duration::from_secs(5),
            }
            .into(),
        ))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let beat = Heartbeat::try_from(request.into_inner())?;
        self.seen.lock().unwrap().heartbeats.push(beat);
        Ok(Response::new(pb::HeartbeatResponse {}))
    }

    type TasksStream = TaskStream;

    async fn tasks(
        &self,
        request: Request<pb::TasksRequest>,
    ) -> Result<Response<TaskStream>, Status> {
        let worker = WorkerId::try_from(request.into_inner())?;
        let known = self
            .seen
            .lock()
            .unwrap()
            .registered
            .iter()
            .any(|w| w.id == worker);
        if !known {
            return Err(Status::not_found(format!(
                "worker {worker} is not registered"
            )));
        }
        let assignment = pb::TaskAssignment::from(self.task.clone());
        Ok(Response::new(Box::pin(stream::iter([Ok(assignment)]))))
    }

    async fn progress(
        &self,
        request: Request<pb::ProgressRequest>,
    ) -> Result<Response<pb::ProgressResponse>, Status> {
        let report = ProgressReport::try_from(request.into_inner())?;
        self.seen.lock().unwrap().progress.push(report);
        Ok(Response::new(pb::ProgressResponse {}))
    }

    async fn complete(
        &self,
        request: Request<pb::CompleteRequest>,
    ) -> Result<Response<pb::CompleteResponse>, Status> {
        let completion = Completion::try_from(request.into_inner())?;
        self.seen.lock().unwrap().completions.push(completion);
        Ok(Response::new(pb::CompleteResponse {}))
    }
}

/// A running test node; dropping it stops the server.
struct Running {
    addr: SocketAddr,
    node: TestNode,
    _stop: oneshot::Sender<()>,
}

async fn start() -> Running {
    let node = TestNode {
        seen: Arc::default(),
        task: fixtures::pc1_assigned(42).unwrap(),
    };
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap();
    let token = BearerToken::new(TOKEN).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = ferrite_proto::server(node.clone(), &token);
    tokio::spawn(async move {
        Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        addr,
        node,
        _stop: stop,
    }
}

async fn client(addr: SocketAddr, token: &str) -> WorkerClient {
    ferrite_proto::connect(format!("http://{addr}"), &BearerToken::new(token).unwrap())
        .await
        .unwrap()
}

/// Bounds every call: a hung server fails the test instead of the run.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the call took over 20 s")
}

#[tokio::test]
async fn calls_without_the_right_token_are_unauthenticated() {
    within(async {
        let node = start().await;
        let url = format!("http://{}", node.addr);

        // No token at all: the generated client, unwrapped.
        let mut bare = WorkerServiceClient::connect(url.clone()).await.unwrap();
        let err = bare.register(fixtures::register()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
        let err = bare
            .tasks(pb::TasksRequest {
                worker_id: "host-a".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

        // A wrong token, and the right one one character short.
        for wrong in ["not-the-token", &TOKEN[..TOKEN.len() - 1]] {
            let mut c = client(node.addr, wrong).await;
            let err = c.register(fixtures::register()).await.unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{wrong}: {err:?}");
            assert_eq!(err.message(), "wrong token");
        }

        // Another scheme than Bearer.
        let mut req = Request::new(fixtures::register());
        req.metadata_mut()
            .insert("authorization", format!("Basic {TOKEN}").parse().unwrap());
        let err = bare.register(req).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

        // The handler never ran.
        assert!(node.node.seen.lock().unwrap().registered.is_empty());
    })
    .await;
}

#[tokio::test]
async fn malformed_messages_are_invalid_argument_naming_the_field() {
    within(async {
        let node = start().await;
        let mut c = client(node.addr, TOKEN).await;

        let err = c
            .register(pb::RegisterRequest {
                cores: 0,
                ..fixtures::register()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().starts_with("cores: "), "{}", err.message());

        let err = c
            .register(pb::RegisterRequest {
                task_kinds: vec![pb::TaskKind::Pc1 as i32, 42],
                ..fixtures::register()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with("task_kinds[1]: "),
            "{}",
            err.message()
        );

        let err = c
            .complete(fixtures::complete(pb::complete_request::Outcome::Pc2(
                pb::Pc2Result {
                    comm_r: vec![],
                    comm_d: vec![4; 32],
                },
            )))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with("pc2.comm_r: "),
            "{}",
            err.message()
        );

        let seen = node.node.seen.lock().unwrap();
        assert!(seen.registered.is_empty() && seen.completions.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_registered_worker_receives_its_task_and_reports_back() {
    within(async {
        let node = start().await;
        let mut c = client(node.addr, TOKEN).await;

        // Before registering, the test node has no tasks for it.
        let err = c
            .tasks(pb::TasksRequest {
                worker_id: "host-a".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{err:?}");

        let reply = c.register(fixtures::register()).await.unwrap().into_inner();
        let reply = RegisterReply::try_from(reply).unwrap();
        assert_eq!(reply.heartbeat_interval, Duration::from_secs(5));
        c.heartbeat(pb::HeartbeatRequest {
            worker_id: "host-a".into(),
            running_task_ids: vec![],
        })
        .await
        .unwrap();

        let mut tasks = c
            .tasks(pb::TasksRequest {
                worker_id: "host-a".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let first = tasks.next().await.expect("a task").unwrap();
        let task = AssignedTask::try_from(first).unwrap();
        assert_eq!(task, node.node.task);
        assert!(tasks.next().await.is_none(), "one task only");

        c.progress(pb::ProgressRequest {
            worker_id: "host-a".into(),
            task_id: task.task().id.0,
            done: 1,
            total: 2,
            note: "layer 1".into(),
        })
        .await
        .unwrap();

        // PC1's output can be far larger than gRPC's default 4 MiB limit;
        // both sides raise it.
        let big = Completion {
            worker: WorkerId("host-a".into()),
            task: task.task().id,
            outcome: TaskOutcome::Done(TaskOutput::C1(C1Output(vec![0xc1; 9 << 20]))),
        };
        c.complete(pb::CompleteRequest::from(big.clone()))
            .await
            .unwrap();

        let seen = node.node.seen.lock().unwrap();
        assert_eq!(seen.registered.len(), 1);
        assert_eq!(
            seen.registered[0],
            WorkerInfo::try_from(fixtures::register()).unwrap()
        );
        assert_eq!(seen.heartbeats.len(), 1);
        assert_eq!(seen.progress[0].done, 1);
        assert_eq!(seen.completions, vec![big]);
    })
    .await;
}
