//! Which replica a cache directory belongs to: its CommR, read back from the
//! cache's `p_aux`.
//!
//! A snapped sector has two replicas on disk (the sector key and the update)
//! and the chain names one of them by CommR; this says which cache is which
//! without touching the replica itself. filecoin-proofs derives CommR as
//! Poseidon `hash2(comm_c, comm_r_last)`, for a sealed sector and for an
//! empty-sector update alike (the update's cache keeps the sector key's
//! `comm_c` beside its new `comm_r_last`), and writes both halves to `p_aux`.

use std::path::Path;

use ferrite_types::CommR;
use filecoin_hashers::{HashFunction, Hasher};
use filecoin_proofs::{DefaultTreeDomain, DefaultTreeHasher};
use storage_proofs_core::cache_key::CacheKey;
use storage_proofs_porep::stacked::PersistentAux;

use crate::ProofsError;

/// The CommR of the replica whose cache is `cache_dir` (a sealed sector's
/// cache or an update's), from the cache's `p_aux`. Reads 64 bytes.
///
/// A `p_aux` that is missing is [`ProofsError::Io`]; one that does not hold
/// two field elements is [`ProofsError::InvalidInput`].
pub fn replica_comm_r(cache_dir: &Path) -> Result<CommR, ProofsError> {
    let path = cache_dir.join(CacheKey::PAux.to_string());
    let bytes = std::fs::read(&path).map_err(|source| ProofsError::Io {
        what: format!("read {}", path.display()),
        source,
    })?;
    let corrupt = |why: String| ProofsError::InvalidInput(format!("{}: {why}", path.display()));
    let aux: PersistentAux<DefaultTreeDomain> =
        bincode::deserialize(&bytes).map_err(|e| corrupt(format!("not a p_aux: {e}")))?;
    // The hash converts each half to a field element and panics on bytes
    // that are not one, so those are refused here.
    for (name, d) in [("comm_c", &aux.comm_c), ("comm_r_last", &aux.comm_r_last)] {
        let repr: [u8; 32] = (*d).into();
        if bool::from(blstrs::Scalar::from_bytes_le(&repr).is_none()) {
            return Err(corrupt(format!("{name} is not a field element")));
        }
    }
    let comm_r = <DefaultTreeHasher as Hasher>::Function::hash2(&aux.comm_c, &aux.comm_r_last);
    Ok(CommR(comm_r.into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_missing_p_aux_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = replica_comm_r(dir.path()).unwrap_err();
        assert!(
            matches!(&err, ProofsError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{err}"
        );
        assert!(err.to_string().contains("p_aux"), "{err}");
    }

    #[test]
    fn a_garbage_p_aux_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let p_aux = dir.path().join("p_aux");
        for garbage in [&b"not a p_aux"[..], &[0xff; 64][..], &[][..]] {
            std::fs::write(&p_aux, garbage).unwrap();
            let err = replica_comm_r(dir.path()).unwrap_err();
            assert!(
                matches!(err, ProofsError::InvalidInput(_)),
                "{garbage:?}: {err}"
            );
        }
    }

    #[test]
    fn comm_r_hashes_both_halves() {
        let dir = tempfile::tempdir().unwrap();
        let write = |comm_c: u8, comm_r_last: u8| {
            let aux = PersistentAux {
                comm_c: DefaultTreeDomain::from([comm_c; 32]),
                comm_r_last: DefaultTreeDomain::from([comm_r_last; 32]),
            };
            std::fs::write(dir.path().join("p_aux"), bincode::serialize(&aux).unwrap()).unwrap();
            replica_comm_r(dir.path()).unwrap()
        };
        let a = write(1, 2);
        assert_eq!(write(1, 2), a, "deterministic");
        assert_ne!(write(1, 3), a, "a new comm_r_last, a new CommR");
        assert_ne!(write(3, 2), a);
        assert_ne!(write(2, 1), a, "ordered");
    }
}
