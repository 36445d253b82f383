//! Escrow accounts: AddBalance, WithdrawBalance and GetBalance. A miner's
//! escrow is held under its ID and withdrawn to its owner by its owner or
//! worker; anyone else's is held under its ID and withdrawn by itself.

use ferrite_actor_rt::send::transfer;
use ferrite_actor_rt::types::{Type, type_of_code};
use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{
    AddBalanceParams, GetBalanceParams, GetBalanceReturn, State, WithdrawBalanceParams,
    WithdrawBalanceReturn,
};
use fvm_shared::address::Address;

use crate::balance_table::BalanceTable;
use crate::books::Books;
use crate::calls;

/// Where an escrow account lives and who may take from it.
struct EscrowAccount {
    /// The ID address the balance is held under.
    nominal: Address,
    /// Who receives withdrawals (a miner's owner, else the account itself).
    recipient: Address,
    /// Who may withdraw (a miner's owner and worker, else the account itself).
    approved: Vec<Address>,
}

fn escrow_account(a: &Address) -> ActorResult<EscrowAccount> {
    let id = fvm_sdk::actor::resolve_address(a)
        .ok_or_else(|| ActorError::illegal_argument(format!("cannot resolve address {a}")))?;
    let nominal = Address::new_id(id);
    let code = fvm_sdk::actor::get_actor_code_cid(&nominal)
        .ok_or_else(|| ActorError::illegal_argument(format!("no code for address {nominal}")))?;
    if type_of_code(&code) == Some(Type::Miner) {
        let c = calls::control_addresses(id)?;
        return Ok(EscrowAccount {
            nominal,
            recipient: c.owner,
            approved: vec![c.owner, c.worker],
        });
    }
    Ok(EscrowAccount {
        nominal,
        recipient: nominal,
        approved: vec![nominal],
    })
}

/// AddBalance: credits the message value to the escrow of
/// `provider_or_client` (any caller may pay in).
pub fn add_balance(p: AddBalanceParams) -> ActorResult<()> {
    let value = fvm_sdk::message::value_received();
    if !value.is_positive() {
        return Err(ActorError::illegal_argument(format!(
            "balance to add must be greater than zero, was {value}"
        )));
    }
    let acct = escrow_account(&p.provider_or_client)?;
    let mut b = Books::load()?;
    b.escrow.add(&acct.nominal, &value)?;
    b.save()
}

/// WithdrawBalance: sends up to `amount` of the unlocked escrow to the
/// account's recipient; returns what was sent.
pub fn withdraw_balance(p: WithdrawBalanceParams) -> ActorResult<WithdrawBalanceReturn> {
    if p.amount.is_negative() {
        return Err(ActorError::illegal_argument(format!(
            "negative amount {}",
            p.amount
        )));
    }
    let acct = escrow_account(&p.provider_or_client)?;
    let caller = Address::new_id(fvm_sdk::message::caller());
    if !acct.approved.contains(&caller) {
        return Err(ActorError::forbidden(format!(
            "caller {caller} may not withdraw from {}",
            acct.nominal
        )));
    }
    let mut b = Books::load()?;
    let floor = b.locked.get(&acct.nominal)?;
    let taken = b
        .escrow
        .subtract_with_minimum(&acct.nominal, &p.amount, &floor)?;
    b.save()?;
    if !taken.is_zero() {
        transfer(&acct.recipient, taken.clone())?;
    }
    Ok(WithdrawBalanceReturn {
        amount_withdrawn: taken,
    })
}

/// GetBalance: the escrow and the locked part of an account.
pub fn get_balance(p: GetBalanceParams) -> ActorResult<GetBalanceReturn> {
    let id = fvm_sdk::actor::resolve_address(&p.account).ok_or_else(|| {
        ActorError::illegal_argument(format!("cannot resolve address {}", p.account))
    })?;
    let a = Address::new_id(id);
    let st: State = ferrite_actor_rt::load_state();
    let escrow = BalanceTable::load(&st.escrow_table)?;
    let locked = BalanceTable::load(&st.locked_table)?;
    Ok(GetBalanceReturn {
        balance: escrow.get(&a)?,
        locked: locked.get(&a)?,
    })
}
