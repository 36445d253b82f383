//! What the market tests share: making deals with `ferrite client`,
//! reading them with `ferrite deals status`, and the chain head.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{ferrite, stderr, stdout};

/// The price the deals offer: the tests' ask, in attoFIL per GiB per epoch.
pub const PRICE: &str = "1000000000000";

/// The provider collateral, in attoFIL: above the market's minimum for a
/// 1 KiB piece on the devnet (about 10^6 attoFIL). Fixed, so that the same
/// flags make the same proposal.
pub const COLLATERAL: &str = "1000000000";

/// `len` deterministic bytes.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// `ferrite client deal` with `args`: its stdout, or its error text.
pub fn deal(home: &Path, provider: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["client", "deal", "--provider", provider];
    all.extend_from_slice(args);
    let out = ferrite(home, &all);
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(format!("{}{}", stdout(&out), stderr(&out)))
    }
}

/// The deal UUID `ferrite client deal` printed.
pub fn uuid_of(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("deal uuid:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no deal uuid in {out}"))
}

/// `ferrite deals status UUID`: field → value.
pub fn status(home: &Path, uuid: &str) -> HashMap<String, String> {
    let out = ferrite(home, &["deals", "status", uuid]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The chain head's height, from `ferrite chain head`.
pub fn head(home: &Path) -> i64 {
    let out = ferrite(home, &["chain", "head"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no height in {text}"))
}

/// Waits until `done` holds for the deal's status, or fails with the last one.
pub fn wait_for(
    home: &Path,
    uuid: &str,
    timeout: Duration,
    done: impl Fn(&HashMap<String, String>) -> bool,
) -> HashMap<String, String> {
    let start = Instant::now();
    loop {
        let s = status(home, uuid);
        if done(&s) {
            return s;
        }
        assert!(start.elapsed() < timeout, "deal {uuid} is stuck: {s:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
