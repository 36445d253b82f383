//! `entity-bytes=from:to`: a verifiable byte range of a UnixFS file.
//!
//! Both ends are inclusive byte offsets; `to` may be `*` (the end of the
//! file); a negative value counts back from the end (`-1` is the last byte).
//! A range that reaches past the file is clamped to it; one that misses it
//! entirely resolves to nothing, and the walk then sends the file's root
//! block alone.

use std::fmt;

use super::RequestError;

/// Where an `entity-bytes` range ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    /// `*`: the last byte of the entity.
    End,
    /// An inclusive offset; negative counts back from the end.
    At(i64),
}

/// A parsed `entity-bytes=from:to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityBytes {
    /// The first byte; negative counts back from the end.
    pub from: i64,
    /// The last byte.
    pub to: RangeEnd,
}

impl EntityBytes {
    /// Parses `from:to`. Refused: a missing part, `*` as `from`, a value
    /// that is not a 64-bit integer, and a range that is empty whatever the
    /// entity's size (`to` before `from`, both counted from the same end).
    pub fn parse(value: &str) -> Result<Self, RequestError> {
        let invalid = |reason| RequestError::InvalidEntityBytes {
            value: value.to_owned(),
            reason,
        };
        let (from, to) = value
            .split_once(':')
            .ok_or_else(|| invalid("expected from:to"))?;
        if from == "*" {
            return Err(invalid("from cannot be *"));
        }
        let from: i64 = parse_offset(from).ok_or_else(|| invalid("from is not an integer"))?;
        let to = match to {
            "*" => RangeEnd::End,
            t => RangeEnd::At(parse_offset(t).ok_or_else(|| invalid("to is not an integer or *"))?),
        };
        if let RangeEnd::At(to) = to
            && (from >= 0) == (to >= 0)
            && to < from
        {
            return Err(invalid("to is before from"));
        }
        Ok(Self { from, to })
    }

    /// The inclusive byte span this range covers in an entity of `size`
    /// bytes, clamped to it; `None` when it covers no byte.
    pub fn resolve(&self, size: u64) -> Option<(u64, u64)> {
        let size = i128::from(size);
        let at = |offset: i64| {
            let offset = i128::from(offset);
            if offset < 0 { size + offset } else { offset }
        };
        let first = at(self.from).max(0);
        let last = match self.to {
            RangeEnd::End => size - 1,
            RangeEnd::At(to) => at(to).min(size - 1),
        };
        if first > last || first >= size {
            return None;
        }
        Some((u64::try_from(first).ok()?, u64::try_from(last).ok()?))
    }
}

/// A decimal integer with an optional leading `-` (no `+`, no spaces).
fn parse_offset(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for EntityBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            RangeEnd::End => write!(f, "{}:*", self.from),
            RangeEnd::At(to) => write!(f, "{}:{to}", self.from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: i64, to: RangeEnd) -> EntityBytes {
        EntityBytes { from, to }
    }

    #[test]
    fn parses_the_spec_examples() {
        assert_eq!(EntityBytes::parse("0:*"), Ok(range(0, RangeEnd::End)));
        assert_eq!(
            EntityBytes::parse("-1024:*"),
            Ok(range(-1024, RangeEnd::End))
        );
        assert_eq!(
            EntityBytes::parse("499:-1000"),
            Ok(range(499, RangeEnd::At(-1000)))
        );
        assert_eq!(EntityBytes::parse("0:0"), Ok(range(0, RangeEnd::At(0))));
        assert_eq!(
            EntityBytes::parse("499:-1000").unwrap().to_string(),
            "499:-1000"
        );
    }

    #[test]
    fn each_malformed_value_has_its_reason() {
        for (value, reason) in [
            ("", "expected from:to"),
            ("10", "expected from:to"),
            ("*:10", "from cannot be *"),
            (":10", "from is not an integer"),
            ("a:10", "from is not an integer"),
            ("+1:10", "from is not an integer"),
            ("1.5:10", "from is not an integer"),
            ("99999999999999999999:*", "from is not an integer"),
            ("0:", "to is not an integer or *"),
            ("0:x", "to is not an integer or *"),
            ("0:--1", "to is not an integer or *"),
            ("10:5", "to is before from"),
            ("-5:-10", "to is before from"),
        ] {
            let err = EntityBytes::parse(value).unwrap_err();
            assert_eq!(
                err,
                RequestError::InvalidEntityBytes {
                    value: value.to_owned(),
                    reason
                },
                "{value:?}"
            );
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn mixed_signs_are_left_to_the_entity_size() {
        // 500 bytes in from the start to 1000 from the end: fine for a big file
        assert!(EntityBytes::parse("499:-1000").is_ok());
        assert!(EntityBytes::parse("-10:5").is_ok());
    }

    #[test]
    fn resolves_against_the_size_with_clamping() {
        let r = |v: &str| EntityBytes::parse(v).unwrap();
        assert_eq!(r("0:*").resolve(40), Some((0, 39)));
        assert_eq!(r("0:0").resolve(40), Some((0, 0)));
        assert_eq!(r("15:24").resolve(40), Some((15, 24)));
        assert_eq!(r("-5:*").resolve(40), Some((35, 39)));
        assert_eq!(
            r("-100:4").resolve(40),
            Some((0, 4)),
            "from before the start is clamped"
        );
        assert_eq!(
            r("35:1000").resolve(40),
            Some((35, 39)),
            "to past the end is clamped"
        );
        assert_eq!(r("10:-11").resolve(40), Some((10, 29)));
        assert_eq!(r("-1:-1").resolve(40), Some((39, 39)));
        assert_eq!(r("40:50").resolve(40), None, "starts at the end");
        assert_eq!(r("100:200").resolve(40), None);
        assert_eq!(r("30:-20").resolve(40), None, "crosses over");
        assert_eq!(r("0:*").resolve(0), None, "an empty file has no bytes");
    }
}
