//! The BLS12-381 precompiles of EIP-2537 (0x0b–0x11), as v18 runs them:
//! G1ADD, G1MSM, G2ADD, G2MSM, PAIRING_CHECK, MAP_FP_TO_G1 and
//! MAP_FP2_TO_G2, on arkworks (pure Rust; v18 uses blst, which needs a C
//! compiler for wasm).
//!
//! Encoding (EIP-2537): a field element is 64 bytes, big-endian, its top 16
//! bytes zero and its value below the modulus; an Fp2 element is two of
//! them, real part first; a G1 point is (x, y), a G2 point (x, y) of Fp2,
//! and the point at infinity is all zeros. Every length is exact (the MSMs
//! and the pairing take one or more whole items). Points are checked to lie
//! on the curve; the MSMs and the pairing also check the subgroup. A bad
//! input fails the call, with no data.

use ark_bls12_381::{Bls12_381, Fq, Fq2, Fr, g1, g2};
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurve;
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, Zero};

use super::{Answer, Failure};

/// A padded field element.
const FP: usize = 64;
/// The zeros that pad a field element.
const PAD: usize = 16;
/// A G1 point, a G2 point, a scalar.
const G1: usize = 2 * FP;
const G2: usize = 4 * FP;
const SCALAR: usize = 32;

/// The base field's modulus, big-endian.
const MODULUS: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

fn fail(why: &'static str) -> Failure {
    Failure::Failed(why)
}

/// A field element from its 64 bytes.
fn fp(b: &[u8]) -> Result<Fq, Failure> {
    let (pad, value) = b.split_at(PAD);
    if pad.iter().any(|x| *x != 0) {
        return Err(fail("a field element's padding is not zero"));
    }
    if value >= &MODULUS[..] {
        return Err(fail("a field element is not below the modulus"));
    }
    Ok(Fq::from_be_bytes_mod_order(value))
}

/// An Fp2 element from its 128 bytes, real part first.
fn fp2(b: &[u8]) -> Result<Fq2, Failure> {
    Ok(Fq2::new(fp(&b[..FP])?, fp(&b[FP..])?))
}

fn fp_bytes(out: &mut Vec<u8>, x: &Fq) {
    out.extend_from_slice(&[0u8; PAD]);
    out.extend_from_slice(&x.into_bigint().to_bytes_be());
}

/// A point on the curve from its coordinates; all zeros is infinity.
fn point<C: SWCurveConfig>(
    b: &[u8],
    coord: fn(&[u8]) -> Result<C::BaseField, Failure>,
    subgroup: bool,
) -> Result<Affine<C>, Failure> {
    let half = b.len() / 2;
    let (x, y) = (coord(&b[..half])?, coord(&b[half..])?);
    if x.is_zero() && y.is_zero() {
        return Ok(Affine::identity());
    }
    let p = Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(fail("a point is not on the curve"));
    }
    if subgroup && !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(fail("a point is not in the subgroup"));
    }
    Ok(p)
}

fn g1_point(b: &[u8], subgroup: bool) -> Result<Affine<g1::Config>, Failure> {
    point(b, fp, subgroup)
}

fn g2_point(b: &[u8], subgroup: bool) -> Result<Affine<g2::Config>, Failure> {
    point(b, fp2, subgroup)
}

fn g1_bytes(p: Affine<g1::Config>) -> Vec<u8> {
    let mut out = Vec::with_capacity(G1);
    match p.xy() {
        Some((x, y)) => {
            fp_bytes(&mut out, &x);
            fp_bytes(&mut out, &y);
        }
        None => out.resize(G1, 0),
    }
    out
}

fn g2_bytes(p: Affine<g2::Config>) -> Vec<u8> {
    let mut out = Vec::with_capacity(G2);
    match p.xy() {
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                fp_bytes(&mut out, &c);
            }
        }
        None => out.resize(G2, 0),
    }
    out
}

/// Input of `n` whole items of `size` bytes, at least one.
fn items(input: &[u8], size: usize) -> Result<std::slice::ChunksExact<'_, u8>, Failure> {
    if input.is_empty() || !input.len().is_multiple_of(size) {
        return Err(fail("input is not a whole number of items"));
    }
    Ok(input.chunks_exact(size))
}

/// 0x0b: G1ADD, two G1 points (256 bytes).
pub fn g1_add(input: &[u8]) -> Answer {
    if input.len() != 2 * G1 {
        return Err(fail("G1ADD input is not 256 bytes"));
    }
    let a = g1_point(&input[..G1], false)?;
    let b = g1_point(&input[G1..], false)?;
    Ok(g1_bytes((a.into_group() + b).into_affine()))
}

/// 0x0d: G2ADD, two G2 points (512 bytes).
pub fn g2_add(input: &[u8]) -> Answer {
    if input.len() != 2 * G2 {
        return Err(fail("G2ADD input is not 512 bytes"));
    }
    let a = g2_point(&input[..G2], false)?;
    let b = g2_point(&input[G2..], false)?;
    Ok(g2_bytes((a.into_group() + b).into_affine()))
}

/// The sum of `scalar · point` over (point, 32-byte scalar) items.
fn msm<C: SWCurveConfig<ScalarField = Fr>>(
    input: &[u8],
    size: usize,
    read: fn(&[u8], bool) -> Result<Affine<C>, Failure>,
) -> Result<Affine<C>, Failure> {
    let mut bases = Vec::new();
    let mut scalars = Vec::new();
    for item in items(input, size)? {
        let (p, k) = item.split_at(size - SCALAR);
        bases.push(read(p, true)?);
        // Points are in the subgroup: the scalar acts modulo its order.
        scalars.push(Fr::from_be_bytes_mod_order(k));
    }
    let sum = Projective::<C>::msm(&bases, &scalars).map_err(|_| fail("MSM lengths"))?;
    Ok(sum.into_affine())
}

/// 0x0c: G1MSM, one or more (G1 point, scalar) items of 160 bytes.
pub fn g1_msm(input: &[u8]) -> Answer {
    Ok(g1_bytes(msm(input, G1 + SCALAR, g1_point)?))
}

/// 0x0e: G2MSM, one or more (G2 point, scalar) items of 288 bytes.
pub fn g2_msm(input: &[u8]) -> Answer {
    Ok(g2_bytes(msm(input, G2 + SCALAR, g2_point)?))
}

/// 0x0f: PAIRING_CHECK, one or more (G1, G2) pairs of 384 bytes: 1 as a
/// word if the product of their pairings is one, else 0.
pub fn pairing_check(input: &[u8]) -> Answer {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for pair in items(input, G1 + G2)? {
        let p = g1_point(&pair[..G1], true)?;
        let q = g2_point(&pair[G1..], true)?;
        // A pair with infinity contributes one.
        if !p.is_zero() && !q.is_zero() {
            a.push(p);
            b.push(q);
        }
    }
    let one = a.is_empty() || Bls12_381::multi_pairing(a, b) == PairingOutput::zero();
    let mut out = vec![0u8; 32];
    out[31] = u8::from(one);
    Ok(out)
}

/// 0x10: MAP_FP_TO_G1, a field element (64 bytes) mapped to G1 as the
/// hash-to-curve suite does it (simplified SWU on an isogenous curve,
/// then the cofactor cleared).
pub fn map_fp_to_g1(input: &[u8]) -> Answer {
    if input.len() != FP {
        return Err(fail("MAP_FP_TO_G1 input is not 64 bytes"));
    }
    let p = <WBMap<g1::Config> as MapToCurve<Projective<g1::Config>>>::map_to_curve(fp(input)?)
        .map_err(|_| fail("map to G1"))?;
    Ok(g1_bytes(p.clear_cofactor()))
}

/// 0x11: MAP_FP2_TO_G2, an Fp2 element (128 bytes) mapped to G2.
pub fn map_fp2_to_g2(input: &[u8]) -> Answer {
    if input.len() != 2 * FP {
        return Err(fail("MAP_FP2_TO_G2 input is not 128 bytes"));
    }
    let p = <WBMap<g2::Config> as MapToCurve<Projective<g2::Config>>>::map_to_curve(fp2(input)?)
        .map_err(|_| fail("map to G2"))?;
    Ok(g2_bytes(p.clear_cofactor()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn padded(hex48: &str) -> Vec<u8> {
        let mut v = vec![0u8; PAD];
        v.extend(unhex(hex48));
        v
    }

    /// EIP-2537's G1 generator and 2·G1.
    fn g1() -> Vec<u8> {
        [
            padded("17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"),
            padded("08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1"),
        ]
        .concat()
    }

    fn two_g1() -> Vec<u8> {
        [
            padded("0572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62ae28f75bb8f1c7c42c39a8c5529bf0f4e"),
            padded("166a9d8cabc673a322fda673779d8e3822ba3ecb8670e461f73bb9021d5fd76a4c56d9d4cd16bd1bba86881979749d28"),
        ]
        .concat()
    }

    fn scalar(k: u8) -> Vec<u8> {
        let mut v = vec![0u8; SCALAR];
        v[SCALAR - 1] = k;
        v
    }

    #[test]
    fn g1_add_and_msm_double_the_generator() {
        assert_eq!(g1_add(&[g1(), g1()].concat()).unwrap(), two_g1());
        assert_eq!(g1_msm(&[g1(), scalar(2)].concat()).unwrap(), two_g1());
        assert_eq!(g1_msm(&[g1(), scalar(0)].concat()).unwrap(), vec![0u8; G1]);
        assert_eq!(
            g1_msm(&[g1(), scalar(1), g1(), scalar(1)].concat()).unwrap(),
            two_g1()
        );
        assert_eq!(g1_add(&[g1(), vec![0u8; G1]].concat()).unwrap(), g1());
    }

    #[test]
    fn bad_inputs_fail() {
        assert!(g1_add(&g1()).is_err(), "short");
        assert!(g1_msm(&[]).is_err(), "no items");
        assert!(pairing_check(&[]).is_err(), "no pairs");
        let mut off = [g1(), g1()].concat();
        off[G1 - 1] ^= 1;
        assert!(g1_add(&off).is_err(), "off the curve");
        let mut pad = [g1(), g1()].concat();
        pad[0] = 1;
        assert!(g1_add(&pad).is_err(), "padding");
    }

    #[test]
    fn pairing_of_a_point_and_its_negation_is_one() {
        let g2 = g2_bytes(Affine::<g2::Config>::generator());
        let minus_g1 = g1_bytes(-Affine::<g1::Config>::generator());
        let ok = pairing_check(&[g1(), g2.clone(), minus_g1, g2.clone()].concat()).unwrap();
        assert_eq!(ok[31], 1);
        let not = pairing_check(&[g1(), g2].concat()).unwrap();
        assert_eq!(not, vec![0u8; 32]);
    }

    #[test]
    fn mapped_points_are_in_the_subgroup() {
        let p = map_fp_to_g1(&padded(&"07".repeat(48))).unwrap();
        assert_eq!(g1_msm(&[p.clone(), scalar(1)].concat()).unwrap(), p);
        let q =
            map_fp2_to_g2(&[padded(&"05".repeat(48)), padded(&"09".repeat(48))].concat()).unwrap();
        assert_eq!(g2_msm(&[q.clone(), scalar(1)].concat()).unwrap(), q);
    }
}
