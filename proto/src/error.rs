//! The crate's one error type: what was wrong with a message, and where.

/// A message that does not validate into a domain type. It names the field
/// by its path in the message (`pc1.pieces[2].comm_p`, with the `oneof` case
/// as the path's first element) and says what is wrong with it. Every
/// instance becomes `InvalidArgument` when returned from a gRPC handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// A message field or `oneof` that must be set is not.
    #[error("{field}: missing")]
    Missing {
        /// The field's path.
        field: String,
    },
    /// A field whose value is out of range or malformed.
    #[error("{field}: {problem}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong with it, and what would be right.
        problem: String,
    },
}

impl ProtoError {
    /// `field` is not set.
    pub fn missing(field: impl Into<String>) -> Self {
        ProtoError::Missing {
            field: field.into(),
        }
    }

    /// `field` is set to a bad value.
    pub fn invalid(field: impl Into<String>, problem: impl ToString) -> Self {
        ProtoError::Invalid {
            field: field.into(),
            problem: problem.to_string(),
        }
    }

    /// The path of the field at fault.
    pub fn field(&self) -> &str {
        match self {
            ProtoError::Missing { field } | ProtoError::Invalid { field, .. } => field,
        }
    }

    /// The same error, for a field inside `outer`: `ticket` becomes
    /// `pc1.ticket`, `[2].comm_p` becomes `pieces[2].comm_p`.
    pub fn at(self, outer: &str) -> Self {
        let join = |inner: String| {
            if inner.is_empty() {
                outer.to_string()
            } else if inner.starts_with('[') {
                format!("{outer}{inner}")
            } else {
                format!("{outer}.{inner}")
            }
        };
        match self {
            ProtoError::Missing { field } => ProtoError::Missing { field: join(field) },
            ProtoError::Invalid { field, problem } => ProtoError::Invalid {
                field: join(field),
                problem,
            },
        }
    }

    /// The same error, for the element `index` of a repeated field.
    pub fn at_index(self, outer: &str, index: usize) -> Self {
        self.at(&format!("{outer}[{index}]"))
    }
}

impl From<ProtoError> for tonic::Status {
    /// A message that does not validate is the caller's fault:
    /// `InvalidArgument`, with the field and the problem as the message.
    fn from(e: ProtoError) -> tonic::Status {
        tonic::Status::invalid_argument(e.to_string())
    }
}
