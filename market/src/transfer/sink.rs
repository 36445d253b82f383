//! The blocking side of a transfer: the staging file and its CommP hasher,
//! kept in step. Every byte that reaches the file goes through the hasher
//! in the same order, so `written` bytes on disk are always exactly the
//! bytes hashed; a resumed pull re-hashes the prefix it finds on disk
//! before appending. Nothing here may run on a tokio worker thread: the
//! async side calls it through `spawn_blocking` and feeds it chunks over a
//! bounded channel ([`StagingFile::drain`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};

use ferrite_proofs::commp::{CommpHasher, CommpPool};
use ferrite_types::PaddedPieceSize;
use tokio::sync::mpsc;

use super::{Staged, TransferError};

/// Bytes read from an imported file at a time.
const IMPORT_BUF: usize = 1 << 20;

/// A staging file being written, with the CommP of what it holds so far.
pub(super) struct StagingFile {
    path: PathBuf,
    file: File,
    pool: CommpPool,
    hasher: CommpHasher,
    /// Bytes in the file, every one of them hashed.
    written: u64,
}

impl std::fmt::Debug for StagingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagingFile")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish()
    }
}

impl StagingFile {
    /// Opens `path` to resume a transfer: creates its folder, keeps the
    /// bytes already there and hashes them. A file longer than `max` cannot
    /// be this transfer's prefix and is emptied.
    pub(super) fn resume(path: &Path, max: u64, pool: &CommpPool) -> Result<Self, TransferError> {
        let mut me = Self::open(path, false, pool)?;
        let len = me
            .file
            .metadata()
            .map_err(|e| me.io_error("inspect", e))?
            .len();
        if len > max {
            me.restart()?;
            return Ok(me);
        }
        // Reading through `&File` moves the shared cursor to the end, where
        // the next bytes go.
        let read = me
            .hasher
            .read_from((&me.file).take(len))
            .map_err(|e| TransferError::fatal(format!("re-hash {}: {e}", me.path.display())))?;
        if read != len {
            return Err(TransferError::fatal(format!(
                "{} changed while it was re-hashed ({read} of {len} bytes read)",
                me.path.display()
            )));
        }
        me.written = read;
        Ok(me)
    }

    /// Creates `path` (its folder too), emptying any file already there.
    pub(super) fn create(path: &Path, pool: &CommpPool) -> Result<Self, TransferError> {
        Self::open(path, true, pool)
    }

    fn open(path: &Path, truncate: bool, pool: &CommpPool) -> Result<Self, TransferError> {
        let fail = |what: &str, e: io::Error| {
            TransferError::fatal(format!("{what} {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(truncate)
            .open(path)
            .map_err(|e| fail("open", e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            pool: pool.clone(),
            hasher: CommpHasher::new(pool),
            written: 0,
        })
    }

    /// Bytes in the file (all hashed).
    pub(super) fn written(&self) -> u64 {
        self.written
    }

    /// The staging file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Empties the file and the hasher: the server sent the whole body
    /// again.
    pub(super) fn restart(&mut self) -> Result<(), TransferError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.rewind())
            .map_err(|e| self.io_error("truncate", e))?;
        self.hasher = CommpHasher::new(&self.pool);
        self.written = 0;
        Ok(())
    }

    /// Writes and hashes the next bytes.
    pub(super) fn append(&mut self, data: &[u8]) -> Result<(), TransferError> {
        self.file
            .write_all(data)
            .map_err(|e| self.io_error("write", e))?;
        self.hasher.update(data);
        self.written += data.len() as u64;
        Ok(())
    }

    /// One attempt's writer, on a blocking thread: empties the file first
    /// when `restart`, then writes and hashes every chunk received until
    /// the sender is dropped. On an error it stops receiving (so the
    /// sender sees a closed channel) and gives the file back with the
    /// error.
    pub(super) fn drain<B: AsRef<[u8]>>(
        mut self,
        restart: bool,
        mut chunks: mpsc::Receiver<B>,
    ) -> (Self, Result<(), TransferError>) {
        let result = self.write_from(restart, &mut chunks);
        (self, result)
    }

    fn write_from<B: AsRef<[u8]>>(
        &mut self,
        restart: bool,
        chunks: &mut mpsc::Receiver<B>,
    ) -> Result<(), TransferError> {
        if restart {
            self.restart()?;
        }
        while let Some(chunk) = chunks.blocking_recv() {
            self.append(chunk.as_ref())?;
        }
        Ok(())
    }

    /// Fsyncs the file and finishes the CommP to `piece_size`.
    pub(super) fn finish(self, piece_size: PaddedPieceSize) -> Result<Staged, TransferError> {
        self.file
            .sync_all()
            .map_err(|e| self.io_error("fsync", e))?;
        let piece_cid = self
            .hasher
            .finish_to(piece_size)
            .map_err(|e| TransferError::fatal(format!("CommP of {}: {e}", self.path.display())))?;
        Ok(Staged {
            path: self.path,
            bytes: self.written,
            piece: piece_cid.piece_info(),
            piece_cid,
        })
    }

    fn io_error(&self, what: &str, e: io::Error) -> TransferError {
        TransferError::fatal(format!("{what} {}: {e}", self.path.display()))
    }
}

/// [`super::import`] on the calling (blocking) thread.
pub(super) fn import(
    src: &Path,
    dest: &Path,
    piece_size: PaddedPieceSize,
    pool: &CommpPool,
) -> Result<Staged, TransferError> {
    let fail =
        |what: &str, e: io::Error| TransferError::fatal(format!("{what} {}: {e}", src.display()));
    let mut input = File::open(src).map_err(|e| fail("open", e))?;
    let meta = input.metadata().map_err(|e| fail("inspect", e))?;
    if !meta.is_file() {
        return Err(TransferError::fatal(format!(
            "{} is not a regular file",
            src.display()
        )));
    }
    let room = piece_size.unpadded().bytes();
    let too_big = |len: u64| {
        TransferError::fatal(format!(
            "{} holds {len} bytes, more than the {room} unpadded bytes of a {piece_size}-byte piece",
            src.display()
        ))
    };
    if meta.len() > room {
        return Err(too_big(meta.len()));
    }
    if dest.exists()
        && fs::canonicalize(src).map_err(|e| fail("resolve", e))?
            == fs::canonicalize(dest).map_err(|e| fail("resolve", e))?
    {
        return Err(TransferError::fatal(format!(
            "{} is already the staging file: import a copy",
            src.display()
        )));
    }
    let mut out = StagingFile::create(dest, pool)?;
    let mut buf = vec![0u8; IMPORT_BUF];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail("read", e)),
        };
        // The file may grow while it is copied.
        if out.written() + n as u64 > room {
            return Err(too_big(out.written() + n as u64));
        }
        out.append(&buf[..n])?;
    }
    tracing::debug!(
        src = %src.display(),
        dest = %out.path().display(),
        bytes = out.written(),
        "imported deal data"
    );
    out.finish(piece_size)
}
