//! The deal-protocol host over loopback TCP: a server with a fake handler,
//! our client, and raw libp2p streams that behave like Go peers (and like
//! broken ones).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cid::Cid;
use ferrite_market::deal::DealUuid;
use ferrite_market::net::{
    ASK_V110, Client, DealProtocols, MK_V120, MK_V121, MkVersion, NetConfig, Provider, STATUS_V120,
    Server,
};
use ferrite_market::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatusRequest, DealStatusResponse,
    SignedStorageAsk, StorageAsk, Transfer, WireMessage,
};
use fil_actor_market_state::v18::{ClientDealProposal, DealProposal, Label};
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::piece::PaddedPieceSize;
use libp2p::futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, noise, tcp, yamux};
use tokio::sync::{mpsc, watch};

const T: Duration = Duration::from_secs(10);

/// Records what it is asked and answers from fixed values.
#[derive(Default)]
struct Fake {
    proposals: Mutex<Vec<(PeerId, DealParams, MkVersion)>>,
}

#[async_trait]
impl DealProtocols for Fake {
    async fn propose(&self, from: PeerId, params: DealParams, version: MkVersion) -> DealResponse {
        let reject = params.transfer.size > 1_000_000;
        self.proposals.lock().unwrap().push((from, params, version));
        if reject {
            DealResponse::reject("too big for the fake")
        } else {
            DealResponse::accept()
        }
    }

    async fn status(&self, _: PeerId, req: DealStatusRequest) -> DealStatusResponse {
        DealStatusResponse {
            transfer_size: 42,
            ..DealStatusResponse::error(req.deal_uuid, "no storage deal found")
        }
    }

    async fn ask(&self, _: PeerId, req: AskRequest) -> AskResponse {
        AskResponse {
            ask: Some(SignedStorageAsk {
                ask: Some(ask(req.miner)),
                signature: Some(Signature::new_bls(vec![5; 96])),
            }),
        }
    }
}

fn ask(miner: Address) -> StorageAsk {
    StorageAsk {
        price: TokenAmount::from_atto(1000),
        verified_price: TokenAmount::from_atto(0),
        min_piece_size: PaddedPieceSize(256),
        max_piece_size: PaddedPieceSize(2048),
        miner,
        timestamp: 1,
        expiry: 1001,
        seq_no: 0,
    }
}

fn params(size: u64) -> DealParams {
    let piece: Cid = "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"
        .parse()
        .unwrap();
    let root: Cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
        .parse()
        .unwrap();
    DealParams {
        deal_uuid: DealUuid([0x11; 16]),
        is_offline: false,
        client_deal_proposal: ClientDealProposal {
            proposal: DealProposal {
                piece_cid: piece,
                piece_size: PaddedPieceSize(2048),
                verified_deal: false,
                client: Address::new_id(1001),
                provider: Address::new_id(1000),
                label: Label::String(root.to_string()),
                start_epoch: 100,
                end_epoch: 600_100,
                storage_price_per_epoch: TokenAmount::from_atto(0),
                provider_collateral: TokenAmount::from_atto(0),
                client_collateral: TokenAmount::from_atto(0),
            },
            client_signature: Signature::new_bls(vec![1; 96]),
        },
        deal_data_root: root,
        transfer: Transfer {
            kind: "http".into(),
            client_id: String::new(),
            params: br#"{"URL":"http://127.0.0.1:1/x.car"}"#.to_vec(),
            size,
        },
        remove_unsealed_copy: false,
        skip_ipni_announce: false,
    }
}

struct Running {
    provider: Provider,
    fake: Arc<Fake>,
    _stop: watch::Sender<bool>,
}

async fn start_server() -> Running {
    let fake = Arc::new(Fake::default());
    let cfg = NetConfig::new(
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        Keypair::generate_ed25519(),
    );
    let server = Server::bind(cfg, fake.clone()).await.unwrap();
    let provider = Provider {
        peer_id: server.peer_id(),
        addrs: server.listen_addrs().to_vec(),
    };
    assert!(!provider.addrs.is_empty());
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(server.run(stop));
    Running {
        provider,
        fake,
        _stop: stop_tx,
    }
}

#[tokio::test]
async fn propose_status_and_ask_round_trip() {
    let s = start_server().await;
    let client = Client::new(Keypair::generate_ed25519()).unwrap();

    let (version, resp) = client.propose(&s.provider, params(1000), T).await.unwrap();
    assert_eq!(version, MkVersion::V121, "1.2.1 is tried first");
    assert_eq!(resp, DealResponse::accept());
    let (_, resp) = client
        .propose(&s.provider, params(2_000_000), T)
        .await
        .unwrap();
    assert_eq!(resp, DealResponse::reject("too big for the fake"));
    {
        let seen = s.fake.proposals.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, client.peer_id());
        assert_eq!(seen[0].1, params(1000));
    }

    let req = DealStatusRequest {
        deal_uuid: DealUuid([0x22; 16]),
        signature: Signature::new_secp256k1(vec![2; 65]),
    };
    let status = client.status(&s.provider, req, T).await.unwrap();
    assert_eq!(status.deal_uuid, DealUuid([0x22; 16]));
    assert_eq!(status.error, "no storage deal found");
    assert_eq!(status.transfer_size, 42);

    let miner = Address::new_id(1000);
    let resp = client
        .ask(&s.provider, AskRequest { miner }, T)
        .await
        .unwrap();
    assert_eq!(resp.ask.unwrap().ask.unwrap(), ask(miner));
}

#[tokio::test]
async fn identify_lists_the_four_protocols() {
    let s = start_server().await;
    let client = Client::new(Keypair::generate_ed25519()).unwrap();
    let info = client.identify(&s.provider, T).await.unwrap();
    assert!(
        info.agent_version.starts_with("ferrite/"),
        "{}",
        info.agent_version
    );
    let protocols: Vec<String> = info.protocols.iter().map(ToString::to_string).collect();
    for p in [MK_V121, MK_V120, STATUS_V120, ASK_V110] {
        assert!(
            protocols.iter().any(|x| x == p),
            "{p} missing from {protocols:?}"
        );
    }
}

#[tokio::test]
async fn unreachable_provider_times_out_or_fails() {
    let client = Client::new(Keypair::generate_ed25519()).unwrap();
    let nobody = Provider {
        peer_id: Keypair::generate_ed25519().public().to_peer_id(),
        addrs: vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()],
    };
    let err = client
        .propose(&nobody, params(1), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ferrite_market::net::ClientError::Request { .. }
                | ferrite_market::net::ClientError::Timeout(_)
        ),
        "{err}"
    );
}

/// A bare host that opens and accepts raw streams, like a Go peer would.
struct Raw {
    control: libp2p_stream::Control,
    peer_id: PeerId,
    events: mpsc::UnboundedReceiver<String>,
}

async fn raw_host(dial: Option<&Provider>) -> (Raw, Multiaddr) {
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
    let control = swarm.behaviour().new_control();
    let peer_id = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    if let Some(p) = dial {
        let addr = p.addrs[0].clone().with(Protocol::P2p(p.peer_id));
        swarm.dial(addr).unwrap();
    }
    let (tx, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => {
                    let _ = tx.send("established".to_owned());
                }
                SwarmEvent::ConnectionClosed { .. } => {
                    let _ = tx.send("closed".to_owned());
                }
                _ => {}
            }
        }
    });
    (
        Raw {
            control,
            peer_id,
            events,
        },
        addr,
    )
}

/// Opens a stream, writes `bytes` WITHOUT closing the write side, and reads
/// until the provider closes its side.
async fn raw_exchange(raw: &mut Raw, to: PeerId, protocol: &'static str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = raw
        .control
        .open_stream(to, StreamProtocol::new(protocol))
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(T, stream.read_to_end(&mut out))
        .await
        .expect("provider answered without waiting for our EOF")
        .unwrap_or_default();
    out
}

#[tokio::test]
async fn request_without_half_close_is_answered() {
    let s = start_server().await;
    let (mut raw, _) = raw_host(Some(&s.provider)).await;
    let answer = raw_exchange(
        &mut raw,
        s.provider.peer_id,
        MK_V121,
        &params(10).to_cbor().unwrap(),
    )
    .await;
    assert_eq!(
        DealResponse::from_cbor(&answer).unwrap(),
        DealResponse::accept()
    );
}

#[tokio::test]
async fn garbage_closes_the_stream_but_not_the_connection() {
    let s = start_server().await;
    let (mut raw, _) = raw_host(Some(&s.provider)).await;

    // Not CBOR a Go peer would write (indefinite-length map), then junk.
    let answer = raw_exchange(
        &mut raw,
        s.provider.peer_id,
        MK_V121,
        &[0xbf, 0x01, 0x02, 0xff],
    )
    .await;
    assert!(answer.is_empty(), "no response to garbage: {answer:?}");
    // Well-formed CBOR of the wrong shape.
    let answer = raw_exchange(&mut raw, s.provider.peer_id, STATUS_V120, &[0x83, 1, 2, 3]).await;
    assert!(answer.is_empty());

    // The same connection still serves a good request.
    let answer = raw_exchange(
        &mut raw,
        s.provider.peer_id,
        MK_V120,
        &params(10).to_cbor().unwrap(),
    )
    .await;
    assert_eq!(
        DealResponse::from_cbor(&answer).unwrap(),
        DealResponse::accept()
    );
    let mut events = Vec::new();
    while let Ok(e) = raw.events.try_recv() {
        events.push(e);
    }
    assert_eq!(events, ["established"], "one connection, never closed");
}

#[tokio::test]
async fn v120_request_with_v121_fields_keeps_them() {
    let s = start_server().await;
    let (mut raw, _) = raw_host(Some(&s.provider)).await;
    let mut p = params(10);
    p.remove_unsealed_copy = true;
    p.skip_ipni_announce = true;
    let answer = raw_exchange(&mut raw, s.provider.peer_id, MK_V120, &p.to_cbor().unwrap()).await;
    assert_eq!(
        DealResponse::from_cbor(&answer).unwrap(),
        DealResponse::accept()
    );
    let seen = s.fake.proposals.lock().unwrap();
    let (from, got, version) = &seen[0];
    assert_eq!(*from, raw.peer_id);
    assert_eq!(*version, MkVersion::V120);
    assert!(got.remove_unsealed_copy && got.skip_ipni_announce);
}

/// A provider that, like an older Boost, only speaks mk 1.2.0: the client
/// falls back to it.
#[tokio::test]
async fn client_falls_back_to_v120() {
    let (raw, addr) = raw_host(None).await;
    let mut incoming = raw
        .control
        .clone()
        .accept(StreamProtocol::new(MK_V120))
        .unwrap();
    let provider = Provider {
        peer_id: raw.peer_id,
        addrs: vec![addr],
    };
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            // Read one item like Go's UnmarshalCBOR (the client half-closes,
            // but we must not depend on that), answer, close.
            let mut buf = vec![0u8; 64 << 10];
            let mut have = 0;
            let params = loop {
                let n = stream.read(&mut buf[have..]).await.unwrap();
                have += n;
                if let Ok(p) = DealParams::from_cbor(&buf[..have]) {
                    break p;
                }
                assert!(n > 0, "eof before a full DealParams");
            };
            let resp = DealResponse::reject(format!("v120 saw {}", params.deal_uuid));
            stream.write_all(&resp.to_cbor().unwrap()).await.unwrap();
            stream.close().await.unwrap();
        }
    });
    let client = Client::new(Keypair::generate_ed25519()).unwrap();
    let (version, resp) = client.propose(&provider, params(10), T).await.unwrap();
    assert_eq!(version, MkVersion::V120);
    assert_eq!(resp.message, format!("v120 saw {}", DealUuid([0x11; 16])));
}
