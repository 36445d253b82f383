//! CARv1 framing of the walked blocks.
//!
//! ```text
//!  varint(len) dag-cbor{roots: [CID], version: 1} ‖ varint(len) CID data ‖ …
//! ```

use cid::Cid;
use serde::Serialize;

use super::DagError;

/// The CARv1 header; fields in dag-cbor's canonical key order.
#[derive(Serialize)]
struct Header<'a> {
    roots: &'a [Cid],
    version: u64,
}

/// The CARv1 header with its length prefix. The trustless gateway names the
/// requested CID as the single root (clients ignore it).
pub fn car_header(roots: &[Cid]) -> Result<Vec<u8>, DagError> {
    let header = serde_ipld_dagcbor::to_vec(&Header { roots, version: 1 })
        .map_err(|e| DagError::Encode(e.to_string()))?;
    Ok(prefixed(&[&header]))
}

/// One CARv1 section: the length of what follows, the CID's bytes, the data.
pub fn car_section(cid: &Cid, data: &[u8]) -> Vec<u8> {
    prefixed(&[&cid.to_bytes(), data])
}

fn prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut buf = unsigned_varint::encode::u64_buffer();
    let prefix = unsigned_varint::encode::u64(len as u64, &mut buf);
    let mut out = Vec::with_capacity(prefix.len() + len);
    out.extend_from_slice(prefix);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use fvm_ipld_car::CarReader;

    use super::*;
    use crate::dag::fixture::Store;
    use crate::dag::{DagScope, walk};

    #[test]
    fn a_walked_car_reads_back_with_a_car_reader() {
        let mut store = Store::default();
        let big = vec![7u8; 300]; // a length prefix of two varint bytes
        let a = store.raw(&big);
        let b = store.raw(b"tail");
        let (root, _) = store.file_node(b"", &[(a, 300), (b, 4)]);

        let mut car = car_header(&[root]).unwrap();
        let mut sent = Vec::new();
        walk(&store, &root, &[], DagScope::All, None, |cid, data| {
            car.extend(car_section(cid, data));
            sent.push((*cid, data.to_vec()));
            Ok(())
        })
        .unwrap();

        let reader = CarReader::new(car.as_slice()).unwrap(); // checks each block's hash
        assert_eq!(reader.header.roots, vec![root]);
        assert_eq!(reader.header.version, 1);
        let read: Vec<_> = reader
            .map(|b| b.map(|b| (b.cid, b.data)).unwrap())
            .collect();
        assert_eq!(read, sent);
        assert_eq!(
            read.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            vec![root, a, b]
        );
    }

    #[test]
    fn a_section_is_length_cid_data() {
        let mut store = Store::default();
        let cid = store.raw(b"abc");
        let section = car_section(&cid, b"abc");
        let cid_len = cid.to_bytes().len();
        assert_eq!(usize::from(section[0]), cid_len + 3);
        assert_eq!(&section[1..1 + cid_len], cid.to_bytes().as_slice());
        assert_eq!(&section[1 + cid_len..], b"abc");
    }
}
