//! The CIDs a block links to, in the order a depth-first walk follows them:
//! dag-pb `Links` in order; every tag-42 CID inside a dag-cbor node, in the
//! order they are encoded (map entries in their canonical encoded order, not
//! sorted as strings); none for raw, CBOR and JSON.

use std::fmt;

use cid::Cid;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::DagError;
use super::block::{CBOR, DAG_CBOR, DAG_PB, JSON, RAW};
use super::unixfs::Node;

/// The links of `block`, whose CID is `cid`.
pub(crate) fn links(cid: &Cid, block: &[u8]) -> Result<Vec<Cid>, DagError> {
    match cid.codec() {
        RAW | CBOR | JSON => Ok(Vec::new()),
        DAG_PB => Ok(Node::decode(cid, block)?
            .links
            .into_iter()
            .map(|l| l.cid)
            .collect()),
        DAG_CBOR => cbor_links(block).map_err(|reason| DagError::Malformed {
            cid: *cid,
            reason: format!("dag-cbor: {reason}"),
        }),
        codec => Err(DagError::UnsupportedCodec { cid: *cid, codec }),
    }
}

fn cbor_links(block: &[u8]) -> Result<Vec<Cid>, String> {
    let mut found = Vec::new();
    let mut de = serde_ipld_dagcbor::de::Deserializer::from_slice(block);
    LinkSink(&mut found)
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(found)
}

/// Visits any dag-cbor value and records each CID in it, in encoded order.
struct LinkSink<'a>(&'a mut Vec<Cid>);

impl<'de> DeserializeSeed<'de> for LinkSink<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LinkSink<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any dag-cbor value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    /// serde_ipld_dagcbor hands a tag-42 CID to a generic visitor as a
    /// newtype struct whose content is the CID's bytes.
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let cid = d.deserialize_bytes(CidBytes)?;
        self.0.push(cid);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(LinkSink(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(LinkSink(self.0))?;
        }
        Ok(())
    }
}

/// The bytes of a tag-42 CID (serde_ipld_dagcbor strips the multibase
/// prefix byte), read as a [`Cid`].
struct CidBytes;

impl Visitor<'_> for CidBytes {
    type Value = Cid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the bytes of a CID")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Cid, E> {
        Cid::try_from(bytes).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ipld_core::ipld::Ipld;

    use super::*;
    use crate::dag::fixture::Store;

    #[test]
    fn dag_cbor_links_come_in_encoded_order_at_any_depth() {
        let mut store = Store::default();
        let x = store.raw(b"x");
        let y = store.raw(b"y");
        let z = store.raw(b"z");
        let node = Ipld::Map(BTreeMap::from([
            // dag-cbor sorts keys by length first: "b", "aa", "list"
            ("aa".to_owned(), Ipld::Link(y)),
            ("b".to_owned(), Ipld::Link(x)),
            (
                "list".to_owned(),
                Ipld::List(vec![
                    Ipld::Integer(7),
                    Ipld::Map(BTreeMap::from([("deep".to_owned(), Ipld::Link(z))])),
                    Ipld::Bytes(vec![1, 2]),
                    Ipld::Null,
                    Ipld::Link(x),
                ]),
            ),
        ]));
        let cid = store.cbor(&node);
        let block = store.blocks[&cid].clone();
        assert_eq!(links(&cid, &block).unwrap(), vec![x, y, z, x]);
    }

    #[test]
    fn raw_has_no_links_and_unknown_codecs_are_refused() {
        let mut store = Store::default();
        let r = store.raw(b"raw");
        assert!(links(&r, b"raw").unwrap().is_empty());

        let dag_json = Cid::new_v1(0x0129, r.hash().to_owned());
        assert!(matches!(
            links(&dag_json, b"{}"),
            Err(DagError::UnsupportedCodec { codec: 0x0129, .. })
        ));
    }

    #[test]
    fn malformed_dag_cbor_is_an_error() {
        let mut store = Store::default();
        let r = store.raw(b"raw");
        let cbor = Cid::new_v1(DAG_CBOR, r.hash().to_owned());
        // a map header promising one entry, then nothing
        assert!(matches!(
            links(&cbor, &[0xa1]),
            Err(DagError::Malformed { .. })
        ));
        // one value, then trailing bytes
        assert!(matches!(
            links(&cbor, &[0x01, 0x02]),
            Err(DagError::Malformed { .. })
        ));
    }
}
