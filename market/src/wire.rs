//! The messages of Boost's libp2p deal protocols, byte for byte as Go's
//! cbor-gen writes them.
//!
//! | protocol | request → response |
//! |---|---|
//! | `/fil/storage/mk/1.2.1`, `/fil/storage/mk/1.2.0` | [`DealParams`] → [`DealResponse`] |
//! | `/fil/storage/status/1.2.0` | [`DealStatusRequest`] → [`DealStatusResponse`] |
//! | `/fil/storage/ask/1.1.0` | [`AskRequest`] → [`AskResponse`] |
//! | `/fil/retrieval/transports/1.0.0` | (none: the client only reads) → [`QueryResponse`] |
//!
//! Every message is a cbor-gen *map* (keys are the Go field names, written
//! shortest first, then bytewise), so `to_cbor` gives the bytes Boost would
//! send. Decoding accepts keys in any order, skips keys it does not know and
//! leaves absent fields at Go's zero value (`false`, `""`, `0`, `None`);
//! only fields without a usable zero value (a deal UUID, a CID, a proposal,
//! an address) are required. That is how a 1.2.0 peer's `DealParams` (no
//! `RemoveUnsealedCopy`/`SkipIPNIAnnounce`) and a Singularity `DealParams`
//! (those fields sent over 1.2.0) both decode.
//!
//! Nested chain types are go-state-types tuples and are (de)serialized with
//! the builtin-actors v18 types (`fil_actor_market_state::v18`), so the
//! `ClientDealProposal` bytes — and so its CID — are exactly what the market
//! actor sees in `PublishStorageDeals`.
//!
//! Sources: boost `storagemarket/types/types.go` (+ `types_cbor_gen.go`),
//! `storagemarket/types/legacytypes/{types.go,network/types.go}`,
//! `transport/types/types.go`; for transports, Curio
//! `market/mk12/legacytypes/legacytypes.go` (+ `_cbor_gen.go`) and Boost
//! `retrievalmarket/types/transports.go`.
//!
//! This module only checks shape. Whether a deal is acceptable is for the
//! deal checks.

mod ask;
pub(crate) mod cbor;
mod mk;
mod status;
mod transports;

pub use ask::{AskRequest, AskResponse, SignedStorageAsk, StorageAsk};
pub use cbor::{ItemScanner, ScanError};
pub use mk::{DealParams, DealResponse, HttpRequest, Transfer, TransferParamsError};
pub use status::{DealStatus, DealStatusRequest, DealStatusResponse};
pub use transports::{
    QueryResponse, TRANSPORT_BITSWAP, TRANSPORT_HTTP, TRANSPORT_LIBP2P, TransportProtocol,
};

/// Why bytes could not be turned into a message, or a message into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input is not a well-formed message; `path` names the field
    /// (`DealParams.Transfer.Size`) and `offset` the byte where it failed.
    #[error("decode {path} at byte {offset}: {reason}")]
    Decode {
        /// Dotted path of Go field names from the message root.
        path: String,
        /// Byte offset into the message.
        offset: usize,
        /// What was wrong there.
        reason: DecodeReason,
    },
    /// A value breaks a cbor-gen limit Go peers enforce (e.g. a text over
    /// 8192 bytes), so Go could not read what we would write.
    #[error("encode {path}: {message}")]
    Encode {
        /// Dotted path of the field.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl WireError {
    pub(crate) fn encode(path: &str, message: impl Into<String>) -> Self {
        Self::Encode {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// The specific way a decode failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeReason {
    /// The input stops inside the item (truncated).
    #[error("input ends inside the item (truncated)")]
    UnexpectedEnd,
    /// A value of another CBOR type than the field needs.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the field needs.
        expected: &'static str,
        /// What was there.
        found: &'static str,
    },
    /// A string longer than cbor-gen allows.
    #[error("length {len} exceeds the limit of {max}")]
    TooLong {
        /// Claimed length.
        len: u64,
        /// cbor-gen's limit.
        max: u64,
    },
    /// An integer outside `i64`.
    #[error("integer overflows i64")]
    Overflow,
    /// A text string that is not UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// Indefinite lengths, `break`, or a reserved header value.
    #[error("unsupported header byte {0:#04x} (indefinite length or reserved)")]
    Unsupported(u8),
    /// A required field is absent.
    #[error("missing required field {0}")]
    Missing(&'static str),
    /// Bytes left after the message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// Anything else (bad CID, bad nested chain type, ...).
    #[error("{0}")]
    Invalid(String),
}

/// A message of one of the deal protocols: how it goes on the wire.
pub trait WireMessage: Sized {
    /// The cbor-gen bytes of the message.
    fn to_cbor(&self) -> Result<Vec<u8>, WireError>;

    /// Decodes exactly one message filling all of `bytes`.
    fn from_cbor(bytes: &[u8]) -> Result<Self, WireError>;
}

/// The crate-private half of [`WireMessage`]: field by field.
pub(crate) trait CborMap: Sized {
    /// The Go type name, used as the root of error paths.
    const NAME: &'static str;

    fn encode(&self, enc: &mut cbor::Encoder, path: &str) -> Result<(), WireError>;

    fn decode(dec: &mut cbor::Decoder<'_>) -> Result<Self, WireError>;
}

/// Implements [`WireMessage`] for types that implement [`CborMap`].
macro_rules! wire_message {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::wire::WireMessage for $ty {
            fn to_cbor(&self) -> Result<Vec<u8>, $crate::wire::WireError> {
                let mut enc = $crate::wire::cbor::Encoder::new();
                <Self as $crate::wire::CborMap>::encode(
                    self,
                    &mut enc,
                    <Self as $crate::wire::CborMap>::NAME,
                )?;
                Ok(enc.into_bytes())
            }

            fn from_cbor(bytes: &[u8]) -> Result<Self, $crate::wire::WireError> {
                let mut dec = $crate::wire::cbor::Decoder::new(
                    bytes,
                    <Self as $crate::wire::CborMap>::NAME,
                );
                let out = <Self as $crate::wire::CborMap>::decode(&mut dec)?;
                dec.finish()?;
                Ok(out)
            }
        }
    )*};
}
pub(crate) use wire_message;

/// Decodes a nested message field (the decoder's path already names it).
pub(crate) fn decode_nested<T: CborMap>(dec: &mut cbor::Decoder<'_>) -> Result<T, WireError> {
    T::decode(dec)
}

/// Unwraps a required field after the map walk.
pub(crate) fn required<T>(
    dec: &cbor::Decoder<'_>,
    value: Option<T>,
    name: &'static str,
) -> Result<T, WireError> {
    value.ok_or_else(|| dec.err(DecodeReason::Missing(name)))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Values shared by the wire tests.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use cid::Cid;
    use fil_actor_market_state::v18::{ClientDealProposal, DealProposal, Label};
    use fvm_shared::address::Address;
    use fvm_shared::crypto::signature::Signature;
    use fvm_shared::econ::TokenAmount;
    use fvm_shared::piece::PaddedPieceSize;

    pub(crate) fn piece_cid() -> Cid {
        "baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"
            .parse()
            .unwrap()
    }

    pub(crate) fn root_cid() -> Cid {
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
            .parse()
            .unwrap()
    }

    pub(crate) fn proposal() -> DealProposal {
        DealProposal {
            piece_cid: piece_cid(),
            piece_size: PaddedPieceSize(2048),
            verified_deal: false,
            client: Address::new_id(1001),
            provider: Address::new_id(1000),
            label: Label::String(root_cid().to_string()),
            start_epoch: 10_000,
            end_epoch: 600_000,
            storage_price_per_epoch: TokenAmount::from_atto(0),
            provider_collateral: TokenAmount::from_atto(12_345),
            client_collateral: TokenAmount::from_atto(0),
        }
    }

    pub(crate) fn client_proposal() -> ClientDealProposal {
        ClientDealProposal {
            proposal: proposal(),
            client_signature: Signature::new_bls(vec![7; 96]),
        }
    }
}
