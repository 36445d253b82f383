//! The `sha2-256-trunc254-padded` binary tree: parents, subtrees, zero
//! subtrees, and the stack that joins subtree roots left to right.
//!
//! A parent is SHA-256 of its two 32-byte children with the top two bits of
//! the digest cleared (so it is again a field element). SHA-256 of exactly
//! 64 bytes is two compressions: the children, then a padding block that is
//! the same for every parent. Calling `sha2::compress256` on both blocks
//! skips the hasher's buffering; sha2 picks SHA-NI (or ARMv8 SHA) at run
//! time. `compress256` needs sha2's `compress` feature, which
//! storage-proofs-porep, a dependency of this crate, turns on.

use sha2::digest::generic_array::GenericArray;

use crate::ProofsError;

/// A 32-byte tree node.
pub(super) type Node = [u8; 32];

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The padding block of a 64-byte message: 0x80, zeros, and the length in
/// bits (512) as a big-endian u64.
const PAD_BLOCK: [u8; 64] = {
    let mut b = [0u8; 64];
    b[0] = 0x80;
    b[62] = 0x02;
    b
};

/// The highest level a tree can have: a piece of 2^63 bytes has 2^58 nodes.
pub(super) const MAX_LEVEL: u32 = 58;

/// The parent of the two nodes in `children` (64 bytes: left, right).
#[inline]
pub(super) fn parent(children: &[u8]) -> Node {
    let blocks = [
        *GenericArray::from_slice(children),
        GenericArray::from(PAD_BLOCK),
    ];
    let mut state = IV;
    sha2::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out[31] &= 0x3f;
    out
}

/// The root of the subtree whose leaves are `nodes` (a power of two of
/// 32-byte nodes), computed in place: each level overwrites the front of
/// the one below, so the only memory is the leaves' own.
pub(super) fn subtree_root(nodes: &mut [u8]) -> Node {
    let mut n = nodes.len() / 32;
    debug_assert!(n.is_power_of_two());
    while n > 1 {
        for i in 0..n / 2 {
            let p = parent(&nodes[64 * i..64 * i + 64]);
            nodes[32 * i..32 * i + 32].copy_from_slice(&p);
        }
        n /= 2;
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(&nodes[..32]);
    root
}

/// The roots of all-zero subtrees, by level: level 0 is a zero node (fr32
/// padding keeps zeros zero), level `l + 1` the parent of two level-`l`
/// roots. They fill a piece past its payload in O(log n) hashes.
pub(super) fn zero_roots() -> Vec<Node> {
    let mut roots = Vec::with_capacity(MAX_LEVEL as usize + 1);
    let mut z = [0u8; 32];
    roots.push(z);
    for _ in 0..MAX_LEVEL {
        let mut pair = [0u8; 64];
        pair[..32].copy_from_slice(&z);
        pair[32..].copy_from_slice(&z);
        z = parent(&pair);
        roots.push(z);
    }
    roots
}

/// The pending roots of a tree built left to right, at most one per level
/// (a binary counter over the leaves seen): pushing a subtree root merges
/// it with its left neighbours of the same level.
#[derive(Debug)]
pub(super) struct Stack {
    /// (level, root), levels strictly decreasing from bottom to top.
    pending: Vec<(u32, Node)>,
    /// Leaves covered so far.
    leaves: u64,
    /// [`zero_roots`], computed once per tree.
    zeros: Vec<Node>,
}

impl Stack {
    pub(super) fn new() -> Self {
        Self {
            pending: Vec::with_capacity(MAX_LEVEL as usize + 1),
            leaves: 0,
            zeros: zero_roots(),
        }
    }

    /// Appends the root of a subtree of 2^`level` leaves. The leaves so far
    /// must be a multiple of 2^`level` (callers push whole aligned blocks,
    /// then smaller subtrees in decreasing size).
    pub(super) fn push(&mut self, level: u32, root: Node) {
        debug_assert_eq!(self.leaves % (1u64 << level), 0);
        self.leaves += 1u64 << level;
        let mut cur = (level, root);
        while let Some(&(l, left)) = self.pending.last() {
            if l != cur.0 {
                break;
            }
            self.pending.pop();
            let mut pair = [0u8; 64];
            pair[..32].copy_from_slice(&left);
            pair[32..].copy_from_slice(&cur.1);
            cur = (l + 1, parent(&pair));
        }
        self.pending.push(cur);
    }

    /// The root of the tree of 2^`height` leaves whose leaves past those
    /// pushed are zero: each missing right part is one zero-subtree root,
    /// so this costs at most `height` hashes.
    pub(super) fn finish(mut self, height: u32) -> Result<Node, ProofsError> {
        let target = 1u64
            .checked_shl(height)
            .filter(|_| height <= MAX_LEVEL)
            .ok_or_else(|| ProofsError::InvalidInput(format!("tree height {height} too large")))?;
        if self.leaves > target {
            return Err(ProofsError::InvalidInput(format!(
                "{} leaves do not fit a tree of {target}",
                self.leaves
            )));
        }
        if self.leaves == 0 {
            return Ok(self.zeros[height as usize]);
        }
        while self.leaves < target {
            let level = self.leaves.trailing_zeros();
            self.push(level, self.zeros[level as usize]);
        }
        match self.pending.as_slice() {
            [(_, root)] => Ok(*root),
            _ => Err(ProofsError::Proof(anyhow::anyhow!(
                "piece tree did not reduce to one root ({} nodes left)",
                self.pending.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn parent_is_truncated_sha256_of_both_children() {
        let mut pair = [0u8; 64];
        for (i, b) in pair.iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        let mut want: [u8; 32] = Sha256::digest(pair).into();
        want[31] &= 0x3f;
        assert_eq!(parent(&pair), want);
    }

    #[test]
    fn zero_roots_match_hashing_real_zeros() {
        let zeros = zero_roots();
        for level in 0..=12u32 {
            let mut nodes = vec![0u8; 32 << level];
            assert_eq!(subtree_root(&mut nodes), zeros[level as usize], "{level}");
        }
    }

    #[test]
    fn stack_fills_the_right_with_zero_subtrees() {
        // Three leaves of ones in a tree of eight equals hashing all eight.
        let mut all = vec![0u8; 8 * 32];
        all[..3 * 32].fill(1);
        let want = subtree_root(&mut all.clone());
        let mut stack = Stack::new();
        for _ in 0..3 {
            stack.push(0, [1; 32]);
        }
        assert_eq!(stack.finish(3).unwrap(), want);
        let mut stack = Stack::new();
        stack.push(0, [1; 32]);
        stack.push(0, [1; 32]);
        assert!(stack.finish(0).is_err());
    }
}
