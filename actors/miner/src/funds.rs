//! The miner's money: withdrawals by the owner or beneficiary, repaying fee
//! debt, and block rewards from the reward actor (75% locked into vesting,
//! penalties taken as fee debt). Every change of locked funds is reported
//! to the power actor's pledge total; penalties are burnt.

use ferrite_actor_rt::types::REWARD_ACTOR_ID;
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::miner::exit::ERR_BALANCE_INVARIANTS_BROKEN;
use ferrite_actor_types::miner::{ApplyRewardParams, WithdrawBalanceParams, WithdrawBalanceReturn};
use fvm_shared::econ::TokenAmount;

use crate::control::{check_control_caller, miner_info, save_info};
use crate::env;
use crate::ext;
use crate::state::{State, locked_reward_from_reward};

/// Exit 1000 unless the state's locked amounts fit in the balance.
pub fn check_balance_invariants() -> ActorResult<()> {
    let st: State = env::state();
    st.check_balance_invariants(&env::balance()).map_err(|e| {
        ActorError::new(
            ERR_BALANCE_INVARIANTS_BROKEN,
            format!("balance invariants broken: {e}"),
        )
    })
}

/// Repays all fee debt from the unlocked balance, or fails if it cannot;
/// returns what must be burnt.
pub fn repay_debts_or_abort(st: &mut State) -> ActorResult<TokenAmount> {
    st.repay_debts(&env::balance())
}

/// WithdrawBalance (16): the owner or the beneficiary takes up to
/// `amount_requested` of the available balance (a beneficiary other than
/// the owner only within its quota); returns what was sent.
pub fn withdraw_balance(p: WithdrawBalanceParams) -> ActorResult<WithdrawBalanceReturn> {
    if p.amount_requested.is_negative() {
        return Err(ActorError::illegal_argument(format!(
            "negative withdrawal {}",
            p.amount_requested
        )));
    }
    let (beneficiary, amount, newly_vested, fee_to_burn) = env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        env::check_caller_in([&info.owner, &info.beneficiary])?;
        if !st.early_terminations.is_empty() {
            return Err(ActorError::forbidden(
                "cannot withdraw funds while terminated sectors have outstanding fees",
            ));
        }
        let epoch = env::curr_epoch();
        let newly_vested = st.unlock_vested_funds(&ActorBlockstore, epoch)?;
        // The available balance already accounts for fee debt, so it is
        // taken before the debt is repaid.
        let available = st.get_available_balance(&env::balance())?;
        let fee_to_burn = repay_debts_or_abort(st)?;
        let mut amount = std::cmp::min(available, p.amount_requested.clone());
        if amount.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative amount to withdraw {amount}"
            )));
        }
        if info.beneficiary != info.owner {
            let remaining = info.beneficiary_term.available(epoch);
            if remaining.is_zero() {
                return Err(ActorError::forbidden(format!(
                    "beneficiary expired at {} or quota {} used up",
                    info.beneficiary_term.expiration, info.beneficiary_term.quota
                )));
            }
            amount = std::cmp::min(amount, remaining);
            if amount.is_positive() {
                info.beneficiary_term.used_quota += &amount;
                save_info(st, &info)?;
            }
        }
        Ok((info.beneficiary, amount, newly_vested, fee_to_burn))
    })?;
    if amount.is_positive() {
        rt::send::transfer(&beneficiary, amount.clone())?;
    }
    ext::burn(&fee_to_burn)?;
    ext::update_pledge(&-newly_vested)?;
    check_balance_invariants()?;
    Ok(WithdrawBalanceReturn {
        amount_withdrawn: amount,
    })
}

/// RepayDebt (22): a controlling address pays as much fee debt as it can
/// (from vesting funds first, then the balance, including the value sent).
pub fn repay_debt() -> ActorResult<()> {
    let (burn, unlocked) = env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        st.repay_partial_debt_in_priority_order(
            &ActorBlockstore,
            env::curr_epoch(),
            &env::balance(),
        )
    })?;
    ext::update_pledge(&-unlocked)?;
    ext::burn(&burn)?;
    check_balance_invariants()
}

/// ApplyRewards (14, reward actor only): locks 75% of `reward` (sent with
/// the call) into vesting and takes `penalty` as fee debt, repaid at once
/// as far as possible.
pub fn apply_rewards(p: ApplyRewardParams) -> ActorResult<()> {
    if p.reward.is_negative() {
        return Err(ActorError::illegal_argument(
            "cannot lock up a negative amount of funds",
        ));
    }
    if p.penalty.is_negative() {
        return Err(ActorError::illegal_argument(
            "cannot penalize a negative amount of funds",
        ));
    }
    rt::send::check_caller(REWARD_ACTOR_ID)?;
    let (pledge_delta, to_burn) = env::transaction(|st: &mut State| {
        let epoch = env::curr_epoch();
        let (to_lock, spec) = locked_reward_from_reward(p.reward.clone());
        let unlocked = st.get_unlocked_balance(&env::balance())?;
        if unlocked < to_lock {
            return Err(ActorError::insufficient_funds(format!(
                "insufficient funds to lock, available {unlocked}, requested {to_lock}"
            )));
        }
        let newly_vested = st.add_locked_funds(&ActorBlockstore, epoch, &to_lock, spec)?;
        let mut pledge_delta = &to_lock - &newly_vested;
        st.apply_penalty(&p.penalty)?;
        let (to_burn, unlocked) =
            st.repay_partial_debt_in_priority_order(&ActorBlockstore, epoch, &env::balance())?;
        pledge_delta -= &unlocked;
        Ok((pledge_delta, to_burn))
    })?;
    ext::update_pledge(&pledge_delta)?;
    ext::burn(&to_burn)?;
    check_balance_invariants()
}
