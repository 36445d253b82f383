//! What the sealing tasks produce that a later stage needs, and the chain
//! messages a sector waits on.
//!
//! The proof outputs are opaque bytes here: ferrite-proofs encodes and decodes
//! them, and the state machine only carries them from the task that made them
//! to the task that needs them, so a restart can replay that task.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! byte_output {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub Vec<u8>);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({} bytes)", stringify!($name), self.0.len())
            }
        }

        // Bytes, not a sequence of numbers: a CBOR byte string is half the size.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_byte_buf(BytesVisitor).map($name)
            }
        }
    };
}

byte_output!(
    /// PC1's output (ferrite-proofs' encoding), the input of PC2. The layers
    /// themselves stay in the sector's cache directory.
    Pc1Output
);

byte_output!(
    /// The PoRep proof that C2 produced, sent in the prove-commit message.
    PoRepProof
);

byte_output!(
    /// The SnapDeals update proof, sent in ProveReplicaUpdates3.
    UpdateProof
);

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    // Formats without a byte type (JSON) write a sequence of numbers.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// The CID of a chain message the sector waits on, as the chain printed it.
///
/// Kept as text because this crate does not link `cid`; the driver parses it
/// where it talks to the chain. (A typed message CID belongs in ferrite-types.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageCid(pub String);

impl fmt::Display for MessageCid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
