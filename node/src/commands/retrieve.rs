//! `ferrite client retrieve`: fetch a piece or a DAG from a provider's
//! retrieval server and check it before keeping it.
//!
//! - A piece CID (v1 `baga…` or v2 `bafkzcib…`): `GET /piece/{cid}`; the
//!   file's CommP (and for a v2, its size) must be the CID's.
//! - Any other CID: `GET /ipfs/{cid}?format=car&dag-scope=all`; the CAR is
//!   walked from the root with every block's hash checked, and every block
//!   the DAG links to must be in it.
//!
//! The download shows a byte bar; a file that fails its check is removed.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cid::Cid;
use ferrite_retrieval::dag::{self, BlockSource, DagError, DagScope};
use ferrite_retrieval::source::PieceName;
use futures_util::StreamExt;

/// Runs `ferrite client retrieve`.
pub fn run(cid: &str, provider: &str, out: &Path) -> anyhow::Result<()> {
    let base = provider.trim_end_matches('/');
    anyhow::ensure!(
        base.starts_with("http://") || base.starts_with("https://"),
        "--provider {provider:?} is not an http(s) URL of a retrieval server"
    );
    let piece: Option<PieceName> = cid.parse().ok();
    if piece.is_none() {
        cid.parse::<Cid>()
            .map_err(|e| anyhow::anyhow!("{cid:?} is not a CID: {e}"))?;
    }
    let url = match &piece {
        Some(_) => format!("{base}/piece/{cid}"),
        None => format!("{base}/ipfs/{cid}?format=car&dag-scope=all"),
    };
    super::runtime()?.block_on(download(&url, out))?;
    let checked = match piece {
        Some(p) => check_piece(&p, out),
        None => check_car(cid, out),
    };
    match checked {
        Ok(summary) => {
            println!("{summary}");
            println!("saved to {}", out.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(out);
            Err(e.context(format!(
                "{} failed its check and was removed",
                out.display()
            )))
        }
    }
}

/// Streams `url` into `out`, with a byte bar.
async fn download(url: &str, out: &Path) -> anyhow::Result<()> {
    let resp = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        anyhow::bail!("GET {url}: {status}: {}", text.trim());
    }
    let bar = super::byte_bar("retrieve".to_string(), resp.content_length());
    let mut file =
        std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("read {url}"))?;
        file.write_all(&chunk)
            .with_context(|| format!("write {}", out.display()))?;
        bar.inc(chunk.len() as u64);
    }
    file.sync_all()
        .with_context(|| format!("sync {}", out.display()))?;
    bar.finish_and_clear();
    Ok(())
}

/// The file's CommP must be the piece's.
fn check_piece(piece: &PieceName, file: &Path) -> anyhow::Result<String> {
    let len = std::fs::metadata(file)?.len();
    let got = super::client::commp_of_file(file, len)?;
    let want = piece.comm_p();
    anyhow::ensure!(
        got.comm_p() == want,
        "the {len} bytes received have CommP {}, not {want}",
        got.comm_p()
    );
    if let PieceName::V2(v2) = piece {
        anyhow::ensure!(
            got.payload_size() == v2.payload_size() && got.size() == v2.size(),
            "received {len} bytes; the v2 piece CID names {} bytes",
            v2.payload_size()
        );
    }
    Ok(format!("{len} bytes, CommP {want} checked"))
}

/// The CAR's blocks, each checked against its CID, walked from the root.
// The walk's callback returns its DagError, as the gateway's does.
#[allow(clippy::result_large_err)]
fn check_car(root: &str, file: &Path) -> anyhow::Result<String> {
    let root: Cid = root.parse().context("the root CID")?;
    let f = std::fs::File::open(file).with_context(|| format!("open {}", file.display()))?;
    let reader = fvm_ipld_car::CarReader::new(std::io::BufReader::new(f))
        .map_err(|e| anyhow::anyhow!("{} is not a CAR: {e}", file.display()))?;
    anyhow::ensure!(
        reader.header.roots.first() == Some(&root),
        "the CAR's roots are {:?}, not [{root}]",
        reader.header.roots
    );
    let mut blocks = Blocks(HashMap::new());
    for b in reader {
        let b = b.map_err(|e| anyhow::anyhow!("read the CAR: {e}"))?;
        blocks.0.insert(b.cid, b.data);
    }
    let mut seen = 0u64;
    let mut bytes = 0u64;
    dag::walk(&blocks, &root, &[], DagScope::All, None, |_, data| {
        seen += 1;
        bytes += data.len() as u64;
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("the DAG from {root} is not whole or not valid: {}", e.error))?;
    anyhow::ensure!(
        seen as usize == blocks.0.len(),
        "the CAR holds {} blocks; the DAG from {root} has {seen}",
        blocks.0.len()
    );
    Ok(format!(
        "{seen} blocks ({bytes} bytes), every hash checked, the DAG from {root} complete"
    ))
}

struct Blocks(HashMap<Cid, Vec<u8>>);

impl BlockSource for Blocks {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, DagError> {
        Ok(self.0.get(cid).cloned())
    }
}

/// Where the output goes by default: the CID, in the working directory.
pub fn default_out(cid: &str) -> PathBuf {
    PathBuf::from(cid)
}
