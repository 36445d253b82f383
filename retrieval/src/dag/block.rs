//! Loading one block and checking it against its CID.

use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};

use super::{BlockSource, DagError};

/// The multicodec of raw bytes.
pub(crate) const RAW: u64 = 0x55;
/// The multicodec of dag-pb (UnixFS).
pub(crate) const DAG_PB: u64 = 0x70;
/// The multicodec of dag-cbor.
pub(crate) const DAG_CBOR: u64 = 0x71;
/// The multicodec of plain CBOR, which has no links.
pub(crate) const CBOR: u64 = 0x51;
/// The multicodec of plain JSON, which has no links.
pub(crate) const JSON: u64 = 0x0200;
/// The identity multihash: the digest is the block itself.
const IDENTITY: u64 = 0x00;

/// Whether the CID carries its block inline (identity multihash). Such blocks
/// are never sent in a CAR: their bytes are already in the CID.
pub(crate) fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

/// The block's bytes, checked against the CID's multihash (sha2-256,
/// sha2-512, blake2b-256 or blake2b-512).
///
/// An identity CID is answered from the CID itself, without asking the
/// source. This is also what a `format=raw` answer sends.
pub fn load_block(source: &impl BlockSource, cid: &Cid) -> Result<Vec<u8>, DagError> {
    let mh = cid.hash();
    if mh.code() == IDENTITY {
        return Ok(mh.digest().to_vec());
    }
    // The hashes named above, whatever else the workspace's build of
    // multihash-codetable happens to enable.
    let code = match mh.code() {
        0x12 => Code::Sha2_256,
        0x13 => Code::Sha2_512,
        0xb220 => Code::Blake2b256,
        0xb240 => Code::Blake2b512,
        other => {
            return Err(DagError::UnsupportedHash {
                cid: *cid,
                code: other,
            });
        }
    };
    let data = source.get(cid)?.ok_or(DagError::BlockNotFound(*cid))?;
    if code.digest(&data).digest() != mh.digest() {
        return Err(DagError::HashMismatch(*cid));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::fixture::Store;

    #[test]
    fn sha2_and_blake2b_blocks_are_checked() {
        let mut store = Store::default();
        let sha = store.put(RAW, Code::Sha2_256, b"hello".to_vec());
        let blake = store.put(RAW, Code::Blake2b256, b"world".to_vec());
        assert_eq!(load_block(&store, &sha).unwrap(), b"hello");
        assert_eq!(load_block(&store, &blake).unwrap(), b"world");

        store.blocks.insert(sha, b"HELLO".to_vec());
        assert!(matches!(load_block(&store, &sha), Err(DagError::HashMismatch(c)) if c == sha));
    }

    #[test]
    fn identity_is_read_from_the_cid_without_the_source() {
        let store = Store::default();
        let cid = Cid::new_v1(
            RAW,
            cid::multihash::Multihash::wrap(0x00, b"inline").unwrap(),
        );
        assert_eq!(load_block(&store, &cid).unwrap(), b"inline");
        assert_eq!(store.gets.get(), 0);
    }

    #[test]
    fn missing_and_unverifiable_blocks_are_told_apart() {
        let store = Store::default();
        let missing = Cid::new_v1(RAW, Code::Sha2_256.digest(b"absent"));
        assert!(
            matches!(load_block(&store, &missing), Err(DagError::BlockNotFound(c)) if c == missing)
        );

        // keccak-256 (0x1b) is not in the table this gateway verifies with
        let mh = cid::multihash::Multihash::<64>::wrap(0x1b, &[7; 32]).unwrap();
        let odd = Cid::new_v1(RAW, mh);
        assert!(matches!(
            load_block(&store, &odd),
            Err(DagError::UnsupportedHash { code: 0x1b, .. })
        ));
        assert_eq!(
            store.gets.get(),
            1,
            "an unverifiable CID is refused before the source is read"
        );
    }
}
