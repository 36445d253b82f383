//! Proof kinds: which PoRep and PoSt circuits a sector uses.
//!
//! Ferrite seals with the `StackedDrg*V1_1` PoRep (the current non-synthetic
//! kind), proves blocks with Winning PoSt V1 and deadlines with Window PoSt
//! V1_2 (which `fvm_shared` calls `V1P1`; its chain code is the same).

use std::fmt;

use fvm_shared::sector::{RegisteredPoStProof as FvmPost, RegisteredSealProof as FvmSeal};
use serde::{Deserialize, Serialize};

use crate::{SectorSize, TypesError};

/// The PoRep proof kind of a sector: `StackedDrg<size>V1_1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealProof {
    size: SectorSize,
}

/// Which of the two PoSts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PostKind {
    /// Proves one challenged sector to win a block.
    Winning,
    /// Proves every sector of a deadline's partitions.
    Window,
}

/// A PoSt proof kind: Winning V1 or Window V1_2, for one sector size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostProof {
    /// Winning or Window.
    pub kind: PostKind,
    /// The sector size it proves.
    pub size: SectorSize,
}

impl SealProof {
    /// The seal proof for sectors of `size`.
    pub fn new(size: SectorSize) -> Self {
        Self { size }
    }

    /// The sector size this proof seals.
    pub fn sector_size(self) -> SectorSize {
        self.size
    }

    /// The Winning PoSt kind for sectors sealed with this proof.
    pub fn winning_post(self) -> PostProof {
        PostProof {
            kind: PostKind::Winning,
            size: self.size,
        }
    }

    /// The Window PoSt kind for sectors sealed with this proof.
    pub fn window_post(self) -> PostProof {
        PostProof {
            kind: PostKind::Window,
            size: self.size,
        }
    }
}

impl fmt::Display for SealProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StackedDrg{}V1_1", self.size)
    }
}

impl fmt::Display for PostProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PostKind::Winning => write!(f, "StackedDrgWinning{}V1", self.size),
            PostKind::Window => write!(f, "StackedDrgWindow{}V1_2", self.size),
        }
    }
}

impl From<SealProof> for FvmSeal {
    fn from(p: SealProof) -> FvmSeal {
        match p.size {
            SectorSize::S2KiB => FvmSeal::StackedDRG2KiBV1P1,
            SectorSize::S8MiB => FvmSeal::StackedDRG8MiBV1P1,
            SectorSize::S512MiB => FvmSeal::StackedDRG512MiBV1P1,
            SectorSize::S32GiB => FvmSeal::StackedDRG32GiBV1P1,
            SectorSize::S64GiB => FvmSeal::StackedDRG64GiBV1P1,
        }
    }
}

impl TryFrom<FvmSeal> for SealProof {
    type Error = TypesError;
    fn try_from(p: FvmSeal) -> Result<Self, TypesError> {
        let size = match p {
            FvmSeal::StackedDRG2KiBV1P1 => SectorSize::S2KiB,
            FvmSeal::StackedDRG8MiBV1P1 => SectorSize::S8MiB,
            FvmSeal::StackedDRG512MiBV1P1 => SectorSize::S512MiB,
            FvmSeal::StackedDRG32GiBV1P1 => SectorSize::S32GiB,
            FvmSeal::StackedDRG64GiBV1P1 => SectorSize::S64GiB,
            other => return Err(TypesError::ProofType(format!("seal proof {other:?}"))),
        };
        Ok(SealProof { size })
    }
}

impl From<PostProof> for FvmPost {
    fn from(p: PostProof) -> FvmPost {
        match (p.kind, p.size) {
            (PostKind::Winning, SectorSize::S2KiB) => FvmPost::StackedDRGWinning2KiBV1,
            (PostKind::Winning, SectorSize::S8MiB) => FvmPost::StackedDRGWinning8MiBV1,
            (PostKind::Winning, SectorSize::S512MiB) => FvmPost::StackedDRGWinning512MiBV1,
            (PostKind::Winning, SectorSize::S32GiB) => FvmPost::StackedDRGWinning32GiBV1,
            (PostKind::Winning, SectorSize::S64GiB) => FvmPost::StackedDRGWinning64GiBV1,
            (PostKind::Window, SectorSize::S2KiB) => FvmPost::StackedDRGWindow2KiBV1P1,
            (PostKind::Window, SectorSize::S8MiB) => FvmPost::StackedDRGWindow8MiBV1P1,
            (PostKind::Window, SectorSize::S512MiB) => FvmPost::StackedDRGWindow512MiBV1P1,
            (PostKind::Window, SectorSize::S32GiB) => FvmPost::StackedDRGWindow32GiBV1P1,
            (PostKind::Window, SectorSize::S64GiB) => FvmPost::StackedDRGWindow64GiBV1P1,
        }
    }
}

impl TryFrom<FvmPost> for PostProof {
    type Error = TypesError;
    fn try_from(p: FvmPost) -> Result<Self, TypesError> {
        let (kind, size) = match p {
            FvmPost::StackedDRGWinning2KiBV1 => (PostKind::Winning, SectorSize::S2KiB),
            FvmPost::StackedDRGWinning8MiBV1 => (PostKind::Winning, SectorSize::S8MiB),
            FvmPost::StackedDRGWinning512MiBV1 => (PostKind::Winning, SectorSize::S512MiB),
            FvmPost::StackedDRGWinning32GiBV1 => (PostKind::Winning, SectorSize::S32GiB),
            FvmPost::StackedDRGWinning64GiBV1 => (PostKind::Winning, SectorSize::S64GiB),
            FvmPost::StackedDRGWindow2KiBV1P1 => (PostKind::Window, SectorSize::S2KiB),
            FvmPost::StackedDRGWindow8MiBV1P1 => (PostKind::Window, SectorSize::S8MiB),
            FvmPost::StackedDRGWindow512MiBV1P1 => (PostKind::Window, SectorSize::S512MiB),
            FvmPost::StackedDRGWindow32GiBV1P1 => (PostKind::Window, SectorSize::S32GiB),
            FvmPost::StackedDRGWindow64GiBV1P1 => (PostKind::Window, SectorSize::S64GiB),
            other => return Err(TypesError::ProofType(format!("PoSt proof {other:?}"))),
        };
        Ok(PostProof { kind, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_proofs_round_trip_through_fvm() {
        for size in SectorSize::ALL {
            let p = SealProof::new(size);
            let f: FvmSeal = p.into();
            assert_eq!(SealProof::try_from(f).unwrap(), p);
            // fvm_shared agrees on the sector size and on the matching PoSt kinds.
            assert_eq!(f.sector_size().unwrap() as u64, size.bytes());
            assert_eq!(
                PostProof::try_from(f.registered_window_post_proof().unwrap()).unwrap(),
                p.window_post()
            );
        }
    }

    #[test]
    fn post_proofs_round_trip_through_fvm() {
        for size in SectorSize::ALL {
            for kind in [PostKind::Winning, PostKind::Window] {
                let p = PostProof { kind, size };
                let f: FvmPost = p.into();
                assert_eq!(PostProof::try_from(f).unwrap(), p);
                assert_eq!(f.sector_size().unwrap() as u64, size.bytes());
            }
        }
    }

    #[test]
    fn chain_codes_match_filecoin() {
        // The codes are on the wire: 2KiB V1_1 is 5, Window 2KiB is 10.
        assert_eq!(
            i64::from(FvmSeal::from(SealProof::new(SectorSize::S2KiB))),
            5
        );
        assert_eq!(
            i64::from(FvmSeal::from(SealProof::new(SectorSize::S32GiB))),
            8
        );
        let w = SealProof::new(SectorSize::S2KiB).window_post();
        assert_eq!(i64::from(FvmPost::from(w)), 10);
        assert_eq!(w.to_string(), "StackedDrgWindow2KiBV1_2");
    }

    #[test]
    fn unsupported_kinds_are_errors() {
        let err = SealProof::try_from(FvmSeal::StackedDRG2KiBV1).unwrap_err();
        assert!(err.to_string().contains("unsupported proof type"), "{err}");
        assert!(SealProof::try_from(FvmSeal::Invalid(99)).is_err());
        assert!(PostProof::try_from(FvmPost::Invalid(-1)).is_err());
    }
}
