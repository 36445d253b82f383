//! The EVM actor's state in builtin-actors v18's layout (the
//! `fil_actor_evm_state` v18 types are the oracle), and the contract
//! storage: a KAMT from 256-bit slot to 256-bit value, with v18's KAMT
//! configuration and key hashing, so that the state crate and Lotus read our
//! contracts' storage as they read the official actor's.

use std::borrow::Cow;

use cid::Cid;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_kamt::{AsHashedKey, Config as KamtConfig, HashedKey, Kamt};
use fvm_shared::ActorID;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// A 256-bit EVM word, big-endian. On the wire it is a CBOR byte string
/// without leading zero bytes (zero is the empty string), as v18's `U256`.
/// Big-endian byte order makes the derived ordering the numeric one, which
/// the KAMT relies on to sort keys within a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Word(pub [u8; 32]);

impl Word {
    /// Zero.
    pub const ZERO: Word = Word([0; 32]);

    /// Whether the word is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The word of a big-endian number of at most 32 bytes; `None` if longer.
    pub fn from_be_slice(b: &[u8]) -> Option<Word> {
        if b.len() > 32 {
            return None;
        }
        let mut w = [0u8; 32];
        w[32 - b.len()..].copy_from_slice(b);
        Some(Word(w))
    }

    /// The bytes after the leading zeros: the wire form.
    pub fn trimmed(&self) -> &[u8] {
        let zeros = self.0.iter().take_while(|b| **b == 0).count();
        &self.0[zeros..]
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.trimmed())
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b: fvm_ipld_encoding::BytesDe = Deserialize::deserialize(d)?;
        Word::from_be_slice(&b.0)
            .ok_or_else(|| serde::de::Error::invalid_length(b.0.len(), &"at most 32 bytes"))
    }
}

pub use ferrite_actor_rt::eth::EthAddress;

/// The keccak-256 of a contract's bytecode, a 32-byte string on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BytecodeHash(#[serde(with = "strict_bytes")] pub [u8; 32]);

impl BytecodeHash {
    /// keccak-256 of no bytes: the hash of a contract without code.
    pub const EMPTY: BytecodeHash = BytecodeHash([
        0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03,
        0xc0, 0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85,
        0xa4, 0x70,
    ]);
}

/// Marks a contract that self-destructed during the message `(origin,
/// nonce)`: it stays alive until that message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Tombstone {
    /// The top-level message's sender.
    pub origin: ActorID,
    /// The top-level message's nonce.
    pub nonce: u64,
}

/// The top-level message that transient storage belongs to (EIP-1153):
/// transient slots written during another message read as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TransientDataLifespan {
    /// The top-level message's sender.
    pub origin: ActorID,
    /// The top-level message's nonce.
    pub nonce: u64,
}

/// Transient storage: its KAMT and the message it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TransientData {
    /// KAMT root of the transient slots.
    pub transient_data_state: Cid,
    /// The message they belong to.
    pub transient_data_lifespan: TransientDataLifespan,
}

/// The EVM actor's state (v18 field order).
#[derive(Debug, Clone, Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// The contract's bytecode, a raw (IPLD_RAW) block.
    pub bytecode: Cid,
    /// keccak-256 of the bytecode.
    pub bytecode_hash: BytecodeHash,
    /// KAMT root of the storage slots.
    pub contract_state: Cid,
    /// Transient storage, if a TSTORE ever wrote some.
    pub transient_data: Option<TransientData>,
    /// The CREATE nonce; starts at 1, as v18's.
    pub nonce: u64,
    /// Set when the contract self-destructed.
    pub tombstone: Option<Tombstone>,
}

/// v18's KAMT configuration for contract storage. Solidity puts its top
/// variables in the first slots and arrays in contiguous ones, so keys are
/// hashed as themselves (big-endian) with extensions, a bit width of 5 and
/// one pair per bucket.
pub const KAMT_CONFIG: KamtConfig = KamtConfig {
    min_data_depth: 0,
    bit_width: 5,
    max_array_width: 1,
};

/// The key "hash" of a slot: its own big-endian bytes, as v18 hashes it.
#[derive(Debug)]
pub struct SlotKey;

impl AsHashedKey<Word, 32> for SlotKey {
    fn as_hashed_key(key: &Word) -> Cow<'_, HashedKey<32>> {
        Cow::Borrowed(&key.0)
    }
}

/// A storage KAMT (persistent or transient) over the actor's blockstore.
pub type Slots = Kamt<ActorBlockstore, Word, Word, SlotKey>;

/// An empty storage map.
pub fn new_slots() -> Slots {
    Kamt::new_with_config(ActorBlockstore, KAMT_CONFIG)
}

/// The storage map at `root`.
pub fn load_slots(root: &Cid) -> ActorResult<Slots> {
    Kamt::load_with_config(root, ActorBlockstore, KAMT_CONFIG).state_err("load storage")
}

/// The value of `key` (zero when absent).
pub fn get_slot(slots: &Slots, key: &Word) -> ActorResult<Word> {
    Ok(slots
        .get(key)
        .state_err("read storage slot")?
        .copied()
        .unwrap_or_default())
}

/// Writes `value` at `key` (zero deletes it, as v18 does); whether the map
/// changed.
pub fn set_slot(slots: &mut Slots, key: Word, value: Word) -> ActorResult<bool> {
    if value.is_zero() {
        Ok(slots
            .delete(&key)
            .state_err("clear storage slot")?
            .is_some())
    } else {
        Ok(slots
            .set(key, value)
            .state_err("write storage slot")?
            .is_none_or(|old| old != value))
    }
}

/// The error for a state that cannot be written.
pub fn flush_error(e: impl std::fmt::Display) -> ActorError {
    ActorError::illegal_state(format!("flush storage: {e}"))
}
