//! Storage paths: the directories sector files live in, their free space,
//! and reservations of that space for tasks about to write.
//!
//! A path is attached once (`ferrite storage attach`), checked to be a
//! writable directory, and persisted. Before a task writes, its driver
//! reserves the bytes the task needs ([`crate::space`]); the registry picks
//! the path of the right kind with room, preferring weight × free space as
//! Lotus does, and persists the reservation in the same write as the
//! reservation counter, so a restart neither loses nor repeats one. The
//! driver releases it when the task ends.
//!
//! Free space for a reservation is the filesystem's available space, minus
//! what is reserved on the path, and, for a path with a `max_size`, at most
//! `max_size` minus the bytes already under the directory and reserved.
//! Files a running task has begun writing count as both used and reserved
//! until it releases, which errs on the side of refusing.
//!
//! Every method does blocking file-system and database I/O: async callers
//! run it with `spawn_blocking`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use ferrite_store::{Key, Store, StoreError, Table};
use ferrite_types::SectorId;
use serde::{Deserialize, Serialize};

use crate::error::ClusterError;
use crate::task::TaskKind;

/// A storage path's id, assigned at attach and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PathId(pub u64);

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A reservation's id, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReservationId(pub u64);

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! u64_key {
    ($t:ty) => {
        impl Key for $t {
            fn encode(&self) -> Vec<u8> {
                self.0.encode()
            }
            fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
                u64::decode(bytes).map(Self)
            }
        }
    };
}
u64_key!(PathId);
u64_key!(ReservationId);

/// What a path is for, as `storage attach --seal|--store` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// Fast scratch space for sealing (unsealed, sealed and cache files
    /// while a sector is sealed).
    Seal,
    /// Long-term storage for finalized sectors.
    Store,
    /// Both.
    Both,
}

impl PathKind {
    /// Whether a path of this kind can take files wanted on a `wanted` path.
    pub fn serves(self, wanted: PathKind) -> bool {
        self == PathKind::Both || self == wanted
    }
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::Seal => "seal",
            PathKind::Store => "store",
            PathKind::Both => "seal+store",
        })
    }
}

/// The file in each attached path's directory that names the path, as
/// Lotus's `sectorstore.json` does: a worker on another host that mounts the
/// directory reads it to learn the path's id (`ferrite worker --storage`).
pub const PATH_MARKER: &str = "ferrite-path.json";

/// What [`PATH_MARKER`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathMarker {
    /// The path's id in the node's registry.
    pub id: PathId,
    /// What the path is for.
    pub kind: PathKind,
}

fn write_marker(path: &StoragePath) -> Result<(), ClusterError> {
    let file = path.path.join(PATH_MARKER);
    let marker = PathMarker {
        id: path.id,
        kind: path.kind,
    };
    let text = serde_json::to_string(&marker)
        .map_err(|e| io_error("encode the marker of", &path.path, std::io::Error::other(e)))?;
    let tmp = path.path.join(format!("{PATH_MARKER}.tmp"));
    std::fs::write(&tmp, text + "\n").map_err(|e| io_error("write", &tmp, e))?;
    std::fs::rename(&tmp, &file).map_err(|e| io_error("write", &file, e))
}

/// Reads the [`PATH_MARKER`] of the storage path mounted at `dir`. A
/// directory that was never attached has none: [`ClusterError::NotAttached`].
pub fn read_marker(dir: &Path) -> Result<PathMarker, ClusterError> {
    let file = dir.join(PATH_MARKER);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ClusterError::NotAttached(dir.to_path_buf())
        } else {
            io_error("read", &file, e)
        }
    })?;
    serde_json::from_str(&text).map_err(|e| {
        io_error(
            "parse",
            &file,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

/// What `storage attach` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachPath {
    /// The directory; it must exist and be writable.
    pub path: PathBuf,
    /// What it is for.
    pub kind: PathKind,
    /// Preference among paths with room: higher gets more sectors. Lotus's
    /// default is 10.
    pub weight: u64,
    /// Cap on the bytes Ferrite puts there, for a disk shared with other
    /// data. `None`: the whole filesystem.
    pub max_size: Option<u64>,
}

/// An attached storage path, as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePath {
    /// Its id.
    pub id: PathId,
    /// The directory, canonicalized at attach.
    pub path: PathBuf,
    /// What it is for.
    pub kind: PathKind,
    /// Preference among paths with room.
    pub weight: u64,
    /// Cap on the bytes Ferrite puts there.
    pub max_size: Option<u64>,
}

/// Space held for a task that is about to write sector files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Its id, for [`StorageRegistry::release`].
    pub id: ReservationId,
    /// The path that holds the space.
    pub path: PathId,
    /// The sector whose files will use it.
    pub sector: SectorId,
    /// The task that will write them.
    pub purpose: TaskKind,
    /// Bytes held.
    pub bytes: u64,
}

/// A path's space, as `storage list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpace {
    /// Size of the filesystem.
    pub capacity: u64,
    /// Bytes the filesystem has available to this process.
    pub available: u64,
    /// Bytes of files under the directory; counted only for paths with a
    /// `max_size`, which it is checked against.
    pub used: Option<u64>,
    /// What a new reservation could get here.
    pub free: u64,
}

/// One line of `storage list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The path.
    pub path: StoragePath,
    /// Bytes reserved on it.
    pub reserved: u64,
    /// Its space, or why it could not be read (an unmounted disk).
    pub space: Result<DiskSpace, String>,
}

const PATHS: Table<PathId, StoragePath> = Table::new("cluster-paths");
const RESERVATIONS: Table<ReservationId, Reservation> = Table::new("cluster-reservations");
const COUNTERS: Table<String, u64> = Table::new("cluster-counters");
const NEXT_PATH: &str = "next-path-id";
const NEXT_RESERVATION: &str = "next-reservation-id";

/// The tables the registry uses; open the database with them.
pub const TABLES: [&str; 3] = [PATHS.name(), RESERVATIONS.name(), COUNTERS.name()];

/// The probe file that attach creates and removes to check writability.
const PROBE: &str = ".ferrite-write-probe";

/// The attached storage paths and their reservations, persisted in a [`Store`].
/// Keep one per database (the node's): its lock is what keeps two
/// reservations from taking the same bytes.
#[derive(Debug)]
pub struct StorageRegistry {
    store: Store,
    /// Serialises read-decide-write sequences (two reservations must not both
    /// take the last free bytes; a path must not be attached twice).
    lock: Mutex<()>,
}

impl StorageRegistry {
    /// The registry in `store` (opened with [`TABLES`]), with whatever it
    /// persisted before.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            lock: Mutex::new(()),
        }
    }

    /// Checks and attaches a directory.
    pub fn attach(&self, req: AttachPath) -> Result<StoragePath, ClusterError> {
        let _guard = self.lock();
        let meta = std::fs::metadata(&req.path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ClusterError::PathMissing(req.path.clone())
            } else {
                io_error("read metadata of", &req.path, e)
            }
        })?;
        if !meta.is_dir() {
            return Err(ClusterError::NotADirectory(req.path));
        }
        let path =
            std::fs::canonicalize(&req.path).map_err(|e| io_error("canonicalize", &req.path, e))?;
        if let Some(existing) = self.paths()?.into_iter().find(|p| p.path == path) {
            return Err(ClusterError::AlreadyAttached {
                path,
                id: existing.id,
            });
        }
        probe_writable(&path)?;
        fs2::total_space(&path).map_err(|e| io_error("read capacity of", &path, e))?;

        let id = PathId(self.counter(NEXT_PATH)?);
        let attached = StoragePath {
            id,
            path,
            kind: req.kind,
            weight: req.weight,
            max_size: req.max_size,
        };
        let mut batch = self.store.batch();
        batch.put(&COUNTERS, &NEXT_PATH.to_string(), &(id.0 + 1))?;
        batch.put(&PATHS, &id, &attached)?;
        self.store.commit(batch)?;
        write_marker(&attached)?;
        Ok(attached)
    }

    /// Writes the [`PATH_MARKER`] of every attached path that can be written
    /// (paths attached before markers existed get theirs); a path that
    /// cannot be written is skipped and returned, for the caller to report.
    pub fn mark_all(&self) -> Result<Vec<(PathId, ClusterError)>, ClusterError> {
        Ok(self
            .paths()?
            .into_iter()
            .filter_map(|p| write_marker(&p).err().map(|e| (p.id, e)))
            .collect())
    }

    /// Detaches a path (its files stay on disk). Refused while reservations
    /// on it are outstanding.
    pub fn detach(&self, id: PathId) -> Result<StoragePath, ClusterError> {
        let _guard = self.lock();
        let path = self
            .store
            .get(&PATHS, &id)?
            .ok_or(ClusterError::UnknownPath(id))?;
        let held = self.reservations()?.iter().filter(|r| r.path == id).count();
        if held > 0 {
            return Err(ClusterError::PathBusy {
                id,
                reservations: held,
            });
        }
        let mut batch = self.store.batch();
        batch.delete(&PATHS, &id);
        self.store.commit(batch)?;
        Ok(path)
    }

    /// The attached paths, by id.
    pub fn paths(&self) -> Result<Vec<StoragePath>, ClusterError> {
        Ok(self
            .store
            .scan(&PATHS, &[])?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Every attached path with its space and reservations.
    pub fn list(&self) -> Result<Vec<PathStat>, ClusterError> {
        let reservations = self.reservations()?;
        Ok(self
            .paths()?
            .into_iter()
            .map(|path| {
                let reserved = reserved_on(&reservations, path.id);
                let space = disk_space(&path, reserved).map_err(|e| e.to_string());
                PathStat {
                    path,
                    reserved,
                    space,
                }
            })
            .collect())
    }

    /// The outstanding reservations, by id.
    pub fn reservations(&self) -> Result<Vec<Reservation>, ClusterError> {
        Ok(self
            .store
            .scan(&RESERVATIONS, &[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Reserves `bytes` on a path that serves `kind` for `purpose` on
    /// `sector`. Among paths with room, the one with the largest weight ×
    /// free space wins (ties: the lowest id).
    pub fn reserve(
        &self,
        kind: PathKind,
        bytes: u64,
        sector: SectorId,
        purpose: TaskKind,
    ) -> Result<Reservation, ClusterError> {
        let _guard = self.lock();
        let reservations = self.reservations()?;
        let candidates: Vec<(StoragePath, u64)> = self
            .paths()?
            .into_iter()
            .filter(|p| p.kind.serves(kind))
            .map(|p| {
                // A path that cannot be read (unmounted) has no room.
                let free = disk_space(&p, reserved_on(&reservations, p.id))
                    .map(|s| s.free)
                    .unwrap_or(0);
                (p, free)
            })
            .collect();
        if candidates.is_empty() {
            return Err(ClusterError::NoPathOfKind(kind));
        }
        let best_available = candidates.iter().map(|(_, f)| *f).max().unwrap_or(0);
        let Some((path, _)) = candidates
            .into_iter()
            .filter(|(_, free)| *free >= bytes)
            .max_by_key(|(p, free)| {
                (
                    u128::from(p.weight) * u128::from(*free),
                    std::cmp::Reverse(p.id),
                )
            })
        else {
            return Err(ClusterError::NoSpace {
                needed: bytes,
                best_available,
            });
        };
        self.insert_reservation(path.id, bytes, sector, purpose)
    }

    /// Reserves `bytes` on path `id` itself, for a task that must write
    /// beside files already there (PC1 next to AddPiece's unsealed file).
    /// A path without the room is [`ClusterError::NoSpace`], with what it
    /// has as `best_available`; one whose space cannot be read is
    /// [`ClusterError::Io`].
    pub fn reserve_on(
        &self,
        id: PathId,
        bytes: u64,
        sector: SectorId,
        purpose: TaskKind,
    ) -> Result<Reservation, ClusterError> {
        let _guard = self.lock();
        let path = self
            .store
            .get(&PATHS, &id)?
            .ok_or(ClusterError::UnknownPath(id))?;
        let free = disk_space(&path, reserved_on(&self.reservations()?, id))?.free;
        if free < bytes {
            return Err(ClusterError::NoSpace {
                needed: bytes,
                best_available: free,
            });
        }
        self.insert_reservation(id, bytes, sector, purpose)
    }

    /// Records a reservation; the caller holds the lock and has checked the room.
    fn insert_reservation(
        &self,
        path: PathId,
        bytes: u64,
        sector: SectorId,
        purpose: TaskKind,
    ) -> Result<Reservation, ClusterError> {
        let id = ReservationId(self.counter(NEXT_RESERVATION)?);
        let reservation = Reservation {
            id,
            path,
            sector,
            purpose,
            bytes,
        };
        let mut batch = self.store.batch();
        batch.put(&COUNTERS, &NEXT_RESERVATION.to_string(), &(id.0 + 1))?;
        batch.put(&RESERVATIONS, &id, &reservation)?;
        self.store.commit(batch)?;
        Ok(reservation)
    }

    /// Gives a reservation's space back.
    pub fn release(&self, id: ReservationId) -> Result<Reservation, ClusterError> {
        let _guard = self.lock();
        let reservation = self
            .store
            .get(&RESERVATIONS, &id)?
            .ok_or(ClusterError::UnknownReservation(id))?;
        let mut batch = self.store.batch();
        batch.delete(&RESERVATIONS, &id);
        self.store.commit(batch)?;
        Ok(reservation)
    }

    /// The path with `id`, if attached.
    pub fn path(&self, id: PathId) -> Result<Option<StoragePath>, ClusterError> {
        Ok(self.store.get(&PATHS, &id)?)
    }

    fn counter(&self, name: &str) -> Result<u64, ClusterError> {
        Ok(self.store.get(&COUNTERS, &name.to_string())?.unwrap_or(1))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data of its own, so a poisoned lock is safe to reuse.
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> ClusterError {
    ClusterError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn reserved_on(reservations: &[Reservation], id: PathId) -> u64 {
    reservations
        .iter()
        .filter(|r| r.path == id)
        .fold(0u64, |sum, r| sum.saturating_add(r.bytes))
}

/// Creates, writes and removes a probe file: the only reliable test of
/// writability (permission bits say nothing of read-only mounts or ACLs).
fn probe_writable(dir: &Path) -> Result<(), ClusterError> {
    use std::io::Write;
    let probe = dir.join(PROBE);
    let not_writable = |source| ClusterError::NotWritable {
        path: dir.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(&probe).map_err(not_writable)?;
    let written = file.write_all(b"ferrite").and_then(|()| file.sync_all());
    drop(file);
    let removed = std::fs::remove_file(&probe);
    written.map_err(not_writable)?;
    removed.map_err(not_writable)
}

fn disk_space(path: &StoragePath, reserved: u64) -> Result<DiskSpace, ClusterError> {
    let capacity =
        fs2::total_space(&path.path).map_err(|e| io_error("read capacity of", &path.path, e))?;
    let available = fs2::available_space(&path.path)
        .map_err(|e| io_error("read free space of", &path.path, e))?;
    let mut free = available.saturating_sub(reserved);
    let mut used = None;
    if let Some(max) = path.max_size {
        let bytes = dir_bytes(&path.path)?;
        used = Some(bytes);
        free = free.min(max.saturating_sub(bytes.saturating_add(reserved)));
    }
    Ok(DiskSpace {
        capacity,
        available,
        used,
        free,
    })
}

/// Bytes of the files under `dir`, not following symbolic links; the path's
/// own marker does not count.
fn dir_bytes(dir: &Path) -> Result<u64, ClusterError> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| io_error("list", &d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &d, e))?;
            let meta = entry
                .path()
                .symlink_metadata()
                .map_err(|e| io_error("read metadata of", &entry.path(), e))?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if d == dir
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(PATH_MARKER))
            {
                continue;
            } else {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
