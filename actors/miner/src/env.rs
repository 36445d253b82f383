//! The running call's environment, as the miner's methods see it: the
//! current epoch, the miner's own address and balance, caller checks, state
//! transactions, and randomness drawn the way builtin-actors draws it.

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::randomness::RANDOMNESS_LENGTH;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The domain separation tags of randomness draws (builtin-actors'
/// `DomainSeparationTag` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum Tag {
    /// Window PoSt challenge seed (beacon randomness).
    WindowedPoStChallengeSeed = 4,
    /// The seal ticket (chain randomness).
    SealRandomness = 5,
    /// The interactive seal challenge seed (beacon randomness).
    InteractiveSealChallengeSeed = 6,
    /// The chain commitment of a Window PoSt (chain randomness).
    PoStChainCommit = 9,
}

/// The current epoch.
pub fn curr_epoch() -> ChainEpoch {
    rt::sdk::network::curr_epoch()
}

/// The miner's own actor ID.
pub fn receiver_id() -> ActorID {
    rt::sdk::message::receiver()
}

/// The miner's own ID address.
pub fn receiver() -> Address {
    Address::new_id(receiver_id())
}

/// The miner's balance (including any value received with this call).
pub fn balance() -> TokenAmount {
    rt::sdk::sself::current_balance()
}

/// The immediate caller's ID address.
pub fn caller() -> Address {
    Address::new_id(rt::sdk::message::caller())
}

/// Ok if the immediate caller is one of `allowed`; else `USR_FORBIDDEN`.
pub fn check_caller_in<'a>(allowed: impl IntoIterator<Item = &'a Address>) -> ActorResult<()> {
    let caller = caller();
    if allowed.into_iter().any(|a| *a == caller) {
        Ok(())
    } else {
        Err(ActorError::forbidden(format!(
            "caller {caller} is not allowed"
        )))
    }
}

/// The ID of `addr`, if it names an actor.
pub fn resolve(addr: &Address) -> Option<ActorID> {
    rt::sdk::actor::resolve_address(addr)
}

/// The ID of `addr`; `USR_ILLEGAL_ARGUMENT` naming `what` if it names no
/// actor.
pub fn resolve_id(addr: &Address, what: &str) -> ActorResult<ActorID> {
    resolve(addr)
        .ok_or_else(|| ActorError::illegal_argument(format!("unable to resolve {what} {addr}")))
}

/// Loads the state, lets `f` change it, and saves it if `f` succeeds. A
/// failure aborts the whole call, so nothing half-done is ever kept. `f`
/// must not call other actors (as in builtin-actors' transactions).
pub fn transaction<S, R>(f: impl FnOnce(&mut S) -> ActorResult<R>) -> ActorResult<R>
where
    S: Serialize + DeserializeOwned,
{
    let mut st: S = rt::load_state();
    let r = f(&mut st)?;
    rt::save_state(&st);
    Ok(r)
}

/// The state, read only.
pub fn state<S: DeserializeOwned>() -> S {
    rt::load_state()
}

/// CBOR of the miner's ID address: the entropy of every miner randomness
/// draw.
pub fn address_entropy() -> ActorResult<Vec<u8>> {
    fvm_ipld_encoding::to_vec(&receiver())
        .map_err(|e| ActorError::serialization(format!("encode address entropy: {e}")))
}

/// Mixes a tag, a round and entropy into a base of randomness, as
/// builtin-actors' `draw_randomness` does: blake2b-256 of
/// `BE i64 tag ++ base ++ BE i64 round ++ entropy`.
fn draw(tag: Tag, base: &[u8; RANDOMNESS_LENGTH], round: ChainEpoch, entropy: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(8 + base.len() + 8 + entropy.len());
    data.extend_from_slice(&(tag as i64).to_be_bytes());
    data.extend_from_slice(base);
    data.extend_from_slice(&round.to_be_bytes());
    data.extend_from_slice(entropy);
    rt::sdk::crypto::hash_blake2b(&data)
}

/// Randomness from the ticket chain at `round` (builtin's
/// `get_randomness_from_tickets`).
pub fn chain_randomness(tag: Tag, round: ChainEpoch, entropy: &[u8]) -> ActorResult<[u8; 32]> {
    let base = rt::sdk::rand::get_chain_randomness(round)
        .map_err(|e| ActorError::illegal_argument(format!("chain randomness at {round}: {e:?}")))?;
    Ok(draw(tag, &base, round, entropy))
}

/// Randomness from the beacon at `round` (builtin's
/// `get_randomness_from_beacon`).
pub fn beacon_randomness(tag: Tag, round: ChainEpoch, entropy: &[u8]) -> ActorResult<[u8; 32]> {
    let base = rt::sdk::rand::get_beacon_randomness(round).map_err(|e| {
        ActorError::illegal_argument(format!("beacon randomness at {round}: {e:?}"))
    })?;
    Ok(draw(tag, &base, round, entropy))
}
