//! The unpadded-piece cache: pieces asked for over `/piece/`, Fr32 padding
//! removed, each in a file of its own under `[retrieval.cache] dir`, served
//! from a memory map and sent with sendfile(2) ([`crate::sendfile`]), as
//! nginx serves a plain file.
//!
//! ```text
//!  GET /piece/ ─► find_piece (the index first: a removed piece is 404, cached or not)
//!      ─► PieceCache::get(commP) ─ hit ─► MappedFile slices ─► body ─► sendfile
//!                               └ miss ─► served from the unsealed copy, unpadding as it goes,
//!                                         and PieceCache::fill: a blocking thread unpads the
//!                                         whole piece into dir/<commP>.tmp, syncs it, renames
//!                                         it to dir/<commP>.piece, then evicts the least
//!                                         recently used pieces past max_bytes
//!  Retrieval's sweep, every minute ─► PieceCache::retain: pieces the index no longer has go
//! ```
//!
//! A file is never written again once renamed into place, which is what
//! makes mapping it sound; eviction unlinks it, and transfers that still
//! hold its mapping finish from the unlinked inode. On start, leftover
//! `.tmp` files are removed and `.piece` files are taken back in, least
//! recently modified first out.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use ferrite_types::CommP;
use tracing::{info, warn};

use crate::config::CacheConfig;
use crate::metrics::RetrievalMetrics;
use crate::sendfile::{MappedFile, Mappings};
use crate::unpad::{PieceSpan, UnpaddedReader};
use crate::unseal::Reading;

/// Unpadded bytes written per step of a fill.
const FILL_CHUNK: usize = 4 << 20;

/// A cached piece.
#[derive(Debug)]
struct Entry {
    /// Its unpadded length, the file's.
    len: u64,
    /// When it was last served, as a tick of [`State::clock`].
    used: u64,
    /// Its mapping, made at its first hit and kept while it is cached.
    map: Option<Arc<MappedFile>>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<CommP, Entry>,
    /// The pieces being written now.
    filling: HashSet<CommP>,
    /// The sum of the entries' lengths.
    bytes: u64,
    clock: u64,
}

impl State {
    /// Takes in a piece written to its file, as the most recently used.
    fn add(&mut self, comm_p: CommP, len: u64) {
        self.clock += 1;
        self.bytes += len;
        let used = self.clock;
        self.entries.insert(
            comm_p,
            Entry {
                len,
                used,
                map: None,
            },
        );
    }
}

/// The cache; see the module docs.
#[derive(Debug)]
pub struct PieceCache {
    dir: PathBuf,
    max_bytes: u64,
    mappings: Arc<Mappings>,
    metrics: RetrievalMetrics,
    state: Mutex<State>,
}

impl PieceCache {
    /// The cache `cfg` describes, with the pieces already in its directory
    /// (made if missing); `None` when `cfg.dir` is empty. Blocking.
    pub fn open(
        cfg: &CacheConfig,
        mappings: Arc<Mappings>,
        metrics: RetrievalMetrics,
    ) -> io::Result<Option<Arc<Self>>> {
        if cfg.dir.as_os_str().is_empty() {
            return Ok(None);
        }
        std::fs::create_dir_all(&cfg.dir)?;
        let mut found = Vec::new();
        for e in std::fs::read_dir(&cfg.dir)? {
            let e = e?;
            let path = e.path();
            match path.extension().and_then(|x| x.to_str()) {
                Some("tmp") => std::fs::remove_file(&path)?,
                Some("piece") => {
                    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                    let meta = e.metadata()?;
                    match name.parse::<CommP>() {
                        Ok(c) if meta.len() > 0 => found.push((meta.modified()?, c, meta.len())),
                        _ => warn!(file = %path.display(), "not a cached piece; left alone"),
                    }
                }
                _ => {}
            }
        }
        found.sort();
        let mut st = State::default();
        for (_, comm_p, len) in found {
            st.add(comm_p, len);
        }
        let cache = Arc::new(Self {
            dir: cfg.dir.clone(),
            max_bytes: cfg.max_bytes,
            mappings,
            metrics,
            state: Mutex::new(st),
        });
        cache.evict();
        let st = cache.lock();
        info!(dir = %cache.dir.display(), pieces = st.entries.len(), bytes = st.bytes, "piece cache");
        cache.metrics.cache_bytes.set(gauge(st.bytes));
        drop(st);
        Ok(Some(cache))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(&self, comm_p: &CommP, ext: &str) -> PathBuf {
        self.dir.join(format!("{comm_p}.{ext}"))
    }

    /// The piece's unpadded bytes, if cached with length `len`, as `Bytes`
    /// over its mapping. Blocking (a first hit maps the file).
    pub fn get(&self, comm_p: &CommP, len: u64) -> Option<Bytes> {
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        let Some(entry) = st.entries.get_mut(comm_p) else {
            drop(st);
            self.count("miss");
            return None;
        };
        entry.used = now;
        let map = match (&entry.map, entry.len == len) {
            (Some(m), true) => Ok(m.clone()),
            (None, true) => MappedFile::open(&self.path(comm_p, "piece"), &self.mappings),
            (_, false) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} bytes cached, the piece has {len}", entry.len),
            )),
        };
        match map {
            Ok(m) if m.len() == len => {
                entry.map = Some(m.clone());
                drop(st);
                self.count("hit");
                Some(m.bytes())
            }
            other => {
                let why = other.map_or_else(|e| e.to_string(), |m| format!("{} bytes", m.len()));
                warn!(piece = %comm_p, "drop a cached piece that does not fit: {why}");
                self.remove(&mut st, comm_p);
                drop(st);
                self.count("miss");
                None
            }
        }
    }

    /// Caches the piece that `span` holds, in the background, unless it is
    /// cached or being cached, or larger than the whole cache. `reading`
    /// keeps the unsealed copy from being swept meanwhile.
    pub fn fill(self: &Arc<Self>, comm_p: CommP, span: PieceSpan, reading: Option<Reading>) {
        let len = span.unpadded_size();
        if len == 0 || len > self.max_bytes {
            return;
        }
        {
            let mut st = self.lock();
            if st.entries.contains_key(&comm_p) || !st.filling.insert(comm_p) {
                return;
            }
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let written = me.write(&comm_p, &span);
            drop(reading);
            let mut st = me.lock();
            st.filling.remove(&comm_p);
            match written {
                Ok(()) => {
                    st.add(comm_p, len);
                    me.metrics.cache_bytes.set(gauge(st.bytes));
                    drop(st);
                    me.count("filled");
                    me.evict();
                }
                Err(e) => {
                    drop(st);
                    let _ = std::fs::remove_file(me.path(&comm_p, "tmp"));
                    warn!(piece = %comm_p, "cache a piece: {e}");
                    me.count("failed");
                }
            }
        });
    }

    /// Unpads the whole piece into its temporary file, syncs it and renames
    /// it into place.
    fn write(&self, comm_p: &CommP, span: &PieceSpan) -> io::Result<()> {
        let tmp = self.path(comm_p, "tmp");
        let mut out = File::create(&tmp)?;
        let mut reader = UnpaddedReader::open(span, 0, span.unpadded_size())?;
        while let Some(chunk) = reader.next_chunk(FILL_CHUNK)? {
            out.write_all(&chunk)?;
        }
        out.sync_all()?;
        std::fs::rename(&tmp, self.path(comm_p, "piece"))
    }

    /// Keeps only the pieces `stored` says are still stored. Blocking.
    pub fn retain(&self, stored: impl Fn(&CommP) -> bool) {
        let mut st = self.lock();
        let gone: Vec<CommP> = st.entries.keys().filter(|c| !stored(c)).copied().collect();
        for c in gone {
            info!(piece = %c, "drop a cached piece that is no longer stored");
            self.remove(&mut st, &c);
        }
    }

    /// Drops the least recently served pieces until the rest fit.
    fn evict(&self) {
        let mut st = self.lock();
        while st.bytes > self.max_bytes {
            let Some(oldest) = st
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(c, _)| *c)
            else {
                break;
            };
            self.remove(&mut st, &oldest);
            self.count("evicted");
        }
    }

    /// Forgets `comm_p` and removes its file; transfers that hold its
    /// mapping finish from the unlinked file.
    fn remove(&self, st: &mut State, comm_p: &CommP) {
        if let Some(e) = st.entries.remove(comm_p) {
            st.bytes -= e.len;
            self.metrics.cache_bytes.set(gauge(st.bytes));
        }
        let path = self.path(comm_p, "piece");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warn!(file = %path.display(), "remove a cached piece: {e}"),
        }
    }

    fn count(&self, result: &str) {
        self.metrics.cache.with_label_values(&[result]).inc();
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn gauge(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::*;

    /// A padded piece of `units` 128-byte units in its own file, and its data.
    fn piece(dir: &Path, seed: u8, units: usize) -> (PieceSpan, Vec<u8>) {
        let data: Vec<u8> = (0..units * 127)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
            .collect();
        let mut padded = Vec::new();
        fr32::Fr32Reader::new(io::Cursor::new(&data))
            .read_to_end(&mut padded)
            .unwrap();
        let file = dir.join(format!("unsealed-{seed}"));
        std::fs::write(&file, &padded).unwrap();
        let span = PieceSpan {
            file,
            padded_offset: 0,
            padded_size: padded.len() as u64,
        };
        (span, data)
    }

    fn open_cache(dir: &Path, max_bytes: u64) -> (Arc<PieceCache>, RetrievalMetrics) {
        let metrics = RetrievalMetrics::unregistered().unwrap();
        let cfg = CacheConfig {
            dir: dir.to_path_buf(),
            max_bytes,
        };
        let c = PieceCache::open(&cfg, Mappings::new(), metrics.clone()).unwrap();
        (c.unwrap(), metrics)
    }

    async fn fill(c: &Arc<PieceCache>, m: &RetrievalMetrics, comm_p: CommP, span: PieceSpan) {
        let done = |m: &RetrievalMetrics| {
            m.cache.with_label_values(&["filled"]).get()
                + m.cache.with_label_values(&["failed"]).get()
        };
        let before = done(m);
        c.fill(comm_p, span, None);
        for _ in 0..500 {
            if done(m) > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the fill did not end");
    }

    #[tokio::test]
    async fn fills_serves_evicts_the_least_recent_and_forgets_removed_pieces() {
        let src = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (CommP([1; 32]), CommP([2; 32]), CommP([3; 32]));
        let (span_a, data_a) = piece(src.path(), 1, 64);
        let (span_b, data_b) = piece(src.path(), 2, 64);
        let (span_c, _) = piece(src.path(), 3, 64);
        // Room for two pieces of 64 units.
        let (cache, m) = open_cache(dir.path(), 2 * 64 * 127);
        assert!(cache.get(&a, 64 * 127).is_none());
        fill(&cache, &m, a, span_a.clone()).await;
        fill(&cache, &m, b, span_b).await;
        let got = cache.get(&a, 64 * 127).unwrap();
        assert!(got[..] == data_a[..]);
        assert_eq!(m.cache_bytes.get(), 2 * 64 * 127);
        // A length that does not match is a miss, and the entry goes.
        assert!(cache.get(&b, 64 * 127 - 1).is_none());
        assert!(!dir.path().join(format!("{b}.piece")).exists());
        fill(&cache, &m, b, piece(src.path(), 2, 64).0).await;
        assert!(cache.get(&b, 64 * 127).unwrap()[..] == data_b[..]);
        // a was served before b: c's arrival evicts a, whose bytes stay
        // readable through the mapping already handed out.
        fill(&cache, &m, c, span_c).await;
        assert!(cache.get(&a, 64 * 127).is_none());
        assert!(!dir.path().join(format!("{a}.piece")).exists());
        assert!(got[..] == data_a[..]);
        assert_eq!(m.cache.with_label_values(&["evicted"]).get(), 1);
        assert_eq!(m.cache.with_label_values(&["hit"]).get(), 2);
        // A piece larger than the whole cache is never cached.
        let (big, _) = piece(src.path(), 4, 3 * 64);
        cache.fill(CommP([4; 32]), big, None);
        assert!(cache.lock().filling.is_empty());
        // Pieces no longer stored go at the sweep.
        cache.retain(|p| *p == c);
        assert!(cache.get(&b, 64 * 127).is_none());
        assert!(cache.get(&c, 64 * 127).is_some());
        assert_eq!(m.cache_bytes.get(), 64 * 127);
        // A failed fill (the copy is gone) leaves nothing behind.
        std::fs::remove_file(&span_a.file).unwrap();
        fill(&cache, &m, a, span_a).await;
        assert_eq!(m.cache.with_label_values(&["failed"]).get(), 1);
        assert!(!dir.path().join(format!("{a}.tmp")).exists());
        assert!(cache.get(&a, 64 * 127).is_none());
    }

    #[tokio::test]
    async fn a_reopened_cache_keeps_its_pieces_and_drops_half_written_ones() {
        let src = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (CommP([1; 32]), CommP([2; 32]));
        let (span_a, data_a) = piece(src.path(), 1, 16);
        let (span_b, _) = piece(src.path(), 2, 16);
        {
            let (cache, m) = open_cache(dir.path(), 1 << 20);
            fill(&cache, &m, a, span_a).await;
            fill(&cache, &m, b, span_b).await;
        }
        std::fs::write(dir.path().join(format!("{a}.tmp")), b"half").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let (cache, m) = open_cache(dir.path(), 1 << 20);
        assert!(!dir.path().join(format!("{a}.tmp")).exists());
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(m.cache_bytes.get(), 2 * 16 * 127);
        assert!(cache.get(&a, 16 * 127).unwrap()[..] == data_a[..]);
        drop(cache);
        // A smaller cap evicts at open, the least recently written first.
        let (cache, _) = open_cache(dir.path(), 16 * 127);
        assert!(cache.get(&b, 16 * 127).is_some() != cache.get(&a, 16 * 127).is_some());
    }
}
