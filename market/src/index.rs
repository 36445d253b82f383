//! The piece index: where each piece lies (deal, sector, offset), and for
//! CAR pieces, where each block lies inside the piece. Retrieval serves from it.
//!
//! ```text
//!  deal sealed ─► PieceIndex::add_piece(piece, PieceLocation) ─► PIECE_LOCATIONS, DEAL_PIECES
//!  payload     ─► PieceIndex::index_car(piece, reader) ─► car::CarScanner ─► BLOCKS, PIECE_BLOCKS
//!  retrieval: cid.hash() ─► find_block ─► (piece, offset, length) ─► locations(piece) ─► unseal, read
//!  deal ends   ─► remove_deal ─► its locations go; a piece left with none loses its block index
//! ```
//!
//! Blocks are keyed by their multihash, not their CID, so that a CIDv0 and
//! a CIDv1 (of any codec) naming the same bytes find the same block. Block
//! offsets count from the first byte of the piece's unpadded payload (the
//! CAR as the client sent it); a location's `offset` is the piece's padded
//! offset in its sector. Each call writes one atomic batch, and every call is
//! idempotent: adding a location again, or re-indexing a piece, leaves the
//! tables as they were.
//!
//! Every method does blocking I/O (RocksDB, and the payload reader): call
//! them from a blocking thread, not from the async runtime.

pub mod car;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

use cid::Cid;
use cid::multihash::Multihash;
use ferrite_store::{Key, Store, StoreError, Table};
use ferrite_types::{CommP, PaddedPieceSize, SectorNumber};
use serde::{Deserialize, Serialize};

use crate::deal::DealUuid;

/// Piece → every place it is stored (one per deal).
pub const PIECE_LOCATIONS: Table<PieceKey, Vec<PieceLocation>> =
    Table::new("market-piece-locations");

/// Deal → the pieces it has locations for, so that [`PieceIndex::remove_deal`]
/// need not scan every piece.
pub const DEAL_PIECES: Table<DealUuid, Vec<CommP>> = Table::new("market-piece-deals");

/// Block multihash → every piece that holds the block, and where.
pub const BLOCKS: Table<MultihashKey, Vec<BlockLocation>> = Table::new("market-piece-blocks");

/// (piece, block multihash) → nothing: the blocks of a piece, by prefix scan,
/// to drop them with the piece's last location.
pub const PIECE_BLOCKS: Table<PieceBlockKey, ()> = Table::new("market-piece-block-list");

/// The tables this module needs: open the market database with them, next
/// to [`crate::records::TABLES`].
pub const TABLES: &[&str] = &[
    PIECE_LOCATIONS.name(),
    DEAL_PIECES.name(),
    BLOCKS.name(),
    PIECE_BLOCKS.name(),
];

/// Why a piece could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The payload is not a CAR. Not an error for the deal: log it and go on;
    /// the piece is still retrievable whole.
    #[error("payload is not a CAR: {0}")]
    NotCar(String),
    /// The CAR ends inside a section.
    #[error("CAR truncated at byte {offset}: {what} ends early")]
    Truncated {
        /// Where the data ended.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// The CAR is broken past its header.
    #[error("malformed CAR at byte {offset}: {reason}")]
    Malformed {
        /// Where the broken part starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading the payload failed.
    #[error("read the payload at byte {offset}")]
    Read {
        /// Where the read was.
        offset: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a piece is stored: one deal's copy of it in a sector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceLocation {
    /// The deal that brought the piece; a piece has one location per deal.
    pub deal: DealUuid,
    /// The sector that holds it.
    pub sector: SectorNumber,
    /// The piece's offset in the sector, in padded bytes.
    pub offset: u64,
    /// The piece's padded size.
    pub size: PaddedPieceSize,
    /// The length of the client's data at the start of the piece, in
    /// unpadded bytes; the rest is zero fill.
    pub payload: u64,
}

/// Where a block is: its data's byte range in a piece's unpadded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLocation {
    /// The piece that holds the block.
    pub piece: CommP,
    /// The offset of the block's data (after its CID) in the unpadded payload.
    pub offset: u64,
    /// The length of the block's data.
    pub length: u64,
}

/// What [`PieceIndex::index_car`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedCar {
    /// The roots the CAR header names.
    pub roots: Vec<Cid>,
    /// The block sections read (a block the CAR holds twice counts twice,
    /// and is indexed at its first place).
    pub blocks: u64,
}

/// A piece as a key: its 32-byte commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceKey(pub CommP);

impl Key for PieceKey {
    fn encode(&self) -> Vec<u8> {
        self.0.0.to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        <[u8; 32]>::decode(bytes).map(|b| Self(CommP(b)))
    }
}

/// A block's multihash as a key: its bytes (code, length, digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultihashKey(pub Multihash<64>);

impl Key for MultihashKey {
    fn encode(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        Multihash::from_bytes(bytes)
            .map(Self)
            .map_err(|e| StoreError::Decode {
                table: BLOCKS.name().to_string(),
                reason: e.to_string(),
            })
    }
}

/// A (piece, block) pair as a key: the piece's 32 bytes, then the multihash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceBlockKey {
    /// The piece.
    pub piece: CommP,
    /// A block in it.
    pub block: Multihash<64>,
}

impl Key for PieceBlockKey {
    fn encode(&self) -> Vec<u8> {
        let mut b = PieceKey(self.piece).encode();
        b.extend_from_slice(&self.block.to_bytes());
        b
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() < 32 {
            return Err(StoreError::Decode {
                table: PIECE_BLOCKS.name().to_string(),
                reason: format!("key of {} bytes, expected more than 32", bytes.len()),
            });
        }
        let (piece, block) = bytes.split_at(32);
        Ok(Self {
            piece: PieceKey::decode(piece)?.0,
            block: MultihashKey::decode(block)?.0,
        })
    }
}

/// The piece index over the market database. Cheap to clone; clones share
/// one write lock, so that read-modify-write updates of shared entries (a
/// block in two pieces) do not race within the process.
#[derive(Debug, Clone)]
pub struct PieceIndex {
    store: Store,
    writes: Arc<Mutex<()>>,
}

impl PieceIndex {
    /// The index in `store` (opened with [`TABLES`]).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            writes: Arc::new(Mutex::new(())),
        }
    }

    /// Records that `piece` is stored at `location`. A location for the same
    /// deal is replaced (the deal moved sector), so adding it again changes
    /// nothing.
    pub fn add_piece(&self, piece: CommP, location: PieceLocation) -> Result<(), StoreError> {
        let _guard = self.lock();
        let key = PieceKey(piece);
        let mut locations = self.store.get(&PIECE_LOCATIONS, &key)?.unwrap_or_default();
        let mut pieces = self
            .store
            .get(&DEAL_PIECES, &location.deal)?
            .unwrap_or_default();
        let deal = location.deal;
        match locations.iter_mut().find(|l| l.deal == deal) {
            Some(l) if *l == location => return Ok(()),
            Some(l) => *l = location,
            None => locations.push(location),
        }
        if !pieces.contains(&piece) {
            pieces.push(piece);
        }
        let mut batch = self.store.batch();
        batch.put(&PIECE_LOCATIONS, &key, &locations)?;
        batch.put(&DEAL_PIECES, &deal, &pieces)?;
        self.store.commit(batch)
    }

    /// Every place `piece` is stored, in the order they were added.
    pub fn locations(&self, piece: &CommP) -> Result<Vec<PieceLocation>, StoreError> {
        Ok(self
            .store
            .get(&PIECE_LOCATIONS, &PieceKey(*piece))?
            .unwrap_or_default())
    }

    /// Reads the CAR at the start of `piece`'s unpadded payload and records
    /// where each of its blocks lies. Nothing is written unless the whole CAR
    /// reads cleanly. [`IndexError::NotCar`] when the payload is not a CAR.
    pub fn index_car(&self, piece: CommP, reader: impl Read) -> Result<IndexedCar, IndexError> {
        let mut scanner = car::CarScanner::new(reader)?;
        // Keyed by multihash bytes: the first place wins when a CAR repeats a block.
        let mut found: BTreeMap<Vec<u8>, (Multihash<64>, u64, u64)> = BTreeMap::new();
        let mut blocks = 0u64;
        while let Some(span) = scanner.next_block()? {
            blocks += 1;
            let mh = *span.cid.hash();
            found
                .entry(mh.to_bytes())
                .or_insert((mh, span.offset, span.length));
        }
        let roots = scanner.roots().to_vec();

        let _guard = self.lock();
        let mut batch = self.store.batch();
        for (mh, offset, length) in found.into_values() {
            let key = MultihashKey(mh);
            let here = BlockLocation {
                piece,
                offset,
                length,
            };
            let mut at = self.store.get(&BLOCKS, &key)?.unwrap_or_default();
            match at.iter_mut().find(|b| b.piece == piece) {
                Some(b) if *b == here => {}
                Some(b) => *b = here,
                None => at.push(here),
            }
            batch.put(&BLOCKS, &key, &at)?;
            batch.put(&PIECE_BLOCKS, &PieceBlockKey { piece, block: mh }, &())?;
        }
        self.store.commit(batch)?;
        Ok(IndexedCar { roots, blocks })
    }

    /// Every piece with a location, and its locations (a scan of the whole
    /// table: for periodic reconciliation, not per request).
    pub fn pieces(&self) -> Result<Vec<(CommP, Vec<PieceLocation>)>, StoreError> {
        Ok(self
            .store
            .scan(&PIECE_LOCATIONS, &[])?
            .into_iter()
            .map(|(k, v)| (k.0, v))
            .collect())
    }

    /// The multihashes of the blocks indexed in `piece` (none for a piece
    /// whose payload is not a CAR).
    pub fn block_multihashes(&self, piece: &CommP) -> Result<Vec<Multihash<64>>, StoreError> {
        Ok(self
            .store
            .scan(&PIECE_BLOCKS, &PieceKey(*piece).encode())?
            .into_iter()
            .map(|(k, ())| k.block)
            .collect())
    }

    /// Every piece that holds the block with this multihash, and where.
    pub fn find_block(&self, multihash: &Multihash<64>) -> Result<Vec<BlockLocation>, StoreError> {
        Ok(self
            .store
            .get(&BLOCKS, &MultihashKey(*multihash))?
            .unwrap_or_default())
    }

    /// Forgets `deal`'s locations. A piece left with no location also loses
    /// its block index, since nothing could serve those blocks any more.
    pub fn remove_deal(&self, deal: DealUuid) -> Result<(), StoreError> {
        let _guard = self.lock();
        let Some(pieces) = self.store.get(&DEAL_PIECES, &deal)? else {
            return Ok(());
        };
        let mut batch = self.store.batch();
        batch.delete(&DEAL_PIECES, &deal);
        // Two pieces of the deal may share blocks: gather each block entry's
        // new value here, so the second piece's change sees the first's.
        let mut blocks: BTreeMap<Vec<u8>, (MultihashKey, Vec<BlockLocation>)> = BTreeMap::new();
        for piece in pieces {
            let key = PieceKey(piece);
            let mut locations = self.store.get(&PIECE_LOCATIONS, &key)?.unwrap_or_default();
            locations.retain(|l| l.deal != deal);
            if !locations.is_empty() {
                batch.put(&PIECE_LOCATIONS, &key, &locations)?;
                continue;
            }
            batch.delete(&PIECE_LOCATIONS, &key);
            for (entry, ()) in self.store.scan(&PIECE_BLOCKS, &key.encode())? {
                let block = MultihashKey(entry.block);
                let at = match blocks.entry(block.encode()) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let at = self.store.get(&BLOCKS, &block)?.unwrap_or_default();
                        e.insert((block, at))
                    }
                };
                at.1.retain(|b| b.piece != piece);
                batch.delete(&PIECE_BLOCKS, &entry);
            }
        }
        for (block, at) in blocks.into_values() {
            if at.is_empty() {
                batch.delete(&BLOCKS, &block);
            } else {
                batch.put(&BLOCKS, &block, &at)?;
            }
        }
        self.store.commit(batch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data, so a panic elsewhere leaves nothing torn.
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
