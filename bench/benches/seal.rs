//! Sealing through Ferrite's task layer against filecoin-proofs-api called
//! directly, and the throughput of several sectors sealed at once.
//!
//! cargo bench --workspace --profile dev --bench seal -- \
//!     [--mode phases|throughput] [--size 2KiB|8MiB] [--rounds N] [--sectors N] \
//!     [--parameter-cache DIR] [--parent-cache DIR]
//!
//! Every sector is a committed-capacity sector of miner f01000 (one zero
//! filler piece of the whole sector) with a fixed ticket and seed. The Ferrite
//! side is `ferrite_sealing::tasks::Tasks` on a `SectorStorage::Dir`, running
//! on the `Workers` bridge of `Args::init_proofs` (the default stage caps), as
//! the sealing driver calls it. Before anything is timed, one sector is sealed
//! through the tasks, so that loading the Groth16 parameters and building the
//! parent cache count in no figure.
//!
//! - `phases` (the default; `--rounds`, default 3): each round seals one
//!   sector through the tasks (AddPiece, PC1, PC2, C1, C2, verify, finalize)
//!   and the same sector with the same calls on filecoin-proofs-api by hand,
//!   alternating which side goes first. It prints the medians per phase and
//!   of the per-round totals, and the ratio Ferrite/raw (the goal is under
//!   5 % overhead). Both sides must compute the same CommP, CommR and CommD.
//! - `throughput` (`--sectors N`, default 4; `--rounds`, default 1): N sectors
//!   sealed at once (AddPiece→PC1→PC2→C1→C2 of each in its own tokio task,
//!   all started together, so the bridge's stage caps decide what runs), and
//!   the same N sealed one after another; the order alternates by round. It
//!   prints the wall time, sectors per hour, the speedup, and the CPU
//!   utilisation as a share of all cores: the host's from `/proc/stat` over
//!   the run and per whole second (mean, lowest), and this process's. Every
//!   proof is verified afterwards, untimed.
//!
//! Parameters must exist (`ferrite params generate --sizes 2KiB`); the bench
//! checks for them before it seals anything.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ferrite_bench::cpu::{self, CpuMeter, Utilisation};
use ferrite_bench::{Args, median};
use ferrite_proofs::{Stage, Workers};
use ferrite_sealing::tasks::{SectorStorage, Tasks};
use ferrite_sealing::{Challenge, PieceToAdd, PoRepProof, Sealed, SectorPiece, TicketInfo};
use ferrite_types::{
    ActorId, ChainEpoch, PaddedPieceSize, ProverId, SealProof, SectorId, SectorNumber, SectorSize,
    Seed, Ticket,
};
use filecoin_proofs_api::{PieceInfo, RegisteredSealProof, UnpaddedBytesAmount, seal};

const MINER: ActorId = ActorId(1000);
const TICKET: Ticket = Ticket([0x11; 32]);
const SEED: Seed = Seed([0x22; 32]);

/// The timed phases, in order; the first five are the seal, AddPiece to C2.
const PHASES: [&str; 7] = [
    "add piece",
    "pc1",
    "pc2",
    "c1",
    "c2",
    "verify",
    "finalize (clear cache)",
];

#[derive(Debug, Clone, Copy)]
enum Mode {
    Phases,
    Throughput { sectors: usize },
}

impl Mode {
    /// `--mode` and `--sectors`; the rest is [`Args`]'.
    fn parse() -> anyhow::Result<Self> {
        let mut mode = String::from("phases");
        let mut sectors: usize = 4;
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--mode" => mode = it.next().context("--mode needs a value")?,
                "--sectors" => {
                    let v = it.next().context("--sectors needs a value")?;
                    sectors = v.parse().with_context(|| format!("--sectors {v}"))?;
                }
                _ => {}
            }
        }
        match mode.as_str() {
            "phases" => Ok(Mode::Phases),
            "throughput" => {
                ensure!(sectors > 0, "--sectors must be at least 1");
                Ok(Mode::Throughput { sectors })
            }
            other => bail!("--mode is phases or throughput, not {other}"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mode = Mode::parse()?;
    let args = Args::parse(match mode {
        Mode::Phases => 3,
        Mode::Throughput { .. } => 1,
    })?;
    ensure!(
        args.size.is_test_size(),
        "the bench seals 2KiB or 8MiB sectors, not {}",
        args.size
    );
    let workers = args.init_proofs()?;
    args.require_seal_params()?;
    let rt = tokio::runtime::Runtime::new().context("start the tokio runtime")?;
    let work = tempfile::tempdir().context("create the work directory")?;

    eprintln!("warm-up: one {} sector through the tasks", args.size);
    let warm = Tasks::new(
        workers.clone(),
        SectorStorage::Dir(work.path().join("warm-up")),
    );
    rt.block_on(async {
        let id = sector(1);
        let s = seal_through_tasks(&warm, id, args.size, &mut Vec::new()).await?;
        verify_and_finalize(&warm, id, args.size, &s, &mut Vec::new()).await?;
        warm.remove(id).await.context("remove the warm-up sector")
    })?;

    match mode {
        Mode::Phases => phases(&args, &rt, workers, work.path()),
        Mode::Throughput { sectors } => throughput(&args, &rt, workers, work.path(), sectors),
    }
}

fn sector(n: u64) -> SectorId {
    SectorId::new(MINER, SectorNumber(n))
}

// ---- phases ----------------------------------------------------------------

fn phases(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    workers: Workers,
    work: &Path,
) -> anyhow::Result<()> {
    let tasks = Tasks::new(workers, SectorStorage::Dir(work.join("ferrite")));
    let raw_dir = work.join("raw");
    let id = sector(1);
    let mut ferrite: Vec<Vec<Duration>> = Vec::new();
    let mut raw: Vec<Vec<Duration>> = Vec::new();
    for round in 0..args.rounds {
        eprintln!("round {}/{}", round + 1, args.rounds);
        // Alternate which side goes first, so page-cache warmth favours neither.
        let ferrite_first = round % 2 == 0;
        let mut raw_out = None;
        if !ferrite_first {
            raw_out = Some(raw_seal(args.size, id, &raw_dir)?);
        }
        let mut times = Vec::with_capacity(PHASES.len());
        let sealed = rt.block_on(async {
            tasks
                .remove(id)
                .await
                .context("remove the last round's sector")?;
            let s = seal_through_tasks(&tasks, id, args.size, &mut times).await?;
            verify_and_finalize(&tasks, id, args.size, &s, &mut times).await?;
            anyhow::Ok(s)
        })?;
        let r = match raw_out {
            Some(r) => r,
            None => raw_seal(args.size, id, &raw_dir)?,
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
        ferrite.push(times);
        raw.push(r.times);
    }

    println!(
        "\nseal phases, {} sector (CC), {} rounds, median seconds (ferrite tasks / raw filecoin-proofs-api)\n",
        args.size, args.rounds
    );
    println!(
        "| phase | ferrite (s) | raw (s) | ferrite − raw (ms) | ratio | overhead |\n|---|---:|---:|---:|---:|---:|"
    );
    let column = |runs: &[Vec<Duration>], i: usize| -> Vec<Duration> {
        runs.iter().filter_map(|r| r.get(i).copied()).collect()
    };
    for (i, phase) in PHASES.iter().enumerate() {
        row(
            phase,
            median(&column(&ferrite, i)),
            median(&column(&raw, i)),
        );
    }
    let totals =
        |runs: &[Vec<Duration>]| -> Vec<Duration> { runs.iter().map(|r| r.iter().sum()).collect() };
    let (f, r) = (median(&totals(&ferrite)), median(&totals(&raw)));
    row("**total** (median of round totals)", f, r);
    let overhead = (f / r - 1.0) * 100.0;
    println!(
        "\ngoal, total overhead under 5 %: {} ({overhead:+.1} %)",
        if overhead < 5.0 { "met" } else { "not met" }
    );
    Ok(())
}

fn row(name: &str, f: f64, r: f64) {
    let ratio = if r > 0.0 { f / r } else { f64::NAN };
    println!(
        "| {name} | {f:.4} | {r:.4} | {:+.2} | {ratio:.3} | {:+.1} % |",
        (f - r) * 1e3,
        (ratio - 1.0) * 100.0
    );
}

/// A sector sealed through the tasks, up to C2.
#[derive(Debug)]
struct SealedSector {
    pieces: Vec<SectorPiece>,
    sealed: Sealed,
    challenge: Challenge,
    proof: PoRepProof,
}

/// AddPiece (one filler of the whole sector), PC1, PC2, C1 and C2 of `id`
/// through the tasks, each phase's time pushed onto `times` (a wait for a
/// stage slot included).
async fn seal_through_tasks(
    tasks: &Tasks,
    id: SectorId,
    size: SectorSize,
    times: &mut Vec<Duration>,
) -> anyhow::Result<SealedSector> {
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

    let t = Instant::now();
    let proof = tasks
        .c2(id, proof)
        .await
        .with_context(|| format!("C2 of {id}"))?;
    times.push(t.elapsed());
    Ok(SealedSector {
        pieces,
        sealed,
        challenge,
        proof,
    })
}

/// Verify (the proof must hold) and finalize, each time pushed onto `times`.
async fn verify_and_finalize(
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
struct RawSealed {
    times: Vec<Duration>,
    comm_p: [u8; 32],
    comm_r: [u8; 32],
    comm_d: [u8; 32],
}

/// The phases of [`PHASES`] on filecoin-proofs-api, with the calls and file
/// handling that ferrite-proofs makes, on the files of `dir` (emptied first).
fn raw_seal(size: SectorSize, id: SectorId, dir: &Path) -> anyhow::Result<RawSealed> {
    let sp = match size {
        SectorSize::S2KiB => RegisteredSealProof::StackedDrg2KiBV1_1,
        SectorSize::S8MiB => RegisteredSealProof::StackedDrg8MiBV1_1,
        other => bail!("the bench seals 2KiB or 8MiB sectors, not {other}"),
    };
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

    let t = Instant::now();
    let c2 = seal::seal_commit_phase2(c1, prover, sid)?;
    times.push(t.elapsed());

    let t = Instant::now();
    let ok = seal::verify_seal(sp, comm_r, comm_d, prover, sid, TICKET.0, SEED.0, &c2.proof)?;
    times.push(t.elapsed());
    ensure!(ok, "the raw proof does not verify");

    let t = Instant::now();
    seal::clear_cache(&cache)?;
    times.push(t.elapsed());
    Ok(RawSealed {
        times,
        comm_p,
        comm_r,
        comm_d,
    })
}

// ---- throughput ------------------------------------------------------------

/// One timed run of N sectors.
struct Run {
    wall: Duration,
    cpu: Utilisation,
    /// Each sector's time from its start to the end of its C2.
    latencies: Vec<Duration>,
}

fn throughput(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    workers: Workers,
    work: &Path,
    sectors: usize,
) -> anyhow::Result<()> {
    let caps: Vec<String> = [
        Stage::AddPiece,
        Stage::Pc1,
        Stage::Pc2,
        Stage::C1,
        Stage::C2,
    ]
    .iter()
    .map(|&s| format!("{s} {}", workers.available(s)))
    .collect();
    let cores = cpu::cores()?;
    let ids: Vec<SectorId> = (1..=u64::try_from(sectors)?).map(sector).collect();
    let mut at_once: Vec<Run> = Vec::new();
    let mut one_by_one: Vec<Run> = Vec::new();
    for round in 0..args.rounds {
        let concurrent_first = round % 2 == 0;
        for concurrent in [concurrent_first, !concurrent_first] {
            eprintln!(
                "round {}/{}: {sectors} sectors {}",
                round + 1,
                args.rounds,
                if concurrent {
                    "at once"
                } else {
                    "one after another"
                }
            );
            let dir = work.join(if concurrent { "at-once" } else { "one-by-one" });
            let tasks = Tasks::new(workers.clone(), SectorStorage::Dir(dir));
            let meter = CpuMeter::start()?;
            let start = Instant::now();
            let sealed = rt.block_on(seal_many(&tasks, &ids, args.size, concurrent))?;
            let wall = start.elapsed();
            let cpu = meter.finish()?;
            rt.block_on(check_and_remove(&tasks, args.size, &sealed))?;
            let run = Run {
                wall,
                cpu,
                latencies: sealed.into_iter().map(|(_, _, d)| d).collect(),
            };
            if concurrent {
                at_once.push(run);
            } else {
                one_by_one.push(run);
            }
        }
    }

    println!(
        "\nseal throughput, {sectors} × {} sectors (CC, AddPiece to C2) through the tasks, {} round(s), {cores} cores\nstage caps: {}\n",
        args.size,
        args.rounds,
        caps.join(", ")
    );
    println!(
        "| run | round | wall (s) | sectors/hour | mean sector latency (s) | host CPU over run | host CPU per second: mean | min | this process |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let pct = |x: f64| {
        if x.is_nan() {
            "–".to_string()
        } else {
            format!("{:.1} %", x * 100.0)
        }
    };
    for (name, runs) in [("at once", &at_once), ("one after another", &one_by_one)] {
        for (i, r) in runs.iter().enumerate() {
            let wall = r.wall.as_secs_f64();
            let lat: f64 = r.latencies.iter().map(Duration::as_secs_f64).sum::<f64>()
                / r.latencies.len().max(1) as f64;
            println!(
                "| {name} | {} | {wall:.2} | {:.0} | {lat:.2} | {} | {} | {} | {} |",
                i + 1,
                sectors as f64 * 3600.0 / wall,
                pct(r.cpu.overall),
                pct(r.cpu.per_second_mean),
                pct(r.cpu.per_second_min),
                pct(r.cpu.process),
            );
        }
    }
    let walls = |runs: &[Run]| -> Vec<Duration> { runs.iter().map(|r| r.wall).collect() };
    let (c, s) = (median(&walls(&at_once)), median(&walls(&one_by_one)));
    println!(
        "\nspeedup at once over one after another (median wall): {:.2}× ({:.0} vs {:.0} sectors/hour)",
        s / c,
        sectors as f64 * 3600.0 / c,
        sectors as f64 * 3600.0 / s
    );
    println!(
        "CPU figures are busy time over all time of all {cores} cores; the host's include any other load on the machine."
    );
    Ok(())
}

/// Seals `ids` through `tasks`, all at once or one after another; returns
/// each sector with its time from its start to the end of its C2.
async fn seal_many(
    tasks: &Tasks,
    ids: &[SectorId],
    size: SectorSize,
    concurrent: bool,
) -> anyhow::Result<Vec<(SectorId, SealedSector, Duration)>> {
    let mut sealed = Vec::with_capacity(ids.len());
    if concurrent {
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                let tasks = tasks.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let s = seal_through_tasks(&tasks, id, size, &mut Vec::new()).await?;
                    anyhow::Ok((id, s, t.elapsed()))
                })
            })
            .collect();
        for h in handles {
            sealed.push(h.await.context("join a sealing task")??);
        }
    } else {
        for &id in ids {
            let t = Instant::now();
            let s = seal_through_tasks(tasks, id, size, &mut Vec::new()).await?;
            sealed.push((id, s, t.elapsed()));
        }
    }
    Ok(sealed)
}

/// Verifies every sealed sector's proof, finalizes and removes it.
async fn check_and_remove(
    tasks: &Tasks,
    size: SectorSize,
    sealed: &[(SectorId, SealedSector, Duration)],
) -> anyhow::Result<()> {
    for (id, s, _) in sealed {
        verify_and_finalize(tasks, *id, size, s, &mut Vec::new()).await?;
        tasks
            .remove(*id)
            .await
            .with_context(|| format!("remove {id}"))?;
    }
    Ok(())
}
