//! The runtime shared by Ferrite's devnet actors: a blockstore over the FVM's
//! IPLD syscalls, CBOR parameters and return values, state load and save, and
//! the caller checks every actor needs. Each actor's `invoke` entry point
//! decodes its parameters with [`params`], works on its state with
//! [`load_state`] and [`save_state`], and answers with [`ret`] or [`abort`].

pub mod error;
pub mod eth;
pub mod keys;
pub mod send;
pub mod types;

pub use error::{ActorError, ActorResult, WithCode};
pub use send::{Response, dispatch};

use cid::Cid;
use fvm_ipld_blockstore::{Block, Blockstore};
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_ipld_encoding::{CBOR, DAG_CBOR};
use fvm_sdk::NO_DATA_BLOCK_ID;
use fvm_shared::ActorID;
use fvm_shared::error::ExitCode;
use multihash_codetable::Code;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use fvm_sdk as sdk;
pub use fvm_shared as shared;

/// The first method number of the FRC-42 exported (user-callable) range.
pub const FIRST_EXPORTED_METHOD: u64 = 1 << 24;

/// The system actor's ID.
pub const SYSTEM_ACTOR: ActorID = 0;

/// The blockstore of the running actor: the FVM's IPLD syscalls.
#[derive(Debug, Clone, Copy)]
pub struct ActorBlockstore;

impl Blockstore for ActorBlockstore {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        fvm_sdk::ipld::get(k)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("ipld get {k}: {e:?}"))
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        let size = u32::from(k.hash().size());
        let c = fvm_sdk::ipld::put(k.hash().code(), size, k.codec(), block)
            .map_err(|e| anyhow::anyhow!("ipld put: {e:?}"))?;
        anyhow::ensure!(&c == k, "ipld put: got {c}, expected {k}");
        Ok(())
    }

    fn put<D: AsRef<[u8]>>(&self, code: Code, block: &Block<D>) -> anyhow::Result<Cid> {
        fvm_sdk::ipld::put(code.into(), 32, block.codec, block.data.as_ref())
            .map_err(|e| anyhow::anyhow!("ipld put: {e:?}"))
    }
}

/// Stops the call with `code` and `msg`.
pub fn abort(code: ExitCode, msg: &str) -> ! {
    fvm_sdk::vm::abort(code.value(), Some(msg))
}

/// The value, or an abort with the error's own code and message: for entry
/// points that do not go through [`dispatch`].
pub fn abort_on_err<T>(r: ActorResult<T>) -> T {
    r.unwrap_or_else(|e| abort(e.code, &e.msg))
}

/// Aborts with `code` on an error, keeping its text.
pub trait OrAbort<T> {
    /// The value, or an abort with `code` and the error's text after `what`.
    fn or_abort(self, code: ExitCode, what: &str) -> T;
}

impl<T, E: std::fmt::Debug> OrAbort<T> for Result<T, E> {
    fn or_abort(self, code: ExitCode, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => abort(code, &format!("{what}: {e:?}")),
        }
    }
}

/// The call's parameters, decoded from CBOR; aborts with
/// `USR_SERIALIZATION` if they are missing or malformed.
pub fn params<T: DeserializeOwned>(id: u32) -> T {
    let block = fvm_sdk::message::params_raw(id)
        .or_abort(ExitCode::USR_SERIALIZATION, "read parameters")
        .unwrap_or_else(|| abort(ExitCode::USR_SERIALIZATION, "missing parameters"));
    block
        .deserialize()
        .or_abort(ExitCode::USR_SERIALIZATION, "decode parameters")
}

/// Returns `value` as the call's CBOR return block.
pub fn ret<T: Serialize + ?Sized>(value: &T) -> u32 {
    let block = IpldBlock::serialize(CBOR, value)
        .or_abort(ExitCode::USR_SERIALIZATION, "encode return value");
    fvm_sdk::ipld::put_block(block.codec, &block.data)
        .or_abort(ExitCode::USR_ASSERTION_FAILED, "write return block")
}

/// No return value.
pub fn ret_nothing() -> u32 {
    NO_DATA_BLOCK_ID
}

/// The actor's state, decoded from its state root.
pub fn load_state<T: DeserializeOwned>() -> T {
    let root = fvm_sdk::sself::root().or_abort(ExitCode::USR_ILLEGAL_STATE, "read state root");
    let bytes = fvm_sdk::ipld::get(&root).or_abort(ExitCode::USR_ILLEGAL_STATE, "read state");
    fvm_ipld_encoding::from_slice(&bytes).or_abort(ExitCode::USR_ILLEGAL_STATE, "decode state")
}

/// Writes `state` and makes it the actor's state root.
pub fn save_state<T: Serialize>(state: &T) -> Cid {
    let bytes =
        fvm_ipld_encoding::to_vec(state).or_abort(ExitCode::USR_SERIALIZATION, "encode state");
    let cid = fvm_sdk::ipld::put(Code::Blake2b256.into(), 32, DAG_CBOR, &bytes)
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "write state");
    fvm_sdk::sself::set_root(&cid).or_abort(ExitCode::USR_ILLEGAL_STATE, "set state root");
    cid
}

/// Aborts with `USR_FORBIDDEN` unless the immediate caller is `id`.
pub fn require_caller(id: ActorID) {
    let caller = fvm_sdk::message::caller();
    if caller != id {
        abort(
            ExitCode::USR_FORBIDDEN,
            &format!("caller f0{caller} is not f0{id}"),
        );
    }
}

/// Any well-formed CBOR value: the constructor parameters of a stub actor
/// whose v18 parameter type Ferrite does not define.
pub type AnyCbor = serde::de::IgnoredAny;

/// Aborts with `USR_UNHANDLED_MESSAGE`: builtin-actors v18's answer, on
/// every actor but the account-like ones ([`receive_exported`]), to a
/// method the actor does not have, exported or not.
pub fn unhandled(method: u64) -> ! {
    let e = ActorError::unknown_method(method);
    abort(e.code, &e.msg)
}

/// The answer of v18's account-like actors (account, Ethereum account,
/// multisig) to a method they do not have: an FRC-42 exported
/// method is accepted as a no-op (the universal receiver hook, so that
/// tokens can be sent to them), any other is [`unhandled`].
pub fn receive_exported(method: u64) -> u32 {
    if method >= FIRST_EXPORTED_METHOD {
        ret_nothing()
    } else {
        unhandled(method)
    }
}

/// The entry point of a builtin actor that Ferrite's bundle does not
/// implement (payment channels, multisig, verified registry, datacap, EVM).
/// It keeps the actor's place in the manifest, so that actor type numbers
/// are builtin-actors'. Its constructor decodes its parameters as `$params`
/// (as v18's dispatcher does, before the caller is checked: a block that is
/// not CBOR is `USR_SERIALIZATION`) and accepts only the system actor's call
/// (so genesis can create the singleton). Every other method is refused
/// with `USR_UNHANDLED_MESSAGE`, as v18 refuses a method an actor does not
/// have; with `receives_exported`, FRC-42 exported methods are accepted as
/// no-ops instead, as v18's account-like actors accept them.
#[macro_export]
macro_rules! unimplemented_actor {
    ($name:literal, $params:ty) => {
        $crate::unimplemented_actor!(@invoke $name, $params, |m| Err(
            $crate::ActorError::unknown_method(m).context(concat!(
                $name,
                " (not implemented by Ferrite's devnet bundle)"
            ))
        ));
    };
    ($name:literal, $params:ty, receives_exported) => {
        $crate::unimplemented_actor!(@invoke $name, $params, |m| Ok($crate::receive_exported(m)));
    };
    (@invoke $name:literal, $params:ty, $unknown:expr) => {
        /// The FVM entry point.
        #[unsafe(no_mangle)]
        pub fn invoke(params: u32) -> u32 {
            $crate::sdk::initialize();
            let method = $crate::sdk::message::method_number();
            $crate::dispatch(|| match method {
                1 => {
                    let _: $params = $crate::send::required_params(params)?;
                    $crate::send::check_caller($crate::SYSTEM_ACTOR)?;
                    $crate::save_state(&());
                    Ok($crate::ret_nothing())
                }
                m => {
                    let unknown: fn(u64) -> $crate::ActorResult<u32> = $unknown;
                    unknown(m)
                }
            })
        }
    };
}
