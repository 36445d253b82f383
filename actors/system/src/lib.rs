//! The system actor (f00). The FVM finds the bundle's manifest through its
//! state, `{builtin_actors: Cid}`; it has no other behaviour.

use cid::Cid;
use ferrite_actor_rt as rt;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// The state the FVM reads: the manifest's data CID.
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// The manifest's data (the `[[name, code], ...]` list).
    pub builtin_actors: Cid,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        // Constructor: genesis writes the state directly; only f00 may call
        // it. As in v18, it takes no parameters, checked before the caller.
        1 => {
            rt::abort_on_err(rt::send::no_args(params));
            rt::require_caller(rt::SYSTEM_ACTOR);
            rt::ret_nothing()
        }
        m => rt::unhandled(m),
    }
}
