//! CompactPartitions (19): the miner rewrites some partitions of one
//! deadline. The named partitions are removed, their terminated sectors
//! are deleted from the sectors array for good, and their live sectors are
//! packed again into partitions appended at the deadline's end, filling all
//! but the last. Power and fees do not change.
//!
//! A deadline may be compacted only while it is not being proven (neither
//! the current nor the next deadline) and not in its dispute window (the
//! `wpost_dispute_window` epochs after its challenge window closes), since
//! a PoSt of its old partitions could still be disputed then.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::CompactPartitionsParams;
use ferrite_actor_types::policy::{Policy, load_partitions_sectors_max};

use crate::control::{check_control_caller, miner_info};
use crate::env;
use crate::state::{Sectors, State, deadline_available_for_compaction};

/// CompactPartitions (19), from a controlling address.
pub fn compact_partitions(p: CompactPartitionsParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    if p.deadline >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_argument(format!(
            "invalid deadline {}",
            p.deadline
        )));
    }
    let partition_count = p.partitions.len();
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        let period_start = st.current_proving_period_start(&policy, epoch);
        if !deadline_available_for_compaction(&policy, period_start, p.deadline, epoch) {
            return Err(ActorError::forbidden(format!(
                "cannot compact deadline {} during its challenge window, or the prior \
                 challenge window, or before {} epochs have passed since its last challenge \
                 window ended",
                p.deadline, policy.wpost_dispute_window
            )));
        }
        let limit = load_partitions_sectors_max(&policy, info.window_post_partition_sectors);
        if partition_count > limit {
            return Err(ActorError::illegal_argument(format!(
                "too many partitions {partition_count}, limit {limit}"
            )));
        }
        let quant = st.quant_spec_for_deadline(&policy, p.deadline);
        let mut deadlines = st.load_deadlines(&store)?;
        let mut deadline = deadlines.load_deadline(&store, p.deadline)?;
        let fee_before = deadline.daily_fee.clone();
        let mut sectors = Sectors::load(&store, &st.sectors)?;
        let dead = deadline.compact_partitions(
            &store,
            &mut sectors,
            info.sector_size,
            info.window_post_partition_sectors,
            &p.partitions,
            quant,
        )?;
        sectors.delete_sectors(&dead)?;
        st.sectors = sectors
            .amt
            .flush()
            .state_err("save sectors after compaction")?;
        deadlines.update_deadline(&policy, &store, p.deadline, &deadline)?;
        st.save_deadlines(&store, deadlines)?;
        if deadline.daily_fee != fee_before {
            return Err(ActorError::illegal_state(
                "unexpected daily fee change during partition compaction",
            ));
        }
        Ok(())
    })
}
