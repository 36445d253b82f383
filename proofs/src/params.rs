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

use ferrite_types::SectorSize;

use crate::ProofsError;

/// The command that creates the parameters for `size`.
pub fn command_for(size: SectorSize) -> String {
    if size.is_test_size() {
        format!("ferrite params generate --sizes {size}")
    } else {
        format!("ferrite params fetch --sizes {size}")
    }
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
