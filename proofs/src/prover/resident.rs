//! The decoded parameter sets in memory, one per proof kind (PoRep, Window
//! PoSt and Winning PoSt, for each sector size), and what they take.
//!
//! A kind's slot is decided once: the first caller reads the `.params` file
//! into bellperson's `Parameters` (other callers of that kind wait for it),
//! unless its size would take the process past `[proofs.resident] max_mib`;
//! then the kind stays on the mapped path for the life of the process.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::mem::size_of;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bellperson::groth16::Parameters;
use blstrs::{Bls12, G1Affine, G2Affine};
use ferrite_types::{PostKind, PostProof, SealProof, SectorSize};
use storage_proofs_core::parameter_cache::{get_parameter_data_from_id, verify_production_entry};
use storage_proofs_core::settings::SETTINGS;
use tracing::{info, warn};

use crate::{ProofsError, ResidentConfig, registered};

/// A proof kind with a Groth16 parameter file of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// C2 of a PoRep.
    Seal(SealProof),
    /// A Window or Winning PoSt.
    Post(PostProof),
}

impl Kind {
    fn params_path(self) -> anyhow::Result<PathBuf> {
        match self {
            Kind::Seal(k) => registered::seal(k).cache_params_path(),
            Kind::Post(k) => registered::post(k).cache_params_path(),
        }
    }

    fn size(self) -> SectorSize {
        match self {
            Kind::Seal(k) => k.sector_size(),
            Kind::Post(k) => k.size,
        }
    }

    /// The kind's name in the log.
    fn name(self) -> &'static str {
        match self {
            Kind::Seal(_) => "PoRep",
            Kind::Post(PostProof {
                kind: PostKind::Window,
                ..
            }) => "Window PoSt",
            Kind::Post(PostProof {
                kind: PostKind::Winning,
                ..
            }) => "Winning PoSt",
        }
    }
}

/// Where a kind's proofs take their parameters from.
#[derive(Clone)]
pub(crate) enum Slot {
    /// Decoded, in memory.
    Resident(Arc<Parameters<Bls12>>),
    /// The library's memory-mapped path (over the cap).
    Mapped,
}

/// What the resident prover holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResidentStats {
    /// Bytes the resident parameter sets take.
    pub bytes: u64,
    /// Parameter sets resident.
    pub sets: usize,
    /// Parameter files read since the process started (one per resident set).
    pub loads: u64,
}

#[derive(Default)]
struct Sets {
    /// One lock per kind, held while the kind's slot is being decided.
    kinds: HashMap<Kind, Arc<Mutex<Option<Slot>>>>,
    stats: ResidentStats,
}

fn sets() -> &'static Mutex<Sets> {
    static SETS: OnceLock<Mutex<Sets>> = OnceLock::new();
    SETS.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while a slot was being loaded left it undecided (`None`), which
    // the next caller retries: the data behind a poisoned lock is sound.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn stats() -> ResidentStats {
    lock(sets()).stats
}

/// Whether `kind` is likely to prove from resident parameters: resident
/// already, or undecided and within the cap now (another kind loading
/// meanwhile may still push it over: [`slot`] decides). A missing parameter
/// file is an error here, before any proof work.
pub(crate) fn may_hold(kind: Kind, cfg: &ResidentConfig) -> Result<bool, ProofsError> {
    let cell = Arc::clone(lock(sets()).kinds.entry(kind).or_default());
    match cell.try_lock() {
        Ok(slot) => {
            if let Some(decided) = slot.as_ref() {
                return Ok(matches!(decided, Slot::Resident(_)));
            }
        }
        // Being decided now, most likely loaded (it passed the cap when it
        // reserved its room, which `used` below counts already): this C2
        // synthesizes meanwhile, and `slot` gives it the outcome.
        Err(std::sync::TryLockError::WouldBlock) => return Ok(true),
        // A load that panicked left it undecided.
        Err(std::sync::TryLockError::Poisoned(_)) => {}
    }
    let (_, file_bytes) = params_file(kind)?;
    let used = lock(sets()).stats.bytes;
    if used.saturating_add(file_bytes) <= cfg.max_mib.saturating_mul(1 << 20) {
        return Ok(true);
    }
    // Over the cap: decide now (no load), so that the log says so once.
    Ok(matches!(slot(kind, cfg)?, Slot::Resident(_)))
}

/// `kind`'s parameter file and its size; an error naming the command that
/// fetches or makes it when it is missing.
fn params_file(kind: Kind) -> Result<(PathBuf, u64), ProofsError> {
    let path = kind
        .params_path()
        .map_err(|e| ProofsError::Proof(e.context(format!("locate {} parameters", kind.name()))))?;
    crate::params::require_params(&[Ok(path.clone())], kind.size())?;
    let bytes = std::fs::metadata(&path)
        .map_err(|e| crate::params::io(format!("stat {}", path.display()), e))?
        .len();
    Ok((path, bytes))
}

/// `kind`'s slot, deciding (and loading) it on first use.
pub(crate) fn slot(kind: Kind, cfg: &ResidentConfig) -> Result<Slot, ProofsError> {
    let cell = Arc::clone(lock(sets()).kinds.entry(kind).or_default());
    let mut slot = lock(&cell);
    if let Some(s) = slot.as_ref() {
        return Ok(s.clone());
    }
    let name = kind.name();
    let (path, file_bytes) = params_file(kind)?;
    let cap = cfg.max_mib.saturating_mul(1 << 20);
    // Decoded points take what they take in the file (uncompressed affine
    // points, the same size in memory), so the file's size is reserved
    // before loading: two kinds loading at once cannot both pass the cap.
    let reserved = {
        let mut all = lock(sets());
        let used = all.stats.bytes;
        if used.saturating_add(file_bytes) > cap {
            warn!(
                size = %kind.size(),
                need_mib = file_bytes >> 20,
                used_mib = used >> 20,
                cap_mib = cfg.max_mib,
                "{name} parameters would pass [proofs.resident] max_mib: proving from the mapped file, which decodes the parameters again for every proof"
            );
            None
        } else {
            all.stats.bytes += file_bytes;
            Some(file_bytes)
        }
    };
    let decided = match reserved {
        None => Slot::Mapped,
        Some(reserved) => {
            let loaded = load(&path);
            let mut all = lock(sets());
            all.stats.bytes -= reserved;
            let params = loaded?;
            let bytes = decoded_bytes(&params);
            all.stats.bytes += bytes;
            all.stats.sets += 1;
            all.stats.loads += 1;
            info!(
                size = %kind.size(),
                resident_mib = bytes >> 20,
                total_resident_mib = all.stats.bytes >> 20,
                "{name} parameters resident"
            );
            Slot::Resident(Arc::new(params))
        }
    };
    *slot = Some(decided.clone());
    Ok(decided)
}

/// Reads and decodes a `.params` file, checked against the manifest's
/// digest first where `verify_production_params` is on (as the library's
/// own loader does).
fn load(path: &Path) -> Result<Parameters<Bls12>, ProofsError> {
    let started = Instant::now();
    if SETTINGS.verify_production_params {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ProofsError::InvalidInput(format!("bad path {}", path.display())))?;
        verify_production_entry(path, name.to_string(), get_parameter_data_from_id)
            .map_err(|e| ProofsError::Proof(e.context("check parameter digest")))?;
    }
    let file =
        File::open(path).map_err(|e| crate::params::io(format!("open {}", path.display()), e))?;
    // Unchecked, as the library reads its mapped parameters: the points come
    // from the trusted setup's file (digest-checked above in production).
    let params = Parameters::<Bls12>::read(BufReader::with_capacity(1 << 20, file), false)
        .map_err(|e| crate::params::io(format!("decode {}", path.display()), e))?;
    info!(
        file = %path.display(),
        seconds = started.elapsed().as_secs_f64(),
        "Groth16 parameters decoded"
    );
    Ok(params)
}

/// The memory a decoded parameter set takes (its point vectors).
pub(crate) fn decoded_bytes(p: &Parameters<Bls12>) -> u64 {
    let g1 = p.h.len() + p.l.len() + p.a.len() + p.b_g1.len();
    let total = g1 * size_of::<G1Affine>() + p.b_g2.len() * size_of::<G2Affine>();
    u64::try_from(total).unwrap_or(u64::MAX)
}
