//! `/fil/storage/ask/1.1.0`: [`AskRequest`] in, [`AskResponse`] out.
//!
//! These are go-fil-markets' network types as Boost keeps them in
//! `legacytypes` (`cbor-gen-for --map-encoding`, so maps like the rest; the
//! tuple forms belonged to the retired ask 1.0.1). The provider signs the
//! map-encoded [`StorageAsk`] bytes ([`WireMessage::to_cbor`]) with its
//! worker key and sends them in a [`SignedStorageAsk`].
//!
//! [`WireMessage::to_cbor`]: super::WireMessage::to_cbor

use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::piece::PaddedPieceSize;

use super::cbor::{Decoder, Encoder, MapWriter};
use super::{CborMap, WireError, decode_nested, required, wire_message};

/// `network.AskRequest`: "what is your ask, miner X?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskRequest {
    /// `Miner`: the miner actor asked about.
    pub miner: Address,
}

impl CborMap for AskRequest {
    const NAME: &'static str = "AskRequest";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Miner", |e| e.nested(&format!("{path}.Miner"), &self.miner))?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut miner = None;
        dec.map(|d, key| {
            match key {
                "Miner" => miner = Some(d.nested()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            miner: required(dec, miner, "Miner")?,
        })
    }
}

/// `network.AskResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AskResponse {
    /// `Ask`: the signed ask; `None` (`null`) when the provider has none for
    /// that miner.
    pub ask: Option<SignedStorageAsk>,
}

impl CborMap for AskResponse {
    const NAME: &'static str = "AskResponse";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Ask", |e| match &self.ask {
            Some(a) => a.encode(e, &format!("{path}.Ask")),
            None => {
                e.null();
                Ok(())
            }
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut ask = None;
        dec.map(|d, key| {
            match key {
                "Ask" => {
                    ask = if d.null() {
                        None
                    } else {
                        Some(decode_nested(d)?)
                    }
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self { ask })
    }
}

/// `legacytypes.SignedStorageAsk`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedStorageAsk {
    /// `Ask`: the ask (a Go pointer, so it may be `null`).
    pub ask: Option<StorageAsk>,
    /// `Signature`: the worker key's signature over the ask's CBOR bytes.
    pub signature: Option<Signature>,
}

impl CborMap for SignedStorageAsk {
    const NAME: &'static str = "SignedStorageAsk";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Ask", |e| match &self.ask {
            Some(a) => a.encode(e, &format!("{path}.Ask")),
            None => {
                e.null();
                Ok(())
            }
        })?;
        m.field("Signature", |e| match &self.signature {
            Some(s) => e.nested(&format!("{path}.Signature"), s),
            None => {
                e.null();
                Ok(())
            }
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut out = Self::default();
        dec.map(|d, key| {
            match key {
                "Ask" => {
                    out.ask = if d.null() {
                        None
                    } else {
                        Some(decode_nested(d)?)
                    }
                }
                "Signature" => out.signature = if d.null() { None } else { Some(d.nested()?) },
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(out)
    }
}

/// `legacytypes.StorageAsk`: the provider's prices and piece-size range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageAsk {
    /// `Price`: attoFIL per GiB per epoch for unverified deals.
    pub price: TokenAmount,
    /// `VerifiedPrice`: attoFIL per GiB per epoch for verified deals.
    pub verified_price: TokenAmount,
    /// `MinPieceSize`: smallest padded piece accepted.
    pub min_piece_size: PaddedPieceSize,
    /// `MaxPieceSize`: largest padded piece accepted.
    pub max_piece_size: PaddedPieceSize,
    /// `Miner`: the miner actor.
    pub miner: Address,
    /// `Timestamp`: the epoch the ask was made.
    pub timestamp: ChainEpoch,
    /// `Expiry`: the epoch after which it no longer holds.
    pub expiry: ChainEpoch,
    /// `SeqNo`: bumped on every change.
    pub seq_no: u64,
}

impl CborMap for StorageAsk {
    const NAME: &'static str = "StorageAsk";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Price", |e| e.nested(&format!("{path}.Price"), &self.price))?;
        m.field("VerifiedPrice", |e| {
            e.nested(&format!("{path}.VerifiedPrice"), &self.verified_price)
        })?;
        m.field("MinPieceSize", |e| {
            e.u64(self.min_piece_size.0);
            Ok(())
        })?;
        m.field("MaxPieceSize", |e| {
            e.u64(self.max_piece_size.0);
            Ok(())
        })?;
        m.field("Miner", |e| e.nested(&format!("{path}.Miner"), &self.miner))?;
        m.field("Timestamp", |e| {
            e.i64(self.timestamp);
            Ok(())
        })?;
        m.field("Expiry", |e| {
            e.i64(self.expiry);
            Ok(())
        })?;
        m.field("SeqNo", |e| {
            e.u64(self.seq_no);
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let (mut price, mut verified_price) = (TokenAmount::default(), TokenAmount::default());
        let (mut min, mut max, mut miner) = (0, 0, None);
        let (mut timestamp, mut expiry, mut seq_no) = (0, 0, 0);
        dec.map(|d, key| {
            match key {
                "Price" => price = d.nested()?,
                "VerifiedPrice" => verified_price = d.nested()?,
                "MinPieceSize" => min = d.u64()?,
                "MaxPieceSize" => max = d.u64()?,
                "Miner" => miner = Some(d.nested()?),
                "Timestamp" => timestamp = d.i64()?,
                "Expiry" => expiry = d.i64()?,
                "SeqNo" => seq_no = d.u64()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            price,
            verified_price,
            min_piece_size: PaddedPieceSize(min),
            max_piece_size: PaddedPieceSize(max),
            miner: required(dec, miner, "Miner")?,
            timestamp,
            expiry,
            seq_no,
        })
    }
}

wire_message!(AskRequest, AskResponse, SignedStorageAsk, StorageAsk);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::wire::WireMessage;

    fn ask() -> StorageAsk {
        StorageAsk {
            price: TokenAmount::from_atto(500_000_000u64),
            verified_price: TokenAmount::from_atto(0),
            min_piece_size: PaddedPieceSize(256),
            max_piece_size: PaddedPieceSize(32 << 30),
            miner: Address::new_id(1000),
            timestamp: 12,
            expiry: 100_012,
            seq_no: 3,
        }
    }

    #[test]
    fn ask_request_bytes() {
        let req = AskRequest {
            miner: Address::new_id(1000),
        };
        let bytes = req.to_cbor().unwrap();
        // {"Miner": h'00e807'}: an ID address is protocol byte 0 + leb128.
        assert_eq!(bytes, b"\xa1\x65Miner\x43\x00\xe8\x07");
        assert_eq!(AskRequest::from_cbor(&bytes).unwrap(), req);
    }

    #[test]
    fn storage_ask_key_order_and_round_trip() {
        let a = ask();
        let bytes = a.to_cbor().unwrap();
        let mut keys = Vec::new();
        crate::wire::cbor::Decoder::new(&bytes, "m")
            .map(|_, k| {
                keys.push(k.to_owned());
                Ok(false)
            })
            .unwrap();
        assert_eq!(
            keys,
            [
                "Miner",
                "Price",
                "SeqNo",
                "Expiry",
                "Timestamp",
                "MaxPieceSize",
                "MinPieceSize",
                "VerifiedPrice"
            ]
        );
        assert_eq!(StorageAsk::from_cbor(&bytes).unwrap(), a);
        // Zero TokenAmount is an empty byte string, as go-state-types writes it.
        assert!(bytes.ends_with(b"\x6dVerifiedPrice\x40"));
    }

    #[test]
    fn ask_response_round_trips() {
        for resp in [
            AskResponse { ask: None },
            AskResponse {
                ask: Some(SignedStorageAsk {
                    ask: Some(ask()),
                    signature: Some(Signature::new_bls(vec![1; 96])),
                }),
            },
            AskResponse {
                ask: Some(SignedStorageAsk::default()),
            },
        ] {
            let bytes = resp.to_cbor().unwrap();
            assert_eq!(AskResponse::from_cbor(&bytes).unwrap(), resp);
        }
        assert_eq!(
            AskResponse { ask: None }.to_cbor().unwrap(),
            b"\xa1\x63Ask\xf6"
        );
    }

    #[test]
    fn negative_epochs_and_bad_address() {
        let mut a = ask();
        a.expiry = -1;
        let bytes = a.to_cbor().unwrap();
        assert_eq!(StorageAsk::from_cbor(&bytes).unwrap().expiry, -1);
        let err = AskRequest::from_cbor(b"\xa1\x65Miner\x41\x09")
            .unwrap_err()
            .to_string();
        assert!(err.contains("AskRequest.Miner"), "{err}");
    }
}
