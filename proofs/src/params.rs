//! Groth16 parameters: where they live, and how to get them.
//!
//! Proving (C2, PoSt) needs a circuit's `.params` file and verifying needs
//! its `.vk` file, named `v28-<circuit id>.{params,vk,meta}` in the parameter
//! cache. For the production sector sizes they come from Filecoin's trusted
//! setup and are downloaded ([`fetch`]); for the test sizes (2 KiB, 8 MiB)
//! Ferrite generates them locally from a fixed seed ([`generate`]), which is
//! only acceptable on a private test network.

pub mod fetch;
pub mod generate;

use std::path::{Path, PathBuf};

use ferrite_types::{SealProof, SectorSize};

use crate::ProofsError;
use generate::ParamCircuit;

/// The command that creates the parameters for `size`.
pub fn command_for(size: SectorSize) -> String {
    if size.is_test_size() {
        format!("ferrite params generate --sizes {size}")
    } else {
        format!("ferrite params fetch --sizes {size}")
    }
}

/// The circuits whose files [`missing`] checks for a miner of `size`: the
/// PoRep, Winning PoSt and Window PoSt circuits, and for the test sizes the
/// SnapDeals update circuit too. (For the production sizes the update
/// circuit's file name depends on the sector's tree shape, which
/// [`generate`] only knows for the test sizes, so it is not checked there.)
pub fn required(size: SectorSize) -> Vec<ParamCircuit> {
    let seal = SealProof::new(size);
    let mut circuits = vec![
        ParamCircuit::PoRep(seal),
        ParamCircuit::Post(seal.winning_post()),
        ParamCircuit::Post(seal.window_post()),
    ];
    if size.is_test_size() {
        circuits.push(ParamCircuit::Update(seal));
    }
    circuits
}

/// A circuit whose parameter files are not all in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCircuit {
    /// The circuit.
    pub circuit: ParamCircuit,
    /// Its `.params` and `.vk` files that are absent (the prover needs the
    /// first, verifiers the second).
    pub files: Vec<PathBuf>,
}

/// The circuits of [`required`]`(size)` whose `.params` or `.vk` file is
/// not in `dir`, in [`required`]'s order; empty when a miner of `size` can
/// seal and prove.
pub fn missing(size: SectorSize, dir: &Path) -> Result<Vec<MissingCircuit>, ProofsError> {
    let mut out = Vec::new();
    for circuit in required(size) {
        let [params, vk, _meta] = generate::file_names(circuit)?;
        let files: Vec<PathBuf> = [params, vk]
            .iter()
            .map(|n| dir.join(n))
            .filter(|f| !f.is_file())
            .collect();
        if !files.is_empty() {
            out.push(MissingCircuit { circuit, files });
        }
    }
    Ok(out)
}

/// Fails with [`ProofsError::MissingParameters`] unless every file exists.
pub(crate) fn require_params(
    paths: &[anyhow::Result<PathBuf>],
    size: SectorSize,
) -> Result<(), ProofsError> {
    for p in paths {
        let path = p
            .as_ref()
            .map_err(|e| ProofsError::Proof(anyhow::anyhow!("locate parameter file: {e}")))?;
        if !path.is_file() {
            return Err(ProofsError::MissingParameters {
                path: path.clone(),
                command: command_for(size),
            });
        }
    }
    Ok(())
}

/// Where a file is written before it is complete; renamed over `path` at the end.
pub(crate) fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

pub(crate) fn io(what: String, source: std::io::Error) -> ProofsError {
    ProofsError::Io { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_lists_each_absent_circuit_until_its_files_exist() {
        let dir = tempfile::tempdir().unwrap();
        let all = missing(SectorSize::S2KiB, dir.path()).unwrap();
        assert_eq!(
            all.iter().map(|m| m.circuit).collect::<Vec<_>>(),
            required(SectorSize::S2KiB)
        );
        assert_eq!(all.len(), 4);
        for m in &all {
            assert_eq!(m.files.len(), 2, "{m:?}");
            assert!(m.files[0].to_string_lossy().ends_with(".params"), "{m:?}");
            assert!(m.files[1].to_string_lossy().ends_with(".vk"), "{m:?}");
            assert!(m.files.iter().all(|f| f.starts_with(dir.path())), "{m:?}");
        }
        // The PoRep's .params alone leaves its .vk missing.
        std::fs::write(&all[0].files[0], b"x").unwrap();
        let now = missing(SectorSize::S2KiB, dir.path()).unwrap();
        assert_eq!(now.len(), 4);
        assert_eq!(now[0].files, vec![all[0].files[1].clone()]);
        // Every file present: nothing missing. An 8 MiB miner still lacks its own.
        for f in all.iter().flat_map(|m| &m.files) {
            std::fs::write(f, b"x").unwrap();
        }
        assert!(missing(SectorSize::S2KiB, dir.path()).unwrap().is_empty());
        assert_eq!(missing(SectorSize::S8MiB, dir.path()).unwrap().len(), 4);
        // Production sizes: PoRep and both PoSts, whose files are fetched.
        let prod = missing(SectorSize::S32GiB, dir.path()).unwrap();
        assert_eq!(prod.len(), 3);
        assert!(
            prod.iter()
                .all(|m| !matches!(m.circuit, ParamCircuit::Update(_)))
        );
    }

    #[test]
    fn missing_file_names_the_file_and_the_command() {
        let err = require_params(
            &[Ok(PathBuf::from("/nonexistent/v28-x.params"))],
            SectorSize::S2KiB,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/v28-x.params"), "{msg}");
        assert!(
            msg.contains("ferrite params generate --sizes 2KiB"),
            "{msg}"
        );
        let err = require_params(&[Ok(PathBuf::from("/nope.vk"))], SectorSize::S32GiB).unwrap_err();
        assert!(
            err.to_string()
                .contains("ferrite params fetch --sizes 32GiB")
        );
    }
}
