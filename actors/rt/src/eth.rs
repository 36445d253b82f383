//! Ethereum addresses as FEVM maps them onto Filecoin's: an actor with an
//! f410 address (the EAM's namespace) has that address's 20-byte payload;
//! any other actor is named by its ID form, 0xff, eleven zero bytes, then
//! the ID big-endian. Used by the EAM and the EVM actor.

use fvm_ipld_encoding::strict_bytes;
use fvm_shared::ActorID;
use fvm_shared::address::Payload;
use fvm_shared::crypto::hash::SupportedHashes;
use serde::{Deserialize, Serialize};

use crate::types::EAM_ACTOR_ID;

/// A 20-byte Ethereum address, a CBOR byte string on the wire (v18's
/// `EthAddress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthAddress(#[serde(with = "strict_bytes")] pub [u8; 20]);

impl EthAddress {
    /// The ID form of actor `id`.
    pub fn from_id(id: ActorID) -> EthAddress {
        let mut b = [0u8; 20];
        b[0] = 0xff;
        b[12..].copy_from_slice(&id.to_be_bytes());
        EthAddress(b)
    }

    /// The actor ID an ID-form address names.
    pub fn as_id(&self) -> Option<ActorID> {
        if self.0[0] != 0xff || self.0[1..12].iter().any(|b| *b != 0) {
            return None;
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&self.0[12..]);
        Some(u64::from_be_bytes(id))
    }

    /// Whether it is in a precompile range: 0x00…00NN (Ethereum's) or
    /// 0xfe00…00NN (Filecoin's).
    pub fn is_precompile(&self) -> bool {
        (self.0[0] == 0x00 || self.0[0] == 0xfe) && self.0[1..19].iter().all(|b| *b == 0)
    }

    /// Addresses the EAM never assigns: the null address, ID forms and the
    /// precompile ranges.
    pub fn is_reserved(&self) -> bool {
        self.is_precompile() || self.as_id().is_some() || self.0 == [0; 20]
    }

    /// The f410 address of actor `id`, if it has one.
    pub fn of_actor(id: ActorID) -> Option<EthAddress> {
        match fvm_sdk::actor::lookup_delegated_address(id).map(|a| *a.payload()) {
            Some(Payload::Delegated(d)) if d.namespace() == EAM_ACTOR_ID => {
                <[u8; 20]>::try_from(d.subaddress()).ok().map(EthAddress)
            }
            _ => None,
        }
    }
}

/// keccak-256 through the FVM's hash syscall.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    fvm_sdk::crypto::hash_into(SupportedHashes::Keccak256, data, &mut out);
    out
}
