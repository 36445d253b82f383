//! The advertisement node and its DAG-JSON form.
//!
//! Schema: go-libipni `ingest/schema/schema.ipldsch` (`Advertisement`).
//! Codec: DAG-JSON with sha2-256 CIDv1 (`schema.Linkproto` in
//! `ingest/schema/schema.go`; Curio links ads with it too). go-ipld-prime
//! writes the map keys in byte order and leaves absent optional fields out,
//! so an ad reads
//! `{"Addresses":[..],"ContextID":<bytes>,"Entries":<link>,"IsRm":false,`
//! `"Metadata":<bytes>,"PreviousID":<link>,"Provider":"12D3..","Signature":<bytes>}`
//! with `PreviousID` missing on the first ad. `ExtendedProvider` and
//! `SeqNum` are never written (Curio writes neither).

use cid::Cid;
use cid::multihash::Multihash;

use super::encoding::{bytes_from_json, json_bytes, json_link, json_string, link_from_json};
use super::{Block, DAG_JSON, IpniError, RAW, SHA2_256};

/// Longest context id an indexer accepts (`schema.MaxContextIDLen`).
pub const MAX_CONTEXT_ID_LEN: usize = 64;
/// Longest metadata an indexer accepts (`schema.MaxMetadataLen`).
pub const MAX_METADATA_LEN: usize = 1024;

/// `schema.NoEntries`: CIDv1, raw codec, over sha2-256 of nothing truncated
/// to 16 bytes. Entries of an ad that lists no multihashes, as removal ads
/// do (`IsRm` removes by context id).
pub fn no_entries_cid() -> Cid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest([]);
    // 16 bytes always fit.
    let mh = Multihash::wrap(SHA2_256, &digest[..16]).unwrap_or_default();
    Cid::new_v1(RAW, mh)
}

/// An IPNI advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The ad before this one on the provider's chain; `None` for the first.
    pub previous: Option<Cid>,
    /// The provider's peer id, as text (`12D3KooW...`).
    pub provider: String,
    /// Multiaddrs, as text, where the content is retrievable.
    pub addresses: Vec<String>,
    /// A libp2p signed envelope over the ad (see [`super::sign_ad`]).
    pub signature: Vec<u8>,
    /// Head of the entry chunk list, or [`no_entries_cid`].
    pub entries: Cid,
    /// Groups the multihashes; removal ads name it.
    pub context_id: Vec<u8>,
    /// Retrieval protocol (see [`super::Metadata`]).
    pub metadata: Vec<u8>,
    /// True when this ad withdraws `context_id`.
    pub is_rm: bool,
}

impl Advertisement {
    /// Checks the indexer's size limits (`Advertisement.Validate`).
    pub fn validate(&self) -> Result<(), IpniError> {
        if self.context_id.len() > MAX_CONTEXT_ID_LEN {
            return Err(IpniError::TooLong {
                what: "context id",
                len: self.context_id.len(),
                max: MAX_CONTEXT_ID_LEN,
            });
        }
        if self.metadata.len() > MAX_METADATA_LEN {
            return Err(IpniError::TooLong {
                what: "metadata",
                len: self.metadata.len(),
                max: MAX_METADATA_LEN,
            });
        }
        Ok(())
    }

    /// The ad as DAG-JSON, byte for byte as go-ipld-prime writes it.
    pub fn to_dag_json(&self) -> Vec<u8> {
        let addrs: Vec<String> = self.addresses.iter().map(|a| json_string(a)).collect();
        let mut s = String::with_capacity(512 + self.signature.len() * 2);
        s.push_str(r#"{"Addresses":["#);
        s.push_str(&addrs.join(","));
        s.push_str(r#"],"ContextID":"#);
        s.push_str(&json_bytes(&self.context_id));
        s.push_str(r#","Entries":"#);
        s.push_str(&json_link(&self.entries));
        s.push_str(r#","IsRm":"#);
        s.push_str(if self.is_rm { "true" } else { "false" });
        s.push_str(r#","Metadata":"#);
        s.push_str(&json_bytes(&self.metadata));
        if let Some(prev) = &self.previous {
            s.push_str(r#","PreviousID":"#);
            s.push_str(&json_link(prev));
        }
        s.push_str(r#","Provider":"#);
        s.push_str(&json_string(&self.provider));
        s.push_str(r#","Signature":"#);
        s.push_str(&json_bytes(&self.signature));
        s.push('}');
        s.into_bytes()
    }

    /// The ad as a DAG-JSON block.
    pub fn to_block(&self) -> Block {
        Block::new(DAG_JSON, self.to_dag_json())
    }

    /// Decodes a DAG-JSON advertisement.
    pub fn from_dag_json(bytes: &[u8]) -> Result<Self, IpniError> {
        const WHAT: &str = "advertisement";
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| IpniError::malformed(WHAT, e))?;
        let obj = v
            .as_object()
            .ok_or_else(|| IpniError::malformed(WHAT, "not a map"))?;
        if let Some(k) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "Addresses"
                    | "ContextID"
                    | "Entries"
                    | "IsRm"
                    | "Metadata"
                    | "PreviousID"
                    | "Provider"
                    | "Signature"
            )
        }) {
            return Err(IpniError::malformed(WHAT, format!("unsupported field {k}")));
        }
        let field = |name: &'static str| {
            obj.get(name)
                .ok_or_else(|| IpniError::malformed(WHAT, format!("missing {name}")))
        };
        let addresses = field("Addresses")?
            .as_array()
            .ok_or_else(|| IpniError::malformed(WHAT, "Addresses is not a list"))?
            .iter()
            .map(|a| {
                a.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| IpniError::malformed(WHAT, "address is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ad = Self {
            previous: obj
                .get("PreviousID")
                .map(|p| link_from_json(p, "PreviousID"))
                .transpose()?,
            provider: field("Provider")?
                .as_str()
                .ok_or_else(|| IpniError::malformed(WHAT, "Provider is not a string"))?
                .to_owned(),
            addresses,
            signature: bytes_from_json(field("Signature")?, "Signature")?,
            entries: link_from_json(field("Entries")?, "Entries")?,
            context_id: bytes_from_json(field("ContextID")?, "ContextID")?,
            metadata: bytes_from_json(field("Metadata")?, "Metadata")?,
            is_rm: field("IsRm")?
                .as_bool()
                .ok_or_else(|| IpniError::malformed(WHAT, "IsRm is not a bool"))?,
        };
        Ok(ad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(previous: Option<Cid>) -> Advertisement {
        Advertisement {
            previous,
            provider: "12D3KooWExample".into(),
            addresses: vec!["/ip4/127.0.0.1/tcp/2347/http".into()],
            signature: vec![1, 2, 3],
            entries: no_entries_cid(),
            context_id: vec![0x82, 0x01],
            metadata: vec![0xa0, 0x12, 0x00],
            is_rm: false,
        }
    }

    #[test]
    fn no_entries_matches_go() {
        // The first 16 bytes of sha2-256(""), under the raw codec.
        let c = no_entries_cid();
        assert_eq!(c.codec(), RAW);
        assert_eq!(c.hash().size(), 16);
        assert_eq!(
            c.hash().digest(),
            [
                0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f,
                0xb9, 0x24
            ]
        );
    }

    #[test]
    fn dag_json_keys_sorted_and_round_trips() {
        let first = sample(None);
        let json = String::from_utf8(first.to_dag_json()).unwrap();
        assert!(!json.contains("PreviousID"));
        assert!(json.starts_with(r#"{"Addresses":["/ip4/127.0.0.1/tcp/2347/http"],"ContextID":{"/":{"bytes":"ggE"}},"Entries":{"/":"bafkr"#));
        assert!(json.ends_with(r#""IsRm":false,"Metadata":{"/":{"bytes":"oBIA"}},"Provider":"12D3KooWExample","Signature":{"/":{"bytes":"AQID"}}}"#));
        assert_eq!(
            Advertisement::from_dag_json(json.as_bytes()).unwrap(),
            first
        );

        let second = sample(Some(first.to_block().cid));
        let json = String::from_utf8(second.to_dag_json()).unwrap();
        let (p, q) = (
            json.find("\"PreviousID\"").unwrap(),
            json.find("\"Provider\"").unwrap(),
        );
        assert!(p < q);
        assert_eq!(
            Advertisement::from_dag_json(json.as_bytes()).unwrap(),
            second
        );
        assert_eq!(second.to_block().cid.codec(), DAG_JSON);
    }

    #[test]
    fn rejects_unknown_fields_and_limits() {
        let mut v: serde_json::Value = serde_json::from_slice(&sample(None).to_dag_json()).unwrap();
        v["ExtendedProvider"] = serde_json::json!({});
        assert!(Advertisement::from_dag_json(v.to_string().as_bytes()).is_err());
        let mut ad = sample(None);
        ad.context_id = vec![0; 65];
        assert!(ad.validate().is_err());
        ad.context_id = vec![];
        ad.metadata = vec![0; 1025];
        assert!(ad.validate().is_err());
    }
}
