//! The libp2p host that serves Boost's deal protocols, and a client for them.
//!
//! Served protocols (advertised through identify, which Singularity reads
//! before it proposes):
//!
//! | protocol id | handler method |
//! |---|---|
//! | [`MK_V121`] `/fil/storage/mk/1.2.1`, [`MK_V120`] `/fil/storage/mk/1.2.0` | [`DealProtocols::propose`] |
//! | [`STATUS_V120`] `/fil/storage/status/1.2.0` | [`DealProtocols::status`] |
//! | [`ASK_V110`] `/fil/storage/ask/1.1.0` | [`DealProtocols::ask`] |
//! | [`TRANSPORTS_V100`] `/fil/retrieval/transports/1.0.0` | none: answers [`NetConfig::transports`] |
//!
//! plus `/ipfs/id/1.0.0` (agent `ferrite/<version>`) and `/ipfs/ping/1.0.0`.
//! Transport: TCP (+DNS), Noise, Yamux — what go-libp2p peers accept.
//!
//! Data flow (server): a peer opens a stream → multistream-select picks the
//! protocol → the codec reads one CBOR item (≤ the family's size limit, ≤ 10 s)
//! and decodes it with [`crate::wire`] → the swarm task hands it to a spawned
//! task that awaits the [`DealProtocols`] handler (bounded by
//! `handler_timeout`) → the answer returns to the swarm task, which writes it
//! (≤ 10 s) and closes the stream. A request that does not decode, is too big
//! or too slow only costs its own stream: it is dropped, the failure is
//! logged with the peer, and the connection and its other streams go on.
//!
//! The transports protocol has no request: as in Boost and Curio, the
//! answer ([`NetConfig::transports`]) is written as soon as the stream is
//! negotiated, and then the stream is closed; the client never writes.
//!
//! Data flow (client, [`Client`]): a background task owns a second swarm;
//! each call dials the provider if needed, negotiates (mk tries 1.2.1, then
//! 1.2.0, as the boost CLI does), writes the request, reads one CBOR answer.
//! [`Client::query_transports`] writes nothing and reads the answer.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # async fn f(handler: Arc<dyn ferrite_market::net::DealProtocols>) -> anyhow::Result<()> {
//! use ferrite_market::net::{NetConfig, Server, load_or_create_keypair};
//! let keypair = load_or_create_keypair(std::path::Path::new("/var/lib/ferrite/libp2p.key"))?;
//! let cfg = NetConfig::new(vec!["/ip4/0.0.0.0/tcp/24001".parse()?], keypair);
//! let server = Server::bind(cfg, handler).await?;
//! println!("peer {} on {:?}", server.peer_id(), server.listen_addrs());
//! let (_stop_tx, stop) = tokio::sync::watch::channel(false);
//! server.run(stop).await
//! # }
//! ```

mod client;
mod codec;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use libp2p::core::transport::ListenerId;
use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, noise, ping, tcp, yamux};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use client::{Client, ClientError, Provider};

use crate::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatusRequest, DealStatusResponse,
    QueryResponse, TransportProtocol,
};
use codec::{Answer, Codec, Exchange};

/// Deal proposals, protocol 1.2.1 (adds `RemoveUnsealedCopy`, `SkipIPNIAnnounce`).
pub const MK_V121: &str = "/fil/storage/mk/1.2.1";
/// Deal proposals, protocol 1.2.0.
pub const MK_V120: &str = "/fil/storage/mk/1.2.0";
/// Deal status queries.
pub const STATUS_V120: &str = "/fil/storage/status/1.2.0";
/// Storage ask queries.
pub const ASK_V110: &str = "/fil/storage/ask/1.1.0";
/// Retrieval transports queries: which ways to retrieve, at which addresses.
pub const TRANSPORTS_V100: &str = "/fil/retrieval/transports/1.0.0";
/// The identify protocol version go-libp2p hosts announce.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";

/// Size limits per message, and why.
pub mod limits {
    /// A `DealParams`. cbor-gen caps every byte field at 2 MiB and every text
    /// at 8 KiB; the only large field a real client fills is
    /// `Transfer.Params` (a URL and headers, ≤ 2 MiB), and the proposal's
    /// label is ≤ 256 bytes on chain. 4 MiB accepts anything a Go peer can
    /// marshal with room to spare, while bounding what one stream can make us
    /// buffer.
    pub const MAX_PROPOSAL_BYTES: usize = 4 << 20;
    /// Status and ask requests (a UUID and a signature; an address) and deal
    /// and ask responses (a ≤ 8 KiB message; a signed ask), and transports
    /// answers (a few names and multiaddrs): all well under 1 KiB in
    /// practice. 64 KiB leaves room for unknown future keys.
    pub const MAX_SMALL_MESSAGE_BYTES: usize = 64 << 10;
    /// A `DealStatusResponse` embeds a `DealProposal`, whose label Go would
    /// marshal up to 2 MiB: same reasoning as the proposal.
    pub const MAX_STATUS_RESPONSE_BYTES: usize = 4 << 20;
}

/// Which deal protocol version a proposal arrived over (or was sent with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MkVersion {
    /// `/fil/storage/mk/1.2.0`. Singularity uses it, sometimes with the
    /// 1.2.1 fields set, which are honoured.
    V120,
    /// `/fil/storage/mk/1.2.1`, the boost CLI's first choice.
    V121,
}

impl MkVersion {
    /// The protocol id.
    pub fn protocol(self) -> &'static str {
        match self {
            Self::V120 => MK_V120,
            Self::V121 => MK_V121,
        }
    }

    fn from_protocol(p: &StreamProtocol) -> Self {
        if p.as_ref() == MK_V120 {
            Self::V120
        } else {
            Self::V121
        }
    }
}

/// What the node does with each request. The net layer only moves bytes;
/// every decision (accept, reject, signature checks) is the implementor's.
#[async_trait]
pub trait DealProtocols: Send + Sync + 'static {
    /// A deal proposal from `from`. Answer within `handler_timeout`
    /// (Boost clients stop reading after 10 s).
    async fn propose(&self, from: PeerId, params: DealParams, version: MkVersion) -> DealResponse;

    /// A deal status query; the implementor verifies `req.signature` over
    /// the UUID bytes against the deal's client.
    async fn status(&self, from: PeerId, req: DealStatusRequest) -> DealStatusResponse;

    /// A storage ask query.
    async fn ask(&self, from: PeerId, req: AskRequest) -> AskResponse;
}

/// Everything the host needs to start.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/24001`. Use port 0 for tests.
    pub listen: Vec<Multiaddr>,
    /// The host key; its peer id goes on chain, so load it with
    /// [`load_or_create_keypair`].
    pub keypair: Keypair,
    /// Sent in identify. Default: `ferrite/<crate version>`.
    pub agent_version: String,
    /// Deadline for reading one request (Boost: 10 s).
    pub read_timeout: Duration,
    /// Deadline for writing one response (Boost: 10 s).
    pub write_timeout: Duration,
    /// How long a handler call may take before the stream is closed without
    /// an answer. Default 30 s (Boost clients give up reading after 10 s).
    pub handler_timeout: Duration,
    /// How long an idle connection stays open. Default 60 s.
    pub idle_timeout: Duration,
    /// What `/fil/retrieval/transports/1.0.0` answers, in order: e.g.
    /// `http` at `/dns/sp.example.com/tcp/443/https`. Announce only what
    /// is served: `libp2p` tells clients (lassie) to try Graphsync on that
    /// address. The protocol is always served, as Boost and Curio do;
    /// default empty, an answer with no transports. Addresses known only
    /// after binding go in with [`Server::set_transports`].
    pub transports: Vec<TransportProtocol>,
}

impl NetConfig {
    /// The defaults above for `listen` and `keypair`.
    pub fn new(listen: Vec<Multiaddr>, keypair: Keypair) -> Self {
        Self {
            listen,
            keypair,
            agent_version: format!("ferrite/{}", env!("CARGO_PKG_VERSION")),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            handler_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            transports: Vec::new(),
        }
    }
}

/// The behaviours of both server and client; the client only uses the
/// request-response protocols outbound (and so does not advertise them).
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mk: request_response::Behaviour<Codec<codec::Mk>>,
    status: request_response::Behaviour<Codec<codec::Status>>,
    ask: request_response::Behaviour<Codec<codec::Ask>>,
    transports: request_response::Behaviour<Codec<codec::Transports>>,
}

/// Timeouts the behaviour is built with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) read: Duration,
    pub(crate) write: Duration,
    /// The whole exchange on one stream (request-response's own timer).
    pub(crate) exchange: Duration,
}

impl Behaviour {
    fn new(key: &Keypair, agent: &str, support: ProtocolSupport, t: Timeouts) -> Self {
        fn family<E: Exchange>(
            protocols: &[&'static str],
            support: ProtocolSupport,
            t: Timeouts,
        ) -> request_response::Behaviour<Codec<E>> {
            let protocols = protocols
                .iter()
                .map(|p| (StreamProtocol::new(p), support.clone()));
            request_response::Behaviour::with_codec(
                Codec::new(t.read, t.write),
                protocols,
                request_response::Config::default().with_request_timeout(t.exchange),
            )
        }
        Self {
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.into(), key.public())
                    .with_agent_version(agent.into()),
            ),
            ping: ping::Behaviour::default(),
            // Order matters outbound: multistream-select tries 1.2.1 first.
            mk: family(&[MK_V121, MK_V120], support.clone(), t),
            status: family(&[STATUS_V120], support.clone(), t),
            ask: family(&[ASK_V110], support.clone(), t),
            transports: family(&[TRANSPORTS_V100], support, t),
        }
    }
}

pub(crate) fn build_swarm(
    keypair: Keypair,
    agent: &str,
    support: ProtocolSupport,
    t: Timeouts,
    idle: Duration,
) -> anyhow::Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("set up tcp/noise/yamux")?
        .with_dns()
        .context("set up dns")?
        .with_behaviour(|key| Behaviour::new(key, agent, support, t))
        .context("build behaviour")?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

/// A bound, not yet running, deal-protocol host.
pub struct Server {
    swarm: Swarm<Behaviour>,
    handler: Arc<dyn DealProtocols>,
    handler_timeout: Duration,
    listen_addrs: Vec<Multiaddr>,
    transports: QueryResponse,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("peer_id", self.swarm.local_peer_id())
            .field("listen_addrs", &self.listen_addrs)
            .finish_non_exhaustive()
    }
}

/// An answer on its way back from a handler task to the swarm task.
enum Reply {
    Mk(ResponseChannel<Answer>, Answer),
    Status(ResponseChannel<DealStatusResponse>, Box<DealStatusResponse>),
    Ask(ResponseChannel<AskResponse>, AskResponse),
}

impl Server {
    /// Builds the host and binds every `cfg.listen` address, returning once
    /// each has produced at least one concrete address (so port 0 is
    /// resolved). Must run inside a tokio runtime.
    pub async fn bind(cfg: NetConfig, handler: Arc<dyn DealProtocols>) -> anyhow::Result<Self> {
        anyhow::ensure!(!cfg.listen.is_empty(), "no listen address configured");
        let transports = checked_transports(cfg.transports)?;
        let t = Timeouts {
            read: cfg.read_timeout,
            write: cfg.write_timeout,
            exchange: cfg.read_timeout + cfg.handler_timeout + cfg.write_timeout,
        };
        let mut swarm = build_swarm(
            cfg.keypair,
            &cfg.agent_version,
            ProtocolSupport::Inbound,
            t,
            cfg.idle_timeout,
        )?;
        let mut waiting: HashSet<ListenerId> = HashSet::new();
        for addr in &cfg.listen {
            let id = swarm
                .listen_on(addr.clone())
                .with_context(|| format!("listen on {addr}"))?;
            waiting.insert(id);
        }
        let mut listen_addrs = Vec::new();
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        while !waiting.is_empty() {
            tokio::select! {
                () = &mut deadline => anyhow::bail!("listeners did not report an address within 10 s"),
                ev = swarm.select_next_some() => match ev {
                    SwarmEvent::NewListenAddr { listener_id, address } => {
                        waiting.remove(&listener_id);
                        listen_addrs.push(address);
                    }
                    SwarmEvent::ListenerClosed { listener_id, reason, .. } if waiting.contains(&listener_id) => {
                        anyhow::bail!("listener closed while binding: {reason:?}");
                    }
                    SwarmEvent::ListenerError { error, .. } => {
                        return Err(anyhow::Error::new(error).context("bind listener"));
                    }
                    other => debug!(event = ?other, "swarm event while binding"),
                },
            }
        }
        let announced: Vec<&str> = transports
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        info!(peer = %swarm.local_peer_id(), addrs = ?listen_addrs, transports = ?announced, "deal protocols listening");
        Ok(Self {
            swarm,
            handler,
            handler_timeout: cfg.handler_timeout,
            listen_addrs,
            transports,
        })
    }

    /// The host's peer id (what goes on chain as the miner's PeerId).
    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// The addresses bound at [`Server::bind`] time (a wildcard listen
    /// address gives one per interface). What goes on chain is usually a
    /// public address chosen by the operator instead.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Replaces what `/fil/retrieval/transports/1.0.0` answers, e.g. to add
    /// a `libp2p` entry with [`Server::listen_addrs`] once they are known.
    /// Fails, keeping the old answer, if Go peers could not decode the new
    /// one (over 8192 entries or addresses).
    pub fn set_transports(&mut self, transports: Vec<TransportProtocol>) -> anyhow::Result<()> {
        self.transports = checked_transports(transports)?;
        Ok(())
    }

    /// Serves until `stop` turns true (or its sender is dropped).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        let (tx, mut rx) = mpsc::channel::<Reply>(64);
        while !*stop.borrow() {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                Some(reply) = rx.recv() => self.respond(reply),
                ev = self.swarm.select_next_some() => self.on_event(ev, &tx),
            }
        }
        info!("deal protocols stopped");
        Ok(())
    }

    fn respond(&mut self, reply: Reply) {
        let b = self.swarm.behaviour_mut();
        let sent = match reply {
            Reply::Mk(ch, r) => b.mk.send_response(ch, r).is_ok(),
            Reply::Status(ch, r) => b.status.send_response(ch, *r).is_ok(),
            Reply::Ask(ch, r) => b.ask.send_response(ch, r).is_ok(),
        };
        if !sent {
            debug!("response dropped: the stream closed or timed out first");
        }
    }

    fn on_event(&mut self, ev: SwarmEvent<BehaviourEvent>, tx: &mpsc::Sender<Reply>) {
        use request_response::{Event as Rr, Message};
        match ev {
            SwarmEvent::Behaviour(BehaviourEvent::Mk(Rr::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let (handler, tx, budget) =
                    (self.handler.clone(), tx.clone(), self.handler_timeout);
                tokio::spawn(async move {
                    let version = request.version;
                    let uuid = request.params.deal_uuid;
                    debug!(%peer, deal = %uuid, ?version, "deal proposal");
                    let call = handler.propose(peer, request.params, version);
                    match tokio::time::timeout(budget, call).await {
                        Ok(response) => {
                            let _ = tx
                                .send(Reply::Mk(channel, Answer { version, response }))
                                .await;
                        }
                        Err(_) => {
                            warn!(%peer, deal = %uuid, ?budget, "deal handler timed out; stream closed unanswered")
                        }
                    }
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Status(Rr::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let (handler, tx, budget) =
                    (self.handler.clone(), tx.clone(), self.handler_timeout);
                tokio::spawn(async move {
                    match tokio::time::timeout(budget, handler.status(peer, request)).await {
                        Ok(r) => {
                            let _ = tx.send(Reply::Status(channel, Box::new(r))).await;
                        }
                        Err(_) => {
                            warn!(%peer, ?budget, "status handler timed out; stream closed unanswered")
                        }
                    }
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ask(Rr::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let (handler, tx, budget) =
                    (self.handler.clone(), tx.clone(), self.handler_timeout);
                tokio::spawn(async move {
                    match tokio::time::timeout(budget, handler.ask(peer, request)).await {
                        Ok(r) => {
                            let _ = tx.send(Reply::Ask(channel, r)).await;
                        }
                        Err(_) => {
                            warn!(%peer, ?budget, "ask handler timed out; stream closed unanswered")
                        }
                    }
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Transports(Rr::Message {
                peer,
                message: Message::Request { channel, .. },
                ..
            })) => {
                debug!(%peer, "transports query");
                let answer = self.transports.clone();
                if self
                    .swarm
                    .behaviour_mut()
                    .transports
                    .send_response(channel, answer)
                    .is_err()
                {
                    debug!(%peer, "transports answer dropped: the stream closed first");
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Transports(Rr::InboundFailure {
                peer,
                error,
                ..
            })) => {
                warn!(%peer, protocol = "transports", error = %error, "transports query failed; stream dropped");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mk(Rr::InboundFailure {
                peer, error, ..
            })) => {
                warn!(%peer, protocol = "mk", error = %error, "deal request failed; stream dropped");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Status(Rr::InboundFailure {
                peer,
                error,
                ..
            })) => {
                warn!(%peer, protocol = "status", error = %error, "status request failed; stream dropped");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ask(Rr::InboundFailure {
                peer, error, ..
            })) => {
                warn!(%peer, protocol = "ask", error = %error, "ask request failed; stream dropped");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                debug!(peer = %peer_id, agent = %info.agent_version, "identified peer");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "deal protocols listening on a new address");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connection opened");
            }
            SwarmEvent::ConnectionClosed { peer_id, cause, .. } => {
                debug!(peer = %peer_id, ?cause, "connection closed");
            }
            SwarmEvent::IncomingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, error = %error, "incoming connection failed");
            }
            other => debug!(event = ?other, "swarm event"),
        }
    }
}

/// The transports answer, refused up front (rather than on every query)
/// if it does not encode within cbor-gen's limits.
fn checked_transports(protocols: Vec<TransportProtocol>) -> anyhow::Result<QueryResponse> {
    let answer = QueryResponse { protocols };
    crate::wire::WireMessage::to_cbor(&answer).context("encode the transports answer")?;
    Ok(answer)
}

/// Binds and serves until `stop` turns true. Use [`Server::bind`] directly
/// when the caller needs the peer id or the bound addresses first.
pub async fn run(
    cfg: NetConfig,
    handler: Arc<dyn DealProtocols>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    Server::bind(cfg, handler).await?.run(stop).await
}

/// Loads the host key from `path`, or creates an ed25519 key there (mode
/// 0600) if the file does not exist. The file holds the key in libp2p's
/// protobuf encoding, the format go-libp2p (Lotus, Boost) writes too.
///
/// Blocking file I/O: call it at startup, before or outside the runtime's
/// worker threads (e.g. in `spawn_blocking`).
pub fn load_or_create_keypair(path: &Path) -> anyhow::Result<Keypair> {
    match std::fs::read(path) {
        Ok(bytes) => {
            warn_if_readable_by_others(path);
            Keypair::from_protobuf_encoding(&bytes)
                .with_context(|| format!("decode libp2p key {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key.to_protobuf_encoding().context("encode libp2p key")?;
            write_private(path, &bytes)
                .with_context(|| format!("write libp2p key {}", path.display()))?;
            info!(path = %path.display(), peer = %key.public().to_peer_id(), "created libp2p key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("read libp2p key {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a 0600 temporary file and a rename, so a
/// crash never leaves a half-written key.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                warn!(path = %path.display(), mode = format!("{mode:o}"), "libp2p key is readable by others; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn keypair_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("libp2p.key");
        let a = load_or_create_keypair(&path).unwrap();
        let b = load_or_create_keypair(&path).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, b"junk").unwrap();
        let err = load_or_create_keypair(&path).unwrap_err();
        assert!(format!("{err:#}").contains("decode libp2p key"), "{err:#}");
    }

    #[test]
    fn versions_map_to_protocol_ids() {
        assert_eq!(MkVersion::V120.protocol(), MK_V120);
        assert_eq!(
            MkVersion::from_protocol(&StreamProtocol::new(MK_V120)),
            MkVersion::V120
        );
        assert_eq!(
            MkVersion::from_protocol(&StreamProtocol::new(MK_V121)),
            MkVersion::V121
        );
    }
}
