//! Sealing one committed-capacity sector through Ferrite's task layer and
//! through filecoin-proofs-api by hand, phase by phase.
//!
//! Every sector is a CC sector of miner f01000 (one zero filler piece of the
//! whole sector) with a fixed ticket and seed. The Ferrite side is
//! `ferrite_sealing::tasks::Tasks` on a `SectorStorage::Dir`, on the
//! `Workers` bridge it is given, as the sealing driver calls it. The raw
//! side makes the same calls on filecoin-proofs-api, with the file handling
//! ferrite-proofs does. Both sides must compute the same CommP, CommR and
//! CommD. [`throughput`] seals several sectors at once.

pub mod throughput;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ferrite_proofs::Workers;
use ferrite_sealing::tasks::{SectorStorage, Tasks};
use ferrite_sealing::{Challenge, PieceToAdd, PoRepProof, Sealed, SectorPiece, TicketInfo};
use ferrite_types::{
    ActorId, ChainEpoch, PaddedPieceSize, ProverId, SealProof, SectorId, SectorNumber, SectorSize,
    Seed, Ticket,
};
use filecoin_proofs_api::{
    PieceInfo, RegisteredSealProof, UnpaddedBytesAmount,
    seal::{self, SealCommitPhase1Output},
};
use tokio::runtime::Runtime;

use crate::median;

const MINER: ActorId = ActorId(1000);
const TICKET: Ticket = Ticket([0x11; 32]);
const SEED: Seed = Seed([0x22; 32]);

/// The timed phases, in order; the first five are the seal, AddPiece to C2.
pub const PHASES: [&str; 7] = [
    "add piece",
    "pc1",
    "pc2",
    "c1",
    "c2",
    "verify",
    "finalize (clear cache)",
];

/// Sector `n` of the bench's miner.
pub fn sector(n: u64) -> SectorId {
    SectorId::new(MINER, SectorNumber(n))
}

/// The library's seal proof of `size` (2 KiB or 8 MiB).
pub fn registered(size: SectorSize) -> anyhow::Result<RegisteredSealProof> {
    match size {
        SectorSize::S2KiB => Ok(RegisteredSealProof::StackedDrg2KiBV1_1),
        SectorSize::S8MiB => Ok(RegisteredSealProof::StackedDrg8MiBV1_1),
        other => bail!("the bench seals 2KiB or 8MiB sectors, not {other}"),
    }
}

/// Each round's phase times of both sides, in [`PHASES`] order.
#[derive(Debug, Clone, Default)]
pub struct PhaseRuns {
    /// Through the tasks, one entry per round.
    pub ferrite: Vec<Vec<Duration>>,
    /// Straight on filecoin-proofs-api, one entry per round.
    pub raw: Vec<Vec<Duration>>,
}

impl PhaseRuns {
    /// The medians (seconds) of phase `i`: (ferrite, raw).
    pub fn phase(&self, i: usize) -> (f64, f64) {
        let column = |runs: &[Vec<Duration>]| -> Vec<Duration> {
            runs.iter().filter_map(|r| r.get(i).copied()).collect()
        };
        (median(&column(&self.ferrite)), median(&column(&self.raw)))
    }

    /// The medians (seconds) of the round totals: (ferrite, raw).
    pub fn total(&self) -> (f64, f64) {
        let totals = |runs: &[Vec<Duration>]| -> Vec<Duration> {
            runs.iter().map(|r| r.iter().sum()).collect()
        };
        (median(&totals(&self.ferrite)), median(&totals(&self.raw)))
    }
}

/// Reads the PoRep parameter file of `size` once, so that no side's first
/// C2 pays the disk.
pub fn read_parameter_file(size: SectorSize) -> anyhow::Result<()> {
    let path = registered(size)?.cache_params_path()?;
    let mut f = File::open(&path).with_context(|| format!("open {}", path.display()))?;
    std::io::copy(&mut f, &mut std::io::sink())
        .with_context(|| format!("read {}", path.display()))?;
    Ok(())
}

/// Seals one sector through the tasks, untimed, so that loading the Groth16
/// parameters and building the parent cache count in no later figure.
pub fn warm_up(
    rt: &Runtime,
    workers: &Workers,
    size: SectorSize,
    work: &Path,
) -> anyhow::Result<()> {
    let warm = Tasks::new(workers.clone(), SectorStorage::Dir(work.join("warm-up")));
    rt.block_on(async {
        let id = sector(1);
        let s = seal_through_tasks(&warm, id, size, &mut Vec::new()).await?;
        verify_and_finalize(&warm, id, size, &s, &mut Vec::new()).await?;
        warm.remove(id).await.context("remove the warm-up sector")
    })
}

/// `rounds` rounds, each sealing one sector through the tasks and the same
/// sector on the raw library, alternating which side goes first. `progress`
/// hears the start of each round.
pub fn phases(
    rt: &Runtime,
    workers: &Workers,
    size: SectorSize,
    rounds: usize,
    work: &Path,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<PhaseRuns> {
    let tasks = Tasks::new(workers.clone(), SectorStorage::Dir(work.join("ferrite")));
    let raw_dir = work.join("raw");
    let id = sector(1);
    let mut runs = PhaseRuns::default();
    for round in 0..rounds {
        progress(format!("seal phases: round {}/{rounds}", round + 1));
        // Alternate which side goes first, so page-cache warmth favours neither.
        let ferrite_first = round % 2 == 0;
        let mut raw_out = None;
        if !ferrite_first {
            raw_out = Some(raw_seal(size, id, &raw_dir)?);
        }
        let mut times = Vec::with_capacity(PHASES.len());
        let sealed = rt.block_on(async {
            tasks
                .remove(id)
                .await
                .context("remove the last round's sector")?;
            let s = seal_through_tasks(&tasks, id, size, &mut times).await?;
            verify_and_finalize(&tasks, id, size, &s, &mut times).await?;
            anyhow::Ok(s)
        })?;
        let r = match raw_out {
            Some(r) => r,
            None => raw_seal(size, id, &raw_dir)?,
        };
        // Same inputs, same commitments: the two sides did the same work.
        let comm_p = sealed.pieces.first().map(|p| p.info().comm_p.0);
        ensure!(
            comm_p == Some(r.comm_p),
            "the two sides computed different CommPs"
        );
        ensure!(
            sealed.sealed.comm_r.0 == r.comm_r && sealed.sealed.comm_d.0 == r.comm_d,
            "the two sides computed different CommR or CommD"
        );
        runs.ferrite.push(times);
        runs.raw.push(r.times);
    }
    Ok(runs)
}

/// A sector sealed through the tasks, up to C2.
#[derive(Debug)]
pub struct SealedSector {
    /// Its pieces (one filler).
    pub pieces: Vec<SectorPiece>,
    /// CommR, CommD and the ticket.
    pub sealed: Sealed,
    /// The interactive seed.
    pub challenge: Challenge,
    /// The C2 proof.
    pub proof: PoRepProof,
}

/// A sector through the tasks up to C1: what C2 needs.
#[derive(Debug)]
pub struct CommittedSector {
    /// Its pieces (one filler).
    pub pieces: Vec<SectorPiece>,
    /// CommR, CommD and the ticket.
    pub sealed: Sealed,
    /// The interactive seed.
    pub challenge: Challenge,
}

/// AddPiece (one filler of the whole sector), PC1, PC2 and C1 of `id`
/// through the tasks, each phase's time pushed onto `times` (a wait for a
/// stage slot included).
pub async fn seal_to_c1(
    tasks: &Tasks,
    id: SectorId,
    size: SectorSize,
    times: &mut Vec<Duration>,
) -> anyhow::Result<CommittedSector> {
    let proof = SealProof::new(size);
    let t = Instant::now();
    let written = tasks
        .add_pieces(
            id,
            proof,
            &[],
            &[PieceToAdd::Filler(PaddedPieceSize::from(size))],
        )
        .await
        .with_context(|| format!("AddPiece of {id}"))?;
    times.push(t.elapsed());
    let pieces: Vec<SectorPiece> = written.into_iter().map(SectorPiece::Filler).collect();

    let t = Instant::now();
    let p1 = tasks
        .pc1(id, proof, &pieces, TICKET)
        .await
        .with_context(|| format!("PC1 of {id}"))?;
    times.push(t.elapsed());

    let t = Instant::now();
    let p2 = tasks
        .pc2(id, proof, &p1)
        .await
        .with_context(|| format!("PC2 of {id}"))?;
    times.push(t.elapsed());
    let sealed = Sealed {
        ticket: TicketInfo {
            ticket: TICKET,
            epoch: ChainEpoch(0),
        },
        comm_r: p2.comm_r,
        comm_d: p2.comm_d,
    };
    let challenge = Challenge {
        precommit_epoch: ChainEpoch(0),
        seed: SEED,
        seed_epoch: ChainEpoch(0),
    };

    let t = Instant::now();
    tasks
        .c1(id, proof, &pieces, &sealed, &challenge)
        .await
        .with_context(|| format!("C1 of {id}"))?;
    times.push(t.elapsed());
    Ok(CommittedSector {
        pieces,
        sealed,
        challenge,
    })
}

/// AddPiece to C2 of `id` through the tasks, each phase's time pushed onto
/// `times`.
pub async fn seal_through_tasks(
    tasks: &Tasks,
    id: SectorId,
    size: SectorSize,
    times: &mut Vec<Duration>,
) -> anyhow::Result<SealedSector> {
    let c = seal_to_c1(tasks, id, size, times).await?;
    let t = Instant::now();
    let proof = tasks
        .c2(id, SealProof::new(size))
        .await
        .with_context(|| format!("C2 of {id}"))?;
    times.push(t.elapsed());
    Ok(SealedSector {
        pieces: c.pieces,
        sealed: c.sealed,
        challenge: c.challenge,
        proof,
    })
}

/// Verify (the proof must hold) and finalize, each time pushed onto `times`.
pub async fn verify_and_finalize(
    tasks: &Tasks,
    id: SectorId,
    size: SectorSize,
    s: &SealedSector,
    times: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let ok = tasks
        .verify(id, SealProof::new(size), &s.sealed, &s.challenge, &s.proof)
        .await
        .with_context(|| format!("verify the proof of {id}"))?;
    times.push(t.elapsed());
    ensure!(ok, "the proof of {id} does not verify");
    let t = Instant::now();
    tasks
        .finalize(id, SealProof::new(size))
        .await
        .with_context(|| format!("finalize {id}"))?;
    times.push(t.elapsed());
    Ok(())
}

/// What the raw side computed, and its time per phase.
#[derive(Debug)]
pub struct RawSealed {
    /// In [`PHASES`] order.
    pub times: Vec<Duration>,
    /// The filler piece's commitment.
    pub comm_p: [u8; 32],
    /// The replica commitment.
    pub comm_r: [u8; 32],
    /// The data commitment.
    pub comm_d: [u8; 32],
}

/// A sector through the raw library up to C1.
pub struct RawCommitted {
    /// C2's input.
    pub c1: SealCommitPhase1Output,
    /// AddPiece, PC1, PC2 and C1 times.
    pub times: Vec<Duration>,
    /// The filler piece's commitment.
    pub comm_p: [u8; 32],
    /// The replica commitment.
    pub comm_r: [u8; 32],
    /// The data commitment.
    pub comm_d: [u8; 32],
}

impl std::fmt::Debug for RawCommitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The C1 output is large and has no Debug of its own.
        f.debug_struct("RawCommitted")
            .field("times", &self.times)
            .field("comm_r", &self.comm_r)
            .finish_non_exhaustive()
    }
}

/// AddPiece, PC1, PC2 and C1 of `id` on filecoin-proofs-api, with the calls
/// and file handling that ferrite-proofs makes, on the files of `dir`
/// (emptied first).
pub fn raw_to_c1(size: SectorSize, id: SectorId, dir: &Path) -> anyhow::Result<RawCommitted> {
    let sp = registered(size)?;
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("remove {}", dir.display())),
    }
    let cache = dir.join("cache");
    let staged_path = dir.join("unsealed");
    let sealed_path = dir.join("sealed");
    let prover = *ProverId::from(id.miner).as_bytes();
    let sid = filecoin_proofs_api::SectorId::from(id.number.0);
    let n = PaddedPieceSize::from(size).unpadded().bytes();
    let mut times = Vec::with_capacity(PHASES.len());

    let t = Instant::now();
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let mut staged = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&staged_path)
        .with_context(|| format!("open {}", staged_path.display()))?;
    staged.seek(SeekFrom::End(0))?;
    let (piece, _) = seal::add_piece(
        sp,
        std::io::repeat(0).take(n),
        &mut staged,
        UnpaddedBytesAmount(n),
        &[],
    )?;
    staged.sync_all()?;
    times.push(t.elapsed());
    let comm_p = piece.commitment;
    let pieces: Vec<PieceInfo> = vec![piece];

    let t = Instant::now();
    fs::create_dir_all(&cache)?;
    File::create(&sealed_path)?;
    let p1 = seal::seal_pre_commit_phase1(
        sp,
        &cache,
        &staged_path,
        &sealed_path,
        prover,
        sid,
        TICKET.0,
        &pieces,
    )?;
    times.push(t.elapsed());

    let t = Instant::now();
    let p2 = seal::seal_pre_commit_phase2(p1, &cache, &sealed_path)?;
    times.push(t.elapsed());
    let (comm_r, comm_d) = (p2.comm_r, p2.comm_d);

    let t = Instant::now();
    let c1 = seal::seal_commit_phase1(
        cache.as_path(),
        sealed_path.as_path(),
        prover,
        sid,
        TICKET.0,
        SEED.0,
        p2,
        &pieces,
    )?;
    times.push(t.elapsed());
    Ok(RawCommitted {
        c1,
        times,
        comm_p,
        comm_r,
        comm_d,
    })
}

/// C2 of a sector of [`raw_to_c1`] on filecoin-proofs-api (which checks
/// the proof itself), and the check that `verify_seal` accepts it; returns
/// the C2 time and the verify time.
pub fn raw_c2(
    size: SectorSize,
    id: SectorId,
    r: RawCommitted,
) -> anyhow::Result<(Duration, Duration)> {
    let sp = registered(size)?;
    let prover = *ProverId::from(id.miner).as_bytes();
    let sid = filecoin_proofs_api::SectorId::from(id.number.0);
    let t = Instant::now();
    let c2 = seal::seal_commit_phase2(r.c1, prover, sid)?;
    let c2_time = t.elapsed();
    let t = Instant::now();
    let ok = seal::verify_seal(
        sp, r.comm_r, r.comm_d, prover, sid, TICKET.0, SEED.0, &c2.proof,
    )?;
    let verify_time = t.elapsed();
    ensure!(ok, "the raw proof of {id} does not verify");
    Ok((c2_time, verify_time))
}

/// The phases of [`PHASES`] on filecoin-proofs-api, on the files of `dir`
/// (emptied first).
pub fn raw_seal(size: SectorSize, id: SectorId, dir: &Path) -> anyhow::Result<RawSealed> {
    let mut r = raw_to_c1(size, id, dir)?;
    let mut times = std::mem::take(&mut r.times);
    let (comm_p, comm_r, comm_d) = (r.comm_p, r.comm_r, r.comm_d);
    let (c2, verify) = raw_c2(size, id, r)?;
    times.push(c2);
    times.push(verify);
    let t = Instant::now();
    seal::clear_cache(&dir.join("cache"))?;
    times.push(t.elapsed());
    Ok(RawSealed {
        times,
        comm_p,
        comm_r,
        comm_d,
    })
}
