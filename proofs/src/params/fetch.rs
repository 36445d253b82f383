//! Download of the official Groth16 parameter files.
//!
//! The manifest is the `parameters.json` that ships inside filecoin-proofs
//! (the same one the library checks files against): for each file, its CID
//! and the first 32 hex characters of its blake2b-512 digest. A file is
//! fetched from `<base URL><CID>` into `<name>.partial`, resumed with an HTTP
//! Range request if a partial file is there, hashed, and renamed into place
//! only if the digest matches. A mismatch discards the file.
//!
//! As Lotus does, a sector size selects its own `.params` files and every
//! `.vk` file (they are small, and a node verifies proofs of all sizes).

use std::collections::BTreeMap;
use std::path::Path;

use ferrite_types::SectorSize;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{io, partial};
use crate::ProofsError;

/// One file of a parameter manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestEntry {
    /// The file's name in the parameter cache.
    #[serde(skip)]
    pub name: String,
    /// Its CID on the parameter server.
    pub cid: String,
    /// The first 32 hex characters of its blake2b-512 digest.
    pub digest: String,
    /// The sector size it belongs to.
    pub sector_size: u64,
}

/// A parameter manifest: file name to entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Parses a manifest in the format of `parameters.json`.
    pub fn parse(json: &str) -> Result<Self, ProofsError> {
        let map: BTreeMap<String, ManifestEntry> = serde_json::from_str(json)
            .map_err(|e| ProofsError::InvalidInput(format!("parameter manifest: {e}")))?;
        Ok(Self {
            entries: map
                .into_iter()
                .map(|(name, mut e)| {
                    e.name = name;
                    e
                })
                .collect(),
        })
    }

    /// The manifest bundled with filecoin-proofs.
    pub fn official() -> Result<Self, ProofsError> {
        Self::parse(storage_proofs_core::parameter_cache::PARAMETERS_DATA)
    }

    /// The files a node proving `sizes` needs: their `.params` files, and every `.vk`.
    pub fn select(&self, sizes: &[SectorSize]) -> Vec<ManifestEntry> {
        self.entries
            .iter()
            .filter(|e| e.name.ends_with(".vk") || sizes.iter().any(|s| s.bytes() == e.sector_size))
            .cloned()
            .collect()
    }
}

/// Progress of [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    /// The file is already there with the right digest.
    Present {
        /// File name.
        name: String,
    },
    /// A download starts (or resumes at `from`).
    Started {
        /// File name.
        name: String,
        /// Bytes already on disk from an earlier attempt.
        from: u64,
        /// The whole file's size, when the server says.
        total: Option<u64>,
    },
    /// More bytes arrived.
    Progress {
        /// File name.
        name: String,
        /// Bytes on disk so far.
        bytes: u64,
    },
    /// The file arrived and its digest matches.
    Verified {
        /// File name.
        name: String,
    },
}

/// Downloads every entry that is missing from `dir`.
pub async fn fetch(
    client: &reqwest::Client,
    base_url: &str,
    dir: &Path,
    entries: &[ManifestEntry],
    on_event: &mut (dyn FnMut(FetchEvent) + Send),
) -> Result<(), ProofsError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io(format!("create {}", dir.display()), e))?;
    for entry in entries {
        let path = dir.join(&entry.name);
        if path.is_file() && digest_of(&path).await? == entry.digest {
            on_event(FetchEvent::Present {
                name: entry.name.clone(),
            });
            continue;
        }
        download(client, base_url, &path, entry, on_event).await?;
        let partial = partial(&path);
        let actual = digest_of(&partial).await?;
        if actual != entry.digest {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(ProofsError::Digest {
                name: entry.name.clone(),
                expected: entry.digest.clone(),
                actual,
            });
        }
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| io(format!("rename into {}", path.display()), e))?;
        on_event(FetchEvent::Verified {
            name: entry.name.clone(),
        });
    }
    Ok(())
}

async fn download(
    client: &reqwest::Client,
    base_url: &str,
    path: &Path,
    entry: &ManifestEntry,
    on_event: &mut (dyn FnMut(FetchEvent) + Send),
) -> Result<(), ProofsError> {
    let url = format!("{}{}", base_url, entry.cid);
    let fail = |reason: String| ProofsError::Download {
        name: entry.name.clone(),
        reason,
    };
    let partial = partial(path);
    let have = tokio::fs::metadata(&partial)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut req = client.get(&url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| fail(format!("GET {url}: {e}")))?;
    let status = resp.status();
    let (mut file, from, total) = match status {
        reqwest::StatusCode::PARTIAL_CONTENT => {
            let file = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&partial)
                .await
                .map_err(|e| io(format!("open {}", partial.display()), e))?;
            (file, have, resp.content_length().map(|n| n + have))
        }
        // Complete already: the server has nothing past our end.
        reqwest::StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(()),
        s if s.is_success() => {
            // A full response: start over, whatever was on disk.
            let file = tokio::fs::File::create(&partial)
                .await
                .map_err(|e| io(format!("create {}", partial.display()), e))?;
            (file, 0, resp.content_length())
        }
        s => return Err(fail(format!("GET {url}: HTTP {s}"))),
    };
    on_event(FetchEvent::Started {
        name: entry.name.clone(),
        from,
        total,
    });
    let mut bytes = from;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| fail(format!("read body of {url}: {e} (rerun to resume)")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| io(format!("write {}", partial.display()), e))?;
        bytes += chunk.len() as u64;
        on_event(FetchEvent::Progress {
            name: entry.name.clone(),
            bytes,
        });
    }
    file.sync_all()
        .await
        .map_err(|e| io(format!("sync {}", partial.display()), e))?;
    Ok(())
}

/// The manifest digest of a file: blake2b-512, hex, first 32 characters.
pub async fn digest_of(path: &Path) -> Result<String, ProofsError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file =
            std::fs::File::open(&path).map_err(|e| io(format!("open {}", path.display()), e))?;
        let mut state = blake2b_simd::State::new();
        std::io::copy(&mut file, &mut state)
            .map_err(|e| io(format!("hash {}", path.display()), e))?;
        Ok(state.finalize().to_hex()[..32].to_string())
    })
    .await
    .map_err(|e| ProofsError::Proof(anyhow::anyhow!("hash task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_manifest_selects_params_of_the_size_and_every_vk() {
        let m = Manifest::official().unwrap();
        let sel = m.select(&[SectorSize::S32GiB]);
        assert!(sel.iter().any(|e| e.name.ends_with(".params")));
        for e in &sel {
            assert!(
                e.name.ends_with(".vk") || e.sector_size == SectorSize::S32GiB.bytes(),
                "{e:?}"
            );
            assert_eq!(e.digest.len(), 32);
            assert!(e.name.starts_with("v28-"));
        }
        assert!(
            sel.iter()
                .any(|e| e.name.ends_with(".vk") && e.sector_size == 2048)
        );
        assert!(
            !sel.iter()
                .any(|e| e.name.ends_with(".params") && e.sector_size == 2048)
        );
    }

    #[test]
    fn bad_manifest_is_an_error() {
        assert!(Manifest::parse("{\"x\": 1}").is_err());
        assert!(Manifest::parse("nope").is_err());
    }
}
