//! TerminateSectors (9): the miner ends sectors before their expiration.
//! They lose their power at once and join the early termination queue,
//! which is then paid off (termination fees, pledge released, deals
//! terminated) in batches, now and in cron callbacks. Sectors of the
//! current or next deadline cannot be terminated.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::miner::{PowerPair, TerminateSectorsParams, TerminateSectorsReturn};
use ferrite_actor_types::policy::Policy;

use crate::control::{check_control_caller, miner_info};
use crate::cron::{has_pending_early_terminations, process_early_terminations};
use crate::env;
use crate::ext;
use crate::faults::sector_map;
use crate::funds::check_balance_invariants;
use crate::state::{Sectors, State, deadline_is_mutable};

/// TerminateSectors (9), from a controlling address; `done` is false while
/// terminations remain queued.
pub fn terminate_sectors(p: TerminateSectorsParams) -> ActorResult<TerminateSectorsReturn> {
    let policy = Policy::devnet();
    let mut map = sector_map(
        &policy,
        p.terminations
            .into_iter()
            .map(|t| (t.deadline, t.partition, t.sectors)),
    )?;
    let store = ActorBlockstore;
    let (had_early_terminations, power_delta) = env::transaction(|st: &mut State| {
        let had = has_pending_early_terminations(st);
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        let epoch = env::curr_epoch();
        let mut deadlines = st.load_deadlines(&store)?;
        let sectors = Sectors::load(&store, &st.sectors)?;
        let mut power_delta = PowerPair::zero();
        for (idx, partitions) in map.iter() {
            let period_start = st.current_proving_period_start(&policy, epoch);
            if !deadline_is_mutable(&policy, period_start, idx, epoch) {
                return Err(ActorError::illegal_argument(format!(
                    "cannot terminate sectors in immutable deadline {idx}"
                )));
            }
            let quant = st.quant_spec_for_deadline(&policy, idx);
            let mut deadline = deadlines.load_deadline(&store, idx)?;
            let removed = deadline.terminate_sectors(
                &policy,
                &store,
                &sectors,
                epoch,
                partitions,
                info.sector_size,
                quant,
            )?;
            st.early_terminations.set(idx);
            power_delta -= &removed;
            deadlines.update_deadline(&policy, &store, idx, &deadline)?;
        }
        st.save_deadlines(&store, deadlines)?;
        Ok((had, power_delta))
    })?;
    let reward = ext::this_epoch_reward()?;
    let power = ext::current_total_power()?;
    let more = process_early_terminations(
        &reward.this_epoch_reward_smoothed,
        &power.quality_adj_power_smoothed,
    )?;
    if more && !had_early_terminations {
        ext::schedule_early_termination_work()?;
    }
    check_balance_invariants()?;
    ext::update_power(&power_delta)?;
    Ok(TerminateSectorsReturn { done: !more })
}
