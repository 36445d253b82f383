//! Retrieval: Ferrite's `GET /piece/{cid}` (read from an Fr32-padded
//! unsealed copy, unpadded as it streams) against nginx serving the same
//! bytes from a plain file with `sendfile`, on loopback, in the same run.
//!
//! cargo bench --workspace --profile dev --bench retrieval -- [--piece-mib 256]
//!     [--clients 1,64] [--secs 10] [--warmup 2] [--range-mib N] [--rounds 2]
//!
//! One run:
//! 1. makes a piece of `--piece-mib` padded MiB (a power of two) of seeded
//!    random bytes: the padded copy as AddPiece writes it (`unsealed-1`,
//!    `fr32::Fr32Reader`) and the unpadded bytes as a plain file (`www/piece`);
//! 2. starts Ferrite's retrieval server in this process twice (each on its
//!    own tokio runtime, a worker per CPU): "ferrite" unpads from the padded
//!    copy as it streams, "ferrite, cache" has `[retrieval.cache]` on (the
//!    piece unpadded once into the cache, then sent with sendfile); and
//!    nginx as a child process (a worker process per CPU, `sendfile on`,
//!    logs off); all on 127.0.0.1;
//! 3. checks the first response of each server against the data (sha256)
//!    (and for "ferrite, cache", once the cache is filled, a second one sent
//!    with sendfile), then, per client count and round (ferrite, ferrite
//!    with the cache, nginx, ferrite…),
//!    runs that many clients, each on its own HTTP/1.1 keep-alive
//!    connection, each GETting the whole piece (or a `--range-mib` range at
//!    a random offset) again and again for `--secs` after `--warmup`,
//!    counting the bytes and discarding them;
//! 4. times the unpadding alone, in memory, with no HTTP: Ferrite's
//!    `UnpaddedReader::next_chunk` over the cached file, and its two halves
//!    (`pread` timed alone, the unpad, `unpad::unpad_units`, the rest), on
//!    one thread.
//!
//! Throughput is the bytes received inside the window over its length
//! (MiB/s, median of the rounds); latency is from sending a request to its
//! last byte, over the requests that ended after the warmup (each client
//! finishes its last one after the window), p99 over all rounds. nginx is
//! installed with apt-get when it is not on PATH; the bench fails, naming
//! the command, when it can't be.
//!
//! The load generator runs on the same cores as both servers (this process
//! holds it and Ferrite; nginx is a separate process), so neither server
//! gets the machine to itself; the table's CPU columns show how busy the
//! host was and this process's share of it.
//!
//! Measured with the defaults (2-core build machine, nothing else running;
//! dev profile with ferrite-retrieval at opt-level 3), 2026-12-06:
//!
//! | clients | server | MiB/s | p99 latency | ferrite / nginx |
//! |---:|---|---:|---:|---:|
//! | 1 | ferrite | 1031 | 316 ms | 63 % |
//! | 1 | nginx | 1642 | 203 ms | |
//! | 64 | ferrite | 1484 | 14.4 s | 52 % |
//! | 64 | nginx | 2828 | 11.6 s | |
//!
//! Unpadding alone, one thread: `UnpaddedReader` 1783 MiB/s, its `pread`s
//! 3532 MiB/s, the unpad (`unpad::unpad_units`) 3599 MiB/s. With the `fr32`
//! crate's `write_unpadded` instead (before our own unpad), the unpad ran at
//! ~369 MiB/s and ferrite at 22 % and 14 % of nginx. What is left is copies:
//! nginx hands the page cache to the socket (`sendfile`), while every byte
//! ferrite serves is read into memory, unpadded into a second buffer and
//! written to the socket, on cores the load generator shares.
//! The goal is ferrite at 90 % of nginx or more.
//!
//! With the unpadded-piece cache ([retrieval.cache], sendfile), same flags
//! and `--rounds 3`, 2026-12-06, on the same machine while other builds
//! ran (host load average about 6, so rounds vary by ±20 %):
//!
//! | clients | server | MiB/s | p99 latency | ferrite / nginx |
//! |---:|---|---:|---:|---:|
//! | 1 | ferrite | 1190 | 299 ms | 80 % |
//! | 1 | ferrite, cache | 1533 | 228 ms | 103 % |
//! | 1 | nginx | 1494 | 244 ms | |
//! | 64 | ferrite | 1124 | 15.8 s | 48 % |
//! | 64 | ferrite, cache | 2630 | 11.4 s | 112 % |
//! | 64 | nginx | 2346 | 13.5 s | |
//!
//! A cached piece costs what nginx's file costs: the sockets hand the
//! mapped cache file to sendfile(2), and the bytes are never copied into
//! the process. Uncached, a profile (`perf record -a -g`, 64 clients) puts
//! Ferrite's and the load generator's time in the unpad (28 %), the `pread`
//! copy from the page cache (20 %), the copy into the socket (14 %), the
//! zero fill of each output buffer (10 %, since removed: the unpad writes
//! its output once) and the clients' copy out of their sockets (12 %); nginx
//! pays only the last. So the uncached path stays near half of nginx at 64
//! clients on 2 cores: three of its four passes over each byte are ones
//! nginx does not make.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Cursor, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use async_trait::async_trait;
use ferrite_bench::cpu::CpuTimes;
use ferrite_bench::median;
use ferrite_market::deal::DealUuid;
use ferrite_market::index::{PieceIndex, PieceLocation, TABLES};
use ferrite_retrieval::body::CHUNK;
use ferrite_retrieval::config::CacheConfig;
use ferrite_retrieval::unpad::{PieceSpan, UnpaddedReader};
use ferrite_retrieval::{Retrieval, RetrievalConfig, RetrievalMetrics, SectorAccess, Unsealer};
use ferrite_store::{MemDb, Store};
use ferrite_types::{CommP, PaddedPieceSize, SectorNumber};
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The one sector the piece lies in.
const SECTOR: SectorNumber = SectorNumber(1);
/// MiB, for the figures.
const MIB: f64 = (1u64 << 20) as f64;
/// How long clients get to finish their last request after the window.
const DRAIN: Duration = Duration::from_secs(120);

/// The bench's flags.
#[derive(Debug, Clone)]
struct Flags {
    /// The piece's padded size.
    piece: PaddedPieceSize,
    /// Client counts, each measured on its own.
    clients: Vec<usize>,
    /// The measured window.
    secs: Duration,
    /// Load before the window, not measured.
    warmup: Duration,
    /// Bytes per request; `None` for the whole piece.
    range: Option<u64>,
    /// Rounds per server and client count.
    rounds: usize,
}

fn parse_flags() -> anyhow::Result<Flags> {
    let mut piece_mib = 256u64;
    let mut f = Flags {
        piece: PaddedPieceSize::new(256 << 20)?,
        clients: vec![1, 64],
        secs: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        range: None,
        rounds: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--piece-mib" => piece_mib = value()?.parse()?,
            "--clients" => {
                f.clients = value()?
                    .split(',')
                    .map(|c| c.trim().parse::<usize>())
                    .collect::<Result<_, _>>()?
            }
            "--secs" => f.secs = Duration::from_secs_f64(value()?.parse()?),
            "--warmup" => f.warmup = Duration::from_secs_f64(value()?.parse()?),
            "--range-mib" => f.range = Some(value()?.parse::<u64>()? << 20),
            "--rounds" => f.rounds = value()?.parse()?,
            _ => {}
        }
    }
    f.piece = PaddedPieceSize::new(piece_mib << 20)
        .with_context(|| format!("--piece-mib {piece_mib} must be a power of two"))?;
    ensure!(f.rounds > 0, "--rounds must be at least 1");
    ensure!(
        !f.clients.is_empty() && f.clients.iter().all(|c| *c > 0),
        "--clients takes counts of at least 1, such as 1,64"
    );
    ensure!(!f.secs.is_zero(), "--secs must be above 0");
    let unpadded = f.piece.unpadded().bytes();
    if let Some(r) = f.range {
        ensure!(r > 0, "--range-mib must be at least 1");
        // A range as large as the piece is the whole piece.
        if r >= unpadded {
            f.range = None;
        }
    }
    Ok(f)
}

fn main() -> anyhow::Result<()> {
    let flags = parse_flags()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::Builder::new()
        .prefix("ferrite-retrieval-bench")
        .tempdir()
        .context("make the temp dir")?;
    eprintln!(
        "making a {} MiB piece in {}",
        flags.piece.bytes() >> 20,
        dir.path().display()
    );
    let piece = Piece::make(dir.path(), flags.piece)?;

    let nginx = Nginx::start(dir.path(), cpus)?;
    let ferrite = FerriteServer::start(&piece, cpus, &flags, None)?;
    let cache_dir = dir.path().join("piece-cache");
    let cached = FerriteServer::start(&piece, cpus, &flags, Some(cache_dir))?;
    let targets = [
        Target {
            name: "ferrite",
            url: format!("{}/piece/{}", ferrite.base, piece.comm_p),
        },
        Target {
            name: "ferrite, cache",
            url: format!("{}/piece/{}", cached.base, piece.comm_p),
        },
        Target {
            name: "nginx",
            url: format!("{}/piece", nginx.base),
        },
    ];

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus)
        .thread_name("load")
        .enable_all()
        .build()
        .context("build the load generator's runtime")?;
    for t in &targets {
        rt.block_on(verify(t, &piece, flags.range))?;
    }
    // The first GET filled the cache in the background: once it holds the
    // piece, check the bytes it serves, sent with sendfile.
    rt.block_on(cached.wait_cached(piece.data.len() as u64))?;
    let before = cached.retrieval.sendfile_bytes();
    rt.block_on(verify(&targets[1], &piece, flags.range))?;
    ensure!(
        cached.retrieval.sendfile_bytes() >= before + piece.data.len() as u64,
        "the cached piece did not go out with sendfile"
    );
    eprintln!("every server serves the right bytes (ferrite's cache with sendfile)");

    let mut rows = Vec::new();
    for &clients in &flags.clients {
        let load = Load {
            clients,
            warmup: flags.warmup,
            secs: flags.secs,
            range: flags.range,
            size: piece.data.len() as u64,
        };
        let mut runs: Vec<Vec<Measurement>> = targets.iter().map(|_| Vec::new()).collect();
        for round in 0..flags.rounds {
            for (t, out) in targets.iter().zip(runs.iter_mut()) {
                let m = rt.block_on(measure(&t.url, load))?;
                eprintln!(
                    "{clients} clients, round {}/{}, {}: {:.0} MiB/s, {} requests{}",
                    round + 1,
                    flags.rounds,
                    t.name,
                    m.mib_s,
                    m.latencies.len(),
                    if m.unfinished > 0 {
                        format!(", {} unfinished after {DRAIN:?}", m.unfinished)
                    } else {
                        String::new()
                    }
                );
                out.push(m);
            }
        }
        rows.push((
            clients,
            runs.iter().map(|r| Summary::of(r)).collect::<Vec<_>>(),
        ));
    }
    drop(rt);
    let sendfile = cached.retrieval.sendfile_bytes();
    ferrite.stop()?;
    cached.stop()?;
    drop(nginx);

    eprintln!("timing the unpadding alone");
    let unpad = Unpad::measure(&piece, flags.rounds.max(3))?;

    println!(
        "{}",
        report(&flags, cpus, &piece, &targets, &rows, &unpad, sendfile)
    );
    Ok(())
}

/// The test piece: its bytes, in memory and in both files.
struct Piece {
    comm_p: CommP,
    size: PaddedPieceSize,
    /// The unpadded bytes, what both servers serve.
    data: Vec<u8>,
    /// sha256 of `data`.
    digest: [u8; 32],
    /// The Fr32-padded copy Ferrite reads.
    unsealed: PathBuf,
}

impl Piece {
    /// Writes `unsealed-1` (padded) and `www/piece` (unpadded) under `dir`.
    fn make(dir: &Path, size: PaddedPieceSize) -> anyhow::Result<Self> {
        let mut data = vec![0u8; usize::try_from(size.unpadded().bytes())?];
        ChaCha20Rng::seed_from_u64(size.bytes()).fill_bytes(&mut data);
        let digest: [u8; 32] = Sha256::digest(&data).into();
        let unsealed = dir.join("unsealed-1");
        let mut out = BufWriter::new(File::create(&unsealed).context("create the unsealed file")?);
        let padded = std::io::copy(&mut fr32::Fr32Reader::new(Cursor::new(&data[..])), &mut out)
            .context("write the unsealed file")?;
        out.flush().context("write the unsealed file")?;
        ensure!(
            padded == size.bytes(),
            "Fr32Reader padded {} bytes into {padded}, not {}",
            data.len(),
            size.bytes()
        );
        let www = dir.join("www");
        std::fs::create_dir(&www).context("make the nginx root")?;
        std::fs::write(www.join("piece"), &data).context("write the plain file")?;
        Ok(Self {
            // Made up: the index takes it as given, and nothing recomputes it.
            comm_p: CommP([0x42; 32]),
            size,
            data,
            digest,
            unsealed,
        })
    }
}

/// The unsealed copy is always there.
struct Disk(PathBuf);

impl SectorAccess for Disk {
    fn unsealed(&self, sector: SectorNumber) -> Option<PathBuf> {
        (sector == SECTOR).then(|| self.0.clone())
    }
}

/// Never called: the copy is there.
struct NoUnsealer;

#[async_trait]
impl Unsealer for NoUnsealer {
    async fn unseal(&self, sector: SectorNumber) -> anyhow::Result<PathBuf> {
        bail!("the bench has no sealed copy of sector {sector}")
    }
}

/// Ferrite's retrieval server on its own runtime in this process.
struct FerriteServer {
    rt: tokio::runtime::Runtime,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    base: String,
    retrieval: Arc<Retrieval>,
}

impl FerriteServer {
    /// The server, with its unpadded-piece cache in `cache` if given.
    fn start(
        piece: &Piece,
        cpus: usize,
        flags: &Flags,
        cache: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cpus)
            .thread_name("ferrite-retrieval")
            .enable_all()
            .build()
            .context("build Ferrite's runtime")?;
        let index = PieceIndex::new(Store::new(MemDb::new(TABLES))?);
        index.add_piece(
            piece.comm_p,
            PieceLocation {
                deal: DealUuid::new_random(),
                sector: SECTOR,
                offset: 0,
                size: piece.size,
                payload: piece.data.len() as u64,
            },
        )?;
        let defaults = RetrievalConfig::default();
        let cached = cache.is_some();
        let cfg = RetrievalConfig {
            listen: "127.0.0.1:0".into(),
            max_concurrent_transfers: defaults
                .max_concurrent_transfers
                .max(flags.clients.iter().copied().max().unwrap_or(1)),
            cache: CacheConfig {
                dir: cache.unwrap_or_default(),
                ..defaults.cache.clone()
            },
            ..defaults
        };
        let r = Retrieval::new(
            cfg,
            index,
            Arc::new(Disk(piece.unsealed.clone())),
            Arc::new(NoUnsealer),
            RetrievalMetrics::unregistered()?,
            None,
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .context("bind Ferrite's listener")?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, rx) = watch::channel(false);
        let task = rt.spawn(r.clone().serve(listener, rx));
        eprintln!(
            "ferrite listens at {base} (unsealed copy {}, {})",
            piece.unsealed.display(),
            if cached { "cache on" } else { "no cache" }
        );
        Ok(Self {
            rt,
            stop,
            task,
            base,
            retrieval: r,
        })
    }

    /// Waits until the cache holds `len` bytes (the piece), for 60 s at most.
    async fn wait_cached(&self, len: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let cached = || self.retrieval.metrics().cache_bytes.get();
        while u64::try_from(cached()).unwrap_or(0) < len {
            ensure!(
                Instant::now() < deadline,
                "the piece cache holds {} bytes after 60 s, not the piece's {len}",
                cached()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stops the server and reports how it ended.
    fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let task = self.task;
        let ended = self
            .rt
            .block_on(async move { tokio::time::timeout(Duration::from_secs(5), task).await });
        self.rt.shutdown_timeout(Duration::from_secs(1));
        match ended {
            Ok(joined) => joined.context("join Ferrite's server")?,
            Err(_) => bail!("Ferrite's server did not stop within 5 s"),
        }
    }
}

/// The nginx this bench started, stopped by its PID when dropped.
struct Nginx {
    child: Child,
    base: String,
}

impl Nginx {
    /// Writes a config under `dir` and starts nginx on a free loopback port,
    /// serving `dir/www`.
    fn start(dir: &Path, cpus: usize) -> anyhow::Result<Self> {
        let bin = match find_nginx() {
            Some(b) => b,
            None => {
                install_nginx()?;
                find_nginx().context(
                    "nginx is still not on PATH after `apt-get install -y nginx`; \
                     install it and run the bench again",
                )?
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("find a free loopback port")?
            .port();
        let d = dir.display();
        let mut conf = String::new();
        writeln!(conf, "daemon off;")?;
        writeln!(conf, "worker_processes {cpus};")?;
        writeln!(conf, "pid {d}/nginx.pid;")?;
        writeln!(conf, "error_log /dev/null crit;")?;
        writeln!(conf, "events {{ worker_connections 4096; }}")?;
        writeln!(conf, "http {{")?;
        writeln!(conf, "  access_log off;")?;
        writeln!(conf, "  sendfile on;")?;
        // Ferrite does not cap requests per connection; nor should nginx.
        writeln!(conf, "  keepalive_requests 1000000;")?;
        writeln!(conf, "  default_type application/octet-stream;")?;
        // In the temp dir, so that nginx needs no write access elsewhere.
        for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            writeln!(conf, "  {t}_temp_path {d}/nginx-{t};")?;
        }
        writeln!(conf, "  server {{")?;
        writeln!(conf, "    listen 127.0.0.1:{port};")?;
        writeln!(conf, "    root {d}/www;")?;
        writeln!(conf, "  }}")?;
        writeln!(conf, "}}")?;
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).context("write nginx.conf")?;
        let stderr_path = dir.join("nginx.stderr");
        let stderr = File::create(&stderr_path).context("create nginx.stderr")?;
        let child = Command::new(&bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .args(["-e", "stderr"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut nginx = Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        // Dropping `nginx` on any error below stops it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = nginx.child.try_wait().context("wait for nginx")? {
                let said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                bail!(
                    "nginx ({}) exited at startup with {status}: {}",
                    bin.display(),
                    said.trim()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "nginx ({}) did not listen on 127.0.0.1:{port} within 10 s",
                bin.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "nginx (pid {}, {}) listens at {}",
            nginx.child.id(),
            bin.display(),
            nginx.base
        );
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = self.child.id();
        // TERM to the master, which stops its workers; KILL only if it
        // lingers (a killed master would leave its workers behind).
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("nginx (pid {pid}) ignored TERM for 5 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx on PATH, or in the sbin directories a user's PATH may lack.
fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from))
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// Debian's nginx, through apt-get (with sudo when not root).
fn install_nginx() -> anyhow::Result<()> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    };
    let how = if root {
        "apt-get install -y nginx"
    } else {
        "sudo apt-get install -y nginx"
    };
    eprintln!("nginx is not on PATH; installing it: {how}");
    let status = cmd
        .args(["install", "-y", "-q", "nginx"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => bail!("nginx is not installed and `{how}` failed ({s}); install it and rerun"),
        Err(e) => {
            bail!("nginx is not installed and `{how}` could not run ({e}); install it and rerun")
        }
    }
}

/// A server under load.
struct Target {
    name: &'static str,
    url: String,
}

/// What the clients do.
#[derive(Debug, Clone, Copy)]
struct Load {
    clients: usize,
    warmup: Duration,
    secs: Duration,
    /// Bytes per request; `None` for the whole piece.
    range: Option<u64>,
    /// The piece's unpadded size.
    size: u64,
}

/// One server, one client count, one round.
struct Measurement {
    mib_s: f64,
    latencies: Vec<Duration>,
    /// The host's CPUs busy during the window, 0 to 1.
    host_busy: f64,
    /// This process's share of all CPU time during the window.
    own_share: f64,
    /// Clients still in a request `DRAIN` after the window.
    unfinished: usize,
}

/// One HTTP/1.1 client with one keep-alive connection.
fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .context("build the HTTP client")
}

/// GETs `url` (bytes `[start, start + len)` when `range` is set) and reads
/// the whole body, counting it into `counter` and hashing it into `hash`;
/// returns the bytes read.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    range: Option<(u64, u64)>,
    counter: Option<&AtomicU64>,
    mut hash: Option<&mut Sha256>,
) -> anyhow::Result<u64> {
    let mut req = http.get(url);
    let want = match range {
        Some((start, len)) => {
            req = req.header(
                reqwest::header::RANGE,
                format!("bytes={start}-{}", start + len - 1),
            );
            reqwest::StatusCode::PARTIAL_CONTENT
        }
        None => reqwest::StatusCode::OK,
    };
    let mut resp = req.send().await.with_context(|| format!("GET {url}"))?;
    ensure!(resp.status() == want, "GET {url}: {}", resp.status());
    let mut n = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .with_context(|| format!("read GET {url}"))?
    {
        n += chunk.len() as u64;
        if let Some(c) = counter {
            c.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        if let Some(h) = hash.as_deref_mut() {
            h.update(&chunk);
        }
    }
    Ok(n)
}

/// The server's first responses: the whole piece, and a range when the
/// load uses ranges, checked against the data.
async fn verify(t: &Target, piece: &Piece, range: Option<u64>) -> anyhow::Result<()> {
    let http = http_client()?;
    let mut h = Sha256::new();
    let n = fetch(&http, &t.url, None, None, Some(&mut h)).await?;
    ensure!(
        n == piece.data.len() as u64 && <[u8; 32]>::from(h.finalize()) == piece.digest,
        "{} served {n} bytes that are not the piece's {} (sha256 differs)",
        t.name,
        piece.data.len()
    );
    if let Some(len) = range {
        // An offset inside a 127-byte unit, so that the unpadding starts mid-unit.
        let start = 1_000_003 % (piece.data.len() as u64 - len + 1);
        let mut h = Sha256::new();
        let n = fetch(&http, &t.url, Some((start, len)), None, Some(&mut h)).await?;
        let s = usize::try_from(start)?;
        let e = usize::try_from(start + len)?;
        let want = piece.data.get(s..e).context("range past the data")?;
        ensure!(
            n == len && h.finalize()[..] == Sha256::digest(want)[..],
            "{} served wrong bytes for the range {start}+{len}",
            t.name
        );
    }
    Ok(())
}

/// `load.clients` clients against `url`: throughput over the window, the
/// latency of each request that reached into it.
async fn measure(url: &str, load: Load) -> anyhow::Result<Measurement> {
    let bytes = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now() + load.warmup;
    let t1 = t0 + load.secs;
    let mut tasks = JoinSet::new();
    for c in 0..load.clients {
        tasks.spawn(client_loop(url.to_string(), c, load, t0, t1, bytes.clone()));
    }
    tokio::time::sleep_until(t0.into()).await;
    let (a, b0, cpu0) = (
        Instant::now(),
        bytes.load(Ordering::Relaxed),
        CpuTimes::now()?,
    );
    tokio::time::sleep_until(t1.into()).await;
    let (z, b1, cpu1) = (
        Instant::now(),
        bytes.load(Ordering::Relaxed),
        CpuTimes::now()?,
    );
    let mut latencies = Vec::new();
    let mut unfinished = 0;
    let deadline = tokio::time::Instant::from(z + DRAIN);
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(joined)) => latencies.extend(joined.context("join a client")??),
            Ok(None) => break,
            Err(_) => {
                unfinished = tasks.len();
                tasks.abort_all();
                break;
            }
        }
    }
    Ok(Measurement {
        mib_s: (b1 - b0) as f64 / MIB / (z - a).as_secs_f64(),
        latencies,
        host_busy: cpu1.busy_since(&cpu0),
        own_share: cpu1.process_since(&cpu0),
        unfinished,
    })
}

/// One client: requests until `t1`, the last one finished; returns the
/// latencies of those that ended at or after `t0`.
async fn client_loop(
    url: String,
    client: usize,
    load: Load,
    t0: Instant,
    t1: Instant,
    bytes: Arc<AtomicU64>,
) -> anyhow::Result<Vec<Duration>> {
    let http = http_client()?;
    let mut rng = ChaCha8Rng::seed_from_u64(client as u64);
    let mut latencies = Vec::new();
    loop {
        let began = Instant::now();
        if began >= t1 {
            return Ok(latencies);
        }
        let range = load
            .range
            .map(|len| (rng.next_u64() % (load.size - len + 1), len));
        let want = range.map_or(load.size, |r| r.1);
        let n = fetch(&http, &url, range, Some(&bytes), None).await?;
        ensure!(n == want, "GET {url}: {n} bytes, not {want}");
        // Requests that ended in the warmup are not timed; those that
        // reached into the window are, even if begun before it, so that a
        // server too slow to finish one inside the window still gets a p99.
        let ended = Instant::now();
        if ended >= t0 {
            latencies.push(ended - began);
        }
    }
}

/// A server's figures at one client count, over the rounds.
struct Summary {
    /// Median over the rounds.
    mib_s: f64,
    /// Over every round's requests; `None` when none was timed.
    p99: Option<Duration>,
    requests: usize,
    host_busy: f64,
    own_share: f64,
    unfinished: usize,
}

impl Summary {
    fn of(runs: &[Measurement]) -> Self {
        let mid = |f: fn(&Measurement) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let mut all: Vec<Duration> = runs.iter().flat_map(|m| m.latencies.clone()).collect();
        all.sort();
        // The nearest-rank p99.
        let rank = (all.len() * 99).div_ceil(100);
        Self {
            mib_s: mid(|m| m.mib_s),
            p99: rank.checked_sub(1).and_then(|i| all.get(i)).copied(),
            requests: all.len(),
            host_busy: mid(|m| m.host_busy),
            own_share: mid(|m| m.own_share),
            unfinished: runs.iter().map(|m| m.unfinished).sum(),
        }
    }
}

/// The unpadding alone, one thread, in memory (the file is in the page
/// cache): MiB/s of unpadded bytes, median of the rounds.
struct Unpad {
    /// `UnpaddedReader::next_chunk(CHUNK)` over the whole piece.
    reader: f64,
    /// Its read half: `pread` of the same padded chunks.
    pread: f64,
    /// Its unpad half, `unpad::unpad_units`: the reader's time less the
    /// `pread` time.
    write_unpadded: f64,
}

impl Unpad {
    fn measure(piece: &Piece, rounds: usize) -> anyhow::Result<Self> {
        let span = PieceSpan {
            file: piece.unsealed.clone(),
            padded_offset: 0,
            padded_size: piece.size.bytes(),
        };
        let size = piece.data.len() as u64;
        let read_all = |hash: Option<&mut Sha256>| -> anyhow::Result<u64> {
            let mut r = UnpaddedReader::open(&span, 0, size).context("open the unsealed copy")?;
            let mut n = 0u64;
            let mut hash = hash;
            while let Some(c) = r.next_chunk(CHUNK).context("unpad a chunk")? {
                n += c.len() as u64;
                if let Some(h) = hash.as_deref_mut() {
                    h.update(&c);
                }
            }
            Ok(n)
        };
        // Untimed, checked, and it warms the page cache.
        let mut h = Sha256::new();
        ensure!(
            read_all(Some(&mut h))? == size && <[u8; 32]>::from(h.finalize()) == piece.digest,
            "UnpaddedReader read back other bytes than were padded"
        );
        let file = File::open(&piece.unsealed).context("open the unsealed copy")?;
        // The padded spans `next_chunk(CHUNK)` reads: (first unit, units).
        let chunks: Vec<(u64, u64)> = (0..size)
            .step_by(CHUNK)
            .map(|next| {
                let want = (size - next).min(CHUNK as u64);
                (next / 127, (next % 127 + want).div_ceil(127))
            })
            .collect();
        let (mut reader, mut pread) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            read_all(None)?;
            reader.push(t.elapsed());

            let t = Instant::now();
            for &(unit, units) in &chunks {
                buf.resize(usize::try_from(units * 128)?, 0);
                file.read_exact_at(&mut buf, unit * 128)
                    .context("read the unsealed copy")?;
            }
            pread.push(t.elapsed());
        }
        let mib = size as f64 / MIB;
        let (reader, pread) = (median(&reader), median(&pread));
        Ok(Self {
            reader: mib / reader,
            pread: mib / pread,
            write_unpadded: mib / (reader - pread),
        })
    }
}

/// The results as Markdown.
fn report(
    flags: &Flags,
    cpus: usize,
    piece: &Piece,
    targets: &[Target],
    rows: &[(usize, Vec<Summary>)],
    unpad: &Unpad,
    sendfile: u64,
) -> String {
    let mut s = String::new();
    let what = match flags.range {
        Some(r) => format!("{} MiB ranges at random offsets", r >> 20),
        None => "the whole piece".to_string(),
    };
    let _ = writeln!(
        s,
        "\nRetrieval over loopback, {} MiB padded piece ({:.2} MiB served), {what} per request, \
         HTTP/1.1 keep-alive, one connection per client; {:.0} s windows after {:.0} s warmup, \
         {} rounds per server (interleaved), median MiB/s of the rounds, p99 over all requests \
         that ended after the warmups\n",
        piece.size.bytes() >> 20,
        piece.data.len() as f64 / MIB,
        flags.secs.as_secs_f64(),
        flags.warmup.as_secs_f64(),
        flags.rounds
    );
    let _ = writeln!(
        s,
        "| clients | server | MiB/s | p99 latency | requests timed | host CPU busy | this process's share | ferrite / nginx |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|");
    for (clients, sums) in rows {
        let base = sums.last().map_or(f64::NAN, |n| n.mib_s);
        for (t, m) in targets.iter().zip(sums) {
            let p99 = m.p99.map_or("n/a".to_string(), |d| {
                format!("{:.0} ms", d.as_secs_f64() * 1e3)
            });
            let ratio = if t.name != "nginx" {
                format!("{:.0} %", m.mib_s / base * 100.0)
            } else {
                String::new()
            };
            let unfinished = if m.unfinished > 0 {
                format!(" ({} unfinished)", m.unfinished)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "| {clients} | {} | {:.0} | {p99} | {}{unfinished} | {:.0} % | {:.0} % | {ratio} |",
                t.name,
                m.mib_s,
                m.requests,
                m.host_busy * 100.0,
                m.own_share * 100.0,
            );
        }
    }
    let _ = writeln!(
        s,
        "\n\"ferrite, cache\" is the same server with `[retrieval.cache]` on: the piece was \
         unpadded into the cache by the check's first GET, and {:.1} GiB of the bodies went \
         out with sendfile.",
        sendfile as f64 / MIB / 1024.0
    );
    let _ = writeln!(
        s,
        "\nUnpadding alone, one thread, in memory (page cache), no HTTP, MiB/s of unpadded bytes, \
         median of {} rounds:\n",
        flags.rounds.max(3)
    );
    let _ = writeln!(s, "| step | MiB/s |");
    let _ = writeln!(s, "|---|---:|");
    let _ = writeln!(
        s,
        "| unpad only: UnpaddedReader::next_chunk({} KiB) | {:.0} |",
        CHUNK >> 10,
        unpad.reader
    );
    let _ = writeln!(
        s,
        "| of which pread of the padded chunks | {:.0} |",
        unpad.pread
    );
    let _ = writeln!(
        s,
        "| of which the unpad (the reader's time less pread's) | {:.0} |",
        unpad.write_unpadded
    );
    let _ = writeln!(
        s,
        "\nCaveat: {cpus} CPUs, shared by the load generator and both servers (Ferrite runs in this \
         process, so \"this process's share\" is the load generator alone for nginx, and the load \
         generator plus Ferrite for ferrite). Neither server had the machine to itself; the figures \
         compare the two under the same client cost, not either server's ceiling."
    );
    s
}
