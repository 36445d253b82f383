//! ProveCommitSectors3 (34): the miner proves pre-committed sectors sealed
//! and activates them. For each sector: the pre-commit must be due (after
//! the interactive challenge delay, before its deadline), the seal proof is
//! verified for real through the FVM (`batch_verify_seals`, or
//! `verify_aggregate_seals` for a SnarkPack v2 aggregate of 4..819
//! sectors), the CommD computed from the declared pieces must equal the
//! pre-committed one, and then the sector is stored with its initial
//! pledge (locked from the balance; the pre-commit deposit is released),
//! assigned to a deadline partition, and the pieces' receivers (the market)
//! are notified.
//!
//! Power is not added here: as in v18, new sectors are unproven until their
//! first Window PoSt, which activates their power.

use cid::Cid;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::market::{BatchReturn, BatchReturnBuilder};
use ferrite_actor_types::miner::{
    MinerInfo, PieceActivationManifest, ProveCommitSectors3Params, SectorOnChainInfo,
    SectorOnChainInfoFlags, SectorPreCommitOnChainInfo,
};
use ferrite_actor_types::policy::{Policy, daily_proof_fee, qa_power_for_weight};
use fvm_ipld_encoding::RawBytes;
use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::piece::PieceInfo;
use fvm_shared::randomness::Randomness;
use fvm_shared::sector::{
    AggregateSealVerifyInfo, AggregateSealVerifyProofAndInfos, RegisteredAggregateProof,
    RegisteredSealProof, SealVerifyInfo, SectorID,
};
use num_traits::Zero;

use crate::commd::commd_cid;
use crate::control::{check_control_caller, miner_info};
use crate::env::{self, Tag};
use crate::ext;
use crate::funds::check_balance_invariants;
use crate::notify::{SectorActivation, notify_data_consumers};
use crate::state::{State, initial_pledge_for_power};
use ferrite_actor_types::policy::max_prove_commit_duration;

/// The network figures a sector's initial pledge depends on.
pub struct PledgeInputs {
    /// Smoothed network QA power.
    pub network_qap: ferrite_actor_types::smooth::FilterEstimate,
    /// The reward actor's baseline power.
    pub network_baseline: BigInt,
    /// Circulating supply.
    pub circulating_supply: TokenAmount,
    /// Smoothed per-epoch reward.
    pub epoch_reward: ferrite_actor_types::smooth::FilterEstimate,
    /// Epochs since the FIP-0081 pledge ramp started.
    pub epochs_since_ramp_start: i64,
    /// Length of the pledge ramp.
    pub ramp_duration_epochs: u64,
}

impl PledgeInputs {
    /// The current figures, asked from the reward and power actors.
    pub fn current() -> ActorResult<Self> {
        let reward = ext::this_epoch_reward()?;
        let power = ext::current_total_power()?;
        Ok(Self {
            network_qap: power.quality_adj_power_smoothed,
            network_baseline: reward.this_epoch_baseline_power,
            circulating_supply: ferrite_actor_rt::sdk::network::total_fil_circ_supply(),
            epoch_reward: reward.this_epoch_reward_smoothed,
            epochs_since_ramp_start: env::curr_epoch() - power.ramp_start_epoch,
            ramp_duration_epochs: power.ramp_duration_epochs,
        })
    }

    /// The initial pledge of a sector of QA power `qa`.
    pub fn initial_pledge(&self, qa: &BigInt) -> TokenAmount {
        initial_pledge_for_power(
            qa,
            &self.network_baseline,
            &self.epoch_reward,
            &self.network_qap,
            &self.circulating_supply,
            self.epochs_since_ramp_start,
            self.ramp_duration_epochs,
        )
    }
}

/// What a seal proof is verified against.
pub struct SealInputs {
    /// The seal proof type.
    pub proof: RegisteredSealProof,
    /// The sector number the replica was sealed with.
    pub sector_number: u64,
    /// The seal ticket.
    pub randomness: [u8; 32],
    /// The interactive challenge seed.
    pub interactive_randomness: [u8; 32],
    /// CommR.
    pub sealed_cid: Cid,
    /// CommD.
    pub unsealed_cid: Cid,
}

/// The data placed in one sector.
pub struct DataSpace {
    /// Bytes of unverified data.
    pub unverified: BigInt,
    /// Bytes of verified (FIL+) data.
    pub verified: BigInt,
}

/// ProveCommitSectors3 (34), from a controlling address; one result per
/// sector activation.
pub fn prove_commit_sectors3(p: ProveCommitSectors3Params) -> ActorResult<BatchReturn> {
    let policy = Policy::devnet();
    let store = ActorBlockstore;
    let st: State = env::state();
    let info = miner_info(&st)?;
    check_control_caller(&info)?;

    let numbers: Vec<u64> = p
        .sector_activations
        .iter()
        .map(|a| a.sector_number)
        .collect();
    let precommits = st.get_precommitted_sectors(&store, numbers.iter().copied())?;
    if precommits.is_empty() {
        return Err(ActorError::illegal_argument("no sectors to prove"));
    }
    if p.sector_proofs.is_empty() == p.aggregate_proof.is_empty() {
        return Err(ActorError::illegal_argument(
            "exactly one of sector proofs or aggregate proof must be non-empty",
        ));
    }
    let seal_proof = precommits[0].info.seal_proof;
    let batched = !p.sector_proofs.is_empty();
    if batched {
        if p.aggregate_proof_type.is_some() {
            return Err(ActorError::illegal_argument(
                "aggregate proof type must be null with batched proofs",
            ));
        }
        if p.sector_activations.len() != p.sector_proofs.len() {
            return Err(ActorError::illegal_argument(format!(
                "mismatched lengths: {} sector activations, {} proofs",
                p.sector_activations.len(),
                p.sector_proofs.len()
            )));
        }
        check_proof_sizes(seal_proof, &p.sector_proofs)?;
    } else {
        if p.aggregate_proof_type != Some(RegisteredAggregateProof::SnarkPackV2) {
            return Err(ActorError::illegal_argument(
                "aggregate proof type must be SnarkPackV2",
            ));
        }
        check_aggregate_proof(
            &policy,
            &p.aggregate_proof,
            p.sector_activations.len(),
            (policy.min_aggregated_sectors, policy.max_aggregated_sectors),
        )?;
    }

    // Validate the pre-commits and compute what each proof must match.
    let (validation, inputs) =
        validate_precommits(&policy, &precommits, p.require_activation_success)?;
    if validation.success_count == 0 {
        return Err(ActorError::illegal_argument(
            "no valid precommits specified",
        ));
    }

    // Verify the seal proofs of the valid pre-commits.
    let miner_id = env::receiver_id();
    let valid_precommits = successes_ref(&validation, &precommits);
    let valid_activations = successes_ref(&validation, &p.sector_activations);
    let mut proven_gen = BatchReturnBuilder::default();
    let mut proven = Vec::new();
    if batched {
        let valid_inputs = successes_ref(&validation, &inputs);
        let valid_proofs = successes_ref(&validation, &p.sector_proofs);
        let infos: Vec<SealVerifyInfo> = valid_inputs
            .iter()
            .zip(&valid_proofs)
            .map(|(i, proof)| seal_verify_info(miner_id, i, proof))
            .collect();
        let verified = ferrite_actor_rt::sdk::crypto::batch_verify_seals(&infos).map_err(|e| {
            ActorError::illegal_argument(format!("failed to batch verify seals: {e:?}"))
        })?;
        if verified.len() != infos.len() {
            return Err(ActorError::illegal_state(
                "batch verification answered the wrong count",
            ));
        }
        for ((ok, activation), precommit) in verified
            .iter()
            .zip(&valid_activations)
            .zip(&valid_precommits)
        {
            if *ok {
                proven_gen.add_success();
                proven.push((*activation, *precommit));
            } else {
                proven_gen.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
                if p.require_activation_success {
                    return Err(ActorError::illegal_argument(format!(
                        "invalid seal proof for sector {} while requiring activation success",
                        precommit.info.sector_number
                    )));
                }
            }
        }
    } else {
        // Every pre-commit, valid or not, is a witness of the aggregate.
        verify_aggregate_seal(miner_id, seal_proof, &inputs, &p.aggregate_proof)?;
        for (activation, precommit) in valid_activations.iter().zip(&valid_precommits) {
            proven_gen.add_success();
            proven.push((*activation, *precommit));
        }
    }
    let proven_batch = proven_gen.build();
    if proven_batch.success_count == 0 {
        return Err(ActorError::illegal_argument("no valid proofs specified"));
    }

    // Check each sector's data against its pre-committed CommD.
    let mut data_gen = BatchReturnBuilder::default();
    let mut activated = Vec::new();
    let mut spaces = Vec::new();
    for (activation, precommit) in &proven {
        let expected = commd_cid(&precommit.info.unsealed_cid, precommit.info.seal_proof)?;
        let computed = unsealed_cid_of_pieces(&activation.pieces, precommit.info.seal_proof)?;
        if computed != expected {
            return Err(ActorError::illegal_argument(format!(
                "unsealed CID does not match pieces for sector {}: computed {computed}, declared {expected}",
                precommit.info.sector_number
            )));
        }
        match data_space(&activation.pieces) {
            Ok(space) => {
                data_gen.add_success();
                activated.push((*activation, *precommit));
                spaces.push(space);
            }
            Err(e) => {
                if p.require_activation_success {
                    return Err(e);
                }
                data_gen.add_fail(e.code);
            }
        }
    }
    let data_batch = data_gen.build();
    if data_batch.success_count == 0 {
        return Err(ActorError::illegal_argument("all data activations failed"));
    }

    let pledge = PledgeInputs::current()?;
    let to_activate: Vec<(&SectorPreCommitOnChainInfo, DataSpace)> =
        activated.iter().map(|(_, pc)| *pc).zip(spaces).collect();
    activate_new_sectors(&policy, &to_activate, &pledge, &info)?;

    let notifications: Vec<SectorActivation> = activated
        .iter()
        .map(|(a, pc)| SectorActivation {
            sector_number: a.sector_number,
            expiration: pc.info.expiration,
            pieces: &a.pieces,
        })
        .collect();
    notify_data_consumers(&notifications, p.require_notification_success)?;

    Ok(stack(&[validation, proven_batch, data_batch]))
}

/// Refuses proofs longer than the proof type's size.
fn check_proof_sizes(proof: RegisteredSealProof, proofs: &[RawBytes]) -> ActorResult<()> {
    let max = proof
        .proof_size()
        .map_err(|e| ActorError::illegal_state(format!("proof size of {proof:?}: {e}")))?;
    for p in proofs {
        if p.len() > max {
            return Err(ActorError::illegal_argument(format!(
                "sector proof size {} exceeds max {max}",
                p.len()
            )));
        }
    }
    Ok(())
}

/// Checks the number of sectors an aggregate proves (within `min..=max`)
/// and its size.
pub fn check_aggregate_proof(
    policy: &Policy,
    proof: &RawBytes,
    sectors: usize,
    (min, max): (u64, u64),
) -> ActorResult<()> {
    let n = sectors as u64;
    if n > max {
        return Err(ActorError::illegal_argument(format!(
            "too many sectors addressed, addressed {n} want <= {max}"
        )));
    }
    if n < min {
        return Err(ActorError::illegal_argument(format!(
            "too few sectors addressed, addressed {n} want >= {min}"
        )));
    }
    if proof.len() > policy.max_aggregated_proof_size {
        return Err(ActorError::illegal_argument(format!(
            "aggregate proof of size {} exceeds max size of {}",
            proof.len(),
            policy.max_aggregated_proof_size
        )));
    }
    Ok(())
}

/// Verifies a SnarkPack v2 aggregate of the seal proofs of `inputs`.
pub fn verify_aggregate_seal(
    miner: u64,
    seal_proof: RegisteredSealProof,
    inputs: &[SealInputs],
    proof: &RawBytes,
) -> ActorResult<()> {
    let info = AggregateSealVerifyProofAndInfos {
        miner,
        seal_proof,
        aggregate_proof: RegisteredAggregateProof::SnarkPackV2,
        proof: proof.to_vec(),
        infos: inputs
            .iter()
            .map(|i| AggregateSealVerifyInfo {
                sector_number: i.sector_number,
                randomness: Randomness(i.randomness.to_vec()),
                interactive_randomness: Randomness(i.interactive_randomness.to_vec()),
                sealed_cid: i.sealed_cid,
                unsealed_cid: i.unsealed_cid,
            })
            .collect(),
    };
    match ferrite_actor_rt::sdk::crypto::verify_aggregate_seals(&info) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ActorError::illegal_argument(
            "aggregate seal verify failed: invalid proof",
        )),
        Err(e) => Err(ActorError::illegal_argument(format!(
            "aggregate seal verify failed: {e:?}"
        ))),
    }
}

/// Checks that each pre-commit may be proven now and draws its seal
/// randomness (the ticket at its seal epoch, and the interactive seed
/// `PRE_COMMIT_CHALLENGE_DELAY` after its pre-commit).
fn validate_precommits(
    policy: &Policy,
    precommits: &[SectorPreCommitOnChainInfo],
    all_or_nothing: bool,
) -> ActorResult<(BatchReturn, Vec<SealInputs>)> {
    let epoch = env::curr_epoch();
    let entropy = env::address_entropy()?;
    let mut batch = BatchReturnBuilder::default();
    let mut inputs = Vec::with_capacity(precommits.len());
    for (i, pc) in precommits.iter().enumerate() {
        // New onboarding does not take deals declared at pre-commit.
        let mut valid = pc.info.deal_ids.is_empty();
        let msd = max_prove_commit_duration(policy, pc.info.seal_proof).ok_or_else(|| {
            ActorError::illegal_state(format!(
                "no max seal duration for proof type {}",
                i64::from(pc.info.seal_proof)
            ))
        })?;
        if epoch > pc.pre_commit_epoch + msd {
            valid = false;
        }
        if i > 0 && precommits[i - 1].info.seal_proof != pc.info.seal_proof {
            return Err(ActorError::illegal_state(
                "pre-commits have mismatched seal proofs",
            ));
        }
        let interactive_epoch = pc.pre_commit_epoch + policy.pre_commit_challenge_delay;
        if epoch <= interactive_epoch {
            return Err(ActorError::forbidden("too early to prove sector"));
        }
        inputs.push(SealInputs {
            proof: pc.info.seal_proof,
            sector_number: pc.info.sector_number,
            randomness: env::chain_randomness(
                Tag::SealRandomness,
                pc.info.seal_rand_epoch,
                &entropy,
            )?,
            interactive_randomness: env::beacon_randomness(
                Tag::InteractiveSealChallengeSeed,
                interactive_epoch,
                &entropy,
            )?,
            sealed_cid: pc.info.sealed_cid,
            unsealed_cid: commd_cid(&pc.info.unsealed_cid, pc.info.seal_proof)?,
        });
        if valid {
            batch.add_success();
        } else if all_or_nothing {
            return Err(ActorError::illegal_argument(format!(
                "invalid pre-commit {i} while requiring activation success"
            )));
        } else {
            batch.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
        }
    }
    Ok((batch.build(), inputs))
}

/// The proofs API's input for one sector.
fn seal_verify_info(miner: u64, i: &SealInputs, proof: &RawBytes) -> SealVerifyInfo {
    SealVerifyInfo {
        registered_proof: i.proof,
        sector_id: SectorID {
            miner,
            number: i.sector_number,
        },
        deal_ids: Vec::new(),
        randomness: Randomness(i.randomness.to_vec()),
        interactive_randomness: Randomness(i.interactive_randomness.to_vec()),
        proof: proof.to_vec(),
        sealed_cid: i.sealed_cid,
        unsealed_cid: i.unsealed_cid,
    }
}

/// The CommD of a sector holding `pieces` (the zero CommD of the sector
/// size when there are none).
pub(crate) fn unsealed_cid_of_pieces(
    pieces: &[PieceActivationManifest],
    proof: RegisteredSealProof,
) -> ActorResult<Cid> {
    if pieces.is_empty() {
        return commd_cid(&ferrite_actor_types::miner::CompactCommD::empty(), proof);
    }
    let infos: Vec<PieceInfo> = pieces
        .iter()
        .map(|p| PieceInfo {
            cid: p.cid,
            size: p.size,
        })
        .collect();
    ferrite_actor_rt::sdk::crypto::compute_unsealed_sector_cid(proof, &infos).map_err(|e| {
        ActorError::illegal_argument(format!("failed to compute unsealed sector CID: {e:?}"))
    })
}

/// The unverified and verified data space of a sector's pieces.
///
/// Less than v18: verified allocations (FIL+ claims through the verified
/// registry) are not supported, since the registry is not implemented; a
/// sector with such a piece fails activation.
pub(crate) fn data_space(pieces: &[PieceActivationManifest]) -> ActorResult<DataSpace> {
    let mut unverified = BigInt::zero();
    for p in pieces {
        if p.verified_allocation_key.is_some() {
            return Err(ActorError::illegal_argument(
                "verified allocations are not supported by this bundle",
            ));
        }
        unverified += p.size.0;
    }
    Ok(DataSpace {
        unverified,
        verified: BigInt::zero(),
    })
}

/// Stores the newly proven sectors, assigns them to deadlines, releases
/// their pre-commit deposits and locks their initial pledge, then reports
/// the pledge to the power actor.
pub fn activate_new_sectors(
    policy: &Policy,
    sectors: &[(&SectorPreCommitOnChainInfo, DataSpace)],
    pledge: &PledgeInputs,
    info: &MinerInfo,
) -> ActorResult<()> {
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    let total_pledge = env::transaction(|st: &mut State| {
        let mut new_sectors = Vec::with_capacity(sectors.len());
        let mut numbers = Vec::with_capacity(sectors.len());
        let mut deposit_to_unlock = TokenAmount::zero();
        let mut total_pledge = TokenAmount::zero();
        for (pc, space) in sectors {
            let duration = pc.info.expiration - epoch;
            if duration < policy.min_sector_expiration {
                return Err(ActorError::illegal_argument(format!(
                    "sector {} lifetime {duration} is less than the minimum {}",
                    pc.info.sector_number, policy.min_sector_expiration
                )));
            }
            let deal_weight = &space.unverified * duration;
            let verified_deal_weight = &space.verified * duration;
            let power = qa_power_for_weight(info.sector_size, duration, &verified_deal_weight);
            let daily_fee = daily_proof_fee(policy, &pledge.circulating_supply, &power);
            let initial_pledge = pledge.initial_pledge(&power);
            deposit_to_unlock += &pc.pre_commit_deposit;
            total_pledge += &initial_pledge;
            numbers.push(pc.info.sector_number);
            new_sectors.push(SectorOnChainInfo {
                sector_number: pc.info.sector_number,
                seal_proof: pc.info.seal_proof,
                sealed_cid: pc.info.sealed_cid,
                deprecated_deal_ids: Vec::new(),
                activation: epoch,
                expiration: pc.info.expiration,
                deal_weight,
                verified_deal_weight,
                initial_pledge,
                expected_day_reward: None,
                expected_storage_pledge: None,
                power_base_epoch: epoch,
                replaced_day_reward: None,
                sector_key_cid: None,
                flags: SectorOnChainInfoFlags::SIMPLE_QA_POWER,
                daily_fee,
            });
        }
        st.put_sectors(&store, new_sectors.clone())?;
        st.delete_precommitted_sectors(&store, &numbers)?;
        st.assign_sectors_to_deadlines(
            policy,
            &store,
            epoch,
            new_sectors,
            info.window_post_partition_sectors,
            info.sector_size,
        )?;
        st.add_pre_commit_deposit(&-deposit_to_unlock)?;
        let unlocked = st.get_unlocked_balance(&env::balance())?;
        if unlocked < total_pledge {
            return Err(ActorError::insufficient_funds(format!(
                "insufficient funds for initial pledge {total_pledge}, available {unlocked}"
            )));
        }
        st.add_initial_pledge(&total_pledge)?;
        Ok(total_pledge)
    })?;
    check_balance_invariants()?;
    ext::update_pledge(&total_pledge)
}

/// References to the items of `items` that succeeded in `batch`.
pub(crate) fn successes_ref<'a, T>(batch: &BatchReturn, items: &'a [T]) -> Vec<&'a T> {
    items
        .iter()
        .zip(batch.codes())
        .filter(|(_, c)| c.is_success())
        .map(|(t, _)| t)
        .collect()
}

/// Chains batches: each batch after the first covers only the successes
/// of the one before; the result has one code per item of the first.
pub(crate) fn stack(batches: &[BatchReturn]) -> BatchReturn {
    let Some((first, rest)) = batches.split_first() else {
        return BatchReturn::ok(0);
    };
    let mut codes = first.codes();
    for b in rest {
        let mut next = b.codes().into_iter();
        for c in codes.iter_mut().filter(|c| c.is_success()) {
            *c = next.next().unwrap_or(ExitCode::OK);
        }
    }
    BatchReturn::of(&codes)
}
