//! The shared secret that sector-file requests carry as
//! `Authorization: Bearer <token>`: the same secret the node and its workers
//! use on gRPC (ferrite-proto's `BearerToken`, which this crate cannot
//! depend on, since ferrite-proto depends on it).

use std::fmt;
use std::sync::Arc;

use super::TransferError;

/// Longest token accepted (as ferrite-proto's `BearerToken`).
const MAX_TOKEN_BYTES: usize = 1024;

/// The bearer token for sector-file transfers. Its `Debug` never prints the
/// secret.
#[derive(Clone)]
pub struct TransferToken(Arc<str>);

impl TransferToken {
    /// A token: 1 to 1024 printable ASCII characters without spaces (the
    /// rules of the gRPC token, so one secret serves both).
    pub fn new(secret: impl Into<String>) -> Result<Self, TransferError> {
        let secret = secret.into();
        let problem = if secret.is_empty() {
            Some("empty".to_owned())
        } else if secret.len() > MAX_TOKEN_BYTES {
            Some(format!("{} bytes; at most {MAX_TOKEN_BYTES}", secret.len()))
        } else if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            Some("only printable ASCII without spaces".to_owned())
        } else {
            None
        };
        match problem {
            Some(p) => Err(TransferError::InvalidToken(p)),
            None => Ok(Self(secret.into())),
        }
    }

    /// The secret, for the `Authorization` header.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// Whether the value of an `Authorization` header carries this token.
    /// The scheme is case-insensitive (RFC 7235); the comparison takes time
    /// that depends on the lengths only, never on which byte differs.
    pub(crate) fn matches_header(&self, value: &[u8]) -> bool {
        const SCHEME: &[u8] = b"bearer ";
        let Some((scheme, rest)) = value.split_at_checked(SCHEME.len()) else {
            return false;
        };
        scheme.eq_ignore_ascii_case(SCHEME)
            && constant_time_eq(rest.trim_ascii(), self.0.as_bytes())
    }
}

impl fmt::Debug for TransferToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransferToken(<redacted>)")
    }
}

fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    for (i, p) in presented.iter().enumerate() {
        diff |= p ^ expected.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_matching() {
        let t = TransferToken::new("s3cret").unwrap();
        assert!(t.matches_header(b"Bearer s3cret"));
        assert!(t.matches_header(b"bearer s3cret"));
        assert!(!t.matches_header(b"Bearer s3cre"));
        assert!(!t.matches_header(b"Bearer s3cretx"));
        assert!(!t.matches_header(b"Basic s3cret"));
        assert!(!t.matches_header(b""));
        assert!(TransferToken::new("").is_err());
        assert!(TransferToken::new("a b").is_err());
        assert_eq!(format!("{t:?}"), "TransferToken(<redacted>)");
    }
}
