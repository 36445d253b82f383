//! Runs EVM code on revm's interpreter, one frame per actor call: the
//! interpreter runs until it returns, reverts or halts, or until it needs
//! another frame (a call or a create), which [`crate::calls`] turns into an
//! FVM send; its outcome goes back into the interpreter (return data,
//! memory, the success flag on the stack) and the interpreter resumes.
//!
//! Gas: the FVM meters this actor's wasm execution and its syscalls, and
//! that is the only gas the message pays, as with the official actor, which
//! charges no EVM gas of its own. revm still counts EVM gas; it is given
//! the FVM gas available when the frame starts as its limit, so the two
//! units are of one scale (an EVM operation costs far fewer EVM gas units
//! than the wasm that runs it costs FVM gas, so the FVM runs out first).
//! The gas a call forwards is handed back to revm's counter when the call
//! returns, since the FVM charged the callee, and the GAS opcode answers
//! the FVM gas available, as FEVM's does. EVM gas is never converted into
//! FVM gas, so nothing is charged twice.

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use fvm_shared::error::ExitCode;
use revm_interpreter::Host as _;
use revm_interpreter::bytecode::Bytecode;
use revm_interpreter::instructions::gas_table_spec;
use revm_interpreter::interpreter::ExtBytecode;
use revm_interpreter::interpreter_types::{InputsTr, ReturnData};
use revm_interpreter::primitives::{Bytes, U256};
use revm_interpreter::{
    CallInput, FrameInput, InputsImpl, Instruction, InstructionContext, InstructionResult,
    InstructionTable, Interpreter, InterpreterAction, SharedMemory, instruction_table,
};

use crate::calls::{self, Outcome};
use crate::host::{FvmHost, SPEC, from_revm, to_revm};
use crate::state::EthAddress;

/// How a frame ended.
pub enum Ending {
    /// RETURN or STOP, with the returned data.
    Return(Vec<u8>),
    /// REVERT, with the revert data.
    Revert(Vec<u8>),
}

/// One frame's inputs.
pub struct Frame<'a> {
    /// The code to run.
    pub code: &'a [u8],
    /// CALLER.
    pub caller: EthAddress,
    /// ADDRESS: this contract.
    pub receiver: EthAddress,
    /// CALLVALUE, in attoFIL.
    pub value: U256,
    /// CALLDATA.
    pub input: Vec<u8>,
}

type Table = InstructionTable<revm_interpreter::interpreter::EthInterpreter, FvmHost>;

/// GAS: the FVM gas available, as FEVM answers it.
fn fvm_gas(
    ctx: InstructionContext<'_, FvmHost, revm_interpreter::interpreter::EthInterpreter>,
) -> Result<(), InstructionResult> {
    if !ctx
        .interpreter
        .stack
        .push(U256::from(rt::sdk::gas::available()))
    {
        return Err(InstructionResult::StackOverflow);
    }
    Ok(())
}

type Ctx<'a> = InstructionContext<'a, FvmHost, revm_interpreter::interpreter::EthInterpreter>;

/// Runs `op` with the host loading other accounts' code: only EXTCODESIZE,
/// EXTCODECOPY and EXTCODEHASH need it, and fetching it (a send to the
/// other actor) for every CALL would cost gas for nothing.
fn with_code(
    ctx: Ctx<'_>,
    op: fn(Ctx<'_>) -> Result<(), InstructionResult>,
) -> Result<(), InstructionResult> {
    let InstructionContext { interpreter, host } = ctx;
    host.load_code = true;
    let r = op(InstructionContext {
        interpreter,
        host: &mut *host,
    });
    host.load_code = false;
    r
}

fn extcodesize(ctx: Ctx<'_>) -> Result<(), InstructionResult> {
    with_code(ctx, revm_interpreter::instructions::host::extcodesize)
}

fn extcodecopy(ctx: Ctx<'_>) -> Result<(), InstructionResult> {
    with_code(ctx, revm_interpreter::instructions::host::extcodecopy)
}

fn extcodehash(ctx: Ctx<'_>) -> Result<(), InstructionResult> {
    with_code(ctx, revm_interpreter::instructions::host::extcodehash)
}

/// KECCAK256 through the FVM's hash syscall, as the official actor hashes:
/// revm's own keccak runs in wasm, where each 64-byte hash (a Solidity
/// mapping lookup) costs hundreds of thousands of gas. The EVM gas, the
/// memory expansion and the checks are revm's.
fn keccak256(ctx: Ctx<'_>) -> Result<(), InstructionResult> {
    let interp = ctx.interpreter;
    let Some(([offset], top)) = interp.stack.popn_top::<1>() else {
        return Err(InstructionResult::StackUnderflow);
    };
    let len = as_usize(top)?;
    if !interp
        .gas
        .record_regular_cost(ctx.host.gas_params().keccak256_cost(len))
    {
        return Err(InstructionResult::OutOfGas);
    }
    let hash = if len == 0 {
        revm_interpreter::primitives::KECCAK_EMPTY.0
    } else {
        let from = as_usize(&offset)?;
        revm_interpreter::interpreter::resize_memory(
            &mut interp.gas,
            &mut interp.memory,
            ctx.host.gas_params(),
            from,
            len,
        )?;
        crate::contract::keccak256(&interp.memory.slice_len(from, len))
    };
    *top = U256::from_be_bytes(hash);
    Ok(())
}

/// An EVM word as a memory offset or length (revm's `as_usize_or_fail`).
fn as_usize(v: &U256) -> Result<usize, InstructionResult> {
    let l = v.as_limbs();
    if l[1] != 0 || l[2] != 0 || l[3] != 0 || l[0] > usize::MAX as u64 {
        return Err(InstructionResult::InvalidOperandOOG);
    }
    Ok(l[0] as usize)
}

fn table() -> Table {
    use revm_interpreter::bytecode::opcode;
    let mut t = instruction_table::<revm_interpreter::interpreter::EthInterpreter, FvmHost>();
    t[usize::from(opcode::GAS)] = Instruction::new(fvm_gas);
    t[usize::from(opcode::EXTCODESIZE)] = Instruction::new(extcodesize);
    t[usize::from(opcode::EXTCODECOPY)] = Instruction::new(extcodecopy);
    t[usize::from(opcode::EXTCODEHASH)] = Instruction::new(extcodehash);
    t[usize::from(opcode::KECCAK256)] = Instruction::new(keccak256);
    t
}

/// Runs `frame` against `host` until it returns, reverts or halts. A halt
/// is an error with v18's exit code for it.
pub fn run(host: &mut FvmHost, frame: Frame<'_>) -> ActorResult<Ending> {
    let bytecode = Bytecode::new_legacy(Bytes::copy_from_slice(frame.code));
    let inputs = InputsImpl {
        target_address: to_revm(&frame.receiver),
        bytecode_address: None,
        caller_address: to_revm(&frame.caller),
        input: CallInput::Bytes(Bytes::from(frame.input)),
        call_value: frame.value,
        depth: 0,
    };
    let mut interp: Interpreter = Interpreter::new(
        SharedMemory::new(),
        ExtBytecode::new(bytecode),
        inputs,
        host.contract.read_only,
        SPEC,
        rt::sdk::gas::available(),
    );
    let table = table();
    let gas_table = gas_table_spec(SPEC);
    loop {
        let action = interp.run_plain(&table, &gas_table, host);
        if let Some(e) = host.error.take() {
            return Err(e);
        }
        match action {
            InterpreterAction::Return(r) => {
                let out = r.output.to_vec();
                return match r.result {
                    InstructionResult::Stop
                    | InstructionResult::Return
                    | InstructionResult::SelfDestruct => Ok(Ending::Return(out)),
                    InstructionResult::Revert => Ok(Ending::Revert(out)),
                    halt => Err(halt_error(halt)),
                };
            }
            InterpreterAction::NewFrame(FrameInput::Call(c)) => {
                let input = c.input.as_bytes_memory(&interp.memory).to_vec();
                let caller = from_revm(&interp.input.caller_address());
                let value = interp.input.call_value();
                let outcome = calls::call(host, &c, &input, &caller, &value)?;
                interp.gas.erase_cost(c.gas_limit);
                let out = &outcome.output;
                let range = c.return_memory_offset.clone();
                let n = out.len().min(range.len());
                if n > 0 {
                    interp.memory.set(range.start, &out[..n]);
                }
                interp.return_data.set_buffer(Bytes::copy_from_slice(out));
                push(&mut interp, U256::from(u8::from(outcome.success)))?;
            }
            InterpreterAction::NewFrame(FrameInput::Create(c)) => {
                let outcome: Outcome = calls::create(host, &c)?;
                interp.gas.erase_cost(c.gas_limit());
                let addr = match outcome.created {
                    Some(a) => a.into_word().into(),
                    None => U256::ZERO,
                };
                interp
                    .return_data
                    .set_buffer(Bytes::copy_from_slice(&outcome.output));
                push(&mut interp, addr)?;
            }
            InterpreterAction::NewFrame(FrameInput::Empty) => {
                return Err(ActorError::assertion_failed(
                    "the interpreter asked for an empty frame",
                ));
            }
        }
    }
}

fn push(interp: &mut Interpreter, v: U256) -> ActorResult<()> {
    if interp.stack.push(v) {
        Ok(())
    } else {
        Err(halt_error(InstructionResult::StackOverflow))
    }
}

/// v18's exit code for an EVM halt.
fn halt_error(r: InstructionResult) -> ActorError {
    use InstructionResult as R;
    let code = match r {
        R::InvalidFEOpcode => crate::EVM_CONTRACT_INVALID_INSTRUCTION,
        R::OpcodeNotFound | R::NotActivated => crate::EVM_CONTRACT_UNDEFINED_INSTRUCTION,
        R::StackUnderflow => crate::EVM_CONTRACT_STACK_UNDERFLOW,
        R::StackOverflow => crate::EVM_CONTRACT_STACK_OVERFLOW,
        R::OutOfOffset | R::InvalidOperandOOG | R::MemoryOOG | R::MemoryLimitOOG => {
            crate::EVM_CONTRACT_ILLEGAL_MEMORY_ACCESS
        }
        R::InvalidJump => crate::EVM_CONTRACT_BAD_JUMPDEST,
        R::CallNotAllowedInsideStatic | R::StateChangeDuringStaticCall => ExitCode::USR_READ_ONLY,
        // EVM gas ran out before FVM gas did (see the module comment): the
        // FVM's own out-of-gas code is not one an actor may exit with.
        _ => ExitCode::USR_ASSERTION_FAILED,
    };
    ActorError::new(code, format!("EVM execution halted: {r:?}"))
}
