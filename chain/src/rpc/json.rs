//! Lotus's JSON shapes: CIDs as `{"/": "…"}`, big integers as decimal
//! strings, bytes as base64, addresses as strings, PascalCase field names.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cid::Cid;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::state::ActorState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::block::{BlockHeader, ElectionProof, Ticket, TipSet};
use crate::devnet::{BlockMsg, BlockTemplate, MiningBase, MsgLookup};
use crate::message::{MessageSignature, SignedMessage, message_cid};
use crate::winning::ChallengedSector;
use fvm_shared::bigint::BigInt;
use fvm_shared::sector::{PoStProof, RegisteredPoStProof, RegisteredSealProof};

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
    /// 1 secp256k1, 2 BLS, 3 Delegated (messages only).
    #[serde(rename = "Type")]
    pub sig_type: u8,
    /// The bytes.
    #[serde(with = "bytes")]
    pub data: Vec<u8>,
}

impl From<&Signature> for SignatureJson {
    fn from(s: &Signature) -> Self {
        (&MessageSignature::from(s.clone())).into()
    }
}

/// A block's or a wallet's signature: secp256k1 or BLS.
impl TryFrom<SignatureJson> for Signature {
    type Error = String;
    fn try_from(s: SignatureJson) -> Result<Self, String> {
        MessageSignature::try_from(s)?
            .to_fvm()
            .map_err(|e| format!("unsupported signature: {e}"))
    }
}

impl From<&MessageSignature> for SignatureJson {
    fn from(s: &MessageSignature) -> Self {
        Self {
            sig_type: s.sig_type as u8,
            data: s.bytes.clone(),
        }
    }
}

impl TryFrom<SignatureJson> for MessageSignature {
    type Error = String;
    fn try_from(s: SignatureJson) -> Result<Self, String> {
        let sig_type = MessageSignature::kind(s.sig_type)
            .ok_or_else(|| format!("unsupported signature type {}", s.sig_type))?;
        Ok(MessageSignature {
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockHeaderJson {
    #[serde(with = "address")]
    miner: Address,
    ticket: Option<TicketJson>,
    election_proof: Option<ElectionProofJson>,
    #[serde(default, deserialize_with = "nullable")]
    beacon_entries: Vec<BeaconEntryJson>,
    #[serde(rename = "WinPoStProof", default, deserialize_with = "nullable")]
    win_post_proof: Vec<PoStProofJson>,
    #[serde(default, deserialize_with = "nullable")]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TicketJson {
    #[serde(rename = "VRFProof", with = "bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ElectionProofJson {
    win_count: i64,
    #[serde(rename = "VRFProof", with = "bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BeaconEntryJson {
    round: u64,
    #[serde(with = "bytes")]
    data: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// A Go slice: `null` reads as empty.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl From<&crate::block::BeaconEntry> for BeaconEntryJson {
    fn from(e: &crate::block::BeaconEntry) -> Self {
        Self {
            round: e.round,
            data: e.data.clone(),
        }
    }
}

impl From<BeaconEntryJson> for crate::block::BeaconEntry {
    fn from(e: BeaconEntryJson) -> Self {
        Self {
            round: e.round,
            data: e.data,
        }
    }
}

impl From<&PoStProof> for PoStProofJson {
    fn from(p: &PoStProof) -> Self {
        Self {
            post_proof: i64::from(p.post_proof),
            proof_bytes: p.proof_bytes.clone(),
        }
    }
}

impl TryFrom<PoStProofJson> for PoStProof {
    type Error = String;
    fn try_from(p: PoStProofJson) -> Result<Self, String> {
        let post_proof = RegisteredPoStProof::from(p.post_proof);
        if let RegisteredPoStProof::Invalid(n) = post_proof {
            return Err(format!("unknown PoSt proof {n}"));
        }
        Ok(PoStProof {
            post_proof,
            proof_bytes: p.proof_bytes,
        })
    }
}

impl TryFrom<BlockHeaderJson> for BlockHeader {
    type Error = String;
    fn try_from(b: BlockHeaderJson) -> Result<Self, String> {
        let parent_weight = BigInt::from_str(&b.parent_weight)
            .map_err(|e| format!("ParentWeight {:?}: {e}", b.parent_weight))?;
        Ok(BlockHeader {
            miner: b.miner,
            ticket: b.ticket.map(|t| Ticket {
                vrf_proof: t.vrf_proof,
            }),
            election_proof: b.election_proof.map(|e| ElectionProof {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof,
            }),
            beacon_entries: b.beacon_entries.into_iter().map(Into::into).collect(),
            win_post_proof: b
                .win_post_proof
                .into_iter()
                .map(PoStProof::try_from)
                .collect::<Result<_, _>>()?,
            parents: b.parents.into_iter().map(|c| c.0).collect(),
            parent_weight,
            height: b.height,
            parent_state_root: b.parent_state_root.0,
            parent_message_receipts: b.parent_message_receipts.0,
            messages: b.messages.0,
            bls_aggregate: b.bls_aggregate.map(Signature::try_from).transpose()?,
            timestamp: b.timestamp,
            block_sig: b.block_sig.map(Signature::try_from).transpose()?,
            fork_signaling: b.fork_signaling,
            parent_base_fee: b.parent_base_fee,
        })
    }
}

/// A challenged sector (Lotus's `ExtendedSectorInfo`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExtendedSectorInfoJson {
    /// Its seal proof.
    pub seal_proof: i64,
    /// Its number.
    pub sector_number: u64,
    /// Its CommR before its last update, if any.
    pub sector_key: Option<CidJson>,
    /// Its CommR.
    #[serde(rename = "SealedCID")]
    pub sealed_cid: CidJson,
}

/// `MinerGetBaseInfo`'s answer (Lotus's `MiningBaseInfo`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MiningBaseInfoJson {
    miner_power: String,
    network_power: String,
    #[serde(default, deserialize_with = "nullable")]
    sectors: Vec<ExtendedSectorInfoJson>,
    #[serde(with = "address")]
    worker_key: Address,
    sector_size: u64,
    prev_beacon_entry: BeaconEntryJson,
    #[serde(default, deserialize_with = "nullable")]
    beacon_entries: Vec<BeaconEntryJson>,
    eligible_for_mining: bool,
}

impl From<&MiningBase> for MiningBaseInfoJson {
    fn from(m: &MiningBase) -> Self {
        Self {
            miner_power: m.miner_power.to_string(),
            network_power: m.network_power.to_string(),
            sectors: m
                .sectors
                .iter()
                .map(|s| ExtendedSectorInfoJson {
                    seal_proof: i64::from(s.seal_proof),
                    sector_number: s.number,
                    sector_key: s.sector_key.map(CidJson),
                    sealed_cid: CidJson(s.sealed_cid),
                })
                .collect(),
            worker_key: m.worker_key,
            sector_size: m.sector_size,
            prev_beacon_entry: (&m.prev_beacon).into(),
            beacon_entries: m.beacon_entries.iter().map(Into::into).collect(),
            eligible_for_mining: m.eligible,
        }
    }
}

impl TryFrom<MiningBaseInfoJson> for MiningBase {
    type Error = String;
    fn try_from(m: MiningBaseInfoJson) -> Result<Self, String> {
        let big =
            |what: &str, t: &str| BigInt::from_str(t).map_err(|e| format!("{what} {t:?}: {e}"));
        Ok(MiningBase {
            miner_power: big("MinerPower", &m.miner_power)?,
            network_power: big("NetworkPower", &m.network_power)?,
            sectors: m
                .sectors
                .into_iter()
                .map(|s| {
                    let seal_proof = RegisteredSealProof::from(s.seal_proof);
                    if let RegisteredSealProof::Invalid(n) = seal_proof {
                        return Err(format!(
                            "sector {}: unknown seal proof {n}",
                            s.sector_number
                        ));
                    }
                    Ok(ChallengedSector {
                        seal_proof,
                        number: s.sector_number,
                        sealed_cid: s.sealed_cid.0,
                        sector_key: s.sector_key.map(|c| c.0),
                    })
                })
                .collect::<Result<_, String>>()?,
            worker_key: m.worker_key,
            sector_size: m.sector_size,
            prev_beacon: m.prev_beacon_entry.into(),
            beacon_entries: m.beacon_entries.into_iter().map(Into::into).collect(),
            eligible: m.eligible_for_mining,
        })
    }
}

/// `MinerCreateBlock`'s parameter (Lotus's `BlockTemplate`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockTemplateJson {
    #[serde(with = "address")]
    miner: Address,
    #[serde(default, deserialize_with = "nullable")]
    parents: Vec<CidJson>,
    ticket: TicketJson,
    eproof: Option<ElectionProofJson>,
    #[serde(default, deserialize_with = "nullable")]
    beacon_values: Vec<BeaconEntryJson>,
    #[serde(default, deserialize_with = "nullable")]
    messages: Vec<SignedMessageJson>,
    epoch: i64,
    timestamp: u64,
    #[serde(rename = "WinningPoStProof", default, deserialize_with = "nullable")]
    winning_post_proof: Vec<PoStProofJson>,
}

impl From<&BlockTemplate> for BlockTemplateJson {
    fn from(t: &BlockTemplate) -> Self {
        Self {
            miner: t.miner,
            parents: t.parents.iter().copied().map(CidJson).collect(),
            ticket: TicketJson {
                vrf_proof: t.ticket.vrf_proof.clone(),
            },
            eproof: t.election_proof.as_ref().map(|e| ElectionProofJson {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof.clone(),
            }),
            beacon_values: t.beacon_values.iter().map(Into::into).collect(),
            messages: t.messages.iter().map(Into::into).collect(),
            epoch: t.epoch,
            timestamp: t.timestamp,
            winning_post_proof: t.win_post_proof.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<BlockTemplateJson> for BlockTemplate {
    type Error = String;
    fn try_from(t: BlockTemplateJson) -> Result<Self, String> {
        Ok(BlockTemplate {
            miner: t.miner,
            parents: t.parents.into_iter().map(|c| c.0).collect(),
            ticket: Ticket {
                vrf_proof: t.ticket.vrf_proof,
            },
            election_proof: t.eproof.map(|e| ElectionProof {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof,
            }),
            beacon_values: t.beacon_values.into_iter().map(Into::into).collect(),
            messages: t
                .messages
                .into_iter()
                .map(SignedMessage::try_from)
                .collect::<Result<_, _>>()?,
            epoch: t.epoch,
            timestamp: t.timestamp,
            win_post_proof: t
                .winning_post_proof
                .into_iter()
                .map(PoStProof::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `MinerCreateBlock`'s answer and `SyncSubmitBlock`'s parameter (Lotus's
/// `BlockMsg`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockMsgJson {
    header: BlockHeaderJson,
    #[serde(default, deserialize_with = "nullable")]
    bls_messages: Vec<CidJson>,
    #[serde(default, deserialize_with = "nullable")]
    secpk_messages: Vec<CidJson>,
}

impl From<&BlockMsg> for BlockMsgJson {
    fn from(b: &BlockMsg) -> Self {
        Self {
            header: (&b.header).into(),
            bls_messages: b.bls_messages.iter().copied().map(CidJson).collect(),
            secpk_messages: b.secp_messages.iter().copied().map(CidJson).collect(),
        }
    }
}

impl TryFrom<BlockMsgJson> for BlockMsg {
    type Error = String;
    fn try_from(b: BlockMsgJson) -> Result<Self, String> {
        Ok(BlockMsg {
            header: b.header.try_into()?,
            bls_messages: b.bls_messages.into_iter().map(|c| c.0).collect(),
            secp_messages: b.secpk_messages.into_iter().map(|c| c.0).collect(),
        })
    }
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

    /// Lotus's shapes for a remote miner: `MiningBaseInfo`, `BlockTemplate`
    /// (Go nil slices as null) and `BlockMsg`.
    #[test]
    fn mining_json_matches_lotus() {
        let cid = "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s";
        let base: MiningBaseInfoJson = serde_json::from_value(serde_json::json!({
            "MinerPower": "2048", "NetworkPower": "4096",
            "Sectors": [{"SealProof": 0, "SectorNumber": 1, "SectorKey": null, "SealedCID": {"/": cid}}],
            "WorkerKey": "f01001", "SectorSize": 2048,
            "PrevBeaconEntry": {"Round": 9, "Data": "AQI="},
            "BeaconEntries": [{"Round": 10, "Data": "AwQ="}],
            "EligibleForMining": true
        }))
        .unwrap();
        let base = MiningBase::try_from(base).unwrap();
        assert_eq!(base.miner_power, BigInt::from(2048));
        assert_eq!(
            base.sectors[0].seal_proof,
            RegisteredSealProof::StackedDRG2KiBV1
        );
        assert_eq!(base.sectors[0].sealed_cid.to_string(), cid);
        assert_eq!(base.beacon_entries[0].data, vec![3, 4]);
        let back = serde_json::to_value(MiningBaseInfoJson::from(&base)).unwrap();
        assert_eq!(back["Sectors"][0]["SealedCID"]["/"], cid);
        assert_eq!(back["PrevBeaconEntry"]["Round"], 9);
        assert_eq!(back["EligibleForMining"], true);

        let t: BlockTemplateJson = serde_json::from_value(serde_json::json!({
            "Miner": "f01002", "Parents": [{"/": cid}],
            "Ticket": {"VRFProof": "AQID"}, "Eproof": {"WinCount": 1, "VRFProof": "BAU="},
            "BeaconValues": null, "Messages": null, "Epoch": 11, "Timestamp": 42,
            "WinningPoStProof": [{"PoStProof": 0, "ProofBytes": "Bgc="}]
        }))
        .unwrap();
        let t = BlockTemplate::try_from(t).unwrap();
        assert_eq!(t.miner, Address::new_id(1002));
        assert_eq!(t.ticket.vrf_proof, vec![1, 2, 3]);
        assert_eq!(t.election_proof.as_ref().unwrap().win_count, 1);
        assert!(t.beacon_values.is_empty() && t.messages.is_empty());
        assert_eq!(
            t.win_post_proof[0].post_proof,
            RegisteredPoStProof::StackedDRGWinning2KiBV1
        );
        let back = serde_json::to_value(BlockTemplateJson::from(&t)).unwrap();
        assert_eq!(back["Eproof"]["VRFProof"], "BAU=");
        assert_eq!(back["WinningPoStProof"][0]["ProofBytes"], "Bgc=");
        let bad = serde_json::json!({"PoStProof": 9999, "ProofBytes": null});
        let bad: PoStProofJson = serde_json::from_value(bad).unwrap();
        assert!(
            PoStProof::try_from(bad)
                .unwrap_err()
                .contains("unknown PoSt proof")
        );

        let header = BlockHeader {
            miner: Address::new_id(1002),
            ticket: Some(t.ticket.clone()),
            election_proof: t.election_proof.clone(),
            beacon_entries: vec![],
            win_post_proof: t.win_post_proof.clone(),
            parents: t.parents.clone(),
            parent_weight: BigInt::from(11),
            height: 11,
            parent_state_root: t.parents[0],
            parent_message_receipts: t.parents[0],
            messages: t.parents[0],
            bls_aggregate: None,
            timestamp: 42,
            block_sig: Some(Signature::new_bls(vec![9; 96])),
            fork_signaling: 0,
            parent_base_fee: TokenAmount::from_atto(100),
        };
        let msg = BlockMsg {
            header,
            bls_messages: vec![],
            secp_messages: vec![t.parents[0]],
        };
        let json = serde_json::to_value(BlockMsgJson::from(&msg)).unwrap();
        assert_eq!(json["Header"]["Miner"], "f01002");
        assert_eq!(json["Header"]["ParentWeight"], "11");
        assert_eq!(json["SecpkMessages"][0]["/"], cid);
        let back: BlockMsgJson = serde_json::from_value(json).unwrap();
        assert_eq!(BlockMsg::try_from(back).unwrap(), msg);
    }
}
