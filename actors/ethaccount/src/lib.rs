//! The Ethereum account actor: an f4 (EAM namespace) address controlled by
//! an Ethereum key. The constructor (system only) checks that the actor has
//! such an address; FRC-42 exported methods are accepted as no-ops.

use ferrite_actor_rt as rt;
use fvm_shared::address::Payload;
use fvm_shared::error::ExitCode;

/// The EAM's actor ID: the namespace of Ethereum f4 addresses.
const EAM_ACTOR_ID: u64 = 10;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(_params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        1 => {
            rt::require_caller(rt::SYSTEM_ACTOR);
            let me = rt::sdk::message::receiver();
            match rt::sdk::actor::lookup_delegated_address(me).map(|a| *a.payload()) {
                Some(Payload::Delegated(d)) if d.namespace() == EAM_ACTOR_ID => rt::ret_nothing(),
                _ => rt::abort(
                    ExitCode::USR_ILLEGAL_ARGUMENT,
                    "an Ethereum account needs an f410 (EAM) address",
                ),
            }
        }
        m => rt::receive_exported(m),
    }
}
