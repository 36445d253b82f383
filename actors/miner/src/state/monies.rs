//! The miner's money math (v18 `monies.rs`): expected reward of some power
//! over a projection period, and from it the pre-commit deposit, initial
//! pledge (with FIP-0081's ramp), continued-fault and termination
//! penalties, and the locked share of block rewards.

use std::cmp;

use ferrite_actor_types::policy::{REWARD_VESTING_SPEC, VestSpec};
use ferrite_actor_types::smooth::{FilterEstimate, PRECISION, extrapolated_cum_sum_of_ratio};
use ferrite_actor_types::{EPOCHS_IN_DAY, EXPECTED_LEADERS_PER_EPOCH};
use fvm_shared::bigint::{BigInt, Integer};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;
use num_traits::Zero;

/// Days of expected reward a pre-commit deposit covers.
const PRE_COMMIT_DEPOSIT_FACTOR: u64 = 20;
/// Days of expected reward the initial pledge's base covers.
pub const INITIAL_PLEDGE_FACTOR: u64 = 20;
/// Projection period of the pre-commit deposit.
pub const PRE_COMMIT_DEPOSIT_PROJECTION_PERIOD: i64 =
    PRE_COMMIT_DEPOSIT_FACTOR as i64 * EPOCHS_IN_DAY;
/// Projection period of the initial pledge.
pub const INITIAL_PLEDGE_PROJECTION_PERIOD: i64 = INITIAL_PLEDGE_FACTOR as i64 * EPOCHS_IN_DAY;
/// Share of circulating supply targeted for locking: 3/10.
const LOCK_TARGET_FACTOR_NUM: u32 = 3;
const LOCK_TARGET_FACTOR_DENOM: u32 = 10;
/// Termination reward factor numerator (1/2).
pub const TERMINATION_REWARD_FACTOR_NUM: u32 = 1;
/// Termination reward factor denominator.
pub const TERMINATION_REWARD_FACTOR_DENOM: u32 = 2;
/// Share of block rewards locked for vesting: 3/4.
const LOCKED_REWARD_FACTOR_NUM: u32 = 3;
const LOCKED_REWARD_FACTOR_DENOM: u32 = 4;
/// FIP-0098 termination fee: 8.5% of pledge…
pub const TERM_FEE_PLEDGE_MULTIPLE_NUM: u32 = 85;
/// …over 1000.
pub const TERM_FEE_PLEDGE_MULTIPLE_DENOM: u32 = 1000;
/// Minimum termination fee: 2% of pledge…
pub const TERM_FEE_MIN_PLEDGE_MULTIPLE_NUM: u32 = 2;
/// …over 100.
pub const TERM_FEE_MIN_PLEDGE_MULTIPLE_DENOM: u32 = 100;
/// Or at least 105% of the fault fee…
pub const TERM_FEE_MAX_FAULT_FEE_MULTIPLE_NUM: u32 = 105;
/// …over 100.
pub const TERM_FEE_MAX_FAULT_FEE_MULTIPLE_DENOM: u32 = 100;
/// Continued fault fee: 3.51 days of expected reward.
const CONTINUED_FAULT_FACTOR_NUM: i64 = 351;
const CONTINUED_FAULT_FACTOR_DENOM: i64 = 100;
/// Projection period of the continued fault fee.
pub const CONTINUED_FAULT_PROJECTION_PERIOD: ChainEpoch =
    (EPOCHS_IN_DAY * CONTINUED_FAULT_FACTOR_NUM) / CONTINUED_FAULT_FACTOR_DENOM;
/// Projection period of the invalid-PoSt penalty.
const INVALID_WINDOW_POST_PROJECTION_PERIOD: ChainEpoch =
    CONTINUED_FAULT_PROJECTION_PERIOD + 2 * EPOCHS_IN_DAY;
/// Projection period of the termination penalty's lower bound (3.5 days).
const TERMINATION_PENALTY_LOWER_BOUND_PROJECTIONS_PERIOD: ChainEpoch = (EPOCHS_IN_DAY * 35) / 10;
/// Sector age (days) at which the termination fee stops growing.
pub const TERMINATION_LIFETIME_CAP: ChainEpoch = 140;
/// Consensus fault penalty: 5 block rewards.
const CONSENSUS_FAULT_FACTOR: u64 = 5;
/// FIP-0081 gamma fixed-point scale.
const GAMMA_FIXED_POINT_FACTOR: u64 = 1000;
/// FIP-0081 ramp: share (per mille) of the pledge's lock target moved to
/// the simple (non-baseline) formula once the ramp completes.
const FIP_0081_ACTIVATION_PERMILLE: i64 = 300;

/// Reward paid to a successful Window PoSt disputer (4 FIL).
pub fn base_reward_for_disputed_window_post() -> TokenAmount {
    TokenAmount::from_whole(4)
}

/// Base penalty of a disputed Window PoSt (20 FIL).
pub fn base_penalty_for_disputed_window_post() -> TokenAmount {
    TokenAmount::from_whole(20)
}

/// Initial pledge cap: 1 FIL per 32 GiB of QA power.
fn initial_pledge_max_per_byte() -> TokenAmount {
    TokenAmount::from_whole(1).div_floor(32i64 << 30)
}

/// The reward `qa_sector_power` is expected to earn over
/// `projection_duration` epochs, given the smoothed reward and network
/// power. With no network power, one epoch's reward.
pub fn expected_reward_for_power(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
    projection_duration: ChainEpoch,
) -> TokenAmount {
    if network_qa_power_estimate.estimate().is_zero() {
        return TokenAmount::from_atto(reward_estimate.estimate());
    }
    let ratio_sum = extrapolated_cum_sum_of_ratio(
        projection_duration,
        0,
        reward_estimate,
        network_qa_power_estimate,
    );
    let reward_q128 = qa_sector_power * ratio_sum;
    TokenAmount::from_atto(cmp::max(reward_q128 >> PRECISION, BigInt::zero()))
}

/// [`expected_reward_for_power`], but at least 1 attoFIL.
pub fn expected_reward_for_power_clamped_at_atto_fil(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
    projection_duration: ChainEpoch,
) -> TokenAmount {
    let r = expected_reward_for_power(
        reward_estimate,
        network_qa_power_estimate,
        qa_sector_power,
        projection_duration,
    );
    if r <= TokenAmount::zero() {
        TokenAmount::from_atto(1)
    } else {
        r
    }
}

/// Fee charged each proving period for faulty power.
pub fn pledge_penalty_for_continued_fault(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
) -> TokenAmount {
    expected_reward_for_power(
        reward_estimate,
        network_qa_power_estimate,
        qa_sector_power,
        CONTINUED_FAULT_PROJECTION_PERIOD,
    )
}

/// Lower bound of the termination penalty (pre-FIP-0098 formula).
pub fn pledge_penalty_for_termination_lower_bound(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
) -> TokenAmount {
    expected_reward_for_power(
        reward_estimate,
        network_qa_power_estimate,
        qa_sector_power,
        TERMINATION_PENALTY_LOWER_BOUND_PROJECTIONS_PERIOD,
    )
}

/// FIP-0098 termination fee: 8.5% of pledge scaled by age up to 140 days,
/// but at least max(2% of pledge, 105% of the fault fee).
pub fn pledge_penalty_for_termination(
    initial_pledge: &TokenAmount,
    sector_age: ChainEpoch,
    fault_fee: &TokenAmount,
) -> TokenAmount {
    let simple =
        (initial_pledge * TERM_FEE_PLEDGE_MULTIPLE_NUM).div_floor(TERM_FEE_PLEDGE_MULTIPLE_DENOM);
    let by_age = (&simple * sector_age).div_floor(TERMINATION_LIFETIME_CAP * EPOCHS_IN_DAY);
    let base = cmp::min(simple, by_age);
    let min_abs = (initial_pledge * TERM_FEE_MIN_PLEDGE_MULTIPLE_NUM)
        .div_floor(TERM_FEE_MIN_PLEDGE_MULTIPLE_DENOM);
    let min_ff = (fault_fee * TERM_FEE_MAX_FAULT_FEE_MULTIPLE_NUM)
        .div_floor(TERM_FEE_MAX_FAULT_FEE_MULTIPLE_DENOM);
    cmp::max(base, cmp::max(min_abs, min_ff))
}

/// Penalty of a successfully disputed Window PoSt.
pub fn pledge_penalty_for_invalid_windowpost(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
) -> TokenAmount {
    expected_reward_for_power(
        reward_estimate,
        network_qa_power_estimate,
        qa_sector_power,
        INVALID_WINDOW_POST_PROJECTION_PERIOD,
    ) + base_penalty_for_disputed_window_post()
}

/// The deposit for pre-committing a sector of `qa_sector_power`: 20 days
/// of its expected reward.
pub fn pre_commit_deposit_for_power(
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    qa_sector_power: &StoragePower,
) -> TokenAmount {
    expected_reward_for_power_clamped_at_atto_fil(
        reward_estimate,
        network_qa_power_estimate,
        qa_sector_power,
        PRE_COMMIT_DEPOSIT_PROJECTION_PERIOD,
    )
}

/// The initial pledge of `qa_power`: 20 days of expected reward plus a
/// share of 30% of circulating supply, the share computed against
/// max(network power, baseline) and, as FIP-0081's ramp progresses, partly
/// against network power alone; capped at 1 FIL per 32 GiB.
pub fn initial_pledge_for_power(
    qa_power: &StoragePower,
    baseline_power: &StoragePower,
    reward_estimate: &FilterEstimate,
    network_qa_power_estimate: &FilterEstimate,
    circulating_supply: &TokenAmount,
    epochs_since_ramp_start: i64,
    ramp_duration_epochs: u64,
) -> TokenAmount {
    let ip_base = expected_reward_for_power_clamped_at_atto_fil(
        reward_estimate,
        network_qa_power_estimate,
        qa_power,
        INITIAL_PLEDGE_PROJECTION_PERIOD,
    );

    let lock_target_num = circulating_supply.atto() * LOCK_TARGET_FACTOR_NUM;
    let network_qa_power = network_qa_power_estimate.estimate();

    let ramp_len = i64::try_from(ramp_duration_epochs).unwrap_or(i64::MAX);
    let skew: u64 = if epochs_since_ramp_start < 0 {
        0
    } else if ramp_len == 0 || epochs_since_ramp_start >= ramp_len {
        FIP_0081_ACTIVATION_PERMILLE as u64
    } else {
        (epochs_since_ramp_start.saturating_mul(FIP_0081_ACTIVATION_PERMILLE) / ramp_len) as u64
    };
    let gamma = GAMMA_FIXED_POINT_FACTOR - skew;

    let additional_num = lock_target_num * qa_power;
    let denom_baseline = cmp::max(cmp::max(&network_qa_power, baseline_power), qa_power);
    let denom_simple = cmp::max(&network_qa_power, qa_power);

    let add_baseline = (BigInt::from(gamma) * &additional_num)
        .div_floor(&(denom_baseline * LOCK_TARGET_FACTOR_DENOM * GAMMA_FIXED_POINT_FACTOR));
    let add_simple = (BigInt::from(GAMMA_FIXED_POINT_FACTOR - gamma) * &additional_num)
        .div_floor(&(denom_simple * LOCK_TARGET_FACTOR_DENOM * GAMMA_FIXED_POINT_FACTOR));

    let nominal = ip_base + TokenAmount::from_atto(add_baseline + add_simple);
    let cap = TokenAmount::from_atto(initial_pledge_max_per_byte().atto() * qa_power);
    cmp::min(nominal, cap)
}

/// Penalty for a consensus fault: 5 block rewards' worth.
pub fn consensus_fault_penalty(this_epoch_reward: TokenAmount) -> TokenAmount {
    (this_epoch_reward * CONSENSUS_FAULT_FACTOR).div_floor(EXPECTED_LEADERS_PER_EPOCH)
}

/// The part of a block reward locked for vesting (3/4), and how it vests.
pub fn locked_reward_from_reward(reward: TokenAmount) -> (TokenAmount, &'static VestSpec) {
    let locked = (reward * LOCKED_REWARD_FACTOR_NUM).div_floor(LOCKED_REWARD_FACTOR_DENOM);
    (locked, &REWARD_VESTING_SPEC)
}
