//! What the node's CLI tests share: running `ferrite` in a home, reading
//! its output, and a `ferrite devnet` that is killed when the test ends.

#![allow(dead_code)] // each test crate uses a part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod market;

/// Runs `ferrite --home HOME ARGS` in `cwd`.
pub fn ferrite_in(cwd: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .current_dir(cwd)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("FERRITE_CONFIG")
        .output()
        .expect("run ferrite")
}

pub fn ferrite(home: &Path, args: &[&str]) -> Output {
    ferrite_in(home, home, args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A node process, killed when the test ends, passed or not.
pub struct Node(pub std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ferrite devnet` in `home` and waits for its API.
pub fn start_devnet(home: &Path) -> Node {
    start_devnet_with(home, &[], std::process::Stdio::null())
}

/// Starts `ferrite devnet ARGS` in `home`, its log to `log`, and waits for
/// its API. The API, the gRPC endpoint and the deal protocols listen on free
/// loopback ports.
pub fn start_devnet_with(home: &Path, args: &[&str], log: std::process::Stdio) -> Node {
    let cmd = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    spawn_devnet(cmd, home, args, log)
}

/// Starts `ferrite devnet` in `home` as [`start_devnet`] does, but when the
/// tests run as root, without the capabilities that let root ignore file
/// modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH; dropped with util-linux's
/// setpriv): a directory of mode 0555 then refuses the node's writes as it
/// refuses any other user's. The node's own files are the test's, owned by
/// root, so it needs neither capability for them.
pub fn start_devnet_bound_by_modes(home: &Path) -> Node {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set", "-dac_override,-dac_read_search", "--"])
            .arg(env!("CARGO_BIN_EXE_ferrite"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_ferrite"))
    };
    spawn_devnet(cmd, home, &[], std::process::Stdio::null())
}

fn spawn_devnet(mut cmd: Command, home: &Path, args: &[&str], log: std::process::Stdio) -> Node {
    let node = cmd
        .arg("--home")
        .arg(home)
        .args([
            "devnet",
            "--block-time-ms",
            "200",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--market-listen",
            "/ip4/127.0.0.1/tcp/0",
            "--retrieval-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env_remove("FERRITE_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let api = home.join("api");
    let started = std::time::Instant::now();
    while !api.exists() {
        assert!(started.elapsed().as_secs() < 60, "the devnet did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Node(node)
}

/// Every `ferrite_*` and `process_*` metric name that dashboards/ (Grafana
/// panels, alert rules) queries, with the file that queries it; histogram
/// series (`_bucket`, `_sum`, `_count`) by their metric's name.
pub fn dashboard_metric_names() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards");
    let mut files = vec![dir];
    let mut names = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if !matches!(p.extension().and_then(|x| x.to_str()), Some("json" | "yml")) {
            continue;
        }
        let body = std::fs::read_to_string(&p).unwrap();
        let mut rest = body.as_str();
        while let Some(at) = ["ferrite_", "process_"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min()
        {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
            names.push((p.clone(), base.to_string()));
        }
    }
    names
}
