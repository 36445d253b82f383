//! WinningPoSt for block production: the node's [`BlockProver`], which the
//! devnet calls when its miner is elected (see `ferrite_chain::winning` for
//! the election rule and the check the block then passes).
//!
//! The devnet calls it from block production, which already runs off the
//! async runtime (`spawn_blocking`), so it proves synchronously: it locates
//! the challenged sectors' replicas through [`Replicas`] (by the CommR the
//! chain holds: a snapped sector's update once it landed), checks them first
//! (Lotus's `CheckProvable`: the vanilla proofs of the leaves this block's
//! randomness challenges, read from the sealed file and checked against the
//! cached tree), and only then runs ferrite-proofs' `generate_winning_post`
//! over them; the worker key in the node's wallet signs the election VRF and
//! the block. A challenged sector that fails the check fails the proof at
//! once, with the reason, and the block goes out without a winner; the
//! WindowPoSt loop declares the sector faulty at its next check.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use ferrite_chain::wallet::Wallet;
use ferrite_chain::winning::{BlockProver, WinningPostRequest};
use ferrite_proofs::post::{PostInput, ProvingSector};
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::sector::PoStProof;

use crate::Replicas;

/// Proves the blocks the node's miner wins, with its replicas and its wallet.
#[derive(Debug, Clone)]
pub struct WinningProver {
    replicas: Arc<dyn Replicas>,
    wallet: Arc<Mutex<Wallet>>,
}

impl WinningProver {
    /// A prover that finds replicas with `replicas` and signs with the
    /// worker key in `wallet`.
    pub fn new(replicas: Arc<dyn Replicas>, wallet: Arc<Mutex<Wallet>>) -> Self {
        Self { replicas, wallet }
    }
}

impl BlockProver for WinningProver {
    fn sign(&self, key: &Address, data: &[u8]) -> anyhow::Result<Signature> {
        let wallet = self.wallet.lock().unwrap_or_else(|p| p.into_inner());
        wallet.sign(key, data)
    }

    fn prove(&self, req: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>> {
        prove(self.replicas.as_ref(), req)
    }
}

/// The WinningPoSt of `req` over the replicas `replicas` finds: the
/// challenged sectors are checked readable first (see the module docs).
/// Synchronous and CPU-heavy: call it off the async runtime. `ferrite run`'s
/// mining loop calls it for blocks it submits to a remote chain node.
pub fn prove(replicas: &dyn Replicas, req: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>> {
    let sectors = req
        .sectors
        .iter()
        .map(|s| {
            let replica = replicas
                .locate(req.miner, s.number, s.comm_r)
                .with_context(|| format!("no replica of challenged sector {}", s.number.0))?;
            Ok(ProvingSector {
                number: s.number,
                comm_r: s.comm_r,
                cache_dir: replica.cache,
                sealed_path: replica.sealed,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bad = ferrite_proofs::post::check_provable(req.proof, req.miner, req.randomness, &sectors)
        .with_context(|| format!("check the challenged sectors of epoch {}", req.epoch))?;
    if let Some((number, why)) = bad.first() {
        anyhow::bail!(
            "challenged sector {} cannot be proven at epoch {}: {why}",
            number.0,
            req.epoch
        );
    }
    let proofs = ferrite_proofs::post::generate_winning_post(&PostInput {
        proof: req.proof,
        miner: req.miner,
        randomness: req.randomness,
        sectors,
    })
    .with_context(|| format!("generate the WinningPoSt of epoch {}", req.epoch))?;
    Ok(proofs
        .into_iter()
        .map(|p| PoStProof {
            post_proof: p.proof.into(),
            proof_bytes: p.bytes,
        })
        .collect())
}
