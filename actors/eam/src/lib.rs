//! The Ethereum address manager (f010). The FVM requires it in every bundle.
//! This devnet has no EVM, so its Create methods refuse; the constructor
//! (system only) exists so genesis can run it as on mainnet.
//!
//! Methods (v18 numbers): 1 Constructor, 2 Create, 3 Create2, 4
//! CreateExternal. As v18's dispatcher does, each decodes its v18
//! parameters before anything else. Create and Create2 are refused with
//! `USR_FORBIDDEN`, v18's answer to a caller that is not an EVM actor (the
//! only callers there are here); CreateExternal, which v18 grants to
//! accounts, is refused with `USR_UNHANDLED_MESSAGE`.

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use fvm_ipld_encoding::strict_bytes;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// Create parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct CreateParams {
    /// The EVM init code.
    #[serde(with = "strict_bytes")]
    pub initcode: Vec<u8>,
    /// The creating contract's nonce.
    pub nonce: u64,
}

/// Create2 parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct Create2Params {
    /// The EVM init code.
    #[serde(with = "strict_bytes")]
    pub initcode: Vec<u8>,
    /// The CREATE2 salt.
    #[serde(with = "strict_bytes")]
    pub salt: [u8; 32],
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    let method = rt::sdk::message::method_number();
    rt::dispatch(|| route(method, params))
}

fn route(method: u64, params: u32) -> ActorResult<u32> {
    match method {
        1 => {
            rt::send::no_args(params)?;
            rt::send::check_caller(rt::SYSTEM_ACTOR)?;
            Ok(rt::ret_nothing())
        }
        2 => {
            let _: CreateParams = rt::send::required_params(params)?;
            Err(no_evm_caller())
        }
        3 => {
            let _: Create2Params = rt::send::required_params(params)?;
            Err(no_evm_caller())
        }
        4 => {
            let _: fvm_ipld_encoding::BytesDe = rt::send::required_params(params)?;
            Err(ActorError::unhandled_message(
                "the Ferrite devnet has no EVM: EVM actors cannot be created",
            ))
        }
        m => Err(ActorError::unknown_method(m)),
    }
}

fn no_evm_caller() -> ActorError {
    ActorError::forbidden(
        "only EVM actors may call Create and Create2, and the Ferrite devnet has no EVM",
    )
}
