//! SnapDeals at the proofs boundary, with real 2 KiB proofs: a CC sector is
//! sealed (AddPiece of zeros, PC1, PC2: the update needs the sealed replica
//! and its cache, not the seal proof), deal data is staged with AddPiece and
//! encoded into it, the update is proven and verified. A proof checked
//! against another CommR, or with a flipped byte, is refused, and a sector
//! key that is not there is a clear error, not a panic. Each cache's `p_aux`
//! gives back its replica's CommR (`replica_comm_r`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use ferrite_proofs::ProofsError;
use ferrite_proofs::replica::replica_comm_r;
use ferrite_proofs::seal::{self, AddPieceInput, Pc1Input, Pc2Input};
use ferrite_proofs::update::{self, EncodeInput, ProveInput, VerifyInput};
use ferrite_types::{
    ActorId, PaddedPieceSize, SealProof, SectorId, SectorNumber, SectorSize, Ticket,
};

use common::init;

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn a_cc_sector_is_updated_with_deal_data_and_the_proof_verifies() {
    init();
    let proof = SealProof::new(SectorSize::S2KiB);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sector = SectorId::new(ActorId(1000), SectorNumber(7));
    let unpadded = PaddedPieceSize::from(SectorSize::S2KiB).unpadded();
    let len = usize::try_from(unpadded.bytes()).unwrap();

    // The CC sector: zeros, sealed.
    let zeros = vec![0u8; len];
    let cc = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: d.join("cc-staged"),
            size: unpadded,
            existing: vec![],
        },
        &zeros[..],
    )
    .unwrap();
    let pc1 = seal::pc1(&Pc1Input {
        proof,
        sector,
        staged_path: d.join("cc-staged"),
        sealed_path: d.join("cc-sealed"),
        cache_dir: d.join("cc-cache"),
        ticket: Ticket([9u8; 32]),
        pieces: vec![cc.piece],
    })
    .unwrap();
    let old = seal::pc2(Pc2Input {
        pc1,
        cache_dir: d.join("cc-cache"),
        sealed_path: d.join("cc-sealed"),
    })
    .unwrap();

    // The deal's data, staged as AddPiece writes it.
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let piece = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: d.join("deal-staged"),
            size: unpadded,
            existing: vec![],
        },
        &data[..],
    )
    .unwrap();
    let encoded = update::encode(&EncodeInput {
        proof,
        sector_key_path: d.join("cc-sealed"),
        sector_key_cache: d.join("cc-cache"),
        staged_path: d.join("deal-staged"),
        pieces: vec![piece.piece],
        new_replica_path: d.join("update"),
        new_cache: d.join("update-cache"),
    })
    .unwrap();
    assert_ne!(encoded.comm_r_new, old.comm_r, "a new replica");
    assert_eq!(
        encoded.comm_d_new.0, piece.piece.comm_p.0,
        "one piece filling the sector: CommD is its CommP"
    );
    // Each cache names its own replica, as the PoSt provers tell them apart.
    assert_eq!(
        replica_comm_r(&d.join("cc-cache")).unwrap(),
        old.comm_r,
        "the sector key's cache: the sealed CommR"
    );
    assert_eq!(
        replica_comm_r(&d.join("update-cache")).unwrap(),
        encoded.comm_r_new,
        "the update's cache: the new CommR"
    );

    let prove = ProveInput {
        proof,
        comm_r_old: old.comm_r,
        encoded,
        sector_key_path: d.join("cc-sealed"),
        sector_key_cache: d.join("cc-cache"),
        new_replica_path: d.join("update"),
        new_cache: d.join("update-cache"),
    };
    let t = std::time::Instant::now();
    let bytes = update::prove(&prove).unwrap();
    eprintln!(
        "2 KiB update proof: {} bytes in {:?}",
        bytes.0.len(),
        t.elapsed()
    );
    let verify = |comm_r_old, proof_bytes| {
        update::verify(&VerifyInput {
            proof,
            comm_r_old,
            encoded,
            proof_bytes,
        })
    };
    assert!(
        verify(old.comm_r, bytes.clone()).unwrap(),
        "the update proof verifies"
    );
    assert!(
        !verify(encoded.comm_r_new, bytes.clone()).unwrap(),
        "not against another sector key"
    );
    // A flipped byte makes a point that is not on the curve: an error, or
    // a proof that does not verify; never a pass.
    let mut flipped = bytes.clone();
    flipped.0[40] ^= 0x01;
    let r = verify(old.comm_r, flipped);
    assert!(!matches!(r, Ok(true)), "not with a flipped byte: {r:?}");

    // A sector key that is gone: an error naming the problem, no panic.
    let err = update::prove(&ProveInput {
        sector_key_path: d.join("no-such-sealed-file"),
        ..prove
    })
    .unwrap_err();
    assert!(
        matches!(err, ProofsError::Proof(_) | ProofsError::Panicked { .. }),
        "{err}"
    );
}
