//! Groth16 in two stages, so that the C2 pipeline can run them apart:
//! [`synthesize`] (the CPU: witness computation and constraint evaluation)
//! and [`prove`] (FFTs and multiexps, on the GPU when the build and host have
//! one).
//!
//! bellperson's batch prover does both in one call and keeps the split
//! private, so the pipeline could not synthesize one sector's circuits while
//! another's are proven. This module is our own driver over bellperson's
//! public pieces (its evaluation domain, its multiexp with the GPU kernels
//! and their locks, and the in-memory `Parameters`), computing the same
//! Groth16 proof:
//!
//! ```text
//!  circuits ─► synthesize ─► Witness { a, b, c evaluations; input and aux
//!  (CPU, rayon per circuit)            assignments; query densities }
//!                                  │  (the pipeline may hold it while another
//!                                  ▼   C2 is being proven)
//!  prove: FFT kernel ─► h = (a·b − c) / z ─► G1 kernel: h, l, a, b_g1
//!         ─► G2 kernel: b_g2 ─► A, B, C with fresh r, s ─► proofs
//! ```
//!
//! Every proof leaving the crate is still checked by the verifier of its
//! kind (`prover.rs`), so a fault here cannot produce an accepted bad proof.

use std::ops::{AddAssign, Mul, MulAssign};
use std::sync::Arc;

use bellperson::domain::EvaluationDomain;
use bellperson::gpu::{LockedFftKernel, LockedMultiexpKernel};
use bellperson::groth16::{ParameterSource, Parameters, Proof};
use bellperson::multiexp::{DensityTracker, multiexp};
use bellperson::{Circuit, ConstraintSystem, Index, LinearCombination, SynthesisError, Variable};
use blstrs::{Bls12, G1Affine, G2Affine, Scalar as Fr};
use ec_gpu_gen::multiexp_cpu::FullDensity;
use ec_gpu_gen::threadpool::Worker;
use ff::{Field, PrimeField};
use group::Curve;
use group::prime::PrimeCurveAffine;
use rand_core::RngCore;
use rayon::prelude::*;

type Repr = <Fr as PrimeField>::Repr;

/// One circuit after synthesis: everything [`prove`] needs, and no more.
pub(crate) struct Witness {
    /// The A, B and C linear combinations of each constraint, evaluated.
    a: Vec<Fr>,
    b: Vec<Fr>,
    c: Vec<Fr>,
    /// The assignments, in the form the multiexps take.
    inputs: Arc<Vec<Repr>>,
    aux: Arc<Vec<Repr>>,
    /// Which variables the A and B queries use.
    a_aux_density: Arc<DensityTracker>,
    b_input_density: Arc<DensityTracker>,
    b_aux_density: Arc<DensityTracker>,
}

impl Witness {
    /// The memory it holds, in bytes.
    pub(crate) fn bytes(&self) -> usize {
        let scalars = self.a.len() + self.b.len() + self.c.len();
        let reprs = self.inputs.len() + self.aux.len();
        scalars * size_of::<Fr>() + reprs * size_of::<Repr>()
    }
}

/// The constraint system a circuit is synthesized into.
struct Synthesis {
    a: Vec<Fr>,
    b: Vec<Fr>,
    c: Vec<Fr>,
    inputs: Vec<Fr>,
    aux: Vec<Fr>,
    a_aux_density: DensityTracker,
    b_input_density: DensityTracker,
    b_aux_density: DensityTracker,
}

impl Synthesis {
    fn into_witness(self) -> Witness {
        let reprs = |v: Vec<Fr>| Arc::new(v.into_par_iter().map(|s| s.to_repr()).collect());
        Witness {
            a: self.a,
            b: self.b,
            c: self.c,
            inputs: reprs(self.inputs),
            aux: reprs(self.aux),
            a_aux_density: Arc::new(self.a_aux_density),
            b_input_density: Arc::new(self.b_input_density),
            b_aux_density: Arc::new(self.b_aux_density),
        }
    }
}

/// The value of `lc` under the assignments, marking in the trackers the
/// variables it uses with a non-zero coefficient.
fn evaluate(
    lc: &LinearCombination<Fr>,
    inputs: &[Fr],
    aux: &[Fr],
    mut input_density: Option<&mut DensityTracker>,
    mut aux_density: Option<&mut DensityTracker>,
) -> Fr {
    let mut sum = Fr::ZERO;
    let mut term = |value: Fr, coeff: &Fr| {
        if coeff == &Fr::ONE {
            sum += value;
        } else {
            sum += value * coeff;
        }
    };
    for (&i, coeff) in lc.iter_inputs() {
        if !bool::from(coeff.is_zero()) {
            term(inputs[i], coeff);
            if let Some(d) = input_density.as_deref_mut() {
                d.inc(i);
            }
        }
    }
    for (&i, coeff) in lc.iter_aux() {
        if !bool::from(coeff.is_zero()) {
            term(aux[i], coeff);
            if let Some(d) = aux_density.as_deref_mut() {
                d.inc(i);
            }
        }
    }
    sum
}

impl ConstraintSystem<Fr> for Synthesis {
    type Root = Self;

    fn new() -> Self {
        Self {
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
            inputs: Vec::new(),
            aux: Vec::new(),
            a_aux_density: DensityTracker::new(),
            b_input_density: DensityTracker::new(),
            b_aux_density: DensityTracker::new(),
        }
    }

    fn alloc<F, A, AR>(&mut self, _: A, f: F) -> Result<Variable, SynthesisError>
    where
        F: FnOnce() -> Result<Fr, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.aux.push(f()?);
        self.a_aux_density.add_element();
        self.b_aux_density.add_element();
        Ok(Variable(Index::Aux(self.aux.len() - 1)))
    }

    fn alloc_input<F, A, AR>(&mut self, _: A, f: F) -> Result<Variable, SynthesisError>
    where
        F: FnOnce() -> Result<Fr, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inputs.push(f()?);
        self.b_input_density.add_element();
        Ok(Variable(Index::Input(self.inputs.len() - 1)))
    }

    fn enforce<A, AR, LA, LB, LC>(&mut self, _: A, a: LA, b: LB, c: LC)
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
        LA: FnOnce(LinearCombination<Fr>) -> LinearCombination<Fr>,
        LB: FnOnce(LinearCombination<Fr>) -> LinearCombination<Fr>,
        LC: FnOnce(LinearCombination<Fr>) -> LinearCombination<Fr>,
    {
        let (a, b, c) = (
            a(LinearCombination::zero()),
            b(LinearCombination::zero()),
            c(LinearCombination::zero()),
        );
        // The A query has every input (each is constrained by input · 0 = 0
        // at the end of synthesis), so only its aux density is tracked. C has
        // no query of its own.
        let a = evaluate(
            &a,
            &self.inputs,
            &self.aux,
            None,
            Some(&mut self.a_aux_density),
        );
        let b = evaluate(
            &b,
            &self.inputs,
            &self.aux,
            Some(&mut self.b_input_density),
            Some(&mut self.b_aux_density),
        );
        let c = evaluate(&c, &self.inputs, &self.aux, None, None);
        self.a.push(a);
        self.b.push(b);
        self.c.push(c);
    }

    fn push_namespace<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
    }

    fn pop_namespace(&mut self) {}

    fn get_root(&mut self) -> &mut Self::Root {
        self
    }

    // Circuits that synthesize parts in parallel (the PoSt circuits, one
    // part per sector) build each part in a fresh system and append it here.
    fn is_extensible() -> bool {
        true
    }

    fn extend(&mut self, other: &Self) {
        self.a_aux_density.extend(&other.a_aux_density, false);
        self.b_input_density.extend(&other.b_input_density, true);
        self.b_aux_density.extend(&other.b_aux_density, false);
        self.a.extend_from_slice(&other.a);
        self.b.extend_from_slice(&other.b);
        self.c.extend_from_slice(&other.c);
        // A part's first input is its own ONE, which this system has already.
        self.inputs
            .extend_from_slice(other.inputs.get(1..).unwrap_or(&[]));
        self.aux.extend_from_slice(&other.aux);
    }
}

/// Synthesizes `circuits` side by side (one rayon task per circuit).
pub(crate) fn synthesize<C>(circuits: Vec<C>) -> Result<Vec<Witness>, SynthesisError>
where
    C: Circuit<Fr> + Send,
{
    circuits
        .into_par_iter()
        .map(|circuit| {
            let mut cs = Synthesis::new();
            cs.alloc_input(|| "one", || Ok(Fr::ONE))?;
            circuit.synthesize(&mut cs)?;
            for i in 0..cs.inputs.len() {
                cs.enforce(
                    || "input",
                    |lc| lc + Variable(Index::Input(i)),
                    |lc| lc,
                    |lc| lc,
                );
            }
            Ok(cs.into_witness())
        })
        .collect()
}

/// The coefficients of h = (a·b − c) / z, the quotient the H query proves.
fn quotient(
    worker: &Worker,
    w: &mut Witness,
    kernel: &mut Option<LockedFftKernel<Fr>>,
) -> Result<Arc<Vec<Repr>>, SynthesisError> {
    let mut a = EvaluationDomain::from_coeffs(std::mem::take(&mut w.a))?;
    let mut b = EvaluationDomain::from_coeffs(std::mem::take(&mut w.b))?;
    let mut c = EvaluationDomain::from_coeffs(std::mem::take(&mut w.c))?;
    EvaluationDomain::ifft_many(&mut [&mut a, &mut b, &mut c], worker, kernel)?;
    EvaluationDomain::coset_fft_many(&mut [&mut a, &mut b, &mut c], worker, kernel)?;
    a.mul_assign(worker, &b);
    drop(b);
    a.sub_assign(worker, &c);
    drop(c);
    a.divide_by_z_on_coset(worker);
    a.icoset_fft(worker, kernel)?;
    let mut coeffs = a.into_coeffs();
    // h has degree at most n − 2: the H query has one point fewer than the
    // domain.
    coeffs.pop();
    Ok(Arc::new(
        coeffs.into_par_iter().map(|s| s.to_repr()).collect(),
    ))
}

/// C2's kernels run at bellperson's normal priority: they give the card up
/// to a priority proof (PoSt, which goes through bellperson's own prover:
/// only that holds the priority lock, which bellperson keeps private).
const PRIORITY: bool = false;

/// Proves synthesized circuits of one shape with `params`, each with fresh
/// randomness from `rng`.
pub(crate) fn prove(
    mut witnesses: Vec<Witness>,
    params: &Parameters<Bls12>,
    rng: &mut impl RngCore,
) -> Result<Vec<Proof<Bls12>>, SynthesisError> {
    let Some(first) = witnesses.first() else {
        return Ok(Vec::new());
    };
    let shape = |w: &Witness| {
        (
            w.a.len(),
            w.inputs.len(),
            w.aux.len(),
            w.a_aux_density.get_total_density(),
            w.b_input_density.get_total_density(),
            w.b_aux_density.get_total_density(),
        )
    };
    let (_, num_inputs, _, a_aux_total, b_input_total, b_aux_total) = shape(first);
    let first_shape = shape(first);
    if witnesses.iter().any(|w| shape(w) != first_shape) {
        return Err(SynthesisError::MalformedProofs(
            "a Groth16 batch takes circuits of one shape only".to_string(),
        ));
    }
    let source = &params;
    let vk = source.get_vk(num_inputs)?;
    if bool::from(vk.delta_g1.is_identity() | vk.delta_g2.is_identity()) {
        // A zero delta would let the proof be forged: refuse the parameters.
        return Err(SynthesisError::UnexpectedIdentity);
    }
    let randomness: Vec<(Fr, Fr)> = witnesses
        .iter()
        .map(|_| (Fr::random(&mut *rng), Fr::random(&mut *rng)))
        .collect();
    let worker = Worker::new();

    let mut fft = Some(LockedFftKernel::new(PRIORITY));
    let quotients = witnesses
        .iter_mut()
        .map(|w| quotient(&worker, w, &mut fft))
        .collect::<Result<Vec<_>, _>>()?;
    #[allow(clippy::drop_non_drop)] // a GPU build's kernel holds the GPU lock
    drop(fft);

    let h_query = source.get_h(0)?;
    let l_query = source.get_l(0)?;
    let (a_inputs, a_aux) = source.get_a(num_inputs, a_aux_total)?;
    let (b1_inputs, b1_aux) = source.get_b_g1(b_input_total, b_aux_total)?;
    let (b2_inputs, b2_aux) = source.get_b_g2(b_input_total, b_aux_total)?;

    // G1 first; the G2 kernel can only be created once the G1 kernel (and
    // its GPU lock) is dropped.
    let mut g1 = LockedMultiexpKernel::<G1Affine>::new(PRIORITY);
    let g1_sums: Vec<_> = witnesses
        .iter()
        .zip(quotients)
        .map(|(w, h)| {
            (
                multiexp(&worker, h_query.clone(), FullDensity, h, &mut g1),
                multiexp(
                    &worker,
                    l_query.clone(),
                    FullDensity,
                    w.aux.clone(),
                    &mut g1,
                ),
                multiexp(
                    &worker,
                    a_inputs.clone(),
                    FullDensity,
                    w.inputs.clone(),
                    &mut g1,
                ),
                multiexp(
                    &worker,
                    a_aux.clone(),
                    w.a_aux_density.clone(),
                    w.aux.clone(),
                    &mut g1,
                ),
                multiexp(
                    &worker,
                    b1_inputs.clone(),
                    w.b_input_density.clone(),
                    w.inputs.clone(),
                    &mut g1,
                ),
                multiexp(
                    &worker,
                    b1_aux.clone(),
                    w.b_aux_density.clone(),
                    w.aux.clone(),
                    &mut g1,
                ),
            )
        })
        .collect();
    #[allow(clippy::drop_non_drop)] // a GPU build's kernel holds the GPU lock
    drop(g1);
    let mut g2 = LockedMultiexpKernel::<G2Affine>::new(PRIORITY);
    let g2_sums: Vec<_> = witnesses
        .iter()
        .map(|w| {
            (
                multiexp(
                    &worker,
                    b2_inputs.clone(),
                    w.b_input_density.clone(),
                    w.inputs.clone(),
                    &mut g2,
                ),
                multiexp(
                    &worker,
                    b2_aux.clone(),
                    w.b_aux_density.clone(),
                    w.aux.clone(),
                    &mut g2,
                ),
            )
        })
        .collect();
    #[allow(clippy::drop_non_drop)] // a GPU build's kernel holds the GPU lock
    drop(g2);
    drop(witnesses);

    let gpu = |e| SynthesisError::from(bellperson::gpu::GpuError::from(e));
    g1_sums
        .into_iter()
        .zip(g2_sums)
        .zip(randomness)
        .map(
            |(((h, l, a_in, a_aux, b1_in, b1_aux), (b2_in, b2_aux)), (r, s))| {
                // A = α + Σ a_i·A_i + r·δ
                let mut a_sum = a_in.wait().map_err(gpu)?;
                a_sum.add_assign(&a_aux.wait().map_err(gpu)?);
                let mut g_a = vk.delta_g1.mul(r);
                g_a.add_assign(&vk.alpha_g1);
                g_a.add_assign(&a_sum);
                // B = β + Σ a_i·B_i + s·δ, in G2 (and its G1 twin for C)
                let mut b2_sum = b2_in.wait().map_err(gpu)?;
                b2_sum.add_assign(&b2_aux.wait().map_err(gpu)?);
                let mut g_b = vk.delta_g2.mul(s);
                g_b.add_assign(&vk.beta_g2);
                g_b.add_assign(&b2_sum);
                let mut b1_sum = b1_in.wait().map_err(gpu)?;
                b1_sum.add_assign(&b1_aux.wait().map_err(gpu)?);
                // C = s·A' + r·B1' + r·s·δ + h + l, where A' and B1' are A and B
                // without their r·δ and s·δ terms.
                a_sum.mul_assign(s);
                let mut g_c = a_sum;
                g_c.add_assign(&vk.alpha_g1.mul(s));
                b1_sum.mul_assign(r);
                g_c.add_assign(&b1_sum);
                g_c.add_assign(&vk.beta_g1.mul(r));
                g_c.add_assign(&vk.delta_g1.mul(r * s));
                g_c.add_assign(&h.wait().map_err(gpu)?);
                g_c.add_assign(&l.wait().map_err(gpu)?);
                Ok(Proof {
                    a: g_a.to_affine(),
                    b: g_b.to_affine(),
                    c: g_c.to_affine(),
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellperson::groth16::{generate_random_parameters, prepare_verifying_key, verify_proof};
    use rand_core::SeedableRng;

    /// x · y = z with z public, and a parallel part appended by `extend`.
    struct Product {
        x: Fr,
        y: Fr,
    }

    impl Circuit<Fr> for Product {
        fn synthesize<CS: ConstraintSystem<Fr>>(self, cs: &mut CS) -> Result<(), SynthesisError> {
            let x = cs.alloc(|| "x", || Ok(self.x))?;
            let y = cs.alloc(|| "y", || Ok(self.y))?;
            let z = cs.alloc_input(|| "z", || Ok(self.x * self.y))?;
            cs.enforce(|| "x·y=z", |lc| lc + x, |lc| lc + y, |lc| lc + z);
            let two = Fr::from(2u64);
            let w = cs.alloc(|| "w", || Ok(two * self.x + self.y))?;
            cs.enforce(
                || "(2x + y)·1 = w",
                |lc| lc + (two, x) + y,
                |lc| lc + CS::one(),
                |lc| lc + w,
            );
            Ok(())
        }
    }

    #[test]
    fn proofs_verify_and_a_wrong_input_does_not() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let params = generate_random_parameters::<Bls12, _, _>(
            Product {
                x: Fr::ZERO,
                y: Fr::ZERO,
            },
            &mut rng,
        )
        .unwrap();
        let pvk = prepare_verifying_key(&params.vk);
        let (x, y) = (Fr::from(3u64), Fr::from(11u64));
        let witnesses = synthesize(vec![Product { x, y }, Product { x: y, y: x }]).unwrap();
        assert!(witnesses.iter().all(|w| w.bytes() > 0));
        let proofs = prove(witnesses, &params, &mut rng).unwrap();
        assert_eq!(proofs.len(), 2);
        for proof in &proofs {
            assert!(verify_proof(&pvk, proof, &[x * y]).unwrap());
            assert!(!verify_proof(&pvk, proof, &[x * y + Fr::ONE]).unwrap());
        }
        // Fresh randomness per proof: the same statement, different proofs.
        assert_ne!(proofs[0].a, proofs[1].a);
        assert!(prove(Vec::new(), &params, &mut rng).unwrap().is_empty());
    }
}
