//! Ethereum addresses and their Filecoin forms: an f410 address in the
//! EAM's namespace (10) holds the 20 bytes; an ID address is written as a
//! "masked ID", `0xff`, eleven zero bytes, then the ID in 8 big-endian bytes.

use fvm_shared::address::{Address, Payload};

/// The Ethereum Address Manager's actor ID, the namespace of f410 addresses.
pub const EAM_ID: u64 = 10;

/// A 20-byte Ethereum address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthAddress(pub [u8; 20]);

impl EthAddress {
    /// The address of an uncompressed secp256k1 public key (65 bytes,
    /// starting 0x04): the last 20 bytes of keccak of the 64 key bytes.
    pub fn from_public_key(uncompressed: &[u8]) -> Option<Self> {
        let key = uncompressed.strip_prefix(&[0x04])?;
        if key.len() != 64 {
            return None;
        }
        let h = super::keccak(key);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Some(Self(a))
    }

    /// The masked-ID form of actor `id`.
    pub fn from_id(id: u64) -> Self {
        let mut a = [0u8; 20];
        a[0] = 0xff;
        a[12..].copy_from_slice(&id.to_be_bytes());
        Self(a)
    }

    /// The actor ID, if this is a masked ID.
    pub fn as_id(&self) -> Option<u64> {
        if self.0[0] == 0xff && self.0[1..12].iter().all(|b| *b == 0) {
            let mut id = [0u8; 8];
            id.copy_from_slice(&self.0[12..]);
            Some(u64::from_be_bytes(id))
        } else {
            None
        }
    }

    /// The Filecoin address: an ID address for a masked ID, else the f410.
    pub fn to_filecoin(&self) -> Address {
        match self.as_id() {
            Some(id) => Address::new_id(id),
            None => Address::new_delegated(EAM_ID, &self.0)
                .unwrap_or_else(|_| unreachable!("20 bytes fit an f4 address")),
        }
    }

    /// The Ethereum form of an f410 (EAM namespace) or ID address; other
    /// kinds have none without the state (their ID).
    pub fn from_filecoin(addr: &Address) -> Option<Self> {
        match addr.payload() {
            Payload::ID(id) => Some(Self::from_id(*id)),
            Payload::Delegated(d) if d.namespace() == EAM_ID => {
                Some(Self(d.subaddress().try_into().ok()?))
            }
            _ => None,
        }
    }

    /// `0x` and 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl std::str::FromStr for EthAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| format!("address {s:?} does not start with 0x"))?;
        let bytes = hex::decode(digits).map_err(|e| format!("address {s:?}: {e}"))?;
        Ok(Self(bytes.try_into().map_err(|b: Vec<u8>| {
            format!("address {s:?} has {} bytes, not 20", b.len())
        })?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_ids_and_f410_round_trip() {
        let id = EthAddress::from_id(1234);
        assert_eq!(id.to_hex(), "0xff000000000000000000000000000000000004d2");
        assert_eq!(id.to_filecoin(), Address::new_id(1234));
        let a: EthAddress = "0x00112233445566778899aabbccddeeff00112233"
            .parse()
            .unwrap();
        let f = a.to_filecoin();
        assert_eq!(EthAddress::from_filecoin(&f), Some(a));
        assert_eq!(f.protocol(), fvm_shared::address::Protocol::Delegated);
        assert!("0x1234".parse::<EthAddress>().is_err());
        assert!(
            "00112233445566778899aabbccddeeff00112233"
                .parse::<EthAddress>()
                .is_err()
        );
    }
}
