//! Test DAGs built with the same crates the walker decodes with.

use std::cell::Cell;
use std::collections::HashMap;

use bytes::Bytes;
use cid::Cid;
use ipld_core::ipld::Ipld;
use ipld_dagpb::{PbLink, PbNode};
use multihash_codetable::{Code, MultihashDigest};
use prost::Message;

use super::block::{DAG_CBOR, DAG_PB, RAW};
use super::unixfs::{DataType, UnixfsData};
use super::{BlockSource, DagError};

/// A block map that counts how often it is read.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub blocks: HashMap<Cid, Vec<u8>>,
    pub gets: Cell<u64>,
}

impl BlockSource for Store {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, DagError> {
        self.gets.set(self.gets.get() + 1);
        Ok(self.blocks.get(cid).cloned())
    }
}

impl Store {
    pub fn put(&mut self, codec: u64, code: Code, data: Vec<u8>) -> Cid {
        let cid = Cid::new_v1(codec, code.digest(&data));
        self.blocks.insert(cid, data);
        cid
    }

    pub fn raw(&mut self, data: &[u8]) -> Cid {
        self.put(RAW, Code::Sha2_256, data.to_vec())
    }

    pub fn pb_node(
        &mut self,
        links: &[(Option<&str>, Cid)],
        data: Option<Vec<u8>>,
    ) -> (Cid, Vec<u8>) {
        let node = PbNode {
            links: links
                .iter()
                .map(|(name, cid)| PbLink {
                    cid: *cid,
                    name: name.map(str::to_owned),
                    size: Some(1),
                })
                .collect(),
            data: data.map(Bytes::from),
        };
        let block = node.into_bytes();
        (self.put(DAG_PB, Code::Sha2_256, block.clone()), block)
    }

    /// A UnixFS file node: inline bytes, then the children with their sizes.
    pub fn file_node(&mut self, inline: &[u8], children: &[(Cid, u64)]) -> (Cid, Vec<u8>) {
        let data = UnixfsData {
            kind: DataType::File as i32,
            data: (!inline.is_empty()).then(|| inline.to_vec()),
            filesize: Some(inline.len() as u64 + children.iter().map(|c| c.1).sum::<u64>()),
            blocksizes: children.iter().map(|c| c.1).collect(),
            ..Default::default()
        };
        let links: Vec<_> = children.iter().map(|(c, _)| (None, *c)).collect();
        self.pb_node(&links, Some(data.encode_to_vec()))
    }

    /// A UnixFS directory.
    pub fn dir(&mut self, entries: &[(&str, Cid)]) -> Cid {
        let data = UnixfsData {
            kind: DataType::Directory as i32,
            ..Default::default()
        };
        let links: Vec<_> = entries.iter().map(|(n, c)| (Some(*n), *c)).collect();
        self.pb_node(&links, Some(data.encode_to_vec())).0
    }

    /// A HAMT shard node whose link names are given as stored (prefix ‖ name).
    pub fn shard(&mut self, entries: &[(&str, Cid)], fanout: u64) -> (Cid, Vec<u8>) {
        let data = UnixfsData {
            kind: DataType::HamtShard as i32,
            fanout: Some(fanout),
            hash_type: Some(0x22),
            ..Default::default()
        };
        let links: Vec<_> = entries.iter().map(|(n, c)| (Some(*n), *c)).collect();
        self.pb_node(&links, Some(data.encode_to_vec()))
    }

    pub fn cbor(&mut self, node: &Ipld) -> Cid {
        let block = serde_ipld_dagcbor::to_vec(node).unwrap();
        self.put(DAG_CBOR, Code::Sha2_256, block)
    }
}
