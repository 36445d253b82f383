//! Moving sector files between hosts over HTTP, with resume and checks.
//!
//! A sector sealed on one host is proven, finalized or sealed further on
//! another; its files (the sealed replica, the cache directory, the
//! unsealed copy) travel over plain HTTP, which streams a 32 GiB file
//! without framing overhead and resumes with a `Range` request.
//!
//! - **Who serves**: every host that holds sector files (the node, and any
//!   worker whose paths others read from) mounts
//!   [`sector_files_router`] over its seal and store paths. Under each path
//!   a sector lives in `s-t0<miner>-<number>/{sealed,cache/,unsealed}`
//!   ([`SectorDir`]; sealing's `SectorFiles` layout). Files stream from
//!   disk as the client reads them; `Range` gives any tail or slice; `HEAD`
//!   gives the length. A cache directory is answered with its [`Manifest`]:
//!   every file's size, and the SHA-256 of those under [`HASHED_BELOW`]
//!   (64 MiB: `p_aux`, `t_aux`, tree R-last), hashed on a blocking thread.
//!   Every request carries the cluster's [`TransferToken`]; names are
//!   checked before any disk access and links are never followed out of
//!   the path they sit in.
//! - **Who fetches**: the worker that runs a Fetch task (the scheduler
//!   places it on the host that needs the files), through a [`Fetcher`]:
//!   [`Fetcher::fetch_file`] for one file, [`Fetcher::fetch_cache_dir`] for
//!   a cache directory (manifest first), [`Fetcher::fetch_sector`] for
//!   several kinds at once.
//! - **What is checked**: each file is written to `<name>.partial`. A cut
//!   connection leaves the bytes received there, and the next attempt asks
//!   for `bytes=<partial length>-` and appends. The complete file must have
//!   the server's length and the expected one (the manifest's, or the
//!   caller's), and the manifest's SHA-256 where it gives one; a hash
//!   mismatch after a resume refetches the whole file once. Then the file
//!   is fsynced and renamed into place, and its directory fsynced. A final
//!   name therefore only ever holds a whole, checked file; a full disk, a
//!   crash or a wrong size leaves at most the `.partial` file, which the
//!   next attempt resumes or removes. Large files are checked by size only:
//!   a partial file corrupted on disk between attempts is caught for the
//!   hashed files, not for a sealed replica (PoSt's vanilla-proof check
//!   catches that later).
//!
//! Errors are [`TransferError`]s that name the URL or file; their
//! [`TransferError::is_transient`] says whether to try again.
//!
//! ```no_run
//! # async fn example() -> Result<(), ferrite_cluster::transfer::TransferError> {
//! use ferrite_cluster::transfer::{Fetcher, SectorDir, SectorFileKind, TransferToken, sector_files_router};
//! use ferrite_types::{ActorId, SectorId, SectorNumber};
//!
//! let token = TransferToken::new("shared-secret")?;
//! // On the host that holds the files:
//! let router = sector_files_router(vec!["/seal".into(), "/store".into()], token.clone());
//! # drop(router);
//! // On the host that needs them:
//! let dir = SectorDir::of(SectorId::new(ActorId(1000), SectorNumber(7)));
//! let stats = Fetcher::new(token)?
//!     .fetch_sector("http://host-a:2345", &dir, &SectorFileKind::ALL, "/seal".as_ref())
//!     .await?;
//! println!("{} files, {} bytes downloaded", stats.files, stats.downloaded);
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
mod layout;
mod manifest;
mod server;
mod token;

pub use client::{ExpectedFile, FetchStats, Fetcher, partial_path, sector_url};
pub use error::TransferError;
pub use layout::{SectorDir, SectorFileKind, UnknownSectorFileKind, is_cache_file_name};
pub use manifest::{HASHED_BELOW, InvalidDigest, Manifest, ManifestEntry, Sha256Digest};
pub use server::sector_files_router;
pub use token::TransferToken;
