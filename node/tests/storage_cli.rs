//! `ferrite storage attach|detach|list` against a running `ferrite devnet`:
//! the default seal path attached at the first start, attaching a directory
//! with a weight and a max size, the one-line errors for a path that does not
//! exist, is a file or is read-only, detaching, and a sector whose only seal
//! path is too small failing with the NoSpace reason (no proofs needed:
//! AddPiece is the first task that reserves).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::path::Path;
use std::process::Output;

use common::{ferrite, ferrite_in, start_devnet, start_devnet_bound_by_modes, stderr, stdout};

/// A failed command: exit status 1 and one line on stderr that contains
/// every one of `wants`.
fn assert_one_line_error(out: &Output, wants: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "{}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for w in wants {
        assert!(err.contains(w), "{w:?} missing from: {err}");
    }
}

/// The line of `storage list` for the path whose last component is `name`
/// (the temporary directories have no spaces in their paths).
fn list_line(home: &Path, name: &str) -> Option<String> {
    let list = ferrite(home, &["storage", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let suffix = format!("/{name}");
    stdout(&list)
        .lines()
        .find(|l| l.split_whitespace().any(|f| f.ends_with(&suffix)))
        .map(str::to_string)
}

#[test]
fn storage_attach_list_detach_and_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let _node = start_devnet_bound_by_modes(home.path());

    // The node's own sector directory, attached at its first start.
    let list = ferrite(home.path(), &["storage", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    for col in ["capacity", "used", "reserved", "available"] {
        assert!(text.contains(col), "{col} missing: {text}");
    }
    let default =
        list_line(home.path(), "sectors").unwrap_or_else(|| panic!("no default path in: {text}"));
    assert!(default.contains("sealing/sectors"), "{default}");
    let fields: Vec<&str> = default.split_whitespace().collect();
    assert_eq!(&fields[..3], ["1", "seal", "10"], "{default}");
    assert!(default.ends_with("(default)"), "{default}");
    assert!(text.contains("attached at its first start"), "{text}");

    // A directory with a weight and a max size.
    let fast = data.path().join("fast");
    std::fs::create_dir(&fast).unwrap();
    let fast_s = fast.to_str().unwrap();
    let out = ferrite(
        home.path(),
        &[
            "storage",
            "attach",
            fast_s,
            "--seal",
            "--weight",
            "5",
            "--max-size",
            "1GiB",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("as storage path 2 (seal)"),
        "{}",
        stdout(&out)
    );
    let line = list_line(home.path(), "fast").unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    // id, kind, weight, then capacity / used / reserved / available in human units.
    assert_eq!(&fields[..3], ["2", "seal", "5"], "{line}");
    assert_eq!(
        &fields[3..5],
        ["1.0", "GiB"],
        "capacity is the max size: {line}"
    );
    assert_eq!(&fields[5..7], ["0", "B"], "nothing used: {line}");
    assert_eq!(&fields[7..9], ["0", "B"], "nothing reserved: {line}");
    assert_eq!(&fields[9..11], ["1.0", "GiB"], "all available: {line}");
    assert!(line.contains("max-size 1.0 GiB"), "{line}");

    // Store and both; a relative path is taken from the CLI's directory.
    std::fs::create_dir(data.path().join("cold")).unwrap();
    let out = ferrite_in(
        data.path(),
        home.path(),
        &["storage", "attach", "cold", "--store", "--seal"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let line = list_line(home.path(), "cold").unwrap();
    assert!(line.contains("seal+store"), "{line}");

    // Clear one-line errors that name the path and the problem.
    let missing = data.path().join("nope");
    let out = ferrite(
        home.path(),
        &["storage", "attach", missing.to_str().unwrap(), "--seal"],
    );
    assert_one_line_error(&out, &[missing.to_str().unwrap(), "does not exist"]);
    let file = data.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let out = ferrite(
        home.path(),
        &["storage", "attach", file.to_str().unwrap(), "--store"],
    );
    assert_one_line_error(&out, &[file.to_str().unwrap(), "is not a directory"]);
    let out = ferrite(home.path(), &["storage", "attach", fast_s, "--seal"]);
    assert_one_line_error(&out, &[fast_s, "already attached as path 2"]);
    let out = ferrite(home.path(), &["storage", "attach", fast_s]);
    assert_one_line_error(&out, &["--seal, --store or both"]);
    let out = ferrite(
        home.path(),
        &["storage", "attach", fast_s, "--seal", "--max-size", "lots"],
    );
    assert_eq!(out.status.code(), Some(2), "clap refuses the size");
    assert!(stderr(&out).contains("lots"), "{}", stderr(&out));

    // Read-only. The node runs without the capabilities that let root
    // ignore file modes (see `start_devnet_bound_by_modes`), so mode 0555
    // refuses its probe file even when the tests run as root.
    let ro = data.path().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    set_mode(&ro, 0o555);
    let out = ferrite(
        home.path(),
        &["storage", "attach", ro.to_str().unwrap(), "--seal"],
    );
    assert_one_line_error(&out, &[ro.to_str().unwrap(), "is not writable"]);
    set_mode(&ro, 0o755);

    // Detach: the path goes from the list, its files stay.
    std::fs::write(fast.join("keep"), b"data").unwrap();
    let out = ferrite(home.path(), &["storage", "detach", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("files stay on disk"),
        "{}",
        stdout(&out)
    );
    assert!(list_line(home.path(), "fast").is_none());
    assert!(fast.join("keep").exists());
    let out = ferrite(home.path(), &["storage", "detach", "2"]);
    assert_one_line_error(&out, &["storage path 2 is not attached"]);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The only seal path is too small for a 2 KiB sector: the pledged sector
/// fails in AddPiece with the NoSpace reason, and nothing is written there.
#[test]
fn a_sector_on_a_full_seal_path_fails_with_the_reason() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let _node = start_devnet(home.path());
    let out = ferrite(home.path(), &["storage", "detach", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tiny = data.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    let out = ferrite(
        home.path(),
        &[
            "storage",
            "attach",
            tiny.to_str().unwrap(),
            "--seal",
            "--max-size",
            "1KiB",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ferrite(home.path(), &["sectors", "pledge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let started = std::time::Instant::now();
    let status = loop {
        let st = ferrite(home.path(), &["sectors", "status", "1"]);
        assert!(st.status.success(), "{}", stderr(&st));
        if stdout(&st).contains("error:") {
            break stdout(&st);
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "no failure: {}",
            stdout(&st)
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert!(status.contains("state:    SealFailed"), "{status}");
    assert!(
        status.contains("AddPiece failed: reserve 2048 bytes for addpiece"),
        "{status}"
    );
    assert!(
        status.contains("no storage path has 2048 bytes free; the best has 1024 bytes"),
        "{status}"
    );
    let written: Vec<_> = std::fs::read_dir(&tiny)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ferrite_cluster::PATH_MARKER)
        .collect();
    assert!(written.is_empty(), "nothing written: {written:?}");
    let line = list_line(home.path(), "tiny").unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &fields[7..9],
        ["0", "B"],
        "the reservation was released: {line}"
    );
}
