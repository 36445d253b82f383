//! What a `Range` header asks of a representation of known length (RFC 9110
//! §14), decided before any byte is read.
//!
//! - no header, or one that does not parse: the whole representation (the
//!   RFC lets a server ignore a Range it does not understand);
//! - one satisfiable range: 206 with `Content-Range`;
//! - several: 206 `multipart/byteranges`, one part per range, in the order
//!   asked. Overlapping ranges, or more than [`MAX_RANGES`], are answered
//!   with the whole representation instead, as §14.2 allows a server to do
//!   against such requests;
//! - a range that starts past the end: 416 with `Content-Range: bytes */len`.
//!
//! Parsing and validation are the `http-range-header` crate's.

use std::ops::RangeInclusive;

use http_range_header::RangeUnsatisfiableError;

/// The most ranges answered part by part.
pub const MAX_RANGES: usize = 16;

/// The answer a Range header gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// 200, the whole representation.
    Full,
    /// 206, one range (inclusive byte positions).
    Single(RangeInclusive<u64>),
    /// 206 multipart/byteranges.
    Multi(Vec<RangeInclusive<u64>>),
    /// 416.
    Unsatisfiable,
}

/// The plan for `header` (the Range header's value) over `len` bytes.
pub fn plan(header: Option<&str>, len: u64) -> RangePlan {
    let Some(header) = header else {
        return RangePlan::Full;
    };
    let Ok(parsed) = http_range_header::parse_range_header(header) else {
        return RangePlan::Full;
    };
    match parsed.validate(len) {
        // Nothing can be satisfied in an empty representation.
        Ok(_) if len == 0 => RangePlan::Unsatisfiable,
        Ok(mut ranges) if ranges.len() == 1 => match ranges.pop() {
            Some(r) => RangePlan::Single(r),
            None => RangePlan::Full,
        },
        Ok(ranges) if ranges.len() <= MAX_RANGES => RangePlan::Multi(ranges),
        Ok(_) => RangePlan::Full,
        Err(RangeUnsatisfiableError::OverlappingRanges) => RangePlan::Full,
        // A suffix longer than the representation means all of it.
        Err(RangeUnsatisfiableError::FileSuffixOutOfBounds) if len > 0 => {
            RangePlan::Single(0..=len - 1)
        }
        Err(_) => RangePlan::Unsatisfiable,
    }
}

/// The `Content-Range` value of a part.
pub fn content_range(r: &RangeInclusive<u64>, len: u64) -> String {
    format!("bytes {}-{}/{len}", r.start(), r.end())
}

/// The length of an inclusive range.
pub fn range_len(r: &RangeInclusive<u64>) -> u64 {
    r.end() - r.start() + 1
}

/// A multipart/byteranges body's framing: what comes before each part's
/// bytes, and what ends the body.
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    content_type: &'static str,
    len: u64,
}

impl Multipart {
    /// The framing for parts of a `content_type` representation of `len` bytes.
    pub fn new(boundary: String, content_type: &'static str, len: u64) -> Self {
        Self {
            boundary,
            content_type,
            len,
        }
    }

    /// The response's Content-Type.
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// What precedes `r`'s bytes.
    pub fn part_head(&self, r: &RangeInclusive<u64>) -> String {
        format!(
            "\r\n--{}\r\nContent-Type: {}\r\nContent-Range: {}\r\n\r\n",
            self.boundary,
            self.content_type,
            content_range(r, self.len)
        )
    }

    /// What ends the body.
    pub fn tail(&self) -> String {
        format!("\r\n--{}--\r\n", self.boundary)
    }

    /// The whole body's length, for Content-Length.
    pub fn body_len(&self, ranges: &[RangeInclusive<u64>]) -> u64 {
        ranges
            .iter()
            .map(|r| self.part_head(r).len() as u64 + range_len(r))
            .sum::<u64>()
            + self.tail().len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_rfc_9110() {
        assert_eq!(plan(None, 100), RangePlan::Full);
        assert_eq!(plan(Some("bytes=0-9"), 100), RangePlan::Single(0..=9));
        assert_eq!(plan(Some("bytes=90-"), 100), RangePlan::Single(90..=99));
        assert_eq!(plan(Some("bytes=-10"), 100), RangePlan::Single(90..=99));
        assert_eq!(plan(Some("bytes=-500"), 100), RangePlan::Single(0..=99));
        // An end past the last byte is cut to it.
        assert_eq!(plan(Some("bytes=50-1000"), 100), RangePlan::Single(50..=99));
        assert_eq!(plan(Some("bytes=100-"), 100), RangePlan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=200-300"), 100), RangePlan::Unsatisfiable);
        assert_eq!(plan(Some("bytes=0-0"), 0), RangePlan::Unsatisfiable);
        assert_eq!(
            plan(Some("bytes=0-1,5-6"), 100),
            RangePlan::Multi(vec![0..=1, 5..=6])
        );
        assert_eq!(plan(Some("bytes=0-10,5-6"), 100), RangePlan::Full);
        // Garbage is ignored, as the RFC allows.
        assert_eq!(plan(Some("lines=1-2"), 100), RangePlan::Full);
        assert_eq!(plan(Some("bytes=x-y"), 100), RangePlan::Full);
        let many = (0..20)
            .map(|i| format!("{}-{}", i * 2, i * 2))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(plan(Some(&format!("bytes={many}")), 100), RangePlan::Full);
    }

    #[test]
    fn multipart_length_is_what_is_written() {
        let m = Multipart::new("b0undary".into(), "application/octet-stream", 100);
        let ranges = vec![0..=1, 10..=19];
        let mut body = String::new();
        for r in &ranges {
            body.push_str(&m.part_head(r));
            body.push_str(&"x".repeat(range_len(r) as usize));
        }
        body.push_str(&m.tail());
        assert_eq!(m.body_len(&ranges), body.len() as u64);
        assert!(
            m.part_head(&ranges[1])
                .contains("Content-Range: bytes 10-19/100")
        );
        assert_eq!(m.content_type(), "multipart/byteranges; boundary=b0undary");
    }
}
