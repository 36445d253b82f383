//! Sector and piece commitments, and their CIDs.
//!
//! A commitment is a 32-byte Merkle root. On chain and in deals it travels as
//! a CID: unsealed data (CommD, CommP) uses codec `fil-commitment-unsealed`
//! with multihash `sha2-256-trunc254-padded`; a sealed replica (CommR) uses
//! `fil-commitment-sealed` with `poseidon-bls12_381-a2-fc1`. The CID encoding
//! is `fvm_shared::commcid`, so it is byte-for-byte what the actors expect.

use std::fmt;
use std::str::FromStr;

use cid::Cid;
use fvm_shared::commcid;
use serde::{Deserialize, Serialize};

use crate::TypesError;

macro_rules! commitment {
    ($(#[$doc:meta])* $name:ident, $what:literal, $to_cid:path, $from_cid:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The commitment as its CID.
            pub fn to_cid(&self) -> Cid {
                // Encoding can only fail for a wrong codec or length, and both are fixed here.
                match $to_cid(&self.0) {
                    Ok(c) => c,
                    Err(e) => unreachable!("{} with fixed codec and length: {e}", $what),
                }
            }

            /// The commitment inside `cid`, which must be a
            #[doc = $what]
            /// CID.
            pub fn from_cid(cid: &Cid) -> Result<Self, TypesError> {
                $from_cid(cid).map(Self).map_err(|reason| TypesError::WrongCid {
                    cid: cid.to_string(),
                    expected: $what,
                    reason: reason.to_string(),
                })
            }

            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = TypesError;
            fn from_str(s: &str) -> Result<Self, TypesError> {
                let cid = Cid::try_from(s.trim()).map_err(|e| TypesError::MalformedCid {
                    input: s.to_string(),
                    reason: e.to_string(),
                })?;
                Self::from_cid(&cid)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TypesError;
            fn try_from(s: String) -> Result<Self, TypesError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(c: $name) -> String {
                c.to_cid().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.to_cid())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_cid())
            }
        }
    };
}

commitment!(
    /// A piece commitment (CommP): the root of a piece's fr32-padded data.
    CommP,
    "piece commitment (fil-commitment-unsealed, sha2-256-trunc254-padded)",
    commcid::piece_commitment_v1_to_cid,
    commcid::cid_to_piece_commitment_v1
);

commitment!(
    /// A sector's data commitment (CommD): the root over all its pieces.
    CommD,
    "data commitment (fil-commitment-unsealed, sha2-256-trunc254-padded)",
    commcid::data_commitment_v1_to_cid,
    commcid::cid_to_data_commitment_v1
);

commitment!(
    /// A sealed replica's commitment (CommR).
    CommR,
    "replica commitment (fil-commitment-sealed, poseidon-bls12_381-a2-fc1)",
    commcid::replica_commitment_v1_to_cid,
    commcid::cid_to_replica_commitment_v1
);

impl From<CommP> for CommD {
    /// A sector holding one piece that fills it has CommD equal to that CommP.
    fn from(p: CommP) -> CommD {
        CommD(p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The CommP of a 2 KiB piece of zeros (the well-known zero-piece commitment),
    // as Lotus prints it.
    const ZERO_2KIB_COMMP: &str =
        "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy";

    #[test]
    fn commp_round_trips_through_cid() {
        let c: CommP = ZERO_2KIB_COMMP.parse().unwrap();
        assert_eq!(c.to_string(), ZERO_2KIB_COMMP);
        let cid = c.to_cid();
        assert_eq!(cid.codec(), 0xf101);
        assert_eq!(cid.hash().code(), 0x1012);
        assert_eq!(CommP::from_cid(&cid).unwrap(), c);
        assert_eq!(CommD::from(c).to_cid(), cid);
        // serde uses the CID text
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{ZERO_2KIB_COMMP}\""));
        assert_eq!(serde_json::from_str::<CommP>(&json).unwrap(), c);
    }

    #[test]
    fn commr_uses_the_sealed_codec() {
        let r = CommR([7; 32]);
        let cid = r.to_cid();
        assert_eq!(cid.codec(), 0xf102);
        assert_eq!(cid.hash().code(), 0xb401);
        assert!(cid.to_string().starts_with("bagboea4b5abc"), "{cid}");
        assert_eq!(cid.to_string().parse::<CommR>().unwrap(), r);
    }

    #[test]
    fn wrong_kind_of_cid_is_rejected_with_the_reason() {
        let sealed = CommR([1; 32]).to_string();
        let err = sealed.parse::<CommP>().unwrap_err();
        assert!(matches!(err, TypesError::WrongCid { .. }), "{err:?}");
        assert!(err.to_string().contains("piece commitment"), "{err}");
        let unsealed = CommP([1; 32]).to_string();
        assert!(unsealed.parse::<CommR>().is_err());
        // A valid CID that is not a commitment at all (dag-cbor, sha2-256).
        let other = "bafy2bzacedpzcazjqy4eneylm2hprxwhjwqynzn5u7kmqtlyp5elxrzqo4ddc";
        let err = other.parse::<CommP>().unwrap_err();
        assert!(
            err.to_string().contains("is not a piece commitment"),
            "{err}"
        );
    }

    #[test]
    fn malformed_cid_is_rejected() {
        for bad in ["", "not-a-cid", "baga6ea4seaq", "Qm123"] {
            let err = bad.parse::<CommP>().unwrap_err();
            assert!(
                matches!(err, TypesError::MalformedCid { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().starts_with("malformed CID"), "{err}");
        }
        assert!(serde_json::from_str::<CommD>("\"xyz\"").is_err());
    }
}
