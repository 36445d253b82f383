//! ProveReplicaUpdates3 (35): SnapDeals. The miner puts data into proven
//! committed-capacity sectors without sealing them again: each update names
//! a sector, where it is (deadline and partition), its new replica's CommR
//! and the pieces now in it. For each update: the sector must be active
//! and proven, in a deadline that is not being proven, and hold no data yet
//! (a CC sector: no deal weight, so no "re-snap"); the replica-update proof
//! is verified for real through the FVM (`verify_replica_update`), against
//! the old CommR (which becomes the sector key), the new CommR and the
//! CommD computed from the pieces. Then the sector record takes the new
//! CommR and deal weight, its power base epoch restarts, its pledge is
//! raised to what a new sector of its power would pledge (never lowered),
//! its partition's expiration queue is rewritten, and the pieces'
//! receivers (the market) are notified as in ProveCommitSectors3.
//!
//! Less than v18: FIL+ pieces (verified allocations) are refused, as in
//! ProveCommitSectors3, and no `sector-updated` event is emitted. As in
//! v18, aggregate update proofs are not supported.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::market::{BatchReturn, BatchReturnBuilder};
use ferrite_actor_types::miner::{
    PowerPair, ProveReplicaUpdates3Params, SectorOnChainInfo, SectorOnChainInfoFlags,
    SectorUpdateManifest,
};
use ferrite_actor_types::policy::{
    Policy, daily_proof_fee, daily_proof_fee_adjust, is_sealed_sector, qa_power_for_weight,
};
use fvm_ipld_encoding::RawBytes;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::sector::{RegisteredUpdateProof, ReplicaUpdateInfo, SectorSize};
use num_traits::Zero;

use crate::control::{check_control_caller, miner_info};
use crate::env;
use crate::ext;
use crate::funds::check_balance_invariants;
use crate::notify::{SectorActivation, notify_data_consumers};
use crate::provecommit::{
    DataSpace, PledgeInputs, data_space, stack, successes_ref, unsealed_cid_of_pieces,
};
use crate::state::{Sectors, State, deadline_is_mutable};

/// The largest update proof accepted.
const MAX_UPDATE_PROOF_SIZE: usize = 4096;

/// ProveReplicaUpdates3 (35), from a controlling address; one result per
/// update.
pub fn prove_replica_updates3(p: ProveReplicaUpdates3Params) -> ActorResult<BatchReturn> {
    let policy = Policy::devnet();
    let store = ActorBlockstore;
    let st: State = env::state();
    let info = miner_info(&st)?;
    check_control_caller(&info)?;
    check_proof_shape(&p)?;

    let sectors = Sectors::load(&store, &st.sectors)?;
    let infos = p
        .sector_updates
        .iter()
        .map(|u| sectors.must_get(u.sector))
        .collect::<ActorResult<Vec<_>>>()?;
    let validation = validate_updates(&policy, &st, &p, &infos)?;

    // Verify the proofs of the valid updates.
    if p.sector_proofs.is_empty() {
        return Err(ActorError::illegal_argument(
            "aggregate update proofs not yet supported",
        ));
    }
    if p.sector_updates.len() != p.sector_proofs.len() {
        return Err(ActorError::illegal_argument(format!(
            "mismatched lengths: {} sector updates, {} proofs",
            p.sector_updates.len(),
            p.sector_proofs.len()
        )));
    }
    let update_proof = RegisteredUpdateProof::from(p.update_proofs_type);
    let mut proven_gen = BatchReturnBuilder::default();
    let mut proven = Vec::new();
    for ((update, sector), proof) in successes_ref(&validation, &p.sector_updates)
        .into_iter()
        .zip(successes_ref(&validation, &infos))
        .zip(successes_ref(&validation, &p.sector_proofs))
    {
        let new_unsealed_cid = unsealed_cid_of_pieces(&update.pieces, sector.seal_proof)?;
        if verify_update(update_proof, sector, update, new_unsealed_cid, proof) {
            proven_gen.add_success();
            proven.push((update, sector));
        } else {
            proven_gen.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
            if p.require_activation_success {
                return Err(ActorError::illegal_argument(format!(
                    "invalid proof for sector {} while requiring activation success",
                    sector.sector_number
                )));
            }
        }
    }
    if proven.is_empty() {
        return Err(ActorError::illegal_argument("no valid updates"));
    }
    let proven_batch = proven_gen.build();

    // The data of the proven updates.
    let mut data_gen = BatchReturnBuilder::default();
    let mut activated = Vec::new();
    for (update, sector) in proven {
        match data_space(&update.pieces) {
            Ok(space) => {
                data_gen.add_success();
                activated.push(Activated {
                    update,
                    sector,
                    space,
                });
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

    let (power_delta, pledge_delta) = update_sector_states(&policy, &activated, info.sector_size)?;
    ext::update_pledge(&pledge_delta)?;
    ext::update_power(&power_delta)?;

    let notifications: Vec<SectorActivation> = activated
        .iter()
        .map(|a| SectorActivation {
            sector_number: a.update.sector,
            expiration: a.sector.expiration,
            pieces: &a.update.pieces,
        })
        .collect();
    notify_data_consumers(&notifications, p.require_notification_success)?;

    Ok(stack(&[validation, proven_batch, data_batch]))
}

/// An update that passed every check, with its data.
struct Activated<'a> {
    update: &'a SectorUpdateManifest,
    sector: &'a SectorOnChainInfo,
    space: DataSpace,
}

/// Exactly one of per-sector proofs or an aggregate, with a type only for
/// an aggregate.
fn check_proof_shape(p: &ProveReplicaUpdates3Params) -> ActorResult<()> {
    let exactly_one = "exactly one of sector proofs or aggregate proof must be non-empty";
    if !p.sector_proofs.is_empty() {
        if !p.aggregate_proof.is_empty() {
            return Err(ActorError::illegal_argument(exactly_one));
        }
        if p.aggregate_proof_type.is_some() {
            return Err(ActorError::illegal_argument(
                "aggregate proof type must be empty when sector proofs are specified",
            ));
        }
    } else {
        if p.aggregate_proof.is_empty() {
            return Err(ActorError::illegal_argument(exactly_one));
        }
        if p.aggregate_proof_type.is_none() {
            return Err(ActorError::illegal_argument(
                "aggregate proof type must be specified when aggregate proof is specified",
            ));
        }
    }
    Ok(())
}

/// Checks each update against its sector; with
/// `require_activation_success` the first failure aborts with its own code.
fn validate_updates(
    policy: &Policy,
    st: &State,
    p: &ProveReplicaUpdates3Params,
    infos: &[SectorOnChainInfo],
) -> ActorResult<BatchReturn> {
    let epoch = env::curr_epoch();
    let period_start = st.current_proving_period_start(policy, epoch);
    let empty = RawBytes::default();
    let mut seen = BTreeSet::new();
    let mut batch = BatchReturnBuilder::default();
    for (i, (update, sector)) in p.sector_updates.iter().zip(infos).enumerate() {
        let proof = p.sector_proofs.get(i).unwrap_or(&empty);
        let mut check = || -> ActorResult<()> {
            let n = update.sector;
            if !seen.insert(n) {
                return Err(ActorError::illegal_argument(format!(
                    "skipping duplicate sector {n}"
                )));
            }
            if proof.len() > MAX_UPDATE_PROOF_SIZE {
                return Err(ActorError::illegal_argument(format!(
                    "update proof is too large ({}), skipping sector {n}",
                    proof.len()
                )));
            }
            if update.deadline >= policy.wpost_period_deadlines {
                return Err(ActorError::illegal_argument(format!(
                    "deadline {} not in range 0..{}, skipping sector {n}",
                    update.deadline, policy.wpost_period_deadlines
                )));
            }
            if !is_sealed_sector(&update.new_sealed_cid) {
                return Err(ActorError::illegal_argument(format!(
                    "new sealed CID had wrong prefix {}, skipping sector {n}",
                    update.new_sealed_cid
                )));
            }
            if !deadline_is_mutable(policy, period_start, update.deadline, epoch) {
                return Err(ActorError::illegal_argument(format!(
                    "cannot upgrade sectors in immutable deadline {}, skipping sector {n}",
                    update.deadline
                )));
            }
            if !st.check_sector_active(
                &ActorBlockstore,
                update.deadline,
                update.partition,
                n,
                true,
            )? {
                return Err(ActorError::illegal_argument(format!(
                    "sector isn't active, skipping sector {n}"
                )));
            }
            // Only CC sectors: one that holds data (a snapped one) is not
            // updated again.
            if !(&sector.deal_weight + &sector.verified_deal_weight).is_zero() {
                return Err(ActorError::illegal_argument(format!(
                    "cannot update sector with non-zero data, skipping sector {n}"
                )));
            }
            let expected = sector.seal_proof.registered_update_proof().map_err(|e| {
                ActorError::illegal_state(format!("couldn't load update proof type: {e}"))
            })?;
            if p.update_proofs_type != i64::from(expected) {
                return Err(ActorError::illegal_argument(format!(
                    "expected proof type {}, was {}",
                    i64::from(expected),
                    p.update_proofs_type
                )));
            }
            Ok(())
        };
        match check() {
            Ok(()) => batch.add_success(),
            Err(e) if p.require_activation_success => {
                return Err(ActorError::new(
                    e.code,
                    format!(
                        "invalid update {i} while requiring activation success: {}",
                        e.msg
                    ),
                ));
            }
            Err(_) => batch.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT),
        }
    }
    Ok(batch.build())
}

/// Verifies one update proof through the FVM. A proof the kernel cannot
/// read is as invalid as one that does not verify.
fn verify_update(
    update_proof: RegisteredUpdateProof,
    sector: &SectorOnChainInfo,
    update: &SectorUpdateManifest,
    new_unsealed_cid: Cid,
    proof: &RawBytes,
) -> bool {
    let info = ReplicaUpdateInfo {
        update_proof_type: update_proof,
        old_sealed_cid: sector.sealed_cid,
        new_sealed_cid: update.new_sealed_cid,
        new_unsealed_cid,
        proof: proof.to_vec(),
    };
    matches!(
        ferrite_actor_rt::sdk::crypto::verify_replica_update(&info),
        Ok(true)
    )
}

/// Rewrites the updated sectors and their partitions; returns the power
/// and pledge deltas (the pledge is locked here).
fn update_sector_states(
    policy: &Policy,
    activated: &[Activated],
    sector_size: SectorSize,
) -> ActorResult<(PowerPair, TokenAmount)> {
    let pledge = PledgeInputs::current()?;
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    let mut by_deadline = BTreeMap::<u64, Vec<&Activated>>::new();
    for a in activated {
        by_deadline.entry(a.update.deadline).or_default().push(a);
    }
    let deltas = env::transaction(|st: &mut State| {
        let mut deadlines = st.load_deadlines(&store)?;
        let mut sectors = Sectors::load(&store, &st.sectors)?;
        let mut new_sectors = Vec::with_capacity(activated.len());
        let mut power_delta = PowerPair::zero();
        let mut pledge_delta = TokenAmount::zero();
        for (&dl_idx, updates) in &by_deadline {
            let mut deadline = deadlines.load_deadline(&store, dl_idx)?;
            let mut partitions = deadline.partitions_amt(&store)?;
            let quant = st.quant_spec_for_deadline(policy, dl_idx);
            let mut dl_power = PowerPair::zero();
            let mut dl_fee = TokenAmount::zero();
            for a in updates {
                let new = updated_sector(policy, a, &pledge, sector_size, epoch);
                let mut partition = partitions
                    .get(a.update.partition)
                    .state_err("load partition")?
                    .cloned()
                    .ok_or_else(|| {
                        ActorError::not_found(format!(
                            "no such deadline {dl_idx} partition {}",
                            a.update.partition
                        ))
                    })?;
                let (p_power, p_pledge, p_fee) = partition.replace_sectors(
                    &store,
                    std::slice::from_ref(a.sector),
                    std::slice::from_ref(&new),
                    sector_size,
                    quant,
                )?;
                dl_power += &p_power;
                pledge_delta += &p_pledge;
                dl_fee += &p_fee;
                partitions
                    .set(a.update.partition, partition)
                    .state_err("save partition")?;
                new_sectors.push(new);
            }
            deadline.live_power += &dl_power;
            deadline.daily_fee += &dl_fee;
            power_delta += &dl_power;
            deadline.partitions = partitions.flush().state_err("save partitions")?;
            deadlines.update_deadline(policy, &store, dl_idx, &deadline)?;
        }
        sectors.store(new_sectors)?;
        st.sectors = sectors.amt.flush().state_err("save sectors")?;
        st.save_deadlines(&store, deadlines)?;
        if pledge_delta.is_positive() {
            let unlocked = st.get_unlocked_balance(&env::balance())?;
            if unlocked < pledge_delta {
                return Err(ActorError::insufficient_funds(format!(
                    "insufficient funds for aggregate initial pledge requirement {pledge_delta}, \
                     available: {unlocked}"
                )));
            }
        }
        st.add_initial_pledge(&pledge_delta)?;
        Ok((power_delta, pledge_delta))
    })?;
    check_balance_invariants()?;
    Ok(deltas)
}

/// The sector's record once its update is in: the new CommR (the old one
/// kept as the sector key), deal weights over the remaining life, and the
/// pledge and daily fee of its new power.
fn updated_sector(
    policy: &Policy,
    a: &Activated,
    pledge: &PledgeInputs,
    sector_size: SectorSize,
    epoch: ChainEpoch,
) -> SectorOnChainInfo {
    let old = a.sector;
    let mut new = old.clone();
    new.flags.insert(SectorOnChainInfoFlags::SIMPLE_QA_POWER);
    new.sealed_cid = a.update.new_sealed_cid;
    new.sector_key_cid = Some(old.sector_key_cid.unwrap_or(old.sealed_cid));
    new.power_base_epoch = epoch;
    let duration = new.expiration - epoch;
    new.deal_weight = &a.space.unverified * duration;
    new.verified_deal_weight = &a.space.verified * duration;
    let new_power = qa_power_for_weight(sector_size, duration, &new.verified_deal_weight);
    new.expected_day_reward = None;
    new.replaced_day_reward = None;
    new.expected_storage_pledge = None;
    new.initial_pledge = new
        .initial_pledge
        .clone()
        .max(pledge.initial_pledge(&new_power));
    if new.daily_fee.is_zero() {
        // A sector sealed before FIP-0100 starts paying now.
        new.daily_fee = daily_proof_fee(policy, &pledge.circulating_supply, &new_power);
    } else {
        let old_power = qa_power_for_weight(sector_size, duration, &old.verified_deal_weight);
        if old_power != new_power {
            new.daily_fee = daily_proof_fee_adjust(&new.daily_fee, &old_power, &new_power);
        }
    }
    new
}
