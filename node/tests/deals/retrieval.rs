//! Retrieval from the deals' sector, after the deals are active: the pieces
//! over `/piece/` (v1 and v2 CIDs), the offline deal's CAR through the
//! trustless gateway, `ferrite client retrieve` checking what it gets, the
//! IPNI ad chain, bad requests, and an unseal on demand (real proofs) that
//! ten concurrent requests share.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cid::Cid;
use ferrite_types::{CommP, PaddedPieceSize, PieceCidV2};
use multihash_codetable::{Code, MultihashDigest};

use super::common::{ferrite, stderr, stdout};
use super::http;

/// A CARv1 of a dag-cbor root linking to two raw leaves (sha2-256 CIDs):
/// the bytes, and its blocks, root first.
pub fn car_payload() -> (Vec<u8>, Vec<(Cid, Vec<u8>)>) {
    let l1 = b"the first leaf of the offline deal".to_vec();
    let l2 = b"and its second leaf, a little longer than the first".to_vec();
    let c1 = Cid::new_v1(0x55, Code::Sha2_256.digest(&l1));
    let c2 = Cid::new_v1(0x55, Code::Sha2_256.digest(&l2));
    let root = fvm_ipld_encoding::to_vec(&("two leaves", vec![c1, c2])).unwrap();
    let root_cid = Cid::new_v1(0x71, Code::Sha2_256.digest(&root));
    let blocks = vec![(root_cid, root), (c1, l1), (c2, l2)];
    let mut car = ferrite_retrieval::dag::car_header(&[root_cid]).unwrap();
    for (c, d) in &blocks {
        car.extend(ferrite_retrieval::dag::car_section(c, d));
    }
    (car, blocks)
}

/// The piece CID `ferrite deals status` shows for `deal`.
fn piece_of(home: &Path, deal: &str) -> CommP {
    let s = super::common::market::status(home, deal);
    let text = s["piece"].split_whitespace().next().unwrap().to_string();
    CommP::from_str(&text).unwrap()
}

/// Everything retrieval; see the module docs.
pub fn retrieve_the_deals(
    home: &Path,
    online: (&str, &[u8]),
    offline: (&str, &[u8]),
    blocks: &[(Cid, Vec<u8>)],
    sector: u64,
) {
    let base = std::fs::read_to_string(home.join("retrieval")).unwrap();
    let base = base.trim();
    let on_piece = piece_of(home, online.0);
    let off_piece = piece_of(home, offline.0);
    let kib = PaddedPieceSize::new(1024).unwrap();
    let on_v2 = PieceCidV2::new(on_piece, kib, online.1.len() as u64).unwrap();

    // v2: the payload, byte for byte. v1: the unpadded piece, zero-filled.
    let (code, body) = http(&format!("{base}/piece/{on_v2}"), "GET", &[], &[]);
    assert_eq!(code, 200);
    assert_eq!(body, online.1);
    let (code, body) = http(&format!("{base}/piece/{on_piece}"), "GET", &[], &[]);
    assert_eq!(code, 200);
    assert_eq!(body.len(), 1016);
    assert_eq!(&body[..online.1.len()], online.1);
    assert!(body[online.1.len()..].iter().all(|b| *b == 0));
    let (code, body) = http(
        &format!("{base}/piece/{on_v2}"),
        "GET",
        &[("Range", "bytes=100-199")],
        &[],
    );
    assert_eq!(code, 206);
    assert_eq!(body, &online.1[100..200]);

    // The client checks CommP (piece) or every block and the DAG (CAR).
    let out = home.join("client").join("retrieved-piece");
    let got = ferrite(
        home,
        &[
            "client",
            "retrieve",
            &off_piece.to_string(),
            "--provider",
            base,
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(stdout(&got).contains("CommP"), "{}", stdout(&got));
    let piece = std::fs::read(&out).unwrap();
    assert_eq!(&piece[..offline.1.len()], offline.1);
    let root = blocks[0].0;
    let car = home.join("client").join("retrieved.car");
    let got = ferrite(
        home,
        &[
            "client",
            "retrieve",
            &root.to_string(),
            "--provider",
            base,
            "-o",
            car.to_str().unwrap(),
        ],
    );
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(stdout(&got).contains("3 blocks"), "{}", stdout(&got));
    let (leaf, leaf_bytes) = &blocks[2];
    let (code, body) = http(&format!("{base}/ipfs/{leaf}?format=raw"), "GET", &[], &[]);
    assert_eq!(code, 200);
    assert_eq!(&body, leaf_bytes);

    // Bad input: a clear status, and the server goes on.
    let absent = Cid::new_v1(0x55, Code::Sha2_256.digest(b"never stored"));
    for (path, want) in [
        ("/piece/not-a-cid".to_string(), 400),
        (format!("/piece/{}", CommP([7; 32])), 404),
        (format!("/ipfs/{absent}?format=raw"), 404),
        (format!("/piece/{on_v2}/../../etc/passwd"), 404),
    ] {
        let (code, _) = http(&format!("{base}{path}"), "GET", &[], &[]);
        assert_eq!(code, want, "{path}");
    }
    let (code, _) = http(
        &format!("{base}/piece/{on_v2}"),
        "GET",
        &[("Range", "bytes=5000-")],
        &[],
    );
    assert_eq!(code, 416);

    // IPNI: the chain's head, signed by the market's peer, names an ad for
    // these pieces at the retrieval address.
    let peer = std::fs::read_to_string(home.join("market-peer")).unwrap();
    let peer = peer.lines().next().unwrap().rsplit("/p2p/").next().unwrap();
    let head_url = format!("{base}/ipni-provider/{peer}/ipni/v1/ad/head");
    let started = Instant::now();
    let head = loop {
        let (code, body) = http(&head_url, "GET", &[], &[]);
        if code == 200 {
            break serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no IPNI head: {code}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let head_cid = head["head"]["/"].as_str().unwrap().to_string();
    let (code, ad) = http(
        &format!("{base}/ipni-provider/{peer}/ipni/v1/ad/{head_cid}"),
        "GET",
        &[],
        &[],
    );
    assert_eq!(code, 200);
    let ad: serde_json::Value = serde_json::from_slice(&ad).unwrap();
    assert_eq!(ad["Provider"], peer);
    let port = base.rsplit(':').next().unwrap();
    assert!(
        ad["Addresses"][0]
            .as_str()
            .unwrap()
            .ends_with(&format!("/tcp/{port}/http")),
        "{ad}"
    );
    let (code, _) = http(
        &format!("{base}/ipni-provider/12D3KooWNotOurs/ipni/v1/ad/head"),
        "GET",
        &[],
        &[],
    );
    assert_eq!(code, 404);

    // No unsealed copy: the next requests unseal it, once, with the real
    // proofs, and get the same bytes.
    let unsealed = std::fs::read_dir(home.join("sealing/sectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(&format!("-{sector}"))
        })
        .unwrap()
        .join("unsealed");
    std::fs::remove_file(&unsealed).unwrap();
    let url = format!("{base}/piece/{on_v2}");
    let gets: Vec<_> = (0..10)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http(&url, "GET", &[], &[]))
        })
        .collect();
    for g in gets {
        let (code, body) = g.join().unwrap();
        assert_eq!(code, 200);
        assert_eq!(body, online.1);
    }
    assert!(unsealed.is_file(), "the copy is back");
    let stats = ferrite(home, &["retrieval", "stats"]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    let text = stdout(&stats);
    assert!(text.contains("unseals: 1 done, 0 failed"), "{text}");
    assert!(text.contains("piece  200:"), "{text}");
}
