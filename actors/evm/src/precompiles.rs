//! The precompiled contracts that this actor runs itself: Ethereum's
//! ecrecover (0x01), SHA-256 (0x02), RIPEMD-160 (0x03) and identity (0x04),
//! on the FVM's hash and key-recovery syscalls. Not yet: modexp (0x05),
//! the BN254 ones (0x06–0x08), blake2f (0x09) and the point evaluation
//! (0x0a), and Filecoin's (0xfe00…01 to …0a: resolve address, lookup
//! delegated address, call actor, get actor type, call actor by ID): a call
//! to one of those fails (0 on the stack), where v18 would run it.

use ferrite_actor_rt as rt;
use fvm_shared::crypto::hash::SupportedHashes;

use crate::calls::Outcome;
use crate::state::EthAddress;

/// Runs the precompile at `addr` (which is in a precompile range) on
/// `input`.
pub fn call(addr: &EthAddress, input: &[u8]) -> Outcome {
    let ethereum = addr.0[0] == 0x00;
    let output = match (ethereum, addr.0[19]) {
        // Index 0 is no precompile: an address without code.
        (_, 0) => Some(Vec::new()),
        (true, 0x01) => Some(ecrecover(input)),
        (true, 0x02) => Some(hash(SupportedHashes::Sha2_256, input, 32)),
        (true, 0x03) => {
            // RIPEMD-160's 20 bytes, left-padded to a word.
            let mut out = vec![0u8; 12];
            out.extend(hash(SupportedHashes::Ripemd160, input, 20));
            Some(out)
        }
        (true, 0x04) => Some(input.to_vec()),
        _ => None,
    };
    Outcome {
        success: output.is_some(),
        output: output.unwrap_or_default(),
        created: None,
    }
}

fn hash(h: SupportedHashes, input: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rt::sdk::crypto::hash_into(h, input, &mut out);
    out
}

/// The input read as the ABI reads it: past its end, zeros.
fn padded<const N: usize>(input: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if at < input.len() {
        let n = (input.len() - at).min(N);
        out[..n].copy_from_slice(&input[at..at + n]);
    }
    out
}

/// ecrecover(hash, v, r, s): the signer's address as a word, or nothing
/// (success with empty output, as in Ethereum) for a bad signature.
fn ecrecover(input: &[u8]) -> Vec<u8> {
    let msg: [u8; 32] = padded(input, 0);
    let v: [u8; 32] = padded(input, 32);
    let rs: [u8; 64] = padded(input, 64);
    if v[..31].iter().any(|b| *b != 0) || !(v[31] == 27 || v[31] == 28) {
        return Vec::new();
    }
    let mut sig = [0u8; 65];
    sig[..64].copy_from_slice(&rs);
    sig[64] = v[31] - 27;
    match rt::sdk::crypto::recover_secp_public_key(&msg, &sig) {
        Ok(public) => {
            let h = crate::contract::keccak256(&public[1..]);
            let mut out = vec![0u8; 12];
            out.extend_from_slice(&h[12..]);
            out
        }
        Err(_) => Vec::new(),
    }
}
