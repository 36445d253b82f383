//! Names on the wire and on disk: which sector directory, which of its
//! files, and which file names a cache directory may hold. Both sides check
//! every name with these rules, so neither a request nor a manifest can
//! point outside a sector's directory.

use std::fmt;
use std::str::FromStr;

use ferrite_types::{ActorId, SectorId, SectorNumber};
use serde::{Deserialize, Serialize};

use crate::space::FileKind;

/// Longest file name accepted in a cache directory (the usual `NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;

/// A sector's directory name, `s-t0<miner>-<number>`, as sealing's
/// `SectorFiles` lays it out under a seal or store path. Only the canonical
/// spelling is accepted (no leading zeros, no sign), so one sector has one
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SectorDir {
    name: String,
    id: SectorId,
}

impl SectorDir {
    /// The directory of sector `id`.
    pub fn of(id: SectorId) -> Self {
        Self {
            name: format!("s-t0{}-{}", id.miner.0, id.number.0),
            id,
        }
    }

    /// Checks `name`; `None` unless it is exactly `s-t0<miner>-<number>`.
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("s-t0")?;
        let (miner, number) = rest.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(miner) || !digits(number) {
            return None;
        }
        let id = SectorId::new(
            ActorId(miner.parse().ok()?),
            SectorNumber(number.parse().ok()?),
        );
        let dir = Self::of(id);
        (dir.name == name).then_some(dir)
    }

    /// The directory name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The sector it belongs to.
    pub fn sector(&self) -> SectorId {
        self.id
    }
}

impl fmt::Display for SectorDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The three things of a sector that move between hosts, named as in the
/// URL and as the entries of the sector's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectorFileKind {
    /// The sealed replica, one file.
    Sealed,
    /// The cache directory, fetched file by file after its manifest.
    Cache,
    /// The unsealed copy, one file.
    Unsealed,
}

impl SectorFileKind {
    /// All of them, in the order a full sector is fetched.
    pub const ALL: [SectorFileKind; 3] = [
        SectorFileKind::Sealed,
        SectorFileKind::Cache,
        SectorFileKind::Unsealed,
    ];

    /// The URL segment and the entry name in the sector directory.
    pub fn as_str(self) -> &'static str {
        match self {
            SectorFileKind::Sealed => "sealed",
            SectorFileKind::Cache => "cache",
            SectorFileKind::Unsealed => "unsealed",
        }
    }

    /// Whether it is a directory (served as a manifest).
    pub fn is_dir(self) -> bool {
        self == SectorFileKind::Cache
    }
}

impl fmt::Display for SectorFileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A URL segment that is not `sealed`, `cache` or `unsealed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sector file kind {0:?}; expected sealed, cache or unsealed")]
pub struct UnknownSectorFileKind(pub String);

impl FromStr for SectorFileKind {
    type Err = UnknownSectorFileKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sealed" => Ok(SectorFileKind::Sealed),
            "cache" => Ok(SectorFileKind::Cache),
            "unsealed" => Ok(SectorFileKind::Unsealed),
            other => Err(UnknownSectorFileKind(other.to_owned())),
        }
    }
}

impl From<FileKind> for SectorFileKind {
    /// Both cache states are the one `cache` directory on disk.
    fn from(kind: FileKind) -> Self {
        match kind {
            FileKind::Unsealed => SectorFileKind::Unsealed,
            FileKind::Sealed => SectorFileKind::Sealed,
            FileKind::SealingCache | FileKind::FinalizedCache => SectorFileKind::Cache,
        }
    }
}

/// Whether `name` may be a file in a cache directory: 1 to 255 bytes of
/// ASCII letters, digits, `.`, `_` and `-`, not starting with a dot. That
/// covers every file proofs write (`p_aux`, `t_aux`,
/// `sc-02-data-tree-r-last-0.dat`, `c1-output.cbor`...) and rules out `..`,
/// hidden files, separators and anything that needs escaping in a URL.
pub fn is_cache_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_dir_accepts_only_the_canonical_name() {
        let dir = SectorDir::parse("s-t01000-7");
        assert_eq!(
            dir.map(|d| d.sector()),
            Some(SectorId::new(ActorId(1000), SectorNumber(7)))
        );
        for bad in [
            "",
            "s-t0",
            "s-t01000",
            "s-t01000-",
            "s-t0-1",
            "s-t01000-07",
            "s-t001000-7",
            "s-t01000-+7",
            "s-t01000-7/..",
            "s-t01000-7-1",
            "..",
            "s-t099999999999999999999-1",
            "/etc",
        ] {
            assert_eq!(SectorDir::parse(bad), None, "{bad:?}");
        }
        let id = SectorId::new(ActorId(0), SectorNumber(0));
        assert_eq!(SectorDir::of(id).as_str(), "s-t00-0");
        assert_eq!(SectorDir::parse("s-t00-0").map(|d| d.sector()), Some(id));
    }

    #[test]
    fn cache_file_names() {
        for good in [
            "p_aux",
            "t_aux",
            "sc-02-data-tree-r-last-0.dat",
            "c1-output.cbor",
        ] {
            assert!(is_cache_file_name(good), "{good:?}");
        }
        let long = "a".repeat(256);
        for bad in [
            "", ".", "..", ".hidden", "a/b", "a\\b", "a b", "é", "a%2fb", &long,
        ] {
            assert!(!is_cache_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in SectorFileKind::ALL {
            assert_eq!(kind.as_str().parse::<SectorFileKind>(), Ok(kind));
        }
        assert!("layers".parse::<SectorFileKind>().is_err());
        assert_eq!(
            SectorFileKind::from(FileKind::FinalizedCache),
            SectorFileKind::Cache
        );
    }
}
