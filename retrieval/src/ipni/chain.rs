//! The provider's advertisement chain: build the next ad on the current head
//! and store its blocks and the new head together.
//!
//! ```text
//!  head ─► ad₃ (IsRm, ctx A) ─PreviousID─► ad₂ (ctx B) ─PreviousID─► ad₁ (ctx A)
//!                                           │                         │
//!                                        Entries                   Entries
//!                                           ▼                         ▼
//!                                   chunk ─Next─► chunk            chunk
//! ```
//!
//! One chain per provider key, as in Curio (`ipni_head` per provider).

use std::collections::HashMap;
use std::sync::Mutex;

use cid::Cid;
use cid::multihash::Multihash;
use ferrite_types::{PieceCidV2, PieceInfo};
use libp2p::PeerId;
use libp2p::identity::Keypair;

use super::{
    Advertisement, Block, ContextId, DEFAULT_CHUNK_SIZE, IpniError, Metadata, chunk_entries,
    no_entries_cid, sign_ad,
};

/// Where the chain lives: blocks by CID and the head pointer.
///
/// The daemon backs it with RocksDB; [`MemAdStore`] serves tests.
pub trait AdStore: Send + Sync {
    /// The current head ad, if any.
    fn head(&self) -> anyhow::Result<Option<Cid>>;
    /// A stored block's bytes.
    fn get(&self, cid: &Cid) -> anyhow::Result<Option<Vec<u8>>>;
    /// Stores `blocks` and moves the head from `expected` to `head`, all in
    /// one atomic write; stores nothing if the head is no longer `expected`.
    fn put(
        &self,
        blocks: &[Block],
        expected: Option<&Cid>,
        head: &Cid,
    ) -> anyhow::Result<PutOutcome>;
}

/// What [`AdStore::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// Blocks written, head moved.
    Stored,
    /// Nothing written: the head was this instead of the expected one.
    HeadMoved(Option<Cid>),
}

/// An in-memory [`AdStore`].
#[derive(Debug, Default)]
pub struct MemAdStore {
    inner: Mutex<MemInner>,
}

#[derive(Debug, Default)]
struct MemInner {
    head: Option<Cid>,
    blocks: HashMap<Cid, Vec<u8>>,
}

impl MemAdStore {
    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, MemInner>> {
        self.inner
            .lock()
            .map_err(|_| anyhow::anyhow!("ad store lock poisoned"))
    }

    /// Every stored block, for tests and dumps.
    pub fn blocks(&self) -> anyhow::Result<Vec<Block>> {
        Ok(self
            .lock()?
            .blocks
            .iter()
            .map(|(cid, data)| Block {
                cid: *cid,
                data: data.clone(),
            })
            .collect())
    }
}

impl AdStore for MemAdStore {
    fn head(&self) -> anyhow::Result<Option<Cid>> {
        Ok(self.lock()?.head)
    }

    fn get(&self, cid: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.lock()?.blocks.get(cid).cloned())
    }

    fn put(
        &self,
        blocks: &[Block],
        expected: Option<&Cid>,
        head: &Cid,
    ) -> anyhow::Result<PutOutcome> {
        let mut inner = self.lock()?;
        if inner.head.as_ref() != expected {
            return Ok(PutOutcome::HeadMoved(inner.head));
        }
        for b in blocks {
            inner.blocks.insert(b.cid, b.data.clone());
        }
        inner.head = Some(*head);
        Ok(PutOutcome::Stored)
    }
}

/// What the next advertisement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdRequest {
    context_id: ContextId,
    metadata: Metadata,
    /// Empty for removals.
    multihashes: Vec<Multihash<64>>,
    is_rm: bool,
}

impl AdRequest {
    /// A sealed PoRep deal: every block multihash of its piece, under
    /// `IpfsGatewayHttp`, keyed by the piece's DAG-CBOR `[size, cid]`.
    /// With `announce_piece` the piece CID's own multihash is listed too, so
    /// the piece can be found by its CID.
    pub fn deal(
        piece: &PieceInfo,
        block_multihashes: Vec<Multihash<64>>,
        announce_piece: bool,
    ) -> Result<Self, IpniError> {
        let mut multihashes = block_multihashes;
        if announce_piece {
            multihashes.push(*piece.comm_p.to_cid().hash());
        }
        if multihashes.is_empty() {
            return Err(IpniError::NoMultihashes);
        }
        Ok(Self {
            context_id: ContextId::for_deal(piece),
            metadata: Metadata::IpfsGatewayHttp,
            multihashes,
            is_rm: false,
        })
    }

    /// A piece-only ad (Curio's PDP form): the v2 piece CID's multihash
    /// under `FilecoinPieceHttp`, context `0x00 ‖ v2 CID`.
    pub fn piece(piece: &PieceCidV2) -> Self {
        Self {
            context_id: ContextId::for_piece(piece, false),
            metadata: Metadata::FilecoinPieceHttp,
            multihashes: vec![*piece.to_cid().hash()],
            is_rm: false,
        }
    }

    /// Any other listing: `multihashes` under `metadata`, keyed by `context_id`.
    pub fn custom(
        context_id: ContextId,
        metadata: Metadata,
        multihashes: Vec<Multihash<64>>,
    ) -> Result<Self, IpniError> {
        if multihashes.is_empty() {
            return Err(IpniError::NoMultihashes);
        }
        Ok(Self {
            context_id,
            metadata,
            multihashes,
            is_rm: false,
        })
    }

    /// Withdraws everything announced under `context_id` (deal expired or
    /// removed): `IsRm` true, `Entries` the `NoEntries` sentinel, and the
    /// original ad's metadata.
    pub fn removal(context_id: ContextId, metadata: Metadata) -> Self {
        Self {
            context_id,
            metadata,
            multihashes: Vec::new(),
            is_rm: true,
        }
    }
}

/// A freshly built ad with everything to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAd {
    /// The new head: the ad's CID.
    pub head: Cid,
    /// The ad itself.
    pub ad: Advertisement,
    /// Entry chunks first, the ad block last.
    pub blocks: Vec<Block>,
}

/// Builds and signs one provider's advertisements.
#[derive(Debug, Clone)]
pub struct AdChain {
    key: Keypair,
    peer: PeerId,
    addresses: Vec<String>,
    chunk_size: usize,
}

impl AdChain {
    /// A chain signed by `key` whose ads point retrievers at `addresses`
    /// (multiaddr text, e.g. [`super::HttpAddr::to_multiaddr_string`]).
    pub fn new(key: Keypair, addresses: Vec<String>) -> Self {
        let peer = key.public().to_peer_id();
        Self {
            key,
            peer,
            addresses,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Multihashes per entry chunk. Default [`DEFAULT_CHUNK_SIZE`].
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    /// The provider (and publisher) peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer
    }

    /// The signing key (the HTTP publisher signs head messages with it).
    pub fn key(&self) -> &Keypair {
        &self.key
    }

    /// Builds the ad after `head`; pure.
    pub fn build(&self, head: Option<Cid>, req: AdRequest) -> Result<NewAd, IpniError> {
        let (entries, mut blocks) = if req.is_rm {
            (no_entries_cid(), Vec::new())
        } else {
            chunk_entries(req.multihashes, self.chunk_size)?
        };
        let mut ad = Advertisement {
            previous: head,
            provider: self.peer.to_string(),
            addresses: self.addresses.clone(),
            signature: Vec::new(),
            entries,
            context_id: req.context_id.as_bytes().to_vec(),
            metadata: req.metadata.to_bytes(),
            is_rm: req.is_rm,
        };
        ad.validate()?;
        sign_ad(&mut ad, &self.key)?;
        let block = ad.to_block();
        let head = block.cid;
        blocks.push(block);
        Ok(NewAd { head, ad, blocks })
    }

    /// Reads the head, builds the next ad and stores it atomically.
    /// [`IpniError::HeadMoved`] means another writer won; call again.
    pub fn publish(&self, store: &dyn AdStore, req: AdRequest) -> Result<NewAd, IpniError> {
        let head = store.head().map_err(IpniError::Store)?;
        let new = self.build(head, req)?;
        match store
            .put(&new.blocks, head.as_ref(), &new.head)
            .map_err(IpniError::Store)?
        {
            PutOutcome::Stored => Ok(new),
            PutOutcome::HeadMoved(found) => {
                let text = |c: Option<Cid>| c.map_or_else(|| "none".to_owned(), |c| c.to_string());
                Err(IpniError::HeadMoved {
                    expected: text(head),
                    found: text(found),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipni::{EntryChunk, verify_ad};
    use ferrite_types::{CommP, PaddedPieceSize};

    fn piece() -> PieceInfo {
        let cid: Cid = "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"
            .parse()
            .unwrap();
        PieceInfo {
            comm_p: CommP::from_cid(&cid).unwrap(),
            size: PaddedPieceSize::new(512).unwrap(),
        }
    }

    fn mhs(n: u32) -> Vec<Multihash<64>> {
        (0..n)
            .map(|i| crate::ipni::sha256_multihash(&i.to_le_bytes()))
            .collect()
    }

    fn chain() -> AdChain {
        AdChain::new(
            Keypair::generate_ed25519(),
            vec!["/ip4/127.0.0.1/tcp/2347/http".into()],
        )
        .with_chunk_size(4)
    }

    #[test]
    fn ads_link_through_previous_id_and_verify() {
        let c = chain();
        let store = MemAdStore::default();
        let a1 = c
            .publish(&store, AdRequest::deal(&piece(), mhs(10), false).unwrap())
            .unwrap();
        assert_eq!(a1.ad.previous, None);
        assert_eq!(a1.blocks.len(), 4); // 3 chunks + the ad
        let a2 = c
            .publish(&store, AdRequest::deal(&piece(), mhs(2), true).unwrap())
            .unwrap();
        assert_eq!(a2.ad.previous, Some(a1.head));
        assert_eq!(store.head().unwrap(), Some(a2.head));
        for a in [&a1, &a2] {
            assert_eq!(verify_ad(&a.ad).unwrap(), c.peer_id());
            let stored = store.get(&a.head).unwrap().unwrap();
            assert_eq!(Advertisement::from_dag_json(&stored).unwrap(), a.ad);
        }
        // announce_piece adds the piece CID's multihash.
        let head_chunk =
            EntryChunk::from_bytes(&store.get(&a2.ad.entries).unwrap().unwrap()).unwrap();
        assert!(head_chunk.entries.contains(piece().comm_p.to_cid().hash()));
        assert_eq!(head_chunk.entries.len(), 3);
    }

    #[test]
    fn removal_ad_shape() {
        let c = chain();
        let store = MemAdStore::default();
        let a1 = c
            .publish(&store, AdRequest::deal(&piece(), mhs(3), false).unwrap())
            .unwrap();
        let rm = c
            .publish(
                &store,
                AdRequest::removal(ContextId::for_deal(&piece()), Metadata::IpfsGatewayHttp),
            )
            .unwrap();
        assert!(rm.ad.is_rm);
        assert_eq!(rm.ad.entries, no_entries_cid());
        assert_eq!(rm.ad.context_id, a1.ad.context_id);
        assert_eq!(rm.ad.metadata, a1.ad.metadata);
        assert_eq!(rm.ad.previous, Some(a1.head));
        assert_eq!(rm.blocks.len(), 1);
        assert_eq!(verify_ad(&rm.ad).unwrap(), c.peer_id());
    }

    #[test]
    fn piece_ad_uses_piece_metadata_and_context() {
        let v2 = piece().to_cid_v2(500).unwrap();
        let new = chain().build(None, AdRequest::piece(&v2)).unwrap();
        assert_eq!(new.ad.metadata, Metadata::FilecoinPieceHttp.to_bytes());
        assert_eq!(
            ContextId::from_bytes(new.ad.context_id.clone())
                .unwrap()
                .to_piece()
                .unwrap(),
            (v2, false)
        );
        let chunk = EntryChunk::from_bytes(&new.blocks[0].data).unwrap();
        assert_eq!(chunk.entries, vec![*v2.to_cid().hash()]);
    }

    #[test]
    fn concurrent_writer_is_refused() {
        let c = chain();
        let store = MemAdStore::default();
        let stale = c
            .build(None, AdRequest::deal(&piece(), mhs(1), false).unwrap())
            .unwrap();
        c.publish(&store, AdRequest::deal(&piece(), mhs(2), false).unwrap())
            .unwrap();
        let out = store.put(&stale.blocks, None, &stale.head).unwrap();
        assert!(matches!(out, PutOutcome::HeadMoved(Some(_))));
        assert!(AdRequest::deal(&piece(), vec![], false).is_err());
    }
}
