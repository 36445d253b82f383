//! The placeholder actor: stands at an f4 address that has received funds
//! before its real actor exists. As v18's placeholder, it accepts every
//! method, whatever its number or parameters, as a no-op, so that a send to
//! an address whose actor is not deployed yet behaves like a plain
//! transfer.

use ferrite_actor_rt as rt;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(_params: u32) -> u32 {
    rt::sdk::initialize();
    rt::ret_nothing()
}
