//! Fr32 padding, bit for bit as filecoin-proofs' `Fr32Reader`.
//!
//! A BLS12-381 field element holds 254 bits, so the payload is cut into
//! 254-bit runs (bits in little-endian order: bit 0 is the low bit of byte
//! 0) and each run becomes one 32-byte node whose top two bits are zero.
//! 127 bytes (1016 bits) make exactly four nodes, 128 bytes. Node `k` of a
//! 127-byte chunk starts at bit 254·k: at bytes 0, 31, 63 and 95, bits 0,
//! 6, 4 and 2. Each node is built from four 64-bit words shifted across
//! their neighbours, eight bytes at a time rather than a byte loop.

/// Payload bytes per chunk.
pub(super) const IN_CHUNK: usize = 127;
/// Padded bytes per chunk: four nodes.
pub(super) const OUT_CHUNK: usize = 128;

/// Pads `input` (a multiple of 127 bytes) into `out` (128 bytes per 127).
pub(super) fn pad(input: &[u8], out: &mut [u8]) {
    debug_assert_eq!(input.len() % IN_CHUNK, 0);
    debug_assert_eq!(out.len(), input.len() / IN_CHUNK * OUT_CHUNK);
    for (i, o) in input
        .chunks_exact(IN_CHUNK)
        .zip(out.chunks_exact_mut(OUT_CHUNK))
    {
        pad_chunk(i, o);
    }
}

/// One 127-byte chunk into four nodes.
#[inline]
fn pad_chunk(input: &[u8], out: &mut [u8]) {
    let (Ok(input), Ok(out)) = (
        <&[u8; IN_CHUNK]>::try_from(input),
        <&mut [u8; OUT_CHUNK]>::try_from(out),
    ) else {
        unreachable!("chunks_exact yields whole chunks")
    };
    // Node 0 is bits 0..254: the first 32 bytes, top two bits cleared.
    out[..32].copy_from_slice(&input[..32]);
    out[31] &= 0x3f;
    // Node 1 starts at bit 254 (byte 31, bit 6), node 2 at bit 508 (byte 63,
    // bit 4), node 3 at bit 762 (byte 95, bit 2). Constant offsets and
    // shifts let the compiler drop every bounds and overflow check.
    shifted_node::<31, 6>(input, &mut out[32..64]);
    shifted_node::<63, 4>(input, &mut out[64..96]);
    shifted_node::<95, 2>(input, &mut out[96..128]);
}

/// The 254 bits of `input` from byte `AT`, bit `SHIFT`, into a node.
#[inline(always)]
fn shifted_node<const AT: usize, const SHIFT: u32>(input: &[u8; IN_CHUNK], node: &mut [u8]) {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&input[at..at + 8]);
        u64::from_le_bytes(w)
    };
    // The byte after the 32 read: its low bits end the node (node 3 ends
    // exactly at byte 127 and needs none).
    let next = if AT + 32 < IN_CHUNK {
        u64::from(input[AT + 32])
    } else {
        0
    };
    let w = [word(AT), word(AT + 8), word(AT + 16), word(AT + 24), next];
    let mut v = [0u64; 4];
    for j in 0..4 {
        v[j] = (w[j] >> SHIFT) | (w[j + 1] << (64 - SHIFT));
    }
    v[3] &= u64::MAX >> 2;
    for (o, x) in node.chunks_exact_mut(8).zip(v) {
        o.copy_from_slice(&x.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use filecoin_proofs_api::fr32::Fr32Reader;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::*;

    #[test]
    fn matches_fr32_reader_on_random_chunks() {
        let mut rng = ChaCha20Rng::seed_from_u64(32);
        for chunks in [1usize, 2, 3, 17, 1024] {
            let mut input = vec![0u8; chunks * IN_CHUNK];
            rng.fill_bytes(&mut input);
            let mut ours = vec![0u8; chunks * OUT_CHUNK];
            pad(&input, &mut ours);
            let mut theirs = Vec::new();
            Fr32Reader::new(&input[..])
                .read_to_end(&mut theirs)
                .unwrap();
            assert_eq!(ours, theirs, "{chunks} chunks");
        }
    }

    #[test]
    fn all_ones_leave_the_top_two_bits_of_each_node_clear() {
        let mut out = [0u8; OUT_CHUNK];
        pad(&[0xff; IN_CHUNK], &mut out);
        for node in out.chunks_exact(32) {
            assert!(node[..31].iter().all(|&b| b == 0xff));
            assert_eq!(node[31], 0x3f);
        }
    }
}
