//! The v18 minting model: the baseline power curve that doubles yearly, the
//! effective network time `theta` at which the cumulative baseline catches up
//! with the cumulative (capped) realized power, and the per-epoch reward =
//! simple minting (exponential decay with a six-year half-life) + baseline
//! minting (driven by the change in `theta`). All fixed-point values are
//! Q.128 (see [`crate::smooth::PRECISION`]); the results must match v18 bit
//! for bit.

use std::sync::LazyLock;

use fvm_shared::bigint::{BigInt, Integer};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;
use num_traits::Zero;

use crate::smooth::{PRECISION, poly_val, q_literal, q_poly};

/// Per-epoch growth factor of the baseline, Q.128: floor(e^(ln 2 /
/// epochs-per-365-day-year) * 2^128), so the baseline doubles in a year.
pub static BASELINE_EXPONENT: LazyLock<StoragePower> =
    LazyLock::new(|| q_literal("340282591298641078465964189926313473653"));

/// The baseline power at the network's start (about 2.5 EiB), bytes.
pub static BASELINE_INITIAL_VALUE: LazyLock<StoragePower> =
    LazyLock::new(|| StoragePower::from(2_888_888_880_000_000_000u128));

/// The baseline one epoch before the start: `BASELINE_INITIAL_VALUE /
/// BASELINE_EXPONENT`, truncated as v18 does, so that the first
/// [`baseline_power_from_prev`] step gives back about the initial value.
pub static INIT_BASELINE_POWER: LazyLock<StoragePower> = LazyLock::new(|| {
    ((&*BASELINE_INITIAL_VALUE << (2 * PRECISION)) / &*BASELINE_EXPONENT) >> PRECISION
});

/// Total tokens minted by simple (time-only) minting: 330M FIL.
pub static SIMPLE_TOTAL: LazyLock<TokenAmount> =
    LazyLock::new(|| TokenAmount::from_whole(330_000_000));

/// Total tokens minted by baseline (power-driven) minting: 770M FIL.
pub static BASELINE_TOTAL: LazyLock<TokenAmount> =
    LazyLock::new(|| TokenAmount::from_whole(770_000_000));

/// `e^LAMBDA - 1`, Q.128.
pub const EXP_LAM_SUB_ONE: u128 = 37_396_273_494_747_879_394_193_016_954_629;

/// `LAMBDA = ln 2 / (6 * epochs-per-year)`, the per-epoch decay rate of a
/// six-year half-life, Q.128.
pub const LAMBDA: u128 = 37_396_271_439_864_487_274_534_522_888_786;

/// Numerator of the rational approximation of e^-x (Q.128).
static EXPNEG_NUM: LazyLock<Vec<BigInt>> = LazyLock::new(|| {
    q_poly(&[
        "-648770010757830093818553637600",
        "67469480939593786226847644286976",
        "-3197587544499098424029388939001856",
        "89244641121992890118377641805348864",
        "-1579656163641440567800982336819953664",
        "17685496037279256458459817590917169152",
        "-115682590513835356866803355398940131328",
        "340282366920938463463374607431768211456",
    ])
});

/// Denominator of the rational approximation of e^-x (Q.128).
static EXPNEG_DENOM: LazyLock<Vec<BigInt>> = LazyLock::new(|| {
    q_poly(&[
        "1225524182432722209606361",
        "114095592300906098243859450",
        "5665570424063336070530214243",
        "194450132448609991765137938448",
        "5068267641632683791026134915072",
        "104716890604972796896895427629056",
        "1748338658439454459487681798864896",
        "23704654329841312470660182937960448",
        "259380097567996910282699886670381056",
        "2250336698853390384720606936038375424",
        "14978272436876548034486263159246028800",
        "72144088983913131323343765784380833792",
        "224599776407103106596571252037123047424",
        "340282366920938463463374607431768211456",
    ])
});

/// e^-x for a Q.128 `x`, Q.128. Most precise on [0, 1.725) (error below
/// 3.4e-30), still good to 4.6e-15 on [0, 5).
pub fn expneg(x: &BigInt) -> BigInt {
    let num = poly_val(&EXPNEG_NUM, x);
    let denom = poly_val(&EXPNEG_DENOM, x);
    if denom.is_zero() {
        // Out of the approximation's domain (v18 would abort); e^-x is ~0.
        return BigInt::zero();
    }
    (num << PRECISION).div_floor(&denom)
}

/// The baseline of the next epoch: `prev * BASELINE_EXPONENT`, truncated.
pub fn baseline_power_from_prev(prev_power: &StoragePower) -> StoragePower {
    (prev_power * &*BASELINE_EXPONENT) >> PRECISION
}

/// The fractional effective network time `theta` (Q.128): the ceiling
/// `effective_network_time` minus the part of that epoch's baseline that the
/// realized cumulative power has not yet covered (linear interpolation
/// between the cumulative baselines at floor and ceiling of theta).
pub fn compute_r_theta(
    effective_network_time: ChainEpoch,
    baseline_power_at_effective_network_time: &BigInt,
    cumsum_realized: &BigInt,
    cumsum_baseline: &BigInt,
) -> BigInt {
    if effective_network_time == 0 || baseline_power_at_effective_network_time.is_zero() {
        // (A zero baseline cannot occur in v18 state; it would abort there.)
        return BigInt::zero();
    }
    let theta_ceil = BigInt::from(effective_network_time) << PRECISION;
    let uncovered = ((cumsum_baseline - cumsum_realized) << PRECISION)
        .div_floor(baseline_power_at_effective_network_time);
    theta_ceil - uncovered
}

/// The reward for all of an epoch's expected leaders when the effective
/// network time moves from `prev_theta` to `curr_theta` (both Q.128) at
/// `epoch`: simple minting at `epoch` plus the baseline supply released
/// between the two thetas.
pub fn compute_reward(
    epoch: ChainEpoch,
    prev_theta: BigInt,
    curr_theta: BigInt,
    simple_total: &TokenAmount,
    baseline_total: &TokenAmount,
) -> TokenAmount {
    // simple_total * (e^lambda - 1) * e^(-lambda * epoch): Q.128 after the shift.
    let decay = expneg(&(BigInt::from(LAMBDA) * epoch));
    let simple = ((simple_total.atto() * BigInt::from(EXP_LAM_SUB_ONE)) * decay) >> PRECISION;
    let baseline = compute_baseline_supply(curr_theta, baseline_total.atto())
        - compute_baseline_supply(prev_theta, baseline_total.atto());
    TokenAmount::from_atto((simple + baseline) >> PRECISION)
}

/// Baseline tokens released by effective time `theta` (Q.128):
/// `baseline_total * (1 - e^(-lambda * theta))`, Q.128.
fn compute_baseline_supply(theta: BigInt, baseline_total: &BigInt) -> BigInt {
    let theta_lambda = (theta * BigInt::from(LAMBDA)) >> PRECISION;
    let one = BigInt::from(1) << PRECISION;
    (one - expneg(&theta_lambda)) * baseline_total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(x: i64) -> BigInt {
        BigInt::from(x) << PRECISION
    }

    #[test]
    fn constants() {
        assert!(
            EXPNEG_NUM
                .iter()
                .chain(EXPNEG_DENOM.iter())
                .all(|c| !c.is_zero())
        );
        assert!(*BASELINE_EXPONENT > BigInt::from(u128::MAX));
        // Values computed independently (Python integers) from the literals.
        assert_eq!(INIT_BASELINE_POWER.to_string(), "2888886975106048385");
        // One step from INIT_BASELINE_POWER lands just below the initial value.
        let first = baseline_power_from_prev(&INIT_BASELINE_POWER);
        assert_eq!(first.to_string(), "2888888879999999999");
    }

    #[test]
    fn expneg_known_points() {
        assert_eq!(expneg(&BigInt::zero()), q(1));
        // e^-1 = 0.36787944117144233...
        let e1 = expneg(&q(1));
        let want =
            (BigInt::from(367_879_441_171_442_33u64) << PRECISION) / BigInt::from(10u64.pow(17));
        let diff = if e1 > want { &e1 - &want } else { &want - &e1 };
        // The decimal above is exact to 1e-17; expneg is far better than 1e-15.
        assert!(diff < q(1) / BigInt::from(10u64.pow(15)));
    }

    #[test]
    fn r_theta_interpolates() {
        let at = |e: i64| BigInt::from((e + 1) * 2048);
        let half = compute_r_theta(
            1,
            &at(1),
            &BigInt::from(2048 + 2048),
            &BigInt::from(2048 + 4096),
        );
        assert_eq!(half, q(1) >> 1u32);
        let quarter = compute_r_theta(
            1,
            &at(1),
            &BigInt::from(2048 + 1024),
            &BigInt::from(2048 + 4096),
        );
        assert_eq!(quarter, q(1) >> 2u32);
        let cumsum15: BigInt = (0..16).map(at).sum();
        let t = compute_r_theta(
            16,
            &at(16),
            &(&cumsum15 + at(16) / 4),
            &(&cumsum15 + at(16)),
        );
        assert_eq!(t, (BigInt::from(61) << PRECISION) / 4);
    }

    #[test]
    fn simple_reward_at_zero_is_simple_total_times_exp_lam_sub_one() {
        let r = compute_reward(
            0,
            BigInt::zero(),
            BigInt::zero(),
            &SIMPLE_TOTAL,
            &BASELINE_TOTAL,
        );
        let want = (SIMPLE_TOTAL.atto() * BigInt::from(EXP_LAM_SUB_ONE)) >> PRECISION;
        assert_eq!(r.atto(), &want);
        // Matches the first line of specs-actors' TestSimpleReward golden file.
        assert_eq!(r.atto().to_string(), "36266264293777134739");
    }

    #[test]
    fn baseline_doubles_in_a_year() {
        let mut b = BASELINE_INITIAL_VALUE.clone();
        for _ in 0..(365 * 2880) {
            b = baseline_power_from_prev(&b);
        }
        let expected = &*BASELINE_INITIAL_VALUE * 2;
        let diff = &expected - &b;
        assert!(diff >= BigInt::zero());
        assert!(diff * BigInt::from(100_000_000) < expected);
    }
}
