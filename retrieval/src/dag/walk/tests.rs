use std::collections::BTreeMap;

use cid::Cid;
use cid::multihash::Multihash;
use ipld_core::ipld::Ipld;
use multihash_codetable::{Code, MultihashDigest};

use super::*;
use crate::dag::block::DAG_CBOR;
use crate::dag::fixture::Store;

/// A 40-byte file in two levels, a directory tree over it, and a dag-cbor node.
///
/// ```text
///  dir  ─ docs ─ file.bin = file ─┬─ mid1 ─ l0 (0..10)  l1 (10..20)
///       └ notes.txt = l3          └─ mid2 ─ l2 (20..30) l3 (30..40)
///  cbor {"b": l1, "aa": file, "list": [l1]}
/// ```
struct Dag {
    store: Store,
    l: [Cid; 4],
    mid1: Cid,
    mid2: Cid,
    file: Cid,
    docs: Cid,
    dir: Cid,
    cbor: Cid,
}

fn dag() -> Dag {
    let mut store = Store::default();
    let l = [b'a', b'b', b'c', b'd'].map(|c| store.raw(&[c; 10]));
    let (mid1, _) = store.file_node(b"", &[(l[0], 10), (l[1], 10)]);
    let (mid2, _) = store.file_node(b"", &[(l[2], 10), (l[3], 10)]);
    let (file, _) = store.file_node(b"", &[(mid1, 20), (mid2, 20)]);
    let docs = store.dir(&[("file.bin", file)]);
    let dir = store.dir(&[("docs", docs), ("notes.txt", l[3])]);
    let cbor = store.cbor(&Ipld::Map(BTreeMap::from([
        ("aa".to_owned(), Ipld::Link(file)),
        ("b".to_owned(), Ipld::Link(l[1])),
        ("list".to_owned(), Ipld::List(vec![Ipld::Link(l[1])])),
    ])));
    Dag {
        store,
        l,
        mid1,
        mid2,
        file,
        docs,
        dir,
        cbor,
    }
}

fn run(
    store: &Store,
    root: &Cid,
    path: &[&str],
    scope: DagScope,
    bytes: Option<&str>,
) -> Result<Vec<Cid>, WalkError> {
    let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    let bytes = bytes.map(|b| EntityBytes::parse(b).unwrap());
    let mut sent = Vec::new();
    let count = walk(store, root, &path, scope, bytes, |cid, data| {
        assert!(!is_identity(cid), "identity blocks are never emitted");
        assert_eq!(store.blocks[cid], data, "emitted bytes are the block's");
        sent.push(*cid);
        Ok(())
    })?;
    assert_eq!(count, sent.len() as u64);
    Ok(sent)
}

fn blocks(d: &Dag, root: &Cid, path: &[&str], scope: DagScope, bytes: Option<&str>) -> Vec<Cid> {
    run(&d.store, root, path, scope, bytes).unwrap()
}

#[test]
fn all_is_depth_first_pre_order_in_link_order() {
    let d = dag();
    let [l0, l1, l2, l3] = d.l;
    assert_eq!(
        blocks(&d, &d.file, &[], DagScope::All, None),
        vec![d.file, d.mid1, l0, l1, d.mid2, l2, l3]
    );
}

#[test]
fn a_block_reachable_twice_is_sent_once() {
    let d = dag();
    let [l0, l1, l2, l3] = d.l;
    // notes.txt is l3 again, already sent inside docs/file.bin
    assert_eq!(
        blocks(&d, &d.dir, &[], DagScope::All, None),
        vec![d.dir, d.docs, d.file, d.mid1, l0, l1, d.mid2, l2, l3]
    );
    // dag-cbor links in encoded order ("b" before "aa"); l1 is not resent
    // under mid1 nor for the list
    assert_eq!(
        blocks(&d, &d.cbor, &[], DagScope::All, None),
        vec![d.cbor, l1, d.file, d.mid1, l0, d.mid2, l2, l3]
    );

    let mut store = Store::default();
    let a = store.raw(b"0123456789");
    let b = store.raw(b"abcdefghij");
    let (twice, _) = store.file_node(b"", &[(a, 10), (a, 10), (b, 10)]);
    assert_eq!(
        run(&store, &twice, &[], DagScope::Entity, None).unwrap(),
        vec![twice, a, b]
    );
    assert_eq!(
        run(&store, &twice, &[], DagScope::Entity, Some("5:15")).unwrap(),
        vec![twice, a],
        "the leaf covers both spans but goes out once"
    );
    assert_eq!(
        run(&store, &twice, &[], DagScope::Entity, Some("10:*")).unwrap(),
        vec![twice, a, b]
    );
}

#[test]
fn block_scope_is_the_terminal_block_after_the_path() {
    let d = dag();
    assert_eq!(blocks(&d, &d.dir, &[], DagScope::Block, None), vec![d.dir]);
    assert_eq!(
        blocks(&d, &d.dir, &["docs", "file.bin"], DagScope::Block, None),
        vec![d.dir, d.docs, d.file]
    );
    assert_eq!(
        blocks(&d, &d.cbor, &[], DagScope::Block, None),
        vec![d.cbor]
    );
}

#[test]
fn entity_scope_is_a_whole_file_a_directory_block_or_the_block() {
    let d = dag();
    let [l0, l1, l2, l3] = d.l;
    assert_eq!(
        blocks(&d, &d.dir, &["docs", "file.bin"], DagScope::Entity, None),
        vec![d.dir, d.docs, d.file, d.mid1, l0, l1, d.mid2, l2, l3]
    );
    assert_eq!(
        blocks(&d, &d.dir, &["docs"], DagScope::Entity, None),
        vec![d.dir, d.docs]
    );
    assert_eq!(
        blocks(&d, &d.dir, &["notes.txt"], DagScope::Entity, None),
        vec![d.dir, l3]
    );
    assert_eq!(
        blocks(&d, &d.cbor, &[], DagScope::Entity, None),
        vec![d.cbor]
    );
}

#[test]
fn entity_bytes_sends_only_the_leaves_covering_the_range() {
    let d = dag();
    let [l0, l1, l2, l3] = d.l;
    let range = |r| blocks(&d, &d.file, &[], DagScope::Entity, Some(r));
    assert_eq!(range("0:0"), vec![d.file, d.mid1, l0], "first byte");
    assert_eq!(range("0:9"), vec![d.file, d.mid1, l0], "first leaf exactly");
    assert_eq!(
        range("15:24"),
        vec![d.file, d.mid1, l1, d.mid2, l2],
        "middle, across subtrees"
    );
    assert_eq!(range("-5:*"), vec![d.file, d.mid2, l3], "last bytes");
    assert_eq!(
        range("10:-11"),
        vec![d.file, d.mid1, l1, d.mid2, l2],
        "negative to"
    );
    assert_eq!(
        range("35:1000"),
        vec![d.file, d.mid2, l3],
        "past the end is clamped"
    );
    assert_eq!(
        range("-1000:3"),
        vec![d.file, d.mid1, l0],
        "before the start is clamped"
    );
    assert_eq!(
        range("100:200"),
        vec![d.file],
        "entirely past the end: the root alone"
    );
    assert_eq!(
        range("30:-20"),
        vec![d.file],
        "an empty range: the root alone"
    );
    assert_eq!(range("0:*"), vec![d.file, d.mid1, l0, l1, d.mid2, l2, l3]);
}

#[test]
fn entity_bytes_counts_a_nodes_inline_bytes_first() {
    let mut store = Store::default();
    let a = store.raw(b"0123456789");
    let (root, _) = store.file_node(b"xyz", &[(a, 10)]);
    let range = |r| run(&store, &root, &[], DagScope::Entity, Some(r)).unwrap();
    assert_eq!(range("0:2"), vec![root], "the inline bytes are in the root");
    assert_eq!(range("2:3"), vec![root, a]);
}

#[test]
fn entity_bytes_follows_the_path_and_is_ignored_for_non_files() {
    let d = dag();
    let [l0, ..] = d.l;
    assert_eq!(
        blocks(
            &d,
            &d.dir,
            &["docs", "file.bin"],
            DagScope::Entity,
            Some("0:0")
        ),
        vec![d.dir, d.docs, d.file, d.mid1, l0]
    );
    assert_eq!(
        blocks(&d, &d.dir, &[], DagScope::Entity, Some("0:0")),
        vec![d.dir],
        "a directory is not bytes: entity scope"
    );
    assert_eq!(
        blocks(&d, &d.cbor, &[], DagScope::All, Some("0:0")),
        vec![d.cbor]
    );
    assert_eq!(
        blocks(&d, &d.dir, &["notes.txt"], DagScope::Entity, Some("0:0")),
        vec![d.dir, d.l[3]],
        "a raw leaf is its own range"
    );
}

#[test]
fn a_missing_path_segment_is_not_found_before_anything_is_sent() {
    let d = dag();
    let err = run(&d.store, &d.dir, &["docs", "nope"], DagScope::All, None).unwrap_err();
    assert_eq!(err.emitted, 0);
    assert!(!err.has_emitted());
    assert!(
        matches!(err.error.as_ref(), DagError::PathNotFound { parent, segment } if *parent == d.docs && segment == "nope"),
        "{:?}",
        err.error
    );
}

#[test]
fn a_path_through_a_non_directory_is_refused() {
    let d = dag();
    for (root, path, at) in [
        (d.dir, &["notes.txt", "x"][..], d.l[3]),
        (d.dir, &["docs", "file.bin", "x"][..], d.file),
        (d.cbor, &["aa"][..], d.cbor),
    ] {
        let err = run(&d.store, &root, path, DagScope::All, None).unwrap_err();
        assert_eq!(err.emitted, 0);
        assert!(
            matches!(err.error.as_ref(), DagError::NotADirectory { cid, segment } if *cid == at && segment == path[path.len() - 1]),
            "{path:?}: {:?}",
            err.error
        );
    }
}

#[test]
fn a_block_that_does_not_match_its_cid_stops_the_walk() {
    let mut d = dag();
    let [_, _, l2, _] = d.l;
    d.store.blocks.insert(l2, vec![b'x'; 10]);
    let err = run(&d.store, &d.file, &[], DagScope::All, None).unwrap_err();
    assert!(
        matches!(*err.error, DagError::HashMismatch(c) if c == l2),
        "{:?}",
        err.error
    );
    assert_eq!(err.emitted, 5, "file, mid1, l0, l1, mid2 went out first");
}

#[test]
fn a_missing_block_says_whether_anything_was_sent() {
    let mut d = dag();
    let [_, _, _, l3] = d.l;
    d.store.blocks.remove(&l3);
    let err = run(&d.store, &d.file, &[], DagScope::All, None).unwrap_err();
    assert!(matches!(*err.error, DagError::BlockNotFound(c) if c == l3));
    assert_eq!(err.emitted, 6);
    assert!(err.has_emitted(), "the stream must be aborted");

    let err = run(&d.store, &d.file, &[], DagScope::Entity, Some("-1:*")).unwrap_err();
    assert!(matches!(*err.error, DagError::BlockNotFound(c) if c == l3));
    assert_eq!(err.emitted, 2, "file, mid2");

    d.store.blocks.remove(&d.docs);
    let err = run(&d.store, &d.dir, &["docs", "file.bin"], DagScope::All, None).unwrap_err();
    assert!(matches!(*err.error, DagError::BlockNotFound(c) if c == d.docs));
    assert_eq!(
        err.emitted, 0,
        "the path is resolved before the first block goes out"
    );

    let absent = Cid::new_v1(RAW, Code::Sha2_256.digest(b"none"));
    let err = run(&d.store, &absent, &[], DagScope::All, None).unwrap_err();
    assert!(matches!(*err.error, DagError::BlockNotFound(c) if c == absent));
    assert_eq!(err.emitted, 0);
}

#[test]
fn identity_blocks_are_followed_but_neither_fetched_nor_sent() {
    let mut store = Store::default();
    let inline = Cid::new_v1(RAW, Multihash::wrap(0x00, b"hi").unwrap());
    let a = store.raw(b"0123456789");
    let (file, _) = store.file_node(b"", &[(inline, 2), (a, 10)]);
    assert_eq!(
        run(&store, &file, &[], DagScope::All, None).unwrap(),
        vec![file, a]
    );
    assert_eq!(store.gets.get(), 2, "file and a only");
    assert_eq!(
        run(&store, &file, &[], DagScope::Entity, Some("0:1")).unwrap(),
        vec![file]
    );

    // an identity dag-cbor root: its link is walked, the root is not sent
    let block = serde_ipld_dagcbor::to_vec(&Ipld::Map(BTreeMap::from([(
        "x".to_owned(),
        Ipld::Link(a),
    )])))
    .unwrap();
    let root = Cid::new_v1(DAG_CBOR, Multihash::wrap(0x00, &block).unwrap());
    store.gets.set(0);
    assert_eq!(
        run(&store, &root, &[], DagScope::All, None).unwrap(),
        vec![a]
    );
    assert_eq!(store.gets.get(), 1);
}

#[test]
fn entity_of_a_sharded_directory_is_its_shards_and_paths_through_it_are_refused() {
    let mut store = Store::default();
    let a = store.raw(b"a");
    let b = store.raw(b"b");
    let (inner, _) = store.shard(&[("1Fb.txt", b)], 256);
    let (outer, _) = store.shard(&[("0Aa.txt", a), ("3C", inner)], 256);
    assert_eq!(
        run(&store, &outer, &[], DagScope::Entity, None).unwrap(),
        vec![outer, inner]
    );
    assert_eq!(
        run(&store, &outer, &[], DagScope::All, None).unwrap(),
        vec![outer, a, inner, b]
    );
    let err = run(&store, &outer, &["a.txt"], DagScope::All, None).unwrap_err();
    assert!(
        matches!(err.error.as_ref(), DagError::ShardedDirectory { cid, segment } if *cid == outer && segment == "a.txt"),
        "{:?}",
        err.error
    );
}

#[test]
fn a_failing_sink_stops_the_walk_with_the_count_so_far() {
    let d = dag();
    let mut calls = 0;
    let err = walk(&d.store, &d.file, &[], DagScope::All, None, |_, _| {
        calls += 1;
        if calls == 3 {
            return Err(DagError::Sink(anyhow::anyhow!("client went away")));
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.emitted, 2);
    assert!(matches!(*err.error, DagError::Sink(_)));
}

#[test]
fn a_file_node_with_a_foreign_child_is_malformed_for_ranges() {
    let mut store = Store::default();
    let child = store.cbor(&Ipld::Integer(1));
    let (file, _) = store.file_node(b"", &[(child, 10)]);
    let err = run(&store, &file, &[], DagScope::Entity, Some("0:*")).unwrap_err();
    assert!(
        matches!(err.error.as_ref(), DagError::Malformed { cid, .. } if *cid == child),
        "{:?}",
        err.error
    );
    assert_eq!(err.emitted, 2, "the root and the offending block went out");
}
