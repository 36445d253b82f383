//! The placeholder actor: stands at an f4 address that has received funds
//! before its real actor exists. It accepts FRC-42 exported methods as no-ops
//! and nothing else.

use ferrite_actor_rt as rt;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(_params: u32) -> u32 {
    rt::sdk::initialize();
    rt::unhandled_or_noop(rt::sdk::message::method_number())
}
