//! Keeping the IPNI advertisement chain in step with the piece index.
//!
//! ```text
//!  every `every`:  PieceIndex::pieces()  ─┐
//!                  ANNOUNCED (ours)       ─┴─► plan ─► new pieces:  a deal ad (0x0920, its blocks + piece CID)
//!                                                                   and a piece ad (0x0930, its v2 CID)
//!                                                    gone pieces:   removal ads for both
//!                  AdChain::publish ─► StoreAdStore (RocksDB: blocks, head) ─► announce the head
//! ```
//!
//! The pass is idempotent and survives crashes: a piece is marked announced
//! in the same write that stores its last ad, so after a crash it is either
//! announced again (an indexer takes the same context ID twice as one) or
//! not at all. Ads are keyed by piece, as Curio keys them: two deals of one
//! piece share its ads, and the removal comes when its last location goes.

pub mod http;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use cid::Cid;
use ferrite_market::index::{PieceIndex, PieceLocation};
use ferrite_store::{Store, StoreError, Table};
use ferrite_types::{CommP, PaddedPieceSize, PieceCidV2, PieceInfo};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::ipni::{
    AdChain, AdRequest, AdStore, AnnounceMessage, Block, ContextId, HttpAddr, Metadata, PutOutcome,
};

/// Ad chain blocks: CID bytes → the encoded node.
pub const BLOCKS: Table<Vec<u8>, Vec<u8>> = Table::new("ipni-blocks");
/// The head: `"head"` → the newest ad's CID bytes.
pub const HEAD: Table<String, Vec<u8>> = Table::new("ipni-head");
/// Pieces advertised, and how.
pub const ANNOUNCED: Table<[u8; 32], Announced> = Table::new("ipni-announced");

/// The tables this module needs.
pub const TABLES: &[&str] = &[BLOCKS.name(), HEAD.name(), ANNOUNCED.name()];

const HEAD_KEY: &str = "head";

/// How a piece was advertised, to withdraw it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// The piece's padded size.
    pub size: PaddedPieceSize,
    /// Its payload's length.
    pub payload: u64,
    /// Whether a deal ad (its blocks, 0x0920) went out beside the piece ad.
    pub blocks: bool,
}

/// The chain in a ferrite-store database.
#[derive(Debug, Clone)]
pub struct StoreAdStore {
    store: Store,
    writes: Arc<Mutex<()>>,
}

impl StoreAdStore {
    /// The chain in `store` (opened with [`TABLES`]).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            writes: Arc::new(Mutex::new(())),
        }
    }

    fn announced(&self) -> Result<BTreeMap<[u8; 32], Announced>, StoreError> {
        Ok(self.store.scan(&ANNOUNCED, &[])?.into_iter().collect())
    }

    fn put_with(
        &self,
        blocks: &[Block],
        expected: Option<&Cid>,
        head: &Cid,
        mark: Option<(&CommP, Option<Announced>)>,
    ) -> anyhow::Result<PutOutcome> {
        let _guard = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.head()?;
        if now.as_ref() != expected {
            return Ok(PutOutcome::HeadMoved(now));
        }
        let mut batch = self.store.batch();
        for b in blocks {
            batch.put(&BLOCKS, &b.cid.to_bytes(), &b.data)?;
        }
        batch.put(&HEAD, &HEAD_KEY.to_string(), &head.to_bytes())?;
        match mark {
            Some((piece, Some(a))) => batch.put(&ANNOUNCED, &piece.0, &a)?,
            Some((piece, None)) => batch.delete(&ANNOUNCED, &piece.0),
            None => {}
        }
        self.store.commit(batch)?;
        Ok(PutOutcome::Stored)
    }
}

impl AdStore for StoreAdStore {
    fn head(&self) -> anyhow::Result<Option<Cid>> {
        match self.store.get(&HEAD, &HEAD_KEY.to_string())? {
            Some(b) => Ok(Some(
                Cid::try_from(b).context("decode the ad chain's head")?,
            )),
            None => Ok(None),
        }
    }

    fn get(&self, cid: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.store.get(&BLOCKS, &cid.to_bytes())?)
    }

    fn put(
        &self,
        blocks: &[Block],
        expected: Option<&Cid>,
        head: &Cid,
    ) -> anyhow::Result<PutOutcome> {
        self.put_with(blocks, expected, head, None)
    }
}

/// What one pass must do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Pieces to advertise, with their first location.
    pub add: Vec<(CommP, PieceLocation)>,
    /// Pieces to withdraw, as they were advertised.
    pub remove: Vec<(CommP, Announced)>,
}

/// Compares the pieces stored with those advertised.
pub fn plan(
    pieces: &[(CommP, Vec<PieceLocation>)],
    announced: &BTreeMap<[u8; 32], Announced>,
) -> Plan {
    let mut p = Plan::default();
    for (piece, locations) in pieces {
        if let Some(first) = locations.first()
            && !announced.contains_key(&piece.0)
        {
            p.add.push((*piece, first.clone()));
        }
    }
    for (key, a) in announced {
        let piece = CommP(*key);
        let stored = pieces.iter().any(|(c, l)| *c == piece && !l.is_empty());
        if !stored {
            p.remove.push((piece, *a));
        }
    }
    p
}

/// Advertises the index's pieces to IPNI; see the module docs.
pub struct Advertiser {
    chain: AdChain,
    store: StoreAdStore,
    index: PieceIndex,
    publisher: HttpAddr,
    announce_urls: Vec<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Advertiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertiser")
            .field("peer", &self.chain.peer_id())
            .finish_non_exhaustive()
    }
}

impl Advertiser {
    /// Ads signed with `chain`'s key, in `store`, for the pieces of `index`;
    /// `publisher` is the retrieval server's public URL (the ads' address,
    /// and where indexers fetch the chain), `announce_urls` the indexers.
    pub fn new(
        chain: AdChain,
        store: StoreAdStore,
        index: PieceIndex,
        publisher: HttpAddr,
        announce_urls: Vec<String>,
    ) -> Self {
        Self {
            chain,
            store,
            index,
            publisher,
            announce_urls,
            client: reqwest::Client::new(),
        }
    }

    /// One pass: publishes what [`plan`] says. Blocking (RocksDB, signing).
    /// Returns the new head if an ad was published.
    pub fn reconcile(&self) -> anyhow::Result<Option<Cid>> {
        let pieces = self.index.pieces().context("list the pieces")?;
        let announced = self.store.announced().context("list the ads")?;
        let plan = plan(&pieces, &announced);
        let mut head = None;
        for (piece, at) in plan.add {
            let blocks = self
                .index
                .block_multihashes(&piece)
                .context("list the piece's blocks")?;
            let info = PieceInfo {
                comm_p: piece,
                size: at.size,
            };
            let v2 = PieceCidV2::new(piece, at.size, at.payload)
                .map_err(|e| anyhow::anyhow!("piece {piece}: {e}"))?;
            let mut requests = Vec::new();
            if !blocks.is_empty() {
                requests.push(AdRequest::deal(&info, blocks.clone(), true)?);
            }
            requests.push(AdRequest::piece(&v2));
            let mark = Announced {
                size: at.size,
                payload: at.payload,
                blocks: !blocks.is_empty(),
            };
            head = Some(self.publish(requests, &piece, Some(mark))?);
            info!(piece = %piece, blocks = blocks.len(), "advertised to IPNI");
        }
        for (piece, a) in plan.remove {
            let info = PieceInfo {
                comm_p: piece,
                size: a.size,
            };
            let v2 = PieceCidV2::new(piece, a.size, a.payload)
                .map_err(|e| anyhow::anyhow!("piece {piece}: {e}"))?;
            let mut requests = Vec::new();
            if a.blocks {
                requests.push(AdRequest::removal(
                    ContextId::for_deal(&info),
                    Metadata::IpfsGatewayHttp,
                ));
            }
            requests.push(AdRequest::removal(
                ContextId::for_piece(&v2, false),
                Metadata::FilecoinPieceHttp,
            ));
            head = Some(self.publish(requests, &piece, None)?);
            info!(piece = %piece, "withdrew the piece's IPNI ads");
        }
        Ok(head)
    }

    /// Publishes `requests` in order; the last one's write also marks the
    /// piece (`Some`: announced; `None`: withdrawn).
    fn publish(
        &self,
        requests: Vec<AdRequest>,
        piece: &CommP,
        mark: Option<Announced>,
    ) -> anyhow::Result<Cid> {
        let last = requests.len().saturating_sub(1);
        let mut head = self.store.head()?;
        for (i, req) in requests.into_iter().enumerate() {
            let ad = self.chain.build(head, req)?;
            let marked = (i == last).then_some((piece, mark));
            match self
                .store
                .put_with(&ad.blocks, head.as_ref(), &ad.head, marked)?
            {
                PutOutcome::Stored => head = Some(ad.head),
                PutOutcome::HeadMoved(h) => {
                    anyhow::bail!("the ad chain's head moved to {h:?} during a publish")
                }
            }
        }
        head.context("no ad was published")
    }

    /// Tells every indexer of `head`.
    pub async fn announce(&self, head: Cid) {
        let peer = self.chain.peer_id();
        let msg = AnnounceMessage::new(head, &self.publisher, &peer);
        for url in &self.announce_urls {
            match crate::ipni::announce(&self.client, url, &msg).await {
                Ok(()) => info!(%head, indexer = %url, "announced the ad chain's head"),
                Err(e) => warn!(%head, indexer = %url, "announce: {e}"),
            }
        }
    }

    /// Reconciles every `every` until `stop`, announcing each new head.
    pub async fn run(self: Arc<Self>, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.reconcile()).await {
                Ok(Ok(Some(head))) => self.announce(head).await,
                Ok(Ok(None)) => {}
                Ok(Err(e)) => warn!("IPNI advertisements: {e:#}"),
                Err(e) => warn!("IPNI advertisements: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrite_market::deal::DealUuid;
    use ferrite_store::MemDb;
    use ferrite_types::SectorNumber;

    use super::*;
    use crate::ipni::{Advertisement, verify_ad};

    fn location(payload: u64) -> PieceLocation {
        PieceLocation {
            deal: DealUuid::new_random(),
            sector: SectorNumber(1),
            offset: 0,
            size: PaddedPieceSize::new(2048).unwrap(),
            payload,
        }
    }

    #[test]
    fn the_plan_adds_new_pieces_and_withdraws_gone_ones() {
        let a = CommP([1; 32]);
        let b = CommP([2; 32]);
        let mark = Announced {
            size: PaddedPieceSize::new(2048).unwrap(),
            payload: 10,
            blocks: false,
        };
        let la = location(10);
        let announced: BTreeMap<_, _> = [(b.0, mark)].into();
        let p = plan(&[(a, vec![la.clone()]), (b, vec![])], &announced);
        assert_eq!(p.add, vec![(a, la.clone())]);
        assert_eq!(p.remove, vec![(b, mark)]);
        let both: BTreeMap<_, _> = [(a.0, mark)].into();
        assert_eq!(plan(&[(a, vec![la])], &both), Plan::default());
    }

    #[test]
    fn a_pass_advertises_once_and_a_removal_follows_the_deal() {
        let db = Store::new(MemDb::new(
            &[TABLES, ferrite_market::index::TABLES].concat(),
        ))
        .unwrap();
        let index = PieceIndex::new(db.clone());
        let store = StoreAdStore::new(db);
        let key = libp2p::identity::Keypair::generate_ed25519();
        let publisher = HttpAddr::from_url("http://127.0.0.1:2347").unwrap();
        let chain = AdChain::new(key, vec![publisher.to_multiaddr_string()]);
        let adv = Advertiser::new(chain, store.clone(), index.clone(), publisher, vec![]);
        assert_eq!(adv.reconcile().unwrap(), None);

        let piece = CommP([5; 32]);
        let at = location(700);
        let deal = at.deal;
        index.add_piece(piece, at).unwrap();
        let head = adv.reconcile().unwrap().unwrap();
        // Not a CAR: one piece ad, signed by the provider.
        let ad = Advertisement::from_dag_json(&store.get(&head).unwrap().unwrap()).unwrap();
        assert!(!ad.is_rm);
        assert!(ad.previous.is_none());
        assert_eq!(verify_ad(&ad).unwrap(), adv.chain.peer_id());
        assert_eq!(adv.reconcile().unwrap(), None, "nothing new");

        index.remove_deal(deal).unwrap();
        let removal = adv.reconcile().unwrap().unwrap();
        let ad = Advertisement::from_dag_json(&store.get(&removal).unwrap().unwrap()).unwrap();
        assert!(ad.is_rm);
        assert_eq!(ad.previous, Some(head));
        assert_eq!(adv.reconcile().unwrap(), None);
    }
}
