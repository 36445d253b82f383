//! PreCommitSectorBatch2 (28): the miner commits to sealed sectors it will
//! prove later. Each pre-commit is checked (proof type, sector number,
//! CommR/CommD prefixes, seal randomness epoch, expiration bounds, deals
//! through the market), a deposit is locked for it from the available
//! balance, its sector number is allocated, and its expiry is queued for
//! clean-up. The first pre-commit turns on the miner's deadline cron.
//! CompactSectorNumbers (20) marks unused sector numbers as allocated.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::market::SectorDeals;
use ferrite_actor_types::miner::{
    CRON_EVENT_PROVING_DEADLINE, CompactSectorNumbersParams, MinerInfo,
    PreCommitSectorBatchParams2, SectorPreCommitOnChainInfo,
};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::BitField;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::RegisteredSealProof;
use num_traits::Zero;

use crate::commd::{commd_cid, is_unsealed_sector};
use crate::control::{check_control_caller, miner_info};
use crate::env;
use crate::ext;
use crate::funds::{check_balance_invariants, repay_debts_or_abort};
use crate::getters::MAX_SECTOR_NUMBER;
use crate::state::{CollisionPolicy, State, pre_commit_deposit_for_power};
use ferrite_actor_types::policy::{
    can_pre_commit_seal_proof, is_sealed_sector, max_prove_commit_duration, qa_power_max,
    seal_proof_sector_maximum_lifetime, sector_deals_max,
};

/// Whether the miner is still serving a consensus fault penalty.
pub fn consensus_fault_active(info: &MinerInfo, epoch: ChainEpoch) -> bool {
    epoch <= info.consensus_fault_elapsed
}

/// Checks a sector's expiration against its activation: after it, at least
/// the minimum lifetime, at most the maximum extension from now, and within
/// the proof type's maximum lifetime.
pub fn validate_expiration(
    policy: &Policy,
    epoch: ChainEpoch,
    activation: ChainEpoch,
    expiration: ChainEpoch,
    proof: RegisteredSealProof,
) -> ActorResult<()> {
    if expiration <= activation {
        return Err(ActorError::illegal_argument(format!(
            "sector expiration {expiration} must be after activation {activation}"
        )));
    }
    if expiration - activation < policy.min_sector_expiration {
        return Err(ActorError::illegal_argument(format!(
            "sector lifetime {} must be at least {}",
            expiration - activation,
            policy.min_sector_expiration
        )));
    }
    if expiration > epoch.saturating_add(policy.max_sector_expiration_extension) {
        return Err(ActorError::illegal_argument(format!(
            "expiration {expiration} is more than {} past epoch {epoch}",
            policy.max_sector_expiration_extension
        )));
    }
    let max_lifetime = seal_proof_sector_maximum_lifetime(proof).ok_or_else(|| {
        ActorError::illegal_argument(format!("unrecognized seal proof type {proof:?}"))
    })?;
    if expiration - activation > max_lifetime {
        return Err(ActorError::illegal_argument(format!(
            "sector lifetime {} exceeds the maximum {max_lifetime}",
            expiration - activation
        )));
    }
    Ok(())
}

/// PreCommitSectorBatch2 (28), from a controlling address.
pub fn pre_commit_sector_batch2(p: PreCommitSectorBatchParams2) -> ActorResult<()> {
    let policy = Policy::devnet();
    let epoch = env::curr_epoch();
    if p.sectors.is_empty() {
        return Err(ActorError::illegal_argument("batch empty"));
    }
    // Per-sector checks before touching state or calling out.
    let earliest_rand = epoch - policy.max_pre_commit_randomness_lookback;
    let mut numbers = BitField::new();
    let mut sector_deals = Vec::with_capacity(p.sectors.len());
    for pc in &p.sectors {
        if numbers.get(pc.sector_number) {
            return Err(ActorError::illegal_argument(format!(
                "duplicate sector number {}",
                pc.sector_number
            )));
        }
        numbers.set(pc.sector_number);
        if !can_pre_commit_seal_proof(&policy, pc.seal_proof) {
            return Err(ActorError::illegal_argument(format!(
                "unsupported seal proof type {}",
                i64::from(pc.seal_proof)
            )));
        }
        if pc.sector_number > MAX_SECTOR_NUMBER {
            return Err(ActorError::illegal_argument(format!(
                "sector number {} out of range",
                pc.sector_number
            )));
        }
        if !is_sealed_sector(&pc.sealed_cid) {
            return Err(ActorError::illegal_argument("sealed CID had wrong prefix"));
        }
        if pc.seal_rand_epoch >= epoch {
            return Err(ActorError::illegal_argument(format!(
                "seal challenge epoch {} must be before now {epoch}",
                pc.seal_rand_epoch
            )));
        }
        if pc.seal_rand_epoch < earliest_rand {
            return Err(ActorError::illegal_argument(format!(
                "seal challenge epoch {} too old, must be after {earliest_rand}",
                pc.seal_rand_epoch
            )));
        }
        if let Some(commd) = &pc.unsealed_cid.0
            && !is_unsealed_sector(commd)
        {
            return Err(ActorError::illegal_argument(
                "unsealed CID had wrong prefix",
            ));
        }
        // The lifetime must hold even if activation happens as late as the
        // proof type allows.
        let max_activation =
            epoch + max_prove_commit_duration(&policy, pc.seal_proof).unwrap_or_default();
        validate_expiration(&policy, epoch, max_activation, pc.expiration, pc.seal_proof)?;
        sector_deals.push(SectorDeals {
            sector_number: pc.sector_number,
            sector_type: pc.seal_proof,
            sector_expiry: pc.expiration,
            deal_ids: pc.deal_ids.clone(),
        });
    }

    let reward = ext::this_epoch_reward()?;
    let power = ext::current_total_power()?;
    let verified = ext::verify_deals(sector_deals)?;
    if verified.unsealed_cids.len() != p.sectors.len() {
        return Err(ActorError::illegal_state(format!(
            "market returned {} unsealed CIDs for {} sectors",
            verified.unsealed_cids.len(),
            p.sectors.len()
        )));
    }

    let (fee_to_burn, needs_cron) = env::transaction(|st: &mut State| {
        // The available balance already accounts for fee debt, so it is
        // taken before the debt is repaid.
        let available = st.get_available_balance(&env::balance())?;
        let fee_to_burn = repay_debts_or_abort(st)?;
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        if consensus_fault_active(&info, epoch) {
            return Err(ActorError::forbidden(
                "pre-commit not allowed during active consensus fault",
            ));
        }
        let deal_count_max = sector_deals_max(&policy, info.sector_size);
        let deposit = pre_commit_deposit_for_power(
            &reward.this_epoch_reward_smoothed,
            &power.quality_adj_power_smoothed,
            &qa_power_max(info.sector_size),
        );
        let mut infos = Vec::with_capacity(p.sectors.len());
        let mut clean_ups = Vec::with_capacity(p.sectors.len());
        let mut total_deposit = TokenAmount::zero();
        for (pc, computed) in p.sectors.iter().zip(&verified.unsealed_cids) {
            let post_proof = pc.seal_proof.registered_window_post_proof().map_err(|_| {
                ActorError::illegal_argument(format!(
                    "no Window PoSt proof type for seal proof {}",
                    i64::from(pc.seal_proof)
                ))
            })?;
            if post_proof != info.window_post_proof_type {
                return Err(ActorError::illegal_argument(format!(
                    "sector Window PoSt proof type {} must match the miner's {}",
                    i64::from(post_proof),
                    i64::from(info.window_post_proof_type)
                )));
            }
            if pc.deal_ids.len() as u64 > deal_count_max {
                return Err(ActorError::illegal_argument(format!(
                    "too many deals for sector {}: {} > {deal_count_max}",
                    pc.sector_number,
                    pc.deal_ids.len()
                )));
            }
            if let Some(computed) = computed
                && commd_cid(&pc.unsealed_cid, pc.seal_proof)? != *computed
            {
                return Err(ActorError::illegal_argument(format!(
                    "computed CommD {computed} differs from the declared one for sector {}",
                    pc.sector_number
                )));
            }
            let msd = max_prove_commit_duration(&policy, pc.seal_proof).ok_or_else(|| {
                ActorError::illegal_argument(format!(
                    "no max seal duration for proof type {}",
                    i64::from(pc.seal_proof)
                ))
            })?;
            clean_ups.push((
                epoch + msd + policy.expired_pre_commit_clean_up_delay,
                pc.sector_number,
            ));
            total_deposit += &deposit;
            infos.push(SectorPreCommitOnChainInfo {
                info: pc.clone(),
                pre_commit_deposit: deposit.clone(),
                pre_commit_epoch: epoch,
            });
        }
        if available < total_deposit {
            return Err(ActorError::insufficient_funds(format!(
                "insufficient funds {available} for pre-commit deposit {total_deposit}"
            )));
        }
        let store = ActorBlockstore;
        st.add_pre_commit_deposit(&total_deposit)?;
        st.allocate_sector_numbers(&store, &numbers, CollisionPolicy::DenyCollisions)?;
        st.put_precommitted_sectors(&store, infos)?;
        st.add_pre_commit_clean_ups(&policy, &store, clean_ups)?;
        let needs_cron = !st.deadline_cron_active;
        st.deadline_cron_active = true;
        Ok((fee_to_burn, needs_cron))
    })?;
    ext::burn(&fee_to_burn)?;
    check_balance_invariants()?;
    if needs_cron {
        let st: State = env::state();
        let dl = st.deadline_info(&policy, epoch);
        ext::enroll_cron(dl.last(), CRON_EVENT_PROVING_DEADLINE)?;
    }
    Ok(())
}

/// CompactSectorNumbers (20): a controlling address marks sector numbers
/// as allocated (so that the allocation bitfield stays small).
pub fn compact_sector_numbers(p: CompactSectorNumbersParams) -> ActorResult<()> {
    let last = p
        .mask_sector_numbers
        .last()
        .ok_or_else(|| ActorError::illegal_argument("invalid mask bitfield"))?;
    if last > MAX_SECTOR_NUMBER {
        return Err(ActorError::illegal_argument(format!(
            "masked sector number {last} exceeds the maximum sector number"
        )));
    }
    env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        st.allocate_sector_numbers(
            &ActorBlockstore,
            &p.mask_sector_numbers,
            CollisionPolicy::AllowCollisions,
        )
    })
}
