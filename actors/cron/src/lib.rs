//! The cron actor (f03): on every epoch's implicit `EpochTick` from the
//! system actor, it calls each registered entry (the power and market actors'
//! end-of-epoch handlers, once those exist).
//!
//! Methods (builtin-actors v18 numbers): 1 Constructor(entries), 2 EpochTick;
//! both only from the system actor.

use ferrite_actor_rt as rt;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sys::SendFlags;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// One call made on every tick.
#[derive(Clone, Serialize_tuple, Deserialize_tuple)]
pub struct Entry {
    /// The actor called.
    pub receiver: Address,
    /// The method called, without parameters.
    pub method_num: u64,
}

/// Cron state (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// The entries, called in order.
    pub entries: Vec<Entry>,
}

/// Constructor parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct ConstructorParams {
    /// The entries.
    pub entries: Vec<Entry>,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        // As in v18, parameters are checked before the caller.
        1 => {
            let p: ConstructorParams = rt::abort_on_err(rt::send::required_params(params));
            rt::require_caller(rt::SYSTEM_ACTOR);
            rt::save_state(&State { entries: p.entries });
            rt::ret_nothing()
        }
        2 => {
            rt::abort_on_err(rt::send::no_args(params));
            rt::require_caller(rt::SYSTEM_ACTOR);
            let st: State = rt::load_state();
            for e in st.entries {
                // As in builtin-actors, a failing entry does not stop the others.
                let _ = rt::sdk::send::send(
                    &e.receiver,
                    e.method_num,
                    None,
                    TokenAmount::default(),
                    None,
                    SendFlags::empty(),
                );
            }
            rt::ret_nothing()
        }
        m => rt::unhandled(m),
    }
}
