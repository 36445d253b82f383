//! What the interpreter cannot do inside one actor: CALL, STATICCALL,
//! DELEGATECALL, CREATE and CREATE2 become FVM sends, as on FEVM. A call to
//! another contract is a send of `InvokeContract` to its actor (read-only
//! for a static call), a call that only moves value to an account is a
//! plain transfer, a delegate call is a send of `InvokeContractDelegate` to
//! this actor with the other contract's bytecode, and a create is a send to
//! the EAM. The contract's state is written before each send and read again
//! after one that succeeded.

use cid::Cid;
use ferrite_actor_rt::{self as rt, ActorError, ActorResult, WithCode};
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_ipld_encoding::{BytesDe, BytesSer, CBOR, RawBytes};
use fvm_shared::address::Address as FilAddress;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sys::SendFlags;
use fvm_shared::{ActorID, METHOD_SEND};
use revm_interpreter::primitives::{Address, U256};
use revm_interpreter::{CallInputs, CallScheme, CreateInputs, CreateScheme};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::host::{FvmHost, fil_target, from_revm, u256_to_tokens};
use crate::state::EthAddress;
use crate::{DelegateCallParams, method};

/// What a call or create gave back to the interpreter.
pub struct Outcome {
    /// Whether it succeeded (1 or 0 on the stack).
    pub success: bool,
    /// Its return or revert data.
    pub output: Vec<u8>,
    /// For a create that succeeded, the new contract's address.
    pub created: Option<Address>,
}

impl Outcome {
    fn failed(output: Vec<u8>) -> Outcome {
        Outcome {
            success: false,
            output,
            created: None,
        }
    }
}

/// The EAM's Create parameters (v18).
#[derive(Serialize_tuple)]
struct CreateParams<'a> {
    #[serde(with = "fvm_ipld_encoding::strict_bytes")]
    initcode: &'a [u8],
    nonce: u64,
}

/// The EAM's Create2 parameters (v18).
#[derive(Serialize_tuple)]
struct Create2Params<'a> {
    #[serde(with = "fvm_ipld_encoding::strict_bytes")]
    initcode: &'a [u8],
    #[serde(with = "fvm_ipld_encoding::strict_bytes")]
    salt: [u8; 32],
}

/// The EAM's return value (v18).
#[derive(Deserialize_tuple)]
struct EamReturn {
    #[allow(dead_code)]
    actor_id: ActorID,
    #[allow(dead_code)]
    robust_address: Option<FilAddress>,
    eth_address: EthAddress,
}

/// The EAM's Create and Create2 method numbers.
const EAM_CREATE: u64 = 2;
const EAM_CREATE2: u64 = 3;

/// The bytecode of actor `id`, as EXTCODE* see it: an EVM contract's code,
/// nothing for accounts and placeholders, and `0xFE` for other native
/// actors (v18's "native bytecode").
pub fn code_of(id: ActorID) -> ActorResult<Option<Vec<u8>>> {
    use rt::types::Type;
    match rt::types::actor_type(id) {
        Some(Type::Evm) => {
            let Some(cid) = bytecode_cid(id)? else {
                return Ok(None);
            };
            Ok(Some(read_bytecode(&cid)?))
        }
        None | Some(Type::Account | Type::EthAccount | Type::Placeholder) => Ok(None),
        Some(_) => Ok(Some(vec![0xfe])),
    }
}

/// The raw bytes of the bytecode block `cid`.
pub fn read_bytecode(cid: &Cid) -> ActorResult<Vec<u8>> {
    rt::ActorBlockstore
        .get(cid)
        .state_err("read bytecode")?
        .ok_or_else(|| ActorError::not_found(format!("bytecode {cid} not found")))
}

/// The bytecode CID of the EVM actor `id` (its `GetBytecode`).
fn bytecode_cid(id: ActorID) -> ActorResult<Option<Cid>> {
    let r = rt::send::send_read_only::<()>(&FilAddress::new_id(id), method::GET_BYTECODE, None)?;
    if !r.exit_code.is_success() {
        return Ok(None);
    }
    match r.ret {
        Some(b) => b.deserialize().with_code(
            fvm_shared::error::ExitCode::USR_SERIALIZATION,
            "decode bytecode cid",
        ),
        None => Ok(None),
    }
}

/// The forwarded gas as an FVM gas limit: none (all that is left) when it
/// is at least what is available.
fn gas_limit(forwarded: u64) -> Option<u64> {
    (forwarded < rt::sdk::gas::available()).then_some(forwarded)
}

/// Output data of a call's return block: the bytes of an `InvokeContract`
/// return (a CBOR byte string), else the block's raw bytes.
fn output_of(block: Option<IpldBlock>) -> Vec<u8> {
    match block {
        None => Vec::new(),
        Some(b) => match b.deserialize::<BytesDe>() {
            Ok(BytesDe(v)) => v,
            Err(_) => b.data,
        },
    }
}

/// Sends after writing the contract's state, and reads it again after a
/// successful send. A send the FVM refuses (not enough funds, say) is a
/// failed call.
pub(crate) fn send(
    host: &mut FvmHost,
    to: &FilAddress,
    method: u64,
    params: Option<IpldBlock>,
    value: TokenAmount,
    gas: Option<u64>,
    flags: SendFlags,
) -> ActorResult<Outcome> {
    host.contract.flush()?;
    match rt::sdk::send::send(to, method, params, value, gas, flags) {
        Ok(r) if r.exit_code.is_success() => {
            host.contract.reload()?;
            Ok(Outcome {
                success: true,
                output: output_of(r.return_data),
                created: None,
            })
        }
        Ok(r) => Ok(Outcome::failed(output_of(r.return_data))),
        Err(_) => Ok(Outcome::failed(Vec::new())),
    }
}

/// Runs a CALL-family action. `frame_caller` and `frame_value` are the
/// running frame's caller and value, which a delegate call keeps.
pub fn call(
    host: &mut FvmHost,
    c: &CallInputs,
    input: &[u8],
    frame_caller: &EthAddress,
    frame_value: &U256,
) -> ActorResult<Outcome> {
    let target = from_revm(&c.bytecode_address);
    if crate::precompiles::is_reserved(&target) {
        return crate::precompiles::call(host, c, &target, input);
    }
    let to = fil_target(&c.bytecode_address)?;
    let flags = if c.is_static {
        SendFlags::READ_ONLY
    } else {
        SendFlags::empty()
    };
    match c.scheme {
        CallScheme::Call | CallScheme::StaticCall => {
            let value = u256_to_tokens(&c.call_value());
            let id = rt::sdk::actor::resolve_address(&to);
            let is_contract = id.and_then(rt::types::actor_type).is_some_and(|t| {
                !matches!(
                    t,
                    rt::types::Type::Account
                        | rt::types::Type::EthAccount
                        | rt::types::Type::Placeholder
                )
            });
            if !is_contract && input.is_empty() {
                // A value transfer to an account, or to an address with no
                // actor yet (the FVM makes a placeholder there).
                return send(host, &to, METHOD_SEND, None, value, None, flags);
            }
            let params = invoke_params(input)?;
            send(
                host,
                &to,
                method::INVOKE_CONTRACT,
                params,
                value,
                gas_limit(c.gas_limit),
                flags,
            )
        }
        CallScheme::DelegateCall => {
            let id = rt::sdk::actor::resolve_address(&to);
            let Some(id) = id else {
                return Ok(Outcome {
                    success: true,
                    output: Vec::new(),
                    created: None,
                });
            };
            if rt::types::actor_type(id) != Some(rt::types::Type::Evm) {
                // Only EVM code can run in this contract's context.
                return Ok(Outcome::failed(Vec::new()));
            }
            let Some(code) = bytecode_cid(id)? else {
                return Ok(Outcome {
                    success: true,
                    output: Vec::new(),
                    created: None,
                });
            };
            let params = DelegateCallParams {
                code,
                input: input.to_vec(),
                caller: *frame_caller,
                value: u256_to_tokens(frame_value),
            };
            let block = IpldBlock::serialize_cbor(&params)
                .with_code(fvm_shared::error::ExitCode::USR_SERIALIZATION, "encode")?;
            let me = FilAddress::new_id(rt::sdk::message::receiver());
            send(
                host,
                &me,
                method::INVOKE_CONTRACT_DELEGATE,
                block,
                TokenAmount::default(),
                gas_limit(c.gas_limit),
                flags,
            )
        }
        // FEVM does not support CALLCODE: the call fails.
        CallScheme::CallCode => Ok(Outcome::failed(Vec::new())),
    }
}

fn invoke_params(input: &[u8]) -> ActorResult<Option<IpldBlock>> {
    if input.is_empty() {
        return Ok(None);
    }
    let data = fvm_ipld_encoding::to_vec(&BytesSer(input)).with_code(
        fvm_shared::error::ExitCode::USR_SERIALIZATION,
        "encode input",
    )?;
    Ok(Some(IpldBlock { codec: CBOR, data }))
}

/// Runs CREATE or CREATE2 through the EAM, with this contract's nonce.
pub fn create(host: &mut FvmHost, c: &CreateInputs) -> ActorResult<Outcome> {
    if host.contract.read_only {
        return Err(ActorError::new(
            fvm_shared::error::ExitCode::USR_READ_ONLY,
            "cannot create a contract when read-only",
        ));
    }
    let nonce = host.contract.nonce;
    host.contract.nonce = nonce.saturating_add(1);
    host.contract.touch();
    let initcode: &[u8] = c.init_code();
    let (method, params) = match c.scheme() {
        CreateScheme::Create2 { salt } => (
            EAM_CREATE2,
            RawBytes::serialize(Create2Params {
                initcode,
                salt: salt.to_be_bytes(),
            }),
        ),
        _ => (
            EAM_CREATE,
            RawBytes::serialize(CreateParams { initcode, nonce }),
        ),
    };
    let params = params.with_code(fvm_shared::error::ExitCode::USR_SERIALIZATION, "encode")?;
    let block = Some(IpldBlock {
        codec: CBOR,
        data: params.to_vec(),
    });
    let eam = FilAddress::new_id(rt::types::EAM_ACTOR_ID);
    host.contract.flush()?;
    let value = u256_to_tokens(&c.value());
    match rt::sdk::send::send(&eam, method, block, value, None, SendFlags::empty()) {
        Ok(r) if r.exit_code.is_success() => {
            host.contract.reload()?;
            let ret: EamReturn = r
                .return_data
                .ok_or_else(|| ActorError::serialization("EAM returned nothing"))?
                .deserialize()
                .with_code(fvm_shared::error::ExitCode::USR_SERIALIZATION, "decode")?;
            Ok(Outcome {
                success: true,
                output: Vec::new(),
                created: Some(Address::from(ret.eth_address.0)),
            })
        }
        Ok(r) => Ok(Outcome::failed(output_of(r.return_data))),
        Err(_) => Ok(Outcome::failed(Vec::new())),
    }
}
