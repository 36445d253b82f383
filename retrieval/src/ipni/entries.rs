//! Entry chunks: the linked list of multihashes an advertisement points to.
//!
//! Schema (go-libipni `ingest/schema/schema.ipldsch`):
//! `type EntryChunk struct { Entries [Bytes]; Next optional Link }`.
//!
//! Encoding and order follow Curio's initial chunker
//! (`market/ipni/chunker/initial-chunker.go`, `finishDB`): the multihashes are
//! sorted bytewise and deduplicated, cut into chunks of at most 16384
//! (`entriesChunkSize`), and chunk *i* links to chunk *i-1* through `Next`;
//! the ad's `Entries` names the last chunk. Chunks are DAG-CBOR with sha2-256
//! CIDs (`ipniculib.EntryLinkproto`); keys in RFC 7049 order, so `Next`
//! (when present) comes before `Entries`. A full chunk of sha2-256
//! multihashes is about 600 KB, inside the 4 MB the HTTP provider spec
//! suggests indexers accept.

use cid::Cid;
use cid::multihash::Multihash;

use super::encoding::{
    cbor_bytes, cbor_cid, cbor_head, cbor_text, cid_from_cbor, decode_cbor, major,
};
use super::{Block, DAG_CBOR, IpniError};

/// Multihashes per chunk, as Curio (and index-provider) chunk them.
pub const DEFAULT_CHUNK_SIZE: usize = 16384;

/// One node of the entries list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryChunk {
    /// The multihashes in this chunk.
    pub entries: Vec<Multihash<64>>,
    /// The next chunk, if any.
    pub next: Option<Cid>,
}

impl EntryChunk {
    /// The chunk as a DAG-CBOR block.
    pub fn to_block(&self) -> Block {
        let mut b = Vec::with_capacity(self.entries.len() * 36 + 64);
        cbor_head(&mut b, major::MAP, if self.next.is_some() { 2 } else { 1 });
        if let Some(next) = &self.next {
            cbor_text(&mut b, "Next");
            cbor_cid(&mut b, next);
        }
        cbor_text(&mut b, "Entries");
        cbor_head(&mut b, major::ARRAY, self.entries.len() as u64);
        for mh in &self.entries {
            cbor_bytes(&mut b, &mh.to_bytes());
        }
        Block::new(DAG_CBOR, b)
    }

    /// Decodes a DAG-CBOR entry chunk.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IpniError> {
        const WHAT: &str = "entry chunk";
        let v = decode_cbor(bytes, WHAT)?;
        let map = v
            .as_map()
            .ok_or_else(|| IpniError::malformed(WHAT, "not a map"))?;
        let mut entries = None;
        let mut next = None;
        for (k, v) in map {
            match k.as_text() {
                Some("Entries") => {
                    let list = v
                        .as_array()
                        .ok_or_else(|| IpniError::malformed(WHAT, "Entries is not a list"))?;
                    let mhs = list
                        .iter()
                        .map(|e| {
                            let b = e
                                .as_bytes()
                                .ok_or_else(|| IpniError::malformed(WHAT, "entry is not bytes"))?;
                            Multihash::from_bytes(b).map_err(|e| IpniError::malformed(WHAT, e))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    entries = Some(mhs);
                }
                Some("Next") => next = Some(cid_from_cbor(v, WHAT)?),
                _ => return Err(IpniError::malformed(WHAT, "unknown field")),
            }
        }
        Ok(Self {
            entries: entries.ok_or_else(|| IpniError::malformed(WHAT, "no Entries"))?,
            next,
        })
    }
}

/// Sorts, deduplicates and chunks `multihashes` as Curio does; returns the
/// chunk blocks (first chunk first) and the link the ad's `Entries` takes
/// (the last chunk's CID). `chunk_size` 0 is taken as 1.
pub fn chunk_entries(
    multihashes: impl IntoIterator<Item = Multihash<64>>,
    chunk_size: usize,
) -> Result<(Cid, Vec<Block>), IpniError> {
    let mut mhs: Vec<Vec<u8>> = multihashes.into_iter().map(|m| m.to_bytes()).collect();
    mhs.sort_unstable();
    mhs.dedup();
    let mut blocks: Vec<Block> = Vec::with_capacity(mhs.len().div_ceil(chunk_size.max(1)));
    for chunk in mhs.chunks(chunk_size.max(1)) {
        let entries = chunk
            .iter()
            .map(|b| Multihash::from_bytes(b).map_err(|e| IpniError::malformed("multihash", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let next = blocks.last().map(|b| b.cid);
        blocks.push(EntryChunk { entries, next }.to_block());
    }
    let head = blocks
        .last()
        .map(|b| b.cid)
        .ok_or(IpniError::NoMultihashes)?;
    Ok((head, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mh(i: u32) -> Multihash<64> {
        crate::ipni::sha256_multihash(&i.to_be_bytes())
    }

    fn walk(head: Cid, blocks: &[Block]) -> Vec<EntryChunk> {
        let mut out = Vec::new();
        let mut at = Some(head);
        while let Some(c) = at {
            let b = blocks.iter().find(|b| b.cid == c).unwrap();
            let chunk = EntryChunk::from_bytes(&b.data).unwrap();
            at = chunk.next;
            out.push(chunk);
        }
        out
    }

    #[test]
    fn chunk_round_trips_with_and_without_next() {
        let a = EntryChunk {
            entries: vec![mh(1), mh(2)],
            next: None,
        };
        assert_eq!(EntryChunk::from_bytes(&a.to_block().data).unwrap(), a);
        let b = EntryChunk {
            entries: vec![mh(3)],
            next: Some(a.to_block().cid),
        };
        let block = b.to_block();
        assert_eq!(block.cid.codec(), DAG_CBOR);
        // map(2), text(4) "Next" first: RFC 7049 order.
        assert_eq!(&block.data[..6], &[0xa2, 0x64, b'N', b'e', b'x', b't']);
        assert_eq!(EntryChunk::from_bytes(&block.data).unwrap(), b);
    }

    #[test]
    fn boundaries_split_exactly() {
        for (n, size, chunks) in [(1, 3, 1), (3, 3, 1), (4, 3, 2), (6, 3, 2), (7, 3, 3)] {
            let (head, blocks) = chunk_entries((0..n).map(mh), size).unwrap();
            assert_eq!(blocks.len(), chunks, "{n} entries, chunks of {size}");
            let walked = walk(head, &blocks);
            assert_eq!(walked.len(), chunks);
            assert!(walked.iter().all(|c| c.entries.len() <= size));
            let mut all: Vec<_> = walked.iter().flat_map(|c| c.entries.clone()).collect();
            assert_eq!(all.len(), n as usize);
            all.sort_by_key(|m| m.to_bytes());
            let mut want: Vec<_> = (0..n).map(mh).collect();
            want.sort_by_key(|m| m.to_bytes());
            assert_eq!(all, want);
            // The head chunk is the last one: it holds the largest multihashes.
            assert_eq!(walked[0].entries.last(), want.last());
        }
    }

    #[test]
    fn duplicates_dropped_and_empty_refused() {
        let (_, blocks) = chunk_entries([mh(1), mh(1), mh(2)], 10).unwrap();
        assert_eq!(
            EntryChunk::from_bytes(&blocks[0].data)
                .unwrap()
                .entries
                .len(),
            2
        );
        assert!(matches!(
            chunk_entries([], 10),
            Err(IpniError::NoMultihashes)
        ));
    }
}
