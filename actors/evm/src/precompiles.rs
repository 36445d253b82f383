//! The precompiled contracts, as v18's EVM actor defines them, run inside
//! this actor: a CALL, STATICCALL or DELEGATECALL to a reserved address is
//! no FVM send but a function call here.
//!
//! Reserved addresses: `0x00…00NN` (Ethereum's) and `0xfe00…00NN`
//! (Filecoin's), `NN` > 0. [`ethereum`] has Ethereum's: ecrecover (0x01),
//! SHA-256 (0x02), RIPEMD-160 (0x03), identity (0x04), modexp (0x05),
//! BN254 ecAdd, ecMul and ecPairing (0x06–0x08) and blake2f (0x09);
//! [`bls12_381`] the BLS12-381 ones of EIP-2537 (0x0b–0x11). There is no
//! point evaluation (0x0a), as in v18. [`filecoin`] has Filecoin's:
//! resolve_address (0xfe…01), lookup_delegated_address (0xfe…02),
//! call_actor (0xfe…03), call_actor_id (0xfe…05) and get_beacon_randomness
//! (0xfe…06, FIP-0095); 0xfe…04 (get_actor_type) is disabled in v18.
//!
//! As in v18: a reserved address with no precompile (0x0a, 0x12 and up,
//! 0xfe…04, 0xfe…07 and up) answers success with no data; a precompile
//! that fails (bad input, a call_actor not made by DELEGATECALL) answers
//! failure (0 on the stack) with no data; a non-zero value sent along is
//! transferred to the address (its f410 form) after the precompile ran,
//! and a failed transfer fails the call.
//!
//! Gas: v18 charges no gas of its own for a precompile (no EIP-198,
//! EIP-1108 or EIP-2537 prices): the FVM meters the wasm that runs it, and
//! so it is here. call_actor forwards at most the gas the CALL names,
//! within 63/64 of what is left, as v18 does.

pub mod bls12_381;
pub mod ethereum;
pub mod filecoin;

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use fvm_shared::METHOD_SEND;
use fvm_shared::sys::SendFlags;
use revm_interpreter::primitives::U256;
use revm_interpreter::{CallInputs, CallScheme};

use crate::calls::Outcome;
use crate::host::{FvmHost, u256_to_tokens};
use crate::state::EthAddress;

/// The first byte of Filecoin's precompile addresses.
const FILECOIN_PREFIX: u8 = 0xfe;

/// How the precompile was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// CALL (or CALLCODE).
    Call,
    /// STATICCALL.
    StaticCall,
    /// DELEGATECALL: the only way call_actor may be called.
    DelegateCall,
}

/// What a precompile knows of its call.
pub struct Context {
    /// The kind of call.
    pub kind: CallKind,
    /// The FVM gas the call may forward (call_actor's send limit).
    pub gas_limit: u64,
}

/// Why a precompile gave no output.
#[derive(Debug)]
pub enum Failure {
    /// The precompile failed: the call answers 0 and no data.
    Failed(&'static str),
    /// The actor must stop: its state could not be written or read back.
    Abort(ActorError),
}

/// A precompile's answer.
pub type Answer = Result<Vec<u8>, Failure>;

/// A precompile: a function of its input alone, or one that acts as the
/// actor (reads the chain, sends).
enum Precompile {
    Pure(fn(&[u8]) -> Answer),
    Actor(fn(&mut FvmHost, &[u8], &Context) -> Answer),
}

/// Whether `addr` is reserved for precompiles: `0x00…00NN` or
/// `0xfe00…00NN` with `NN` > 0, defined or not.
pub fn is_reserved(addr: &EthAddress) -> bool {
    let [prefix, middle @ .., index] = addr.0;
    (prefix == 0x00 || prefix == FILECOIN_PREFIX) && middle == [0u8; 18] && index > 0
}

/// The precompile at a reserved address, if one is defined there.
fn lookup(addr: &EthAddress) -> Option<Precompile> {
    use Precompile::{Actor, Pure};
    Some(match (addr.0[0], addr.0[19]) {
        (0x00, 0x01) => Pure(ethereum::ecrecover),
        (0x00, 0x02) => Pure(ethereum::sha256),
        (0x00, 0x03) => Pure(ethereum::ripemd160),
        (0x00, 0x04) => Pure(ethereum::identity),
        (0x00, 0x05) => Pure(ethereum::modexp),
        (0x00, 0x06) => Pure(ethereum::ec_add),
        (0x00, 0x07) => Pure(ethereum::ec_mul),
        (0x00, 0x08) => Pure(ethereum::ec_pairing),
        (0x00, 0x09) => Pure(ethereum::blake2f),
        (0x00, 0x0b) => Pure(bls12_381::g1_add),
        (0x00, 0x0c) => Pure(bls12_381::g1_msm),
        (0x00, 0x0d) => Pure(bls12_381::g2_add),
        (0x00, 0x0e) => Pure(bls12_381::g2_msm),
        (0x00, 0x0f) => Pure(bls12_381::pairing_check),
        (0x00, 0x10) => Pure(bls12_381::map_fp_to_g1),
        (0x00, 0x11) => Pure(bls12_381::map_fp2_to_g2),
        (FILECOIN_PREFIX, 0x01) => Actor(filecoin::resolve_address),
        (FILECOIN_PREFIX, 0x02) => Actor(filecoin::lookup_delegated_address),
        (FILECOIN_PREFIX, 0x03) => Actor(filecoin::call_actor),
        (FILECOIN_PREFIX, 0x05) => Actor(filecoin::call_actor_id),
        (FILECOIN_PREFIX, 0x06) => Actor(filecoin::get_beacon_randomness),
        _ => return None,
    })
}

/// Runs the call `c` to the reserved address `addr` (see [`is_reserved`])
/// on `input`.
pub fn call(
    host: &mut FvmHost,
    c: &CallInputs,
    addr: &EthAddress,
    input: &[u8],
) -> ActorResult<Outcome> {
    let kind = match c.scheme {
        CallScheme::Call | CallScheme::CallCode => CallKind::Call,
        CallScheme::StaticCall => CallKind::StaticCall,
        CallScheme::DelegateCall => CallKind::DelegateCall,
    };
    let ctx = Context {
        kind,
        gas_limit: effective_gas_limit(c.gas_limit),
    };
    let answer = match lookup(addr) {
        Some(Precompile::Pure(f)) => f(input),
        Some(Precompile::Actor(f)) => f(host, input, &ctx),
        None => Ok(Vec::new()),
    };
    let output = match answer {
        Ok(output) => output,
        Err(Failure::Failed(_)) => return Ok(failed()),
        Err(Failure::Abort(e)) => return Err(e),
    };
    // Only CALL moves value (DELEGATECALL's is the frame's, apparent); it
    // goes to the precompile's address after the precompile ran, as in v18.
    let value = c.transfer_value().unwrap_or(U256::ZERO);
    if !value.is_zero() {
        let to = crate::contract::fil_address_of(addr)?;
        let sent = crate::calls::send(
            host,
            &to,
            METHOD_SEND,
            None,
            u256_to_tokens(&value),
            None,
            SendFlags::empty(),
        )?;
        if !sent.success {
            return Ok(failed());
        }
    }
    Ok(Outcome {
        success: true,
        output,
        created: None,
    })
}

fn failed() -> Outcome {
    Outcome {
        success: false,
        output: Vec::new(),
        created: None,
    }
}

/// The gas a call may forward: what it asked for, within 63/64 of the FVM
/// gas left (v18's rule).
fn effective_gas_limit(asked: u64) -> u64 {
    let left = u128::from(rt::sdk::gas::available());
    asked.min(u64::try_from(left * 63 / 64).unwrap_or(u64::MAX))
}

/// Reads a precompile's input as v18 reads it: values in 32-byte words,
/// big-endian, the input followed by as many zeros as are read.
pub struct Reader<'a> {
    full: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader {
            full: input,
            rest: input,
        }
    }

    /// Moves to byte `offset` of the input (past its end: only zeros left).
    pub fn seek(&mut self, offset: usize) {
        self.rest = self.full.get(offset..).unwrap_or(&[]);
    }

    /// The next `N` bytes, zero-padded.
    pub fn fixed<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.rest.len());
        out[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        out
    }

    /// The next `len` bytes, zero-padded.
    pub fn padded(&mut self, len: usize) -> Vec<u8> {
        let n = len.min(self.rest.len());
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.rest[..n]);
        out.resize(len, 0);
        self.rest = &self.rest[n..];
        out
    }

    /// The next word as a number below 2^64: a word with any of its high
    /// 24 bytes set fails, as v18's reader fails on it.
    pub fn u64(&mut self) -> Result<u64, Failure> {
        let w: [u8; 32] = self.fixed();
        if w[..24].iter().any(|b| *b != 0) {
            return Err(Failure::Failed("a value overflows 64 bits"));
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(&w[24..]);
        Ok(u64::from_be_bytes(low))
    }

    /// The next word as a signed 64-bit number: the high 24 bytes zero, the
    /// low 8 two's complement (v18's reading of an `i64`).
    pub fn i64(&mut self) -> Result<i64, Failure> {
        let w: [u8; 32] = self.fixed();
        if w[..24].iter().any(|b| *b != 0) {
            return Err(Failure::Failed("a value overflows 64 bits"));
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(&w[24..]);
        Ok(i64::from_be_bytes(low))
    }

    /// The next word as a number below 2^32.
    pub fn u32(&mut self) -> Result<u32, Failure> {
        u32::try_from(self.u64()?).map_err(|_| Failure::Failed("a value overflows 32 bits"))
    }

    /// The next word as a length or offset (below 2^32).
    pub fn length(&mut self) -> Result<usize, Failure> {
        usize::try_from(self.u32()?).map_err(|_| Failure::Failed("a length overflows"))
    }

    /// The next word as a 256-bit number.
    pub fn u256(&mut self) -> U256 {
        U256::from_be_bytes(self.fixed::<32>())
    }

    /// The next `len` bytes as a big-endian unsigned number; missing bytes
    /// are zeros at the low end (the input is zero-padded).
    pub fn biguint(&mut self, len: usize) -> fvm_shared::bigint::BigUint {
        let n = len.min(self.rest.len());
        let mut int = fvm_shared::bigint::BigUint::from_bytes_be(&self.rest[..n]);
        self.rest = &self.rest[n..];
        if n < len {
            int <<= (len - n) * 8;
        }
        int
    }
}

impl From<ActorError> for Failure {
    fn from(e: ActorError) -> Failure {
        Failure::Abort(e)
    }
}
