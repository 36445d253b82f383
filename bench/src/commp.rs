//! CommP: ferrite-proofs' streaming hasher against filecoin-proofs'
//! `generate_piece_commitment`, on the same data, in the same run, held to
//! a thread count by running inside a rayon pool of that size
//! (`CommpPool::install`), next to the machine's physical limit.
//!
//! The inputs are full pieces (payloads of 127/128 of the padded size,
//! deterministic random bytes, in memory), so the zero fill that Ferrite
//! gets for free plays no part. Throughput is in MB/s (10^6 bytes) of
//! padded piece bytes, the tree's leaves. Both sides must agree on the root.

use std::time::{Duration, Instant};

use anyhow::Context;
use ferrite_proofs::commp::{CommpHasher, CommpPool};
use ferrite_types::{CommP, PaddedPieceSize};
use filecoin_proofs_api::{RegisteredSealProof, UnpaddedBytesAmount, seal};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::median;

/// Who computes the commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// ferrite-proofs' `CommpHasher`.
    Ferrite,
    /// filecoin-proofs' `generate_piece_commitment`.
    FilecoinProofs,
}

impl Side {
    /// The commitment of `payload` as a piece of `size`, on `pool`'s threads.
    pub fn run(
        self,
        pool: &CommpPool,
        payload: &[u8],
        size: PaddedPieceSize,
    ) -> anyhow::Result<CommP> {
        match self {
            Side::Ferrite => {
                let mut h = CommpHasher::new(pool);
                h.update(payload);
                Ok(h.finish_to(size)?.comm_p())
            }
            Side::FilecoinProofs => {
                let n = UnpaddedBytesAmount(size.unpadded().bytes());
                // Any seal proof: the piece commitment does not depend on it.
                let info = pool.install(|| {
                    seal::generate_piece_commitment(
                        RegisteredSealProof::StackedDrg32GiBV1_1,
                        payload,
                        n,
                    )
                })?;
                Ok(CommP(info.commitment))
            }
        }
    }
}

/// The deterministic random payload of a full piece of `piece` padded bytes.
pub fn payload(piece: PaddedPieceSize) -> anyhow::Result<Vec<u8>> {
    let mut payload = vec![0u8; usize::try_from(piece.unpadded().bytes())?];
    ChaCha20Rng::seed_from_u64(piece.bytes()).fill_bytes(&mut payload);
    Ok(payload)
}

/// `rounds` runs of each of `sides` on `payload`, the order reversed every
/// other round so that warmth favours none; returns each side's times. Fails
/// if two runs disagree on the commitment.
pub fn measure(
    sides: &[(Side, &CommpPool)],
    payload: &[u8],
    piece: PaddedPieceSize,
    rounds: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<Vec<Vec<Duration>>> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    let mut roots: Vec<CommP> = Vec::new();
    for round in 0..rounds {
        progress(format!(
            "CommP {} MiB: round {}/{rounds}",
            piece.bytes() >> 20,
            round + 1
        ));
        let order: Vec<usize> = if round % 2 == 0 {
            (0..sides.len()).collect()
        } else {
            (0..sides.len()).rev().collect()
        };
        for i in order {
            let (side, pool) = sides[i];
            let start = Instant::now();
            let root = side.run(pool, payload, piece)?;
            times[i].push(start.elapsed());
            roots.push(root);
        }
    }
    anyhow::ensure!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "the sides disagree on the {} MiB piece: {roots:?}",
        piece.bytes() >> 20
    );
    Ok(times)
}

/// MB/s of padded piece bytes at the median of `times`.
pub fn mb_per_second(piece: PaddedPieceSize, times: &[Duration]) -> f64 {
    piece.bytes() as f64 / median(times) / 1e6
}

/// One core's SHA-256 throughput from `openssl speed` (3 s), divided by 4:
/// the leaf bytes per second a CommP tree can be hashed at, since each
/// 32-byte leaf costs one 64-byte parent, i.e. two compression blocks.
pub fn sha256_limit() -> anyhow::Result<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-seconds", "3", "-bytes", "8192"])
        .output()
        .context("run `openssl speed` (is openssl installed?)")?;
    anyhow::ensure!(
        out.status.success(),
        "`openssl speed` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The last line reads `sha256   1897226.24k`: thousands of bytes per second.
    let text = String::from_utf8_lossy(&out.stdout);
    let kbps: f64 = text
        .lines()
        .filter(|l| l.starts_with("sha256"))
        .filter_map(|l| l.split_whitespace().last())
        .find_map(|v| v.trim_end_matches('k').parse().ok())
        .with_context(|| format!("no sha256 figure in `openssl speed` output:\n{text}"))?;
    Ok(kbps * 1000.0 / 4.0)
}
