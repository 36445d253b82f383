//! Independent check of the IPNI wire format: this test writes a small ad
//! chain (a deal ad, a piece ad, a removal) as files and runs
//! `tests/js/check.mjs`, which decodes them with the JS IPLD and libp2p
//! libraries and verifies every CID, signature and field on its own.
//!
//! Needs `node` and the script's packages: `npm ci --prefix retrieval/tests/js`.

use std::path::Path;
use std::process::Command;

use cid::Cid;
use cid::multihash::Multihash;
use ferrite_retrieval::ipni::{
    AdChain, AdRequest, AnnounceMessage, ContextId, HttpAddr, MemAdStore, Metadata, block_response,
    head_response, provider_path,
};
use ferrite_types::{CommP, PaddedPieceSize, PieceInfo};
use libp2p::identity::Keypair;
use sha2::Digest;

const PIECE_V1: &str = "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi";
const CHUNK_SIZE: usize = 3;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn js_decodes_and_verifies_the_ad_chain() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        js.join("node_modules").is_dir(),
        "the JS checker's packages are missing: run `npm ci --prefix retrieval/tests/js` first"
    );

    let key = Keypair::generate_ed25519();
    let retrieval = HttpAddr::from_url("http://127.0.0.1:2347").unwrap();
    let chain =
        AdChain::new(key, vec![retrieval.to_multiaddr_string()]).with_chunk_size(CHUNK_SIZE);
    let peer = chain.peer_id();
    let store = MemAdStore::default();

    let piece_cid: Cid = PIECE_V1.parse().unwrap();
    let piece = PieceInfo {
        comm_p: CommP::from_cid(&piece_cid).unwrap(),
        size: PaddedPieceSize::new(2048).unwrap(),
    };
    let blocks: Vec<Multihash<64>> = (0..7)
        .map(|i| Multihash::wrap(0x12, &sha2::Sha256::digest(format!("block {i}"))).unwrap())
        .collect();
    let v2 = piece.to_cid_v2(1900).unwrap();

    let deal = chain
        .publish(
            &store,
            AdRequest::deal(&piece, blocks.clone(), true).unwrap(),
        )
        .unwrap();
    let piece_ad = chain.publish(&store, AdRequest::piece(&v2)).unwrap();
    let removal = chain
        .publish(
            &store,
            AdRequest::removal(ContextId::for_deal(&piece), Metadata::IpfsGatewayHttp),
        )
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let blocks_dir = dir.path().join("blocks");
    std::fs::create_dir(&blocks_dir).unwrap();
    for b in store.blocks().unwrap() {
        // Write what the publisher would serve, not the store's raw map.
        let served = block_response(
            &store,
            &peer.to_string(),
            &peer.to_string(),
            &b.cid.to_string(),
        )
        .unwrap();
        std::fs::write(blocks_dir.join(b.cid.to_string()), served.body).unwrap();
    }
    let head = head_response(&store, chain.key(), &peer.to_string()).unwrap();
    std::fs::write(dir.path().join("head.json"), head.body).unwrap();

    let publisher = HttpAddr::from_url("https://sp.example.com")
        .unwrap()
        .join(&provider_path(&peer));
    let msg = AnnounceMessage::new(removal.head, &publisher, &peer);
    std::fs::write(dir.path().join("announce.cbor"), msg.to_cbor()).unwrap();

    let mut deal_mhs: Vec<String> = blocks.iter().map(|m| hex(&m.to_bytes())).collect();
    deal_mhs.push(hex(&piece_cid.hash().to_bytes()));
    let expected = serde_json::json!({
        "provider": peer.to_string(),
        "addresses": [retrieval.to_multiaddr_string()],
        "chunkSize": CHUNK_SIZE,
        "head": removal.head.to_string(),
        "publisher": format!("{}/p2p/{peer}", publisher.to_multiaddr_string()),
        // oldest first
        "ads": [
            {
                "cid": deal.head.to_string(),
                "kind": "deal",
                "isRm": false,
                "metadataCode": 0x0920,
                "pieceCid": PIECE_V1,
                "pieceSize": 2048,
                "multihashes": deal_mhs,
            },
            {
                "cid": piece_ad.head.to_string(),
                "kind": "piece",
                "isRm": false,
                "metadataCode": 0x0930,
                "pieceCidV2": v2.to_cid().to_string(),
                "payloadFlag": 0,
                "multihashes": [hex(&v2.to_cid().hash().to_bytes())],
            },
            {
                "cid": removal.head.to_string(),
                "kind": "deal",
                "isRm": true,
                "metadataCode": 0x0920,
                "pieceCid": PIECE_V1,
                "pieceSize": 2048,
                "multihashes": [],
            },
        ],
    });
    std::fs::write(dir.path().join("expected.json"), expected.to_string()).unwrap();

    let out = Command::new("node")
        .arg(js.join("check.mjs"))
        .arg(dir.path())
        .output()
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "JS check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("ipni check: ok"), "{stdout}\n{stderr}");
}
