//! What `ferrite proving ...` shows: the miner's deadlines, partitions,
//! faults and power read through the `Chain` trait, with the prover's own
//! records (its recent submissions and checks) beside them. Serialized as
//! the JSON of the node's `Ferrite.Proving*` methods.

use ferrite_chain::api::{BitField, DeadlineWindow, PartitionSectors};
use fvm_shared::clock::ChainEpoch;
use serde::Serialize;

use crate::ProvingError;
use crate::window::{PostRecord, WindowPoster};

/// builtin-actors' `FAULT_MAX_AGE`: a sector faulty for this many proving
/// periods is terminated.
pub const FAULT_MAX_AGE_PERIODS: i64 = 42;

/// A deadline's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WindowJson {
    /// Its index.
    pub index: u64,
    /// Its first epoch.
    pub open: ChainEpoch,
    /// The first epoch after it.
    pub close: ChainEpoch,
    /// Its challenge epoch.
    pub challenge: ChainEpoch,
    /// Faults for it must be declared before this epoch.
    pub fault_cutoff: ChainEpoch,
}

impl From<&DeadlineWindow> for WindowJson {
    fn from(w: &DeadlineWindow) -> Self {
        Self {
            index: w.index,
            open: w.open,
            close: w.close,
            challenge: w.challenge,
            fault_cutoff: w.fault_cutoff,
        }
    }
}

/// Sector counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Counts {
    /// Live sectors.
    pub live: u64,
    /// Active (proven, not faulty).
    pub active: u64,
    /// Faulty.
    pub faulty: u64,
    /// Faulty and declared recovering.
    pub recovering: u64,
}

impl Counts {
    fn add(&mut self, p: &PartitionSectors) {
        self.live += p.live.len();
        self.active += p.active.len();
        self.faulty += p.faulty.len();
        self.recovering += p.recovering.len();
    }
}

/// `proving info`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    /// The miner.
    pub miner: String,
    /// The head.
    pub epoch: ChainEpoch,
    /// The proving period's first epoch.
    pub period_start: ChainEpoch,
    /// The deadline open now, or the next one to open.
    pub current: WindowJson,
    /// The next deadlines that have live sectors (up to 5), with their
    /// opening epochs.
    pub next_with_sectors: Vec<WindowJson>,
    /// Raw-byte power.
    pub raw_power: String,
    /// Quality-adjusted power.
    pub quality_adjusted_power: String,
    /// The network's raw-byte power.
    pub network_raw_power: String,
    /// Sector counts over every deadline.
    pub sectors: Counts,
    /// The prover's latest submissions (up to 10), newest last.
    pub recent_posts: Vec<PostRecord>,
}

/// One line of `proving deadlines`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadlineLine {
    /// Its index.
    pub index: u64,
    /// Its next (or current) window.
    pub window: WindowJson,
    /// Partitions.
    pub partitions: u64,
    /// Partitions with a PoSt in the current period.
    pub posted: u64,
    /// Sector counts.
    pub sectors: Counts,
}

/// One partition in `proving deadline N`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartitionJson {
    /// Its index.
    pub index: u64,
    /// Whether it has a PoSt in the current period.
    pub posted: bool,
    /// Every sector.
    pub all: Vec<u64>,
    /// Active sectors.
    pub active: Vec<u64>,
    /// Faulty sectors.
    pub faulty: Vec<u64>,
    /// Recovering sectors.
    pub recovering: Vec<u64>,
}

/// `proving deadline N`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadlineDetail {
    /// Its index.
    pub index: u64,
    /// Its next (or current) window.
    pub window: WindowJson,
    /// Its partitions.
    pub partitions: Vec<PartitionJson>,
}

/// One faulty sector in `proving faults`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FaultJson {
    /// The sector.
    pub sector: u64,
    /// Its deadline.
    pub deadline: u64,
    /// Its partition.
    pub partition: u64,
    /// Whether a recovery is declared.
    pub recovering: bool,
    /// The epoch this prover first saw it faulty (the epoch of the query if
    /// it has not seen it before, e.g. after a restart).
    pub faulty_since: ChainEpoch,
    /// The epoch by which it is terminated if it stays faulty: first seen
    /// plus builtin-actors' FAULT_MAX_AGE (42 proving periods). An upper
    /// estimate: the chain counts from the fault's own epoch.
    pub terminated_by: ChainEpoch,
}

fn list(b: &BitField) -> Vec<u64> {
    b.iter().collect()
}

/// The window of deadline `index` at or after `current`'s period.
fn window_of(current: &DeadlineWindow, index: u64, count: u64) -> DeadlineWindow {
    let len = current.close - current.open;
    let lead_challenge = current.open - current.challenge;
    let lead_cutoff = current.open - current.fault_cutoff;
    let mut open = current.period_start + index as i64 * len;
    if open + len <= current.current_epoch.max(current.open) {
        open += len * count as i64;
    }
    DeadlineWindow {
        current_epoch: current.current_epoch,
        period_start: open - index as i64 * len,
        index,
        open,
        close: open + len,
        challenge: open - lead_challenge,
        fault_cutoff: open - lead_cutoff,
    }
}

impl WindowPoster {
    /// `proving info`.
    pub async fn info(&self) -> Result<Info, ProvingError> {
        let chain = self.chain();
        let miner = self.config().miner;
        let w = chain.proving_deadline(&miner).await?;
        let head = chain.head().await?.height;
        let power = chain.miner_power(&miner).await?;
        let count = chain.deadlines(&miner).await?.len() as u64;
        let mut sectors = Counts::default();
        let mut next = Vec::new();
        for i in 0..count {
            let parts = chain.partitions(&miner, i).await?;
            let mut c = Counts::default();
            parts.iter().for_each(|p| c.add(p));
            if c.live > 0 {
                next.push(window_of(&w, i, count));
            }
            sectors.live += c.live;
            sectors.active += c.active;
            sectors.faulty += c.faulty;
            sectors.recovering += c.recovering;
        }
        next.sort_by_key(|d| d.open);
        let mut posts = self.posts();
        let skip = posts.len().saturating_sub(10);
        posts.drain(..skip);
        Ok(Info {
            miner: miner.to_string(),
            epoch: head,
            period_start: w.period_start,
            current: WindowJson::from(&w),
            next_with_sectors: next.iter().take(5).map(WindowJson::from).collect(),
            raw_power: power.raw.to_string(),
            quality_adjusted_power: power.quality_adjusted.to_string(),
            network_raw_power: power.total_raw.to_string(),
            sectors,
            recent_posts: posts,
        })
    }

    /// `proving deadlines`.
    pub async fn deadline_lines(&self) -> Result<Vec<DeadlineLine>, ProvingError> {
        let chain = self.chain();
        let miner = self.config().miner;
        let w = chain.proving_deadline(&miner).await?;
        let deadlines = chain.deadlines(&miner).await?;
        let count = deadlines.len() as u64;
        let mut out = Vec::new();
        for (i, d) in deadlines.iter().enumerate() {
            let i = i as u64;
            let parts = chain.partitions(&miner, i).await?;
            let mut c = Counts::default();
            parts.iter().for_each(|p| c.add(p));
            out.push(DeadlineLine {
                index: i,
                window: WindowJson::from(&window_of(&w, i, count)),
                partitions: parts.len() as u64,
                posted: d.posted.len(),
                sectors: c,
            });
        }
        Ok(out)
    }

    /// `proving deadline N`.
    pub async fn deadline_detail(&self, index: u64) -> Result<DeadlineDetail, ProvingError> {
        let chain = self.chain();
        let miner = self.config().miner;
        let deadlines = chain.deadlines(&miner).await?;
        let Some(d) = deadlines.get(index as usize) else {
            return Err(ProvingError::InvalidInput(format!(
                "deadline {index} does not exist (0 to {})",
                deadlines.len().saturating_sub(1)
            )));
        };
        let w = chain.proving_deadline(&miner).await?;
        let parts = chain.partitions(&miner, index).await?;
        Ok(DeadlineDetail {
            index,
            window: WindowJson::from(&window_of(&w, index, deadlines.len() as u64)),
            partitions: parts
                .iter()
                .enumerate()
                .map(|(i, p)| PartitionJson {
                    index: i as u64,
                    posted: d.posted.get(i as u64),
                    all: list(&p.all),
                    active: list(&p.active),
                    faulty: list(&p.faulty),
                    recovering: list(&p.recovering),
                })
                .collect(),
        })
    }

    /// `proving faults`.
    pub async fn faults(&self) -> Result<Vec<FaultJson>, ProvingError> {
        let chain = self.chain();
        let miner = self.config().miner;
        let w = chain.proving_deadline(&miner).await?;
        let count = chain.deadlines(&miner).await?.len() as u64;
        let period = (w.close - w.open) * count as i64;
        let since = self.faulty_since();
        let mut out = Vec::new();
        for i in 0..count {
            for (pi, p) in chain.partitions(&miner, i).await?.iter().enumerate() {
                for n in p.faulty.iter() {
                    let first = since.get(&n).copied().unwrap_or(w.current_epoch);
                    out.push(FaultJson {
                        sector: n,
                        deadline: i,
                        partition: pi as u64,
                        recovering: p.recovering.get(n),
                        faulty_since: first,
                        terminated_by: first + FAULT_MAX_AGE_PERIODS * period,
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_other_deadlines_follow_the_current_one() {
        let current = DeadlineWindow {
            current_epoch: 1010,
            period_start: 1000 - 60 * 5,
            index: 5,
            open: 1000,
            close: 1060,
            challenge: 980,
            fault_cutoff: 930,
        };
        // Later in this period.
        let w = window_of(&current, 7, 48);
        assert_eq!(
            (w.open, w.close, w.challenge, w.fault_cutoff),
            (1120, 1180, 1100, 1050)
        );
        // Itself.
        assert_eq!(window_of(&current, 5, 48).open, 1000);
        // Earlier ones are in the next period.
        let w = window_of(&current, 4, 48);
        assert_eq!(w.open, 940 + 48 * 60);
        assert_eq!(w.period_start, current.period_start + 48 * 60);
    }
}
