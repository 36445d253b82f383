//! Sectors that carry deals, end to end on the devnet with real 2 KiB
//! proofs: three published deals of different sizes are handed to the
//! pipeline with `Pipeline::add_piece`, packed into one sector (the second
//! and third queued while the first one's AddPiece waits, then written
//! largest first, with an alignment filler), sealed once the packing wait
//! runs out, and proven with `ProveCommitSectors3` piece manifests that
//! notify the market. The market's own v18 state then shows each deal
//! activated in that sector, and the miner's shows a sector that outlives
//! every deal. A deal that starts too soon to be sealed first is refused
//! with the reason, and changes nothing.
//!
//! One sector, one C2: about a minute on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::io::Read;
use std::path::Path;

use ferrite_sealing::testnet::{self, FAST_RETRY, SEAL_TIMEOUT, TestNet};
use ferrite_sealing::{
    DealPiece, PackingConfig, PieceData, SealingError, SectorPiece, SectorState,
};
use ferrite_types::{ChainEpoch, PaddedPieceSize, PieceInfo, SectorNumber};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Writes `len` random bytes to `path`; the piece they make (zero-filled to
/// the smallest piece that holds them, as clients do).
fn payload(path: &Path, len: usize, seed: u64) -> PieceInfo {
    let mut data = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut data);
    std::fs::write(path, &data).unwrap();
    let size = PaddedPieceSize::for_payload(len as u64).unwrap();
    let source = (&data[..]).chain(std::io::repeat(0).take(size.unpadded().bytes() - len as u64));
    ferrite_proofs::commp::piece_commitment(source, size.unpadded()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn deals_are_packed_into_one_sector_sealed_and_activated() {
    testnet::init_proofs_from_env().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    let packing = PackingConfig {
        max_wait_secs: 3,
        seal_epochs: 2000,
    };
    let pipeline = net.open_pipeline(FAST_RETRY).unwrap().with_packing(packing);

    // Three payloads: 254 B (a 256 B piece), 500 B (512) and 200 B (256).
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let policy = ferrite_chain::rpc::state::devnet_policy();
    let head = net.steps.head().await.unwrap();
    // 100 ms blocks: sealing takes well under 3000 epochs here.
    let start = head + 3000;
    // Deals that outlive the sector's default lifetime: the precommit's
    // expiration must cover them.
    let end = start + policy.min_sector_expiration + 200_000;
    let mut deals = Vec::new();
    for (i, len) in [254usize, 500, 200].into_iter().enumerate() {
        let path = staging.join(format!("piece-{i}"));
        let piece = payload(&path, len, i as u64);
        let deal = net.publish_deal(piece, start, end).await.unwrap();
        deals.push(DealPiece {
            piece,
            deal,
            start: ChainEpoch(start),
            end: ChainEpoch(end),
            data: PieceData::File(path),
        });
    }

    // A deal that would start before its sector could be proven is refused,
    // and opens no sector.
    let head = net.steps.head().await.unwrap();
    let late = DealPiece {
        start: ChainEpoch(head + 100),
        ..deals[0].clone()
    };
    match pipeline.add_piece(late).await {
        Err(SealingError::PieceRefused { deal, reason }) => {
            assert_eq!(deal, deals[0].deal);
            assert!(
                reason.contains("cannot be proven before it starts"),
                "{reason}"
            );
        }
        other => panic!("a late deal was not refused: {other:?}"),
    }
    assert!(pipeline.sectors().await.unwrap().is_empty());

    // All three go into sector 1: the first starts an AddPiece, the others
    // queue behind it.
    for d in &deals {
        assert_eq!(
            pipeline.add_piece(d.clone()).await.unwrap(),
            SectorNumber(1)
        );
    }
    let n = SectorNumber(1);
    let SectorState::AddPiece { queued, .. } = pipeline.record(n).unwrap().state else {
        panic!("sector 1 is not writing pieces");
    };
    assert_eq!(queued.len(), 2);

    let r = pipeline
        .run_until(n, |r| r.state.name() == "Proving", SEAL_TIMEOUT)
        .await
        .unwrap();
    let SectorState::Proving { base, .. } = &r.state else {
        unreachable!()
    };
    // The layout: 256 at 0; then, written together, the 512 piece (aligned
    // after a 256 filler) before the second 256 one; fillers to the end.
    let layout: Vec<(bool, u64)> = base
        .pieces
        .iter()
        .map(|p| (matches!(p, SectorPiece::Deal(_)), p.info().size.bytes()))
        .collect();
    assert_eq!(
        layout,
        vec![
            (true, 256),
            (false, 256),
            (true, 512),
            (true, 256),
            (false, 256),
            (false, 512),
        ]
    );
    let seen: Vec<&str> = r.history.iter().map(|e| e.event.as_str()).collect();
    assert!(seen.contains(&"StartSealing"), "{seen:?}");

    // On chain: each deal active in sector 1, and the sector outlives them.
    for d in &deals {
        let state = net
            .deal_state(d.deal)
            .unwrap()
            .unwrap_or_else(|| panic!("deal {} is not activated", d.deal));
        assert_eq!(state.sector_number, 1, "deal {}", d.deal);
        assert!(state.sector_start_epoch > 0, "deal {}", d.deal);
    }
    let st = net.miner_state().unwrap();
    let sector = st
        .get_sector(net.devnet.blockstore(), n.0)
        .unwrap()
        .expect("the sector is active on chain");
    assert!(
        sector.expiration >= end,
        "expiration {} < deal end {end}",
        sector.expiration
    );
    // The deals' space counts as deal weight (space × remaining lifetime).
    assert!(
        sector.deal_weight > fvm_shared::bigint::BigInt::from(0),
        "{:?}",
        sector.deal_weight
    );
    drop(pipeline);
    net.stop().await.unwrap();
}
