//! The response headers of a raw block or CAR answer, as the path and
//! trustless gateway specs ask for them.

use std::fmt::Write as _;

use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::request::{GatewayRequest, ResponseFormat};

/// What a path segment keeps encoded in `X-Ipfs-Path`: controls, space and
/// the characters that would end or confuse a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Immutable `/ipfs/` content: cacheable for a year (the path gateway spec's
/// MUST).
const IMMUTABLE: &str = "public, max-age=29030400, immutable";

/// The headers for answering `request` for `root` (the CID in the URL).
///
/// - `Content-Type`: `application/vnd.ipld.raw`, or
///   `application/vnd.ipld.car; version=1; order=dfs; dups=n`: every CAR
///   parameter this gateway knows, as the spec requires.
/// - `Content-Disposition: attachment; filename="{cid}.bin|.car"`,
///   `X-Content-Type-Options: nosniff`: binary, never rendered.
/// - `Etag`: strong, since the output is deterministic: `"{cid}.raw"`, or
///   `"{cid}.car.{scope}.{digest}"` where the digest (16 hex digits of
///   sha2-256) covers the path, the scope, `entity-bytes` and the CAR
///   variant, so that each distinct CAR has its own tag.
/// - `Cache-Control` for immutable content, `Vary: Accept`.
/// - `X-Ipfs-Path` (the requested content path, segments re-encoded);
///   `X-Ipfs-Roots` only without a path, since the CIDs along a path are not
///   known before the walk (the spec allows leaving it out then).
pub fn response_headers(root: &Cid, request: &GatewayRequest) -> Vec<(&'static str, String)> {
    let (content_type, extension, etag) = match request.format {
        ResponseFormat::Raw => (
            "application/vnd.ipld.raw".to_owned(),
            "bin",
            format!("\"{root}.raw\""),
        ),
        ResponseFormat::Car => (
            "application/vnd.ipld.car; version=1; order=dfs; dups=n".to_owned(),
            "car",
            car_etag(root, request),
        ),
    };
    let mut headers = vec![
        ("Content-Type", content_type),
        (
            "Content-Disposition",
            format!("attachment; filename=\"{root}.{extension}\""),
        ),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Etag", etag),
        ("Cache-Control", IMMUTABLE.to_owned()),
        ("Vary", "Accept".to_owned()),
        ("X-Ipfs-Path", content_path(root, &request.path)),
    ];
    if request.path.is_empty() {
        headers.push(("X-Ipfs-Roots", root.to_string()));
    }
    headers
}

fn content_path(root: &Cid, path: &[String]) -> String {
    let mut out = format!("/ipfs/{root}");
    for segment in path {
        let _ = write!(out, "/{}", utf8_percent_encode(segment, SEGMENT));
    }
    out
}

fn car_etag(root: &Cid, request: &GatewayRequest) -> String {
    // Length-prefixed segments, so that ["a/b"] and ["a", "b"] differ.
    let mut key = String::from("car;version=1;order=dfs;dups=n;path=");
    for segment in &request.path {
        let _ = write!(key, "{}:{segment}", segment.len());
    }
    let _ = write!(key, ";scope={}", request.scope);
    if let Some(range) = &request.entity_bytes {
        let _ = write!(key, ";entity-bytes={range}");
    }
    let digest = Code::Sha2_256.digest(key.as_bytes());
    let hex: String = digest.digest()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{root}.car.{}.{hex}\"", request.scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::parse_request;

    const CID: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

    fn headers(query: &str, path: &str) -> Vec<(&'static str, String)> {
        let root: Cid = CID.parse().unwrap();
        response_headers(&root, &parse_request(None, query, path).unwrap())
    }

    fn header(headers: &[(&'static str, String)], name: &str) -> Option<String> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn a_car_answer_has_every_required_header() {
        let h = headers("format=car", "");
        let get = |name| header(&h, name);
        assert_eq!(
            get("Content-Type").as_deref(),
            Some("application/vnd.ipld.car; version=1; order=dfs; dups=n")
        );
        assert_eq!(
            get("Content-Disposition"),
            Some(format!("attachment; filename=\"{CID}.car\""))
        );
        assert_eq!(get("X-Content-Type-Options").as_deref(), Some("nosniff"));
        assert_eq!(
            get("Cache-Control").as_deref(),
            Some("public, max-age=29030400, immutable")
        );
        assert_eq!(get("Vary").as_deref(), Some("Accept"));
        assert_eq!(get("X-Ipfs-Path"), Some(format!("/ipfs/{CID}")));
        assert_eq!(get("X-Ipfs-Roots").as_deref(), Some(CID));
        let etag = get("Etag").unwrap();
        assert!(
            etag.starts_with(&format!("\"{CID}.car.all.")) && etag.ends_with('"'),
            "{etag}"
        );
        assert!(
            etag[1..etag.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"')
        );
    }

    #[test]
    fn a_raw_answer_is_a_bin_attachment() {
        let h = headers("format=raw", "");
        assert_eq!(
            header(&h, "Content-Type").as_deref(),
            Some("application/vnd.ipld.raw")
        );
        assert_eq!(
            header(&h, "Content-Disposition"),
            Some(format!("attachment; filename=\"{CID}.bin\""))
        );
        assert_eq!(header(&h, "Etag"), Some(format!("\"{CID}.raw\"")));
        assert_eq!(
            header(&h, "X-Content-Type-Options").as_deref(),
            Some("nosniff")
        );
    }

    #[test]
    fn each_distinct_car_has_its_own_etag() {
        let etag = |query: &str, path: &str| header(&headers(query, path), "Etag").unwrap();
        let tags = [
            etag("format=car", ""),
            etag("format=car&dag-scope=entity", ""),
            etag("format=car&dag-scope=block", ""),
            etag("format=car&entity-bytes=0:99", ""),
            etag("format=car&entity-bytes=0:*", ""),
            etag("format=car", "/a/b"),
            etag("format=car", "/ab"),
        ];
        let mut unique = tags.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tags.len(), "{tags:?}");
        assert!(
            tags[1].contains(".car.entity."),
            "the scope is readable in the tag"
        );
        assert_eq!(
            etag("format=car", "/a/b/"),
            tags[5],
            "a trailing slash is the same CAR"
        );

        // segments are delimited in the digest: one segment "a/b" is not "a", "b"
        let root: Cid = CID.parse().unwrap();
        let mut request = parse_request(None, "format=car", "/a/b").unwrap();
        let two = header(&response_headers(&root, &request), "Etag");
        request.path = vec!["a/b".to_owned()];
        let one = header(&response_headers(&root, &request), "Etag");
        assert_ne!(one, two);
    }

    #[test]
    fn a_path_is_echoed_encoded_and_drops_the_roots_header() {
        let h = headers("format=car", "/docs/hello%20world.txt");
        assert_eq!(
            header(&h, "X-Ipfs-Path"),
            Some(format!("/ipfs/{CID}/docs/hello%20world.txt"))
        );
        assert_eq!(header(&h, "X-Ipfs-Roots"), None);
    }
}
