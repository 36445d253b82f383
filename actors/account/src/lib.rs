//! The account actor: the on-chain identity of a secp256k1 (f1) or BLS (f3)
//! key. The FVM creates one, calling the constructor from f00, the first time
//! a message sends to a key address.
//!
//! Methods (builtin-actors v18 numbers): 1 Constructor(Address), 2
//! PubkeyAddress, and the FRC-42 exported AuthenticateMessage, which checks
//! a signature by the account's key. Every other exported method (a token
//! receiver hook, say) is accepted as a no-op.

use ferrite_actor_rt::{self as rt, OrAbort};
use fvm_ipld_encoding::strict_bytes;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::crypto::signature::{Signature, SignatureType};
use fvm_shared::error::ExitCode;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// FRC-42 method number of `AuthenticateMessage`.
pub const AUTHENTICATE_MESSAGE: u64 = 2643134072;

/// Account state (v18): the key address.
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// The f1 or f3 address.
    pub address: Address,
}

/// AuthenticateMessage parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct AuthenticateMessageParams {
    /// The signature bytes, without the type byte.
    #[serde(with = "strict_bytes")]
    pub signature: Vec<u8>,
    /// The signed bytes.
    #[serde(with = "strict_bytes")]
    pub message: Vec<u8>,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        // As in v18, parameters are checked before the caller.
        1 => {
            let address: Address = rt::abort_on_err(rt::send::required_params(params));
            rt::require_caller(rt::SYSTEM_ACTOR);
            match address.protocol() {
                Protocol::Secp256k1 | Protocol::BLS => {}
                p => rt::abort(
                    ExitCode::USR_ILLEGAL_ARGUMENT,
                    &format!("address {address} must be secp256k1 or BLS, not {p:?}"),
                ),
            }
            rt::save_state(&State { address });
            rt::ret_nothing()
        }
        2 => {
            rt::abort_on_err(rt::send::no_args(params));
            let st: State = rt::load_state();
            rt::ret(&st.address)
        }
        AUTHENTICATE_MESSAGE => {
            let p: AuthenticateMessageParams = rt::abort_on_err(rt::send::required_params(params));
            let st: State = rt::load_state();
            let sig_type = match st.address.protocol() {
                Protocol::Secp256k1 => SignatureType::Secp256k1,
                Protocol::BLS => SignatureType::BLS,
                _ => rt::abort(ExitCode::USR_ILLEGAL_STATE, "account without a key address"),
            };
            let sig = Signature {
                sig_type,
                bytes: p.signature,
            };
            let ok = rt::sdk::crypto::verify_signature(&sig, &st.address, &p.message)
                .or_abort(ExitCode::USR_ILLEGAL_ARGUMENT, "verify signature");
            if !ok {
                rt::abort(
                    ExitCode::USR_ILLEGAL_ARGUMENT,
                    &format!("invalid signature for {}", st.address),
                );
            }
            rt::ret(&true)
        }
        m => rt::receive_exported(m),
    }
}
