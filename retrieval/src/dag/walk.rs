//! The depth-first walk behind a CAR answer (`order=dfs; dups=n`).
//!
//! ```text
//!  resolve path (load only) ─▶ emit path blocks ─▶ terminal per scope:
//!    block:  the terminal block
//!    entity: file ─ all its blocks, or with entity-bytes the blocks that cover the range
//!            HAMT directory ─ its shard nodes;  anything else ─ the terminal block
//!    all:    every block reachable through links
//! ```
//!
//! The path is resolved before anything is emitted, so a missing segment or
//! path block fails with nothing sent and the HTTP layer can still answer
//! 404. Blocks go out in pre-order, children in link order. A block already
//! emitted is not emitted again; in the full walks (`all`, entity of a file
//! or shard) its subtree is skipped too, since it went out with it. Identity
//! CIDs are followed but never emitted.

use std::collections::HashSet;

use cid::Cid;

use super::block::{DAG_PB, RAW, is_identity, load_block};
use super::links::links;
use super::request::{DagScope, EntityBytes};
use super::unixfs::{DataType, Node};
use super::{BlockSource, DagError, WalkError};

/// Emits, in DFS order and without duplicates, the blocks that prove `path`
/// under `root` and then those of the terminal entity per `scope`.
///
/// `entity_bytes`, when given, implies [`DagScope::Entity`] and limits a
/// UnixFS file to the blocks covering that range (a range that misses the
/// file entirely gives the terminal block alone, as `dag-scope=block` would);
/// it is ignored for anything that is not a file. Returns how many blocks
/// were emitted.
pub fn walk(
    source: &impl BlockSource,
    root: &Cid,
    path: &[String],
    scope: DagScope,
    entity_bytes: Option<EntityBytes>,
    emit: impl FnMut(&Cid, &[u8]) -> Result<(), DagError>,
) -> Result<u64, WalkError> {
    let mut walker = Walker {
        source,
        emit,
        sent: HashSet::new(),
        emitted: 0,
    };
    match walker.run(root, path, scope, entity_bytes) {
        Ok(()) => Ok(walker.emitted),
        Err(error) => Err(WalkError {
            emitted: walker.emitted,
            error: Box::new(error),
        }),
    }
}

struct Walker<'a, S, F> {
    source: &'a S,
    emit: F,
    sent: HashSet<Cid>,
    emitted: u64,
}

impl<S, F> Walker<'_, S, F>
where
    S: BlockSource,
    F: FnMut(&Cid, &[u8]) -> Result<(), DagError>,
{
    fn run(
        &mut self,
        root: &Cid,
        path: &[String],
        scope: DagScope,
        entity_bytes: Option<EntityBytes>,
    ) -> Result<(), DagError> {
        let mut cid = *root;
        let mut block = load_block(self.source, &cid)?;
        let mut trail = Vec::with_capacity(path.len());
        for segment in path {
            let next = child_named(&cid, &block, segment)?;
            trail.push((cid, block));
            cid = next;
            block = load_block(self.source, &cid)?;
        }
        for (cid, block) in &trail {
            self.send(cid, block)?;
        }
        match (scope, entity_bytes) {
            (_, Some(range)) => self.entity(cid, block, Some(range)),
            (DagScope::Block, None) => self.send(&cid, &block),
            (DagScope::Entity, None) => self.entity(cid, block, None),
            (DagScope::All, None) => self.all(cid, block),
        }
    }

    fn send(&mut self, cid: &Cid, block: &[u8]) -> Result<(), DagError> {
        if is_identity(cid) || !self.sent.insert(*cid) {
            return Ok(());
        }
        (self.emit)(cid, block)?;
        self.emitted += 1;
        Ok(())
    }

    fn entity(
        &mut self,
        cid: Cid,
        block: Vec<u8>,
        range: Option<EntityBytes>,
    ) -> Result<(), DagError> {
        if cid.codec() != DAG_PB {
            // raw is its own whole entity; other codecs are not UnixFS
            return self.send(&cid, &block);
        }
        let node = Node::decode(&cid, &block)?;
        match (node.kind(), range) {
            (Some(DataType::File | DataType::Raw), Some(range)) => {
                self.file_range(cid, &block, &node, range)
            }
            (Some(DataType::File | DataType::Raw), None) => self.all(cid, block),
            (Some(DataType::HamtShard), _) => self.shards(cid, block),
            _ => self.send(&cid, &block),
        }
    }

    /// Every block reachable from `root`.
    fn all(&mut self, root: Cid, block: Vec<u8>) -> Result<(), DagError> {
        let mut stack = vec![(root, Some(block))];
        while let Some((cid, block)) = stack.pop() {
            if self.sent.contains(&cid) {
                continue;
            }
            let block = match block {
                Some(b) => b,
                None => load_block(self.source, &cid)?,
            };
            self.send(&cid, &block)?;
            let children = links(&cid, &block)?;
            stack.extend(children.into_iter().rev().map(|c| (c, None)));
        }
        Ok(())
    }

    /// The shard nodes of a HAMT-sharded directory, not its entries.
    fn shards(&mut self, root: Cid, block: Vec<u8>) -> Result<(), DagError> {
        let mut stack = vec![(root, Some(block))];
        while let Some((cid, block)) = stack.pop() {
            if self.sent.contains(&cid) {
                continue;
            }
            let block = match block {
                Some(b) => b,
                None => load_block(self.source, &cid)?,
            };
            let node = match cid.codec() {
                DAG_PB => Node::decode(&cid, &block)?,
                _ => return Err(not_in(&cid, "a HAMT shard", "dag-pb")),
            };
            if node.kind() != Some(DataType::HamtShard) {
                return Err(not_in(&cid, "a HAMT shard", "a HAMT shard node"));
            }
            self.send(&cid, &block)?;
            let subs: Vec<Cid> = node.sub_shards(&cid)?.map(|l| l.cid).collect();
            stack.extend(subs.into_iter().rev().map(|c| (c, None)));
        }
        Ok(())
    }

    /// The file's root and the blocks that cover `range` of its bytes.
    fn file_range(
        &mut self,
        root: Cid,
        block: &[u8],
        node: &Node,
        range: EntityBytes,
    ) -> Result<(), DagError> {
        self.send(&root, block)?;
        let size = node.file_layout(&root)?.size;
        let Some((first, last)) = range.resolve(size) else {
            return Ok(());
        };
        let mut stack = covering(&root, node, 0, first, last)?;
        stack.reverse();
        // No pruning here: the same node may sit at another offset and cover
        // other bytes there, so it is revisited, though not re-emitted.
        while let Some((cid, offset)) = stack.pop() {
            let block = load_block(self.source, &cid)?;
            self.send(&cid, &block)?;
            match cid.codec() {
                RAW => {}
                DAG_PB => {
                    let node = Node::decode(&cid, &block)?;
                    if !matches!(node.kind(), Some(DataType::File | DataType::Raw)) {
                        return Err(not_in(&cid, "a UnixFS file", "a file node"));
                    }
                    let mut children = covering(&cid, &node, offset, first, last)?;
                    children.reverse();
                    stack.extend(children);
                }
                _ => return Err(not_in(&cid, "a UnixFS file", "raw or dag-pb")),
            }
        }
        Ok(())
    }
}

/// The children of a file node (which starts at `offset` in the file) whose
/// bytes meet `first..=last`, with their own offsets.
fn covering(
    cid: &Cid,
    node: &Node,
    offset: u64,
    first: u64,
    last: u64,
) -> Result<Vec<(Cid, u64)>, DagError> {
    Ok(node
        .file_layout(cid)?
        .children
        .into_iter()
        .map(|s| (s.link.cid, offset.saturating_add(s.offset), s.len))
        .filter(|&(_, start, len)| len > 0 && start <= last && start.saturating_add(len) > first)
        .map(|(cid, start, _)| (cid, start))
        .collect())
}

/// The link named `segment` in the UnixFS directory `block`.
fn child_named(cid: &Cid, block: &[u8], segment: &str) -> Result<Cid, DagError> {
    let not_dir = || DagError::NotADirectory {
        cid: *cid,
        segment: segment.to_owned(),
    };
    if cid.codec() != DAG_PB {
        return Err(not_dir());
    }
    let node = Node::decode(cid, block)?;
    match node.kind() {
        Some(DataType::Directory) => node
            .links
            .iter()
            .find(|l| l.name.as_deref() == Some(segment))
            .map(|l| l.cid)
            .ok_or_else(|| DagError::PathNotFound {
                parent: *cid,
                segment: segment.to_owned(),
            }),
        Some(DataType::HamtShard) => Err(DagError::ShardedDirectory {
            cid: *cid,
            segment: segment.to_owned(),
        }),
        _ => Err(not_dir()),
    }
}

fn not_in(cid: &Cid, whole: &str, expected: &str) -> DagError {
    DagError::Malformed {
        cid: *cid,
        reason: format!("block inside {whole} is not {expected}"),
    }
}

#[cfg(test)]
mod tests;
