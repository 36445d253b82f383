//! Filecoin's leader election: how many blocks an election VRF wins.
//!
//! A miner with a share `p / P` of the network's quality-adjusted power
//! wins a Poisson-distributed number of blocks per epoch with rate
//! `λ = E · p / P`, `E` the expected blocks per epoch (5). The draw is
//! deterministic: the BLAKE2b-256 hash of the election VRF, read as a
//! fraction in [0, 1), is compared with the Poisson distribution's upper
//! tail `1 - CDF(k; λ)` for k = 0, 1, 2, … (at most `3E` wins). Every
//! node checks a block's `WinCount` this way, so the arithmetic is the
//! consensus rule's to the bit: fixed point with 256 fractional bits
//! (Q.256), `e^-λ` by the spec's rational approximation evaluated with
//! Horner's method, and truncating shifts and divisions where the rule
//! truncates. The tests hold the reference implementation's published
//! values.
//!
//! ```text
//!  VRF ─► blake2b-256 ─► h (Q.256)
//!  (p, P) ─► λ = (E·p << 256) / P ─► icdf₀ = 1 - e^-λ
//!  wins = #{k : h < icdf_k},  icdf_k = icdf_{k-1} - pmf_k,  pmf_k = pmf_{k-1}·λ / k
//! ```
//!
//! The devnet elects by its own simpler rule ([`crate::winning`]); this
//! module is for mining on Filecoin's networks through a Lotus or Forest
//! node, whose `MinerGetBaseInfo` already gives the powers at the election's
//! lookback.

use std::sync::OnceLock;

use fvm_shared::bigint::{BigInt, Sign};

/// Expected blocks per epoch on Filecoin's networks (`E`).
pub const BLOCKS_PER_EPOCH: u64 = 5;

/// The most blocks one election can win (`3E`).
pub const MAX_WIN_COUNT: u64 = 3 * BLOCKS_PER_EPOCH;

/// Fractional bits of the fixed-point numbers.
const PRECISION: usize = 256;

/// The numerator of the rational approximation of `e^-x`, highest order
/// first, as integers to be scaled by 2^-128 (the consensus rule's values).
const EXP_NUM: [&str; 8] = [
    "-648770010757830093818553637600",
    "67469480939593786226847644286976",
    "-3197587544499098424029388939001856",
    "89244641121992890118377641805348864",
    "-1579656163641440567800982336819953664",
    "17685496037279256458459817590917169152",
    "-115682590513835356866803355398940131328",
    "340282366920938463463374607431768211456",
];

/// The denominator, as [`EXP_NUM`].
const EXP_DENO: [&str; 14] = [
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
];

/// The coefficients in Q.256 (the integers shifted left by 256 - 128).
fn coefficients(digits: &[&str]) -> Vec<BigInt> {
    digits
        .iter()
        .map(|d| {
            // The constants above are decimal literals: parsing cannot fail.
            let c = BigInt::parse_bytes(d.as_bytes(), 10).unwrap_or_default();
            c << (PRECISION - 128)
        })
        .collect()
}

fn exp_num() -> &'static [BigInt] {
    static C: OnceLock<Vec<BigInt>> = OnceLock::new();
    C.get_or_init(|| coefficients(&EXP_NUM))
}

fn exp_deno() -> &'static [BigInt] {
    static C: OnceLock<Vec<BigInt>> = OnceLock::new();
    C.get_or_init(|| coefficients(&EXP_DENO))
}

/// Evaluates the polynomial `p` (highest order first, Q.256) at `x` (Q.256)
/// by Horner's method. The shifts of negative values round toward negative
/// infinity, as the reference's arithmetic shifts do.
fn polyval(p: &[BigInt], x: &BigInt) -> BigInt {
    let mut iter = p.iter();
    let mut res = iter.next().cloned().unwrap_or_default();
    for c in iter {
        res = ((res * x) >> PRECISION) + c;
    }
    res
}

/// `e^-x` for `x` in Q.256, in Q.256 (most precise on [0, 1.725), within
/// 4.6e-15 on [0, 5)).
fn expneg(x: &BigInt) -> BigInt {
    let num = polyval(exp_num(), x);
    let deno = polyval(exp_deno(), x);
    (num << PRECISION) / deno
}

/// `λ = E · power / total` in Q.256 (truncated).
fn lambda(power: &BigInt, total: &BigInt) -> BigInt {
    ((power * BigInt::from(BLOCKS_PER_EPOCH)) << PRECISION) / total
}

/// The Poisson distribution's upper tail `1 - CDF(k; λ)` for k = 0, 1, …
struct Tail {
    lambda: BigInt,
    pmf: BigInt,
    icdf: BigInt,
    k: u64,
}

impl Tail {
    /// Starts at k = 0: `icdf = 1 - e^-λ`.
    fn new(lambda: BigInt) -> Self {
        let pmf = expneg(&lambda);
        let icdf = (BigInt::from(1) << PRECISION) - &pmf;
        Self {
            lambda,
            pmf,
            icdf,
            k: 0,
        }
    }

    /// Steps to k + 1 and returns its tail.
    fn next(&mut self) -> &BigInt {
        self.k += 1;
        self.pmf = ((&self.pmf / BigInt::from(self.k)) * &self.lambda) >> PRECISION;
        self.icdf -= &self.pmf;
        &self.icdf
    }
}

/// How many blocks the election VRF `vrf_proof` wins for a miner of
/// quality-adjusted power `miner_power` in a network of `network_power`.
/// No power (or no network power) wins nothing.
pub fn win_count(vrf_proof: &[u8], miner_power: &BigInt, network_power: &BigInt) -> u64 {
    if miner_power.sign() != Sign::Plus || network_power.sign() != Sign::Plus {
        return 0;
    }
    let hash = blake2b_simd::Params::new().hash_length(32).hash(vrf_proof);
    let h = BigInt::from_bytes_be(Sign::Plus, hash.as_bytes());
    let mut tail = Tail::new(lambda(miner_power, network_power));
    let mut wins = 0;
    let mut rhs = tail.icdf.clone();
    while h < rhs && wins < MAX_WIN_COUNT {
        rhs = tail.next().clone();
        wins += 1;
    }
    wins
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn big(s: &str) -> BigInt {
        BigInt::parse_bytes(s.as_bytes(), 10).unwrap()
    }

    /// The tails for λ = base · 2^-shift, against the reference
    /// implementation's golden values (its `TestPoissonFunction`): k = 0,
    /// 1 and 15.
    #[test]
    fn the_poisson_tail_matches_the_reference() {
        let cases = [
            (
                1_036_915u64,
                20usize,
                "72718197862321603787957847055188249408647877796280116987586082825356498974798",
                "30123322455004902866096392147720313525979066051167804713805891738863284666878",
                "1827354397264548824373139406487609602015834650190678153972930556",
            ),
            (
                5,
                0,
                "115011888277122352219705460287186602222085188670665840381425306072442950421456",
                "111110883476153136200377836679680074066161208695792222091263916395092054329056",
                "7990608583365898783177981059486191101288263054949438283379118111243134316",
            ),
        ];
        for (base, shift, k0, k1, k15) in cases {
            let mut tail = Tail::new(BigInt::from(base) << (PRECISION - shift));
            assert_eq!(tail.icdf, big(k0), "λ = {base}>>{shift}, k = 0");
            assert_eq!(*tail.next(), big(k1), "λ = {base}>>{shift}, k = 1");
            for _ in 2..15 {
                tail.next();
            }
            assert_eq!(*tail.next(), big(k15), "λ = {base}>>{shift}, k = 15");
        }
    }

    #[test]
    fn lambda_matches_the_reference() {
        assert_eq!(
            lambda(&big("2000000000000000"), &big("100000000000000000")),
            big("11579208923731619542357098500868790785326998466564056403945758400791312963993")
        );
        // 64 of 128: λ = 2.5 exactly.
        assert_eq!(
            lambda(&BigInt::from(64), &BigInt::from(128)),
            BigInt::from(5) << (PRECISION - 1)
        );
    }

    /// A fifth of the power wins one block an epoch on average (the
    /// reference's `TestWinCounts`, on fewer draws).
    #[test]
    fn a_fifth_of_the_power_wins_one_block_an_epoch() {
        let (power, total) = (BigInt::from(20), BigInt::from(100));
        let draws = 20_000u64;
        let mut wins = 0;
        for i in 0..draws {
            let w = i + 1_000_000;
            let vrf = [w as u8, (w >> 8) as u8, (w >> 16) as u8, (w >> 24) as u8, 0];
            wins += win_count(&vrf, &power, &total);
        }
        let mean = wins as f64 / draws as f64;
        assert!((0.97..=1.03).contains(&mean), "mean wins {mean}");
    }

    #[test]
    fn no_power_wins_nothing_and_all_of_it_wins_at_most_the_cap() {
        let vrf = [7u8; 96];
        assert_eq!(win_count(&vrf, &BigInt::from(0), &BigInt::from(100)), 0);
        assert_eq!(win_count(&vrf, &BigInt::from(5), &BigInt::from(0)), 0);
        assert_eq!(win_count(&vrf, &BigInt::from(-5), &BigInt::from(10)), 0);
        for i in 0..200u8 {
            let w = win_count(&[i; 96], &BigInt::from(1), &BigInt::from(1));
            assert!(w <= MAX_WIN_COUNT);
        }
        // λ = 5: P(no win) = e^-5 < 1 %, so most draws win.
        let winners = (0..200u8)
            .filter(|i| win_count(&[*i; 96], &BigInt::from(1), &BigInt::from(1)) > 0)
            .count();
        assert!(winners > 190, "{winners} of 200 draws won");
    }
}
