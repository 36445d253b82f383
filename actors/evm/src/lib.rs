//! The EVM actor: one Solidity (EVM bytecode) contract per actor, its code
//! run by revm's interpreter (`revm-interpreter`, no_std) inside the actor's
//! wasm, metered by the FVM.
//!
//! Principal parts: [`state`] (v18's state layout and the storage KAMT),
//! [`contract`] (the running contract's state, written before every
//! outgoing call and read again after), [`host`] (revm's view of the chain:
//! storage, logs as actor events, balances, block facts), [`execution`]
//! (the interpreter loop), [`calls`] (CALL, DELEGATECALL and CREATE as
//! FVM sends) and [`precompiles`] (Ethereum's 0x01–0x09 and 0x0b–0x11 and
//! Filecoin's 0xfe00…01–05, run in this actor; call_actor sends to any
//! actor).
//!
//! Data flow of `InvokeContract`: the parameters (a CBOR byte string of
//! calldata) → [`contract::Contract::load`] → [`execution::run`] with the
//! caller's Ethereum address and the value received → each SLOAD/SSTORE on
//! the KAMT, each LOG an FVM event, each CALL a send → on RETURN the state
//! is written and the output returned as a CBOR byte string; on REVERT the
//! actor exits with code 33 and the revert data, and the FVM drops every
//! change.
//!
//! Methods, with v18's numbers, parameters and returns: 1 Constructor
//! (creator, initcode; init only), 2 Resurrect (EAM only, on a
//! self-destructed contract), 3 GetBytecode, 4 GetBytecodeHash, 5
//! GetStorageAt (system only: `eth_getStorageAt`), 6 InvokeContractDelegate
//! (self only: DELEGATECALL), 3844450837 InvokeContract (FRC-42
//! "InvokeEVM"), and any other method above 1023 runs the contract's
//! `handle_filecoin_method(uint64,uint64,bytes)`.

pub mod calls;
pub mod contract;
pub mod execution;
pub mod host;
pub mod precompiles;
pub mod state;

use cid::Cid;
use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_ipld_encoding::{BytesDe, BytesSer, CBOR, DAG_CBOR, RawBytes};
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use contract::{Contract, eth_address_of, is_dead, load_state};
use execution::{Ending, Frame};
use host::{FvmHost, tokens_to_u256};
use state::{BytecodeHash, EthAddress, Word};

/// The contract reverted; the return data is the revert data.
pub const EVM_CONTRACT_REVERTED: ExitCode = ExitCode::new(33);
/// INVALID (0xFE) ran.
pub const EVM_CONTRACT_INVALID_INSTRUCTION: ExitCode = ExitCode::new(34);
/// An opcode the EVM does not define.
pub const EVM_CONTRACT_UNDEFINED_INSTRUCTION: ExitCode = ExitCode::new(35);
/// Stack underflow.
pub const EVM_CONTRACT_STACK_UNDERFLOW: ExitCode = ExitCode::new(36);
/// Stack overflow.
pub const EVM_CONTRACT_STACK_OVERFLOW: ExitCode = ExitCode::new(37);
/// Memory or return data accessed out of bounds.
pub const EVM_CONTRACT_ILLEGAL_MEMORY_ACCESS: ExitCode = ExitCode::new(38);
/// A jump to a non-JUMPDEST.
pub const EVM_CONTRACT_BAD_JUMPDEST: ExitCode = ExitCode::new(39);
/// SELFDESTRUCT could not send the funds away.
pub const EVM_CONTRACT_SELFDESTRUCT_FAILED: ExitCode = ExitCode::new(40);

/// The method numbers (v18).
pub mod method {
    /// Constructor.
    pub const CONSTRUCTOR: u64 = 1;
    /// Resurrect.
    pub const RESURRECT: u64 = 2;
    /// GetBytecode.
    pub const GET_BYTECODE: u64 = 3;
    /// GetBytecodeHash.
    pub const GET_BYTECODE_HASH: u64 = 4;
    /// GetStorageAt.
    pub const GET_STORAGE_AT: u64 = 5;
    /// InvokeContractDelegate.
    pub const INVOKE_CONTRACT_DELEGATE: u64 = 6;
    /// InvokeContract: FRC-42 hash of "InvokeEVM".
    pub const INVOKE_CONTRACT: u64 = 3844450837;
    /// Methods up to here are reserved; above, any other method calls
    /// the contract's `handle_filecoin_method`.
    pub const MAX_RESERVED: u64 = 1023;
}

/// keccak("handle_filecoin_method(uint64,uint64,bytes)")[..4].
const NATIVE_METHOD_SELECTOR: [u8; 4] = [0x86, 0x8e, 0x10, 0xc4];

/// Constructor and Resurrect parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct ConstructorParams {
    /// The creator's Ethereum address (CALLER of the init code).
    pub creator: EthAddress,
    /// The init code.
    pub initcode: RawBytes,
}

/// InvokeContractDelegate parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct DelegateCallParams {
    /// The bytecode to run in this contract's context.
    pub code: Cid,
    /// Its calldata.
    #[serde(with = "fvm_ipld_encoding::strict_bytes")]
    pub input: Vec<u8>,
    /// The delegating frame's caller, kept as CALLER.
    pub caller: EthAddress,
    /// The delegating frame's value, kept as CALLVALUE.
    pub value: TokenAmount,
}

/// GetStorageAt parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct GetStorageAtParams {
    /// The slot.
    pub storage_key: Word,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    let m = rt::sdk::message::method_number();
    rt::dispatch(|| route(m, params))
}

fn route(m: u64, params: u32) -> ActorResult<u32> {
    match m {
        method::CONSTRUCTOR => {
            let p: ConstructorParams = rt::send::required_params(params)?;
            rt::send::check_caller(rt::types::INIT_ACTOR_ID)?;
            // As v18: only a fresh actor (the FVM's empty state) is built.
            let root = rt::sdk::sself::root()
                .map_err(|e| ActorError::illegal_state(format!("read state root: {e:?}")))?;
            if root != empty_state()? {
                return Err(ActorError::illegal_state(
                    "can't create over an existing actor",
                ));
            }
            initialize(Contract::create(), p)?;
            Ok(rt::ret_nothing())
        }
        method::RESURRECT => {
            let p: ConstructorParams = rt::send::required_params(params)?;
            rt::send::check_caller(rt::types::EAM_ACTOR_ID)?;
            let (_, st) = load_state()?;
            if !is_dead(&st) {
                return Err(ActorError::forbidden("can only resurrect a dead contract"));
            }
            initialize(Contract::create(), p)?;
            Ok(rt::ret_nothing())
        }
        method::INVOKE_CONTRACT => {
            let input = match rt::sdk::message::params_raw(params) {
                Ok(None) => Vec::new(),
                Ok(Some(b)) => {
                    b.deserialize::<BytesDe>()
                        .map_err(|e| ActorError::serialization(format!("decode parameters: {e}")))?
                        .0
                }
                Err(e) => return Err(ActorError::serialization(format!("{e:?}"))),
            };
            let out = invoke_contract(input)?;
            rt::send::return_value(&BytesSer(&out))
        }
        method::GET_BYTECODE => {
            let (_, st) = load_state()?;
            let code = (!is_dead(&st)).then_some(st.bytecode);
            let data = fvm_ipld_encoding::to_vec(&code)
                .map_err(|e| ActorError::serialization(e.to_string()))?;
            rt::sdk::ipld::put_block(DAG_CBOR, &data)
                .map_err(|e| ActorError::assertion_failed(format!("{e:?}")))
        }
        method::GET_BYTECODE_HASH => {
            let (_, st) = load_state()?;
            let hash = if is_dead(&st) {
                BytecodeHash::EMPTY
            } else {
                st.bytecode_hash
            };
            rt::send::return_value(&hash)
        }
        method::GET_STORAGE_AT => {
            let p: GetStorageAtParams = rt::send::required_params(params)?;
            rt::send::check_caller(rt::SYSTEM_ACTOR)?;
            let value = Contract::load()?.storage(&p.storage_key)?;
            rt::send::return_value(&value)
        }
        method::INVOKE_CONTRACT_DELEGATE => {
            let p: DelegateCallParams = rt::send::required_params(params)?;
            rt::send::check_caller(rt::sdk::message::receiver())?;
            let mut host = FvmHost::new(Contract::load()?, origin());
            let code = calls::read_bytecode(&p.code)?;
            let out = run_code(
                &mut host,
                &code,
                p.caller,
                p.input,
                tokens_to_u256(&p.value),
            )?;
            rt::send::return_value(&BytesSer(&out))
        }
        m if m > method::MAX_RESERVED => handle_filecoin_method(m, params),
        m => Err(ActorError::unknown_method(m)),
    }
}

/// The state root of an actor the FVM has just created: the empty CBOR
/// list.
fn empty_state() -> ActorResult<Cid> {
    // 0x80: the CBOR encoding of an empty list; 0xb220: blake2b-256.
    let digest = rt::sdk::crypto::hash_blake2b(&[0x80]);
    let mh = cid::multihash::Multihash::wrap(0xb220, &digest)
        .map_err(|e| ActorError::assertion_failed(format!("multihash: {e}")))?;
    Ok(Cid::new_v1(DAG_CBOR, mh))
}

/// The origin's Ethereum address (ORIGIN).
fn origin() -> EthAddress {
    eth_address_of(rt::sdk::message::origin())
}

/// This actor's Ethereum address: its f410 address. An EVM actor without
/// one was not created by the EAM, and is refused.
fn own_address() -> ActorResult<EthAddress> {
    let me = rt::sdk::message::receiver();
    let a = eth_address_of(me);
    if a.as_id().is_some() {
        return Err(ActorError::forbidden(format!(
            "contract f0{me} doesn't have an eth address"
        )));
    }
    Ok(a)
}

/// Runs the init code and keeps the code it returns.
fn initialize(contract: Contract, p: ConstructorParams) -> ActorResult<()> {
    let receiver = own_address()?;
    let mut host = FvmHost::new(contract, origin());
    if p.initcode.is_empty() {
        return host.contract.flush();
    }
    let frame = Frame {
        code: p.initcode.bytes(),
        caller: p.creator,
        receiver,
        value: tokens_to_u256(&rt::sdk::message::value_received()),
        input: Vec::new(),
    };
    match execution::run(&mut host, frame)? {
        Ending::Return(code) => {
            host.contract.set_bytecode(&code)?;
            host.contract.flush()
        }
        Ending::Revert(data) => revert("constructor reverted", &data),
    }
}

/// Runs the contract's code on `input` from the message's caller.
fn invoke_contract(input: Vec<u8>) -> ActorResult<Vec<u8>> {
    let contract = Contract::load()?;
    let Some((code_cid, _)) = contract.bytecode else {
        return Ok(Vec::new());
    };
    let code = calls::read_bytecode(&code_cid)?;
    let caller = eth_address_of(rt::sdk::message::caller());
    let value = tokens_to_u256(&rt::sdk::message::value_received());
    let mut host = FvmHost::new(contract, origin());
    run_code(&mut host, &code, caller, input, value)
}

fn run_code(
    host: &mut FvmHost,
    code: &[u8],
    caller: EthAddress,
    input: Vec<u8>,
    value: revm_interpreter::primitives::U256,
) -> ActorResult<Vec<u8>> {
    if code.is_empty() {
        return Ok(Vec::new());
    }
    let frame = Frame {
        code,
        caller,
        receiver: own_address()?,
        value,
        input,
    };
    match execution::run(host, frame)? {
        Ending::Return(out) => {
            host.contract.flush()?;
            Ok(out)
        }
        Ending::Revert(data) => revert("contract reverted", &data),
    }
}

/// Exits with [`EVM_CONTRACT_REVERTED`] and `data` as a CBOR byte string;
/// the FVM drops the call's changes.
fn revert(msg: &str, data: &[u8]) -> ! {
    let block = fvm_ipld_encoding::to_vec(&BytesSer(data))
        .ok()
        .map(|data| IpldBlock { codec: CBOR, data });
    rt::sdk::vm::exit(EVM_CONTRACT_REVERTED.value(), block, Some(msg))
}

/// A native (non-EVM) method: the contract's
/// `handle_filecoin_method(method, codec, params)`, whose ABI-encoded
/// `(uint32 exit, uint64 codec, bytes data)` becomes the return block, or
/// the exit code.
fn handle_filecoin_method(m: u64, params: u32) -> ActorResult<u32> {
    let block = rt::sdk::message::params_raw(params)
        .map_err(|e| ActorError::serialization(format!("{e:?}")))?;
    let (codec, data) = block.map(|b| (b.codec, b.data)).unwrap_or((0, Vec::new()));
    let out = invoke_contract(abi::native_input(m, codec, &data))?;
    if out.is_empty() {
        return Ok(rt::ret_nothing());
    }
    let (exit, codec, data) = abi::native_output(&out)?;
    let ret = match codec {
        0 if data.is_empty() => None,
        0 => {
            return Err(ActorError::serialization(format!(
                "codec 0 is only valid for empty returns, got a return value of length {}",
                data.len()
            )));
        }
        CBOR => Some(IpldBlock { codec, data }),
        c => return Err(ActorError::serialization(format!("unsupported codec: {c}"))),
    };
    if exit != 0 {
        rt::sdk::vm::exit(
            exit,
            ret,
            Some("EVM contract explicitly exited with a non-zero exit code"),
        );
    }
    match ret {
        Some(b) => rt::sdk::ipld::put_block(b.codec, &b.data)
            .map_err(|e| ActorError::assertion_failed(format!("{e:?}"))),
        None => Ok(rt::ret_nothing()),
    }
}

/// The Solidity ABI of `handle_filecoin_method`.
mod abi {
    use ferrite_actor_rt::{ActorError, ActorResult};

    use super::NATIVE_METHOD_SELECTOR;

    const WORD: usize = 32;

    /// The calldata of `handle_filecoin_method(method, codec, params)`.
    pub fn native_input(method: u64, codec: u64, params: &[u8]) -> Vec<u8> {
        let head = [method, codec, 3 * WORD as u64, params.len() as u64];
        let words = head.len() + params.len().div_ceil(WORD);
        let mut buf = Vec::with_capacity(4 + words * WORD);
        buf.extend_from_slice(&NATIVE_METHOD_SELECTOR);
        for n in head {
            buf.extend_from_slice(&[0u8; 24]);
            buf.extend_from_slice(&n.to_be_bytes());
        }
        buf.extend_from_slice(params);
        buf.resize(4 + words * WORD, 0);
        buf
    }

    /// The word at byte `at` as a number below 2^64 that fits `max`; words
    /// past the end read as zero, as the ABI reader of v18 reads them.
    fn word(out: &[u8], at: usize, max: u64, what: &str) -> ActorResult<u64> {
        let mut w = [0u8; WORD];
        if at < out.len() {
            let end = (at + WORD).min(out.len());
            w[..end - at].copy_from_slice(&out[at..end]);
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(&w[24..]);
        let n = u64::from_be_bytes(low);
        if w[..24].iter().any(|b| *b != 0) || n > max {
            return Err(ActorError::serialization(format!("{what} out of range")));
        }
        Ok(n)
    }

    /// `(exit code, codec, data)` from the method's ABI-encoded output.
    pub fn native_output(out: &[u8]) -> ActorResult<(u32, u64, Vec<u8>)> {
        let exit = word(out, 0, u64::from(u32::MAX), "exit code")? as u32;
        let codec = word(out, WORD, u64::MAX, "codec")?;
        let offset = word(out, 2 * WORD, u64::from(u32::MAX), "return value offset")? as usize;
        let len = word(out, offset, u64::from(u32::MAX), "return length")? as usize;
        let start = offset.saturating_add(WORD);
        let mut data = vec![0u8; len];
        if start < out.len() {
            let avail = (out.len() - start).min(len);
            data[..avail].copy_from_slice(&out[start..start + avail]);
        }
        Ok((exit, codec, data))
    }
}
