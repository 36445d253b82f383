//! Filecoin's precompiles at `0xfe00…00NN`, as v18 defines them:
//!
//! - 0x01 resolve_address: the input is a Filecoin address in its byte
//!   form (no length word); answers its actor ID as a word, or no data if
//!   no actor has it. Bytes that are no address fail.
//! - 0x02 lookup_delegated_address: the input is an actor ID (a word);
//!   answers the actor's f4 address in byte form, or no data.
//! - 0x03 call_actor and 0x05 call_actor_id: a send to any actor, made
//!   only by DELEGATECALL (else the call fails). The input is
//!   Solidity-ABI encoded without a selector: `(uint64 method, uint256
//!   value, uint64 flags, uint64 codec, bytes params, bytes address)`, or
//!   with `uint64 actor_id` in place of the address for call_actor_id. The
//!   method is 0 (a plain send) or above 1023; flags are the FVM's send
//!   flags (1: read-only); the codec is CBOR (0x51) or 0 with no
//!   parameters. The answer is ABI-encoded `(int256 exit_code, uint64
//!   codec, bytes return_data)`, padded to whole words: 0 and the return
//!   block on success, the actor's exit code and its return block on an
//!   abort, and minus the FVM's error number when the send itself failed
//!   (-13, read-only, for value sent from a static call). Gas: at most the
//!   CALL's, within 63/64 of what is left.
//!
//! - 0x06 get_beacon_randomness (FIP-0095): the input is an epoch (a word);
//!   answers the beacon's randomness digest there (32 bytes), as the FVM's
//!   syscall gives it.
//!
//! 0x04 (get_actor_type) is disabled in v18: it is a reserved address with
//! no precompile.

use ferrite_actor_rt as rt;
use fvm_ipld_encoding::CBOR;
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_shared::METHOD_SEND;
use fvm_shared::address::Address;
use fvm_shared::sys::SendFlags;
use revm_interpreter::primitives::U256;

use super::{Answer, CallKind, Context, Failure, Reader};
use crate::host::{FvmHost, u256_to_tokens};

/// Methods up to this one are reserved (v18's `EVM_MAX_RESERVED_METHOD`):
/// call_actor may not call them, except method 0.
const MAX_RESERVED_METHOD: u64 = 1023;

/// 0x01: resolve_address.
pub fn resolve_address(_: &mut FvmHost, input: &[u8], _: &Context) -> Answer {
    let addr = Address::from_bytes(input).map_err(|_| Failure::Failed("not an address"))?;
    Ok(rt::sdk::actor::resolve_address(&addr)
        .map(|id| U256::from(id).to_be_bytes::<32>().to_vec())
        .unwrap_or_default())
}

/// 0x02: lookup_delegated_address.
pub fn lookup_delegated_address(_: &mut FvmHost, input: &[u8], _: &Context) -> Answer {
    let id = Reader::new(input).u64()?;
    Ok(rt::sdk::actor::lookup_delegated_address(id)
        .map(|a| a.to_bytes())
        .unwrap_or_default())
}

/// 0x06: get_beacon_randomness (FIP-0095): the drand beacon's randomness
/// digest at an epoch (a word, below 2^63 as v18 reads it), from the FVM's
/// syscall; an epoch the syscall refuses fails. The FVM charges its gas by
/// the lookback.
pub fn get_beacon_randomness(_: &mut FvmHost, input: &[u8], _: &Context) -> Answer {
    let epoch = Reader::new(input).i64()?;
    rt::sdk::rand::get_beacon_randomness(epoch)
        .map(|r| r.to_vec())
        .map_err(|_| Failure::Failed("no beacon randomness at that epoch"))
}

/// 0x03: call_actor, the target named by a Filecoin address.
pub fn call_actor(host: &mut FvmHost, input: &[u8], ctx: &Context) -> Answer {
    call(host, input, ctx, false)
}

/// 0x05: call_actor_id, the target named by its actor ID.
pub fn call_actor_id(host: &mut FvmHost, input: &[u8], ctx: &Context) -> Answer {
    call(host, input, ctx, true)
}

fn call(host: &mut FvmHost, input: &[u8], ctx: &Context, by_id: bool) -> Answer {
    if ctx.kind != CallKind::DelegateCall {
        return Err(Failure::Failed("call_actor is only for DELEGATECALL"));
    }
    let mut r = Reader::new(input);
    let method = r.u64()?;
    let value = r.u256();
    let flags = SendFlags::from_bits(r.u64()?).ok_or(Failure::Failed("unknown send flags"))?;
    let codec = r.u64()?;
    let params_at = r.length()?;
    let target = r.u64()?;
    r.seek(params_at);
    let params_len = r.length()?;
    let params = r.padded(params_len);
    let to = if by_id {
        Address::new_id(target)
    } else {
        let at = usize::try_from(target).map_err(|_| Failure::Failed("address offset"))?;
        r.seek(at);
        let len = r.length()?;
        Address::from_bytes(&r.padded(len)).map_err(|_| Failure::Failed("not an address"))?
    };
    if method <= MAX_RESERVED_METHOD && method != METHOD_SEND {
        return Err(Failure::Failed("call_actor may not call a reserved method"));
    }
    let params = match codec {
        CBOR => Some(IpldBlock {
            codec,
            data: params,
        }),
        0 if params.is_empty() => None,
        _ => return Err(Failure::Failed("unsupported codec")),
    };

    host.contract.flush()?;
    let sent = rt::sdk::send::send(
        &to,
        method,
        params,
        u256_to_tokens(&value),
        Some(ctx.gas_limit),
        flags,
    );
    let (exit, block) = match sent {
        Ok(r) => {
            if r.exit_code.is_success() {
                host.contract.reload()?;
            }
            (U256::from(r.exit_code.value()), r.return_data)
        }
        // A failed syscall: minus its error number, two's complement.
        Err(e) => (U256::from(e as u32).wrapping_neg(), None),
    };
    let (ret_codec, data) = block.map(|b| (b.codec, b.data)).unwrap_or((0, Vec::new()));
    let mut out = Vec::with_capacity(4 * 32 + data.len().next_multiple_of(32));
    out.extend_from_slice(&exit.to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(ret_codec).to_be_bytes::<32>());
    // The offset of the bytes: after the three head words.
    out.extend_from_slice(&U256::from(3 * 32).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(data.len()).to_be_bytes::<32>());
    out.extend_from_slice(&data);
    out.resize(out.len().next_multiple_of(32), 0);
    Ok(out)
}
