//! The `[proofs]` section of ferrite.toml.

use std::path::PathBuf;

use ferrite_types::SectorSize;
use serde::{Deserialize, Serialize};

use crate::gpu::GpuConfig;

/// `[proofs]` in ferrite.toml: where parameters and caches live, and how much
/// proof work runs at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProofsConfig {
    /// Directory of the Groth16 parameter files (`v28-*.params`, `.vk`, `.meta`).
    /// Sets `FIL_PROOFS_PARAMETER_CACHE`. Default: `/var/tmp/filecoin-proof-parameters`,
    /// where Lotus, Curio and Boost also look, so existing files are reused.
    pub parameter_cache: PathBuf,
    /// Directory of the SDR parent cache, created on the first PC1 of each
    /// sector size. Sets `FIL_PROOFS_PARENT_CACHE`. Default: `/var/tmp/filecoin-parents`.
    pub parent_cache: PathBuf,
    /// Hash every parameter file against the bundled `parameters.json` when it
    /// is first loaded. Must stay off with locally generated test parameters,
    /// whose digests are not in the manifest. Default: false.
    pub verify_production_params: bool,
    /// Where `ferrite params fetch` downloads official parameter files from:
    /// the file's CID is appended. Default: `https://proofs.filecoin.io/ipfs/`.
    pub param_base_url: String,
    /// Threads of the global rayon pool that the proofs use (`RAYON_NUM_THREADS`).
    /// 0 means one per core. Default: 0.
    pub threads: usize,
    /// How many tasks of each stage may run at once in this process.
    pub limits: StageLimits,
    /// `[proofs.resident]`: the Groth16 parameters kept decoded in memory.
    pub resident: ResidentConfig,
    /// `[proofs.gpu]`: whether proofs run on the GPUs, which, and how shared.
    pub gpu: GpuConfig,
}

impl Default for ProofsConfig {
    fn default() -> Self {
        Self {
            parameter_cache: PathBuf::from("/var/tmp/filecoin-proof-parameters"),
            parent_cache: PathBuf::from("/var/tmp/filecoin-parents"),
            verify_production_params: false,
            param_base_url: "https://proofs.filecoin.io/ipfs/".to_string(),
            threads: 0,
            limits: StageLimits::default(),
            resident: ResidentConfig::default(),
            gpu: GpuConfig::default(),
        }
    }
}

/// `[proofs.resident]`: the resident prover keeps each proof kind's decoded
/// Groth16 parameters (PoRep C2, Window PoSt, Winning PoSt) in memory, so
/// that only the first proof of a kind in a process pays for reading and
/// decoding them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResidentConfig {
    /// The most memory, in MiB, that the resident parameters of all proof
    /// kinds may take together (a 32 GiB sector's PoRep parameters take
    /// about as much as their file). A kind whose parameters would pass it is
    /// proven from the memory-mapped file instead, as filecoin-proofs does,
    /// and the log says so. 0 keeps none resident. Default: 65536 (64 GiB).
    pub max_mib: u64,
    /// Sector sizes whose PoRep parameters are loaded when the process
    /// starts, in the background, rather than at the first C2. Default: none.
    /// (PoSt parameters, far smaller, load at the first PoSt of each kind.)
    pub preload: Vec<SectorSize>,
}

impl Default for ResidentConfig {
    fn default() -> Self {
        Self {
            max_mib: 64 << 10,
            preload: Vec::new(),
        }
    }
}

/// `[proofs.limits]`: concurrent tasks per stage. Each must be at least 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StageLimits {
    /// AddPiece and piece-commitment tasks (disk bound). Default: 4.
    pub add_piece: usize,
    /// PC1 (SDR labelling; memory bound: about 64 GiB at 32 GiB). Default: 2.
    pub pc1: usize,
    /// PC2 (tree building). Default: 1.
    pub pc2: usize,
    /// C1 (vanilla proofs; cheap). Default: 4.
    pub c1: usize,
    /// C2 (the SNARK) in flight: synthesizing, waiting for a proving turn,
    /// or proving. 2 with `c2_proving = 1` pipelines them: the next sector's
    /// synthesis (CPU) overlaps the current proof (GPU). Default: 1.
    pub c2: usize,
    /// C2s whose FFTs and multiexps run at once ([`crate::prover::pipeline`]);
    /// the others wait, synthesized, in order. Default: 1 (one GPU, or the
    /// CPU's cores, per proof).
    pub c2_proving: usize,
    /// Winning and Window PoSt. Default: 1.
    pub post: usize,
    /// Unseal for retrieval. Default: 2.
    pub unseal: usize,
    /// Proof verification and cache clean-up (cheap). Default: 4.
    pub verify: usize,
}

impl Default for StageLimits {
    fn default() -> Self {
        Self {
            add_piece: 4,
            pc1: 2,
            pc2: 1,
            c1: 4,
            c2: 1,
            c2_proving: 1,
            post: 1,
            unseal: 2,
            verify: 4,
        }
    }
}
