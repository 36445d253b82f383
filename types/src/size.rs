//! Piece and sector sizes.
//!
//! Filecoin stores data fr32-padded: every 254 bits of payload take 256 bits
//! on disk, so 127 payload bytes become 128 padded bytes. A piece's padded size
//! is a power of two of at least 128 bytes; its unpadded size is 127/128 of it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TypesError;

/// The smallest piece, in padded bytes.
pub const MIN_PADDED_PIECE: u64 = 128;

/// A piece size in padded bytes: a power of two, at least 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct PaddedPieceSize(u64);

/// A piece size in unpadded (payload) bytes: 127/128 of a [`PaddedPieceSize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct UnpaddedPieceSize(u64);

impl PaddedPieceSize {
    /// Checks that `bytes` is a power of two of at least 128.
    pub fn new(bytes: u64) -> Result<Self, TypesError> {
        if bytes >= MIN_PADDED_PIECE && bytes.is_power_of_two() {
            Ok(Self(bytes))
        } else {
            Err(TypesError::PaddedSize(bytes))
        }
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The payload this piece holds: 127/128 of the padded size.
    pub fn unpadded(self) -> UnpaddedPieceSize {
        UnpaddedPieceSize(self.0 - self.0 / 128)
    }

    /// The smallest padded piece that holds `payload` bytes (at least 128).
    pub fn for_payload(payload: u64) -> Result<Self, TypesError> {
        // padded = ceil(payload * 128 / 127), rounded up to a power of two.
        let needed = u128::from(payload) * 128;
        let needed = needed.div_ceil(127).max(u128::from(MIN_PADDED_PIECE));
        let padded = needed
            .checked_next_power_of_two()
            .and_then(|p| u64::try_from(p).ok())
            .ok_or(TypesError::PayloadTooLarge(payload))?;
        Self::new(padded)
    }
}

impl UnpaddedPieceSize {
    /// Checks that `bytes` is 127/128 of a valid padded size.
    pub fn new(bytes: u64) -> Result<Self, TypesError> {
        if !bytes.is_multiple_of(127) {
            return Err(TypesError::UnpaddedSize(bytes));
        }
        match (bytes / 127).checked_mul(128).map(PaddedPieceSize::new) {
            Some(Ok(_)) => Ok(Self(bytes)),
            _ => Err(TypesError::UnpaddedSize(bytes)),
        }
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The padded size: 128/127 of the unpadded size.
    pub fn padded(self) -> PaddedPieceSize {
        PaddedPieceSize(self.0 / 127 * 128)
    }
}

impl TryFrom<u64> for PaddedPieceSize {
    type Error = TypesError;
    fn try_from(v: u64) -> Result<Self, TypesError> {
        Self::new(v)
    }
}

impl From<PaddedPieceSize> for u64 {
    fn from(v: PaddedPieceSize) -> u64 {
        v.0
    }
}

impl TryFrom<u64> for UnpaddedPieceSize {
    type Error = TypesError;
    fn try_from(v: u64) -> Result<Self, TypesError> {
        Self::new(v)
    }
}

impl From<UnpaddedPieceSize> for u64 {
    fn from(v: UnpaddedPieceSize) -> u64 {
        v.0
    }
}

impl fmt::Display for PaddedPieceSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for UnpaddedPieceSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A sector size that Filecoin defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SectorSize {
    /// 2 KiB: tests and devnets.
    S2KiB,
    /// 8 MiB: tests and devnets.
    S8MiB,
    /// 512 MiB: test networks.
    S512MiB,
    /// 32 GiB: mainnet.
    S32GiB,
    /// 64 GiB: mainnet.
    S64GiB,
}

impl SectorSize {
    /// All sizes, smallest first.
    pub const ALL: [SectorSize; 5] = [
        SectorSize::S2KiB,
        SectorSize::S8MiB,
        SectorSize::S512MiB,
        SectorSize::S32GiB,
        SectorSize::S64GiB,
    ];

    /// The size in bytes (padded, as on disk).
    pub fn bytes(self) -> u64 {
        match self {
            SectorSize::S2KiB => 2 << 10,
            SectorSize::S8MiB => 8 << 20,
            SectorSize::S512MiB => 512 << 20,
            SectorSize::S32GiB => 32 << 30,
            SectorSize::S64GiB => 64 << 30,
        }
    }

    /// The sector size with exactly `bytes` bytes.
    pub fn from_bytes(bytes: u64) -> Result<Self, TypesError> {
        Self::ALL
            .into_iter()
            .find(|s| s.bytes() == bytes)
            .ok_or_else(|| TypesError::SectorSize(bytes.to_string()))
    }

    /// The short name, as in `2KiB`.
    pub fn name(self) -> &'static str {
        match self {
            SectorSize::S2KiB => "2KiB",
            SectorSize::S8MiB => "8MiB",
            SectorSize::S512MiB => "512MiB",
            SectorSize::S32GiB => "32GiB",
            SectorSize::S64GiB => "64GiB",
        }
    }

    /// Whether parameters for this size may be generated locally (test sizes
    /// only; production parameters come from the official ceremony).
    pub fn is_test_size(self) -> bool {
        matches!(self, SectorSize::S2KiB | SectorSize::S8MiB)
    }
}

impl From<SectorSize> for PaddedPieceSize {
    fn from(s: SectorSize) -> Self {
        PaddedPieceSize(s.bytes())
    }
}

impl fmt::Display for SectorSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SectorSize {
    type Err = TypesError;
    /// Accepts `2KiB`, `2kib`, `2K` style names and plain byte counts.
    fn from_str(s: &str) -> Result<Self, TypesError> {
        let t = s.trim();
        if let Ok(bytes) = t.parse::<u64>() {
            return Self::from_bytes(bytes).map_err(|_| TypesError::SectorSize(s.to_string()));
        }
        let lower = t.to_ascii_lowercase();
        let lower = lower.trim_end_matches('b').trim_end_matches('i');
        Self::ALL
            .into_iter()
            .find(|size| {
                let name = size.name().to_ascii_lowercase();
                name.trim_end_matches('b').trim_end_matches('i') == lower
            })
            .ok_or_else(|| TypesError::SectorSize(s.to_string()))
    }
}

impl TryFrom<String> for SectorSize {
    type Error = TypesError;
    fn try_from(s: String) -> Result<Self, TypesError> {
        s.parse()
    }
}

impl From<SectorSize> for String {
    fn from(s: SectorSize) -> String {
        s.name().to_string()
    }
}

impl From<SectorSize> for fvm_shared::sector::SectorSize {
    fn from(s: SectorSize) -> Self {
        use fvm_shared::sector::SectorSize as F;
        match s {
            SectorSize::S2KiB => F::_2KiB,
            SectorSize::S8MiB => F::_8MiB,
            SectorSize::S512MiB => F::_512MiB,
            SectorSize::S32GiB => F::_32GiB,
            SectorSize::S64GiB => F::_64GiB,
        }
    }
}

impl From<fvm_shared::sector::SectorSize> for SectorSize {
    fn from(s: fvm_shared::sector::SectorSize) -> Self {
        use fvm_shared::sector::SectorSize as F;
        match s {
            F::_2KiB => SectorSize::S2KiB,
            F::_8MiB => SectorSize::S8MiB,
            F::_512MiB => SectorSize::S512MiB,
            F::_32GiB => SectorSize::S32GiB,
            F::_64GiB => SectorSize::S64GiB,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_accepts_powers_of_two_from_128() {
        for shift in 7..40 {
            let p = PaddedPieceSize::new(1u64 << shift).unwrap();
            assert_eq!(p.unpadded().padded(), p);
            assert_eq!(p.unpadded().bytes(), (1u64 << shift) / 128 * 127);
        }
    }

    #[test]
    fn padded_rejects_small_and_non_powers() {
        for bad in [0, 1, 64, 127, 129, 2000, 3 << 20, u64::MAX] {
            let err = PaddedPieceSize::new(bad).unwrap_err();
            assert_eq!(err, TypesError::PaddedSize(bad));
            assert!(err.to_string().contains("power of two"), "{err}");
        }
    }

    #[test]
    fn unpadded_round_trips_and_rejects() {
        assert_eq!(UnpaddedPieceSize::new(2032).unwrap().padded().bytes(), 2048);
        assert_eq!(UnpaddedPieceSize::new(127).unwrap().padded().bytes(), 128);
        assert_eq!(
            UnpaddedPieceSize::new(8_323_072).unwrap().padded().bytes(),
            8 << 20
        );
        for bad in [0, 126, 128, 2048, 127 * 3, u64::MAX] {
            assert_eq!(
                UnpaddedPieceSize::new(bad).unwrap_err(),
                TypesError::UnpaddedSize(bad)
            );
        }
    }

    #[test]
    fn for_payload_picks_the_smallest_piece() {
        assert_eq!(PaddedPieceSize::for_payload(0).unwrap().bytes(), 128);
        assert_eq!(PaddedPieceSize::for_payload(127).unwrap().bytes(), 128);
        assert_eq!(PaddedPieceSize::for_payload(128).unwrap().bytes(), 256);
        assert_eq!(PaddedPieceSize::for_payload(2032).unwrap().bytes(), 2048);
        assert_eq!(PaddedPieceSize::for_payload(2033).unwrap().bytes(), 4096);
        assert_eq!(
            PaddedPieceSize::for_payload(u64::MAX).unwrap_err(),
            TypesError::PayloadTooLarge(u64::MAX)
        );
    }

    #[test]
    fn serde_checks_sizes() {
        let ok: PaddedPieceSize = serde_json::from_str("2048").unwrap();
        assert_eq!(ok.bytes(), 2048);
        let err = serde_json::from_str::<PaddedPieceSize>("2000").unwrap_err();
        assert!(err.to_string().contains("power of two"), "{err}");
        assert!(serde_json::from_str::<UnpaddedPieceSize>("2048").is_err());
    }

    #[test]
    fn sector_size_parses_names_and_bytes() {
        assert_eq!("2KiB".parse::<SectorSize>().unwrap(), SectorSize::S2KiB);
        assert_eq!("2kib".parse::<SectorSize>().unwrap(), SectorSize::S2KiB);
        assert_eq!("8MiB".parse::<SectorSize>().unwrap(), SectorSize::S8MiB);
        assert_eq!("32GiB".parse::<SectorSize>().unwrap(), SectorSize::S32GiB);
        assert_eq!(
            "34359738368".parse::<SectorSize>().unwrap(),
            SectorSize::S32GiB
        );
        for bad in ["3KiB", "2048B0", "", "1TiB", "4096"] {
            let err = bad.parse::<SectorSize>().unwrap_err();
            assert!(err.to_string().contains("unsupported sector size"), "{err}");
        }
        for s in SectorSize::ALL {
            assert_eq!(s.name().parse::<SectorSize>().unwrap(), s);
            assert_eq!(SectorSize::from_bytes(s.bytes()).unwrap(), s);
            let f: fvm_shared::sector::SectorSize = s.into();
            assert_eq!(f as u64, s.bytes());
            assert_eq!(SectorSize::from(f), s);
        }
    }
}
