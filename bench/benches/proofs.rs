//! Each proofs phase through ferrite-proofs and through filecoin-proofs-api
//! directly, in the same run, with the ratio.
//!
//! cargo bench -p ferrite-bench --profile dev --bench proofs -- \
//!     [--size 2KiB|8MiB] [--rounds N] [--parameter-cache DIR]
//!
//! The Ferrite side is `ferrite_proofs::selftest::run` (the typed phases, with
//! their checks outside the timed regions), called through the `Workers`
//! bridge as the node calls it. The raw side makes the same calls on
//! filecoin-proofs-api by hand. Parameters must exist (`ferrite params generate`).
//!
//! With `--c2`, only C2: the resident prover's first and later C2s against
//! the library's `seal_commit_phase2`, split into parameter loading,
//! synthesis and proving (see `proofs/c2.rs`); `--rounds` later C2s a side.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::ensure;
use ferrite_bench::{Args, median};
use ferrite_proofs::{Stage, selftest};
use ferrite_types::SectorSize;
use filecoin_proofs_api::{
    PieceInfo, PrivateReplicaInfo, PublicReplicaInfo, RegisteredPoStProof, SectorId,
    UnpaddedByteIndex, UnpaddedBytesAmount, post, seal,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

#[path = "proofs/c2.rs"]
mod c2;

fn main() -> anyhow::Result<()> {
    let args = Args::parse(3)?;
    let workers = args.init_proofs()?;
    if std::env::args().any(|a| a == "--c2") {
        return c2::bench(&args);
    }
    let rt = tokio::runtime::Runtime::new()?;
    let work = tempfile::tempdir()?;
    let mut ferrite: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut raw: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut order: Vec<&'static str> = Vec::new();
    for round in 0..args.rounds {
        eprintln!("round {}/{}", round + 1, args.rounds);
        // Alternate which side goes first, so page-cache warmth favours neither.
        let ferrite_first = round % 2 == 0;
        if !ferrite_first {
            for (phase, d) in raw_pipeline(args.size, &work.path().join("raw"))? {
                raw.entry(phase).or_default().push(d);
            }
        }
        let dir = work.path().join("ferrite");
        let size = args.size;
        let times =
            rt.block_on(workers.run(Stage::C2, move || selftest::run(size, &dir, &mut |_| {})))?;
        for t in times {
            if round == 0 {
                order.push(t.phase);
            }
            ferrite.entry(t.phase).or_default().push(t.elapsed);
        }
        if ferrite_first {
            for (phase, d) in raw_pipeline(args.size, &work.path().join("raw"))? {
                raw.entry(phase).or_default().push(d);
            }
        }
    }
    println!(
        "\nproofs phases, {} sector, {} rounds, median seconds (ferrite / raw filecoin-proofs-api)\n",
        args.size, args.rounds
    );
    println!("| phase | ferrite (s) | raw (s) | ratio |\n|---|---:|---:|---:|");
    for phase in order {
        let f = median(&ferrite[phase]);
        let r = raw.get(phase).map(|v| median(v)).unwrap_or_default();
        let ratio = if r > 0.0 { f / r } else { f64::NAN };
        println!("| {phase} | {f:.4} | {r:.4} | {ratio:.3} |");
    }
    Ok(())
}

/// The same phases as the self-test, straight on filecoin-proofs-api.
fn raw_pipeline(size: SectorSize, dir: &Path) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let (sp, win, wdw) = ferrite_bench::post::registered(size)?;
    let _ = fs::remove_dir_all(dir);
    let cache = dir.join("cache");
    fs::create_dir_all(&cache)?;
    let staged_path = dir.join("unsealed");
    let sealed_path = dir.join("sealed");
    let n = size.bytes() - size.bytes() / 128;
    let mut rng = ChaCha20Rng::from_entropy();
    let mut data = vec![0u8; usize::try_from(n)?];
    rng.fill_bytes(&mut data);
    let mut r32 = || {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        b
    };
    let (ticket, seed) = (r32(), r32());
    let (mut wr, mut dr) = (r32(), r32());
    wr[31] &= 0x3f;
    dr[31] &= 0x3f;
    let mut prover = [0u8; 32];
    prover[..2].copy_from_slice(&[0xe8, 0x07]); // f01000, as the self-test
    let sid = SectorId::from(1u64);
    let mut out = Vec::new();
    let mut time = |name: &'static str, t: Instant| out.push((name, t.elapsed()));

    let t = Instant::now();
    let pc = seal::generate_piece_commitment(sp, &data[..], UnpaddedBytesAmount(n))?;
    time("piece commitment", t);
    let t = Instant::now();
    let mut staged = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&staged_path)?;
    staged.seek(SeekFrom::End(0))?;
    let (piece, _) = seal::add_piece(sp, &data[..], &mut staged, UnpaddedBytesAmount(n), &[])?;
    staged.sync_all()?;
    time("add piece", t);
    ensure!(piece.commitment == pc.commitment);
    let pieces: Vec<PieceInfo> = vec![piece];
    let t = Instant::now();
    File::create(&sealed_path)?;
    let p1 = seal::seal_pre_commit_phase1(
        sp,
        &cache,
        &staged_path,
        &sealed_path,
        prover,
        sid,
        ticket,
        &pieces,
    )?;
    time("pc1", t);
    let t = Instant::now();
    let p2 = seal::seal_pre_commit_phase2(p1, &cache, &sealed_path)?;
    time("pc2", t);
    let (comm_r, comm_d) = (p2.comm_r, p2.comm_d);
    let t = Instant::now();
    let c1 = seal::seal_commit_phase1(
        cache.as_path(),
        sealed_path.as_path(),
        prover,
        sid,
        ticket,
        seed,
        p2,
        &pieces,
    )?;
    time("c1", t);
    let t = Instant::now();
    let c2 = seal::seal_commit_phase2(c1, prover, sid)?;
    time("c2", t);
    let t = Instant::now();
    ensure!(seal::verify_seal(
        sp, comm_r, comm_d, prover, sid, ticket, seed, &c2.proof
    )?);
    time("verify seal", t);
    let t = Instant::now();
    seal::clear_cache(&cache)?;
    time("finalize (clear cache)", t);

    let t = Instant::now();
    ensure!(post::generate_winning_post_sector_challenge(win, &wr, 1, prover)? == [0]);
    let mut priv_w = BTreeMap::new();
    priv_w.insert(
        sid,
        PrivateReplicaInfo::new(win, comm_r, cache.clone(), sealed_path.clone()),
    );
    let wp = post::generate_winning_post(&wr, &priv_w, prover)?;
    time("winning post", t);
    let mut pub_w = BTreeMap::new();
    pub_w.insert(sid, PublicReplicaInfo::new(win, comm_r));
    let t = Instant::now();
    ensure!(post::verify_winning_post(&wr, &wp[0].1, &pub_w, prover)?);
    time("verify winning post", t);

    let t = Instant::now();
    let mut priv_d = BTreeMap::new();
    priv_d.insert(
        sid,
        PrivateReplicaInfo::new(wdw, comm_r, cache.clone(), sealed_path.clone()),
    );
    let dp = post::generate_window_post(&dr, &priv_d, prover)?;
    time("window post", t);
    let mut pub_d = BTreeMap::new();
    pub_d.insert(sid, PublicReplicaInfo::new(wdw, comm_r));
    let refs: Vec<(RegisteredPoStProof, &[u8])> = dp.iter().map(|(p, b)| (*p, &b[..])).collect();
    let t = Instant::now();
    ensure!(post::verify_window_post(&dr, &refs, &pub_d, prover)?);
    time("verify window post", t);

    let t = Instant::now();
    let mut unsealed = Vec::with_capacity(data.len());
    seal::unseal_range(
        sp,
        cache.as_path(),
        File::open(&sealed_path)?,
        &mut unsealed,
        prover,
        sid,
        comm_d,
        ticket,
        UnpaddedByteIndex(0),
        UnpaddedBytesAmount(n),
    )?;
    time("unseal", t);
    ensure!(unsealed == data);
    Ok(out)
}
