//! Sending cached pieces without copying them: the server's sockets hand
//! bytes that lie in a mapped cache file to the kernel with sendfile(2), as
//! nginx does with a plain file.
//!
//! ```text
//!  cache file ─mmap─► MappedFile (registered in Mappings) ─► Bytes slices ─► body frames ─► hyper
//!                                                                                            │
//!  SendfileStream::poll_write_vectored([head, slice, …]) ◄────────────────────────────────────┘
//!     first buffer inside a registered mapping ─► sendfile(socket, its file, its offset, its length)
//!     otherwise                                ─► writev of the buffers before the first mapped one
//! ```
//!
//! The bytes sent are the same either way: a mapping shows its file's bytes,
//! and a cache file is never written again once renamed into place
//! ([`crate::cache`]). So sendfile is an optimisation with a plain fallback:
//! a frame of a mapping written to any other sink is simply copied, and a
//! frame that hyper copied into its own buffer is written as it is. The
//! mapped pages are never touched by this process on the sendfile path, so
//! serving them costs no page faults and no copy into user memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The files mapped now, by the address of their first byte, so that a
/// socket can tell which file (and where in it) a buffer comes from.
#[derive(Debug, Default)]
pub struct Mappings {
    by_start: Mutex<BTreeMap<usize, Weak<MappedFile>>>,
    /// `by_start.len()`, read without the lock: most writes are of no
    /// mapping at all while nothing is mapped.
    count: AtomicUsize,
    /// Bytes sent with sendfile so far.
    sent: AtomicU64,
}

impl Mappings {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The mapped file `buf` lies in, and `buf`'s offset in that file.
    fn find(&self, buf: &[u8]) -> Option<(Arc<MappedFile>, u64)> {
        if buf.is_empty() || self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let at = buf.as_ptr() as usize;
        let by_start = self.by_start.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, file) = by_start.range(..=at).next_back()?;
        let file = file.upgrade()?;
        let end = start + file.map.len();
        (at + buf.len() <= end).then(|| (file, (at - start) as u64))
    }

    /// Bytes sent with sendfile so far, by every connection.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn insert(&self, start: usize, file: Weak<MappedFile>) {
        let mut by_start = self.by_start.lock().unwrap_or_else(PoisonError::into_inner);
        by_start.insert(start, file);
        self.count.store(by_start.len(), Ordering::Relaxed);
    }

    fn remove(&self, start: usize) {
        let mut by_start = self.by_start.lock().unwrap_or_else(PoisonError::into_inner);
        by_start.remove(&start);
        self.count.store(by_start.len(), Ordering::Relaxed);
    }
}

/// A whole file mapped read-only, registered in [`Mappings`] while it lives.
#[derive(Debug)]
pub struct MappedFile {
    file: File,
    map: memmap2::Mmap,
    mappings: Arc<Mappings>,
}

impl MappedFile {
    /// Maps `path`, which must not be empty, and which nothing may write
    /// while it is mapped (cache files are written once, under another
    /// name, and renamed into place).
    pub fn open(path: &Path, mappings: &Arc<Mappings>) -> io::Result<Arc<Self>> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is empty", path.display()),
            ));
        }
        // SAFETY: a mapping is unsound if the file changes under it (a
        // write shows through a `&[u8]`, a truncation faults on access).
        // The files mapped here are the piece cache's: each is written
        // whole under a temporary name, synced, and renamed into place; no
        // code in Ferrite opens one for writing again, and eviction only
        // unlinks it, which leaves the mapped inode intact. Only another
        // program writing into the cache directory could break this, the
        // same hazard as for any server that maps the files it serves.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let me = Arc::new(Self {
            file,
            map,
            mappings: mappings.clone(),
        });
        mappings.insert(me.start(), Arc::downgrade(&me));
        Ok(me)
    }

    fn start(&self) -> usize {
        self.map.as_ptr() as usize
    }

    /// The file's length.
    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Always false: empty files are not mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The whole file as `Bytes` that keep the mapping alive; slices of it
    /// cost no copy.
    pub fn bytes(self: &Arc<Self>) -> Bytes {
        Bytes::from_owner(Owner(self.clone()))
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // Before the map's own drop unmaps it: no lookup finds it from here.
        self.mappings.remove(self.start());
    }
}

/// What `Bytes::from_owner` holds.
struct Owner(Arc<MappedFile>);

impl AsRef<[u8]> for Owner {
    fn as_ref(&self) -> &[u8] {
        &self.0.map
    }
}

/// The server's listener: its connections send mapped bytes with sendfile.
#[derive(Debug)]
pub struct SendfileListener {
    tcp: TcpListener,
    mappings: Arc<Mappings>,
}

impl SendfileListener {
    /// Wraps `tcp`; writes of bytes from `mappings` go out with sendfile.
    pub fn new(tcp: TcpListener, mappings: Arc<Mappings>) -> Self {
        Self { tcp, mappings }
    }
}

impl axum::serve::Listener for SendfileListener {
    type Io = SendfileStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, addr) = axum::serve::Listener::accept(&mut self.tcp).await;
        let io = SendfileStream {
            tcp,
            mappings: self.mappings.clone(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// A connection whose writes of mapped bytes use sendfile.
#[derive(Debug)]
pub struct SendfileStream {
    tcp: TcpStream,
    mappings: Arc<Mappings>,
}

impl SendfileStream {
    /// The TCP stream, to set its options.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let mapped = bufs
            .iter()
            .enumerate()
            .find_map(|(i, b)| self.mappings.find(b).map(|hit| (i, hit, b.len())));
        match mapped {
            Some((0, (file, offset), len)) => self.poll_sendfile(cx, &file, offset, len),
            Some((i, _, _)) => Pin::new(&mut self.tcp).poll_write_vectored(cx, &bufs[..i]),
            None => Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &MappedFile,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let mut at = offset;
            let sent = self.tcp.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.tcp, &file.file, Some(&mut at), len)
                    .map_err(io::Error::from)
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Ok(n) => {
                    self.mappings.sent.fetch_add(n as u64, Ordering::Relaxed);
                    return Poll::Ready(Ok(n));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // hyper then queues body frames as they are, so that a mapped
        // frame reaches `poll_send` uncopied.
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn a_mapping_is_found_by_any_slice_inside_it_and_forgotten_when_dropped() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&[7u8; 10_000]).unwrap();
        let mappings = Mappings::new();
        let m = MappedFile::open(f.path(), &mappings).unwrap();
        let b = m.bytes();
        let (hit, at) = mappings.find(&b[100..200]).unwrap();
        assert!(Arc::ptr_eq(&hit, &m));
        assert_eq!(at, 100);
        // Other memory is not mapped bytes.
        assert!(mappings.find(&vec![7u8; 10][..]).is_none());
        drop((hit, b, m));
        assert_eq!(mappings.count.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn mapped_bytes_and_plain_bytes_arrive_in_order() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let mappings = Mappings::new();
        let m = MappedFile::open(f.path(), &mappings).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut listener = SendfileListener::new(tcp, mappings.clone());
        let server = tokio::spawn(async move {
            let (mut io, _) = axum::serve::Listener::accept(&mut listener).await;
            let b = m.bytes();
            // A head, a mapped slice from mid-file, plain bytes, the rest.
            io.write_all(b"head").await.unwrap();
            let bufs = [IoSlice::new(b"x"), IoSlice::new(&b[5..200_000])];
            let n = io.write_vectored(&bufs).await.unwrap();
            // The plain buffer goes alone: the mapped one follows on its own.
            assert_eq!(n, 1);
            io.write_all(&b[5..200_000]).await.unwrap();
            io.write_all(b"tail").await.unwrap();
            io.write_all(&b[200_000..]).await.unwrap();
            io.shutdown().await.unwrap();
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        server.await.unwrap();
        let mut want = b"headx".to_vec();
        want.extend_from_slice(&data[5..200_000]);
        want.extend_from_slice(b"tail");
        want.extend_from_slice(&data[200_000..]);
        assert_eq!(got.len(), want.len());
        assert!(got == want);
        // Both mapped writes went out with sendfile, and only they.
        assert_eq!(mappings.sent(), (200_000 - 5) + (300_000 - 200_000));
    }
}
