//! The content path after the CID in `/ipfs/{cid}/a/b`.

use percent_encoding::percent_decode_str;

use super::RequestError;

/// Splits the raw (still percent-encoded) URL path after the CID into
/// decoded segments: `""` and `"/"` give none, `"/a/b"` and `"/a/b/"` give
/// `["a", "b"]`.
///
/// Refused, each with its reason: a path not starting with `/`, an empty
/// segment (`//`), `.` and `..` (also when encoded), a segment holding an
/// encoded `/` or NUL, and one that does not decode as UTF-8.
pub fn parse_content_path(raw: &str) -> Result<Vec<String>, RequestError> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(invalid(raw, "the path must start with /"));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    // One trailing slash names a directory; it adds no segment.
    let rest = match rest.strip_suffix('/') {
        Some("") => return Err(invalid("", "empty segment")),
        Some(r) => r,
        None => rest,
    };
    rest.split('/').map(segment).collect()
}

fn segment(raw: &str) -> Result<String, RequestError> {
    if raw.is_empty() {
        return Err(invalid(raw, "empty segment"));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid(raw, "not UTF-8 once decoded"))?;
    match decoded.as_ref() {
        "." | ".." => Err(invalid(raw, "relative segments are not allowed")),
        s if s.contains('/') => Err(invalid(raw, "encoded slash")),
        s if s.contains('\0') => Err(invalid(raw, "NUL byte")),
        s => Ok(s.to_owned()),
    }
}

fn invalid(segment: &str, reason: &'static str) -> RequestError {
    RequestError::InvalidPath {
        segment: segment.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_split_and_decoded() {
        assert_eq!(parse_content_path(""), Ok(vec![]));
        assert_eq!(parse_content_path("/"), Ok(vec![]));
        assert_eq!(parse_content_path("/a/b"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(
            parse_content_path("/a/b/"),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_content_path("/hello%20world/%D1%82%D0%B5%D1%81%D1%82.txt"),
            Ok(vec!["hello world".into(), "тест.txt".into()])
        );
        assert_eq!(
            parse_content_path("/a+b"),
            Ok(vec!["a+b".into()]),
            "+ is literal in paths"
        );
    }

    #[test]
    fn each_bad_segment_is_refused_with_its_reason() {
        for (path, segment, reason) in [
            ("a/b", "a/b", "the path must start with /"),
            ("/a//b", "", "empty segment"),
            ("//", "", "empty segment"),
            ("/a/./b", ".", "relative segments are not allowed"),
            ("/a/../b", "..", "relative segments are not allowed"),
            ("/%2E%2e", "%2E%2e", "relative segments are not allowed"),
            ("/a%2Fb", "a%2Fb", "encoded slash"),
            ("/a%00", "a%00", "NUL byte"),
            ("/%FF", "%FF", "not UTF-8 once decoded"),
        ] {
            assert_eq!(
                parse_content_path(path),
                Err(RequestError::InvalidPath {
                    segment: segment.to_owned(),
                    reason
                }),
                "{path:?}"
            );
        }
    }
}
