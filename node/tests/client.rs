//! `ferrite client`: what it refuses before it talks to a node or a provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use common::{ferrite, stderr};

/// Runs `ferrite client ARGS` in a fresh home (no node) and returns its
/// stderr, asserting that it failed.
fn refused(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let payload = home.path().join("payload.car");
    std::fs::write(&payload, vec![7u8; 1000]).unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("PAYLOAD", payload.to_str().unwrap()))
        .collect();
    let mut full = vec!["client"];
    full.extend(args.iter().map(String::as_str));
    let out = ferrite(home.path(), &full);
    assert!(!out.status.success(), "{full:?} succeeded");
    stderr(&out)
}

#[test]
fn client_deal_refuses_bad_input_before_any_network() {
    let base = ["deal", "--provider", "f01000", "--file", "PAYLOAD"];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        refused(&v)
    };

    let err = with(&["--url", "ftp://example.com/a.car"]);
    assert!(err.contains("http or https only"), "{err}");
    let err = with(&["--url", "not a url"]);
    assert!(err.contains("is not a URL"), "{err}");
    let err = with(&["--url", "http://h/a.car", "--http-header", "no separator"]);
    assert!(err.contains("--http-header"), "{err}");
    let err = with(&["--price", "1.5"]);
    assert!(err.contains("--price") && err.contains("attoFIL"), "{err}");
    let err = with(&["--provider-collateral=-3"]);
    assert!(err.contains("--provider-collateral"), "{err}");
    let err = with(&["--payload-cid", "bafy-nope"]);
    assert!(err.contains("--payload-cid"), "{err}");
    let err = with(&["--provider-peer", "/ip4/127.0.0.1/tcp/1"]);
    assert!(err.contains("/p2p/PEERID"), "{err}");
    let err = with(&["--duration", "0"]);
    assert!(err.contains("--duration"), "{err}");
    // clap: flags that only make sense together, or not at all together.
    let err = with(&["--http-header", "A: b"]);
    assert!(err.contains("--url"), "{err}");
    let err = with(&["--start-epoch", "100", "--start-delay", "10"]);
    assert!(err.contains("cannot be used with"), "{err}");

    let err = refused(&[
        "deal",
        "--provider",
        "f01000",
        "--file",
        "/nonexistent/x.car",
    ]);
    assert!(err.contains("/nonexistent/x.car"), "{err}");
    let err = refused(&["deal", "--provider", "nope", "--file", "PAYLOAD"]);
    assert!(
        err.contains("--provider") && err.contains("not an address"),
        "{err}"
    );
    let err = refused(&["deal", "--file", "PAYLOAD"]);
    assert!(err.contains("--provider"), "{err}");

    // Every input is fine: the next step needs the node.
    let err = with(&["--url", "https://example.com/a.car"]);
    assert!(err.contains("is the node running"), "{err}");
}

#[test]
fn client_deal_status_and_add_balance_refuse_bad_input() {
    let err = refused(&["deal-status", "not-a-uuid", "--provider", "f01000"]);
    assert!(err.contains("not a deal UUID"), "{err}");
    let err = refused(&["add-balance", "1.2.3"]);
    assert!(err.contains("invalid FIL amount"), "{err}");
    let err = refused(&["add-balance", "0"]);
    assert!(err.contains("more than 0"), "{err}");
    let err = refused(&["add-balance", "1", "--from", "x"]);
    assert!(err.contains("--from"), "{err}");
}
