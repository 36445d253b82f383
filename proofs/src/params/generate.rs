//! Local Groth16 parameters for the test sector sizes (2 KiB and 8 MiB).
//!
//! What `paramcache` in rust-fil-proofs does, made reproducible and safe to
//! interrupt: each circuit's parameters are drawn from a ChaCha20 stream
//! seeded with a hash of the circuit's identifier, so every machine gets
//! byte-identical files; each file is written under a temporary name and
//! renamed only once complete, so a killed run leaves no partial file that
//! the proofs would later trip over.
//!
//! **These parameters are for a private test network only.** Their toxic
//! waste is derivable from a public seed, so anyone can forge proofs against
//! them, and proofs made with them verify only against these same keys.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bellperson::Circuit;
use blstrs::{Bls12, Scalar};
use ferrite_types::{PostKind, PostProof, SealProof, SectorSize};
use filecoin_proofs::constants::{DefaultPieceHasher, SectorShapeBase};
use filecoin_proofs::parameters::{
    public_params, window_post_public_params, winning_post_public_params,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use storage_proofs_core::compound_proof::CompoundProof;
use storage_proofs_core::parameter_cache::{
    CacheEntryMetadata, CacheableParameters, metadata_id, parameter_id, verifying_key_id,
};
use storage_proofs_porep::stacked::{StackedCircuit, StackedCompound, StackedDrg};
use storage_proofs_post::fallback::{FallbackPoSt, FallbackPoStCircuit, FallbackPoStCompound};
use storage_proofs_update::{
    EmptySectorUpdate, EmptySectorUpdateCircuit, EmptySectorUpdateCompound,
};

use super::{io, partial};
use crate::{ProofsError, registered};

/// The warning every generated set comes with.
pub const TEST_ONLY_WARNING: &str = "These Groth16 parameters are generated from a public seed: \
they are for a private test network (the Ferrite devnet) only, and proofs made with them are \
worthless on any real Filecoin network.";

/// Domain separator of the seed; changing it changes every generated file.
const SEED_DOMAIN: &[u8] = b"ferrite devnet groth16 parameters v1\0";

/// One circuit whose parameters can be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamCircuit {
    /// The PoRep (C2) circuit of a sector size.
    PoRep(SealProof),
    /// A PoSt circuit.
    Post(PostProof),
    /// The SnapDeals (empty sector update) circuit of a sector size.
    Update(SealProof),
}

impl ParamCircuit {
    /// A short name for progress output.
    pub fn label(&self) -> String {
        match self {
            ParamCircuit::PoRep(p) => format!("PoRep {}", p.sector_size()),
            ParamCircuit::Update(p) => format!("SnapDeals update {}", p.sector_size()),
            ParamCircuit::Post(p) => match p.kind {
                PostKind::Winning => format!("Winning PoSt {}", p.size),
                PostKind::Window => format!("Window PoSt {}", p.size),
            },
        }
    }
}

/// The circuits of a test sector size: PoRep, Winning PoSt, Window PoSt and
/// the SnapDeals update.
pub fn circuits(size: SectorSize) -> Result<[ParamCircuit; 4], ProofsError> {
    if !size.is_test_size() {
        return Err(ProofsError::InvalidInput(format!(
            "parameters for {size} sectors must come from Filecoin's trusted setup: run `ferrite params fetch --sizes {size}`; only 2KiB and 8MiB can be generated"
        )));
    }
    let seal = SealProof::new(size);
    Ok([
        ParamCircuit::PoRep(seal),
        ParamCircuit::Post(seal.winning_post()),
        ParamCircuit::Post(seal.window_post()),
        ParamCircuit::Update(seal),
    ])
}

/// Progress of [`generate_circuit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Building the blank circuit and drawing the parameters (the long part).
    Generating,
    /// Writing the `.params` file.
    WritingParams,
    /// Writing the `.vk` and `.meta` files.
    WritingKeys,
}

/// What [`generate_circuit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The three files, final names.
    pub files: Vec<PathBuf>,
    /// False when all three already existed and nothing was done.
    pub created: bool,
    /// Time spent.
    pub elapsed: Duration,
}

/// The file names of a circuit's parameters, as the proofs look them up.
pub fn file_names(circuit: ParamCircuit) -> Result<[String; 3], ProofsError> {
    let id = cache_id(circuit)?;
    Ok([parameter_id(&id), verifying_key_id(&id), metadata_id(&id)])
}

/// Generates `circuit`'s parameters into `dir` unless they are all there.
pub fn generate_circuit(
    circuit: ParamCircuit,
    dir: &Path,
    on_step: &mut dyn FnMut(Step),
) -> Result<Generated, ProofsError> {
    let start = Instant::now();
    // Only the test sizes share the base tree shape this generator builds.
    let size = match circuit {
        ParamCircuit::PoRep(p) | ParamCircuit::Update(p) => p.sector_size(),
        ParamCircuit::Post(p) => p.size,
    };
    circuits(size)?;
    let id = cache_id(circuit)?;
    let names = [parameter_id(&id), verifying_key_id(&id), metadata_id(&id)];
    let files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let done = || {
        Ok(Generated {
            files: files.clone(),
            created: false,
            elapsed: start.elapsed(),
        })
    };
    // Files are renamed into place whole: present means complete, and a run
    // with nothing to do need not wait for a generator of another size.
    if files.iter().all(|f| f.is_file()) {
        return done();
    }
    fs::create_dir_all(dir).map_err(|e| io(format!("create {}", dir.display()), e))?;
    // One generator per directory at a time; a second one waits.
    let lock_path = dir.join(".ferrite-params.lock");
    let lock =
        File::create(&lock_path).map_err(|e| io(format!("create {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| io(format!("lock {}", lock_path.display()), e))?;
    if files.iter().all(|f| f.is_file()) {
        return done();
    }
    for f in &files {
        // Left over from a run that was killed before its rename.
        let _ = fs::remove_file(partial(f));
    }
    on_step(Step::Generating);
    let mut rng = seeded_rng(&id);
    let (params, meta) = match circuit {
        ParamCircuit::PoRep(p) => {
            type Tree = SectorShapeBase;
            type C = StackedCompound<Tree, DefaultPieceHasher>;
            let pp = public_params::<Tree>(&registered::seal(p).as_v1_config())?;
            let blank = <C as CompoundProof<
                StackedDrg<'_, Tree, DefaultPieceHasher>,
                StackedCircuit<Tree, DefaultPieceHasher>,
            >>::blank_circuit(&pp);
            let meta =
                <C as CacheableParameters<StackedCircuit<Tree, DefaultPieceHasher>, _>>::cache_meta(
                    &pp,
                );
            (draw(blank, &mut rng)?, meta)
        }
        ParamCircuit::Post(p) => {
            type Tree = SectorShapeBase;
            let cfg = registered::post(p).as_v1_config();
            let pp = match p.kind {
                PostKind::Winning => winning_post_public_params::<Tree>(&cfg)?,
                PostKind::Window => window_post_public_params::<Tree>(&cfg)?,
            };
            let blank = <FallbackPoStCompound<Tree> as CompoundProof<
                FallbackPoSt<'_, Tree>,
                FallbackPoStCircuit<Tree>,
            >>::blank_circuit(&pp);
            let meta = <FallbackPoStCompound<Tree> as CacheableParameters<
                FallbackPoStCircuit<Tree>,
                _,
            >>::cache_meta(&pp);
            (draw(blank, &mut rng)?, meta)
        }
        ParamCircuit::Update(p) => {
            type Tree = SectorShapeBase;
            let pp = storage_proofs_update::PublicParams::from_sector_size(p.sector_size().bytes());
            let blank = <EmptySectorUpdateCompound<Tree> as CompoundProof<
                EmptySectorUpdate<Tree>,
                EmptySectorUpdateCircuit<Tree>,
            >>::blank_circuit(&pp);
            let meta = <EmptySectorUpdateCompound<Tree> as CacheableParameters<
                EmptySectorUpdateCircuit<Tree>,
                _,
            >>::cache_meta(&pp);
            (draw(blank, &mut rng)?, meta)
        }
    };
    on_step(Step::WritingParams);
    write_atomically(&files[0], |w| params.write(w))?;
    on_step(Step::WritingKeys);
    write_atomically(&files[1], |w| params.vk.write(w))?;
    write_atomically(&files[2], |w| write_meta(w, &meta))?;
    Ok(Generated {
        files,
        created: true,
        elapsed: start.elapsed(),
    })
}

fn write_meta(w: &mut dyn Write, meta: &CacheEntryMetadata) -> std::io::Result<()> {
    serde_json::to_writer(w, meta).map_err(std::io::Error::other)
}

/// The identifier the proofs use for `circuit`, checked against the file
/// name the library will look for.
fn cache_id(circuit: ParamCircuit) -> Result<String, ProofsError> {
    let (id, expected) = match circuit {
        ParamCircuit::PoRep(p) => {
            let r = registered::seal(p);
            (r.circuit_identifier()?, r.cache_params_path()?)
        }
        ParamCircuit::Post(p) => {
            let r = registered::post(p);
            (r.circuit_identifier()?, r.cache_params_path()?)
        }
        ParamCircuit::Update(p) => {
            // filecoin-proofs-api's RegisteredUpdateProof names the PoRep
            // circuit's files (it delegates to the PoRep config), while the
            // prover looks the update circuit up by its own identifier.
            let id = update_circuit_id(p);
            let path = storage_proofs_core::parameter_cache::parameter_cache_params_path(&id);
            (id, path)
        }
    };
    let name = parameter_id(&id);
    if expected.file_name().and_then(|n| n.to_str()) != Some(name.as_str()) {
        return Err(ProofsError::Proof(anyhow::anyhow!(
            "circuit file name {name} does not match the library's {}",
            expected.display()
        )));
    }
    Ok(id)
}

/// The update circuit's identifier, as the prover builds it when it looks
/// its parameters up.
pub(crate) fn update_circuit_id(p: SealProof) -> String {
    type Tree = SectorShapeBase;
    let pp = storage_proofs_update::PublicParams::from_sector_size(p.sector_size().bytes());
    <EmptySectorUpdateCompound<Tree> as CacheableParameters<EmptySectorUpdateCircuit<Tree>, _>>::cache_identifier(&pp)
}

fn seeded_rng(id: &str) -> ChaCha20Rng {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .to_state()
        .update(SEED_DOMAIN)
        .update(id.as_bytes())
        .finalize();
    let mut seed = [0u8; 32];
    seed.copy_from_slice(hash.as_bytes());
    ChaCha20Rng::from_seed(seed)
}

fn draw(
    circuit: impl Circuit<Scalar>,
    rng: &mut ChaCha20Rng,
) -> Result<bellperson::groth16::Parameters<Bls12>, ProofsError> {
    bellperson::groth16::generate_random_parameters::<Bls12, _, _>(circuit, rng)
        .map_err(|e| ProofsError::Proof(anyhow::anyhow!("generate groth16 parameters: {e}")))
}

fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ProofsError> {
    let tmp = partial(path);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(format!("write {}", path.display()), e)
    })
}
