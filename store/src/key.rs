//! Keys that encode to bytes whose order is the key's order, so that prefix
//! scans and range reads follow the domain order (sectors by miner, then number).

use ferrite_types::{ActorId, ChainEpoch, DealId, SectorId, SectorNumber};

use crate::StoreError;

/// A table key.
pub trait Key: Sized {
    /// The order-preserving encoding.
    fn encode(&self) -> Vec<u8>;
    /// The key back from its encoding.
    fn decode(bytes: &[u8]) -> Result<Self, StoreError>;
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Decode {
        table: what.to_string(),
        reason: format!("key of {} bytes, expected {N}", bytes.len()),
    })
}

impl Key for u64 {
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        Ok(u64::from_be_bytes(fixed(bytes, "u64 key")?))
    }
}

impl Key for i64 {
    fn encode(&self) -> Vec<u8> {
        // Flip the sign bit so that negative numbers sort before positive ones.
        (self.cast_unsigned() ^ (1 << 63)).to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        Ok((u64::from_be_bytes(fixed(bytes, "i64 key")?) ^ (1 << 63)).cast_signed())
    }
}

impl Key for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| StoreError::Decode {
            table: "string key".to_string(),
            reason: e.to_string(),
        })
    }
}

impl Key for Vec<u8> {
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        Ok(bytes.to_vec())
    }
}

impl Key for [u8; 32] {
    fn encode(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        fixed(bytes, "32-byte key")
    }
}

macro_rules! newtype_key {
    ($t:ty, $inner:ty) => {
        impl Key for $t {
            fn encode(&self) -> Vec<u8> {
                self.0.encode()
            }
            fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
                <$inner as Key>::decode(bytes).map(Self)
            }
        }
    };
}

newtype_key!(ActorId, u64);
newtype_key!(SectorNumber, u64);
newtype_key!(DealId, u64);
newtype_key!(ChainEpoch, i64);

impl Key for SectorId {
    /// Miner first, so that one miner's sectors share a prefix.
    fn encode(&self) -> Vec<u8> {
        let mut b = self.miner.encode();
        b.extend_from_slice(&self.number.encode());
        b
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let b: [u8; 16] = fixed(bytes, "sector id key")?;
        let (m, n) = b.split_at(8);
        Ok(SectorId::new(ActorId::decode(m)?, SectorNumber::decode(n)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_preserve_order() {
        let nums = [0u64, 1, 255, 256, u64::MAX];
        for w in nums.windows(2) {
            assert!(w[0].encode() < w[1].encode());
        }
        let epochs = [i64::MIN, -1, 0, 1, i64::MAX];
        for w in epochs.windows(2) {
            assert!(w[0].encode() < w[1].encode());
            assert_eq!(i64::decode(&w[0].encode()).unwrap(), w[0]);
        }
        let a = SectorId::new(ActorId(1000), SectorNumber(300));
        let b = SectorId::new(ActorId(1001), SectorNumber(1));
        assert!(a.encode() < b.encode());
        assert_eq!(SectorId::decode(&a.encode()).unwrap(), a);
        assert!(a.encode().starts_with(&ActorId(1000).encode()));
    }

    #[test]
    fn bad_key_bytes_are_errors() {
        assert!(u64::decode(&[1, 2, 3]).is_err());
        assert!(SectorId::decode(&[0; 15]).is_err());
        assert!(String::decode(&[0xff, 0xfe]).is_err());
        assert!(<[u8; 32]>::decode(&[0; 31]).is_err());
    }
}
