use std::path::PathBuf;

/// Why a proofs call failed, split by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum ProofsError {
    /// A Groth16 parameter file is missing: the operator must create or fetch it.
    #[error("missing proof parameter file {}: run `{command}`", path.display())]
    MissingParameters {
        /// The file the proofs look for.
        path: PathBuf,
        /// The command that creates it.
        command: String,
    },
    /// The input does not describe a valid proof task (wrong sizes, missing files).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The settings could not be applied.
    #[error("proofs settings: {0}")]
    Settings(String),
    /// A parameter file could not be downloaded.
    #[error("download {name}: {reason}")]
    Download {
        /// The file.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// A downloaded parameter file does not match the manifest's digest.
    #[error(
        "{name}: blake2b digest {actual} does not match the manifest's {expected}; the file was discarded"
    )]
    Digest {
        /// The file.
        name: String,
        /// The manifest's digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// Local I/O failed (a full disk, permissions).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The proof library panicked (a corrupted replica or tree, typically);
    /// the panic was caught at this crate's boundary.
    #[error("{phase} panicked in filecoin-proofs (sectors {sectors:?}): {message}")]
    Panicked {
        /// The phase that was running.
        phase: String,
        /// The sectors it was working on.
        sectors: Vec<u64>,
        /// The panic's message.
        message: String,
    },
    /// The proof library failed.
    #[error(transparent)]
    Proof(#[from] anyhow::Error),
}
