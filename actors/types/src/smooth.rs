//! Smoothed estimates shared by the reward, power and miner actors, as
//! builtin-actors v18 computes them: Q.128 fixed-point arithmetic
//! ([`PRECISION`], [`poly_val`]), the position/velocity [`FilterEstimate`]
//! that the reward actor keeps of the per-epoch reward and the power actor of
//! the network's quality-adjusted power, the [`AlphaBetaFilter`] that moves
//! an estimate one observation forward, and
//! [`extrapolated_cum_sum_of_ratio`], which the miner's pledge and penalty
//! math uses to project "reward over power" across a span of epochs.
//!
//! Every number here must agree bit for bit with v18, because the estimates
//! live in actor state that the node decodes with the v18 crates; the
//! rounding (floor division, arithmetic shifts) is therefore v18's.

use std::sync::LazyLock;

use fvm_shared::bigint::{BigInt, Integer, bigint_ser};
use fvm_shared::clock::ChainEpoch;
use num_traits::Zero;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// The number of fractional bits of the Q.128 fixed-point numbers.
pub const PRECISION: u64 = 128;

/// A decimal literal of this module as a `BigInt`. The literals are fixed
/// and checked by the unit tests, so the zero fallback is never taken.
pub(crate) fn q_literal(digits: &str) -> BigInt {
    BigInt::parse_bytes(digits.as_bytes(), 10).unwrap_or_default()
}

/// The literals of a polynomial's coefficients, highest order first.
pub(crate) fn q_poly(coefficients: &[&str]) -> Vec<BigInt> {
    coefficients.iter().map(|c| q_literal(c)).collect()
}

/// The polynomial with Q.128 `coefficients` (highest order first) at the
/// Q.128 point `x`, by Horner's rule; the result is Q.128.
pub fn poly_val(coefficients: &[BigInt], x: &BigInt) -> BigInt {
    coefficients
        .iter()
        .fold(BigInt::zero(), |acc, c| ((acc * x) >> PRECISION) + c)
}

/// The filter's position gain, Q.128 (about 9.25e-4).
pub static DEFAULT_ALPHA: LazyLock<BigInt> =
    LazyLock::new(|| q_literal("314760000000000000000000000000000000"));
/// The filter's velocity gain, Q.128 (about 2.84e-7).
pub static DEFAULT_BETA: LazyLock<BigInt> =
    LazyLock::new(|| q_literal("96640100000000000000000000000000"));

/// ln(2) in Q.128.
static LN_2: LazyLock<BigInt> =
    LazyLock::new(|| q_literal("235865763225513294137944142764154484399"));
/// Below this squared denominator velocity (Q.128, about 8.9e-16) the
/// denominator is treated as constant in [`extrapolated_cum_sum_of_ratio`].
static EPSILON: LazyLock<BigInt> = LazyLock::new(|| q_literal("302231454903657293676544"));

/// Numerator of the rational approximation of ln on [1, 2] (Q.128).
static LN_NUM: LazyLock<Vec<BigInt>> = LazyLock::new(|| {
    q_poly(&[
        "261417938209272870992496419296200268025",
        "7266615505142943436908456158054846846897",
        "32458783941900493142649393804518050491988",
        "17078670566130897220338060387082146864806",
        "-35150353308172866634071793531642638290419",
        "-20351202052858059355702509232125230498980",
        "-1563932590352680681114104005183375350999",
    ])
});
/// Denominator of the rational approximation of ln on [1, 2] (Q.128).
static LN_DENOM: LazyLock<Vec<BigInt>> = LazyLock::new(|| {
    q_poly(&[
        "49928077726659937662124949977867279384",
        "2508163877009111928787629628566491583994",
        "21757751789594546643737445330202599887121",
        "53400635271583923415775576342898617051826",
        "41248834748603606604000911015235164348839",
        "9015227820322455780436733526367238305537",
        "340282366920938463463374607431768211456",
    ])
});

/// A smoothed estimate of a quantity: where it is and how fast it moves per
/// epoch, both Q.128. Wire form (v18): `[position, velocity]`, each as
/// BigInt bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct FilterEstimate {
    /// The estimated value, Q.128.
    #[serde(with = "bigint_ser")]
    pub position: BigInt,
    /// The estimated change per epoch, Q.128.
    #[serde(with = "bigint_ser")]
    pub velocity: BigInt,
}

impl FilterEstimate {
    /// An estimate from whole-unit (Q.0) `position` and `velocity`.
    pub fn new(position: BigInt, velocity: BigInt) -> Self {
        Self {
            position: position << PRECISION,
            velocity: velocity << PRECISION,
        }
    }

    /// The position in whole units (Q.0, rounded towards minus infinity).
    pub fn estimate(&self) -> BigInt {
        &self.position >> PRECISION
    }

    /// The position `delta` epochs ahead, Q.256.
    pub fn extrapolate(&self, delta: ChainEpoch) -> BigInt {
        let delta_t = BigInt::from(delta) << PRECISION;
        (&self.velocity * delta_t) + (&self.position << PRECISION)
    }
}

/// An alpha-beta filter: moves an estimate forward by an elapsed time and
/// corrects it towards an observation with gains `alpha` (position) and
/// `beta` (velocity).
#[derive(Debug, Clone, Copy)]
pub struct AlphaBetaFilter<'a> {
    alpha: &'a BigInt,
    beta: &'a BigInt,
    prev_est: &'a FilterEstimate,
}

impl<'a> AlphaBetaFilter<'a> {
    /// A filter starting from `prev_est` with Q.128 gains `alpha` and `beta`
    /// (normally [`DEFAULT_ALPHA`] and [`DEFAULT_BETA`]).
    pub fn load(prev_est: &'a FilterEstimate, alpha: &'a BigInt, beta: &'a BigInt) -> Self {
        Self {
            alpha,
            beta,
            prev_est,
        }
    }

    /// The estimate after `epoch_delta` epochs in which the quantity was
    /// observed to be `obs` (Q.0).
    ///
    /// v18 divides by the elapsed time and would abort on `epoch_delta == 0`;
    /// we keep the previous velocity in that case instead.
    pub fn next_estimate(&self, obs: &BigInt, epoch_delta: ChainEpoch) -> FilterEstimate {
        let delta_t = BigInt::from(epoch_delta) << PRECISION;
        let mut position =
            ((&delta_t * &self.prev_est.velocity) >> PRECISION) + &self.prev_est.position;
        let residual = (obs << PRECISION) - &position;
        position += (self.alpha * &residual) >> PRECISION;
        let velocity = if delta_t.is_zero() {
            self.prev_est.velocity.clone()
        } else {
            (residual * self.beta).div_floor(&delta_t) + &self.prev_est.velocity
        };
        FilterEstimate { position, velocity }
    }
}

/// `prev` moved forward `delta` epochs towards the observation `obs` with
/// the default gains: shorthand for the v18 reward and power updates.
pub fn next_default_estimate(
    prev: &FilterEstimate,
    obs: &BigInt,
    delta: ChainEpoch,
) -> FilterEstimate {
    AlphaBetaFilter::load(prev, &DEFAULT_ALPHA, &DEFAULT_BETA).next_estimate(obs, delta)
}

/// The sum over `delta` epochs, starting `relative_start` epochs from now,
/// of the ratio of two extrapolated estimates, `est_num / est_denom`,
/// computed in closed form; Q.128.
///
/// When the denominator's velocity is significant the integral of
/// `(p1 + v1 t) / (p2 + v2 t)` is taken with logarithms; otherwise the
/// denominator is treated as constant and the numerator is taken at the
/// midpoint. v18 would abort on a zero denominator position; we return zero.
pub fn extrapolated_cum_sum_of_ratio(
    delta: ChainEpoch,
    relative_start: ChainEpoch,
    est_num: &FilterEstimate,
    est_denom: &FilterEstimate,
) -> BigInt {
    let delta_t = BigInt::from(delta) << PRECISION;
    let t0 = BigInt::from(relative_start) << PRECISION;
    let (p1, v1) = (&est_num.position, &est_num.velocity);
    let (p2, v2) = (&est_denom.position, &est_denom.velocity);

    let v2_squared = (v2 * v2) >> PRECISION;
    if v2_squared > *EPSILON {
        let x2a = ((v2 * &t0) >> PRECISION) + p2;
        let x2b = ((v2 * &delta_t) >> PRECISION) + &x2a;
        let (ln_a, ln_b) = (ln(&x2a), ln(&x2b));
        let m1 = ((&ln_b - &ln_a) * p1 * v2) >> PRECISION;
        let m2 = (((&ln_a - &ln_b) * p2 + v2 * &delta_t) * v1) >> PRECISION;
        return (m2 + m1).div_floor(&v2_squared);
    }

    if p2.is_zero() {
        return BigInt::zero();
    }
    let midpoint = t0 + (&delta_t >> 1u32);
    let x1m = ((v1 * midpoint) >> PRECISION) + p1;
    (x1m * delta_t).div_floor(p2)
}

/// The natural logarithm of the Q.128 number `z`, Q.128: `z = 2^k * x` with
/// `x` in [1, 2), so `ln z = k ln 2 + ln x`.
pub fn ln(z: &BigInt) -> BigInt {
    // bits() < 2^64, so the conversion holds for any BigInt we can store.
    let k = i64::try_from(z.bits()).unwrap_or(i64::MAX) - 1 - PRECISION as i64;
    let x = if k > 0 {
        z >> k.unsigned_abs()
    } else {
        z << k.unsigned_abs()
    };
    BigInt::from(k) * &*LN_2 + ln_between_one_and_two(&x)
}

/// ln of a Q.128 `x` in [1, 2], Q.128, by a rational approximation.
fn ln_between_one_and_two(x: &BigInt) -> BigInt {
    let num = poly_val(&LN_NUM, x) << PRECISION;
    let denom = poly_val(&LN_DENOM, x);
    if denom.is_zero() {
        return BigInt::zero();
    }
    num.div_floor(&denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> BigInt {
        BigInt::from(1) << PRECISION
    }

    #[test]
    fn literals_parse() {
        for v in [&*DEFAULT_ALPHA, &*DEFAULT_BETA, &*LN_2, &*EPSILON] {
            assert!(!v.is_zero());
        }
        assert!(LN_NUM.iter().chain(LN_DENOM.iter()).all(|c| !c.is_zero()));
        assert_eq!(q_literal("-12"), BigInt::from(-12));
    }

    #[test]
    fn new_shifts_and_estimate_unshifts() {
        let e = FilterEstimate::new(BigInt::from(-5), BigInt::from(7));
        assert_eq!(e.position, BigInt::from(-5) << 128u32);
        assert_eq!(e.estimate(), BigInt::from(-5));
        assert_eq!(e.extrapolate(2) >> (2 * PRECISION), BigInt::from(9));
    }

    #[test]
    fn wire_form_is_two_byte_strings() {
        let e = FilterEstimate::new(BigInt::from(1), BigInt::from(0));
        let bytes = fvm_ipld_encoding::to_vec(&e).unwrap();
        // array(2), bytes(18) = sign 0x00, 0x01, 16 zero bytes; bytes(0)
        let mut want = vec![0x82, 0x52, 0x00, 0x01];
        want.extend([0u8; 16]);
        want.push(0x40);
        assert_eq!(bytes, want);
        let back: FilterEstimate = fvm_ipld_encoding::from_slice(&bytes).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn natural_log() {
        let cases = [
            ("340282366920938463463374607431768211456", "0"),
            (
                "924990000000000000000000000000000000000",
                "340282366920938463463374607431768211456",
            ),
            (
                "34028236692093846346337460743176821145600000000000000000000",
                "15670582109617661336106769654068947397831",
            ),
            (
                "6805647338418769269267492148635364229120000000000000000000000",
                "17473506083804940763855390762239996622013",
            ),
            (
                "204169000000000000000000000000000000",
                "-2524410000000000000000000000000000000000",
            ),
            (
                "34028236692093846346337460743",
                "-7835291054808830668053384827034473698915",
            ),
        ];
        for (z, want) in cases {
            assert_eq!(
                ln(&q_literal(z)) >> PRECISION,
                q_literal(want) >> PRECISION,
                "ln({z})"
            );
        }
    }

    #[test]
    fn constant_ratio() {
        let num = FilterEstimate::new(BigInt::from(4_000_000), BigInt::zero());
        let den = FilterEstimate::new(BigInt::from(1), BigInt::zero());
        let s = extrapolated_cum_sum_of_ratio(1000, 0, &num, &den) >> PRECISION;
        assert_eq!(s, BigInt::from(4_000_000_000i64));
        let later = extrapolated_cum_sum_of_ratio(1000, 1_000_000_000_000_000, &num, &den);
        assert_eq!(later >> PRECISION, s);

        let num = FilterEstimate::new(BigInt::from(1_000_000_000_000i64), BigInt::zero());
        let den = FilterEstimate::new(BigInt::from(200_000_000_000_000i64), BigInt::zero());
        let half = extrapolated_cum_sum_of_ratio(100, 0, &num, &den);
        assert_eq!(&half >> PRECISION, BigInt::zero());
        let product = half * (BigInt::from(10_000) << PRECISION);
        assert_eq!(product >> (2 * PRECISION), BigInt::from(5000));
    }

    /// A trapezoid sum of the ratio, epoch by epoch (Q.128).
    fn iterative_ratio(num: &FilterEstimate, den: &FilterEstimate, t0: i64, delta: i64) -> BigInt {
        let mut sum = BigInt::zero();
        for i in 0..delta {
            let n = num.extrapolate(t0 + i);
            let d = den.extrapolate(t0 + i) >> PRECISION;
            let mut eps = n.div_floor(&d);
            if i != 0 && i != delta - 1 {
                eps *= 2;
            }
            sum += eps;
        }
        sum.div_floor(&BigInt::from(2))
    }

    fn per_million_error(a: &BigInt, b: &BigInt) -> BigInt {
        let ratio = ((a - b) << PRECISION).div_floor(a);
        let million = BigInt::from(1_000_000) << PRECISION;
        let e = ratio * million;
        let e = if e < BigInt::zero() { -e } else { e };
        e >> (2 * PRECISION)
    }

    #[test]
    fn moving_denominator_close_to_iterative_sum() {
        let cases = [
            ((111, 12), (3456, 8), 10_000),
            ((1_000_000, -100), (70_000, 1000), 100_000),
        ];
        for ((p1, v1), (p2, v2), delta) in cases {
            let num = FilterEstimate::new(BigInt::from(p1), BigInt::from(v1));
            let den = FilterEstimate::new(BigInt::from(p2), BigInt::from(v2));
            let analytic = extrapolated_cum_sum_of_ratio(delta, 0, &num, &den);
            let iterative = iterative_ratio(&num, &den, 0, delta);
            assert!(per_million_error(&analytic, &iterative) < BigInt::from(350));
        }
    }

    #[test]
    fn filter_matches_v18_rounding_case() {
        let fe = FilterEstimate {
            position: q_literal("12340768897043811082913117521041414330876498465539749838848"),
            velocity: q_literal("-37396269384748225153347462373739139597454335279104"),
        };
        let next = next_default_estimate(&fe, &BigInt::from(36266252337034982540u128), 3);
        assert_eq!(
            next.position.to_string(),
            "12340768782449774548722755900999027209659079673176744001536"
        );
        assert_eq!(
            next.velocity.to_string(),
            "-37396515542149801792802995707072472930787668612438"
        );
    }

    #[test]
    fn poly_val_of_identity() {
        let x = BigInt::from(3) << PRECISION;
        assert_eq!(poly_val(&[one(), BigInt::zero()], &x), x);
    }
}
