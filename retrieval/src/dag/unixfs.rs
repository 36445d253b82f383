//! UnixFS: what a dag-pb node is (file, directory, shard) and how a file's
//! bytes are laid out over its children.
//!
//! ```text
//!  dag-pb PBNode { Links: [PBLink{Hash, Name, Tsize}], Data: unixfs.Data }
//!  unixfs.Data  { Type, Data (inline bytes), filesize, blocksizes[], hashType, fanout }
//!  file bytes = Data ‖ child 0 (blocksizes[0] bytes) ‖ child 1 ‖ …
//! ```

use bytes::Bytes;
use cid::Cid;
use ipld_dagpb::{PbLink, PbNode};
use prost::Message;

use super::DagError;

/// The UnixFS node types (`Data.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub(crate) enum DataType {
    /// Legacy leaf of file bytes.
    Raw = 0,
    /// A directory: named links.
    Directory = 1,
    /// A file: inline bytes, then its children's bytes.
    File = 2,
    /// Metadata wrapping another node.
    Metadata = 3,
    /// A symbolic link; `Data` is the target.
    Symlink = 4,
    /// One node of a HAMT-sharded directory.
    HamtShard = 5,
}

/// The UnixFS `Data` message carried in a dag-pb node's `Data` field.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct UnixfsData {
    /// The node type, a [`DataType`].
    #[prost(enumeration = "DataType", required, tag = "1")]
    pub kind: i32,
    /// Inline file bytes (the first bytes of a file node).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub data: Option<Vec<u8>>,
    /// The file's total size in bytes.
    #[prost(uint64, optional, tag = "3")]
    pub filesize: Option<u64>,
    /// The byte count under each link of a file node, in link order.
    #[prost(uint64, repeated, packed = "false", tag = "4")]
    pub blocksizes: Vec<u64>,
    /// The HAMT's hash function (murmur3-x64-64).
    #[prost(uint64, optional, tag = "5")]
    pub hash_type: Option<u64>,
    /// The HAMT's fanout (a power of two).
    #[prost(uint64, optional, tag = "6")]
    pub fanout: Option<u64>,
}

/// A decoded dag-pb node and, if its `Data` is UnixFS, that.
#[derive(Debug)]
pub(crate) struct Node {
    /// The links, in the node's order.
    pub links: Vec<PbLink>,
    /// The UnixFS data, or `None` for a dag-pb node that is not UnixFS.
    pub unixfs: Option<UnixfsData>,
}

impl Node {
    /// Decodes a dag-pb block. A node whose `Data` is absent or is not UnixFS
    /// is kept as plain dag-pb.
    pub fn decode(cid: &Cid, block: &[u8]) -> Result<Self, DagError> {
        let node =
            PbNode::from_bytes(Bytes::copy_from_slice(block)).map_err(|e| DagError::Malformed {
                cid: *cid,
                reason: format!("dag-pb: {e}"),
            })?;
        let unixfs = node
            .data
            .as_deref()
            .and_then(|d| UnixfsData::decode(d).ok());
        Ok(Self {
            links: node.links,
            unixfs,
        })
    }

    /// The UnixFS type, if this node is UnixFS of a known type.
    pub fn kind(&self) -> Option<DataType> {
        self.unixfs
            .as_ref()
            .and_then(|u| DataType::try_from(u.kind).ok())
    }

    /// Where each child's bytes lie in a file node: after the node's inline
    /// bytes, one span per link as its `blocksizes` entry says.
    pub fn file_layout(&self, cid: &Cid) -> Result<FileLayout<'_>, DagError> {
        let Some(unixfs) = &self.unixfs else {
            return Err(malformed(cid, "file node without UnixFS data"));
        };
        if unixfs.blocksizes.len() != self.links.len() {
            return Err(malformed(
                cid,
                &format!(
                    "{} links but {} blocksizes",
                    self.links.len(),
                    unixfs.blocksizes.len()
                ),
            ));
        }
        let mut offset = unixfs.data.as_ref().map_or(0, |d| d.len() as u64);
        let mut children = Vec::with_capacity(self.links.len());
        for (link, &len) in self.links.iter().zip(&unixfs.blocksizes) {
            children.push(Span { link, offset, len });
            offset = offset
                .checked_add(len)
                .ok_or_else(|| malformed(cid, "blocksizes overflow"))?;
        }
        Ok(FileLayout {
            children,
            size: offset,
        })
    }

    /// The links of a HAMT shard that lead to further shards of the same
    /// directory (not to entries): their names are the bucket prefix alone.
    pub fn sub_shards(&self, cid: &Cid) -> Result<impl Iterator<Item = &PbLink>, DagError> {
        let fanout = self
            .unixfs
            .as_ref()
            .and_then(|u| u.fanout)
            .filter(|f| f.is_power_of_two() && *f > 1)
            .ok_or_else(|| malformed(cid, "HAMT shard without a power-of-two fanout"))?;
        // A bucket index printed as upper-case hex, zero-padded to the width
        // of the largest index: fanout 256 gives two characters.
        let prefix_len = format!("{:X}", fanout - 1).len();
        Ok(self
            .links
            .iter()
            .filter(move |l| l.name.as_ref().is_some_and(|n| n.len() == prefix_len)))
    }
}

/// How a file node's bytes are split over its children.
#[derive(Debug)]
pub(crate) struct FileLayout<'a> {
    /// One span per link, in link order.
    pub children: Vec<Span<'a>>,
    /// The node's size: its inline bytes and all children's.
    pub size: u64,
}

/// The bytes one link of a file node covers.
#[derive(Debug)]
pub(crate) struct Span<'a> {
    /// The link.
    pub link: &'a PbLink,
    /// Where its bytes start, counted from the node's first byte.
    pub offset: u64,
    /// How many bytes it holds (its `blocksizes` entry).
    pub len: u64,
}

fn malformed(cid: &Cid, reason: &str) -> DagError {
    DagError::Malformed {
        cid: *cid,
        reason: format!("UnixFS: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::block::RAW;
    use crate::dag::fixture::Store;

    #[test]
    fn a_file_node_lays_out_inline_bytes_then_children() {
        let mut store = Store::default();
        let a = store.raw(b"0123456789");
        let b = store.raw(b"abcde");
        let (root, block) = store.file_node(b"xyz", &[(a, 10), (b, 5)]);
        let node = Node::decode(&root, &block).unwrap();
        assert_eq!(node.kind(), Some(DataType::File));
        let layout = node.file_layout(&root).unwrap();
        let spans: Vec<_> = layout
            .children
            .iter()
            .map(|s| (s.link.cid, s.offset, s.len))
            .collect();
        assert_eq!(spans, vec![(a, 3, 10), (b, 13, 5)]);
        assert_eq!(layout.size, 18);
    }

    #[test]
    fn blocksizes_must_match_the_links() {
        let mut store = Store::default();
        let a = store.raw(b"0123456789");
        let data = UnixfsData {
            kind: DataType::File as i32,
            blocksizes: vec![10, 10],
            ..Default::default()
        };
        let (root, block) = store.pb_node(&[(None, a)], Some(data.encode_to_vec()));
        let node = Node::decode(&root, &block).unwrap();
        let err = node.file_layout(&root).unwrap_err();
        assert!(
            err.to_string().contains("1 links but 2 blocksizes"),
            "{err}"
        );
    }

    #[test]
    fn dag_pb_without_unixfs_data_is_plain() {
        let mut store = Store::default();
        let a = store.raw(b"x");
        let (root, block) = store.pb_node(&[(Some("x"), a)], None);
        let node = Node::decode(&root, &block).unwrap();
        assert!(node.unixfs.is_none());
        assert_eq!(node.kind(), None);

        let not_pb = Cid::new_v1(RAW, root.hash().to_owned());
        assert!(matches!(
            Node::decode(&not_pb, b"\xff\xff not protobuf"),
            Err(DagError::Malformed { .. })
        ));
    }

    #[test]
    fn sub_shards_are_the_links_named_by_prefix_alone() {
        let mut store = Store::default();
        let leaf = store.raw(b"entry");
        let (inner, _) = store.shard(&[("0Aname", leaf)], 256);
        let (outer, block) = store.shard(&[("01file", leaf), ("0A", inner)], 256);
        let node = Node::decode(&outer, &block).unwrap();
        let subs: Vec<_> = node.sub_shards(&outer).unwrap().map(|l| l.cid).collect();
        assert_eq!(subs, vec![inner]);
    }
}
