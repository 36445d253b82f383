//! `/fil/storage/mk/1.2.x`: [`DealParams`] in, [`DealResponse`] out.
//!
//! A client sends one `DealParams` map and waits; the provider answers one
//! `DealResponse` map and closes the stream. Both 1.2.0 and 1.2.1 carry the
//! same seven-key map (Boost's client always writes all seven); a 1.2.0-only
//! peer simply skips the two 1.2.1 keys.

use std::collections::BTreeMap;

use cid::Cid;
use fil_actor_market_state::v18::ClientDealProposal;
use serde::{Deserialize, Deserializer, Serialize};

use super::cbor::{Decoder, Encoder, MapWriter};
use super::{CborMap, WireError, decode_nested, required, wire_message};
use crate::deal::DealUuid;

/// Boost `types.DealParams`: one storage deal proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealParams {
    /// `DealUUID`: the client's handle for this deal (status requests use it).
    pub deal_uuid: DealUuid,
    /// `IsOffline`: the client delivers the data out of band (import).
    pub is_offline: bool,
    /// `ClientDealProposal`: the signed on-chain proposal (a go-state-types
    /// tuple, byte-identical to what `PublishStorageDeals` carries).
    pub client_deal_proposal: ClientDealProposal,
    /// `DealDataRoot`: the payload root CID of the deal's CAR.
    pub deal_data_root: Cid,
    /// `Transfer`: how to fetch the data; the zero value when offline.
    pub transfer: Transfer,
    /// `RemoveUnsealedCopy` (1.2.1): drop the unsealed copy after sealing.
    /// Absent (1.2.0 peers) means `false`.
    pub remove_unsealed_copy: bool,
    /// `SkipIPNIAnnounce` (1.2.1): do not announce the deal to IPNI.
    /// Absent means `false`.
    pub skip_ipni_announce: bool,
}

impl CborMap for DealParams {
    const NAME: &'static str = "DealParams";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("DealUUID", |e| {
            e.bytes(&format!("{path}.DealUUID"), &self.deal_uuid.0)
        })?;
        m.field("IsOffline", |e| {
            e.bool(self.is_offline);
            Ok(())
        })?;
        m.field("ClientDealProposal", |e| {
            e.nested(
                &format!("{path}.ClientDealProposal"),
                &self.client_deal_proposal,
            )
        })?;
        m.field("DealDataRoot", |e| {
            e.cid(&self.deal_data_root);
            Ok(())
        })?;
        m.field("Transfer", |e| {
            self.transfer.encode(e, &format!("{path}.Transfer"))
        })?;
        m.field("RemoveUnsealedCopy", |e| {
            e.bool(self.remove_unsealed_copy);
            Ok(())
        })?;
        m.field("SkipIPNIAnnounce", |e| {
            e.bool(self.skip_ipni_announce);
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let (mut uuid, mut offline, mut proposal, mut root) = (None, false, None, None);
        let (mut transfer, mut remove_unsealed, mut skip_ipni) =
            (Transfer::default(), false, false);
        dec.map(|d, key| {
            match key {
                "DealUUID" => uuid = Some(DealUuid(d.bytes16()?)),
                "IsOffline" => offline = d.bool()?,
                "ClientDealProposal" => proposal = Some(d.nested()?),
                "DealDataRoot" => root = Some(d.cid()?),
                "Transfer" => transfer = decode_nested(d)?,
                "RemoveUnsealedCopy" => remove_unsealed = d.bool()?,
                "SkipIPNIAnnounce" => skip_ipni = d.bool()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            deal_uuid: required(dec, uuid, "DealUUID")?,
            is_offline: offline,
            client_deal_proposal: required(dec, proposal, "ClientDealProposal")?,
            deal_data_root: required(dec, root, "DealDataRoot")?,
            transfer,
            remove_unsealed_copy: remove_unsealed,
            skip_ipni_announce: skip_ipni,
        })
    }
}

/// Boost `types.Transfer`: how the provider gets the deal's data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transfer {
    /// `Type`: `"http"` or `"libp2p"` for online deals; empty when offline.
    pub kind: String,
    /// `ClientID`: an optional client-chosen id for the transfer.
    pub client_id: String,
    /// `Params`: transport-specific bytes; for `http`/`libp2p`, JSON
    /// `{"URL": ..., "Headers": {...}}` (see [`Transfer::http_request`]).
    pub params: Vec<u8>,
    /// `Size`: bytes the provider will receive (the CAR size).
    pub size: u64,
}

impl Transfer {
    /// Parses `Params` as Boost's `transport/types.HttpRequest`.
    pub fn http_request(&self) -> Result<HttpRequest, TransferParamsError> {
        if self.kind != "http" && self.kind != "libp2p" {
            return Err(TransferParamsError::UnknownType(self.kind.clone()));
        }
        if self.params.is_empty() {
            return Err(TransferParamsError::Empty);
        }
        let req: HttpRequest =
            serde_json::from_slice(&self.params).map_err(|e| TransferParamsError::Json {
                error: e.to_string(),
                params: String::from_utf8_lossy(&self.params)
                    .chars()
                    .take(256)
                    .collect(),
            })?;
        if req.url.is_empty() {
            return Err(TransferParamsError::NoUrl);
        }
        Ok(req)
    }
}

impl CborMap for Transfer {
    const NAME: &'static str = "Transfer";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Type", |e| e.text(&format!("{path}.Type"), &self.kind))?;
        m.field("ClientID", |e| {
            e.text(&format!("{path}.ClientID"), &self.client_id)
        })?;
        m.field("Params", |e| {
            e.bytes(&format!("{path}.Params"), &self.params)
        })?;
        m.field("Size", |e| {
            e.u64(self.size);
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut t = Self::default();
        dec.map(|d, key| {
            match key {
                "Type" => t.kind = d.text()?,
                "ClientID" => t.client_id = d.text()?,
                "Params" => t.params = d.bytes()?,
                "Size" => t.size = d.u64()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(t)
    }
}

/// Boost `transport/types.HttpRequest`, the JSON inside `Transfer.Params`.
///
/// Go's `encoding/json` matches keys case-insensitively, so `url` and
/// `headers` are accepted too; `"Headers": null` (a nil Go map) is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Where to GET the CAR: `http(s)://...` or `libp2p:///ip4/.../p2p/...`.
    #[serde(rename = "URL", alias = "url", alias = "Url")]
    pub url: String,
    /// Extra request headers (e.g. an auth token).
    #[serde(
        rename = "Headers",
        alias = "headers",
        default,
        deserialize_with = "null_as_empty"
    )]
    pub headers: BTreeMap<String, String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

/// Why `Transfer.Params` is not a usable `HttpRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferParamsError {
    /// `Transfer.Type` is neither `http` nor `libp2p`.
    #[error("transfer type {0:?} has no HTTP parameters (want \"http\" or \"libp2p\")")]
    UnknownType(String),
    /// `Transfer.Params` is empty.
    #[error("transfer params are empty")]
    Empty,
    /// `Transfer.Params` is not the expected JSON.
    #[error(
        "transfer params are not {{\"URL\":..,\"Headers\":{{..}}}} JSON: {error} (params: {params:?})"
    )]
    Json {
        /// The JSON parser's message.
        error: String,
        /// The start of the params, for the log.
        params: String,
    },
    /// The JSON has no URL.
    #[error("transfer params have an empty URL")]
    NoUrl,
}

/// Boost `types.DealResponse`: the provider's answer to a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealResponse {
    /// `Accepted`: the provider took the deal.
    pub accepted: bool,
    /// `Message`: why not, when rejected (at most 8192 bytes: Go's limit).
    pub message: String,
}

impl DealResponse {
    /// An acceptance.
    pub fn accept() -> Self {
        Self {
            accepted: true,
            message: String::new(),
        }
    }

    /// A rejection with its reason.
    pub fn reject(message: impl Into<String>) -> Self {
        Self {
            accepted: false,
            message: message.into(),
        }
    }
}

impl CborMap for DealResponse {
    const NAME: &'static str = "DealResponse";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Accepted", |e| {
            e.bool(self.accepted);
            Ok(())
        })?;
        m.field("Message", |e| {
            e.text(&format!("{path}.Message"), &self.message)
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut r = Self::default();
        dec.map(|d, key| {
            match key {
                "Accepted" => r.accepted = d.bool()?,
                "Message" => r.message = d.text()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(r)
    }
}

wire_message!(DealParams, Transfer, DealResponse);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::wire::cbor::Encoder;
    use crate::wire::fixtures;
    use crate::wire::{DecodeReason, WireMessage};

    fn params() -> DealParams {
        DealParams {
            deal_uuid: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".parse().unwrap(),
            is_offline: false,
            client_deal_proposal: fixtures::client_proposal(),
            deal_data_root: fixtures::root_cid(),
            transfer: Transfer {
                kind: "http".into(),
                client_id: String::new(),
                params:
                    br#"{"URL":"https://example.com/x.car","Headers":{"Authorization":"Bearer t"}}"#
                        .to_vec(),
                size: 1_234_567,
            },
            remove_unsealed_copy: true,
            skip_ipni_announce: false,
        }
    }

    /// Writes a map the way a hand-rolled Go peer might: keys in the given
    /// order, values given as raw CBOR.
    fn raw_map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![0xa0 | entries.len() as u8];
        for (k, v) in entries {
            let mut e = Encoder::new();
            e.text("k", k).unwrap();
            out.extend(e.into_bytes());
            out.extend(v);
        }
        out
    }

    fn field_bytes(write: impl FnOnce(&mut Encoder)) -> Vec<u8> {
        let mut e = Encoder::new();
        write(&mut e);
        e.into_bytes()
    }

    #[test]
    fn deal_params_round_trip_in_cbor_gen_key_order() {
        let p = params();
        let bytes = p.to_cbor().unwrap();
        assert_eq!(DealParams::from_cbor(&bytes).unwrap(), p);
        // 7 keys, DealUUID first as a 16-byte string, as cbor-gen writes it.
        assert_eq!(bytes[0], 0xa7);
        assert_eq!(&bytes[1..10], b"\x68DealUUID");
        assert_eq!(bytes[10], 0x50);
        let keys: Vec<String> = top_keys(&bytes);
        assert_eq!(
            keys,
            [
                "DealUUID",
                "Transfer",
                "IsOffline",
                "DealDataRoot",
                "SkipIPNIAnnounce",
                "ClientDealProposal",
                "RemoveUnsealedCopy"
            ]
        );
        let transfer = p.transfer.to_cbor().unwrap();
        assert_eq!(top_keys(&transfer), ["Size", "Type", "Params", "ClientID"]);
    }

    fn top_keys(bytes: &[u8]) -> Vec<String> {
        let mut keys = Vec::new();
        Decoder::new(bytes, "m")
            .map(|_, k| {
                keys.push(k.to_owned());
                Ok(false)
            })
            .unwrap();
        keys
    }

    #[test]
    fn proposal_bytes_are_the_actor_tuple() {
        let p = params();
        let bytes = p.to_cbor().unwrap();
        let tuple = fvm_ipld_encoding::to_vec(&p.client_deal_proposal).unwrap();
        assert_eq!(tuple[0], 0x82, "ClientDealProposal is a 2-tuple");
        let pos = bytes
            .windows(tuple.len())
            .position(|w| w == tuple.as_slice())
            .expect("proposal tuple embedded verbatim");
        assert_eq!(&bytes[pos - 19..pos], b"\x72ClientDealProposal");
    }

    #[test]
    fn go_shaped_map_in_other_order_with_unknown_keys_decodes() {
        let p = params();
        let proposal = fvm_ipld_encoding::to_vec(&p.client_deal_proposal).unwrap();
        let transfer = raw_map(&[
            (
                "Params",
                field_bytes(|e| e.bytes("p", &p.transfer.params).unwrap()),
            ),
            ("Extra", field_bytes(|e| e.u64(9))),
            ("Type", field_bytes(|e| e.text("t", "http").unwrap())),
            ("Size", field_bytes(|e| e.u64(1_234_567))),
        ]);
        let bytes = raw_map(&[
            ("Transfer", transfer),
            (
                "SomeFutureField",
                vec![0x82, 0xa1, 0x61, b'x', 0xf6, 0xd8, 0x2a, 0x41, 0x00],
            ),
            ("ClientDealProposal", proposal),
            ("DealDataRoot", field_bytes(|e| e.cid(&p.deal_data_root))),
            ("RemoveUnsealedCopy", vec![0xf5]),
            (
                "DealUUID",
                field_bytes(|e| e.bytes("u", &p.deal_uuid.0).unwrap()),
            ),
        ]);
        let got = DealParams::from_cbor(&bytes).unwrap();
        assert_eq!(got, p);
    }

    #[test]
    fn fields_of_1_2_1_default_to_false_when_absent() {
        let p = params();
        let bytes = raw_map(&[
            (
                "DealUUID",
                field_bytes(|e| e.bytes("u", &p.deal_uuid.0).unwrap()),
            ),
            ("IsOffline", vec![0xf5]),
            (
                "ClientDealProposal",
                fvm_ipld_encoding::to_vec(&p.client_deal_proposal).unwrap(),
            ),
            ("DealDataRoot", field_bytes(|e| e.cid(&p.deal_data_root))),
            ("Transfer", Transfer::default().to_cbor().unwrap()),
        ]);
        let got = DealParams::from_cbor(&bytes).unwrap();
        assert!(got.is_offline);
        assert!(!got.remove_unsealed_copy);
        assert!(!got.skip_ipni_announce);
        assert_eq!(got.transfer, Transfer::default());
    }

    #[test]
    fn malformed_input_names_the_field() {
        let p = params();
        // Transfer.Size as text.
        let transfer = raw_map(&[("Size", field_bytes(|e| e.text("s", "12").unwrap()))]);
        let bytes = raw_map(&[
            (
                "DealUUID",
                field_bytes(|e| e.bytes("u", &p.deal_uuid.0).unwrap()),
            ),
            ("Transfer", transfer),
        ]);
        let err = DealParams::from_cbor(&bytes).unwrap_err().to_string();
        assert!(err.contains("DealParams.Transfer.Size"), "{err}");
        assert!(
            err.contains("expected unsigned integer, found text string"),
            "{err}"
        );

        // A 15-byte UUID.
        let bytes = raw_map(&[("DealUUID", field_bytes(|e| e.bytes("u", &[0; 15]).unwrap()))]);
        let err = DealParams::from_cbor(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("DealParams.DealUUID") && err.contains("16 bytes"),
            "{err}"
        );

        // A bool that is not a bool.
        let bytes = raw_map(&[("IsOffline", vec![0x01])]);
        let err = DealParams::from_cbor(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("DealParams.IsOffline") && err.contains("expected boolean"),
            "{err}"
        );

        // A broken proposal tuple.
        let bytes = raw_map(&[("ClientDealProposal", vec![0x82, 0x01, 0x02])]);
        let err = DealParams::from_cbor(&bytes).unwrap_err().to_string();
        assert!(err.contains("DealParams.ClientDealProposal"), "{err}");

        // Not a map at all.
        let err = DealParams::from_cbor(&[0x83, 1, 2, 3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected map, found array"), "{err}");

        // Required field missing.
        let err = DealParams::from_cbor(&raw_map(&[])).unwrap_err();
        assert!(matches!(
            err,
            WireError::Decode {
                reason: DecodeReason::Missing("DealUUID"),
                ..
            }
        ));

        // Garbage after the message.
        let mut bytes = p.to_cbor().unwrap();
        bytes.push(0x00);
        let err = DealParams::from_cbor(&bytes).unwrap_err();
        assert!(matches!(
            err,
            WireError::Decode {
                reason: DecodeReason::TrailingBytes(1),
                ..
            }
        ));
    }

    #[test]
    fn truncated_input_errors_at_every_length() {
        let bytes = params().to_cbor().unwrap();
        for len in 0..bytes.len() {
            let err = DealParams::from_cbor(&bytes[..len]).unwrap_err();
            match err {
                WireError::Decode { reason, .. } => {
                    assert!(
                        matches!(
                            reason,
                            DecodeReason::UnexpectedEnd | DecodeReason::Missing(_)
                        ),
                        "len {len}: {reason}"
                    );
                }
                other => panic!("len {len}: {other}"),
            }
        }
        let err = DealParams::from_cbor(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn indefinite_length_is_rejected() {
        let err = DealParams::from_cbor(&[0xbf, 0xff])
            .unwrap_err()
            .to_string();
        assert!(err.contains("indefinite"), "{err}");
    }

    #[test]
    fn http_request_params() {
        let t = params().transfer;
        let req = t.http_request().unwrap();
        assert_eq!(req.url, "https://example.com/x.car");
        assert_eq!(
            req.headers.get("Authorization").map(String::as_str),
            Some("Bearer t")
        );

        let go_nil_headers = Transfer {
            params: br#"{"URL":"http://a/b","Headers":null}"#.to_vec(),
            ..t.clone()
        };
        assert!(go_nil_headers.http_request().unwrap().headers.is_empty());
        let lower = Transfer {
            params: br#"{"url":"http://a/b"}"#.to_vec(),
            ..t.clone()
        };
        assert_eq!(lower.http_request().unwrap().url, "http://a/b");

        let bad = Transfer {
            params: b"not json".to_vec(),
            ..t.clone()
        };
        let err = bad.http_request().unwrap_err();
        assert!(matches!(err, TransferParamsError::Json { .. }), "{err}");
        assert!(err.to_string().contains("not json"));
        let offline = Transfer::default();
        assert!(matches!(
            offline.http_request(),
            Err(TransferParamsError::UnknownType(_))
        ));
        let empty_url = Transfer {
            params: br#"{"URL":""}"#.to_vec(),
            ..t
        };
        assert_eq!(empty_url.http_request(), Err(TransferParamsError::NoUrl));
    }

    #[test]
    fn deal_response_round_trip_and_limits() {
        let r = DealResponse::reject("piece too big");
        let bytes = r.to_cbor().unwrap();
        // cbor-gen: {"Message": .., "Accepted": ..} (7 < 8 letters).
        assert_eq!(&bytes[..9], b"\xa2\x67Message");
        assert_eq!(DealResponse::from_cbor(&bytes).unwrap(), r);
        assert_eq!(
            DealResponse::accept().to_cbor().unwrap(),
            b"\xa2\x67Message\x60\x68Accepted\xf5"
        );
        let long = DealResponse::reject("x".repeat(8193));
        let err = long.to_cbor().unwrap_err().to_string();
        assert!(err.contains("DealResponse.Message"), "{err}");
    }
}
