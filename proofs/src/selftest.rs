//! The proofs self-test: the whole real pipeline on one sector, every result
//! checked, every phase timed.
//!
//! AddPiece → PC1 → PC2 → C1 → C2 → verify (and a flipped seed must fail) →
//! finalize → Winning PoSt (generate, verify) → Window PoSt (generate, verify)
//! → unseal (the bytes must equal the input).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use ferrite_types::{
    ActorId, PostRandomness, SealProof, SectorId, SectorNumber, SectorSize, Seed, Ticket,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::post::{self, ChainSector, PostInput, ProvingSector, VerifyPostInput};
use crate::seal::{self, AddPieceInput, C1Input, C2Input, Pc1Input, Pc2Input, VerifySealInput};
use crate::{ProofsError, params::io};

/// One timed phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseTime {
    /// The phase's name.
    pub phase: &'static str,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs the pipeline for a sector of `size` in `workdir` (which it empties
/// first), calling `on_phase` as each phase finishes.
pub fn run(
    size: SectorSize,
    workdir: &Path,
    on_phase: &mut dyn FnMut(&PhaseTime),
) -> Result<Vec<PhaseTime>, ProofsError> {
    let proof = SealProof::new(size);
    let _ = fs::remove_dir_all(workdir);
    fs::create_dir_all(workdir).map_err(|e| io(format!("create {}", workdir.display()), e))?;
    let staged = workdir.join("unsealed");
    let sealed = workdir.join("sealed");
    let cache = workdir.join("cache");
    let sector = SectorId::new(ActorId(1000), SectorNumber(1));

    let mut rng = ChaCha20Rng::from_entropy();
    let piece_size = ferrite_types::PaddedPieceSize::from(size).unpadded();
    let mut data = vec![
        0u8;
        usize::try_from(piece_size.bytes()).map_err(|_| {
            ProofsError::InvalidInput(format!("{size} sectors do not fit in memory here"))
        })?
    ];
    rng.fill_bytes(&mut data);
    let mut random32 = || {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        b
    };
    let ticket = Ticket(random32());
    let seed = Seed(random32());
    let winning_rand = PostRandomness::new(random32());
    let window_rand = PostRandomness::new(random32());

    let mut times = Vec::new();
    let mut timed = |phase: &'static str, start: Instant| {
        let t = PhaseTime {
            phase,
            elapsed: start.elapsed(),
        };
        on_phase(&t);
        times.push(t);
    };
    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(ProofsError::Proof(anyhow::anyhow!(
                "self-test failed: {what}"
            )))
        }
    };

    let t = Instant::now();
    let commp = seal::generate_piece_commitment(proof, &data[..], piece_size)?;
    timed("piece commitment", t);

    let t = Instant::now();
    let added = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: staged.clone(),
            size: piece_size,
            existing: vec![],
        },
        &data[..],
    )?;
    timed("add piece", t);
    check(
        added.piece == commp,
        "AddPiece's CommP differs from the piece commitment",
    )?;
    let pieces = vec![added.piece];

    let t = Instant::now();
    let pc1 = seal::pc1(&Pc1Input {
        proof,
        sector,
        staged_path: staged.clone(),
        sealed_path: sealed.clone(),
        cache_dir: cache.clone(),
        ticket,
        pieces: pieces.clone(),
    })?;
    timed("pc1", t);
    check(
        pc1.comm_d() == commp.comm_p.into(),
        "a one-piece sector's CommD is not its CommP",
    )?;

    let t = Instant::now();
    let commitments = seal::pc2(Pc2Input {
        pc1,
        cache_dir: cache.clone(),
        sealed_path: sealed.clone(),
    })?;
    timed("pc2", t);

    let t = Instant::now();
    let c1 = seal::c1(&C1Input {
        proof,
        sector,
        cache_dir: cache.clone(),
        sealed_path: sealed.clone(),
        ticket,
        seed,
        commitments,
        pieces,
    })?;
    timed("c1", t);

    let t = Instant::now();
    let proof_bytes = seal::c2(C2Input { c1, sector })?;
    timed("c2", t);

    let mut verify = VerifySealInput {
        proof,
        sector,
        commitments,
        ticket,
        seed,
        proof_bytes,
    };
    let t = Instant::now();
    let ok = seal::verify_seal(&verify)?;
    timed("verify seal", t);
    check(ok, "the seal proof does not verify")?;
    verify.seed.0[0] ^= 1;
    // A library error is as good a rejection as `false`.
    let forged = seal::verify_seal(&verify).unwrap_or(false);
    check(!forged, "the seal proof verifies with a flipped seed")?;

    let t = Instant::now();
    seal::clear_cache(&cache)?;
    timed("finalize (clear cache)", t);

    let proving = vec![ProvingSector {
        number: sector.number,
        comm_r: commitments.comm_r,
        cache_dir: cache.clone(),
        sealed_path: sealed.clone(),
    }];
    let on_chain = vec![ChainSector {
        number: sector.number,
        comm_r: commitments.comm_r,
    }];

    let t = Instant::now();
    let challenged =
        post::winning_post_challenge(proof.winning_post(), sector.miner, winning_rand, 1)?;
    check(
        challenged == [0],
        "the winning challenge of a one-sector set is not sector 0",
    )?;
    let winning = post::generate_winning_post(&PostInput {
        proof: proof.winning_post(),
        miner: sector.miner,
        randomness: winning_rand,
        sectors: proving.clone(),
    })?;
    timed("winning post", t);
    let t = Instant::now();
    let ok = post::verify_winning_post(&VerifyPostInput {
        miner: sector.miner,
        randomness: winning_rand,
        sectors: on_chain.clone(),
        proofs: winning,
    })?;
    timed("verify winning post", t);
    check(ok, "the winning post does not verify")?;

    let t = Instant::now();
    let window = post::generate_window_post(&PostInput {
        proof: proof.window_post(),
        miner: sector.miner,
        randomness: window_rand,
        sectors: proving,
    })?;
    timed("window post", t);
    let mut verify_window = VerifyPostInput {
        miner: sector.miner,
        randomness: window_rand,
        sectors: on_chain,
        proofs: window,
    };
    let t = Instant::now();
    let ok = post::verify_window_post(&verify_window)?;
    timed("verify window post", t);
    check(ok, "the window post does not verify")?;
    verify_window.randomness = PostRandomness::new([9; 32]);
    let forged = post::verify_window_post(&verify_window).unwrap_or(false);
    check(!forged, "the window post verifies with other randomness")?;

    let t = Instant::now();
    let mut out = Vec::with_capacity(data.len());
    let n = seal::unseal_range(
        &seal::UnsealInput {
            proof,
            sector,
            cache_dir: cache,
            sealed_path: sealed,
            comm_d: commitments.comm_d,
            ticket,
            offset: 0,
            len: piece_size.bytes(),
        },
        &mut out,
    )?;
    timed("unseal", t);
    check(n == piece_size.bytes(), "unseal returned a short count")?;
    check(out == data, "the unsealed bytes differ from the input")?;
    Ok(times)
}
