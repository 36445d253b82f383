//! What a sector holds: deal pieces and the zero-filled fillers around them.
//!
//! Filecoin lays pieces out in a sector at offsets aligned to their own size,
//! so a deal piece may need filler pieces in front of it, and a sector that is
//! closed before it is full gets fillers up to its end. [`fillers`] computes
//! both, purely from sizes: the AddPiece task then writes them and reports
//! their CommPs.

use std::path::PathBuf;

use ferrite_types::{ChainEpoch, DealId, PaddedPieceSize, PieceInfo};
use serde::{Deserialize, Serialize};

use crate::TransitionError;

/// Where a deal piece's data is read from when AddPiece writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PieceData {
    /// A file on the node (the market's staging area) holding the piece's
    /// payload: at most its unpadded size, zero-filled up to it as Boost and
    /// Curio do. A remote worker fetches it from the node over HTTP.
    File(PathBuf),
}

/// A deal's piece, as the market hands it to sealing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealPiece {
    /// The piece's commitment and padded size, from the deal proposal.
    pub piece: PieceInfo,
    /// The published deal that stores it.
    pub deal: DealId,
    /// The deal's start epoch: the sector must be proven before it.
    pub start: ChainEpoch,
    /// The deal's end epoch: the sector must not expire before it.
    pub end: ChainEpoch,
    /// Where its data is.
    pub data: PieceData,
}

/// A piece written into a sector's unsealed data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SectorPiece {
    /// A deal's data.
    Deal(DealPiece),
    /// Zeros, for alignment or to fill the sector; its CommP came from the
    /// AddPiece task.
    Filler(PieceInfo),
}

impl SectorPiece {
    /// The commitment and size, whatever the piece holds.
    pub fn info(&self) -> PieceInfo {
        match self {
            SectorPiece::Deal(d) => d.piece,
            SectorPiece::Filler(p) => *p,
        }
    }
}

/// A piece the AddPiece task must write next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PieceToAdd {
    /// A deal's piece, read from the market's staging area.
    Deal(DealPiece),
    /// Zeros of this size.
    Filler(PaddedPieceSize),
}

impl PieceToAdd {
    /// The padded size the piece takes in the sector.
    pub fn size(&self) -> PaddedPieceSize {
        match self {
            PieceToAdd::Deal(d) => d.piece.size,
            PieceToAdd::Filler(s) => *s,
        }
    }

    /// The written piece, given the commitment the task reported for it, or
    /// why the report does not match what was asked.
    pub(crate) fn written(&self, reported: PieceInfo) -> Result<SectorPiece, String> {
        if reported.size != self.size() {
            return Err(format!(
                "AddPiece wrote a piece of {} bytes where {} were asked",
                reported.size,
                self.size()
            ));
        }
        match self {
            PieceToAdd::Deal(d) if d.piece.comm_p != reported.comm_p => Err(format!(
                "deal {} has CommP {} but AddPiece computed {}",
                d.deal, d.piece.comm_p, reported.comm_p
            )),
            PieceToAdd::Deal(d) => Ok(SectorPiece::Deal(d.clone())),
            PieceToAdd::Filler(_) => Ok(SectorPiece::Filler(reported)),
        }
    }
}

/// The bytes the pieces take, end to end (pieces are written back to back).
pub(crate) fn used_bytes(pieces: &[SectorPiece]) -> u64 {
    pieces.iter().map(|p| p.info().size.bytes()).sum()
}

/// The fillers that take a sector from `offset` up to `target`, smallest
/// first. Every offset and size is a multiple of 128 and `target` is a
/// multiple of the next piece's size (or the sector's end), so the set bits of
/// the gap, taken in ascending order, each land on an offset aligned to their
/// own size.
pub(crate) fn fillers(offset: u64, target: u64) -> Result<Vec<PaddedPieceSize>, TransitionError> {
    let mut gap = target.saturating_sub(offset);
    let mut out = Vec::new();
    while gap != 0 {
        let bit = 1u64 << gap.trailing_zeros();
        let size = PaddedPieceSize::new(bit).map_err(|e| TransitionError::PieceLayout {
            reason: e.to_string(),
        })?;
        out.push(size);
        gap &= !bit;
    }
    Ok(out)
}

/// The pieces to write to place `deal` after `pieces` in a sector of
/// `sector_bytes`: alignment fillers, then the deal piece.
pub(crate) fn place(
    pieces: &[SectorPiece],
    deal: DealPiece,
    sector_bytes: u64,
) -> Result<Vec<PieceToAdd>, TransitionError> {
    let offset = used_bytes(pieces);
    let size = deal.piece.size.bytes();
    let aligned = offset.div_ceil(size).saturating_mul(size);
    if aligned.saturating_add(size) > sector_bytes {
        return Err(TransitionError::PieceDoesNotFit {
            deal: deal.deal,
            size,
            free: sector_bytes.saturating_sub(offset),
        });
    }
    let mut adding: Vec<PieceToAdd> = fillers(offset, aligned)?
        .into_iter()
        .map(PieceToAdd::Filler)
        .collect();
    adding.push(PieceToAdd::Deal(deal));
    Ok(adding)
}

/// The pieces to write to place every deal of `deals` after `pieces`,
/// largest first (a piece never needs alignment fillers after a larger
/// one), each with its alignment fillers; refused if they do not all fit.
pub(crate) fn place_all(
    pieces: &[SectorPiece],
    deals: &[DealPiece],
    sector_bytes: u64,
) -> Result<Vec<PieceToAdd>, TransitionError> {
    let mut order: Vec<&DealPiece> = deals.iter().collect();
    order.sort_by_key(|d| std::cmp::Reverse(d.piece.size.bytes()));
    let mut layout: Vec<SectorPiece> = pieces.to_vec();
    let mut adding = Vec::new();
    for deal in order {
        for p in place(&layout, deal.clone(), sector_bytes)? {
            layout.push(as_planned(&p));
            adding.push(p);
        }
    }
    Ok(adding)
}

/// A piece to write as if written (a filler with a placeholder commitment:
/// only sizes matter for placing what comes after it).
fn as_planned(p: &PieceToAdd) -> SectorPiece {
    match p {
        PieceToAdd::Deal(d) => SectorPiece::Deal(d.clone()),
        PieceToAdd::Filler(size) => SectorPiece::Filler(PieceInfo {
            comm_p: ferrite_types::CommP([0; 32]),
            size: *size,
        }),
    }
}

/// The sector's pieces once `adding` is written.
pub(crate) fn planned(base: &crate::SectorBase, adding: &[PieceToAdd]) -> Vec<SectorPiece> {
    let mut out = base.pieces.clone();
    out.extend(adding.iter().map(as_planned));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use ferrite_types::CommP;

    use super::*;

    fn padded(n: u64) -> PaddedPieceSize {
        PaddedPieceSize::new(n).unwrap()
    }

    fn filler(n: u64) -> SectorPiece {
        SectorPiece::Filler(PieceInfo {
            comm_p: CommP([0; 32]),
            size: padded(n),
        })
    }

    fn deal(n: u64) -> DealPiece {
        DealPiece {
            piece: PieceInfo {
                comm_p: CommP([1; 32]),
                size: padded(n),
            },
            deal: DealId(7),
            start: ChainEpoch(100),
            end: ChainEpoch(1000),
            data: PieceData::File(PathBuf::from("/staging/7")),
        }
    }

    #[test]
    fn fillers_are_the_gap_in_ascending_powers_of_two() {
        assert_eq!(fillers(0, 0).unwrap(), vec![]);
        assert_eq!(fillers(0, 2048).unwrap(), vec![padded(2048)]);
        assert_eq!(
            fillers(128, 2048).unwrap(),
            vec![padded(128), padded(256), padded(512), padded(1024)]
        );
        // every filler starts at an offset aligned to its size
        let mut at = 384;
        for f in fillers(384, 4096).unwrap() {
            assert_eq!(at % f.bytes(), 0, "{f} at {at}");
            at += f.bytes();
        }
        assert_eq!(at, 4096);
    }

    #[test]
    fn a_deal_piece_is_aligned_to_its_size() {
        let pieces = [filler(128)];
        let adding = place(&pieces, deal(512), 2048).unwrap();
        // Several deals go largest first, so only the first needs alignment.
        let small = DealPiece {
            piece: PieceInfo {
                comm_p: CommP([2; 32]),
                size: padded(128),
            },
            ..deal(512)
        };
        let all = place_all(&[], &[small.clone(), deal(512), small.clone()], 2048).unwrap();
        assert_eq!(
            all,
            vec![
                PieceToAdd::Deal(deal(512)),
                PieceToAdd::Deal(small.clone()),
                PieceToAdd::Deal(small.clone()),
            ]
        );
        assert!(place_all(&[], &[deal(1024), deal(1024), small], 2048).is_err());
        assert_eq!(
            adding,
            vec![
                PieceToAdd::Filler(padded(128)),
                PieceToAdd::Filler(padded(256)),
                PieceToAdd::Deal(deal(512)),
            ]
        );
        assert_eq!(place(&[], deal(2048), 2048).unwrap().len(), 1);
    }

    #[test]
    fn a_piece_that_does_not_fit_is_refused() {
        let err = place(&[filler(128)], deal(2048), 2048).unwrap_err();
        assert!(
            matches!(
                err,
                TransitionError::PieceDoesNotFit {
                    size: 2048,
                    free: 1920,
                    ..
                }
            ),
            "{err:?}"
        );
        // Sizes are powers of two and so is the sector: a piece that fits by
        // size always fits once aligned.
        assert_eq!(place(&[filler(128)], deal(1024), 2048).unwrap().len(), 4);
    }
}
