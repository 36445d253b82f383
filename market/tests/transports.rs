//! `/fil/retrieval/transports/1.0.0` over loopback TCP: the server answers
//! without a request, as Boost and Curio do; our client reads the answer,
//! and so does a raw libp2p stream that writes nothing, like Boost's
//! `TransportsClient`, and checks the exact cbor-gen bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrite_market::net::{
    Client, DealProtocols, MkVersion, NetConfig, Provider, Server, TRANSPORTS_V100,
};
use ferrite_market::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatusRequest, DealStatusResponse,
    QueryResponse, TRANSPORT_HTTP, TRANSPORT_LIBP2P, TransportProtocol, WireMessage,
};
use libp2p::futures::{AsyncReadExt, StreamExt};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, StreamProtocol, noise, tcp, yamux};
use tokio::sync::watch;

const T: Duration = Duration::from_secs(10);
const HTTP: &str = "/ip4/127.0.0.1/tcp/2347/http";

/// The deal protocols are not under test here.
struct NoDeals;

#[async_trait]
impl DealProtocols for NoDeals {
    async fn propose(&self, _: PeerId, _: DealParams, _: MkVersion) -> DealResponse {
        DealResponse::reject("not in this test")
    }

    async fn status(&self, _: PeerId, req: DealStatusRequest) -> DealStatusResponse {
        DealStatusResponse::error(req.deal_uuid, "not in this test")
    }

    async fn ask(&self, _: PeerId, _: AskRequest) -> AskResponse {
        AskResponse::default()
    }
}

/// Binds a server announcing `http` at [`HTTP`] (from the config) and,
/// once its address is known, `libp2p` at `<listen addr>/p2p/<peer>`.
async fn start_server() -> (Provider, Multiaddr, watch::Sender<bool>) {
    let mut cfg = NetConfig::new(
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        Keypair::generate_ed25519(),
    );
    let http: Multiaddr = HTTP.parse().unwrap();
    cfg.transports = vec![TransportProtocol::new(TRANSPORT_HTTP, [&http])];
    let mut server = Server::bind(cfg, Arc::new(NoDeals)).await.unwrap();
    let provider = Provider {
        peer_id: server.peer_id(),
        addrs: server.listen_addrs().to_vec(),
    };
    let libp2p = provider.addrs[0]
        .clone()
        .with(Protocol::P2p(provider.peer_id));
    server
        .set_transports(vec![
            TransportProtocol::new(TRANSPORT_LIBP2P, [&libp2p]),
            TransportProtocol::new(TRANSPORT_HTTP, [&http]),
        ])
        .unwrap();
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(server.run(stop));
    (provider, libp2p, stop_tx)
}

/// What cbor-gen (Curio) and go-ipld-prime's DAG-CBOR (Boost) write for
/// `QueryResponse{Protocols: [{libp2p, [libp2p]}, {http, [HTTP]}]}`, built
/// here from the Go field layout byte by byte.
fn go_bytes(libp2p: &Multiaddr) -> Vec<u8> {
    fn text(b: &mut Vec<u8>, s: &str) {
        assert!(s.len() < 24);
        b.push(0x60 | s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
    fn bytes(b: &mut Vec<u8>, v: &[u8]) {
        assert!(v.len() < 256);
        if v.len() < 24 {
            b.push(0x40 | v.len() as u8);
        } else {
            b.extend_from_slice(&[0x58, v.len() as u8]);
        }
        b.extend_from_slice(v);
    }
    // /ip4/127.0.0.1/tcp/2347/http: 04 7f000001, 06 092b, e003 (0x01e0).
    let http = [0x04, 127, 0, 0, 1, 0x06, 0x09, 0x2b, 0xe0, 0x03];
    let mut b = vec![0xa1]; // {
    text(&mut b, "Protocols");
    b.push(0x82); // [
    for (name, addr) in [("libp2p", libp2p.to_vec()), ("http", http.to_vec())] {
        b.push(0xa2); // {  Name before Addresses: shorter key first
        text(&mut b, "Name");
        text(&mut b, name);
        text(&mut b, "Addresses");
        b.push(0x81);
        bytes(&mut b, &addr);
    }
    b
}

#[tokio::test]
async fn client_reads_the_configured_transports() {
    let (provider, libp2p, _stop) = start_server().await;
    let client = Client::new(Keypair::generate_ed25519()).unwrap();
    let answer = client.query_transports(&provider, T).await.unwrap();
    let names: Vec<&str> = answer.protocols.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libp2p", "http"]);
    assert_eq!(answer.protocols[0].multiaddrs().unwrap(), vec![libp2p]);
    assert_eq!(
        answer.protocols[1].multiaddrs().unwrap(),
        vec![HTTP.parse::<Multiaddr>().unwrap()]
    );
    // Twice on one connection: one stream per query.
    assert_eq!(client.query_transports(&provider, T).await.unwrap(), answer);
    let info = client.identify(&provider, T).await.unwrap();
    assert!(
        info.protocols.iter().any(|p| p.as_ref() == TRANSPORTS_V100),
        "{:?}",
        info.protocols
    );
}

/// Like Boost's `TransportsClient.SendQuery`: open the stream, write
/// nothing, keep our write side open, read. The answer must come without
/// our EOF, and the provider must then close its side.
#[tokio::test]
async fn raw_stream_gets_the_exact_bytes_without_writing() {
    let (provider, libp2p, _stop) = start_server().await;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let mut control = swarm.behaviour().new_control();
    swarm.dial(libp2p.clone()).unwrap();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });

    let mut stream = control
        .open_stream(provider.peer_id, StreamProtocol::new(TRANSPORTS_V100))
        .await
        .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(T, stream.read_to_end(&mut got))
        .await
        .expect("the provider answered and closed without a request or our EOF")
        .unwrap();
    assert_eq!(got, go_bytes(&libp2p));
    let decoded = QueryResponse::from_cbor(&got).unwrap();
    assert_eq!(decoded.protocols[1].name, "http");
}

#[tokio::test]
async fn default_config_answers_no_transports() {
    let cfg = NetConfig::new(
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        Keypair::generate_ed25519(),
    );
    let server = Server::bind(cfg, Arc::new(NoDeals)).await.unwrap();
    let provider = Provider {
        peer_id: server.peer_id(),
        addrs: server.listen_addrs().to_vec(),
    };
    let (_stop_tx, stop) = watch::channel(false);
    tokio::spawn(server.run(stop));
    let client = Client::new(Keypair::generate_ed25519()).unwrap();
    let answer = client.query_transports(&provider, T).await.unwrap();
    assert_eq!(answer, QueryResponse::default());
}
