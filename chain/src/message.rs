//! Messages as the chain carries them: CIDs, signing, and signed messages.
//!
//! A message's signature is secp256k1, BLS, or Delegated (type 3: an
//! Ethereum account's, see [`crate::eth::tx`]); fvm_shared's `Signature`
//! has no Delegated kind, so messages carry a [`MessageSignature`].
//!
//! A message is signed over its CID's bytes (dag-cbor, blake2b-256), as Lotus
//! does. A secp256k1 signed message is identified by the CID of the whole
//! `[message, signature]`; a BLS one by the unsigned message's CID, because
//! blocks carry BLS messages unsigned, with one aggregate signature.

use cid::Cid;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{BytesDe, BytesSer, DAG_CBOR, to_vec};
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::{Signature, SignatureType};
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use multihash_codetable::{Code, MultihashDigest};

use crate::wallet::PrivateKey;

/// The CID of dag-cbor `bytes`, as the chain computes it.
pub fn cbor_cid(bytes: &[u8]) -> Cid {
    Cid::new_v1(DAG_CBOR, Code::Blake2b256.digest(bytes))
}

/// The CID of an unsigned message.
pub fn message_cid(m: &Message) -> anyhow::Result<Cid> {
    Ok(cbor_cid(&to_vec(m)?))
}

/// A plain transfer of `value` from `from` to `to`, with nonce and gas
/// fields zero (for MpoolPushMessage or GasEstimateMessageGas to fill in).
pub fn transfer(from: Address, to: Address, value: TokenAmount) -> Message {
    Message {
        version: 0,
        from,
        to,
        sequence: 0,
        value,
        method_num: 0,
        params: fvm_ipld_encoding::RawBytes::default(),
        gas_limit: 0,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
    }
}

/// The kind of a message's signature (its first byte on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigKind {
    /// secp256k1 over the message CID.
    Secp256k1 = 1,
    /// BLS over the message CID.
    BLS = 2,
    /// An Ethereum account's signature over its transaction.
    Delegated = 3,
}

/// A message's signature; on the wire, a byte string of its kind's number
/// then its bytes, as Lotus encodes `crypto.Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The kind.
    pub sig_type: SigKind,
    /// The signature bytes.
    pub bytes: Vec<u8>,
}

impl MessageSignature {
    /// A BLS signature.
    pub fn new_bls(bytes: Vec<u8>) -> Self {
        Self {
            sig_type: SigKind::BLS,
            bytes,
        }
    }

    /// The signature bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The kind from its number.
    pub fn kind(n: u8) -> Option<SigKind> {
        match n {
            1 => Some(SigKind::Secp256k1),
            2 => Some(SigKind::BLS),
            3 => Some(SigKind::Delegated),
            _ => None,
        }
    }

    /// As fvm_shared's signature (secp256k1 and BLS only).
    pub fn to_fvm(&self) -> Result<Signature, String> {
        let sig_type = match self.sig_type {
            SigKind::Secp256k1 => SignatureType::Secp256k1,
            SigKind::BLS => SignatureType::BLS,
            SigKind::Delegated => return Err("a Delegated signature".to_string()),
        };
        Ok(Signature {
            sig_type,
            bytes: self.bytes.clone(),
        })
    }
}

impl From<Signature> for MessageSignature {
    fn from(s: Signature) -> Self {
        Self {
            sig_type: match s.sig_type {
                SignatureType::Secp256k1 => SigKind::Secp256k1,
                SignatureType::BLS => SigKind::BLS,
            },
            bytes: s.bytes,
        }
    }
}

impl serde::Serialize for MessageSignature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut b = Vec::with_capacity(self.bytes.len() + 1);
        b.push(self.sig_type as u8);
        b.extend_from_slice(&self.bytes);
        BytesSer(&b).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for MessageSignature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let BytesDe(b) = BytesDe::deserialize(d)?;
        let (first, bytes) = b
            .split_first()
            .ok_or_else(|| serde::de::Error::custom("empty signature"))?;
        let sig_type = Self::kind(*first)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown signature type {first}")))?;
        Ok(Self {
            sig_type,
            bytes: bytes.to_vec(),
        })
    }
}

/// A message and its sender's signature.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct SignedMessage {
    /// The message.
    pub message: Message,
    /// The signature over the message's CID bytes (Delegated: over the
    /// Ethereum transaction).
    pub signature: MessageSignature,
}

impl SignedMessage {
    /// Signs `message` with `key`.
    pub fn sign(message: Message, key: &PrivateKey) -> anyhow::Result<Self> {
        let signature = key.sign(&message_cid(&message)?.to_bytes())?.into();
        Ok(Self { message, signature })
    }

    /// The message's identity on chain (see the module docs).
    pub fn cid(&self) -> anyhow::Result<Cid> {
        if self.signature.sig_type == SigKind::BLS {
            message_cid(&self.message)
        } else {
            Ok(cbor_cid(&to_vec(self)?))
        }
    }

    /// The length of its encoding, which the FVM charges gas for.
    pub fn chain_length(&self) -> anyhow::Result<usize> {
        Ok(if self.signature.sig_type == SigKind::BLS {
            to_vec(&self.message)?.len()
        } else {
            to_vec(self)?.len()
        })
    }
}

/// The example message of Lotus's API docs (its CID there is
/// `bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s`).
#[cfg(test)]
pub(crate) fn lotus_example_message() -> Message {
    Message {
        version: 42,
        to: Address::new_id(1234),
        from: Address::new_id(1234),
        sequence: 42,
        value: TokenAmount::from_atto(0),
        method_num: 1,
        params: fvm_ipld_encoding::RawBytes::new(b"byte array".to_vec()),
        gas_limit: 9,
        gas_fee_cap: TokenAmount::from_atto(0),
        gas_premium: TokenAmount::from_atto(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::{KeyType, verify};

    #[test]
    fn message_cid_matches_lotus() {
        assert_eq!(
            message_cid(&lotus_example_message()).unwrap().to_string(),
            "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s"
        );
    }

    #[test]
    fn signed_message_cids_follow_the_key_kind() {
        for kind in [KeyType::Secp256k1, KeyType::Bls] {
            let key = PrivateKey::generate(kind);
            let from = key.address().unwrap();
            let m = Message {
                gas_limit: 1_000_000,
                ..transfer(from, Address::new_id(100), TokenAmount::from_whole(1))
            };
            let sm = SignedMessage::sign(m.clone(), &key).unwrap();
            verify(
                &sm.signature.to_fvm().unwrap(),
                &message_cid(&m).unwrap().to_bytes(),
                &from,
            )
            .unwrap();
            let unsigned = message_cid(&m).unwrap();
            match kind {
                KeyType::Bls => assert_eq!(sm.cid().unwrap(), unsigned),
                KeyType::Secp256k1 => assert_ne!(sm.cid().unwrap(), unsigned),
            }
        }
    }
}
