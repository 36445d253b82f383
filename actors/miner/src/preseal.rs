//! InternalSectorSetupForPreseal (17, system actor only): at genesis, the
//! pre-committed presealed sectors are activated without proofs. Their
//! deals are activated at the market (BatchActivateDeals), and the sectors
//! are stored with an initial pledge computed from the network figures the
//! genesis builder passes in (no pledge ramp).

use ferrite_actor_rt::types::{STORAGE_MARKET_ACTOR_ID, SYSTEM_ACTOR_ID};
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::market::methods as market_method;
use ferrite_actor_types::market::{
    BatchActivateDealsParams, BatchActivateDealsResult, BatchReturn, NO_ALLOCATION_ID,
    SectorDealActivation, SectorDeals,
};
use ferrite_actor_types::miner::InternalSectorSetupForPresealParams;
use ferrite_actor_types::policy::Policy;
use fvm_shared::address::Address;
use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

use crate::control::miner_info;
use crate::env;
use crate::provecommit::{DataSpace, PledgeInputs, activate_new_sectors};
use crate::state::State;

/// InternalSectorSetupForPreseal (17).
///
/// Less than v18: verified deals (allocations claimed at the verified
/// registry) are refused, since the registry is not implemented.
pub fn internal_sector_setup_for_preseal(
    p: InternalSectorSetupForPresealParams,
) -> ActorResult<()> {
    rt::send::check_caller(SYSTEM_ACTOR_ID)?;
    let policy = Policy::devnet();
    let st: State = env::state();
    // Missing pre-commits are skipped.
    let precommits = st.find_precommitted_sectors(&ActorBlockstore, &p.sectors)?;
    let info = miner_info(&st)?;

    let deals: Vec<SectorDeals> = precommits
        .iter()
        .map(|pc| SectorDeals {
            sector_number: pc.info.sector_number,
            sector_type: pc.info.seal_proof,
            sector_expiry: pc.info.expiration,
            deal_ids: pc.info.deal_ids.clone(),
        })
        .collect();
    let activation = if deals.iter().all(|d| d.deal_ids.is_empty()) {
        BatchActivateDealsResult {
            activation_results: BatchReturn::ok(deals.len() as u32),
            activations: vec![
                SectorDealActivation {
                    activated: Vec::new(),
                    unsealed_cid: None
                };
                deals.len()
            ],
        }
    } else {
        let params = BatchActivateDealsParams {
            sectors: deals,
            compute_cid: false,
        };
        rt::send::send(
            &Address::new_id(STORAGE_MARKET_ACTOR_ID),
            market_method::BATCH_ACTIVATE_DEALS,
            Some(&params),
            TokenAmount::zero(),
        )?
        .decode::<BatchActivateDealsResult>("market BatchActivateDeals")?
    };
    if activation.activation_results.success_count == 0 {
        return Err(ActorError::illegal_argument("all deals failed to activate"));
    }
    let activated = activation.activation_results.successes(&precommits);
    let mut sectors = Vec::with_capacity(activated.len());
    for (pc, deals) in activated.iter().zip(&activation.activations) {
        let mut unverified = BigInt::zero();
        for d in &deals.activated {
            if d.allocation_id != NO_ALLOCATION_ID {
                return Err(ActorError::illegal_argument(
                    "verified deals are not supported by this bundle",
                ));
            }
            unverified += d.size.0;
        }
        sectors.push((
            pc,
            DataSpace {
                unverified,
                verified: BigInt::zero(),
            },
        ));
    }
    let pledge = PledgeInputs {
        network_qap: p.quality_adj_power_smoothed,
        network_baseline: p.reward_baseline_power,
        circulating_supply: rt::sdk::network::total_fil_circ_supply(),
        epoch_reward: p.reward_smoothed,
        epochs_since_ramp_start: 0,
        ramp_duration_epochs: 0,
    };
    activate_new_sectors(&policy, &sectors, &pledge, &info)
}
