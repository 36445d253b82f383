//! `ferrite wallet` as an operator runs it: keys made, listed, exported in
//! Lotus's format and imported into another home; an encrypted keystore
//! that refuses a wrong or missing passphrase and changes nothing then.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{stderr, stdout};

/// Runs `ferrite --home HOME wallet ARGS`, with `passphrase` in
/// FERRITE_KEYSTORE_PASSPHRASE if given, and `input` on stdin.
fn wallet(home: &Path, passphrase: Option<&str>, input: Option<&[u8]>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    cmd.current_dir(home)
        .arg("--home")
        .arg(home)
        .arg("wallet")
        .args(args)
        .env_remove("FERRITE_CONFIG")
        .env_remove("FERRITE_KEYSTORE_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = passphrase {
        cmd.env("FERRITE_KEYSTORE_PASSPHRASE", p);
    }
    let mut child = cmd.spawn().expect("run ferrite");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or_default()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stdout(out));
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The `list` rows: address, type, default mark.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Every file in `dir` with its content, to show nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn plain_keystore_new_list_export_import_round_trip() {
    let home = tempfile::tempdir().unwrap();
    let help = stdout(&common::ferrite(home.path(), &["--help"]));
    assert!(help.contains("wallet"), "{help}");
    let help = ok(&wallet(home.path(), None, None, &["--help"]));
    for word in [
        "init-encrypted",
        "--passphrase-file",
        "FERRITE_KEYSTORE_PASSPHRASE",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let out = wallet(home.path(), None, None, &["new"]);
    let secp = ok(&out).trim().to_string();
    assert!(secp.starts_with("f1"), "{secp}");
    assert!(stderr(&out).contains("is plain"), "{}", stderr(&out));
    let bls = ok(&wallet(home.path(), None, None, &["new", "bls"]))
        .trim()
        .to_string();
    assert!(bls.starts_with("f3"), "{bls}");
    // A bad key type is a usage error (exit 2), as clap gives.
    let out = wallet(home.path(), None, None, &["new", "ed25519"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("secp256k1 or bls"),
        "{}",
        stderr(&out)
    );

    let ks = home.path().join("keystore");
    assert_eq!(mode(&ks), 0o700);
    assert_eq!(mode(&ks.join(&secp)), 0o600);
    assert_eq!(mode(&ks.join(&bls)), 0o600);

    let out = wallet(home.path(), None, None, &["list"]);
    assert!(stderr(&out).contains("(plain)"), "{}", stderr(&out));
    assert_eq!(
        rows(&ok(&out)),
        vec![
            vec![secp.clone(), "secp256k1".into(), "X".into()],
            vec![bls.clone(), "bls".into()],
        ]
    );

    // Lotus's export format: the hex of the KeyInfo JSON.
    for addr in [&secp, &bls] {
        let out = wallet(home.path(), None, None, &["export", addr]);
        let hex_key = ok(&out).trim().to_string();
        assert!(stderr(&out).contains("WARNING"), "{}", stderr(&out));
        assert!(stderr(&out).contains("private key"), "{}", stderr(&out));
        let json: serde_json::Value =
            serde_json::from_slice(&hex::decode(&hex_key).unwrap()).unwrap();
        let kind = if addr.starts_with("f1") {
            "secp256k1"
        } else {
            "bls"
        };
        assert_eq!(json["Type"], kind, "{json}");
        // The plain keystore file holds the same KeyInfo.
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ks.join(addr)).unwrap()).unwrap();
        assert_eq!(file, json);

        // Into another home: from a file, and the JSON itself on stdin.
        let other = tempfile::tempdir().unwrap();
        let key_file = other.path().join("key.hex");
        std::fs::write(&key_file, format!("{hex_key}\n")).unwrap();
        let out = wallet(
            other.path(),
            None,
            None,
            &["import", key_file.to_str().unwrap()],
        );
        assert_eq!(ok(&out).trim(), format!("imported key {addr}"));
        let again = ok(&wallet(other.path(), None, None, &["export", addr]));
        assert_eq!(again.trim(), hex_key);

        let third = tempfile::tempdir().unwrap();
        let json_text = hex::decode(&hex_key).unwrap();
        let out = wallet(third.path(), None, Some(&json_text), &["import", "-"]);
        assert_eq!(ok(&out).trim(), format!("imported key {addr}"));
    }

    let err = failed(&wallet(home.path(), None, Some(b"not a key"), &["import"]));
    assert!(err.contains("read the key"), "{err}");
    let other = tempfile::tempdir().unwrap();
    let err = failed(&wallet(other.path(), None, None, &["export", &secp]));
    assert!(err.contains(&format!("no key for {secp}")), "{err}");
}

#[test]
fn encrypted_keystore_needs_the_right_passphrase() {
    let home = tempfile::tempdir().unwrap();
    let ks = home.path().join("keystore");
    let pass_file = home.path().join("pass");
    std::fs::write(&pass_file, "correct horse\n").unwrap();
    let pass_file = pass_file.to_str().unwrap();
    // A small KDF cost keeps the test fast; the default is 64 MiB, 3 passes.
    let small = ["--kdf-memory-kib", "1024", "--kdf-iterations", "1"];

    let mut args = vec!["init-encrypted", "--passphrase-file", pass_file];
    args.extend(small);
    let out = wallet(home.path(), None, None, &args);
    assert!(ok(&out).contains("created an encrypted keystore"));
    assert!(
        stderr(&out).contains("below the default"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&ks), 0o700);
    assert_eq!(mode(&ks.join("keystore.json")), 0o600);

    // The passphrase from the environment, and from the file.
    let out = wallet(home.path(), Some("correct horse"), None, &["new"]);
    let secp = ok(&out).trim().to_string();
    assert!(!stderr(&out).contains("is plain"), "{}", stderr(&out));
    let bls = ok(&wallet(
        home.path(),
        None,
        None,
        &["new", "bls", "--passphrase-file", pass_file],
    ))
    .trim()
    .to_string();
    assert_eq!(mode(&ks.join(&secp)), 0o600);

    // Listing needs no passphrase.
    let out = wallet(home.path(), None, None, &["list"]);
    assert!(stderr(&out).contains("(encrypted)"), "{}", stderr(&out));
    assert_eq!(rows(&ok(&out)).len(), 2);

    let before = snapshot(&ks);
    // A wrong passphrase: refused, nothing written.
    for args in [vec!["new"], vec!["export", &secp]] {
        let err = failed(&wallet(home.path(), Some("wrong horse"), None, &args));
        assert_eq!(
            err.trim(),
            format!(
                "error: wrong passphrase for the keystore in {}",
                ks.display()
            )
        );
    }
    // No passphrase at all (stdin is no terminal): says how to give one.
    let err = failed(&wallet(home.path(), None, None, &["export", &secp]));
    assert!(err.contains("is encrypted"), "{err}");
    assert!(err.contains("FERRITE_KEYSTORE_PASSPHRASE"), "{err}");
    assert!(err.contains("--passphrase-file"), "{err}");
    // Set up already.
    let err = failed(&wallet(
        home.path(),
        Some("other"),
        None,
        &["init-encrypted"],
    ));
    assert!(err.contains("already set up"), "{err}");
    assert_eq!(snapshot(&ks), before);

    // The right one exports a key the files do not show in the clear, and a
    // plain home imports it.
    let hex_key = ok(&wallet(
        home.path(),
        None,
        None,
        &["export", &bls, "--passphrase-file", pass_file],
    ))
    .trim()
    .to_string();
    let json: serde_json::Value = serde_json::from_slice(&hex::decode(&hex_key).unwrap()).unwrap();
    let secret = json["PrivateKey"].as_str().unwrap();
    for (_, content) in snapshot(&ks) {
        assert!(!String::from_utf8_lossy(&content).contains(secret));
    }
    let plain = tempfile::tempdir().unwrap();
    let out = wallet(plain.path(), None, Some(hex_key.as_bytes()), &["import"]);
    assert_eq!(ok(&out).trim(), format!("imported key {bls}"));

    // Importing into the encrypted keystore seals the key too.
    let other = tempfile::tempdir().unwrap();
    let key = ok(&wallet(other.path(), None, None, &["new"]))
        .trim()
        .to_string();
    let key_hex = ok(&wallet(other.path(), None, None, &["export", &key]));
    let out = wallet(
        home.path(),
        Some("correct horse"),
        Some(key_hex.as_bytes()),
        &["import", "-"],
    );
    assert_eq!(ok(&out).trim(), format!("imported key {key}"));
    let file = std::fs::read_to_string(ks.join(&key)).unwrap();
    assert!(
        file.contains("xchacha20poly1305") && !file.contains("PrivateKey"),
        "{file}"
    );
    assert_eq!(
        rows(&ok(&wallet(home.path(), None, None, &["list"]))).len(),
        3
    );
}

#[test]
fn an_encrypted_keystore_starts_empty() {
    let home = tempfile::tempdir().unwrap();
    ok(&wallet(home.path(), None, None, &["new"]));
    let err = failed(&wallet(
        home.path(),
        Some("pw"),
        None,
        &[
            "init-encrypted",
            "--kdf-memory-kib",
            "1024",
            "--kdf-iterations",
            "1",
        ],
    ));
    assert!(err.contains("already holds 1 plain key"), "{err}");
    assert!(!home.path().join("keystore/keystore.json").exists());
    // No passphrase and no terminal: refused.
    let fresh = tempfile::tempdir().unwrap();
    let err = failed(&wallet(fresh.path(), None, None, &["init-encrypted"]));
    assert!(err.contains("no passphrase"), "{err}");
}
