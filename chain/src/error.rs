use crate::mpool::MpoolError;

/// Why a chain operation failed, split by what a caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The thing asked for does not exist (an actor, a block, a message).
    #[error("{0}")]
    NotFound(String),
    /// The message pool refused a message.
    #[error("mpool push: {0}")]
    Rejected(#[from] MpoolError),
    /// A message failed when executed (gas estimation, a call).
    #[error("{0}")]
    Execution(String),
    /// The node could not be reached or answered badly: retry later.
    #[error("chain node unavailable: {0}")]
    Unavailable(String),
    /// The node answered with an error.
    #[error("chain node error {code}: {message}")]
    Remote {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// Anything else: a bug or a corrupt store.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ferrite_store::StoreError> for ChainError {
    fn from(e: ferrite_store::StoreError) -> Self {
        ChainError::Internal(e.into())
    }
}
