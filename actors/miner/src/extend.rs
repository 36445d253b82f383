//! ExtendSectorExpiration2 (32): the miner commits sectors for longer.
//! Each sector's expiration moves later (within the lifetime limits), its
//! deal weights are rescaled to the remaining term, its daily fee follows
//! its power, and its partition's expiration queue is rewritten.
//!
//! Less than v18: FIL+ claims cannot be named (the verified registry is not
//! implemented), so a declaration with `sectors_with_claims` is refused, and
//! a simple-QA sector with verified deal weight cannot be extended.

use std::collections::BTreeMap;

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{
    ExtendSectorExpiration2Params, PowerPair, SectorOnChainInfo, SectorOnChainInfoFlags,
};
use ferrite_actor_types::policy::{
    Policy, can_extend_seal_proof_type, daily_proof_fee, daily_proof_fee_adjust,
    qa_power_for_sector, qa_power_for_weight,
};
use fvm_shared::bigint::{BigInt, Integer};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::SectorSize;
use fvm_shared::version::NetworkVersion;
use num_traits::{Signed, Zero};

use crate::control::{check_control_caller, miner_info};
use crate::env;
use crate::ext;
use crate::precommit::validate_expiration;
use crate::state::{Sectors, State};

/// The network version from which pre-FIP-0100 sectors pay a daily fee
/// when extended.
const FIP_0100_GRACE_PERIOD_END_VERSION: NetworkVersion = NetworkVersion::new(26);

/// ExtendSectorExpiration2 (32), from a controlling address.
pub fn extend_sector_expiration2(p: ExtendSectorExpiration2Params) -> ActorResult<()> {
    let policy = Policy::devnet();
    for decl in &p.extensions {
        if decl.deadline >= policy.wpost_period_deadlines {
            return Err(ActorError::illegal_argument(format!(
                "deadline {} not in range 0..{}",
                decl.deadline, policy.wpost_period_deadlines
            )));
        }
        if !decl.sectors_with_claims.is_empty() {
            return Err(ActorError::illegal_argument(
                "sectors with verified claims cannot be extended by this bundle",
            ));
        }
    }
    let epoch = env::curr_epoch();
    let circulating_supply = ferrite_actor_rt::sdk::network::total_fil_circ_supply();
    let nv = ferrite_actor_rt::sdk::network::version();
    let store = ActorBlockstore;
    let (power_delta, pledge_delta) = env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        let mut deadlines = st.load_deadlines(&store)?;
        // Declarations grouped by deadline, deadlines in first-seen order.
        let mut order = Vec::<u64>::new();
        let mut by_deadline = BTreeMap::<u64, Vec<usize>>::new();
        for (i, decl) in p.extensions.iter().enumerate() {
            let entry = by_deadline.entry(decl.deadline).or_default();
            if entry.is_empty() {
                order.push(decl.deadline);
            }
            entry.push(i);
        }
        let mut sectors = Sectors::load(&store, &st.sectors)?;
        let mut power_delta = PowerPair::zero();
        let mut pledge_delta = TokenAmount::zero();
        for idx in order {
            let mut deadline = deadlines.load_deadline(&store, idx)?;
            let mut partitions = deadline.partitions_amt(&store)?;
            let quant = st.quant_spec_for_deadline(&policy, idx);
            let mut dl_power = PowerPair::zero();
            let mut dl_fee = TokenAmount::zero();
            let mut by_new_epoch = BTreeMap::<ChainEpoch, Vec<u64>>::new();
            let mut epochs = Vec::<ChainEpoch>::new();
            for &i in by_deadline.get(&idx).map(Vec::as_slice).unwrap_or_default() {
                let decl = &p.extensions[i];
                let mut partition = partitions
                    .get(decl.partition)
                    .state_err("load partition")?
                    .cloned()
                    .ok_or_else(|| {
                        ActorError::not_found(format!(
                            "no partition {} in deadline {idx}",
                            decl.partition
                        ))
                    })?;
                let old = sectors.load_sectors(&decl.sectors)?;
                let new = old
                    .iter()
                    .map(|s| {
                        extend_sector(
                            &policy,
                            nv,
                            epoch,
                            &circulating_supply,
                            decl.new_expiration,
                            s,
                            info.sector_size,
                        )
                    })
                    .collect::<ActorResult<Vec<_>>>()?;
                sectors.store(new.clone())?;
                let (p_power, p_pledge, p_fee) =
                    partition.replace_sectors(&store, &old, &new, info.sector_size, quant)?;
                dl_power += &p_power;
                pledge_delta += &p_pledge;
                dl_fee += &p_fee;
                partitions
                    .set(decl.partition, partition)
                    .state_err("save partition")?;
                let parts = by_new_epoch.entry(decl.new_expiration).or_default();
                if parts.is_empty() {
                    epochs.push(decl.new_expiration);
                }
                parts.push(decl.partition);
            }
            deadline.live_power += &dl_power;
            deadline.daily_fee += &dl_fee;
            power_delta += &dl_power;
            deadline.partitions = partitions.flush().state_err("save partitions")?;
            for e in epochs {
                let parts = by_new_epoch.get(&e).map(Vec::as_slice).unwrap_or_default();
                deadline.add_expiration_partitions(&store, e, parts, quant)?;
            }
            deadlines.update_deadline(&policy, &store, idx, &deadline)?;
        }
        st.sectors = sectors.amt.flush().state_err("save sectors")?;
        st.save_deadlines(&store, deadlines)?;
        Ok((power_delta, pledge_delta))
    })?;
    ext::update_power(&power_delta)?;
    ext::update_pledge(&pledge_delta)
}

/// The sector with its expiration moved to `new_expiration`.
fn extend_sector(
    policy: &Policy,
    nv: NetworkVersion,
    epoch: ChainEpoch,
    circulating_supply: &TokenAmount,
    new_expiration: ChainEpoch,
    sector: &SectorOnChainInfo,
    sector_size: SectorSize,
) -> ActorResult<SectorOnChainInfo> {
    if !can_extend_seal_proof_type(sector.seal_proof) {
        return Err(ActorError::forbidden(format!(
            "cannot extend sector {} with seal type {:?}",
            sector.sector_number, sector.seal_proof
        )));
    }
    if sector.expiration < epoch {
        return Err(ActorError::forbidden(format!(
            "cannot extend expired sector {} (expired at {})",
            sector.sector_number, sector.expiration
        )));
    }
    if new_expiration < sector.expiration {
        return Err(ActorError::illegal_argument(format!(
            "cannot reduce sector {} expiration to {new_expiration} from {}",
            sector.sector_number, sector.expiration
        )));
    }
    validate_expiration(
        policy,
        epoch,
        sector.activation,
        new_expiration,
        sector.seal_proof,
    )?;

    let mut new = sector.clone();
    let old_duration = sector.expiration - sector.power_base_epoch;
    let remaining = sector.expiration - epoch;
    if sector
        .flags
        .contains(SectorOnChainInfoFlags::SIMPLE_QA_POWER)
    {
        if sector.verified_deal_weight.is_positive() {
            return Err(ActorError::illegal_argument(format!(
                "claim missing from declaration for sector {} with verified deal weight",
                sector.sector_number
            )));
        }
        if sector.deal_weight.is_positive() {
            new.deal_weight = &sector.deal_weight * remaining / old_duration;
        }
    } else {
        let d = BigInt::from(old_duration);
        new.deal_weight = (&sector.deal_weight * remaining).div_floor(&d);
        new.verified_deal_weight = (&sector.verified_deal_weight * remaining).div_floor(&d);
        new.expected_day_reward = None;
        new.replaced_day_reward = None;
        new.expected_storage_pledge = None;
    }
    new.expiration = new_expiration;
    new.power_base_epoch = epoch;

    let new_power = qa_power_for_weight(
        sector_size,
        new.expiration - new.power_base_epoch,
        &new.verified_deal_weight,
    );
    if new.daily_fee.is_zero() {
        // A sector sealed before FIP-0100 starts paying once the grace
        // period is over.
        if nv >= FIP_0100_GRACE_PERIOD_END_VERSION {
            new.daily_fee = daily_proof_fee(policy, circulating_supply, &new_power);
        }
    } else {
        let old_power = qa_power_for_sector(sector_size, sector);
        if old_power != new_power {
            new.daily_fee = daily_proof_fee_adjust(&sector.daily_fee, &old_power, &new_power);
        }
    }
    Ok(new)
}
