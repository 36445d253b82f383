//! The retrieval server's errors, each with the HTTP status it answers.

use axum::http::StatusCode;

/// Why a retrieval was not served.
#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    /// The request names something malformed (a CID, a parameter, a path).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing stored here has that name.
    #[error("{0}")]
    NotFound(String),
    /// The Accept header asks for nothing this server can send.
    #[error("{0}")]
    NotAcceptable(String),
    /// Too many transfers run now.
    #[error("too many transfers: retry later")]
    Busy,
    /// The piece is being unsealed; retry after this many seconds.
    #[error("the piece is being unsealed: retry in {0} s")]
    Unsealing(u64),
    /// Unsealing failed.
    #[error("unseal sector {sector}: {reason}")]
    UnsealFailed {
        /// The sector.
        sector: u64,
        /// What went wrong.
        reason: String,
    },
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// Anything else: the index or the disk failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl RetrievalError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            RetrievalError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RetrievalError::NotFound(_) => StatusCode::NOT_FOUND,
            RetrievalError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            RetrievalError::Busy => StatusCode::TOO_MANY_REQUESTS,
            RetrievalError::Unsealing(_) => StatusCode::SERVICE_UNAVAILABLE,
            RetrievalError::UnsealFailed { .. }
            | RetrievalError::Config(_)
            | RetrievalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Retry-After, in seconds, if the client should come back.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            RetrievalError::Busy => Some(1),
            RetrievalError::Unsealing(s) => Some(*s),
            _ => None,
        }
    }
}
