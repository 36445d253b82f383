//! `/fil/storage/status/1.2.0`: [`DealStatusRequest`] in,
//! [`DealStatusResponse`] out.
//!
//! The client signs the deal UUID's 16 bytes with its wallet key; the
//! provider checks the signature against the proposal's client before it
//! answers with anything but an `Error`.

use cid::Cid;
use fil_actor_market_state::v18::DealProposal;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::deal::DealID;

use super::cbor::{Decoder, Encoder, MapWriter};
use super::{CborMap, WireError, decode_nested, required, wire_message};
use crate::deal::DealUuid;

/// Boost `types.DealStatusRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealStatusRequest {
    /// `DealUUID`: the deal asked about.
    pub deal_uuid: DealUuid,
    /// `Signature`: the client's signature over the 16 UUID bytes.
    pub signature: Signature,
}

impl CborMap for DealStatusRequest {
    const NAME: &'static str = "DealStatusRequest";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("DealUUID", |e| {
            e.bytes(&format!("{path}.DealUUID"), &self.deal_uuid.0)
        })?;
        m.field("Signature", |e| {
            e.nested(&format!("{path}.Signature"), &self.signature)
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let (mut uuid, mut sig) = (None, None);
        dec.map(|d, key| {
            match key {
                "DealUUID" => uuid = Some(DealUuid(d.bytes16()?)),
                "Signature" => sig = Some(d.nested()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            deal_uuid: required(dec, uuid, "DealUUID")?,
            signature: required(dec, sig, "Signature")?,
        })
    }
}

/// Boost `types.DealStatusResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealStatusResponse {
    /// `DealUUID`: echoes the request.
    pub deal_uuid: DealUuid,
    /// `Error`: non-empty when the status could not be given (unknown deal,
    /// bad signature); `deal_status` is then `None`.
    pub error: String,
    /// `DealStatus`: the deal's state (`null` on error).
    pub deal_status: Option<DealStatus>,
    /// `IsOffline`: the deal's data comes by import.
    pub is_offline: bool,
    /// `TransferSize`: bytes expected from the transfer.
    pub transfer_size: u64,
    /// `NBytesReceived`: bytes received so far.
    pub n_bytes_received: u64,
}

impl DealStatusResponse {
    /// An error answer for `deal_uuid`.
    pub fn error(deal_uuid: DealUuid, error: impl Into<String>) -> Self {
        Self {
            deal_uuid,
            error: error.into(),
            deal_status: None,
            is_offline: false,
            transfer_size: 0,
            n_bytes_received: 0,
        }
    }
}

impl CborMap for DealStatusResponse {
    const NAME: &'static str = "DealStatusResponse";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("DealUUID", |e| {
            e.bytes(&format!("{path}.DealUUID"), &self.deal_uuid.0)
        })?;
        m.field("Error", |e| e.text(&format!("{path}.Error"), &self.error))?;
        m.field("DealStatus", |e| match &self.deal_status {
            Some(s) => s.encode(e, &format!("{path}.DealStatus")),
            None => {
                e.null();
                Ok(())
            }
        })?;
        m.field("IsOffline", |e| {
            e.bool(self.is_offline);
            Ok(())
        })?;
        m.field("TransferSize", |e| {
            e.u64(self.transfer_size);
            Ok(())
        })?;
        m.field("NBytesReceived", |e| {
            e.u64(self.n_bytes_received);
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut uuid = None;
        let mut r = Self::error(DealUuid([0; 16]), "");
        dec.map(|d, key| {
            match key {
                "DealUUID" => uuid = Some(DealUuid(d.bytes16()?)),
                "Error" => r.error = d.text()?,
                "DealStatus" => {
                    r.deal_status = if d.null() {
                        None
                    } else {
                        Some(decode_nested(d)?)
                    }
                }
                "IsOffline" => r.is_offline = d.bool()?,
                "TransferSize" => r.transfer_size = d.u64()?,
                "NBytesReceived" => r.n_bytes_received = d.u64()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        r.deal_uuid = required(dec, uuid, "DealUUID")?;
        Ok(r)
    }
}

/// Boost `types.DealStatus`: where a deal stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealStatus {
    /// `Error`: non-empty when the deal failed.
    pub error: String,
    /// `Status`: Boost's checkpoint name (`Accepted`, `Transferred`,
    /// `Published`, `PublishConfirmed`, `AddedPiece`, `IndexedAndAnnounced`,
    /// `Complete`).
    pub status: String,
    /// `SealingStatus`: the sector's state as the sealer reports it.
    pub sealing_status: String,
    /// `Proposal`: the deal proposal (go-state-types tuple).
    pub proposal: DealProposal,
    /// `SignedProposalCid`: CID of the signed `ClientDealProposal`.
    pub signed_proposal_cid: Cid,
    /// `PublishCid`: the PublishStorageDeals message, once sent.
    pub publish_cid: Option<Cid>,
    /// `ChainDealID`: the deal id on chain, once published (0 before).
    pub chain_deal_id: DealID,
}

impl CborMap for DealStatus {
    const NAME: &'static str = "DealStatus";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Error", |e| e.text(&format!("{path}.Error"), &self.error))?;
        m.field("Status", |e| {
            e.text(&format!("{path}.Status"), &self.status)
        })?;
        m.field("SealingStatus", |e| {
            e.text(&format!("{path}.SealingStatus"), &self.sealing_status)
        })?;
        m.field("Proposal", |e| {
            e.nested(&format!("{path}.Proposal"), &self.proposal)
        })?;
        m.field("SignedProposalCid", |e| {
            e.cid(&self.signed_proposal_cid);
            Ok(())
        })?;
        m.field("PublishCid", |e| {
            match &self.publish_cid {
                Some(c) => e.cid(c),
                None => e.null(),
            }
            Ok(())
        })?;
        m.field("ChainDealID", |e| {
            e.u64(self.chain_deal_id);
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let (mut error, mut status, mut sealing) = (String::new(), String::new(), String::new());
        let (mut proposal, mut signed, mut publish, mut deal_id) = (None, None, None, 0);
        dec.map(|d, key| {
            match key {
                "Error" => error = d.text()?,
                "Status" => status = d.text()?,
                "SealingStatus" => sealing = d.text()?,
                "Proposal" => proposal = Some(d.nested()?),
                "SignedProposalCid" => signed = Some(d.cid()?),
                "PublishCid" => publish = if d.null() { None } else { Some(d.cid()?) },
                "ChainDealID" => deal_id = d.u64()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            error,
            status,
            sealing_status: sealing,
            proposal: required(dec, proposal, "Proposal")?,
            signed_proposal_cid: required(dec, signed, "SignedProposalCid")?,
            publish_cid: publish,
            chain_deal_id: deal_id,
        })
    }
}

wire_message!(DealStatusRequest, DealStatusResponse, DealStatus);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::wire::WireMessage;
    use crate::wire::fixtures;

    #[test]
    fn status_request_round_trip() {
        let req = DealStatusRequest {
            deal_uuid: DealUuid([9; 16]),
            signature: Signature::new_secp256k1(vec![3; 65]),
        };
        let bytes = req.to_cbor().unwrap();
        // {"DealUUID": h'09..', "Signature": h'01 03..'} in cbor-gen order.
        assert_eq!(&bytes[..11], b"\xa2\x68DealUUID\x50");
        assert_eq!(&bytes[27..37], b"\x69Signature");
        assert_eq!(&bytes[37..40], &[0x58, 66, 1]);
        assert_eq!(DealStatusRequest::from_cbor(&bytes).unwrap(), req);
    }

    #[test]
    fn status_response_round_trip_with_and_without_status() {
        let empty = DealStatusResponse::error(DealUuid([1; 16]), "no storage deal found");
        let bytes = empty.to_cbor().unwrap();
        assert_eq!(DealStatusResponse::from_cbor(&bytes).unwrap(), empty);
        assert!(
            bytes.windows(11).any(|w| w == b"\x6aDealStatus"),
            "key present"
        );
        assert!(
            bytes.windows(12).any(|w| w == b"\x6aDealStatus\xf6"),
            "nil pointer as null"
        );

        let full = DealStatusResponse {
            deal_uuid: DealUuid([2; 16]),
            error: String::new(),
            deal_status: Some(DealStatus {
                error: String::new(),
                status: "Published".into(),
                sealing_status: "PreCommit1".into(),
                proposal: fixtures::proposal(),
                signed_proposal_cid: fixtures::root_cid(),
                publish_cid: Some(fixtures::root_cid()),
                chain_deal_id: 77,
            }),
            is_offline: true,
            transfer_size: 100,
            n_bytes_received: 50,
        };
        let bytes = full.to_cbor().unwrap();
        assert_eq!(DealStatusResponse::from_cbor(&bytes).unwrap(), full);
    }

    #[test]
    fn status_request_without_signature_is_rejected() {
        let mut e = crate::wire::cbor::Encoder::new();
        let mut m = crate::wire::cbor::MapWriter::new();
        m.field("DealUUID", |e| e.bytes("u", &[0; 16])).unwrap();
        m.finish(&mut e);
        let err = DealStatusRequest::from_cbor(&e.into_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing required field Signature"), "{err}");
    }
}
