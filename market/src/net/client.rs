//! The client side of the deal protocols, for `ferrite client deal` and tests.
//!
//! [`Client::new`] spawns a task that owns a libp2p swarm; each method sends a
//! command to it over a channel and awaits a oneshot answer, bounded by the
//! caller's timeout. The task dials the provider's addresses when no
//! connection exists, and the codec applies Boost's 10 s write and read
//! deadlines per stream. Dropping the `Client` stops the task.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, identify};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::codec::{Answer, Proposal};
use super::{Behaviour, BehaviourEvent, MkVersion, Timeouts, build_swarm};
use crate::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatusRequest, DealStatusResponse,
    QueryResponse,
};

/// A storage provider's libp2p identity, as `StateMinerInfo` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The provider's peer id.
    pub peer_id: PeerId,
    /// Where to dial it (may be empty if already connected).
    pub addrs: Vec<Multiaddr>,
}

/// Why a client call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// No answer within the caller's timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Dialing, negotiating, writing or reading failed (includes "the
    /// provider supports none of the protocols" and undecodable answers).
    #[error("request to {peer} failed: {message}")]
    Request {
        /// The provider.
        peer: PeerId,
        /// What went wrong, from libp2p or the codec.
        message: String,
    },
    /// The client's background task is gone.
    #[error("client task stopped")]
    Stopped,
}

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

enum Command {
    Propose(Provider, Box<DealParams>, Reply<Answer>),
    Status(Provider, DealStatusRequest, Reply<DealStatusResponse>),
    Ask(Provider, AskRequest, Reply<AskResponse>),
    Transports(Provider, Reply<QueryResponse>),
    Identify(Provider, Reply<identify::Info>),
}

/// A deal-protocol client with its own libp2p host.
#[derive(Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Starts a client host with `keypair` (an ephemeral
    /// `Keypair::generate_ed25519()` is fine: providers do not check client
    /// peer ids). Must run inside a tokio runtime.
    pub fn new(keypair: Keypair) -> anyhow::Result<Self> {
        let peer_id = keypair.public().to_peer_id();
        let t = Timeouts {
            read: Duration::from_secs(10),
            write: Duration::from_secs(10),
            exchange: Duration::from_secs(60),
        };
        let agent = format!("ferrite-client/{}", env!("CARGO_PKG_VERSION"));
        let swarm = build_swarm(
            keypair,
            &agent,
            ProtocolSupport::Outbound,
            t,
            Duration::from_secs(30),
        )?;
        let (commands, rx) = mpsc::channel(32);
        let task = tokio::spawn(Driver::new(swarm).run(rx));
        Ok(Self {
            commands,
            peer_id,
            task,
        })
    }

    /// The client's own peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Proposes a deal over `/fil/storage/mk/1.2.1`, or `1.2.0` if the
    /// provider lacks 1.2.1; returns the version used and the answer.
    pub async fn propose(
        &self,
        provider: &Provider,
        params: DealParams,
        timeout: Duration,
    ) -> Result<(MkVersion, DealResponse), ClientError> {
        let answer = self
            .call(timeout, |tx| {
                Command::Propose(provider.clone(), Box::new(params), tx)
            })
            .await?;
        Ok((answer.version, answer.response))
    }

    /// Asks for a deal's status over `/fil/storage/status/1.2.0`.
    pub async fn status(
        &self,
        provider: &Provider,
        req: DealStatusRequest,
        timeout: Duration,
    ) -> Result<DealStatusResponse, ClientError> {
        self.call(timeout, |tx| Command::Status(provider.clone(), req, tx))
            .await
    }

    /// Queries the storage ask over `/fil/storage/ask/1.1.0`.
    pub async fn ask(
        &self,
        provider: &Provider,
        req: AskRequest,
        timeout: Duration,
    ) -> Result<AskResponse, ClientError> {
        self.call(timeout, |tx| Command::Ask(provider.clone(), req, tx))
            .await
    }

    /// Asks which retrieval transports the provider offers, over
    /// `/fil/retrieval/transports/1.0.0`. Like Boost's `TransportsClient`,
    /// it sends nothing and reads one answer (request-response half-closes
    /// our side first, which providers ignore).
    pub async fn query_transports(
        &self,
        provider: &Provider,
        timeout: Duration,
    ) -> Result<QueryResponse, ClientError> {
        self.call(timeout, |tx| Command::Transports(provider.clone(), tx))
            .await
    }

    /// Connects (if needed) and returns what the provider announced through
    /// identify: agent version and protocol list, as Singularity checks them.
    pub async fn identify(
        &self,
        provider: &Provider,
        timeout: Duration,
    ) -> Result<identify::Info, ClientError> {
        self.call(timeout, |tx| Command::Identify(provider.clone(), tx))
            .await
    }

    async fn call<T>(
        &self,
        timeout: Duration,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let exchange = async {
            self.commands
                .send(command(tx))
                .await
                .map_err(|_| ClientError::Stopped)?;
            rx.await.map_err(|_| ClientError::Stopped)?
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }
}

/// The background task: owns the swarm and the pending calls.
struct Driver {
    swarm: Swarm<Behaviour>,
    mk: HashMap<OutboundRequestId, Reply<Answer>>,
    status: HashMap<OutboundRequestId, Reply<DealStatusResponse>>,
    ask: HashMap<OutboundRequestId, Reply<AskResponse>>,
    transports: HashMap<OutboundRequestId, Reply<QueryResponse>>,
    identified: HashMap<PeerId, identify::Info>,
    identify_waiters: HashMap<PeerId, Vec<Reply<identify::Info>>>,
}

impl Driver {
    fn new(swarm: Swarm<Behaviour>) -> Self {
        Self {
            swarm,
            mk: HashMap::new(),
            status: HashMap::new(),
            ask: HashMap::new(),
            transports: HashMap::new(),
            identified: HashMap::new(),
            identify_waiters: HashMap::new(),
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => return,
                },
                ev = self.swarm.select_next_some() => self.on_event(ev),
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        let b = self.swarm.behaviour_mut();
        match cmd {
            Command::Propose(p, params, tx) => {
                // The version is chosen by negotiation; this one is unused.
                let req = Proposal {
                    version: MkVersion::V121,
                    params: *params,
                };
                let id = b.mk.send_request_with_addresses(&p.peer_id, req, p.addrs);
                self.mk.insert(id, tx);
            }
            Command::Status(p, req, tx) => {
                let id = b
                    .status
                    .send_request_with_addresses(&p.peer_id, req, p.addrs);
                self.status.insert(id, tx);
            }
            Command::Ask(p, req, tx) => {
                let id = b.ask.send_request_with_addresses(&p.peer_id, req, p.addrs);
                self.ask.insert(id, tx);
            }
            Command::Transports(p, tx) => {
                let id = b
                    .transports
                    .send_request_with_addresses(&p.peer_id, (), p.addrs);
                self.transports.insert(id, tx);
            }
            Command::Identify(p, tx) => {
                if let Some(info) = self.identified.get(&p.peer_id) {
                    let _ = tx.send(Ok(info.clone()));
                    return;
                }
                self.identify_waiters.entry(p.peer_id).or_default().push(tx);
                if !self.swarm.is_connected(&p.peer_id) {
                    let opts = DialOpts::peer_id(p.peer_id).addresses(p.addrs).build();
                    if let Err(e) = self.swarm.dial(opts) {
                        self.fail_identify(p.peer_id, e.to_string());
                    }
                }
            }
        }
        // Callers that timed out have dropped their receivers.
        self.identify_waiters.retain(|_, w| {
            w.retain(|tx| !tx.is_closed());
            !w.is_empty()
        });
    }

    fn fail_identify(&mut self, peer: PeerId, message: String) {
        for tx in self.identify_waiters.remove(&peer).unwrap_or_default() {
            let _ = tx.send(Err(ClientError::Request {
                peer,
                message: message.clone(),
            }));
        }
    }

    fn on_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        use request_response::{Event as Rr, Message};
        match ev {
            SwarmEvent::Behaviour(BehaviourEvent::Mk(ev)) => match ev {
                Rr::Message {
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => finish(&mut self.mk, request_id, Ok(response)),
                Rr::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => finish(&mut self.mk, request_id, Err(failure(peer, &error))),
                other => debug!(event = ?other, "mk event"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Status(ev)) => match ev {
                Rr::Message {
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => finish(&mut self.status, request_id, Ok(response)),
                Rr::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => finish(&mut self.status, request_id, Err(failure(peer, &error))),
                other => debug!(event = ?other, "status event"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Ask(ev)) => match ev {
                Rr::Message {
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => finish(&mut self.ask, request_id, Ok(response)),
                Rr::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => finish(&mut self.ask, request_id, Err(failure(peer, &error))),
                other => debug!(event = ?other, "ask event"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Transports(ev)) => match ev {
                Rr::Message {
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => finish(&mut self.transports, request_id, Ok(response)),
                Rr::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                } => finish(&mut self.transports, request_id, Err(failure(peer, &error))),
                other => debug!(event = ?other, "transports event"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for tx in self.identify_waiters.remove(&peer_id).unwrap_or_default() {
                    let _ = tx.send(Ok(info.clone()));
                }
                self.identified.insert(peer_id, info);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => self.fail_identify(peer, error.to_string()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.identified.remove(&peer_id);
            }
            other => debug!(event = ?other, "client swarm event"),
        }
    }
}

fn finish<T>(
    pending: &mut HashMap<OutboundRequestId, Reply<T>>,
    id: OutboundRequestId,
    r: Result<T, ClientError>,
) {
    if let Some(tx) = pending.remove(&id) {
        let _ = tx.send(r);
    }
}

fn failure(peer: PeerId, error: &request_response::OutboundFailure) -> ClientError {
    ClientError::Request {
        peer,
        message: error.to_string(),
    }
}
