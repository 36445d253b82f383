//! The benchmark suite behind `ferrite bench`: which groups run, with how
//! many rounds, and the [`Row`]s they give.
//!
//! ```text
//! Plan ──► warm-up (resident parameters, page cache) ──► seal ─► post ─► c2 ─► commp ─► devnet ─► evm
//!                                                         │ each group's measurements (crate modules)
//!                                                         ▼
//!                                                  Vec<Row> + notes ──► report::Report
//! ```
//!
//! The seal, post and c2 rows run where `[proofs.gpu]` put the proofs: on the
//! card in a `cuda` build on a GPU host (their rows say `gpu`,
//! [`crate::report::Device`]), on the CPU otherwise. The same binary gives a
//! GPU host's CPU rows with `FERRITE_PROOFS__GPU__MODE=off`
//! (bench/scripts/gpu-host runs both). The other groups are CPU work.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use ferrite_proofs::commp::CommpPool;
use ferrite_proofs::params::generate::ParamCircuit;
use ferrite_proofs::{StageLimits, Workers, prover};
use ferrite_types::{PaddedPieceSize, SealProof, SectorSize};
use tokio::runtime::Runtime;

use crate::commp::{self, Side};
use crate::report::{Device, Row};
use crate::{c2, devnet, erc20, median, post, require_params, seal};

/// A part of the suite, selectable with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Every sealing phase, AddPiece to finalize, through the tasks and raw.
    Seal,
    /// WinningPoSt and WindowPoSt.
    Post,
    /// C2 throughput with N sectors in flight.
    C2,
    /// CommP against filecoin-proofs.
    Commp,
    /// The devnet's epochs and transfers.
    Devnet,
    /// ERC-20 transfers on the devnet's EVM, against the official actor.
    Evm,
}

impl Group {
    /// Every group, in the order they run.
    pub const ALL: [Group; 6] = [
        Group::Seal,
        Group::Post,
        Group::C2,
        Group::Commp,
        Group::Devnet,
        Group::Evm,
    ];

    /// Its name on the command line and in the rows.
    pub fn name(self) -> &'static str {
        match self {
            Group::Seal => "seal",
            Group::Post => "post",
            Group::C2 => "c2",
            Group::Commp => "commp",
            Group::Devnet => "devnet",
            Group::Evm => "evm",
        }
    }

    /// Whether it needs the Groth16 parameters.
    pub fn needs_params(self) -> bool {
        matches!(self, Group::Seal | Group::Post | Group::C2)
    }
}

impl FromStr for Group {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        Group::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .with_context(|| {
                let names: Vec<&str> = Group::ALL.iter().map(|g| g.name()).collect();
                format!("no bench group {s:?}; the groups are {}", names.join(", "))
            })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The sector size of the seal, post and c2 groups (2 KiB or 8 MiB).
    pub size: SectorSize,
    /// C2s in flight; default 2 with `quick`, else 4.
    pub sectors: Option<usize>,
    /// Rounds of the seal, post and commp groups; default by `quick`.
    pub rounds: Option<usize>,
    /// Fewer rounds and smaller runs (see [`Plan::describe_quick`]).
    pub quick: bool,
    /// The groups to run, in [`Group::ALL`]'s order.
    pub groups: Vec<Group>,
    /// Where the Groth16 parameters are (checked before anything runs).
    pub parameter_cache: PathBuf,
    /// The official builtin-actors v18 bundle (a CAR), the evm group's raw
    /// side; without it that group measures Ferrite's actor alone.
    pub reference_bundle: Option<PathBuf>,
}

impl Plan {
    /// What `--quick` leaves out, for `--help`.
    pub const QUICK: &'static str = "fewer rounds and smaller runs: 1 seal round instead \
        of 3 and no warm-up seal (the parameters are still loaded and read before timing); 3 PoSt \
        rounds instead of 10; 2 C2s in flight instead of 4; CommP on 8 MiB only (without --quick \
        also on 1 GiB); 50 devnet epochs and 200 transfers instead of 300 and 1000; 200 ERC-20 \
        transfers instead of 1000";

    /// Checks the plan and the parameter files before any work.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.size.is_test_size(),
            "the bench seals 2KiB or 8MiB sectors, not {}",
            self.size
        );
        anyhow::ensure!(self.rounds != Some(0), "--rounds must be at least 1");
        anyhow::ensure!(self.sectors != Some(0), "--sectors must be at least 1");
        anyhow::ensure!(!self.groups.is_empty(), "no bench group selected");
        if let Some(car) = &self.reference_bundle {
            anyhow::ensure!(
                car.is_file(),
                "the reference bundle {} is not a file",
                car.display()
            );
        }
        if self.has(Group::Seal) || self.has(Group::C2) {
            require_params(
                &self.parameter_cache,
                ParamCircuit::PoRep(SealProof::new(self.size)),
                self.size,
            )?;
        }
        if self.has(Group::Post) {
            let seal = SealProof::new(self.size);
            for p in [seal.winning_post(), seal.window_post()] {
                require_params(&self.parameter_cache, ParamCircuit::Post(p), self.size)?;
            }
        }
        Ok(())
    }

    fn has(&self, g: Group) -> bool {
        self.groups.contains(&g)
    }

    fn rounds(&self, quick: usize, full: usize) -> usize {
        self.rounds.unwrap_or(if self.quick { quick } else { full })
    }
}

/// The suite's rows, and notes on reading them.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The figures, group by group.
    pub rows: Vec<Row>,
    /// How to read some rows.
    pub notes: Vec<String>,
}

/// Runs `plan` ([`Plan::check`] first) on `workers`, in temporary
/// directories under `work`; `progress` hears each step.
pub fn run(
    plan: &Plan,
    rt: &Runtime,
    workers: &Workers,
    work: &Path,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<Outcome> {
    plan.check()?;
    let mut out = Outcome::default();
    out.notes.push(
        "ferrite / raw: below 1 means Ferrite is faster in `s` rows (and cheaper in `gas` rows), \
         above 1 in rate rows"
            .to_string(),
    );
    if plan.groups.iter().any(|g| g.needs_params()) {
        progress("warm-up: loading the PoRep parameters".to_string());
        warm_parameters(plan.size)?;
    }
    for &g in &Group::ALL {
        if !plan.has(g) {
            continue;
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferrite-bench-{}-", g.name()))
            .tempdir_in(work)
            .with_context(|| format!("create a work directory in {}", work.display()))?;
        let mut cx = Cx {
            plan,
            rt,
            workers,
            dir: dir.path(),
            progress: &mut *progress,
            out: &mut out,
        };
        match g {
            Group::Seal => seal_rows(&mut cx)?,
            Group::Post => post_rows(&mut cx)?,
            Group::C2 => c2_rows(&mut cx)?,
            Group::Commp => commp_rows(&mut cx)?,
            Group::Devnet => devnet_rows(&mut cx)?,
            Group::Evm => evm_rows(&mut cx)?,
        }
    }
    Ok(out)
}

/// What a group's run works with.
struct Cx<'a> {
    plan: &'a Plan,
    rt: &'a Runtime,
    workers: &'a Workers,
    /// The group's own temporary directory.
    dir: &'a Path,
    progress: &'a mut dyn FnMut(String),
    out: &'a mut Outcome,
}

/// Makes the resident prover load the PoRep parameters and reads the
/// parameter file once, so that neither side's first C2 pays for them.
fn warm_parameters(size: SectorSize) -> anyhow::Result<()> {
    prover::preload(&[size])?;
    seal::read_parameter_file(size)
}

fn seal_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    if !cx.plan.quick {
        (cx.progress)(format!("seal: warm-up, one {} sector", cx.plan.size));
        seal::warm_up(cx.rt, cx.workers, cx.plan.size, cx.dir)?;
    }
    let rounds = cx.plan.rounds(1, 3);
    let runs = seal::phases(
        cx.rt,
        cx.workers,
        cx.plan.size,
        rounds,
        cx.dir,
        &mut *cx.progress,
    )?;
    for (i, phase) in seal::PHASES.iter().enumerate() {
        let (f, r) = runs.phase(i);
        cx.out
            .rows
            .push(row(Group::Seal, *phase, "s", rounds, f, Some(r)));
    }
    let (f, r) = runs.total();
    cx.out
        .rows
        .push(row(Group::Seal, "total", "s", rounds, f, Some(r)));
    Ok(())
}

fn post_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    (cx.progress)(format!(
        "PoSt: sealing one partition of {} sectors",
        cx.plan.size
    ));
    let mut part = post::Partition::seal(cx.plan.size, cx.dir)?;
    let rounds = cx.plan.rounds(3, 10);
    let win = post::winning(cx.rt, cx.workers, &mut part, rounds, &mut *cx.progress)?;
    cx.out.rows.push(row(
        Group::Post,
        "WinningPoSt",
        "s",
        rounds,
        median(&win.proof),
        Some(median(&win.raw)),
    ));
    let wdw = post::window(cx.rt, cx.workers, &mut part, rounds, &mut *cx.progress)?;
    let raw = median(&wdw.raw);
    cx.out.rows.push(row(
        Group::Post,
        format!("WindowPoSt ({} sectors)", part.sectors.len()),
        "s",
        rounds,
        median(&wdw.proof),
        Some(raw),
    ));
    cx.out.rows.push(row(
        Group::Post,
        "WindowPoSt prover step (check + proof + verify)",
        "s",
        rounds,
        median(&wdw.step),
        Some(raw),
    ));
    Ok(())
}

fn c2_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    let sectors = cx.plan.sectors.unwrap_or(if cx.plan.quick { 2 } else { 4 });
    // All N in flight through the C2 pipeline, one proving turn (the
    // default `c2_proving`): the others synthesize and wait meanwhile.
    let pipelined = Workers::new(&StageLimits {
        c2: sectors,
        ..StageLimits::default()
    })?;
    let t = c2::measure(
        cx.rt,
        &pipelined,
        cx.plan.size,
        sectors,
        cx.dir,
        &mut *cx.progress,
    )?;
    let (f, r) = t.per_hour();
    cx.out.rows.push(row(
        Group::C2,
        format!("C2, {sectors} in flight (raw: one after another)"),
        "proofs/h",
        1,
        f,
        Some(r),
    ));
    cx.out.notes.push(format!(
        "c2: {} C2s in flight through the pipeline ([proofs.limits] c2 = {}, c2_proving = {}: \
         synthesis overlaps the proof before); wall times {:.1} s (ferrite) and {:.1} s (raw) \
         for {sectors} proofs",
        t.cap,
        t.cap,
        prover::pipeline::stats().turns,
        t.ferrite.as_secs_f64(),
        t.raw.as_secs_f64()
    ));
    cx.out.notes.push(format!(
        "c2: Ferrite's C2s ran from unix time {:.1} to {:.1}",
        t.ferrite_span.0, t.ferrite_span.1
    ));
    Ok(())
}

fn commp_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = CommpPool::new(1)?;
    let all = CommpPool::new(cores)?;
    let mut pieces = vec![(8u64 << 20, cx.plan.rounds(3, 5))];
    if !cx.plan.quick {
        pieces.push((1 << 30, cx.plan.rounds(3, 5).div_ceil(3)));
    }
    for (bytes, rounds) in pieces {
        let piece = PaddedPieceSize::new(bytes)?;
        (cx.progress)(format!("CommP {} MiB: generating the payload", bytes >> 20));
        let payload = commp::payload(piece)?;
        let sides = [
            (Side::Ferrite, &one),
            (Side::FilecoinProofs, &one),
            (Side::Ferrite, &all),
            (Side::FilecoinProofs, &all),
        ];
        let times = commp::measure(&sides, &payload, piece, rounds, &mut *cx.progress)?;
        let mbps: Vec<f64> = times
            .iter()
            .map(|t| commp::mb_per_second(piece, t))
            .collect();
        for (name, f, r) in [
            ("1 core", mbps[0], mbps[1]),
            ("all cores", mbps[2], mbps[3]),
        ] {
            cx.out.rows.push(row(
                Group::Commp,
                format!("CommP {} MiB, {name}", bytes >> 20),
                "MB/s",
                rounds,
                f,
                Some(r),
            ));
        }
    }
    (cx.progress)("CommP: measuring SHA-256 with openssl speed (3 s)".to_string());
    cx.out.notes.push(match commp::sha256_limit() {
        Ok(l) => format!(
            "commp: the physical limit on one core (openssl sha256 / 4) is {:.0} MB/s",
            l / 1e6
        ),
        Err(e) => format!("commp: physical limit unknown: {e:#}"),
    });
    Ok(())
}

fn devnet_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    let (epochs, messages) = if cx.plan.quick {
        (50, 200)
    } else {
        (300, 1000)
    };
    let d = devnet::measure(cx.dir, epochs, messages, &mut *cx.progress)?;
    cx.out.rows.push(row(
        Group::Devnet,
        format!("{epochs} empty epochs"),
        "epochs/s",
        1,
        d.epochs_per_second(),
        None,
    ));
    cx.out.rows.push(row(
        Group::Devnet,
        format!("{messages} FIL transfers (pool + blocks)"),
        "msgs/s",
        1,
        d.messages_per_second(),
        None,
    ));
    cx.out.notes.push(format!(
        "devnet: no raw side (no library runs the same chain); the transfers took {} blocks",
        d.message_blocks
    ));
    Ok(())
}

fn evm_rows(cx: &mut Cx<'_>) -> anyhow::Result<()> {
    let transfers = if cx.plan.quick { 200 } else { 1000 };
    let ours = erc20::measure(&cx.dir.join("ferrite"), None, transfers, &mut *cx.progress)?;
    let official = match &cx.plan.reference_bundle {
        Some(path) => {
            let car = std::fs::read(path)
                .with_context(|| format!("read the reference bundle {}", path.display()))?;
            Some(erc20::measure(
                &cx.dir.join("official"),
                Some(&car),
                transfers,
                &mut *cx.progress,
            )?)
        }
        None => None,
    };
    let official = official.as_ref();
    cx.out.rows.push(row(
        Group::Evm,
        format!("{transfers} ERC-20 transfers (pool + blocks)"),
        "msgs/s",
        1,
        ours.per_second(),
        official.map(|o| o.per_second()),
    ));
    cx.out.rows.push(row(
        Group::Evm,
        "gas per ERC-20 transfer (median)",
        "gas",
        transfers,
        ours.gas_per_transfer as f64,
        official.map(|o| o.gas_per_transfer as f64),
    ));
    // Where a transfer's gas goes, charge by charge (from each side's
    // traced replay of its last transfer): every charge with at least 1 %
    // of either side's total.
    let total = |c: &[erc20::ChargeTotal]| c.iter().map(|c| c.gas).sum::<u64>().max(1);
    let ours_total = total(&ours.gas_by_charge);
    let theirs = official.map(|o| &o.gas_by_charge[..]).unwrap_or(&[]);
    let smaller_total = match official {
        Some(_) => ours_total.min(total(theirs)),
        None => ours_total,
    };
    let mut names: Vec<&str> = Vec::new();
    for c in ours.gas_by_charge.iter().chain(theirs) {
        if c.gas * 100 >= smaller_total && !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let find = |list: &[erc20::ChargeTotal], name: &str| {
        list.iter()
            .find(|c| c.name == name)
            .map(|c| c.gas)
            .unwrap_or(0)
    };
    for name in names {
        cx.out.rows.push(row(
            Group::Evm,
            format!("  transfer gas: {name}"),
            "gas",
            1,
            find(&ours.gas_by_charge, name) as f64,
            official.map(|o| find(&o.gas_by_charge, name) as f64),
        ));
    }
    cx.out.rows.push(row(
        Group::Evm,
        "gas to deploy the ERC-20",
        "gas",
        1,
        ours.deploy_gas as f64,
        official.map(|o| o.deploy_gas as f64),
    ));
    cx.out.notes.push(match official {
        Some(o) => format!(
            "evm: raw is the official builtin-actors v18 EVM actor on the same devnet; gas is \
             FVM gas (lower is better); the `transfer gas:` rows split the last transfer's gas by \
             the FVM's charge names (a traced replay; charges of 1 % or more); the transfers took \
             {} blocks (ferrite) and {} (official)",
            ours.blocks, o.blocks
        ),
        None => "evm: no raw side; give --reference-bundle (the official v18 bundle) to run \
                 the same transfers on the official EVM actor"
            .to_string(),
    });
    Ok(())
}

fn row(
    group: Group,
    name: impl Into<String>,
    unit: &str,
    rounds: usize,
    ferrite: f64,
    raw: Option<f64>,
) -> Row {
    let mut row = Row::cpu(group.name(), name, unit, rounds, ferrite, raw);
    // The proof groups run on the cards `ferrite_proofs::init` chose, if any.
    if matches!(group, Group::Seal | Group::Post | Group::C2)
        && !ferrite_proofs::gpu::in_use().is_empty()
    {
        row.device = Device::Gpu;
    }
    row
}
