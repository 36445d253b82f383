//! What a trustless gateway request asks for: the response format (from
//! `format` or `Accept`), the DAG scope, the byte range and the content path.
//!
//! ```text
//!  format=raw|car  ─┐ (format wins over Accept)
//!  Accept: …      ─┴▶ ResponseFormat ─┐
//!  dag-scope=…, entity-bytes=…        ├▶ GatewayRequest
//!  /ipfs/{cid}/a/b  ─▶ ["a", "b"]     ─┘
//! ```
//!
//! This gateway serves raw blocks and CARv1 in `order=dfs; dups=n`; a request
//! for anything else is refused with the reason, as 400 (malformed or
//! unsupported parameter) or 406 (no acceptable media type).

mod accept;
mod entity_bytes;
mod path;

use std::fmt;

use percent_encoding::percent_decode_str;

pub use entity_bytes::{EntityBytes, RangeEnd};
pub use path::parse_content_path;

/// The two trustless response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// One block, `application/vnd.ipld.raw`.
    Raw,
    /// A CARv1 stream, `application/vnd.ipld.car; version=1; order=dfs; dups=n`.
    Car,
}

/// Which blocks of the entity at the end of the path a CAR carries
/// (`dag-scope`), after the blocks that prove the path. Default: `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DagScope {
    /// The terminal block alone.
    Block,
    /// What it takes to read the terminal entity: a whole UnixFS file, a
    /// directory's own block(s); the block for anything else.
    Entity,
    /// Everything reachable from the terminal block.
    #[default]
    All,
}

impl DagScope {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            DagScope::Block => "block",
            DagScope::Entity => "entity",
            DagScope::All => "all",
        }
    }
}

impl fmt::Display for DagScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed trustless gateway request for `/ipfs/{cid}[/{path}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRequest {
    /// Raw block or CAR.
    pub format: ResponseFormat,
    /// The DAG scope; [`DagScope::Entity`] whenever `entity_bytes` is set.
    pub scope: DagScope,
    /// The byte range of a UnixFS file to cover, if asked.
    pub entity_bytes: Option<EntityBytes>,
    /// The content path after the CID, percent-decoded, one entry per segment.
    pub path: Vec<String>,
    /// Whether the URL named the format (`?format=`); if not, the answer
    /// varies with `Accept` alone.
    pub format_in_query: bool,
}

/// Why a request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Neither `format` nor `Accept` asks for a raw block or a CAR; this
    /// gateway serves nothing deserialized.
    #[error(
        "no trustless response type requested: use ?format=raw|car or Accept: application/vnd.ipld.raw|application/vnd.ipld.car"
    )]
    NoTrustlessFormat,
    /// `format` names a type this gateway does not serve.
    #[error("format={0:?} is not served here: use raw or car")]
    UnsupportedFormat(String),
    /// `Accept` lists raw or CAR types, but none with parameters (or a
    /// q-value) that can be served.
    #[error("Accept {accept:?} is not acceptable: {reason}")]
    NotAcceptable {
        /// The header as received.
        accept: String,
        /// Why each trustless entry was refused.
        reason: String,
    },
    /// A CAR parameter (`car-version`, `car-order`, `car-dups`, or the same in
    /// `Accept` with `format=car`) asks for a variant not served here.
    #[error("CAR {param}={value:?} is not served here: only version=1, order=dfs or unk, dups=n")]
    UnsupportedCarVariant {
        /// The parameter name.
        param: &'static str,
        /// Its value.
        value: String,
    },
    /// `dag-scope` is not `block`, `entity` or `all`.
    #[error("dag-scope={0:?} is invalid: use block, entity or all")]
    InvalidDagScope(String),
    /// `entity-bytes` does not parse, or is an empty range.
    #[error("entity-bytes={value:?} is invalid: {reason}")]
    InvalidEntityBytes {
        /// The value as received.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `entity-bytes` implies `dag-scope=entity`, but another scope was named.
    #[error("entity-bytes needs dag-scope=entity, not dag-scope={0}")]
    ScopeConflict(DagScope),
    /// A CAR-only parameter came with a raw block request.
    #[error("{0} applies to CAR responses only")]
    CarOnlyParameter(&'static str),
    /// A raw block request named a path; raw blocks are served by CID alone.
    #[error("raw block requests take no content path")]
    PathOnRawBlock,
    /// A recognised query parameter appeared twice.
    #[error("query parameter {0} given more than once")]
    DuplicateParameter(String),
    /// A query parameter is not valid percent-encoded UTF-8.
    #[error("query parameter {0:?} is not valid UTF-8")]
    InvalidQuery(String),
    /// A content path segment is empty, `.`, `..`, holds an encoded slash or
    /// is not UTF-8.
    #[error("content path segment {segment:?} is invalid: {reason}")]
    InvalidPath {
        /// The segment as received (still percent-encoded).
        segment: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl RequestError {
    /// The HTTP status to answer with: 406 when content negotiation found
    /// nothing acceptable, else 400.
    pub fn http_status(&self) -> u16 {
        match self {
            RequestError::NotAcceptable { .. } => 406,
            _ => 400,
        }
    }
}

/// Parses a request from its `Accept` header, raw query string (without the
/// `?`) and the raw URL path after the CID (`""`, `"/"` or `"/a/b"`).
///
/// Unknown query parameters (`filename`, `download`, …) are ignored.
pub fn parse_request(
    accept: Option<&str>,
    query: &str,
    path_after_cid: &str,
) -> Result<GatewayRequest, RequestError> {
    let q = Query::parse(query)?;
    let (format, format_in_query) = match q.format.as_deref() {
        Some("raw") => (ResponseFormat::Raw, true),
        Some("car") => (ResponseFormat::Car, true),
        Some(other) => return Err(RequestError::UnsupportedFormat(other.to_owned())),
        None => (accept::negotiate(accept)?, false),
    };
    let path = parse_content_path(path_after_cid)?;
    match format {
        ResponseFormat::Raw => raw_request(&q, path, format_in_query),
        ResponseFormat::Car => car_request(&q, accept, path, format_in_query),
    }
}

fn raw_request(
    q: &Query,
    path: Vec<String>,
    format_in_query: bool,
) -> Result<GatewayRequest, RequestError> {
    if !path.is_empty() {
        return Err(RequestError::PathOnRawBlock);
    }
    for (name, set) in [
        ("dag-scope", q.dag_scope.is_some()),
        ("entity-bytes", q.entity_bytes.is_some()),
        ("car-version", q.car_version.is_some()),
        ("car-order", q.car_order.is_some()),
        ("car-dups", q.car_dups.is_some()),
    ] {
        if set {
            return Err(RequestError::CarOnlyParameter(name));
        }
    }
    Ok(GatewayRequest {
        format: ResponseFormat::Raw,
        scope: DagScope::Block,
        entity_bytes: None,
        path,
        format_in_query,
    })
}

fn car_request(
    q: &Query,
    accept: Option<&str>,
    path: Vec<String>,
    format_in_query: bool,
) -> Result<GatewayRequest, RequestError> {
    // The query's car-* parameters win over those in Accept.
    let from_accept = accept::car_params(accept);
    let pick = |query: &Option<String>, header: Option<String>| query.clone().or(header);
    accept::check_car_variant(
        pick(&q.car_version, from_accept.version).as_deref(),
        pick(&q.car_order, from_accept.order).as_deref(),
        pick(&q.car_dups, from_accept.dups).as_deref(),
    )?;
    let named_scope = match q.dag_scope.as_deref() {
        None => None,
        Some("block") => Some(DagScope::Block),
        Some("entity") => Some(DagScope::Entity),
        Some("all") => Some(DagScope::All),
        Some(other) => return Err(RequestError::InvalidDagScope(other.to_owned())),
    };
    let entity_bytes = q
        .entity_bytes
        .as_deref()
        .map(EntityBytes::parse)
        .transpose()?;
    let scope = match (named_scope, entity_bytes) {
        (Some(s), Some(_)) if s != DagScope::Entity => return Err(RequestError::ScopeConflict(s)),
        (_, Some(_)) => DagScope::Entity,
        (s, None) => s.unwrap_or_default(),
    };
    Ok(GatewayRequest {
        format: ResponseFormat::Car,
        scope,
        entity_bytes,
        path,
        format_in_query,
    })
}

/// The query parameters this gateway reads, each at most once.
#[derive(Debug, Default)]
struct Query {
    format: Option<String>,
    dag_scope: Option<String>,
    entity_bytes: Option<String>,
    car_version: Option<String>,
    car_order: Option<String>,
    car_dups: Option<String>,
}

impl Query {
    fn parse(query: &str) -> Result<Self, RequestError> {
        let mut q = Query::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key)?;
            let slot = match key.as_str() {
                "format" => &mut q.format,
                "dag-scope" => &mut q.dag_scope,
                "entity-bytes" => &mut q.entity_bytes,
                "car-version" => &mut q.car_version,
                "car-order" => &mut q.car_order,
                "car-dups" => &mut q.car_dups,
                _ => continue,
            };
            if slot.is_some() {
                return Err(RequestError::DuplicateParameter(key));
            }
            *slot = Some(decode(value)?);
        }
        Ok(q)
    }
}

/// Decodes one query component (`+` is a space there).
fn decode(raw: &str) -> Result<String, RequestError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| RequestError::InvalidQuery(raw.to_owned()))
}

#[cfg(test)]
mod tests;
