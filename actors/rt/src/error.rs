//! The error every actor method returns: an exit code and a message, turned
//! into an abort at the entry point by [`crate::dispatch`].

use fvm_shared::error::ExitCode;

/// A method's failure: the exit code the caller sees and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorError {
    /// The exit code.
    pub code: ExitCode,
    /// What went wrong.
    pub msg: String,
}

/// A method's result.
pub type ActorResult<T> = Result<T, ActorError>;

impl ActorError {
    /// An error with `code` and `msg`.
    pub fn new(code: ExitCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }
    /// `USR_ILLEGAL_ARGUMENT`: the parameters are wrong.
    pub fn illegal_argument(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_ILLEGAL_ARGUMENT, msg)
    }
    /// `USR_ILLEGAL_STATE`: the state does not allow this, or is corrupt.
    pub fn illegal_state(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_ILLEGAL_STATE, msg)
    }
    /// `USR_FORBIDDEN`: the caller may not do this.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_FORBIDDEN, msg)
    }
    /// `USR_NOT_FOUND`.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_NOT_FOUND, msg)
    }
    /// `USR_INSUFFICIENT_FUNDS`.
    pub fn insufficient_funds(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_INSUFFICIENT_FUNDS, msg)
    }
    /// `USR_SERIALIZATION`.
    pub fn serialization(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_SERIALIZATION, msg)
    }
    /// `USR_UNHANDLED_MESSAGE`.
    pub fn unhandled_message(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_UNHANDLED_MESSAGE, msg)
    }
    /// `USR_UNHANDLED_MESSAGE` for a method the actor does not have, worded
    /// as builtin-actors' dispatcher words it.
    pub fn unknown_method(method: u64) -> Self {
        Self::unhandled_message(format!("invalid method: {method}"))
    }
    /// `USR_ASSERTION_FAILED`: an invariant of ours does not hold.
    pub fn assertion_failed(msg: impl Into<String>) -> Self {
        Self::new(ExitCode::USR_ASSERTION_FAILED, msg)
    }
    /// The same error with `what` in front of its message.
    pub fn context(self, what: &str) -> Self {
        Self {
            code: self.code,
            msg: format!("{what}: {}", self.msg),
        }
    }
}

impl std::fmt::Display for ActorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (exit {})", self.msg, self.code.value())
    }
}

/// Turns any error into an [`ActorError`] with a chosen code.
pub trait WithCode<T> {
    /// The value, or an [`ActorError`] with `code` and `what: error`.
    fn with_code(self, code: ExitCode, what: &str) -> ActorResult<T>;
    /// Shorthand for `with_code(USR_ILLEGAL_STATE, what)`: state that cannot
    /// be read or written.
    fn state_err(self, what: &str) -> ActorResult<T>
    where
        Self: Sized,
    {
        self.with_code(ExitCode::USR_ILLEGAL_STATE, what)
    }
}

impl<T, E: std::fmt::Display> WithCode<T> for Result<T, E> {
    fn with_code(self, code: ExitCode, what: &str) -> ActorResult<T> {
        self.map_err(|e| ActorError::new(code, format!("{what}: {e}")))
    }
}
