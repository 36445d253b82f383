//! The same behaviour checks on both engines, plus what only a disk can show.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use ferrite_store::{
    Db, META_TABLE, MemDb, RawBatch, RawOp, RocksDb, RocksOptions, SCHEMA_VERSION, Store,
    StoreError, Table, codec,
};
use ferrite_types::{ActorId, SectorId, SectorNumber};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum State {
    Packing { pieces: Vec<u64> },
    Proving { comm_r: [u8; 32] },
}

const SECTORS: Table<SectorId, State> = Table::new("sectors");
const COUNTERS: Table<String, u64> = Table::new("counters");
const TABLES: [&str; 2] = [SECTORS.name(), COUNTERS.name()];

fn sid(miner: u64, n: u64) -> SectorId {
    SectorId::new(ActorId(miner), SectorNumber(n))
}

fn check_round_trip(store: &Store) {
    let s = State::Packing { pieces: vec![1, 2] };
    assert_eq!(store.get(&SECTORS, &sid(1000, 1)).unwrap(), None);
    store.put(&SECTORS, &sid(1000, 1), &s).unwrap();
    assert_eq!(store.get(&SECTORS, &sid(1000, 1)).unwrap(), Some(s));
    let mut b = store.batch();
    b.delete(&SECTORS, &sid(1000, 1));
    store.commit(b).unwrap();
    assert_eq!(store.get(&SECTORS, &sid(1000, 1)).unwrap(), None);
}

fn check_atomic_batch(store: &Store) {
    let mut b = store.batch();
    b.put(&COUNTERS, &"a".to_string(), &1).unwrap();
    b.put(&SECTORS, &sid(7, 7), &State::Proving { comm_r: [3; 32] })
        .unwrap();
    store.commit(b).unwrap();
    assert_eq!(store.get(&COUNTERS, &"a".to_string()).unwrap(), Some(1));

    // A batch with an undeclared table in the middle is refused whole.
    const UNDECLARED: Table<String, u64> = Table::new("undeclared");
    let mut b = store.batch();
    b.put(&COUNTERS, &"a".to_string(), &2).unwrap();
    b.put(&UNDECLARED, &"x".to_string(), &1).unwrap();
    b.delete(&SECTORS, &sid(7, 7));
    let err = store.commit(b).unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTable(ref t) if t == "undeclared"),
        "{err}"
    );
    assert_eq!(store.get(&COUNTERS, &"a".to_string()).unwrap(), Some(1));
    assert!(store.get(&SECTORS, &sid(7, 7)).unwrap().is_some());
}

fn check_prefix_scan(store: &Store) {
    for (m, n) in [(1000, 3), (1000, 1), (1001, 1), (999, 5), (1000, 2)] {
        store
            .put(&SECTORS, &sid(m, n), &State::Packing { pieces: vec![n] })
            .unwrap();
    }
    let of_1000 = store
        .scan(&SECTORS, &ActorId(1000).0.to_be_bytes())
        .unwrap();
    let numbers: Vec<u64> = of_1000.iter().map(|(k, _)| k.number.0).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(of_1000.iter().all(|(k, _)| k.miner == ActorId(1000)));
    let all = store.scan(&SECTORS, &[]).unwrap();
    assert!(all.len() >= 5);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
}

fn check_bad_value(store: &Store, db: &dyn Db) {
    // A value whose format byte this release does not know is an error, not a misread.
    let mut bytes = codec::encode(COUNTERS.name(), &5u64).unwrap();
    bytes[0] = 200;
    db.write(RawBatch {
        ops: vec![RawOp::Put {
            table: COUNTERS.name(),
            key: b"bad".to_vec(),
            value: bytes,
        }],
    })
    .unwrap();
    let err = store.get(&COUNTERS, &"bad".to_string()).unwrap_err();
    assert!(
        err.to_string().contains("unknown value format 200"),
        "{err}"
    );
}

fn check_all(db: Arc<dyn Db>) {
    let store = Store::from_shared(db.clone()).unwrap();
    check_round_trip(&store);
    check_atomic_batch(&store);
    check_prefix_scan(&store);
    check_bad_value(&store, db.as_ref());
}

#[test]
fn mem_db_behaves() {
    check_all(Arc::new(MemDb::new(&TABLES)));
}

#[test]
fn rocks_db_behaves_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let open = || RocksDb::open(dir.path(), &TABLES, RocksOptions::default()).unwrap();
    check_all(Arc::new(open()));
    // Reopen after drop: everything committed is there.
    let store = Store::new(open()).unwrap();
    assert_eq!(store.get(&COUNTERS, &"a".to_string()).unwrap(), Some(1));
    assert!(store.get(&SECTORS, &sid(7, 7)).unwrap().is_some());
    assert_eq!(
        store
            .scan(&SECTORS, &ActorId(1000).0.to_be_bytes())
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn rocks_db_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = RocksDb::open(dir.path(), &TABLES, RocksOptions::default()).unwrap();
        db.write(RawBatch {
            ops: vec![RawOp::Put {
                table: META_TABLE,
                key: b"schema-version".to_vec(),
                value: codec::encode(META_TABLE, &(SCHEMA_VERSION + 1)).unwrap(),
            }],
        })
        .unwrap();
    }
    let db = RocksDb::open(dir.path(), &TABLES, RocksOptions::default()).unwrap();
    let err = Store::new(db).unwrap_err();
    assert!(matches!(err, StoreError::Schema { .. }), "{err}");
    assert!(err.to_string().contains("newer Ferrite"), "{err}");
}

#[test]
fn a_second_process_cannot_open_a_locked_db() {
    let dir = tempfile::tempdir().unwrap();
    let _first = RocksDb::open(dir.path(), &TABLES, RocksOptions::default()).unwrap();
    let err = RocksDb::open(dir.path(), &TABLES, RocksOptions::default()).unwrap_err();
    assert!(err.to_string().contains("lock"), "{err}");
}
