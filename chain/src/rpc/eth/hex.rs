//! Ethereum JSON-RPC's encodings: quantities (`0x`, lowercase hex, no
//! leading zeros, zero is `0x0`) and data (`0x`, two digits a byte).

use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use serde_json::Value;

use super::EthError;

/// A quantity.
pub fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// An amount in attoFIL as a quantity.
pub fn amount(t: &TokenAmount) -> String {
    big(t.atto())
}

/// A big integer (not negative) as a quantity.
pub fn big(n: &BigInt) -> String {
    format!("0x{}", n.to_str_radix(16))
}

/// Bytes as data.
pub fn data(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// A quantity parameter: a hex string (or, as Lotus also takes, a number).
pub fn parse_quantity(v: &Value, what: &str) -> Result<u64, EthError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| EthError::params(format!("{what}: {n} is not a u64"))),
        Value::String(s) => {
            let digits = s
                .strip_prefix("0x")
                .ok_or_else(|| EthError::params(format!("{what}: {s:?} does not start with 0x")))?;
            u64::from_str_radix(digits, 16)
                .map_err(|e| EthError::params(format!("{what}: {s:?}: {e}")))
        }
        v => Err(EthError::params(format!("{what}: {v} is not a quantity"))),
    }
}

/// An amount parameter (up to 256 bits).
pub fn parse_amount(s: &str, what: &str) -> Result<TokenAmount, EthError> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| EthError::params(format!("{what}: {s:?} does not start with 0x")))?;
    if digits.len() > 64 {
        return Err(EthError::params(format!("{what}: {s:?} exceeds 256 bits")));
    }
    BigInt::parse_bytes(
        if digits.is_empty() {
            b"0"
        } else {
            digits.as_bytes()
        },
        16,
    )
    .map(TokenAmount::from_atto)
    .ok_or_else(|| EthError::params(format!("{what}: {s:?} is not hex")))
}

/// A data parameter; an odd number of digits reads with a leading zero,
/// as Lotus reads it (`0x0` is one zero byte).
pub fn parse_data(s: &str, what: &str) -> Result<Vec<u8>, EthError> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| EthError::params(format!("{what}: {s:?} does not start with 0x")))?;
    let padded;
    let digits = if digits.len() % 2 == 1 {
        padded = format!("0{digits}");
        &padded
    } else {
        digits
    };
    hex::decode(digits).map_err(|e| EthError::params(format!("{what}: {e}")))
}

/// A 32-byte hash parameter.
pub fn parse_hash(s: &str, what: &str) -> Result<[u8; 32], EthError> {
    parse_data(s, what)?
        .try_into()
        .map_err(|_| EthError::params(format!("{what}: {s:?} is not 32 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_data_as_ethereum_writes_them() {
        assert_eq!(quantity(0), "0x0");
        assert_eq!(quantity(31415926), "0x1df5e76");
        assert_eq!(amount(&TokenAmount::from_atto(255)), "0xff");
        assert_eq!(data(&[]), "0x");
        assert_eq!(data(&[0, 1]), "0x0001");
        assert_eq!(parse_quantity(&Value::from("0x10"), "n").unwrap(), 16);
        assert!(parse_quantity(&Value::from("10"), "n").is_err());
        assert_eq!(parse_amount("0x", "v").unwrap(), TokenAmount::default());
        assert!(parse_hash("0x00", "h").is_err());
        assert_eq!(parse_data("0x102", "d").unwrap(), [1, 2]);
        assert!(parse_data("0xzz", "d").is_err());
    }
}
