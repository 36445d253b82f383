//! The value encoding: one format byte, then the value as CBOR.
//!
//! The format byte lets a later release change the encoding and still read
//! what an earlier one wrote. A value with an unknown format byte is an error,
//! never a silent misread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;

/// The format byte this release writes: CBOR via ciborium.
pub const FORMAT_CBOR_V1: u8 = 1;

/// Encodes `value` for `table`.
pub fn encode<V: Serialize>(table: &str, value: &V) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![FORMAT_CBOR_V1];
    ciborium::into_writer(value, &mut out).map_err(|e| StoreError::Encode {
        table: table.to_string(),
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes a value of `table` written by [`encode`].
pub fn decode<V: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<V, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_CBOR_V1, body)) => {
            ciborium::from_reader(body).map_err(|e| StoreError::Decode {
                table: table.to_string(),
                reason: e.to_string(),
            })
        }
        Some((other, _)) => Err(StoreError::Decode {
            table: table.to_string(),
            reason: format!(
                "unknown value format {other} (this release reads format {FORMAT_CBOR_V1})"
            ),
        }),
        None => Err(StoreError::Decode {
            table: table.to_string(),
            reason: "empty value".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format_byte() {
        let bytes = encode("t", &(7u64, "x".to_string(), vec![1u8, 2, 3])).unwrap();
        assert_eq!(bytes[0], FORMAT_CBOR_V1);
        let back: (u64, String, Vec<u8>) = decode("t", &bytes).unwrap();
        assert_eq!(back, (7, "x".to_string(), vec![1, 2, 3]));
    }

    #[test]
    fn unknown_format_and_garbage_are_errors() {
        let mut bytes = encode("t", &5u32).unwrap();
        bytes[0] = 9;
        let err = decode::<u32>("t", &bytes).unwrap_err();
        assert!(err.to_string().contains("unknown value format 9"), "{err}");
        assert!(decode::<u32>("t", &[]).is_err());
        assert!(decode::<String>("t", &[FORMAT_CBOR_V1, 0xff, 0x00]).is_err());
    }
}
