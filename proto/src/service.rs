//! The generated server and client, wrapped with the token interceptors and
//! message limits both sides must agree on.

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::BearerToken;
use crate::auth::{AttachToken, RequireToken};
use crate::generated::worker_service_client::WorkerServiceClient;
use crate::generated::worker_service_server::{WorkerService, WorkerServiceServer};

/// The largest message either side sends or accepts: 256 MiB. gRPC's
/// default (4 MiB) is too small for C1's output of a 32 GiB sector, which
/// travels from the C1 worker to the node and on to the C2 worker.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// The node's worker service as tonic serves it: `service` behind the
/// token check.
pub type WorkerServer<S> = InterceptedService<WorkerServiceServer<S>, RequireToken>;

/// A worker's client of the node: every call carries the token.
pub type WorkerClient = WorkerServiceClient<InterceptedService<Channel, AttachToken>>;

/// `service`, answering only calls that carry `token`, with the message
/// limit of [`MAX_MESSAGE_BYTES`]. Add it to a
/// `tonic::transport::Server` with `add_service`.
pub fn server<S: WorkerService>(service: S, token: &BearerToken) -> WorkerServer<S> {
    let inner = WorkerServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    InterceptedService::new(inner, token.require())
}

/// A client on `channel` that sends `token` with every call, with the
/// message limit of [`MAX_MESSAGE_BYTES`].
pub fn client(channel: Channel, token: &BearerToken) -> WorkerClient {
    WorkerServiceClient::with_interceptor(channel, token.attach())
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Connects to the node at `url` (`http://host:2346`) and returns a
/// [`client`] for it.
pub async fn connect(
    url: String,
    token: &BearerToken,
) -> Result<WorkerClient, tonic::transport::Error> {
    let channel = Endpoint::from_shared(url)?.connect().await?;
    Ok(client(channel, token))
}
