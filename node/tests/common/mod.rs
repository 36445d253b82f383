//! What the node's CLI tests share: running `ferrite` in a home, reading
//! its output, and a `ferrite devnet` that is killed when the test ends.

#![allow(dead_code)] // each test crate uses a part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::path::Path;
use std::process::{Command, Output};

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
/// its API. Both listen on free loopback ports.
pub fn start_devnet_with(home: &Path, args: &[&str], log: std::process::Stdio) -> Node {
    let node = Command::new(env!("CARGO_BIN_EXE_ferrite"))
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
