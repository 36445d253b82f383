//! The resident prover with real 2 KiB proofs: one sector is sealed up to
//! C1 (a few milliseconds at 2 KiB), then proven. The first C2 loads the PoRep
//! parameters into memory once, and its proof passes `verify_seal`. A C1
//! output given for another sector is refused before any SNARK work, and a
//! proof with a flipped byte fails the check every C2 ends with. Then a
//! Window PoSt (twice) and a Winning PoSt over the same replica: each kind's
//! parameters are loaded once, by its first proof, and every proof is
//! verified before it is returned.
//!
//! The C2 runs twice at once, through the pipeline: both proofs come from
//! one parameter load, and the second waits, synthesized, for the first's
//! proving turn.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::time::Duration;

use ferrite_proofs::post::{self, PostInput};
use ferrite_proofs::seal::{
    self, AddPieceInput, C1Input, C2Input, Pc1Input, Pc2Input, VerifySealInput,
};
use ferrite_proofs::{ProofsError, prover};
use ferrite_types::{
    ActorId, PaddedPieceSize, PostRandomness, SealProof, SectorId, SectorNumber, SectorSize, Seed,
    Ticket,
};

use common::init;

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn a_c2_loads_the_parameters_once_and_its_proof_is_checked() {
    init();
    let proof = SealProof::new(SectorSize::S2KiB);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sector = SectorId::new(ActorId(1000), SectorNumber(3));
    let (ticket, seed) = (Ticket([5u8; 32]), Seed([6u8; 32]));
    let unpadded = PaddedPieceSize::from(SectorSize::S2KiB).unpadded();
    let data: Vec<u8> = (0..unpadded.bytes())
        .map(|i| (i * 13 % 251) as u8)
        .collect();
    let piece = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: d.join("staged"),
            size: unpadded,
            existing: vec![],
        },
        &data[..],
    )
    .unwrap();
    let pc1 = seal::pc1(&Pc1Input {
        proof,
        sector,
        staged_path: d.join("staged"),
        sealed_path: d.join("sealed"),
        cache_dir: d.join("cache"),
        ticket,
        pieces: vec![piece.piece],
    })
    .unwrap();
    let commitments = seal::pc2(Pc2Input {
        pc1,
        cache_dir: d.join("cache"),
        sealed_path: d.join("sealed"),
    })
    .unwrap();
    let c1 = seal::c1(&C1Input {
        proof,
        sector,
        cache_dir: d.join("cache"),
        sealed_path: d.join("sealed"),
        ticket,
        seed,
        commitments,
        pieces: vec![piece.piece],
    })
    .unwrap();

    // Another sector's C1 output: refused at once, nothing loaded.
    let other = SectorId::new(ActorId(1000), SectorNumber(4));
    let err = seal::c2(C2Input {
        c1: c1.clone(),
        sector: other,
    })
    .unwrap_err();
    assert!(matches!(err, ProofsError::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("replica id"), "{err}");
    assert_eq!(prover::stats().loads, 0, "no parameters loaded for it");

    let verifies = |bytes: &seal::SealProofBytes| {
        seal::verify_seal(&VerifySealInput {
            proof,
            sector,
            commitments,
            ticket,
            seed,
            proof_bytes: bytes.clone(),
        })
        .unwrap()
    };
    // Two C2s in flight at once, through the pipeline's one proving turn
    // (`[proofs.limits] c2_proving = 1`): both synthesize, one proves while
    // the other waits for the turn with its circuits synthesized.
    let c2 = || {
        prover::c2_report(C2Input {
            c1: c1.clone(),
            sector,
        })
        .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(c2);
        let b = s.spawn(c2);
        (a.join().unwrap(), b.join().unwrap())
    });
    for r in [&a, &b] {
        eprintln!(
            "C2: load {:?}, {:?}, verify {:?}",
            r.load, r.stages, r.verify
        );
        assert!(r.resident, "2 KiB parameters fit the default cap");
        assert!(r.stages.synthesis > Duration::ZERO && r.stages.proving > Duration::ZERO);
        assert_eq!(r.proof.0.len(), 192, "one partition, one Groth16 proof");
        assert!(verifies(&r.proof));
    }
    assert_ne!(a.proof, b.proof, "fresh randomness per proof");
    let (first, waited) = if a.stages.queued <= b.stages.queued {
        (a, b)
    } else {
        (b, a)
    };
    // The second waited for the first's FFTs and multiexps (tens of seconds
    // here); without the turn they would have proven side by side.
    assert!(
        waited.stages.queued > Duration::from_secs(1),
        "{:?} then {:?}",
        first.stages,
        waited.stages
    );
    let after_first = prover::stats();
    assert_eq!(
        (after_first.loads, after_first.sets),
        (1, 1),
        "both proven from one load"
    );
    // The 2 KiB PoRep parameter file is about 1.1 GB of decoded points.
    assert!(after_first.bytes > 500 << 20, "{after_first:?}");
    assert_eq!(prover::pipeline::stats().waiting, 0);
    assert!(first.load.max(waited.load) > Duration::ZERO, "{first:?}");
    // The slot is decided: asking for it again loads nothing.
    prover::preload(&[SectorSize::S2KiB]).unwrap();
    assert_eq!(
        prover::stats(),
        after_first,
        "the same parameters, not reloaded"
    );

    // The check every C2 ends with refuses a corrupted proof.
    let mut flipped = first.proof.clone();
    flipped.0[40] ^= 0x01;
    let err = prover::check_seal_proof(&c1, sector, &flipped).unwrap_err();
    assert!(matches!(err, ProofsError::Proof(_)), "{err}");
    // ... and a good proof checked as another sector's.
    let err = prover::check_seal_proof(&c1, other, &first.proof).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");

    // Window and Winning PoSt over the same replica: each kind's parameters
    // are loaded by its first proof, once, and each proof is verified
    // before it is returned.
    let sectors = vec![post::ProvingSector {
        number: sector.number,
        comm_r: commitments.comm_r,
        cache_dir: d.join("cache"),
        sealed_path: d.join("sealed"),
    }];
    let input = |kind, seed: u8| PostInput {
        proof: kind,
        miner: sector.miner,
        randomness: PostRandomness::new([seed; 32]),
        sectors: sectors.clone(),
    };
    let window = input(proof.window_post(), 7);
    let first_window = post::generate_window_post_report(&window).unwrap();
    eprintln!(
        "first Window PoSt: load {:?}, prove {:?}, verify {:?}",
        first_window.load, first_window.prove, first_window.verify
    );
    assert!(first_window.resident);
    assert_eq!(prover::stats().loads, 2, "the Window PoSt parameters, once");
    let [only] = first_window.proofs.as_slice() else {
        panic!("one proof: {:?}", first_window.proofs)
    };
    assert_eq!((only.proof, only.bytes.len()), (proof.window_post(), 192));
    let again = post::generate_window_post_report(&input(proof.window_post(), 8)).unwrap();
    assert!(again.resident);
    assert_eq!(prover::stats().loads, 2, "not loaded again");
    assert_ne!(again.proofs, first_window.proofs, "another challenge");
    // Its bytes are what the library's verifier (the chain's) accepts.
    let on_chain = |input: &PostInput, proofs: &[post::PostProofBytes]| post::VerifyPostInput {
        miner: input.miner,
        randomness: input.randomness,
        sectors: vec![post::ChainSector {
            number: sector.number,
            comm_r: commitments.comm_r,
        }],
        proofs: proofs.to_vec(),
    };
    assert!(post::verify_window_post(&on_chain(&window, &first_window.proofs)).unwrap());
    // The check every PoSt ends with refuses a corrupted proof, and a
    // proof for another challenge.
    let mut flipped = first_window.proofs.clone();
    flipped[0].bytes[40] ^= 0x01;
    let err = prover::check_post_proofs(&window, &flipped).unwrap_err();
    assert!(matches!(err, ProofsError::Proof(_)), "{err}");
    let err = prover::check_post_proofs(&window, &again.proofs).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");

    let winning = input(proof.winning_post(), 9);
    let won = post::generate_winning_post_report(&winning).unwrap();
    assert!(won.resident);
    assert_eq!(
        prover::stats().loads,
        3,
        "the Winning PoSt parameters, once"
    );
    assert!(post::verify_winning_post(&on_chain(&winning, &won.proofs)).unwrap());
    assert_eq!(prover::stats().sets, 3);
}
