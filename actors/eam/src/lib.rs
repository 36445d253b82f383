//! The Ethereum address manager (f010): deploys EVM actors at f410
//! addresses derived as FEVM derives them, through the init actor's Exec4.
//!
//! Methods (v18 numbers, parameters and returns): 1 Constructor (system
//! only), 2 Create and 3 Create2 (EVM actors only: their CREATE and CREATE2
//! opcodes), 4 CreateExternal (a top-level account: an f1/f3 account or an
//! Ethereum account deploying a contract from a message). As v18's
//! dispatcher does, each decodes its parameters before anything else.
//!
//! Addresses: Create is `keccak(rlp([creator, nonce]))[12..]`, Create2
//! `keccak(0xff ‖ creator ‖ salt ‖ keccak(initcode))[12..]`, and
//! CreateExternal is Create with the message's nonce, from the caller's
//! Ethereum address (an Ethereum account) or, for an f1/f3 account, from
//! `keccak(key address bytes)[12..]`, with the creator seen by the init
//! code being the account's ID-form address. A contract already at the
//! address is resurrected (its `Resurrect` method) rather than created.

use ferrite_actor_rt::eth::keccak256 as keccak;
use ferrite_actor_rt::{self as rt, ActorError, ActorResult, WithCode};
use fvm_ipld_encoding::{RawBytes, strict_bytes};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::error::ExitCode;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// The init actor's Exec4 method.
const EXEC4: u64 = 3;
/// The EVM actor's Resurrect method.
const RESURRECT: u64 = 2;
/// The account actor's PubkeyAddress method.
const PUBKEY_ADDRESS: u64 = 2;

pub use rt::eth::EthAddress;

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

/// The return value of the three create methods (v18).
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct Return {
    /// The new actor's ID.
    pub actor_id: ActorID,
    /// Its robust address; none for a resurrected contract.
    pub robust_address: Option<Address>,
    /// Its Ethereum address.
    pub eth_address: EthAddress,
}

/// The EVM actor's constructor parameters (v18).
#[derive(Serialize_tuple)]
struct EvmConstructorParams {
    creator: EthAddress,
    initcode: RawBytes,
}

/// init's Exec4 parameters (v18).
#[derive(Serialize_tuple)]
struct Exec4Params {
    code_cid: cid::Cid,
    constructor_params: RawBytes,
    subaddress: RawBytes,
}

/// init's Exec4 return value (v18).
#[derive(Deserialize_tuple)]
struct Exec4Return {
    id_address: Address,
    robust_address: Address,
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
            let p: CreateParams = rt::send::required_params(params)?;
            let creator = evm_caller()?;
            let addr = address::create(keccak, &creator, p.nonce);
            rt::send::return_value(&create_actor(creator, addr, p.initcode)?)
        }
        3 => {
            let p: Create2Params = rt::send::required_params(params)?;
            let creator = evm_caller()?;
            let addr = address::create2(keccak, &creator, &p.salt, &p.initcode);
            rt::send::return_value(&create_actor(creator, addr, p.initcode)?)
        }
        4 => {
            let fvm_ipld_encoding::BytesDe(initcode) = rt::send::required_params(params)?;
            rt::send::check_caller(rt::sdk::message::origin())?;
            let (creator, stable) = external_caller()?;
            let addr = address::create(keccak, &stable, rt::sdk::message::nonce());
            rt::send::return_value(&create_actor(creator, addr, initcode)?)
        }
        m => Err(ActorError::unknown_method(m)),
    }
}

/// The Ethereum address of the actor `id` (its f410 address), if it has
/// one.
fn eth_address(id: ActorID) -> ActorResult<EthAddress> {
    EthAddress::of_actor(id)
        .ok_or_else(|| ActorError::forbidden("caller doesn't have an eth address"))
}

/// Create and Create2 are for EVM actors, which have f410 addresses.
fn evm_caller() -> ActorResult<EthAddress> {
    rt::send::check_caller_type(rt::types::Type::Evm)?;
    eth_address(rt::sdk::message::caller())
}

/// The creator and the address that CreateExternal derives from, for the
/// top-level caller.
fn external_caller() -> ActorResult<(EthAddress, EthAddress)> {
    let caller = rt::sdk::message::caller();
    match rt::types::actor_type(caller) {
        Some(rt::types::Type::Account) => {
            let key: Address =
                rt::send::send_read_only::<()>(&Address::new_id(caller), PUBKEY_ADDRESS, None)
                    .with_code(
                        ExitCode::USR_ASSERTION_FAILED,
                        "account failed to return its key address",
                    )?
                    .decode("PubkeyAddress")?;
            let h = keccak(&key.to_bytes());
            let mut stable = [0u8; 20];
            stable.copy_from_slice(&h[12..]);
            Ok((EthAddress::from_id(caller), EthAddress(stable)))
        }
        Some(rt::types::Type::EthAccount) => {
            let a = eth_address(caller)?;
            Ok((a, a))
        }
        t => Err(ActorError::forbidden(format!(
            "disallowed caller f0{caller} of type {t:?}"
        ))),
    }
}

/// Deploys `initcode` at `addr`: resurrects the contract there, or creates
/// an EVM actor through init's Exec4, with the value received.
fn create_actor(creator: EthAddress, addr: EthAddress, initcode: Vec<u8>) -> ActorResult<Return> {
    if addr.is_reserved() {
        return Err(ActorError::forbidden(
            "cannot create address with a reserved prefix",
        ));
    }
    let ctor = EvmConstructorParams {
        creator,
        initcode: initcode.into(),
    };
    let constructor_params = RawBytes::serialize(&ctor)
        .with_code(ExitCode::USR_SERIALIZATION, "encode constructor parameters")?;
    let value = rt::sdk::message::value_received();
    let f4 = Address::new_delegated(rt::types::EAM_ACTOR_ID, &addr.0)
        .with_code(ExitCode::USR_ILLEGAL_ARGUMENT, "f410 address")?;
    if let Some(id) = rt::sdk::actor::resolve_address(&f4) {
        rt::send::send(&Address::new_id(id), RESURRECT, Some(&ctor), value)?.ok("resurrect")?;
        return Ok(Return {
            actor_id: id,
            robust_address: None,
            eth_address: addr,
        });
    }
    let params = Exec4Params {
        code_cid: rt::types::code_of(rt::types::Type::Evm),
        constructor_params,
        subaddress: RawBytes::new(addr.0.to_vec()),
    };
    let init = Address::new_id(rt::types::INIT_ACTOR_ID);
    let r = rt::send::send(&init, EXEC4, Some(&params), value)?;
    if !r.exit_code.is_success() {
        // The constructor's revert data goes back to the caller.
        if let Some(data) = r.ret {
            rt::sdk::vm::exit(r.exit_code.value(), Some(data), Some("Exec4 failed"));
        }
    }
    let ret: Exec4Return = r.decode("Exec4")?;
    let actor_id = ret
        .id_address
        .id()
        .map_err(|_| ActorError::illegal_state("Exec4 returned no ID address"))?;
    Ok(Return {
        actor_id,
        robust_address: Some(ret.robust_address),
        eth_address: addr,
    })
}

/// FEVM's contract address derivations, over a keccak-256 function.
pub mod address {
    use super::EthAddress;

    fn last20(h: [u8; 32]) -> EthAddress {
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        EthAddress(a)
    }

    /// RLP of an unsigned integer: big-endian without leading zeros, a
    /// single byte below 0x80 standing for itself.
    fn rlp_u64(n: u64, out: &mut Vec<u8>) {
        let be = n.to_be_bytes();
        let bytes = &be[be.iter().take_while(|b| **b == 0).count()..];
        match bytes {
            [] => out.push(0x80),
            [b] if *b < 0x80 => out.push(*b),
            _ => {
                out.push(0x80 + bytes.len() as u8);
                out.extend_from_slice(bytes);
            }
        }
    }

    /// CREATE: `keccak(rlp([from, nonce]))[12..]`.
    pub fn create(keccak: impl Fn(&[u8]) -> [u8; 32], from: &EthAddress, nonce: u64) -> EthAddress {
        let mut body = Vec::with_capacity(30);
        body.push(0x80 + 20);
        body.extend_from_slice(&from.0);
        rlp_u64(nonce, &mut body);
        // The list is at most 30 bytes: a short list.
        let mut rlp = Vec::with_capacity(body.len() + 1);
        rlp.push(0xc0 + body.len() as u8);
        rlp.extend_from_slice(&body);
        last20(keccak(&rlp))
    }

    /// CREATE2: `keccak(0xff ‖ from ‖ salt ‖ keccak(initcode))[12..]`.
    pub fn create2(
        keccak: impl Fn(&[u8]) -> [u8; 32],
        from: &EthAddress,
        salt: &[u8; 32],
        initcode: &[u8],
    ) -> EthAddress {
        let inithash = keccak(initcode);
        let mut buf = Vec::with_capacity(85);
        buf.push(0xff);
        buf.extend_from_slice(&from.0);
        buf.extend_from_slice(salt);
        buf.extend_from_slice(&inithash);
        last20(keccak(&buf))
    }
}
