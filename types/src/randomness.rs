//! 32-byte values that feed the proofs.
//!
//! PoSt randomness and the prover id are read by the proofs as BLS12-381
//! scalars, little-endian, and must be below the field modulus. Lotus clears
//! the top two bits of byte 31 to guarantee that; [`PostRandomness::new`] does
//! the same. Tickets and seeds only enter hashes, so any bytes are valid.

use serde::{Deserialize, Serialize};

use crate::ActorId;

/// The sealing ticket: chain randomness drawn at precommit, bound into the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ticket(pub [u8; 32]);

/// The interactive seed: chain randomness drawn after precommit, picks C1's challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Seed(pub [u8; 32]);

/// PoSt challenge randomness, masked to be a valid field element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostRandomness([u8; 32]);

impl PostRandomness {
    /// Masks byte 31 with `0x3f`, as Lotus does, so the value is a valid scalar.
    pub fn new(mut bytes: [u8; 32]) -> Self {
        bytes[31] &= 0x3f;
        Self(bytes)
    }

    /// The masked bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The prover id the proofs bind to: the miner's actor id, little-endian, zero-padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProverId([u8; 32]);

impl ProverId {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<ActorId> for ProverId {
    fn from(miner: ActorId) -> Self {
        // Lotus and filecoin-ffi use the ID address payload (a uvarint), zero-padded.
        let payload = fvm_shared::address::Address::new_id(miner.0).payload_bytes();
        let mut b = [0u8; 32];
        // An ID payload is at most 10 bytes (a u64 uvarint).
        b[..payload.len()].copy_from_slice(&payload);
        Self(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_randomness_is_masked() {
        let r = PostRandomness::new([0xff; 32]);
        assert_eq!(r.as_bytes()[31], 0x3f);
        assert_eq!(r.as_bytes()[30], 0xff);
    }

    #[test]
    fn prover_id_is_the_id_address_payload() {
        // f01000: payload is the uvarint of 1000 = 0xe8 0x07
        let p = ProverId::from(ActorId(1000));
        assert_eq!(&p.as_bytes()[..3], &[0xe8, 0x07, 0x00]);
        let small = ProverId::from(ActorId(5));
        assert_eq!(&small.as_bytes()[..2], &[5, 0]);
    }
}
