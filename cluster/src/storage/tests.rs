//! Attach checks, space accounting, selection and persistence.

use std::path::Path;

use ferrite_store::{MemDb, RocksDb, RocksOptions, Store};
use ferrite_types::{ActorId, SectorId, SectorNumber};

use super::*;

fn registry() -> StorageRegistry {
    StorageRegistry::new(Store::new(MemDb::new(&TABLES)).unwrap())
}

fn sector(n: u64) -> SectorId {
    SectorId::new(ActorId(1000), SectorNumber(n))
}

fn attach_req(path: &Path, kind: PathKind, weight: u64, max_size: Option<u64>) -> AttachPath {
    AttachPath {
        path: path.to_path_buf(),
        kind,
        weight,
        max_size,
    }
}

fn subdir(root: &Path, name: &str) -> PathBuf {
    let p = root.join(name);
    std::fs::create_dir(&p).unwrap();
    p
}

#[test]
fn attach_checks_the_directory_and_lists_its_space() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let p = reg
        .attach(attach_req(tmp.path(), PathKind::Both, 10, None))
        .unwrap();
    assert_eq!(p.id, PathId(1));
    assert_eq!(p.path, std::fs::canonicalize(tmp.path()).unwrap());
    assert!(
        !tmp.path().join(PROBE).exists(),
        "the probe file is removed"
    );

    let list = reg.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reserved, 0);
    let space = list[0].space.clone().unwrap();
    assert!(space.capacity > 0 && space.available > 0);
    assert_eq!(space.free, space.available);
    assert_eq!(space.used, None);
}

#[test]
fn a_missing_path_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = registry()
        .attach(attach_req(&missing, PathKind::Seal, 10, None))
        .unwrap_err();
    assert!(matches!(&err, ClusterError::PathMissing(p) if *p == missing));
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_file_is_not_a_storage_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = registry()
        .attach(attach_req(&file, PathKind::Seal, 10, None))
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::NotADirectory(p) if *p == file),
        "{err}"
    );
}

#[test]
fn a_path_is_attached_once_whatever_its_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let first = reg
        .attach(attach_req(tmp.path(), PathKind::Seal, 10, None))
        .unwrap();
    let again = tmp.path().join(".");
    let err = reg
        .attach(attach_req(&again, PathKind::Store, 10, None))
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::AlreadyAttached { id, .. } if *id == first.id),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_directory_is_refused() {
    // /proc refuses new files even to root.
    let err = registry()
        .attach(attach_req(Path::new("/proc"), PathKind::Seal, 10, None))
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::NotWritable { path, .. } if path == Path::new("/proc")),
        "{err}"
    );

    // Permission bits, where they bind (not for root).
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let ro = subdir(tmp.path(), "ro");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let bound = std::fs::File::create(ro.join("x")).is_err();
    let result = registry().attach(attach_req(&ro, PathKind::Seal, 10, None));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    if bound {
        assert!(matches!(result, Err(ClusterError::NotWritable { .. })));
    }
}

#[test]
fn reservations_go_to_the_path_with_most_weight_times_free_space() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let light = reg
        .attach(attach_req(
            &subdir(tmp.path(), "a"),
            PathKind::Seal,
            1,
            Some(10_000),
        ))
        .unwrap();
    let heavy = reg
        .attach(attach_req(
            &subdir(tmp.path(), "b"),
            PathKind::Seal,
            10,
            Some(2_000),
        ))
        .unwrap();
    // 10 × 2000 > 1 × 10000.
    let r = reg
        .reserve(PathKind::Seal, 100, sector(1), TaskKind::Pc1)
        .unwrap();
    assert_eq!(r.path, heavy.id);
    // Too big for the heavy path: the light one takes it.
    let r = reg
        .reserve(PathKind::Seal, 5_000, sector(2), TaskKind::Pc1)
        .unwrap();
    assert_eq!(r.path, light.id);
}

#[test]
fn a_full_path_is_no_space_with_the_best_offer() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    reg.attach(attach_req(tmp.path(), PathKind::Seal, 10, Some(1_000)))
        .unwrap();
    reg.reserve(PathKind::Seal, 600, sector(1), TaskKind::AddPiece)
        .unwrap();
    let err = reg
        .reserve(PathKind::Seal, 600, sector(2), TaskKind::AddPiece)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::NoSpace {
                needed: 600,
                best_available: 400
            }
        ),
        "{err}"
    );
    // Beyond what the disk has, without a max size.
    let tmp2 = tempfile::tempdir().unwrap();
    let reg2 = registry();
    reg2.attach(attach_req(tmp2.path(), PathKind::Seal, 10, None))
        .unwrap();
    let err = reg2
        .reserve(PathKind::Seal, u64::MAX, sector(1), TaskKind::Pc1)
        .unwrap_err();
    assert!(
        matches!(err, ClusterError::NoSpace { needed: u64::MAX, best_available } if best_available > 0)
    );
}

#[test]
fn files_under_a_capped_path_count_against_its_max_size() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    reg.attach(attach_req(tmp.path(), PathKind::Store, 10, Some(1_000)))
        .unwrap();
    let sealed = subdir(tmp.path(), "sealed");
    std::fs::write(sealed.join("s-t01000-1"), vec![0u8; 300]).unwrap();
    reg.reserve(PathKind::Store, 100, sector(1), TaskKind::Finalize)
        .unwrap();
    let stat = &reg.list().unwrap()[0];
    assert_eq!(stat.reserved, 100);
    let space = stat.space.clone().unwrap();
    assert_eq!(space.used, Some(300));
    assert_eq!(space.free, 600);
}

#[test]
fn only_paths_of_the_right_kind_are_used() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let store = reg
        .attach(attach_req(
            &subdir(tmp.path(), "store"),
            PathKind::Store,
            10,
            None,
        ))
        .unwrap();
    assert!(matches!(
        reg.reserve(PathKind::Seal, 1, sector(1), TaskKind::Pc1),
        Err(ClusterError::NoPathOfKind(PathKind::Seal))
    ));
    let both = reg
        .attach(attach_req(
            &subdir(tmp.path(), "both"),
            PathKind::Both,
            10,
            None,
        ))
        .unwrap();
    let r = reg
        .reserve(PathKind::Seal, 1, sector(1), TaskKind::Pc1)
        .unwrap();
    assert_eq!(r.path, both.id);
    let r = reg
        .reserve(PathKind::Store, 1, sector(1), TaskKind::Finalize)
        .unwrap();
    assert!(r.path == store.id || r.path == both.id);
}

#[test]
fn detach_waits_for_reservations_and_ids_are_not_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let p = reg
        .attach(attach_req(tmp.path(), PathKind::Seal, 10, None))
        .unwrap();
    assert!(matches!(
        reg.detach(PathId(99)),
        Err(ClusterError::UnknownPath(PathId(99)))
    ));
    let r = reg
        .reserve(PathKind::Seal, 10, sector(1), TaskKind::Pc1)
        .unwrap();
    assert!(matches!(
        reg.detach(p.id),
        Err(ClusterError::PathBusy {
            reservations: 1,
            ..
        })
    ));
    reg.release(r.id).unwrap();
    assert!(matches!(
        reg.release(r.id),
        Err(ClusterError::UnknownReservation(_))
    ));
    assert_eq!(reg.detach(p.id).unwrap().id, p.id);
    assert!(reg.paths().unwrap().is_empty());
    let again = reg
        .attach(attach_req(tmp.path(), PathKind::Seal, 10, None))
        .unwrap();
    assert_eq!(again.id, PathId(2));
}

#[test]
fn paths_and_reservations_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = subdir(tmp.path(), "data");
    let db_dir = tmp.path().join("db");
    let open = || {
        let db = RocksDb::open(&db_dir, &TABLES, RocksOptions::default()).unwrap();
        StorageRegistry::new(Store::new(db).unwrap())
    };
    let (path, held) = {
        let reg = open();
        let path = reg
            .attach(attach_req(&data, PathKind::Seal, 10, Some(1_000)))
            .unwrap();
        let held = reg
            .reserve(PathKind::Seal, 700, sector(7), TaskKind::Pc1)
            .unwrap();
        (path, held)
    };
    let reg = open();
    assert_eq!(reg.paths().unwrap(), vec![path]);
    assert_eq!(reg.reservations().unwrap(), vec![held.clone()]);
    // The reservation still holds its space after the restart.
    assert!(matches!(
        reg.reserve(PathKind::Seal, 700, sector(8), TaskKind::Pc1),
        Err(ClusterError::NoSpace {
            best_available: 300,
            ..
        })
    ));
    reg.release(held.id).unwrap();
    let next = reg
        .reserve(PathKind::Seal, 700, sector(8), TaskKind::Pc1)
        .unwrap();
    assert!(next.id > held.id, "reservation ids are not reused");
}

#[test]
fn reserve_on_holds_space_on_that_path_only() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let small = reg
        .attach(attach_req(
            &subdir(tmp.path(), "small"),
            PathKind::Seal,
            10,
            Some(1_000),
        ))
        .unwrap();
    let big = reg
        .attach(attach_req(
            &subdir(tmp.path(), "big"),
            PathKind::Seal,
            10,
            Some(100_000),
        ))
        .unwrap();
    let r = reg
        .reserve_on(small.id, 800, sector(1), TaskKind::Pc1)
        .unwrap();
    assert_eq!(r.path, small.id, "not the path with more room");
    // The path itself is full, though another one has room.
    assert!(matches!(
        reg.reserve_on(small.id, 300, sector(2), TaskKind::Pc1),
        Err(ClusterError::NoSpace {
            needed: 300,
            best_available: 200
        })
    ));
    assert_eq!(
        reg.reserve_on(big.id, 300, sector(2), TaskKind::Pc1)
            .unwrap()
            .path,
        big.id
    );
    assert!(matches!(
        reg.reserve_on(PathId(9), 1, sector(3), TaskKind::Pc1),
        Err(ClusterError::UnknownPath(PathId(9)))
    ));
    assert_eq!(reg.list().unwrap()[0].reserved, 800);
}

#[test]
fn an_attached_path_carries_a_marker_a_worker_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry();
    let seal = subdir(tmp.path(), "seal");
    let p = reg
        .attach(attach_req(&seal, PathKind::Seal, 10, None))
        .unwrap();
    let marker = read_marker(&seal).unwrap();
    assert_eq!(
        marker,
        PathMarker {
            id: p.id,
            kind: PathKind::Seal
        }
    );
    // A lost marker is written again.
    std::fs::remove_file(seal.join(PATH_MARKER)).unwrap();
    assert!(reg.mark_all().unwrap().is_empty());
    assert_eq!(read_marker(&seal).unwrap().id, p.id);
    // A directory no node attached is refused by name.
    let other = subdir(tmp.path(), "other");
    let err = read_marker(&other).unwrap_err();
    assert!(
        matches!(err, ClusterError::NotAttached(ref d) if d == &other),
        "{err}"
    );
    assert!(err.to_string().contains("ferrite storage attach"), "{err}");
    // A garbled marker is an error, not a guess.
    std::fs::write(other.join(PATH_MARKER), "{").unwrap();
    assert!(matches!(read_marker(&other), Err(ClusterError::Io { .. })));
}
