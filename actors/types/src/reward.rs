//! The reward actor's (f02) wire types and state in builtin-actors v18's
//! layout, and the state transitions that mint each epoch's block reward
//! (the minting model itself is in [`math`]).
//!
//! Each epoch the power actor reports the network's raw-byte power with
//! `UpdateNetworkKPI`; [`State::update_to_next_epoch_with_reward`] advances
//! the baseline and the effective network time and computes the next
//! epoch's reward, and [`State::update_smoothed_estimates`] feeds it into the
//! smoothed estimate that the power and miner actors read with
//! `ThisEpochReward` for pledge and penalty math.

pub mod math;

use fvm_shared::address::Address;
use fvm_shared::bigint::BigInt;
use fvm_shared::bigint::bigint_ser::{self, BigIntDe};
use fvm_shared::clock::{ChainEpoch, EPOCH_UNDEFINED};
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;
use serde::{Deserialize, Serialize};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::smooth::{FilterEstimate, next_default_estimate};
pub use math::{
    BASELINE_EXPONENT, BASELINE_INITIAL_VALUE, BASELINE_TOTAL, EXP_LAM_SUB_ONE,
    INIT_BASELINE_POWER, LAMBDA, SIMPLE_TOTAL, baseline_power_from_prev, compute_r_theta,
    compute_reward, expneg,
};

/// Method numbers (v18; the reward actor exports no FRC-42 methods).
pub mod method {
    /// Sets up the state from the genesis network power (caller f00).
    pub const CONSTRUCTOR: u64 = 1;
    /// Pays a block's winner (caller f00).
    pub const AWARD_BLOCK_REWARD: u64 = 2;
    /// The smoothed reward estimate and the baseline power.
    pub const THIS_EPOCH_REWARD: u64 = 3;
    /// The power actor's per-epoch report of network power (caller f04).
    pub const UPDATE_NETWORK_KPI: u64 = 4;
}

/// Factor by which the reward actor scales a block's penalty before passing
/// it to the miner.
pub const PENALTY_MULTIPLIER: u64 = 3;

/// The initial position of the reward estimate: 36.266260308195979333 FIL
/// (atto).
pub const INITIAL_REWARD_POSITION_ESTIMATE: u128 = 36_266_260_308_195_979_333;

/// The initial velocity of the reward estimate, attoFIL per epoch (the drop
/// in simple minting between epochs 0 and 1).
pub const INITIAL_REWARD_VELOCITY_ESTIMATE: i64 = -109_897_758_509;

/// Constructor parameters: the network's raw-byte power at genesis.
/// Wire form: transparent `Option<BigInt>`; `null` is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConstructorParams {
    /// The current realized power.
    pub power: Option<BigIntDe>,
}

/// `AwardBlockReward` parameters (sent by the system actor for each block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct AwardBlockRewardParams {
    /// The block's miner.
    pub miner: Address,
    /// Penalty for the block's invalid messages (before
    /// [`PENALTY_MULTIPLIER`]).
    pub penalty: TokenAmount,
    /// Gas fees the block's messages paid to the miner.
    pub gas_reward: TokenAmount,
    /// How many election wins the block carries.
    pub win_count: i64,
}

/// `ThisEpochReward`'s return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ThisEpochRewardReturn {
    /// The smoothed per-epoch reward estimate.
    pub this_epoch_reward_smoothed: FilterEstimate,
    /// The baseline power at the current epoch.
    #[serde(with = "bigint_ser")]
    pub this_epoch_baseline_power: StoragePower,
}

/// `UpdateNetworkKPI` parameters: the network's raw-byte power.
/// Wire form: transparent `Option<BigInt>`; `null` is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UpdateNetworkKPIParams {
    /// The current realized power.
    pub curr_realized_power: Option<BigIntDe>,
}

/// Reward actor state (v18, 11 fields in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// Cumulative baseline up to the effective network time, byte-epochs:
    /// the target the realized sum must pass for that time to advance.
    #[serde(with = "bigint_ser")]
    pub cumsum_baseline: BigInt,
    /// Cumulative realized power, each epoch capped at that epoch's
    /// baseline, byte-epochs.
    #[serde(with = "bigint_ser")]
    pub cumsum_realized: BigInt,
    /// Ceiling of the effective network time `theta`, at which the
    /// cumulative baseline reaches the cumulative realized power.
    pub effective_network_time: ChainEpoch,
    /// The baseline power at the effective network time.
    #[serde(with = "bigint_ser")]
    pub effective_baseline_power: StoragePower,
    /// Reward per win count for the next non-null epoch's blocks.
    pub this_epoch_reward: TokenAmount,
    /// Smoothed `this_epoch_reward`.
    pub this_epoch_reward_smoothed: FilterEstimate,
    /// The baseline power the network targets at `epoch`.
    #[serde(with = "bigint_ser")]
    pub this_epoch_baseline_power: StoragePower,
    /// The epoch the reward was computed for.
    pub epoch: ChainEpoch,
    /// Total paid to block producers so far.
    pub total_storage_power_reward: TokenAmount,
    /// Simple minting total (kept in state for historical reasons).
    pub simple_total: TokenAmount,
    /// Baseline minting total (kept in state for historical reasons).
    pub baseline_total: TokenAmount,
}

impl State {
    /// The genesis state for realized power `curr_realized_power`: the
    /// baseline one step before its initial value, the v18 initial reward
    /// estimate, epoch -1 advanced once with reward (so `epoch` is 0).
    pub fn new(curr_realized_power: &StoragePower) -> Self {
        let mut st = Self {
            effective_baseline_power: BASELINE_INITIAL_VALUE.clone(),
            this_epoch_baseline_power: INIT_BASELINE_POWER.clone(),
            epoch: EPOCH_UNDEFINED,
            this_epoch_reward_smoothed: FilterEstimate::new(
                BigInt::from(INITIAL_REWARD_POSITION_ESTIMATE),
                BigInt::from(INITIAL_REWARD_VELOCITY_ESTIMATE),
            ),
            simple_total: SIMPLE_TOTAL.clone(),
            baseline_total: BASELINE_TOTAL.clone(),
            ..Default::default()
        };
        st.update_to_next_epoch_with_reward(curr_realized_power);
        st
    }

    /// Advances one epoch without computing a reward (a null round): grows
    /// the baseline, adds the capped realized power, and moves the effective
    /// network time forward while the realized sum exceeds the baseline sum.
    pub fn update_to_next_epoch(&mut self, curr_realized_power: &StoragePower) {
        self.epoch = self.epoch.saturating_add(1);
        self.this_epoch_baseline_power = baseline_power_from_prev(&self.this_epoch_baseline_power);
        self.cumsum_realized += std::cmp::min(&self.this_epoch_baseline_power, curr_realized_power);
        while self.cumsum_realized > self.cumsum_baseline {
            self.effective_network_time = self.effective_network_time.saturating_add(1);
            self.effective_baseline_power =
                baseline_power_from_prev(&self.effective_baseline_power);
            self.cumsum_baseline += &self.effective_baseline_power;
        }
    }

    /// Advances one epoch and sets `this_epoch_reward` from the move of the
    /// effective network time and the epoch's simple minting.
    pub fn update_to_next_epoch_with_reward(&mut self, curr_realized_power: &StoragePower) {
        let prev_theta = self.reward_theta();
        self.update_to_next_epoch(curr_realized_power);
        let curr_theta = self.reward_theta();
        self.this_epoch_reward = compute_reward(
            self.epoch,
            prev_theta,
            curr_theta,
            &self.simple_total,
            &self.baseline_total,
        );
    }

    /// Feeds `this_epoch_reward` into the smoothed estimate, `delta` epochs
    /// after the previous observation.
    pub fn update_smoothed_estimates(&mut self, delta: ChainEpoch) {
        self.this_epoch_reward_smoothed = next_default_estimate(
            &self.this_epoch_reward_smoothed,
            self.this_epoch_reward.atto(),
            delta,
        );
    }

    /// The fractional effective network time of the current state, Q.128.
    fn reward_theta(&self) -> BigInt {
        compute_r_theta(
            self.effective_network_time,
            &self.effective_baseline_power,
            &self.cumsum_realized,
            &self.cumsum_baseline,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fvm_shared::bigint::Zero;

    #[test]
    fn params_wire_forms() {
        let p = ConstructorParams {
            power: Some(BigIntDe(BigInt::from(256))),
        };
        let bytes = fvm_ipld_encoding::to_vec(&p).unwrap();
        assert_eq!(bytes, vec![0x43, 0x00, 0x01, 0x00]);
        let null: UpdateNetworkKPIParams = fvm_ipld_encoding::from_slice(&[0xf6]).unwrap();
        assert_eq!(null.curr_realized_power, None);
        let a = AwardBlockRewardParams {
            miner: Address::new_id(1000),
            penalty: TokenAmount::zero(),
            gas_reward: TokenAmount::from_atto(1),
            win_count: 1,
        };
        let bytes = fvm_ipld_encoding::to_vec(&a).unwrap();
        assert_eq!(
            bytes,
            vec![0x84, 0x43, 0x00, 0xe8, 0x07, 0x40, 0x42, 0x00, 0x01, 0x01]
        );
    }

    #[test]
    fn genesis_state_with_no_power() {
        let st = State::new(&BigInt::zero());
        assert_eq!(st.epoch, 0);
        assert_eq!(st.effective_network_time, 0);
        assert_eq!(st.cumsum_realized, BigInt::zero());
        assert_eq!(
            st.this_epoch_baseline_power,
            baseline_power_from_prev(&INIT_BASELINE_POWER)
        );
        // With no power, epoch 0's reward is pure simple minting at epoch 0.
        assert_eq!(
            st.this_epoch_reward.atto().to_string(),
            "36266264293777134739"
        );
        assert_eq!(
            st.this_epoch_reward_smoothed.estimate(),
            BigInt::from(INITIAL_REWARD_POSITION_ESTIMATE)
        );
        let bytes = fvm_ipld_encoding::to_vec(&st).unwrap();
        assert_eq!(bytes[0], 0x8b, "11-field tuple");
        let back: State = fvm_ipld_encoding::from_slice(&bytes).unwrap();
        assert_eq!(back, st);
    }

    #[test]
    fn genesis_state_with_power_advances_theta() {
        let power = BigInt::from(1u64 << 40);
        let st = State::new(&power);
        assert_eq!(st.cumsum_realized, power);
        assert_eq!(st.effective_network_time, 1);
        assert_eq!(
            st.cumsum_baseline,
            baseline_power_from_prev(&BASELINE_INITIAL_VALUE)
        );
        // Expected values from an independent Python (exact integer) model.
        assert_eq!(st.cumsum_baseline.to_string(), "2888890784895207676");
        assert_eq!(
            st.this_epoch_reward.atto().to_string(),
            "36266296500629805297"
        );
        let theta = compute_r_theta(
            1,
            &st.effective_baseline_power,
            &st.cumsum_realized,
            &st.cumsum_baseline,
        );
        assert_eq!(theta.to_string(), "129511444708451639280555033823194");
    }

    #[test]
    fn null_rounds_then_reward() {
        let mut st = State::new(&BigInt::zero());
        st.update_to_next_epoch(&BigInt::zero());
        st.update_to_next_epoch_with_reward(&BigInt::zero());
        st.update_smoothed_estimates(2);
        assert_eq!(st.epoch, 2);
        let want = compute_reward(
            2,
            BigInt::zero(),
            BigInt::zero(),
            &SIMPLE_TOTAL,
            &BASELINE_TOTAL,
        );
        assert_eq!(st.this_epoch_reward, want);
    }

    #[test]
    fn golden_rewards() {
        // Points of specs-actors' TestSimpleReward / TestBaselineReward data.
        for (x, y) in [
            (490_000i64, "34364980812279232031"),
            (2_555_000, "27387841182142501307"),
        ] {
            let r = compute_reward(
                x,
                BigInt::zero(),
                BigInt::zero(),
                &SIMPLE_TOTAL,
                &BASELINE_TOTAL,
            );
            assert_eq!(r.atto().to_string(), y);
        }
        let simple = compute_reward(
            0,
            BigInt::zero(),
            BigInt::zero(),
            &SIMPLE_TOTAL,
            &BASELINE_TOTAL,
        );
        for (t0, t1, y) in [
            (
                "0",
                "340282366920938463463374607398434878123",
                "84621274052457285111",
            ),
            (
                "336879543251729078828740861357435129341440154",
                "336879883534095999767204324732042527776318277",
                "75897740493393799256",
            ),
        ] {
            let r = compute_reward(
                0,
                t0.parse().unwrap(),
                t1.parse().unwrap(),
                &SIMPLE_TOTAL,
                &BASELINE_TOTAL,
            );
            assert_eq!((r - &simple).atto().to_string(), y);
        }
    }
}
