//! The piece index end to end over an in-memory store: CARs built here with
//! the CAR framing (varint length, CID, data), indexed, and looked up the
//! way retrieval will (multihash → piece and byte range, piece → sector).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cid::Cid;
use cid::multihash::Multihash;
use ferrite_market::DealUuid;
use ferrite_market::index::{
    BlockLocation, IndexError, PieceIndex, PieceLocation, TABLES, car::CarScanner,
};
use ferrite_store::{MemDb, Store};
use ferrite_types::{CommP, PaddedPieceSize, SectorNumber};
use serde::Serialize;
use sha2::Digest;

const RAW: u64 = 0x55;
const DAG_CBOR: u64 = 0x71;
const SHA2_256: u64 = 0x12;
const BLAKE2B_256: u64 = 0xb220;

#[derive(Serialize)]
struct Header {
    roots: Vec<Cid>,
    version: u64,
}

fn sha256(data: &[u8]) -> Multihash<64> {
    Multihash::wrap(SHA2_256, &sha2::Sha256::digest(data)).unwrap()
}

fn blake2b(data: &[u8]) -> Multihash<64> {
    let digest = blake2b_simd::Params::new().hash_length(32).hash(data);
    Multihash::wrap(BLAKE2B_256, digest.as_bytes()).unwrap()
}

fn varint(n: u64) -> Vec<u8> {
    let mut buf = unsigned_varint::encode::u64_buffer();
    unsigned_varint::encode::u64(n, &mut buf).to_vec()
}

/// A CARv1 of `blocks`, rooted at the first.
fn car_v1(blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    let header = fvm_ipld_encoding::to_vec(&Header {
        roots: vec![blocks[0].0],
        version: 1,
    })
    .unwrap();
    let mut car = varint(header.len() as u64);
    car.extend_from_slice(&header);
    for (cid, data) in blocks {
        let cid = cid.to_bytes();
        car.extend(varint((cid.len() + data.len()) as u64));
        car.extend(cid);
        car.extend_from_slice(data);
    }
    car
}

/// The same CAR wrapped in a CARv2, its data `pad` bytes past the header,
/// followed by some index bytes that are not sections.
fn car_v2(v1: &[u8], pad: u64) -> (Vec<u8>, u64) {
    let mut car = vec![0x0a, 0xa1, 0x67];
    car.extend_from_slice(b"version");
    car.push(0x02);
    let data_offset = 11 + 40 + pad;
    car.extend([0u8; 16]);
    car.extend(data_offset.to_le_bytes());
    car.extend((v1.len() as u64).to_le_bytes());
    car.extend((data_offset + v1.len() as u64).to_le_bytes());
    car.extend(vec![0u8; pad as usize]);
    car.extend_from_slice(v1);
    car.extend([0x81, 0x08, 0xff, 0xff, 0x01]);
    (car, data_offset)
}

/// Raw sha256, dag-cbor blake2b, and a CIDv0 (dag-pb, sha256) block.
fn blocks() -> Vec<(Cid, Vec<u8>)> {
    let raw = b"raw leaf bytes".to_vec();
    let cbor = fvm_ipld_encoding::to_vec(&("a dag-cbor node", 42u64)).unwrap();
    let pb = vec![0x0a, 0x03, b'a', b'b', b'c'];
    vec![
        (Cid::new_v1(RAW, sha256(&raw)), raw),
        (Cid::new_v1(DAG_CBOR, blake2b(&cbor)), cbor),
        (Cid::new_v0(sha256(&pb)).unwrap(), pb),
        (Cid::new_v1(RAW, sha256(&[])), Vec::new()),
    ]
}

fn index() -> PieceIndex {
    PieceIndex::new(Store::new(MemDb::new(TABLES)).unwrap())
}

fn location(deal: DealUuid, sector: u64) -> PieceLocation {
    PieceLocation {
        deal,
        sector: SectorNumber(sector),
        offset: 2048,
        size: PaddedPieceSize::new(2048).unwrap(),
        payload: 1500,
    }
}

const PIECE: CommP = CommP([7; 32]);

/// Every block is found by its multihash, at a range of `payload` that
/// holds exactly its bytes.
fn assert_blocks_served(index: &PieceIndex, payload: &[u8], blocks: &[(Cid, Vec<u8>)]) {
    for (cid, data) in blocks {
        let found = index.find_block(cid.hash()).unwrap();
        assert_eq!(found.len(), 1, "{cid}");
        let BlockLocation {
            piece,
            offset,
            length,
        } = found[0];
        assert_eq!(piece, PIECE);
        let (offset, length) = (offset as usize, length as usize);
        assert_eq!(&payload[offset..offset + length], &data[..], "{cid}");
    }
}

#[test]
fn car_v1_blocks_are_found_at_their_exact_offsets() {
    let blocks = blocks();
    let car = car_v1(&blocks);
    let index = index();
    let indexed = index.index_car(PIECE, &car[..]).unwrap();
    assert_eq!(indexed.roots, vec![blocks[0].0]);
    assert_eq!(indexed.blocks, blocks.len() as u64);
    assert_blocks_served(&index, &car, &blocks);
    // Listed for IPNI: the piece's blocks, and the piece once it has a place.
    let mut listed: Vec<_> = index.block_multihashes(&PIECE).unwrap();
    listed.sort_by_key(|m| m.to_bytes());
    let mut want: Vec<_> = blocks.iter().map(|(c, _)| *c.hash()).collect();
    want.sort_by_key(|m| m.to_bytes());
    want.dedup();
    assert_eq!(listed, want);
    assert!(index.pieces().unwrap().is_empty());
    let deal = DealUuid::new_random();
    index.add_piece(PIECE, location(deal, 3)).unwrap();
    let pieces = index.pieces().unwrap();
    assert_eq!(pieces.len(), 1);
    assert_eq!(pieces[0].0, PIECE);
    assert_eq!(pieces[0].1, vec![location(deal, 3)]);
}

#[test]
fn car_v2_offsets_count_from_the_start_of_the_payload() {
    let blocks = blocks();
    let (car, data_offset) = car_v2(&car_v1(&blocks), 13);
    let index = index();
    let indexed = index.index_car(PIECE, &car[..]).unwrap();
    assert_eq!(indexed.roots, vec![blocks[0].0]);
    assert_eq!(indexed.blocks, blocks.len() as u64);
    assert_blocks_served(&index, &car, &blocks);
    let first = index.find_block(blocks[0].0.hash()).unwrap()[0];
    assert!(first.offset > data_offset);
}

#[test]
fn zero_fill_after_the_car_ends_it() {
    // A piece's unpadded payload is the CAR, then zeros up to its size.
    let blocks = blocks();
    let mut payload = car_v1(&blocks);
    payload.resize(payload.len() + 300, 0);
    let index = index();
    let indexed = index.index_car(PIECE, &payload[..]).unwrap();
    assert_eq!(indexed.blocks, blocks.len() as u64);
    assert_blocks_served(&index, &payload, &blocks);
}

#[test]
fn cid_v0_and_v1_of_one_multihash_find_the_same_block() {
    let blocks = blocks();
    let index = index();
    index.index_car(PIECE, &car_v1(&blocks)[..]).unwrap();

    // Written as a CIDv0, looked up as CIDv1 (raw and dag-pb).
    let v0 = blocks[2].0;
    let from_v0 = index.find_block(v0.hash()).unwrap();
    assert_eq!(from_v0.len(), 1);
    for codec in [RAW, 0x70] {
        let v1 = Cid::new_v1(codec, *v0.hash());
        assert_eq!(index.find_block(v1.hash()).unwrap(), from_v0);
    }
    // Written as a raw CIDv1, looked up as a CIDv0.
    let v1 = blocks[0].0;
    let as_v0 = Cid::new_v0(*v1.hash()).unwrap();
    assert_eq!(
        index.find_block(as_v0.hash()).unwrap(),
        index.find_block(v1.hash()).unwrap()
    );
    assert!(index.find_block(&sha256(b"absent")).unwrap().is_empty());
}

#[test]
fn locations_round_trip_and_adding_again_changes_nothing() {
    let index = index();
    let (a, b) = (DealUuid::new_random(), DealUuid::new_random());
    assert!(index.locations(&PIECE).unwrap().is_empty());
    index.add_piece(PIECE, location(a, 1)).unwrap();
    index.add_piece(PIECE, location(b, 2)).unwrap();
    index.add_piece(PIECE, location(a, 1)).unwrap();
    assert_eq!(
        index.locations(&PIECE).unwrap(),
        vec![location(a, 1), location(b, 2)]
    );
    // The same deal in another sector replaces its location.
    index.add_piece(PIECE, location(a, 3)).unwrap();
    assert_eq!(
        index.locations(&PIECE).unwrap(),
        vec![location(a, 3), location(b, 2)]
    );
    assert!(index.locations(&CommP([8; 32])).unwrap().is_empty());
}

#[test]
fn reindexing_a_piece_is_idempotent() {
    let blocks = blocks();
    let car = car_v1(&blocks);
    let index = index();
    let first = index.index_car(PIECE, &car[..]).unwrap();
    let again = index.index_car(PIECE, &car[..]).unwrap();
    assert_eq!(first, again);
    assert_blocks_served(&index, &car, &blocks);

    // Another piece with a shared block: both are listed, once each.
    let other = CommP([9; 32]);
    let mut second = car_v1(&blocks[..1]);
    index.index_car(other, &second[..]).unwrap();
    index.index_car(other, &second[..]).unwrap();
    let found = index.find_block(blocks[0].0.hash()).unwrap();
    assert_eq!(
        found.iter().map(|b| b.piece).collect::<Vec<_>>(),
        vec![PIECE, other]
    );

    // A block repeated inside one CAR is indexed once, at its first place.
    second = car_v1(&[blocks[1].clone(), blocks[1].clone()]);
    let indexed = index.index_car(CommP([10; 32]), &second[..]).unwrap();
    assert_eq!(indexed.blocks, 2);
    let found = index.find_block(blocks[1].0.hash()).unwrap();
    assert_eq!(found.len(), 2);
    let repeated = found[1];
    assert_eq!(repeated.piece, CommP([10; 32]));
    let start = repeated.offset as usize;
    assert_eq!(
        &second[start..start + repeated.length as usize],
        &blocks[1].1[..]
    );
    let first = CarScanner::new(&second[..])
        .unwrap()
        .next_block()
        .unwrap()
        .unwrap();
    assert_eq!(repeated.offset, first.offset);
}

#[test]
fn truncated_car_is_an_error_and_stores_nothing() {
    let blocks = blocks();
    let car = car_v1(&blocks);
    let index = index();
    // Inside the third block's data, and inside the last block's CID.
    let last_cid = blocks[3].0.to_bytes().len();
    for cut in [car.len() - last_cid - 2, car.len() - last_cid + 2] {
        match index.index_car(PIECE, &car[..cut]) {
            Err(IndexError::Truncated { offset, .. }) => assert_eq!(offset, cut as u64),
            other => panic!("cut at {cut}: {other:?}"),
        }
        for (cid, _) in &blocks {
            assert!(index.find_block(cid.hash()).unwrap().is_empty());
        }
    }
    // A section length that runs past a CARv2's data is malformed, not truncated.
    let v1 = car_v1(&blocks);
    let (mut v2, _) = car_v2(&v1, 0);
    let data_size_at = 11 + 24;
    v2[data_size_at..data_size_at + 8].copy_from_slice(&(v1.len() as u64 - 2).to_le_bytes());
    assert!(matches!(
        index.index_car(PIECE, &v2[..]),
        Err(IndexError::Malformed { .. })
    ));
    assert!(index.find_block(blocks[0].0.hash()).unwrap().is_empty());
}

#[test]
fn non_car_payload_is_not_car() {
    let index = index();
    for payload in [
        &b"just some text the client uploaded"[..],
        &[][..],
        &[0u8; 64][..],
        &[0x03, 0x01, 0x02, 0x03, 0x04][..],
    ] {
        match index.index_car(PIECE, payload) {
            Err(e @ IndexError::NotCar(_)) => assert!(e.to_string().contains("not a CAR")),
            other => panic!("{payload:?}: {other:?}"),
        }
    }
    // A well-formed header of an unknown version.
    let header = fvm_ipld_encoding::to_vec(&Header {
        roots: vec![],
        version: 3,
    })
    .unwrap();
    let mut car = varint(header.len() as u64);
    car.extend(header);
    assert!(matches!(
        index.index_car(PIECE, &car[..]),
        Err(IndexError::NotCar(_))
    ));
}

#[test]
fn remove_deal_drops_its_locations_and_then_the_block_index() {
    let blocks = blocks();
    let index = index();
    let (a, b) = (DealUuid::new_random(), DealUuid::new_random());
    index.add_piece(PIECE, location(a, 1)).unwrap();
    index.add_piece(PIECE, location(b, 2)).unwrap();
    index.index_car(PIECE, &car_v1(&blocks)[..]).unwrap();
    // Another piece shares the first block.
    let other = CommP([9; 32]);
    index.add_piece(other, location(b, 4)).unwrap();
    index.index_car(other, &car_v1(&blocks[..1])[..]).unwrap();

    index.remove_deal(a).unwrap();
    assert_eq!(index.locations(&PIECE).unwrap(), vec![location(b, 2)]);
    assert_eq!(index.find_block(blocks[1].0.hash()).unwrap().len(), 1);
    index.remove_deal(a).unwrap();

    // Deal b held the last locations of both pieces.
    index.remove_deal(b).unwrap();
    assert!(index.locations(&PIECE).unwrap().is_empty());
    assert!(index.locations(&other).unwrap().is_empty());
    for (cid, _) in &blocks {
        assert!(index.find_block(cid.hash()).unwrap().is_empty(), "{cid}");
    }
}

#[test]
fn remove_deal_keeps_blocks_of_pieces_still_stored() {
    let blocks = blocks();
    let index = index();
    let (a, b) = (DealUuid::new_random(), DealUuid::new_random());
    let other = CommP([9; 32]);
    index.add_piece(PIECE, location(a, 1)).unwrap();
    index.add_piece(other, location(b, 2)).unwrap();
    index.index_car(PIECE, &car_v1(&blocks)[..]).unwrap();
    index.index_car(other, &car_v1(&blocks[..1])[..]).unwrap();

    index.remove_deal(a).unwrap();
    let left = index.find_block(blocks[0].0.hash()).unwrap();
    assert_eq!(
        left.iter().map(|l| l.piece).collect::<Vec<_>>(),
        vec![other]
    );
    assert!(index.find_block(blocks[1].0.hash()).unwrap().is_empty());
}

#[test]
fn scanner_reads_sections_one_at_a_time() {
    let blocks = blocks();
    let car = car_v1(&blocks);
    let mut scanner = CarScanner::new(&car[..]).unwrap();
    assert_eq!(scanner.roots(), &[blocks[0].0]);
    for (cid, data) in &blocks {
        let span = scanner.next_block().unwrap().unwrap();
        assert_eq!(span.cid, *cid);
        assert_eq!(span.length, data.len() as u64);
    }
    assert!(scanner.next_block().unwrap().is_none());
    assert!(scanner.next_block().unwrap().is_none());
}
