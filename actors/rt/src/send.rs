//! Calls to other actors with CBOR parameters and return values, and the
//! entry-point driver that turns a method's [`ActorResult`] into the FVM's
//! return block or abort.

use fvm_ipld_encoding::CBOR;
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::sys::SendFlags;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ActorError, ActorResult};

/// What a call to another actor gave back.
pub struct Response {
    /// Its exit code.
    pub exit_code: ExitCode,
    /// Its return block, if any.
    pub ret: Option<IpldBlock>,
}

impl Response {
    /// The decoded return value of a successful call; an error naming
    /// `what` if the call failed or its return does not decode.
    pub fn decode<R: DeserializeOwned>(self, what: &str) -> ActorResult<R> {
        if !self.exit_code.is_success() {
            return Err(ActorError::new(
                self.exit_code,
                format!("{what} failed (exit {})", self.exit_code.value()),
            ));
        }
        let block = self
            .ret
            .ok_or_else(|| ActorError::serialization(format!("{what}: no return value")))?;
        block
            .deserialize()
            .map_err(|e| ActorError::serialization(format!("{what}: decode return: {e}")))
    }

    /// Ok if the call succeeded; else an error with its exit code.
    pub fn ok(self, what: &str) -> ActorResult<()> {
        if self.exit_code.is_success() {
            Ok(())
        } else {
            Err(ActorError::new(
                self.exit_code,
                format!("{what} failed (exit {})", self.exit_code.value()),
            ))
        }
    }
}

/// Calls `method` of `to` with `params` (CBOR) and `value`. A send that the
/// FVM itself refuses (no such actor, not enough funds) is an error; a call
/// that runs and fails comes back as a [`Response`] with its exit code.
pub fn send<P: Serialize + ?Sized>(
    to: &Address,
    method: u64,
    params: Option<&P>,
    value: TokenAmount,
) -> ActorResult<Response> {
    let block = match params {
        Some(p) => Some(
            IpldBlock::serialize(CBOR, p)
                .map_err(|e| ActorError::serialization(format!("encode params: {e}")))?,
        ),
        None => None,
    };
    let r =
        fvm_sdk::send::send(to, method, block, value, None, SendFlags::empty()).map_err(|e| {
            ActorError::new(
                ExitCode::SYS_ASSERTION_FAILED,
                format!("send to {to} method {method}: {e:?}"),
            )
        })?;
    Ok(Response {
        exit_code: r.exit_code,
        ret: r.return_data,
    })
}

/// Like [`send`] without parameters.
pub fn send_empty(to: &Address, method: u64, value: TokenAmount) -> ActorResult<Response> {
    send::<()>(to, method, None, value)
}

/// Calls `method` of the actor `to` read-only (no state change possible).
pub fn send_read_only<P: Serialize + ?Sized>(
    to: &Address,
    method: u64,
    params: Option<&P>,
) -> ActorResult<Response> {
    let block = match params {
        Some(p) => Some(
            IpldBlock::serialize(CBOR, p)
                .map_err(|e| ActorError::serialization(format!("encode params: {e}")))?,
        ),
        None => None,
    };
    let r = fvm_sdk::send::send(
        to,
        method,
        block,
        TokenAmount::default(),
        None,
        SendFlags::READ_ONLY,
    )
    .map_err(|e| {
        ActorError::new(
            ExitCode::SYS_ASSERTION_FAILED,
            format!("send to {to} method {method}: {e:?}"),
        )
    })?;
    Ok(Response {
        exit_code: r.exit_code,
        ret: r.return_data,
    })
}

/// Transfers `value` to `to` without calling any method.
pub fn transfer(to: &Address, value: TokenAmount) -> ActorResult<()> {
    if value.is_zero() {
        return Ok(());
    }
    send_empty(to, fvm_shared::METHOD_SEND, value)?.ok("transfer")
}

/// Burns `value` (sends it to f099).
pub fn burn(value: TokenAmount) -> ActorResult<()> {
    transfer(&Address::new_id(crate::types::BURNT_FUNDS_ACTOR_ID), value)
}

/// The method's parameters decoded from the call's parameter block, or an
/// error if they are missing or malformed.
pub fn decode_params<T: DeserializeOwned>(id: u32) -> ActorResult<T> {
    let block = fvm_sdk::message::params_raw(id)
        .map_err(|e| ActorError::serialization(format!("read parameters: {e:?}")))?
        .ok_or_else(|| ActorError::serialization("missing parameters"))?;
    block
        .deserialize()
        .map_err(|e| ActorError::serialization(format!("decode parameters: {e}")))
}

/// The method's parameters as builtin-actors' dispatcher reads them:
/// `USR_ILLEGAL_ARGUMENT` if there are none, `USR_SERIALIZATION` if they do
/// not decode.
pub fn required_params<T: DeserializeOwned>(id: u32) -> ActorResult<T> {
    match fvm_sdk::message::params_raw(id) {
        Ok(Some(block)) => block
            .deserialize()
            .map_err(|e| ActorError::serialization(format!("decode parameters: {e}"))),
        Ok(None) => Err(ActorError::illegal_argument("method expects arguments")),
        Err(e) => Err(ActorError::serialization(format!("read parameters: {e:?}"))),
    }
}

/// Like builtin-actors' dispatcher for a method without parameters:
/// `USR_ILLEGAL_ARGUMENT` if the call has some.
pub fn no_args(id: u32) -> ActorResult<()> {
    match fvm_sdk::message::params_raw(id) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(ActorError::illegal_argument("method expects no arguments")),
        Err(e) => Err(ActorError::serialization(format!("read parameters: {e:?}"))),
    }
}

/// Checks that the call has no parameters.
pub fn no_params(id: u32) -> ActorResult<()> {
    match fvm_sdk::message::params_raw(id) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(ActorError::serialization("method takes no parameters")),
        Err(e) => Err(ActorError::serialization(format!("read parameters: {e:?}"))),
    }
}

/// The return block id of `value`, or nothing for `None`.
pub fn return_value<T: Serialize + ?Sized>(value: &T) -> ActorResult<u32> {
    let block = IpldBlock::serialize(CBOR, value)
        .map_err(|e| ActorError::serialization(format!("encode return value: {e}")))?;
    fvm_sdk::ipld::put_block(block.codec, &block.data)
        .map_err(|e| ActorError::assertion_failed(format!("write return block: {e:?}")))
}

/// The entry point's driver: runs `method` and returns its block id, or
/// aborts with its error.
pub fn dispatch(method: impl FnOnce() -> ActorResult<u32>) -> u32 {
    match method() {
        Ok(id) => id,
        Err(e) => crate::abort(e.code, &e.msg),
    }
}

/// Ok if the immediate caller is `id`; else `USR_FORBIDDEN`.
pub fn check_caller(id: ActorID) -> ActorResult<()> {
    let caller = fvm_sdk::message::caller();
    if caller == id {
        Ok(())
    } else {
        Err(ActorError::forbidden(format!(
            "caller f0{caller} is not f0{id}"
        )))
    }
}

/// Ok if the immediate caller is an actor of builtin type `t`; else
/// `USR_FORBIDDEN`.
pub fn check_caller_type(t: crate::types::Type) -> ActorResult<()> {
    let caller = fvm_sdk::message::caller();
    match crate::types::actor_type(caller) {
        Some(found) if found == t => Ok(()),
        found => Err(ActorError::forbidden(format!(
            "caller f0{caller} is {found:?}, not {t:?}"
        ))),
    }
}
