//! Lotus's JSON shapes: CIDs as `{"/": "…"}`, big integers as decimal
//! strings, bytes as base64, addresses as strings, PascalCase field names.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cid::Cid;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::{Signature, SignatureType};
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::state::ActorState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::block::{BlockHeader, TipSet};
use crate::devnet::MsgLookup;
use crate::message::{SignedMessage, message_cid};

/// A CID as Lotus writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidJson(pub Cid);

impl Serialize for CidJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Link {
            #[serde(rename = "/")]
            link: String,
        }
        Link {
            link: self.0.to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CidJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Link {
            #[serde(rename = "/")]
            link: String,
        }
        let l = Link::deserialize(d)?;
        Cid::from_str(&l.link)
            .map(CidJson)
            .map_err(|e| serde::de::Error::custom(format!("invalid CID {:?}: {e}", l.link)))
    }
}

/// Addresses as strings, read by [`ferrite_types::address::parse`]: `f` and
/// `t` prefixes alike, and exactly the strings go-address (so Lotus) accepts.
pub mod address {
    use super::*;

    /// Serializes an address.
    pub fn serialize<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&a.to_string())
    }

    /// Deserializes an address.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Parses `f…` or `t…` addresses as go-address does.
    pub fn parse(text: &str) -> Result<Address, String> {
        ferrite_types::address::parse(text).map_err(|e| e.to_string())
    }
}

/// An address as a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressJson(#[serde(with = "address")] pub Address);

/// Token amounts and big integers as decimal strings.
pub mod token {
    use super::*;

    /// Serializes an amount in attoFIL.
    pub fn serialize<S: Serializer>(t: &TokenAmount, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.atto().to_string())
    }

    /// Deserializes an amount in attoFIL.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TokenAmount, D::Error> {
        let text = String::deserialize(d)?;
        let atto = fvm_shared::bigint::BigInt::from_str(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid big integer {text:?}: {e}")))?;
        Ok(TokenAmount::from_atto(atto))
    }
}

/// Optional bytes as base64 (null when empty).
pub mod bytes {
    use super::*;

    /// Serializes bytes.
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if b.is_empty() {
            s.serialize_none()
        } else {
            s.serialize_str(&B64.encode(b))
        }
    }

    /// Deserializes bytes (null is empty).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(t) => B64
                .decode(t.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}"))),
        }
    }
}

/// A message, with Lotus's extra `CID` on output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageJson {
    /// Always 0.
    #[serde(default)]
    pub version: u64,
    /// Recipient.
    #[serde(with = "address")]
    pub to: Address,
    /// Sender.
    #[serde(with = "address")]
    pub from: Address,
    /// Sender nonce.
    #[serde(default)]
    pub nonce: u64,
    /// attoFIL sent.
    #[serde(with = "token")]
    pub value: TokenAmount,
    /// Gas limit.
    #[serde(default)]
    pub gas_limit: u64,
    /// Fee cap, attoFIL per gas.
    #[serde(with = "token")]
    pub gas_fee_cap: TokenAmount,
    /// Premium, attoFIL per gas.
    #[serde(with = "token")]
    pub gas_premium: TokenAmount,
    /// Method number.
    #[serde(default)]
    pub method: u64,
    /// CBOR parameters.
    #[serde(with = "bytes", default)]
    pub params: Vec<u8>,
    /// The message's CID (output only; ignored on input).
    #[serde(rename = "CID", skip_serializing_if = "Option::is_none", default)]
    pub cid: Option<CidJson>,
}

impl From<&Message> for MessageJson {
    fn from(m: &Message) -> Self {
        Self {
            version: m.version,
            to: m.to,
            from: m.from,
            nonce: m.sequence,
            value: m.value.clone(),
            gas_limit: m.gas_limit,
            gas_fee_cap: m.gas_fee_cap.clone(),
            gas_premium: m.gas_premium.clone(),
            method: m.method_num,
            params: m.params.to_vec(),
            cid: message_cid(m).ok().map(CidJson),
        }
    }
}

impl From<MessageJson> for Message {
    fn from(m: MessageJson) -> Self {
        Message {
            version: m.version,
            to: m.to,
            from: m.from,
            sequence: m.nonce,
            value: m.value,
            method_num: m.method,
            params: RawBytes::new(m.params),
            gas_limit: m.gas_limit,
            gas_fee_cap: m.gas_fee_cap,
            gas_premium: m.gas_premium,
        }
    }
}

/// A signature: `{"Type": 1|2, "Data": base64}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignatureJson {
    /// 1 secp256k1, 2 BLS.
    #[serde(rename = "Type")]
    pub sig_type: u8,
    /// The bytes.
    #[serde(with = "bytes")]
    pub data: Vec<u8>,
}

impl From<&Signature> for SignatureJson {
    fn from(s: &Signature) -> Self {
        Self {
            sig_type: s.sig_type as u8,
            data: s.bytes.clone(),
        }
    }
}

impl TryFrom<SignatureJson> for Signature {
    type Error = String;
    fn try_from(s: SignatureJson) -> Result<Self, String> {
        let sig_type = match s.sig_type {
            1 => SignatureType::Secp256k1,
            2 => SignatureType::BLS,
            t => return Err(format!("unsupported signature type {t}")),
        };
        Ok(Signature {
            sig_type,
            bytes: s.data,
        })
    }
}

/// A signed message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignedMessageJson {
    /// The message.
    pub message: MessageJson,
    /// The signature.
    pub signature: SignatureJson,
    /// Its CID (output only).
    #[serde(rename = "CID", skip_serializing_if = "Option::is_none", default)]
    pub cid: Option<CidJson>,
}

impl From<&SignedMessage> for SignedMessageJson {
    fn from(sm: &SignedMessage) -> Self {
        Self {
            message: (&sm.message).into(),
            signature: (&sm.signature).into(),
            cid: sm.cid().ok().map(CidJson),
        }
    }
}

impl TryFrom<SignedMessageJson> for SignedMessage {
    type Error = String;
    fn try_from(s: SignedMessageJson) -> Result<Self, String> {
        Ok(SignedMessage {
            message: s.message.into(),
            signature: s.signature.try_into()?,
        })
    }
}

/// An actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActorJson {
    /// Code CID.
    pub code: CidJson,
    /// State root.
    pub head: CidJson,
    /// Nonce.
    pub nonce: u64,
    /// Balance.
    #[serde(with = "token")]
    pub balance: TokenAmount,
    /// The f4 address, if any.
    pub delegated_address: Option<AddressJson>,
}

impl From<&ActorState> for ActorJson {
    fn from(a: &ActorState) -> Self {
        Self {
            code: CidJson(a.code),
            head: CidJson(a.state),
            nonce: a.sequence,
            balance: a.balance.clone(),
            delegated_address: a.delegated_address.map(AddressJson),
        }
    }
}

/// A message receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiptJson {
    /// Exit code.
    pub exit_code: u32,
    /// Return value (CBOR), base64.
    #[serde(with = "bytes", default)]
    pub r#return: Vec<u8>,
    /// Gas used.
    pub gas_used: u64,
    /// Events AMT root.
    pub events_root: Option<CidJson>,
}

impl From<&Receipt> for ReceiptJson {
    fn from(r: &Receipt) -> Self {
        Self {
            exit_code: r.exit_code.value(),
            r#return: r.return_data.to_vec(),
            gas_used: r.gas_used,
            events_root: r.events_root.map(CidJson),
        }
    }
}

impl From<ReceiptJson> for Receipt {
    fn from(r: ReceiptJson) -> Self {
        Receipt {
            exit_code: ExitCode::new(r.exit_code),
            return_data: RawBytes::new(r.r#return),
            gas_used: r.gas_used,
            events_root: r.events_root.map(|c| c.0),
        }
    }
}

/// A block header.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockHeaderJson {
    #[serde(with = "address")]
    miner: Address,
    ticket: Option<TicketJson>,
    election_proof: Option<ElectionProofJson>,
    beacon_entries: Vec<BeaconEntryJson>,
    #[serde(rename = "WinPoStProof")]
    win_post_proof: Vec<PoStProofJson>,
    parents: Vec<CidJson>,
    parent_weight: String,
    height: i64,
    parent_state_root: CidJson,
    parent_message_receipts: CidJson,
    messages: CidJson,
    #[serde(rename = "BLSAggregate")]
    bls_aggregate: Option<SignatureJson>,
    timestamp: u64,
    block_sig: Option<SignatureJson>,
    fork_signaling: u64,
    #[serde(with = "token")]
    parent_base_fee: TokenAmount,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TicketJson {
    #[serde(rename = "VRFProof", with = "bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ElectionProofJson {
    win_count: i64,
    #[serde(rename = "VRFProof", with = "bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct BeaconEntryJson {
    round: u64,
    #[serde(with = "bytes")]
    data: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PoStProofJson {
    #[serde(rename = "PoStProof")]
    post_proof: i64,
    #[serde(with = "bytes")]
    proof_bytes: Vec<u8>,
}

impl From<&BlockHeader> for BlockHeaderJson {
    fn from(b: &BlockHeader) -> Self {
        Self {
            miner: b.miner,
            ticket: b.ticket.as_ref().map(|t| TicketJson {
                vrf_proof: t.vrf_proof.clone(),
            }),
            election_proof: b.election_proof.as_ref().map(|e| ElectionProofJson {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof.clone(),
            }),
            beacon_entries: b
                .beacon_entries
                .iter()
                .map(|e| BeaconEntryJson {
                    round: e.round,
                    data: e.data.clone(),
                })
                .collect(),
            win_post_proof: b
                .win_post_proof
                .iter()
                .map(|p| PoStProofJson {
                    post_proof: i64::from(p.post_proof),
                    proof_bytes: p.proof_bytes.clone(),
                })
                .collect(),
            parents: b.parents.iter().copied().map(CidJson).collect(),
            parent_weight: b.parent_weight.to_string(),
            height: b.height,
            parent_state_root: CidJson(b.parent_state_root),
            parent_message_receipts: CidJson(b.parent_message_receipts),
            messages: CidJson(b.messages),
            bls_aggregate: b.bls_aggregate.as_ref().map(Into::into),
            timestamp: b.timestamp,
            block_sig: b.block_sig.as_ref().map(Into::into),
            fork_signaling: b.fork_signaling,
            parent_base_fee: b.parent_base_fee.clone(),
        }
    }
}

/// A tipset: `{"Cids": [...], "Blocks": [...], "Height": n}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TipSetJson {
    cids: Vec<CidJson>,
    blocks: Vec<BlockHeaderJson>,
    height: i64,
}

impl From<&TipSet> for TipSetJson {
    fn from(ts: &TipSet) -> Self {
        Self {
            cids: ts.key.iter().copied().map(CidJson).collect(),
            blocks: ts.blocks.iter().map(Into::into).collect(),
            height: ts.height(),
        }
    }
}

/// StateWaitMsg's and StateSearchMsg's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MsgLookupJson {
    message: CidJson,
    receipt: ReceiptJson,
    return_dec: Option<()>,
    tip_set: Vec<CidJson>,
    height: i64,
}

impl From<&MsgLookup> for MsgLookupJson {
    fn from(l: &MsgLookup) -> Self {
        Self {
            message: CidJson(l.message),
            receipt: (&l.receipt).into(),
            return_dec: None,
            tip_set: l.tipset.key.iter().copied().map(CidJson).collect(),
            height: l.tipset.height(),
        }
    }
}

/// The fields of a MsgLookup a client needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MsgLookupIn {
    /// The message.
    pub message: CidJson,
    /// Its receipt.
    pub receipt: ReceiptJson,
    /// The tipset it was executed in.
    pub tip_set: Vec<CidJson>,
    /// That tipset's height.
    pub height: i64,
}

/// MpoolPushMessage's and GasEstimateMessageGas's send spec.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageSendSpec {
    /// The most the message may pay in fees; 0 lets the node choose.
    #[serde(with = "token", default)]
    pub max_fee: TokenAmount,
}

/// A tipset key: an array of CIDs (empty means the head).
pub type TipSetKeyJson = Vec<CidJson>;

/// The CIDs of a tipset key.
pub fn key(k: &Option<TipSetKeyJson>) -> Vec<Cid> {
    k.as_ref()
        .map(|v| v.iter().map(|c| c.0).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_json_matches_lotus() {
        let m = crate::message::lotus_example_message();
        let json = serde_json::to_value(MessageJson::from(&m)).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            r#"{"Version":42,"To":"f01234","From":"f01234","Nonce":42,"Value":"0","GasLimit":9,
               "GasFeeCap":"0","GasPremium":"0","Method":1,"Params":"Ynl0ZSBhcnJheQ==",
               "CID":{"/":"bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s"}}"#,
        )
        .unwrap();
        assert_eq!(json, expected);
        let back: MessageJson = serde_json::from_value(json).unwrap();
        assert_eq!(Message::from(back), m);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(serde_json::from_str::<CidJson>(r#"{"/":"nope"}"#).is_err());
        assert!(address::parse("t01234").is_ok());
        assert!(address::parse("x01234").is_err());
        let bad_value = r#"{"To":"f01","From":"f02","Value":1,"GasFeeCap":"0","GasPremium":"0"}"#;
        assert!(serde_json::from_str::<MessageJson>(bad_value).is_err());
    }

    /// Issue 12, point 6: JSON-RPC params take the addresses go-address takes.
    #[test]
    fn issue_12_json_addresses_parse_as_go_address_does() {
        for (text, id) in [
            ("f09223372036854775807", 9_223_372_036_854_775_807),
            ("t09223372036854775807", 9_223_372_036_854_775_807),
            ("t01000", 1000),
        ] {
            let a: AddressJson = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(a.0.id(), Ok(id), "{text}");
        }
        for text in ["f09223372036854775808", "t09223372036854775808", "f0+1", ""] {
            let e = serde_json::from_value::<AddressJson>(serde_json::json!(text)).unwrap_err();
            assert!(e.to_string().starts_with("invalid address"), "{text}: {e}");
        }
        let over = r#"{"To":"f09223372036854775808","From":"f02","Value":"1","GasFeeCap":"0","GasPremium":"0"}"#;
        let e = serde_json::from_str::<MessageJson>(over).unwrap_err();
        assert!(e.to_string().contains("2^63-1"), "{e}");
    }
}
