//! The storage power actor's (f04) wire and state types, in builtin-actors
//! v18's layout: method numbers, parameters and return values, the actor's
//! `State`, the per-miner `Claim` and the cron queue's `CronEvent`.
//!
//! The power actor keeps every miner's claimed power and the network totals,
//! and runs the miners' deferred cron callbacks; other actors call it with
//! these types (miners update their claims and enroll cron events, the reward
//! actor and the miners read the totals).

use cid::Cid;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{BytesDe, RawBytes, strict_bytes};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::bigint::bigint_ser;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{RegisteredPoStProof, StoragePower};
use serde::{Deserialize, Serialize};

use crate::smooth::FilterEstimate;

/// The power actor's method numbers (v18), including the FRC-42 exported
/// aliases. 7 (OnConsensusFault) and 8 (SubmitPoRepForBulkVerify) are
/// retired in v18 and have no entry.
pub mod method {
    /// Creates the state; only the system actor.
    pub const CONSTRUCTOR: u64 = 1;
    /// Creates a miner actor through the init actor.
    pub const CREATE_MINER: u64 = 2;
    /// A miner adds (signed) deltas to its claimed power.
    pub const UPDATE_CLAIMED_POWER: u64 = 3;
    /// A miner asks to be called back at an epoch.
    pub const ENROLL_CRON_EVENT: u64 = 4;
    /// The cron actor's end-of-epoch tick.
    pub const ON_EPOCH_TICK_END: u64 = 5;
    /// A miner adds a (signed) delta to the pledge total.
    pub const UPDATE_PLEDGE_TOTAL: u64 = 6;
    /// The network's power totals and smoothed QA power.
    pub const CURRENT_TOTAL_POWER: u64 = 9;
    /// FRC-42 `CreateMiner`.
    pub const CREATE_MINER_EXPORTED: u64 = 1_173_380_165;
    /// FRC-42 `NetworkRawPower`.
    pub const NETWORK_RAW_POWER_EXPORTED: u64 = 931_722_534;
    /// FRC-42 `MinerRawPower`.
    pub const MINER_RAW_POWER_EXPORTED: u64 = 3_753_401_894;
    /// FRC-42 `MinerCount`.
    pub const MINER_COUNT_EXPORTED: u64 = 1_987_646_258;
    /// FRC-42 `MinerConsensusCount`.
    pub const MINER_CONSENSUS_COUNT_EXPORTED: u64 = 196_739_875;
    /// FRC-42 `MinerPower`.
    pub const MINER_POWER_EXPORTED: u64 = 36_284_446;
}

/// Bit width of the cron queue's HAMT (epoch → AMT of events).
pub const CRON_QUEUE_HAMT_BITWIDTH: u32 = 6;
/// Bit width of each epoch's AMT of cron events.
pub const CRON_QUEUE_AMT_BITWIDTH: u32 = 6;
/// Bit width of the claims HAMT (builtin-actors' default).
pub const CLAIMS_HAMT_BITWIDTH: u32 = 5;
/// While fewer miners than this have the minimum consensus power, every
/// miner with non-zero power counts for consensus (v18: 4).
pub const CONSENSUS_MINER_MIN_MINERS: i64 = 4;
/// The raw power a miner needs to count for consensus, for every PoSt
/// proof type: 2 KiB (2048) on the devnet build (mainnet: 10 TiB). The
/// value lives in the policy module.
pub const MINIMUM_CONSENSUS_POWER: i64 = crate::policy::constants::MINIMUM_CONSENSUS_POWER;
/// Initial position of the smoothed QA power estimate: 750,000 GiB.
pub const INITIAL_QA_POWER_ESTIMATE_POSITION: u64 = 750_000 << 30;
/// Initial velocity of the smoothed QA power estimate: 3,840 GiB per epoch.
pub const INITIAL_QA_POWER_ESTIMATE_VELOCITY: u64 = 3_840 << 30;

/// Parameters of `CreateMiner` (2 and exported).
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct CreateMinerParams {
    /// The new miner's owner.
    pub owner: Address,
    /// Its worker key.
    pub worker: Address,
    /// Its Window PoSt proof type (fixes its sector size).
    pub window_post_proof_type: RegisteredPoStProof,
    /// Its libp2p peer ID.
    #[serde(with = "strict_bytes")]
    pub peer: Vec<u8>,
    /// Its multiaddresses.
    pub multiaddrs: Vec<BytesDe>,
}

/// Return value of `CreateMiner`.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct CreateMinerReturn {
    /// The miner's ID address.
    pub id_address: Address,
    /// Its robust (reorg-safe) address.
    pub robust_address: Address,
}

/// Parameters of `UpdateClaimedPower`: signed changes of the caller's power.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct UpdateClaimedPowerParams {
    /// Raw byte power change.
    #[serde(with = "bigint_ser")]
    pub raw_byte_delta: StoragePower,
    /// Quality-adjusted power change.
    #[serde(with = "bigint_ser")]
    pub quality_adjusted_delta: StoragePower,
}

/// Parameters of `EnrollCronEvent`.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct EnrollCronEventParams {
    /// The epoch at which to call the miner back (not negative).
    pub event_epoch: ChainEpoch,
    /// Opaque bytes handed back to the miner in the callback.
    pub payload: RawBytes,
}

/// Parameters of `UpdatePledgeTotal`: a signed change of the pledge total
/// (a bare token amount on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(transparent)]
pub struct UpdatePledgeTotalParams {
    /// The change.
    pub pledge_delta: TokenAmount,
}

/// Return value of `CurrentTotalPower`.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct CurrentTotalPowerReturn {
    /// Raw byte power counted for consensus, as of the last tick.
    #[serde(with = "bigint_ser")]
    pub raw_byte_power: StoragePower,
    /// Quality-adjusted power counted for consensus, as of the last tick.
    #[serde(with = "bigint_ser")]
    pub quality_adj_power: StoragePower,
    /// Total pledge collateral, as of the last tick.
    pub pledge_collateral: TokenAmount,
    /// The smoothed estimate of the network's QA power.
    pub quality_adj_power_smoothed: FilterEstimate,
    /// Start epoch of the FIP-0081 pledge ramp.
    pub ramp_start_epoch: i64,
    /// Length of the FIP-0081 pledge ramp, in epochs.
    pub ramp_duration_epochs: u64,
}

/// Return value of `NetworkRawPower` (a bare big integer on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct NetworkRawPowerReturn {
    /// The network's raw byte power as of the last tick.
    #[serde(with = "bigint_ser")]
    pub raw_byte_power: StoragePower,
}

/// Parameters of `MinerRawPower` (a bare actor ID on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct MinerRawPowerParams {
    /// The miner asked about.
    pub miner: ActorID,
}

/// Return value of `MinerRawPower`.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct MinerRawPowerReturn {
    /// The miner's claimed raw byte power.
    #[serde(with = "bigint_ser")]
    pub raw_byte_power: StoragePower,
    /// Whether that power counts for consensus.
    pub meets_consensus_minimum: bool,
}

/// Parameters of `MinerPower` (a bare actor ID on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct MinerPowerParams {
    /// The miner asked about.
    pub miner: ActorID,
}

/// Return value of `MinerPower`.
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct MinerPowerReturn {
    /// The miner's claimed raw byte power.
    #[serde(with = "bigint_ser")]
    pub raw_byte_power: StoragePower,
    /// The miner's claimed quality-adjusted power.
    #[serde(with = "bigint_ser")]
    pub quality_adj_power: StoragePower,
}

/// Return value of `MinerCount` (a bare integer on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct MinerCountReturn {
    /// How many miners have a claim.
    pub miner_count: i64,
}

/// Return value of `MinerConsensusCount` (a bare integer on the wire).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct MinerConsensusCountReturn {
    /// How many miners have at least the minimum consensus power.
    pub miner_consensus_count: i64,
}

/// One miner's claimed power (a value of the claims HAMT, keyed by the
/// miner's ID address bytes).
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The miner's Window PoSt proof type, which fixes its minimum
    /// consensus power.
    pub window_post_proof_type: RegisteredPoStProof,
    /// Sum of the raw byte power of its active sectors.
    #[serde(with = "bigint_ser")]
    pub raw_byte_power: StoragePower,
    /// Sum of the quality-adjusted power of its active sectors.
    #[serde(with = "bigint_ser")]
    pub quality_adj_power: StoragePower,
}

/// One queued cron callback (a value in the cron queue's per-epoch AMT).
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, PartialEq, Eq)]
pub struct CronEvent {
    /// The miner to call back.
    pub miner_addr: Address,
    /// The bytes it gave to `EnrollCronEvent`.
    pub callback_payload: RawBytes,
}

/// The power actor's state (v18, 17 fields in this order).
#[derive(Serialize_tuple, Deserialize_tuple, Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Raw byte power of the miners above the consensus minimum.
    #[serde(with = "bigint_ser")]
    pub total_raw_byte_power: StoragePower,
    /// Raw byte power of all miners.
    #[serde(with = "bigint_ser")]
    pub total_bytes_committed: StoragePower,
    /// QA power of the miners above the consensus minimum.
    #[serde(with = "bigint_ser")]
    pub total_quality_adj_power: StoragePower,
    /// QA power of all miners.
    #[serde(with = "bigint_ser")]
    pub total_qa_bytes_committed: StoragePower,
    /// Sum of all miners' pledge collateral.
    pub total_pledge_collateral: TokenAmount,
    /// Consensus raw byte power as of the last tick.
    #[serde(with = "bigint_ser")]
    pub this_epoch_raw_byte_power: StoragePower,
    /// Consensus QA power as of the last tick.
    #[serde(with = "bigint_ser")]
    pub this_epoch_quality_adj_power: StoragePower,
    /// Pledge total as of the last tick.
    pub this_epoch_pledge_collateral: TokenAmount,
    /// Smoothed estimate of the network's QA power.
    pub this_epoch_qa_power_smoothed: FilterEstimate,
    /// Miners with a claim.
    pub miner_count: i64,
    /// Miners with at least the minimum consensus power.
    pub miner_above_min_power_count: i64,
    /// Start epoch of the FIP-0081 pledge ramp (0 on a new network).
    pub ramp_start_epoch: i64,
    /// Length of the FIP-0081 pledge ramp (0 on a new network).
    pub ramp_duration_epochs: u64,
    /// Cron queue: HAMT (bit width 6, zigzag-varint epoch keys) of AMTs (bit
    /// width 6) of [`CronEvent`].
    pub cron_event_queue: Cid,
    /// The first epoch whose cron events have not run yet.
    pub first_cron_epoch: ChainEpoch,
    /// Claims: HAMT (bit width 5) from miner address bytes to [`Claim`].
    pub claims: Cid,
    /// Retired by FIP-0084; always null.
    pub proof_validation_batch: Option<Cid>,
}

/// The raw byte power a miner whose proofs are of type `proof` needs for
/// its power to count for consensus: [`MINIMUM_CONSENSUS_POWER`] for every
/// known PoSt proof type, `None` for an unknown one.
pub fn consensus_miner_min_power(proof: RegisteredPoStProof) -> Option<StoragePower> {
    match proof {
        RegisteredPoStProof::Invalid(_) => None,
        _ => Some(StoragePower::from(MINIMUM_CONSENSUS_POWER)),
    }
}

impl State {
    /// The network's power for consensus, `(raw, quality-adjusted)`: while
    /// fewer than [`CONSENSUS_MINER_MIN_MINERS`] miners are above the
    /// minimum, all committed power counts; after that only the power of
    /// the miners above it.
    pub fn current_total_power(&self) -> (StoragePower, StoragePower) {
        if self.miner_above_min_power_count < CONSENSUS_MINER_MIN_MINERS {
            (
                self.total_bytes_committed.clone(),
                self.total_qa_bytes_committed.clone(),
            )
        } else {
            (
                self.total_raw_byte_power.clone(),
                self.total_quality_adj_power.clone(),
            )
        }
    }

    /// Counts a newly created miner, whose claim is empty: it is above the
    /// minimum at once only if the minimum is zero. Errs on an unknown proof
    /// type.
    pub fn count_new_miner(&mut self, proof: RegisteredPoStProof) -> Result<(), String> {
        let min = consensus_miner_min_power(proof)
            .ok_or_else(|| format!("unsupported PoSt proof type {}", i64::from(proof)))?;
        if min <= StoragePower::from(0) {
            self.miner_above_min_power_count += 1;
        }
        Ok(())
    }

    /// Adds signed deltas to the claim `old` and keeps the totals and the
    /// above-minimum count in step: the committed totals always move by the
    /// deltas; the consensus totals take in a miner's whole claim when it
    /// crosses the minimum upwards, drop it when it crosses downwards, and
    /// follow the deltas while it stays above. Returns the new claim; on an
    /// error (an unknown proof type, a claim or count that would go
    /// negative) the state is left unchanged.
    pub fn add_to_claim(
        &mut self,
        old: &Claim,
        raw_delta: &StoragePower,
        qa_delta: &StoragePower,
    ) -> Result<Claim, String> {
        let zero = StoragePower::from(0);
        let min = consensus_miner_min_power(old.window_post_proof_type).ok_or_else(|| {
            format!(
                "unsupported PoSt proof type {}",
                i64::from(old.window_post_proof_type)
            )
        })?;
        let new = Claim {
            window_post_proof_type: old.window_post_proof_type,
            raw_byte_power: &old.raw_byte_power + raw_delta,
            quality_adj_power: &old.quality_adj_power + qa_delta,
        };
        if new.raw_byte_power < zero {
            return Err(format!(
                "negative claimed raw byte power {}",
                new.raw_byte_power
            ));
        }
        if new.quality_adj_power < zero {
            return Err(format!(
                "negative claimed quality-adjusted power {}",
                new.quality_adj_power
            ));
        }
        let mut next = self.clone();
        next.total_bytes_committed += raw_delta;
        next.total_qa_bytes_committed += qa_delta;
        let was_below = old.raw_byte_power < min;
        let is_below = new.raw_byte_power < min;
        match (was_below, is_below) {
            (true, false) => {
                next.miner_above_min_power_count += 1;
                next.total_raw_byte_power += &new.raw_byte_power;
                next.total_quality_adj_power += &new.quality_adj_power;
            }
            (false, true) => {
                next.miner_above_min_power_count -= 1;
                next.total_raw_byte_power -= &old.raw_byte_power;
                next.total_quality_adj_power -= &old.quality_adj_power;
            }
            (false, false) => {
                next.total_raw_byte_power += raw_delta;
                next.total_quality_adj_power += qa_delta;
            }
            (true, true) => {}
        }
        if next.miner_above_min_power_count < 0 {
            return Err(format!(
                "negative count of miners above the minimum: {}",
                next.miner_above_min_power_count
            ));
        }
        *self = next;
        Ok(new)
    }

    /// Whether `claim`'s power counts for consensus: it is at least the
    /// minimum, or, while fewer than [`CONSENSUS_MINER_MIN_MINERS`] miners
    /// reach the minimum, it is not zero. Errs on an unknown proof type.
    pub fn meets_consensus_minimum(&self, claim: &Claim) -> Result<bool, String> {
        let min = consensus_miner_min_power(claim.window_post_proof_type).ok_or_else(|| {
            format!(
                "unsupported PoSt proof type {}",
                i64::from(claim.window_post_proof_type)
            )
        })?;
        Ok(if claim.raw_byte_power >= min {
            true
        } else if self.miner_above_min_power_count >= CONSENSUS_MINER_MIN_MINERS {
            false
        } else {
            claim.raw_byte_power > StoragePower::from(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(raw: u64) -> Claim {
        Claim {
            window_post_proof_type: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            raw_byte_power: raw.into(),
            quality_adj_power: (raw * 10).into(),
        }
    }

    #[test]
    fn crossing_the_minimum_moves_the_whole_claim() {
        let mut st = State::default();
        let c = st
            .add_to_claim(&claim(0), &1024.into(), &10240.into())
            .unwrap();
        assert_eq!(st.miner_above_min_power_count, 0);
        assert_eq!(st.total_bytes_committed, 1024.into());
        assert_eq!(st.total_raw_byte_power, 0.into());
        let c = st.add_to_claim(&c, &1024.into(), &10240.into()).unwrap();
        assert_eq!(c, claim(2048));
        assert_eq!(st.miner_above_min_power_count, 1);
        assert_eq!(st.total_raw_byte_power, 2048.into());
        assert_eq!(st.total_quality_adj_power, 20480.into());
        let c = st.add_to_claim(&c, &2048.into(), &20480.into()).unwrap();
        assert_eq!(st.total_raw_byte_power, 4096.into());
        let c = st
            .add_to_claim(&c, &(-3072).into(), &(-30720).into())
            .unwrap();
        assert_eq!(c, claim(1024));
        assert_eq!(st.miner_above_min_power_count, 0);
        assert_eq!(st.total_raw_byte_power, 0.into());
        assert_eq!(st.total_quality_adj_power, 0.into());
        assert_eq!(st.total_bytes_committed, 1024.into());
        // Few miners: any non-zero power counts, and the committed totals are used.
        assert!(st.meets_consensus_minimum(&c).unwrap());
        assert_eq!(st.current_total_power(), (1024.into(), 10240.into()));
    }

    #[test]
    fn negative_claims_are_refused_without_change() {
        let mut st = State::default();
        let before = st.clone();
        assert!(st.add_to_claim(&claim(0), &(-1).into(), &0.into()).is_err());
        assert_eq!(st, before);
    }

    #[test]
    fn new_miners_start_below_the_devnet_minimum() {
        let mut st = State::default();
        st.count_new_miner(RegisteredPoStProof::StackedDRGWindow2KiBV1P1)
            .unwrap();
        assert_eq!(st.miner_above_min_power_count, 0);
        assert!(
            st.count_new_miner(RegisteredPoStProof::Invalid(99))
                .is_err()
        );
    }
}
