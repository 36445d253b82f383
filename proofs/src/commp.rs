//! Streaming piece commitments (CommP) in constant memory.
//!
//! filecoin-proofs' `generate_piece_commitment` keeps the whole leaf layer
//! in memory (half the piece size: 16 GiB for a 32 GiB piece). This computes
//! the same root while streaming: the data is fr32-padded (filecoin-proofs'
//! own `Fr32Reader`), its 32-byte nodes are the leaves, and each parent is
//! SHA-256 of its two children with the top two bits cleared (the
//! `sha2-256-trunc254-padded` tree). A stack holds one pending node per
//! level, so memory is O(log n). Tests check it against filecoin-proofs.

use std::io::Read;

use ferrite_types::{CommP, PieceInfo, UnpaddedPieceSize};
use filecoin_proofs_api::fr32::Fr32Reader;
use sha2::{Digest, Sha256};

use crate::ProofsError;
use crate::params::io;

fn parent(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    let mut out: [u8; 32] = h.finalize().into();
    out[31] &= 0b0011_1111;
    out
}

/// The commitment of exactly `size` unpadded bytes read from `source`; an
/// error if the source ends early.
pub fn piece_commitment(
    source: impl Read,
    size: UnpaddedPieceSize,
) -> Result<PieceInfo, ProofsError> {
    let padded = size.padded();
    let mut reader = Fr32Reader::new(source.take(size.bytes()));
    let leaves = padded.bytes() / 32;
    let mut stack: Vec<(u32, [u8; 32])> = Vec::with_capacity(64);
    let mut buf = vec![0u8; 1 << 20];
    let mut node = [0u8; 32];
    let mut filled = 0usize;
    let mut seen = 0u64;
    while seen < leaves {
        let n = reader
            .read(&mut buf)
            .map_err(|e| io("read piece data".to_string(), e))?;
        if n == 0 {
            return Err(ProofsError::InvalidInput(format!(
                "piece data ended after {} of {} padded bytes",
                seen * 32 + filled as u64,
                padded.bytes()
            )));
        }
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            let take = (32 - filled).min(chunk.len());
            node[filled..filled + take].copy_from_slice(&chunk[..take]);
            filled += take;
            chunk = &chunk[take..];
            if filled == 32 {
                filled = 0;
                seen += 1;
                let mut cur = (0u32, node);
                while let Some(&(level, ref top)) = stack.last() {
                    if level != cur.0 {
                        break;
                    }
                    let merged = parent(top, &cur.1);
                    stack.pop();
                    cur = (level + 1, merged);
                }
                stack.push(cur);
            }
        }
    }
    match stack.as_slice() {
        [(_, root)] => Ok(PieceInfo {
            comm_p: CommP(*root),
            size: padded,
        }),
        _ => Err(ProofsError::Proof(anyhow::anyhow!(
            "piece tree did not reduce to one root ({} nodes left)",
            stack.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::*;
    use crate::seal;
    use ferrite_types::{SealProof, SectorSize};

    #[test]
    fn matches_filecoin_proofs_for_many_sizes() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for shift in [7u32, 8, 11, 14, 17] {
            let size = ferrite_types::PaddedPieceSize::new(1 << shift)
                .unwrap()
                .unpadded();
            let mut data = vec![0u8; size.bytes() as usize];
            rng.fill_bytes(&mut data);
            let ours = piece_commitment(&data[..], size).unwrap();
            let theirs =
                seal::generate_piece_commitment(SealProof::new(SectorSize::S8MiB), &data[..], size)
                    .unwrap();
            assert_eq!(ours, theirs, "size {size}");
        }
    }

    #[test]
    fn zero_piece_is_the_lotus_constant() {
        let size = UnpaddedPieceSize::new(2032).unwrap();
        let p = piece_commitment(std::io::repeat(0), size).unwrap();
        assert_eq!(
            p.comm_p.to_string(),
            "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
        );
    }

    #[test]
    fn short_data_is_an_error() {
        let size = UnpaddedPieceSize::new(2032).unwrap();
        let err = piece_commitment(&[0u8; 1000][..], size).unwrap_err();
        assert!(err.to_string().contains("ended after"), "{err}");
    }
}
