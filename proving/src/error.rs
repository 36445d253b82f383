//! The crate's one error type.

use ferrite_chain::ChainError;
use ferrite_proofs::ProofsError;

/// What can go wrong while proving.
#[derive(Debug, thiserror::Error)]
pub enum ProvingError {
    /// The chain could not answer or refused a message.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// A proof could not be generated or checked.
    #[error("proofs: {0}")]
    Proofs(#[from] ProofsError),
    /// A message was executed and failed.
    #[error("{what} failed on chain with exit code {code}")]
    MessageFailed {
        /// The message's purpose.
        what: String,
        /// Its exit code.
        code: u32,
    },
    /// A locally generated proof did not verify: it is not sent.
    #[error("the Window PoSt for deadline {deadline} did not verify locally")]
    BadProof {
        /// The deadline.
        deadline: u64,
    },
    /// The request does not make sense (an unknown deadline, say).
    #[error("{0}")]
    InvalidInput(String),
    /// Chain data that cannot be right (an unknown proof type, a bad CID).
    #[error("{0}")]
    Internal(String),
}
