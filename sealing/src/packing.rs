//! Packing deal pieces into sectors: which open sector takes a piece, when a
//! sector stops waiting for more and starts sealing, and which deals come too
//! late to be sealed before they start. Pure: the driver passes the clock and
//! the chain head in.
//!
//! A deal piece goes into the open sector (in Packing, or writing pieces with
//! more to come) with the least room left that still fits it once aligned,
//! else into a new sector. Within a sector, pieces assigned together are
//! written largest first ([`crate::piece`]). A sector with deal pieces starts
//! sealing when it is full, when its first piece has waited
//! [`PackingConfig::max_wait_secs`], or when its earliest deal's start epoch
//! minus [`PackingConfig::seal_epochs`] has come, whichever is first.
//!
//! With [`PackingConfig::snap_deals`], a piece that no open sector takes goes
//! into a proven committed-capacity sector ([`snap_candidates`]) instead of a
//! new one, and that sector is packed, then updated, the same way.

use ferrite_types::{ChainEpoch, PaddedPieceSize};
use serde::{Deserialize, Serialize};

use crate::piece::used_bytes;
use crate::{DealPiece, SectorPiece, SectorRecord, SectorState};

/// `[sealing.packing]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackingConfig {
    /// How long a sector's first deal piece waits for others before the
    /// sector is sealed anyway, in seconds.
    pub max_wait_secs: u64,
    /// Epochs from the start of sealing to the prove-commit landing
    /// (PC1 to C2, the precommit, the seed's delay). A deal starting sooner
    /// than this after the head is refused; a sector starts sealing at the
    /// latest this many epochs before its earliest deal starts.
    pub seal_epochs: i64,
    /// SnapDeals: put deal pieces into proven committed-capacity sectors
    /// (an update of their replica) rather than into new sectors. A deal
    /// for which no CC sector is proven, or whose end comes after every CC
    /// sector's expiration, goes into a new sector.
    pub snap_deals: bool,
}

impl Default for PackingConfig {
    /// An hour's wait; 2880 epochs (a day on mainnet) of sealing time.
    fn default() -> Self {
        Self {
            max_wait_secs: 3600,
            seal_epochs: 2880,
            snap_deals: false,
        }
    }
}

/// Why a sector with deal pieces starts sealing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealReason {
    /// No room is left.
    Full,
    /// Its first piece has waited `max_wait_secs`.
    Waited,
    /// Its earliest deal starts within `seal_epochs`.
    DealStart,
}

/// Whether `deal` can still be sealed before it starts, given the head;
/// the reason when it cannot.
pub fn check_start(deal: &DealPiece, head: ChainEpoch, cfg: &PackingConfig) -> Result<(), String> {
    let earliest = head.0.saturating_add(cfg.seal_epochs);
    if deal.start.0 < earliest {
        return Err(format!(
            "deal {} starts at epoch {}, but sealing takes {} epochs from the head at {}: it cannot be proven before it starts",
            deal.deal, deal.start, cfg.seal_epochs, head
        ));
    }
    Ok(())
}

/// The deal pieces of `pieces`.
pub(crate) fn deal_pieces(pieces: &[SectorPiece]) -> impl Iterator<Item = &DealPiece> {
    pieces.iter().filter_map(|p| match p {
        SectorPiece::Deal(d) => Some(d),
        SectorPiece::Filler(_) => None,
    })
}

/// The Unix second the sector got its first deal piece, from its log.
fn first_piece_secs(record: &SectorRecord) -> Option<u64> {
    record
        .history
        .iter()
        .find(|e| e.event == "AssignPiece")
        .map(|e| e.at_secs)
}

/// Whether a sector in Packing must start sealing now, and why. `head` is
/// asked for only when neither the room nor the wait decides.
pub fn seal_now(
    record: &SectorRecord,
    now_secs: u64,
    cfg: &PackingConfig,
    head: impl FnOnce() -> Option<ChainEpoch>,
) -> Option<SealReason> {
    let SectorState::Packing { base, .. } = &record.state else {
        return None;
    };
    let earliest_start = deal_pieces(&base.pieces).map(|d| d.start.0).min()?;
    let sector = PaddedPieceSize::from(base.proof.sector_size()).bytes();
    if used_bytes(&base.pieces) >= sector {
        return Some(SealReason::Full);
    }
    if first_piece_secs(record).is_some_and(|t| now_secs >= t.saturating_add(cfg.max_wait_secs)) {
        return Some(SealReason::Waited);
    }
    let head = head()?;
    (head.0 >= earliest_start.saturating_sub(cfg.seal_epochs)).then_some(SealReason::DealStart)
}

/// Whether a sector can take more deal pieces (Packing, or writing pieces
/// with the sector staying open), and the padded bytes it has left counting
/// what is being written.
pub fn open_room(record: &SectorRecord) -> Option<u64> {
    let sector = |base: &crate::SectorBase| PaddedPieceSize::from(base.proof.sector_size()).bytes();
    match &record.state {
        SectorState::Packing { base, .. } => {
            Some(sector(base).saturating_sub(used_bytes(&base.pieces)))
        }
        SectorState::AddPiece {
            base,
            adding,
            then: crate::AfterAddPiece::Packing,
            queued,
            ..
        } => {
            let used = used_bytes(&base.pieces)
                + adding.iter().map(|p| p.size().bytes()).sum::<u64>()
                + queued.iter().map(|d| d.piece.size.bytes()).sum::<u64>();
            Some(sector(base).saturating_sub(used))
        }
        _ => None,
    }
}

/// The open sectors to offer a piece of `size` padded bytes to, tightest
/// first (the sector with the least room that may still fit it).
pub fn candidates(records: &[SectorRecord], size: u64) -> Vec<ferrite_types::SectorNumber> {
    let mut open: Vec<(u64, ferrite_types::SectorNumber)> = records
        .iter()
        .filter_map(|r| open_room(r).map(|room| (room, r.id.number)))
        .filter(|(room, _)| *room >= size)
        .collect();
    open.sort();
    open.into_iter().map(|(_, n)| n).collect()
}

/// SnapDeals: the proven committed-capacity sectors that may take a deal
/// piece, by number (the driver then checks each one's expiration on chain).
pub fn snap_candidates(records: &[SectorRecord]) -> Vec<ferrite_types::SectorNumber> {
    records
        .iter()
        .filter(|r| match &r.state {
            SectorState::Proving { base, .. } => deal_pieces(&base.pieces).next().is_none(),
            _ => false,
        })
        .map(|r| r.id.number)
        .collect()
}

/// Where deal `deal`'s piece is in the sector of `record`: `None` if the
/// sector does not hold it; `Some(None)` if it is queued and its offset not
/// yet fixed; `Some(Some(offset))` once it is written or being written.
pub fn deal_offset(record: &SectorRecord, deal: ferrite_types::DealId) -> Option<Option<u64>> {
    let base = record.state.base()?;
    let mut at = 0u64;
    for p in &base.pieces {
        if matches!(p, SectorPiece::Deal(d) if d.deal == deal) {
            return Some(Some(at));
        }
        at += p.info().size.bytes();
    }
    if let SectorState::AddPiece { adding, queued, .. } = &record.state {
        for p in adding {
            if matches!(p, crate::PieceToAdd::Deal(d) if d.deal == deal) {
                return Some(Some(at));
            }
            at += p.size().bytes();
        }
        if queued.iter().any(|d| d.deal == deal) {
            return Some(None);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use ferrite_types::{
        ActorId, CommP, DealId, PieceInfo, SealProof, SectorId, SectorNumber, SectorSize,
    };

    use super::*;
    use crate::{Event, PieceData, RetryPolicy};

    fn deal(id: u64, size: u64, start: i64) -> DealPiece {
        DealPiece {
            piece: PieceInfo {
                comm_p: CommP([id as u8; 32]),
                size: PaddedPieceSize::new(size).unwrap(),
            },
            deal: DealId(id),
            start: ChainEpoch(start),
            end: ChainEpoch(start + 10_000),
            data: PieceData::File(PathBuf::from("/staging/x")),
        }
    }

    fn packed(n: u64, deals: &[DealPiece], at: u64) -> SectorRecord {
        let policy = RetryPolicy::default();
        let mut r = SectorRecord::new(
            SectorId::new(ActorId(1000), SectorNumber(n)),
            SealProof::new(SectorSize::S2KiB),
            at,
        );
        for d in deals {
            r = r
                .apply(Event::AssignPiece { piece: d.clone() }, &policy, at)
                .unwrap();
            let SectorState::AddPiece { adding, .. } = &r.state else {
                panic!("{}", r.state.name())
            };
            let pieces = adding.iter().map(|p| match p {
                crate::PieceToAdd::Deal(d) => d.piece,
                crate::PieceToAdd::Filler(s) => PieceInfo {
                    comm_p: CommP([0; 32]),
                    size: *s,
                },
            });
            r = r
                .apply(
                    Event::PieceAdded {
                        pieces: pieces.collect(),
                    },
                    &policy,
                    at,
                )
                .unwrap();
        }
        r
    }

    #[test]
    fn a_deal_starting_too_soon_is_refused_with_the_reason() {
        let cfg = PackingConfig {
            max_wait_secs: 60,
            seal_epochs: 100,
            snap_deals: false,
        };
        assert!(check_start(&deal(1, 512, 200), ChainEpoch(100), &cfg).is_ok());
        let err = check_start(&deal(1, 512, 199), ChainEpoch(100), &cfg).unwrap_err();
        assert!(err.contains("deal 1 starts at epoch 199"), "{err}");
    }

    #[test]
    fn a_sector_seals_when_full_waited_or_its_deal_is_near() {
        let cfg = PackingConfig {
            max_wait_secs: 60,
            seal_epochs: 100,
            snap_deals: false,
        };
        let never = || -> Option<ChainEpoch> { panic!("the head is not needed") };
        // Empty: never (committed capacity is started by its pledge).
        let empty = SectorRecord::new(
            SectorId::new(ActorId(1000), SectorNumber(1)),
            SealProof::new(SectorSize::S2KiB),
            0,
        );
        assert_eq!(
            seal_now(&empty, 1_000_000, &cfg, || Some(ChainEpoch(0))),
            None
        );
        // Full.
        let full = packed(1, &[deal(1, 1024, 500), deal(2, 1024, 500)], 10);
        assert_eq!(seal_now(&full, 10, &cfg, never), Some(SealReason::Full));
        // Half full: waits, then the wait runs out.
        let half = packed(2, &[deal(3, 1024, 500)], 10);
        assert_eq!(seal_now(&half, 69, &cfg, || Some(ChainEpoch(399))), None);
        assert_eq!(seal_now(&half, 70, &cfg, never), Some(SealReason::Waited));
        // The deal's start minus the sealing time comes first.
        assert_eq!(
            seal_now(&half, 11, &cfg, || Some(ChainEpoch(400))),
            Some(SealReason::DealStart)
        );
    }

    #[test]
    fn a_piece_goes_to_the_tightest_open_sector_that_fits() {
        let roomy = packed(1, &[deal(1, 512, 500)], 0);
        let tight = packed(2, &[deal(2, 1024, 500)], 0);
        let full = packed(3, &[deal(3, 2048, 500)], 0);
        let records = [roomy, tight, full];
        assert_eq!(
            candidates(&records, 1024),
            vec![SectorNumber(2), SectorNumber(1)]
        );
        assert_eq!(candidates(&records, 2048), Vec::<SectorNumber>::new());
        assert_eq!(open_room(&records[2]), Some(0));
        assert_eq!(deal_offset(&records[0], DealId(1)), Some(Some(0)));
        assert_eq!(deal_offset(&records[0], DealId(2)), None);
    }
}
