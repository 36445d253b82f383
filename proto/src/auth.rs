//! The token every worker ↔ node call carries: `authorization: Bearer <token>`.
//!
//! The node wraps its service with [`RequireToken`] (an interceptor that
//! answers `Unauthenticated` to a call without the right token, before the
//! handler runs), and a worker wraps its channel with [`AttachToken`]. Both
//! come from one [`BearerToken`], whose `Debug` never prints the secret.

use std::fmt;
use std::sync::Arc;

use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::ProtoError;

/// The metadata key (HTTP/2 header) that carries the token.
pub const AUTHORIZATION: &str = "authorization";

/// Longest token accepted.
const MAX_TOKEN_BYTES: usize = 1024;

/// The shared secret of a node and its workers.
#[derive(Clone)]
pub struct BearerToken {
    secret: Arc<str>,
    /// `Bearer <secret>`, marked sensitive so that tonic and hyper leave it
    /// out of their logs.
    header: AsciiMetadataValue,
}

impl BearerToken {
    /// A token: 1 to 1024 printable ASCII characters without spaces (what
    /// fits in a header unchanged). The error names the field `token`.
    pub fn new(secret: impl Into<String>) -> Result<Self, ProtoError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(ProtoError::invalid("token", "empty"));
        }
        if secret.len() > MAX_TOKEN_BYTES {
            return Err(ProtoError::invalid(
                "token",
                format!("{} bytes; at most {MAX_TOKEN_BYTES}", secret.len()),
            ));
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ProtoError::invalid(
                "token",
                "only printable ASCII without spaces",
            ));
        }
        let mut header = AsciiMetadataValue::try_from(format!("Bearer {secret}"))
            .map_err(|e| ProtoError::invalid("token", e))?;
        header.set_sensitive(true);
        Ok(Self {
            secret: secret.into(),
            header,
        })
    }

    /// Checks that `metadata` carries this token, comparing in time that
    /// does not depend on the token's contents. `Unauthenticated` otherwise.
    pub fn verify(&self, metadata: &MetadataMap) -> Result<(), Status> {
        let value = metadata.get(AUTHORIZATION).ok_or_else(|| {
            Status::unauthenticated("missing `authorization: Bearer <token>` metadata")
        })?;
        let presented = strip_bearer(value.as_bytes())
            .ok_or_else(|| Status::unauthenticated("authorization is not a Bearer token"))?;
        if constant_time_eq(presented, self.secret.as_bytes()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("wrong token"))
        }
    }

    /// Whether an HTTP `Authorization` header value carries this token
    /// (`Bearer <token>`), compared in constant time: for the node's HTTP
    /// routes that workers call.
    pub fn matches_header(&self, value: &[u8]) -> bool {
        strip_bearer(value).is_some_and(|t| constant_time_eq(t, self.secret.as_bytes()))
    }

    /// The `Authorization` header value for an HTTP request to the node.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.secret)
    }

    /// The server-side interceptor that checks this token.
    pub fn require(&self) -> RequireToken {
        RequireToken(self.clone())
    }

    /// The client-side interceptor that adds this token.
    pub fn attach(&self) -> AttachToken {
        AttachToken(self.clone())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// `token` out of `Bearer token` (the scheme is case-insensitive, RFC 7235).
fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let (scheme, rest) = value.split_at_checked(SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    Some(rest.trim_ascii())
}

/// Whether `presented == expected`, in time that depends on the lengths
/// only, never on which byte differs first.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    for (i, p) in presented.iter().enumerate() {
        diff |= p ^ expected.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

/// Server side: refuses a call without the token with `Unauthenticated`.
/// Wraps the generated server (see [`crate::server`]).
#[derive(Debug, Clone)]
pub struct RequireToken(BearerToken);

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.0.verify(request.metadata())?;
        Ok(request)
    }
}

/// Client side: adds the token to every call (see [`crate::client`]).
#[derive(Debug, Clone)]
pub struct AttachToken(BearerToken);

impl Interceptor for AttachToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(AUTHORIZATION, self.0.header.clone());
        Ok(request)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(!constant_time_eq(b"secretsecret", b"secret"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(strip_bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(strip_bearer(b"bearer abc"), Some(&b"abc"[..]));
        assert_eq!(strip_bearer(b"Basic abc"), None);
        assert_eq!(strip_bearer(b"Bear"), None);
    }

    #[test]
    fn tokens_must_fit_a_header_and_never_print() {
        assert!(BearerToken::new("").is_err());
        assert!(BearerToken::new("a b").is_err());
        assert!(BearerToken::new("é").is_err());
        let t = BearerToken::new("s3cr3t").unwrap();
        assert_eq!(format!("{t:?}"), "BearerToken(<redacted>)");
    }
}
