//! Issue 17: the precompiles, on our EVM actor and on the official v18 one.
//!
//! On each bundle (Ferrite's, and the official v18 `devnet` bundle when
//! `FERRITE_REFERENCE_BUNDLE` names it) an f1 account deploys
//! `fixtures/evm/Precompiles.sol` (compiled by `fixtures/evm/compile.mjs`;
//! `npm run check` there says whether `Precompiles.json` is current), a
//! contract whose functions make one kind of call (CALL, STATICCALL,
//! DELEGATECALL, from a static frame, with value) to an address with the
//! input the test gives, and return `(bool ok, bytes out)`. The test then
//! calls:
//!
//! - Ethereum's precompiles with known vectors: SHA-256 and RIPEMD-160 of
//!   "abc", identity, modexp (EIP-198's examples, and one checked against
//!   num-bigint here), ecAdd and ecMul (2·G on BN254), ecPairing (EIP-197:
//!   e(G1, G2)·e(−G1, G2) = 1, a single pair ≠ 1, no pairs = 1), blake2f
//!   (EIP-152's 12-round "abc" vector, checked against BLAKE2b-512 here);
//!   and their bad inputs (a point off the curve, a pairing input not a
//!   multiple of 192 bytes, a blake2f input of 212 bytes or with flag 2, a
//!   modexp length over 32 bits, ecrecover with v = 29);
//! - the BLS12-381 ones of EIP-2537: G1ADD and G1MSM (2·G1, EIP-2537's
//!   vector), G2ADD against G2MSM, PAIRING_CHECK (e(G1, G2)·e(−G1, G2) = 1),
//!   MAP_FP_TO_G1 and MAP_FP2_TO_G2 (their points taken back by the
//!   subgroup-checking MSMs), and bad inputs;
//! - the reserved addresses with no precompile (0x0a, 0x12, 0xfe…04 which
//!   v18 disables, 0xfe…07): success with no data;
//! - Filecoin's: resolve_address of f1, f0 and f410 addresses (an unknown
//!   f1: no data; no address: failure); lookup_delegated_address of the
//!   contract and of an f1 account; get_beacon_randomness (FIP-0095, the
//!   devnet beacon's digest); call_actor sending FIL to the BLS (f3)
//!   worker (its balance checked); call_actor_id calling the market's
//!   exported AddBalance with value and GetBalance (the escrow checked in
//!   the CBOR it returns), the answer also kept in the contract's storage;
//!   and the refusals: call_actor by CALL or STATICCALL, a reserved method,
//!   a DAG-CBOR codec, unknown flags, a missing actor (−6, not found), a
//!   value sent from a static frame (−13, read-only);
//! - value sent to a precompile with CALL (it lands at the precompile's
//!   f410 address; a failing precompile keeps it), and a CALL with value
//!   from a static frame (the frame fails).
//!
//! Every answer is checked against the value it must have, and the two
//! bundles' runs are compared step by step: exit codes and return data.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use common::{Actors, bundles};
use fil_actor_evm_state::v18 as evm;
use fvm_ipld_encoding::{BytesDe, BytesSer, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::bigint::BigUint;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use sha3::Digest;

/// The EAM (f010) and its CreateExternal method.
const EAM: u64 = 10;
const CREATE_EXTERNAL: u64 = 4;
/// The market actor and its FRC-42 AddBalance and GetBalance.
const MARKET: u64 = 5;
const ADD_BALANCE: u64 = 822473126;
const GET_BALANCE: u64 = 726108461;
/// Codecs.
const CBOR: u64 = 0x51;
const DAG_CBOR: u64 = 0x71;

/// The EAM's return value (v18).
#[derive(Debug, PartialEq, fvm_ipld_encoding::tuple::Deserialize_tuple)]
struct EamReturn {
    actor_id: u64,
    robust_address: Option<Address>,
    eth_address: fil_actor_evm_state::evm_shared::v18::address::EthAddress,
}

/// The market's GetBalance return (v18).
#[derive(Debug, PartialEq, fvm_ipld_encoding::tuple::Deserialize_tuple)]
struct BalanceReturn {
    balance: TokenAmount,
    locked: TokenAmount,
}

fn keccak(data: &[u8]) -> [u8; 32] {
    sha3::Keccak256::digest(data).into()
}

fn selector(sig: &str) -> [u8; 4] {
    keccak(sig.as_bytes())[..4].try_into().unwrap()
}

fn word(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// A precompile's address: `prefix` (0x00 or 0xfe), zeros, `index`.
fn precompile(prefix: u8, index: u8) -> [u8; 20] {
    let mut a = [0u8; 20];
    a[0] = prefix;
    a[19] = index;
    a
}

fn address_word(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// `bytes` as the ABI's tail: its length, then the data padded to words.
fn abi_bytes(data: &[u8]) -> Vec<u8> {
    let mut v = word(data.len() as u64).to_vec();
    v.extend_from_slice(data);
    v.resize(32 + data.len().div_ceil(32) * 32, 0);
    v
}

/// Calldata of `f(address, bytes)`.
fn call_with(sig: &str, target: &[u8; 20], input: &[u8]) -> Vec<u8> {
    let mut v = selector(sig).to_vec();
    v.extend_from_slice(&address_word(target));
    v.extend_from_slice(&word(64));
    v.extend(abi_bytes(input));
    v
}

/// Calldata of `f(address, bytes, uint256)`.
fn call_with_value(sig: &str, target: &[u8; 20], input: &[u8], value: u64) -> Vec<u8> {
    let mut v = selector(sig).to_vec();
    v.extend_from_slice(&address_word(target));
    v.extend_from_slice(&word(96));
    v.extend_from_slice(&word(value));
    v.extend(abi_bytes(input));
    v
}

/// A `(bool, bytes)` return decoded.
fn decode_answer(ret: &[u8]) -> (bool, Vec<u8>) {
    assert!(
        ret.len() >= 96,
        "a (bool, bytes) return: {}",
        hex::encode(ret)
    );
    let ok = match ret[31] {
        0 => false,
        1 => true,
        b => panic!("not a bool: {b}"),
    };
    let at = u64::from_be_bytes(ret[56..64].try_into().unwrap()) as usize;
    let len = u64::from_be_bytes(ret[at + 24..at + 32].try_into().unwrap()) as usize;
    (ok, ret[at + 32..at + 32 + len].to_vec())
}

/// call_actor's and call_actor_id's input: `(method, value, flags, codec,
/// params, address or id)`.
enum Target<'a> {
    Address(&'a Address),
    Id(u64),
}

fn call_actor_input(
    method: u64,
    value: u64,
    flags: u64,
    codec: u64,
    params: &[u8],
    to: Target<'_>,
) -> Vec<u8> {
    let params_tail = abi_bytes(params);
    let mut v = Vec::new();
    for w in [method, value, flags, codec, 6 * 32] {
        v.extend_from_slice(&word(w));
    }
    match to {
        Target::Address(a) => {
            v.extend_from_slice(&word((6 * 32 + params_tail.len()) as u64));
            v.extend(params_tail);
            v.extend(abi_bytes(&a.to_bytes()));
        }
        Target::Id(id) => {
            v.extend_from_slice(&word(id));
            v.extend(params_tail);
        }
    }
    v
}

/// call_actor's answer: `(int256 exit, uint64 codec, bytes data)`.
fn call_actor_answer(exit: i64, codec: u64, data: &[u8]) -> Vec<u8> {
    let mut v = if exit < 0 {
        let mut w = [0xffu8; 32];
        w[24..].copy_from_slice(&exit.to_be_bytes());
        w.to_vec()
    } else {
        word(exit as u64).to_vec()
    };
    v.extend_from_slice(&word(codec));
    v.extend_from_slice(&word(96));
    v.extend(abi_bytes(data));
    v
}

/// The init code of contract `name`, from the `<name>.json` that
/// compile.mjs wrote.
fn initcode(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/evm/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    hex::decode(json["initcode"].as_str().unwrap()).unwrap()
}

/// What one step gave.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    exit: ExitCode,
    ret: Vec<u8>,
    gas: u64,
}

impl Step {
    /// The `(ok, out)` the contract returned.
    fn answer(&self) -> (bool, Vec<u8>) {
        assert_eq!(self.exit, ExitCode::OK, "{self:?}");
        let BytesDe(ret) = fvm_ipld_encoding::from_slice(&self.ret).unwrap();
        decode_answer(&ret)
    }
}

fn step_of(ret: &fvm::executor::ApplyRet) -> Step {
    Step {
        exit: ret.msg_receipt.exit_code,
        ret: ret.msg_receipt.return_data.to_vec(),
        gas: ret.msg_receipt.gas_used,
    }
}

struct Chain {
    net: common::net::Net,
    actors: Actors,
    contract: Address,
    steps: Vec<(String, Step)>,
}

impl Chain {
    /// Executes a message from the owner in a block.
    fn exec(&self, to: Address, method: u64, params: RawBytes, value: u64) -> Step {
        let owner = &self.net.owner;
        let msg = common::net::message(
            owner.address().unwrap(),
            to,
            method,
            params,
            TokenAmount::from_atto(value),
        );
        let dn = &self.net.dn;
        let cid = dn.push_next(msg, owner).unwrap().cid().unwrap();
        dn.produce_block().unwrap();
        dn.produce_block().unwrap();
        let found = dn.search(&cid).unwrap().expect("message executed");
        let (_, ret) = dn.replay(&cid).unwrap();
        assert_eq!(ret.msg_receipt, found.receipt, "replay gives the receipt");
        step_of(&ret)
    }

    /// Runs a message from the owner on the head's state without keeping
    /// it.
    fn call(&self, to: Address, method: u64, params: RawBytes) -> Step {
        let from = self.net.owner.address().unwrap();
        let mut msg = common::net::message(from, to, method, params, TokenAmount::default());
        msg.sequence = self.net.dn.next_nonce(&from).unwrap();
        step_of(&self.net.dn.call(msg, &[]).unwrap())
    }

    /// Runs `calldata` on the contract (kept in a block when `value` is
    /// given or `keep`), records the step, and returns its `(ok, out)`.
    fn invoke(&mut self, name: &str, calldata: Vec<u8>, value: u64, keep: bool) -> (bool, Vec<u8>) {
        let params = RawBytes::serialize(BytesSer(&calldata)).unwrap();
        let method = evm::Method::InvokeContract as u64;
        let step = if keep || value > 0 {
            self.exec(self.contract, method, params, value)
        } else {
            self.call(self.contract, method, params)
        };
        assert_eq!(
            step.exit,
            ExitCode::OK,
            "{:?}: {name}: {step:?}",
            self.actors
        );
        let answer = step.answer();
        self.steps.push((name.to_string(), step));
        answer
    }

    /// `callTo(target, input)` with a plain CALL, expecting `(ok, out)`.
    fn check(&mut self, name: &str, target: [u8; 20], input: &[u8], ok: bool, out: &[u8]) {
        let answer = self.invoke(
            name,
            call_with("callTo(address,bytes)", &target, input),
            0,
            false,
        );
        assert_eq!(
            answer,
            (ok, out.to_vec()),
            "{:?}: {name}: got {}",
            self.actors,
            hex::encode(&answer.1)
        );
    }

    fn balance(&self, a: &Address) -> TokenAmount {
        self.net
            .dn
            .actor(a, &[])
            .unwrap()
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    fn id_of(&self, a: &Address) -> u64 {
        self.net
            .dn
            .lookup_id(a, &[])
            .unwrap()
            .unwrap()
            .id()
            .unwrap()
    }
}

/// BN254's G1 generator and 2·G1 (EIP-196's test values).
const G1_X: u64 = 1;
const G1_Y: u64 = 2;
const TWO_G1: [&str; 2] = [
    "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3",
    "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4",
];
/// The base field's modulus minus 2: −G1's y.
const MINUS_G1_Y: &str = "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45";
/// The group order.
const ORDER: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
/// BN254's G2 generator, each coordinate imaginary part first (EIP-197).
const G2: [&str; 4] = [
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2",
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed",
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b",
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa",
];

fn g2() -> Vec<u8> {
    G2.iter().flat_map(|h| hex32(h)).collect()
}

fn ethereum_precompiles(c: &mut Chain) {
    let e = |i| precompile(0x00, i);

    // 0x01 ecrecover: a bad v is no failure, just no address.
    let mut input = keccak(b"ferrite").to_vec();
    input.extend_from_slice(&word(29));
    input.extend_from_slice(&word(1));
    input.extend_from_slice(&word(1));
    c.check("ecrecover, v = 29", e(1), &input, true, &[]);

    // 0x02, 0x03, 0x04.
    c.check(
        "sha256(abc)",
        e(2),
        b"abc",
        true,
        &hex32("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    );
    let mut ripemd = [0u8; 32];
    ripemd[12..].copy_from_slice(&hex::decode("8eb208f7e05d987a9b044a8e98c6b087f15a0bfc").unwrap());
    c.check("ripemd160(abc)", e(3), b"abc", true, &ripemd);
    c.check("identity", e(4), b"ferrite", true, b"ferrite");

    // 0x05 modexp, EIP-198's first example: 3^(p-1) mod p = 1 for the prime
    // p = 2^256 - 2^32 - 977.
    let p_minus_1 = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e";
    let p = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
    let mut input = [word(1), word(32), word(32)].concat();
    input.push(3);
    input.extend_from_slice(&hex32(p_minus_1));
    input.extend_from_slice(&hex32(p));
    c.check("modexp: Fermat", e(5), &input, true, &word(1));
    // Its second: modulus 0 gives zeros.
    let mut input = [word(0), word(32), word(32)].concat();
    input.extend_from_slice(&hex32(p_minus_1));
    c.check("modexp: modulus 0", e(5), &input, true, &[0u8; 32]);
    // 2^10 mod 1000 = 24, in the modulus's two bytes.
    let input = [&word(1)[..], &word(1), &word(2), &[2, 10, 0x03, 0xe8]].concat();
    c.check("modexp: 2^10 mod 1000", e(5), &input, true, &[0, 24]);
    // 256-bit operands, checked against num-bigint here.
    let (b, x, m) = (keccak(b"base"), keccak(b"exp"), keccak(b"mod"));
    let expected = BigUint::from_bytes_be(&b)
        .modpow(&BigUint::from_bytes_be(&x), &BigUint::from_bytes_be(&m))
        .to_bytes_be();
    let mut padded = vec![0u8; 32 - expected.len()];
    padded.extend(expected);
    let input = [word(32), word(32), word(32), b, x, m].concat();
    c.check("modexp: 256-bit", e(5), &input, true, &padded);
    // A length past 32 bits fails (v18's limit).
    let mut huge = [0u8; 32];
    huge[27] = 1;
    let input = [word(1), huge, word(1)].concat();
    c.check("modexp: a length over 2^32", e(5), &input, false, &[]);

    // 0x06 ecAdd, 0x07 ecMul: 2·G1 both ways.
    let g1 = [word(G1_X), word(G1_Y)].concat();
    let two_g1: Vec<u8> = TWO_G1.iter().flat_map(|h| hex32(h)).collect();
    c.check(
        "ecAdd: G1 + G1",
        e(6),
        &[g1.clone(), g1.clone()].concat(),
        true,
        &two_g1,
    );
    c.check("ecAdd: G1 + infinity", e(6), &g1, true, &g1);
    c.check("ecAdd: no input", e(6), &[], true, &[0u8; 64]);
    let off_curve = [word(1), word(3)].concat();
    c.check("ecAdd: a point off the curve", e(6), &off_curve, false, &[]);
    c.check(
        "ecMul: 2·G1",
        e(7),
        &[g1.clone(), word(2).to_vec()].concat(),
        true,
        &two_g1,
    );
    c.check(
        "ecMul: order·G1",
        e(7),
        &[g1.clone(), hex32(ORDER).to_vec()].concat(),
        true,
        &[0u8; 64],
    );

    // 0x08 ecPairing (EIP-197).
    let minus_g1 = [word(G1_X), hex32(MINUS_G1_Y)].concat();
    let pair = [g1.clone(), g2()].concat();
    let pairs = [pair.clone(), minus_g1, g2()].concat();
    c.check(
        "ecPairing: e(G1,G2)·e(-G1,G2)",
        e(8),
        &pairs,
        true,
        &word(1),
    );
    c.check("ecPairing: e(G1,G2)", e(8), &pair, true, &word(0));
    c.check("ecPairing: no pairs", e(8), &[], true, &word(1));
    c.check("ecPairing: 191 bytes", e(8), &pair[..191], false, &[]);
    let mut bad_g2 = pair.clone();
    bad_g2[191] ^= 1;
    c.check(
        "ecPairing: a G2 point off the curve",
        e(8),
        &bad_g2,
        false,
        &[],
    );

    // 0x09 blake2f: EIP-152's vector 5, BLAKE2b-512("abc").
    let mut input = 12u32.to_be_bytes().to_vec();
    let iv: [u64; 8] = [
        0x6a09e667f3bcc908 ^ 0x0101_0040,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    for w in iv {
        input.extend_from_slice(&w.to_le_bytes());
    }
    let mut m = [0u8; 128];
    m[..3].copy_from_slice(b"abc");
    input.extend_from_slice(&m);
    input.extend_from_slice(&3u64.to_le_bytes());
    input.extend_from_slice(&0u64.to_le_bytes());
    input.push(1);
    assert_eq!(input.len(), 213);
    let abc = blake2b_simd::Params::new().hash_length(64).hash(b"abc");
    c.check("blake2f: abc", e(9), &input, true, abc.as_bytes());
    c.check("blake2f: 212 bytes", e(9), &input[..212], false, &[]);
    let mut bad_flag = input.clone();
    bad_flag[212] = 2;
    c.check("blake2f: flag 2", e(9), &bad_flag, false, &[]);

    bls12_381(c);

    // Reserved addresses without a precompile answer nothing, successfully.
    c.check("0x0a: none", e(0x0a), b"x", true, &[]);
    c.check("0x12: none", e(0x12), b"x", true, &[]);
    c.check(
        "0xfe..04: get_actor_type, disabled",
        precompile(0xfe, 4),
        &word(5),
        true,
        &[],
    );
    c.check("0xfe..07: none", precompile(0xfe, 7), b"x", true, &[]);
}

/// BLS12-381's base field modulus.
const BLS_P: &str = "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";
/// EIP-2537's G1 generator and 2·G1, 48-byte coordinates.
const BLS_G1: [&str; 2] = [
    "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb",
    "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1",
];
const BLS_TWO_G1: [&str; 2] = [
    "0572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62ae28f75bb8f1c7c42c39a8c5529bf0f4e",
    "166a9d8cabc673a322fda673779d8e3822ba3ecb8670e461f73bb9021d5fd76a4c56d9d4cd16bd1bba86881979749d28",
];
/// The G2 generator: x real, x imaginary, y real, y imaginary.
const BLS_G2: [&str; 4] = [
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8",
    "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e",
    "0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801",
    "0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be",
];

/// A BLS12-381 field element as EIP-2537 encodes it: 16 zero bytes, then
/// 48 bytes big-endian.
fn bls_fp(hex48: &str) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    v.extend(hex::decode(hex48).unwrap());
    assert_eq!(v.len(), 64);
    v
}

fn bls_point(coords: &[&str]) -> Vec<u8> {
    coords.iter().flat_map(|c| bls_fp(c)).collect()
}

/// EIP-2537 (0x0b–0x11).
fn bls12_381(c: &mut Chain) {
    let e = |i| precompile(0x00, i);
    let g1 = bls_point(&BLS_G1);
    let two_g1 = bls_point(&BLS_TWO_G1);
    let g2 = bls_point(&BLS_G2);
    c.check(
        "G1ADD: G1 + G1",
        e(0x0b),
        &[g1.clone(), g1.clone()].concat(),
        true,
        &two_g1,
    );
    c.check(
        "G1ADD: 255 bytes",
        e(0x0b),
        &[g1.clone(), g1.clone()].concat()[..255],
        false,
        &[],
    );
    c.check(
        "G1MSM: 2·G1",
        e(0x0c),
        &[g1.clone(), word(2).to_vec()].concat(),
        true,
        &two_g1,
    );
    c.check("G1MSM: no items", e(0x0c), &[], false, &[]);
    let mut off_curve = [g1.clone(), g1.clone()].concat();
    off_curve[127] ^= 1;
    c.check(
        "G1ADD: a point off the curve",
        e(0x0b),
        &off_curve,
        false,
        &[],
    );

    // G2: the sum and the MSM agree.
    let (ok, two_g2) = c.invoke(
        "G2ADD: G2 + G2",
        call_with(
            "callTo(address,bytes)",
            &e(0x0d),
            &[g2.clone(), g2.clone()].concat(),
        ),
        0,
        false,
    );
    assert!(ok && two_g2.len() == 256, "{:?}: G2ADD", c.actors);
    assert_ne!(two_g2, g2);
    c.check(
        "G2MSM: 2·G2",
        e(0x0e),
        &[g2.clone(), word(2).to_vec()].concat(),
        true,
        &two_g2,
    );

    // e(G1, G2)·e(−G1, G2) = 1; e(G1, G2) alone is not.
    let p = BigUint::from_bytes_be(&hex::decode(BLS_P).unwrap());
    let y = BigUint::from_bytes_be(&hex::decode(BLS_G1[1]).unwrap());
    let minus_y = hex::encode((p - y).to_bytes_be());
    let minus_g1 = bls_point(&[BLS_G1[0], &format!("{minus_y:0>96}")]);
    let pairs = [g1.clone(), g2.clone(), minus_g1, g2.clone()].concat();
    c.check(
        "PAIRING: e(G1,G2)·e(-G1,G2)",
        e(0x0f),
        &pairs,
        true,
        &word(1),
    );
    c.check(
        "PAIRING: e(G1,G2)",
        e(0x0f),
        &[g1.clone(), g2.clone()].concat(),
        true,
        &word(0),
    );
    c.check("PAIRING: no pairs", e(0x0f), &[], false, &[]);

    // The maps give points in the subgroup: the MSMs (which check it) take
    // them back unchanged.
    let fp = bls_fp(&"07".repeat(48));
    let (ok, mapped) = c.invoke(
        "MAP_FP_TO_G1",
        call_with("callTo(address,bytes)", &e(0x10), &fp),
        0,
        false,
    );
    assert!(ok && mapped.len() == 128, "{:?}: MAP_FP_TO_G1", c.actors);
    c.check(
        "G1MSM: 1·mapped",
        e(0x0c),
        &[mapped.clone(), word(1).to_vec()].concat(),
        true,
        &mapped,
    );
    let fp2 = [bls_fp(&"05".repeat(48)), bls_fp(&"09".repeat(48))].concat();
    let (ok, mapped) = c.invoke(
        "MAP_FP2_TO_G2",
        call_with("callTo(address,bytes)", &e(0x11), &fp2),
        0,
        false,
    );
    assert!(ok && mapped.len() == 256, "{:?}: MAP_FP2_TO_G2", c.actors);
    c.check(
        "G2MSM: 1·mapped",
        e(0x0e),
        &[mapped.clone(), word(1).to_vec()].concat(),
        true,
        &mapped,
    );
    c.check(
        "MAP_FP_TO_G1: the modulus",
        e(0x10),
        &bls_fp(BLS_P),
        false,
        &[],
    );
}

fn filecoin_precompiles(c: &mut Chain) {
    let f = |i| precompile(0xfe, i);
    let owner = c.net.owner.address().unwrap();
    let owner_id = c.id_of(&owner);
    let contract_id = c.id_of(&c.contract);

    // resolve_address: the address's bytes, no length word.
    c.check(
        "resolve_address(f1)",
        f(1),
        &owner.to_bytes(),
        true,
        &word(owner_id),
    );
    c.check(
        "resolve_address(f05)",
        f(1),
        &Address::new_id(MARKET).to_bytes(),
        true,
        &word(MARKET),
    );
    c.check(
        "resolve_address(f410)",
        f(1),
        &c.contract.to_bytes(),
        true,
        &word(contract_id),
    );
    let unknown = Address::new_secp256k1(&[7u8; 65]).unwrap();
    c.check(
        "resolve_address(unknown f1)",
        f(1),
        &unknown.to_bytes(),
        true,
        &[],
    );
    c.check("resolve_address(no address)", f(1), &[], false, &[]);

    // lookup_delegated_address: an actor ID as a word.
    c.check(
        "lookup_delegated_address(contract)",
        f(2),
        &word(contract_id),
        true,
        &c.contract.to_bytes(),
    );
    c.check(
        "lookup_delegated_address(f1 account)",
        f(2),
        &word(owner_id),
        true,
        &[],
    );
    let mut huge = word(1);
    huge[0] = 1;
    c.check("lookup_delegated_address(2^248+1)", f(2), &huge, false, &[]);

    // get_beacon_randomness (FIP-0095): the devnet beacon's digest at an
    // epoch; a negative epoch reads as epoch 0, as the FVM clamps it.
    let beacon =
        |round| ferrite_chain::randomness::digest(&ferrite_chain::randomness::beacon_entry(round));
    c.check("get_beacon_randomness(1)", f(6), &word(1), true, &beacon(1));
    c.check("get_beacon_randomness()", f(6), &[], true, &beacon(0));
    let mut minus_one = [0xffu8; 32];
    minus_one[..24].fill(0);
    c.check(
        "get_beacon_randomness(-1)",
        f(6),
        &minus_one,
        true,
        &beacon(0),
    );
    c.check("get_beacon_randomness(2^251)", f(6), &[0x08], false, &[]);

    // call_actor: only by DELEGATECALL.
    let worker = c.net.worker.address().unwrap();
    let pay = call_actor_input(0, 1_000, 0, 0, &[], Target::Address(&worker));
    c.check("call_actor by CALL", f(3), &pay, false, &[]);
    let answer = c.invoke(
        "call_actor by STATICCALL",
        call_with("staticTo(address,bytes)", &f(3), &pay),
        0,
        false,
    );
    assert_eq!(answer, (false, Vec::new()), "{:?}", c.actors);

    // FIL to the BLS worker: the message's value goes to the contract, the
    // contract sends 1000 of it on.
    let before = c.balance(&worker);
    let answer = c.invoke(
        "call_actor: FIL to an f3 account",
        call_with("delegateTo(address,bytes)", &f(3), &pay),
        1_000,
        true,
    );
    assert_eq!(
        answer,
        (true, call_actor_answer(0, 0, &[])),
        "{:?}",
        c.actors
    );
    assert_eq!(
        c.balance(&worker) - before,
        TokenAmount::from_atto(1_000),
        "{:?}: the worker got the FIL",
        c.actors
    );

    // call_actor_id: the market's AddBalance for this contract, with value,
    // kept by `record` in the contract's storage.
    let me = fvm_ipld_encoding::to_vec(&Address::new_id(contract_id)).unwrap();
    let add = call_actor_input(ADD_BALANCE, 500, 0, CBOR, &me, Target::Id(MARKET));
    let answer = c.invoke(
        "call_actor_id: market AddBalance",
        call_with("record(address,bytes)", &f(5), &add),
        500,
        true,
    );
    assert_eq!(
        answer,
        (true, call_actor_answer(0, 0, &[])),
        "{:?}",
        c.actors
    );
    let kept = c.call(
        c.contract,
        evm::Method::InvokeContract as u64,
        RawBytes::serialize(BytesSer(&selector("lastOut()"))).unwrap(),
    );
    let BytesDe(kept_ret) = fvm_ipld_encoding::from_slice(&kept.ret).unwrap();
    assert_eq!(
        kept_ret[32..],
        abi_bytes(&call_actor_answer(0, 0, &[]))[..],
        "{:?}: the answer in storage",
        c.actors
    );
    c.steps.push(("lastOut()".to_string(), kept));

    // GetBalance: the escrow, CBOR-encoded by the market.
    let get = call_actor_input(GET_BALANCE, 0, 0, CBOR, &me, Target::Id(MARKET));
    let (ok, out) = c.invoke(
        "call_actor_id: market GetBalance",
        call_with("delegateTo(address,bytes)", &f(5), &get),
        0,
        false,
    );
    assert!(ok, "{:?}", c.actors);
    assert_eq!(
        out[..64],
        call_actor_answer(0, CBOR, &[])[..64],
        "{:?}",
        c.actors
    );
    let len = u64::from_be_bytes(out[120..128].try_into().unwrap()) as usize;
    let balance: BalanceReturn = fvm_ipld_encoding::from_slice(&out[128..128 + len]).unwrap();
    assert_eq!(
        balance,
        BalanceReturn {
            balance: TokenAmount::from_atto(500),
            locked: TokenAmount::default()
        },
        "{:?}: the escrow",
        c.actors
    );

    // Refusals: each a failed call with no data.
    for (name, input) in [
        (
            "call_actor_id: a reserved method",
            call_actor_input(5, 0, 0, 0, &[], Target::Id(MARKET)),
        ),
        (
            "call_actor_id: DAG-CBOR",
            call_actor_input(GET_BALANCE, 0, 0, DAG_CBOR, &me, Target::Id(MARKET)),
        ),
        (
            "call_actor_id: codec 0 with parameters",
            call_actor_input(GET_BALANCE, 0, 0, 0, &me, Target::Id(MARKET)),
        ),
        (
            "call_actor_id: unknown flags",
            call_actor_input(GET_BALANCE, 0, 2, CBOR, &me, Target::Id(MARKET)),
        ),
    ] {
        let answer = c.invoke(
            name,
            call_with("delegateTo(address,bytes)", &f(5), &input),
            0,
            false,
        );
        assert_eq!(answer, (false, Vec::new()), "{:?}: {name}", c.actors);
    }

    // A send the FVM refuses: minus its error number.
    let missing = call_actor_input(0, 0, 0, 0, &[], Target::Id(999_999));
    let answer = c.invoke(
        "call_actor_id: no such actor",
        call_with("delegateTo(address,bytes)", &f(5), &missing),
        0,
        false,
    );
    assert_eq!(
        answer,
        (true, call_actor_answer(-6, 0, &[])),
        "{:?}",
        c.actors
    );

    // Value from a static frame: the FVM refuses the send (read-only).
    let pay_id = call_actor_input(0, 1, 0, 0, &[], Target::Id(c.id_of(&worker)));
    let (ok, inner) = c.invoke(
        "call_actor_id: value from a static frame",
        call_with("delegateFromStatic(address,bytes)", &f(5), &pay_id),
        0,
        false,
    );
    assert!(ok, "{:?}: the static frame succeeds", c.actors);
    assert_eq!(
        decode_answer(&inner),
        (true, call_actor_answer(-13, 0, &[])),
        "{:?}",
        c.actors
    );
}

fn value_to_precompiles(c: &mut Chain) {
    // Funds for the calls below, through `receive()`.
    let fund = c.exec(
        c.contract,
        evm::Method::InvokeContract as u64,
        RawBytes::default(),
        100,
    );
    assert_eq!(fund.exit, ExitCode::OK, "{:?}: {fund:?}", c.actors);
    c.steps.push(("fund the contract".to_string(), fund));

    // Value sent along with a CALL lands at the precompile's f410 address.
    let identity = precompile(0x00, 4);
    let at = Address::new_delegated(EAM, &identity).unwrap();
    let before = c.balance(&at);
    let answer = c.invoke(
        "identity with value",
        call_with_value("callWithValue(address,bytes,uint256)", &identity, b"hi", 7),
        0,
        true,
    );
    assert_eq!(answer, (true, b"hi".to_vec()), "{:?}", c.actors);
    assert_eq!(
        c.balance(&at) - before,
        TokenAmount::from_atto(7),
        "{:?}",
        c.actors
    );

    // A precompile that fails keeps no value.
    let ec_add = precompile(0x00, 6);
    let at = Address::new_delegated(EAM, &ec_add).unwrap();
    let off_curve = [word(1), word(3)].concat();
    let answer = c.invoke(
        "ecAdd failing, with value",
        call_with_value(
            "callWithValue(address,bytes,uint256)",
            &ec_add,
            &off_curve,
            5,
        ),
        0,
        true,
    );
    assert_eq!(answer, (false, Vec::new()), "{:?}", c.actors);
    assert!(c.balance(&at).is_zero(), "{:?}", c.actors);

    // A CALL with value in a static frame: that frame fails.
    let answer = c.invoke(
        "value to a precompile from a static frame",
        call_with_value(
            "valueFromStatic(address,bytes,uint256)",
            &identity,
            b"hi",
            1,
        ),
        0,
        false,
    );
    assert_eq!(answer, (false, Vec::new()), "{:?}", c.actors);
}

fn run(actors: Actors) -> Vec<(String, Step)> {
    let net = common::net::Net::open(actors, "evm-precompiles");
    let owner = net.owner.address().unwrap();
    let mut c = Chain {
        net,
        actors,
        contract: owner,
        steps: Vec::new(),
    };
    let deploy = c.exec(
        Address::new_id(EAM),
        CREATE_EXTERNAL,
        RawBytes::serialize(BytesSer(&initcode("Precompiles"))).unwrap(),
        0,
    );
    assert_eq!(deploy.exit, ExitCode::OK, "{actors:?}: deploy: {deploy:?}");
    let deployed: EamReturn = fvm_ipld_encoding::from_slice(&deploy.ret).unwrap();
    c.contract = Address::new_delegated(EAM, &deployed.eth_address.0).unwrap();
    c.steps.push(("deploy".to_string(), deploy));

    ethereum_precompiles(&mut c);
    filecoin_precompiles(&mut c);
    value_to_precompiles(&mut c);
    c.steps
}

#[test]
fn precompiles_answer_as_on_the_official_evm_actor() {
    let runs: Vec<(Actors, Vec<(String, Step)>)> =
        bundles().into_iter().map(|a| (a, run(a))).collect();
    for (actors, steps) in &runs {
        for (name, s) in steps {
            println!("{actors:?} {name}: exit {} gas {}", s.exit.value(), s.gas);
        }
    }
    let [(_, ours), (_, official)] = &runs[..] else {
        return;
    };
    assert_eq!(ours.len(), official.len());
    for ((name, a), (_, b)) in ours.iter().zip(official) {
        assert_eq!(
            (a.exit, &a.ret),
            (b.exit, &b.ret),
            "{name}: ours against the official actor's"
        );
    }
}
