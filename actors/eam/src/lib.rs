//! The Ethereum address manager (f010). The FVM requires it in every bundle.
//! This devnet has no EVM, so its Create methods refuse with a clear reason;
//! the constructor (system only) exists so genesis can run it as on mainnet.

use ferrite_actor_rt as rt;
use fvm_shared::error::ExitCode;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(_params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        1 => {
            rt::require_caller(rt::SYSTEM_ACTOR);
            rt::ret_nothing()
        }
        // Create, Create2, CreateExternal
        2..=4 => rt::abort(
            ExitCode::USR_UNHANDLED_MESSAGE,
            "the Ferrite devnet has no EVM: EVM actors cannot be created",
        ),
        m => rt::unhandled_or_noop(m),
    }
}
