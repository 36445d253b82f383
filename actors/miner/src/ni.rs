//! ProveCommitSectorsNI (36): non-interactive PoRep. Sectors are committed
//! and activated in one step, without pre-commits: their seal randomness is
//! drawn at the declared epoch and an aggregate (SnarkPack v2) proof covers
//! them all. The sectors hold no data (CommD is the zero CommD, power is
//! raw) and go to the deadline the miner names, which must not be the
//! current or next one.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::market::{BatchReturn, BatchReturnBuilder};
use ferrite_actor_types::miner::{
    CRON_EVENT_PROVING_DEADLINE, CompactCommD, ProveCommitSectorsNIParams, SectorNIActivationInfo,
    SectorOnChainInfo, SectorOnChainInfoFlags,
};
use ferrite_actor_types::policy::{
    Policy, can_prove_commit_ni_seal_proof, daily_proof_fee, is_sealed_sector, raw_power_for_sector,
};
use fvm_ipld_bitfield::BitField;
use fvm_shared::bigint::BigInt;
use fvm_shared::error::ExitCode;
use fvm_shared::sector::{RegisteredAggregateProof, RegisteredSealProof};
use num_traits::Zero;

use crate::commd::commd_cid;
use crate::control::{check_control_caller, miner_info};
use crate::env::{self, Tag};
use crate::ext;
use crate::funds::{check_balance_invariants, repay_debts_or_abort};
use crate::getters::MAX_SECTOR_NUMBER;
use crate::precommit::{consensus_fault_active, validate_expiration};
use crate::provecommit::{PledgeInputs, SealInputs, check_aggregate_proof, verify_aggregate_seal};
use crate::state::{CollisionPolicy, State, deadline_is_mutable};

/// ProveCommitSectorsNI (36), from a controlling address; one result per
/// sector.
pub fn prove_commit_sectors_ni(p: ProveCommitSectorsNIParams) -> ActorResult<BatchReturn> {
    let policy = Policy::devnet();
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    let st: State = env::state();
    let info = miner_info(&st)?;
    check_aggregate_proof(
        &policy,
        &p.aggregate_proof,
        p.sectors.len(),
        (
            policy.min_aggregated_sectors_ni,
            policy.max_aggregated_sectors_ni,
        ),
    )?;
    check_control_caller(&info)?;
    if p.proving_deadline >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_argument(format!(
            "proving deadline index {} invalid",
            p.proving_deadline
        )));
    }
    let period_start = st.current_proving_period_start(&policy, epoch);
    if !deadline_is_mutable(&policy, period_start, p.proving_deadline, epoch) {
        return Err(ActorError::forbidden(format!(
            "proving deadline {} must not be the current or next deadline",
            p.proving_deadline
        )));
    }
    if consensus_fault_active(&info, epoch) {
        return Err(ActorError::forbidden(
            "ProveCommitSectorsNI not allowed during active consensus fault",
        ));
    }
    if !can_prove_commit_ni_seal_proof(&policy, p.seal_proof_type) {
        return Err(ActorError::illegal_argument(format!(
            "unsupported seal proof type {}",
            i64::from(p.seal_proof_type)
        )));
    }
    if p.aggregate_proof_type != RegisteredAggregateProof::SnarkPackV2 {
        return Err(ActorError::illegal_argument(
            "aggregate proof type must be SnarkPackV2",
        ));
    }

    let (validation, inputs, numbers) = validate_sectors(
        &policy,
        &p.sectors,
        p.seal_proof_type,
        p.require_activation_success,
    )?;
    if validation.success_count == 0 {
        return Err(ActorError::illegal_argument(
            "no valid NI commits specified",
        ));
    }
    let valid = validation.successes(&p.sectors);
    // Every sector, valid or not, is a witness of the aggregate.
    verify_aggregate_seal(
        valid[0].sealer_id,
        p.seal_proof_type,
        &inputs,
        &p.aggregate_proof,
    )?;

    // Without data, QA power is raw power.
    let power = raw_power_for_sector(info.sector_size);
    let pledge = PledgeInputs::current()?;
    let initial_pledge = pledge.initial_pledge(&power);
    let daily_fee = daily_proof_fee(&policy, &pledge.circulating_supply, &power);
    let new_sectors: Vec<SectorOnChainInfo> = valid
        .iter()
        .map(|s| SectorOnChainInfo {
            sector_number: s.sector_number,
            seal_proof: p.seal_proof_type,
            sealed_cid: s.sealed_cid,
            deprecated_deal_ids: Vec::new(),
            activation: epoch,
            expiration: s.expiration,
            deal_weight: BigInt::zero(),
            verified_deal_weight: BigInt::zero(),
            initial_pledge: initial_pledge.clone(),
            expected_day_reward: None,
            expected_storage_pledge: None,
            power_base_epoch: epoch,
            replaced_day_reward: None,
            sector_key_cid: None,
            flags: SectorOnChainInfoFlags::SIMPLE_QA_POWER,
            daily_fee: daily_fee.clone(),
        })
        .collect();
    let total_pledge = initial_pledge * BigInt::from(new_sectors.len());

    let (needs_cron, fee_to_burn) = env::transaction(|st: &mut State| {
        let unlocked = st.get_unlocked_balance(&env::balance())?;
        if unlocked < total_pledge {
            return Err(ActorError::insufficient_funds(format!(
                "insufficient funds for initial pledge {total_pledge}, available {unlocked}"
            )));
        }
        let needs_cron = !st.deadline_cron_active;
        st.deadline_cron_active = true;
        st.allocate_sector_numbers(&store, &numbers, CollisionPolicy::DenyCollisions)?;
        st.put_sectors(&store, new_sectors.clone())?;
        st.assign_sectors_to_deadline(
            &policy,
            &store,
            epoch,
            new_sectors,
            info.window_post_partition_sectors,
            info.sector_size,
            p.proving_deadline,
        )?;
        st.add_initial_pledge(&total_pledge)?;
        let fee_to_burn = repay_debts_or_abort(st)?;
        Ok((needs_cron, fee_to_burn))
    })?;
    ext::burn(&fee_to_burn)?;
    ext::update_pledge(&total_pledge)?;
    check_balance_invariants()?;
    if needs_cron {
        let st: State = env::state();
        ext::enroll_cron(
            st.deadline_info(&policy, epoch).last(),
            CRON_EVENT_PROVING_DEADLINE,
        )?;
    }
    Ok(validation)
}

/// Checks each sector and draws its seal randomness; returns the results,
/// the proof inputs of every sector (valid or not) and every sector number
/// named.
fn validate_sectors(
    policy: &Policy,
    sectors: &[SectorNIActivationInfo],
    proof: RegisteredSealProof,
    all_or_nothing: bool,
) -> ActorResult<(BatchReturn, Vec<SealInputs>, BitField)> {
    let epoch = env::curr_epoch();
    let miner = env::receiver_id();
    let earliest_rand = epoch - policy.max_prove_commit_ni_randomness_lookback;
    let unsealed_cid = commd_cid(&CompactCommD::empty(), proof)?;
    let entropy = env::address_entropy()?;
    let mut batch = BatchReturnBuilder::default();
    let mut inputs = Vec::with_capacity(sectors.len());
    let mut numbers = BitField::new();
    for (i, s) in sectors.iter().enumerate() {
        if numbers.get(s.sector_number) {
            return Err(ActorError::illegal_argument(format!(
                "duplicate sector number {}",
                s.sector_number
            )));
        }
        numbers.set(s.sector_number);
        if s.seal_rand_epoch >= epoch {
            return Err(ActorError::illegal_argument(format!(
                "seal challenge epoch {} must be before now {epoch}",
                s.seal_rand_epoch
            )));
        }
        let valid = s.sector_number <= MAX_SECTOR_NUMBER
            && validate_expiration(policy, epoch, epoch, s.expiration, proof).is_ok()
            && s.sealer_id == miner
            && s.sector_number == s.sealing_number
            && is_sealed_sector(&s.sealed_cid)
            && s.seal_rand_epoch >= earliest_rand;
        inputs.push(SealInputs {
            proof,
            sector_number: s.sealing_number,
            randomness: env::chain_randomness(Tag::SealRandomness, s.seal_rand_epoch, &entropy)?,
            // NI-PoRep has no interactive challenge.
            interactive_randomness: [1u8; 32],
            sealed_cid: s.sealed_cid,
            unsealed_cid,
        });
        if valid {
            batch.add_success();
        } else if all_or_nothing {
            return Err(ActorError::illegal_argument(format!(
                "invalid NI commit {i} while requiring activation success"
            )));
        } else {
            batch.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
        }
    }
    Ok((batch.build(), inputs, numbers))
}
