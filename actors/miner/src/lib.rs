//! The miner actor (work in progress).
#![allow(dead_code)]

mod env;
pub mod state;
mod ext;
mod commd;
mod notify;

use ferrite_actor_rt as rt;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(_params: u32) -> u32 {
    rt::sdk::initialize();
    rt::unhandled_or_noop(rt::sdk::message::method_number())
}
