//! Ethereum's precompiles, 0x01 to 0x09, with v18's input rules: an input
//! shorter than a precompile reads is padded with zeros, except where
//! Ethereum fixes the length (ecPairing: a multiple of 192 bytes; blake2f:
//! exactly 213). Hashes and key recovery go through the FVM's syscalls;
//! modexp runs on num-bigint, the BN254 ones on substrate-bn (both as in
//! v18); blake2f's compression function is written here (RFC 7693).

use ferrite_actor_rt as rt;
use fvm_shared::bigint::BigUint;
use fvm_shared::crypto::hash::SupportedHashes;
use revm_interpreter::primitives::U256;
use substrate_bn::{AffineG1, AffineG2, Fq, Fq2, Fr, G1, G2, Group, Gt, pairing_batch};

use super::{Answer, Failure, Reader};

/// secp256k1's group order: r and s must lie in [1, N).
const SECP256K1_N: U256 = U256::from_be_bytes([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

/// 0x01: ecrecover(hash, v, r, s), the signer's address as a word. It
/// never fails: a bad signature gives no data.
pub fn ecrecover(input: &[u8]) -> Answer {
    Ok(recover(input).unwrap_or_default())
}

fn recover(input: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(input);
    let msg: [u8; 32] = r.fixed();
    let v = r.u64().ok()?;
    let (sig_r, sig_s) = (r.u256(), r.u256());
    let valid = |x: &U256| !x.is_zero() && *x < SECP256K1_N;
    if !(v == 27 || v == 28) || !valid(&sig_r) || !valid(&sig_s) {
        return None;
    }
    let mut sig = [0u8; 65];
    sig[..32].copy_from_slice(&sig_r.to_be_bytes::<32>());
    sig[32..64].copy_from_slice(&sig_s.to_be_bytes::<32>());
    sig[64] = (v - 27) as u8;
    let public = rt::sdk::crypto::recover_secp_public_key(&msg, &sig).ok()?;
    let h = crate::contract::keccak256(&public[1..]);
    let mut out = vec![0u8; 12];
    out.extend_from_slice(&h[12..]);
    Some(out)
}

fn hash(h: SupportedHashes, input: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rt::sdk::crypto::hash_into(h, input, &mut out);
    out
}

/// 0x02: SHA-256.
pub fn sha256(input: &[u8]) -> Answer {
    Ok(hash(SupportedHashes::Sha2_256, input, 32))
}

/// 0x03: RIPEMD-160, its 20 bytes left-padded to a word.
pub fn ripemd160(input: &[u8]) -> Answer {
    let mut out = vec![0u8; 12];
    out.extend(hash(SupportedHashes::Ripemd160, input, 20));
    Ok(out)
}

/// 0x04: the input itself.
pub fn identity(input: &[u8]) -> Answer {
    Ok(input.to_vec())
}

/// 0x05: modexp (EIP-198): `base^exp mod m`, left-padded to m's length.
/// The three lengths must fit 32 bits (v18's limit; a larger one would run
/// out of gas anyway); modulus 0 gives zeros.
pub fn modexp(input: &[u8]) -> Answer {
    let mut r = Reader::new(input);
    let base_len = r.length()?;
    let exp_len = r.length()?;
    let mod_len = r.length()?;
    if base_len == 0 && mod_len == 0 {
        return Ok(Vec::new());
    }
    let base = r.biguint(base_len);
    let exp = r.biguint(exp_len);
    let modulus = r.biguint(mod_len);
    if modulus <= BigUint::from(1u8) {
        return Ok(vec![0; mod_len]);
    }
    let result = base.modpow(&exp, &modulus).to_bytes_be();
    let mut out = vec![0u8; mod_len.saturating_sub(result.len())];
    out.extend_from_slice(&result);
    Ok(out)
}

fn field(w: [u8; 32]) -> Result<Fq, Failure> {
    Fq::from_slice(&w).map_err(|_| Failure::Failed("a coordinate is not below the field modulus"))
}

/// A G1 point from two words (x, y); (0, 0) is the point at infinity.
fn g1(r: &mut Reader<'_>) -> Result<G1, Failure> {
    let x = field(r.fixed())?;
    let y = field(r.fixed())?;
    if x.is_zero() && y.is_zero() {
        return Ok(G1::zero());
    }
    AffineG1::new(x, y)
        .map(G1::from)
        .map_err(|_| Failure::Failed("a point is not on the curve"))
}

/// A G2 point from four words, each coordinate imaginary part first.
fn g2(r: &mut Reader<'_>) -> Result<G2, Failure> {
    let fq2 = |r: &mut Reader<'_>| -> Result<Fq2, Failure> {
        let imaginary = field(r.fixed())?;
        let real = field(r.fixed())?;
        Ok(Fq2::new(real, imaginary))
    };
    let x = fq2(r)?;
    let y = fq2(r)?;
    if x.is_zero() && y.is_zero() {
        return Ok(G2::zero());
    }
    AffineG2::new(x, y)
        .map(G2::from)
        .map_err(|_| Failure::Failed("a G2 point is not on the curve or not in the subgroup"))
}

/// A point as two words; infinity as zeros.
fn g1_bytes(p: G1) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    if let Some(a) = AffineG1::from_jacobian(p) {
        // Both halves are 32 bytes: the writes cannot fail.
        let _ = a.x().to_big_endian(&mut out[..32]);
        let _ = a.y().to_big_endian(&mut out[32..]);
    }
    out
}

/// 0x06: ecAdd (EIP-196) on BN254.
pub fn ec_add(input: &[u8]) -> Answer {
    let mut r = Reader::new(input);
    let a = g1(&mut r)?;
    let b = g1(&mut r)?;
    Ok(g1_bytes(a + b))
}

/// 0x07: ecMul (EIP-196) on BN254; the scalar is taken modulo the group
/// order.
pub fn ec_mul(input: &[u8]) -> Answer {
    let mut r = Reader::new(input);
    let p = g1(&mut r)?;
    let w: [u8; 32] = r.fixed();
    let k = Fr::from_slice(&w).map_err(|_| Failure::Failed("bad scalar"))?;
    Ok(g1_bytes(p * k))
}

/// 0x08: ecPairing (EIP-197): 1 as a word if the product of the pairings
/// of the (G1, G2) pairs is one, else 0. The input must be a multiple of
/// 192 bytes (none: 1).
pub fn ec_pairing(input: &[u8]) -> Answer {
    const PAIR: usize = 192;
    if !input.len().is_multiple_of(PAIR) {
        return Err(Failure::Failed(
            "ecPairing input is not a multiple of 192 bytes",
        ));
    }
    let mut pairs = Vec::with_capacity(input.len() / PAIR);
    for chunk in input.chunks(PAIR) {
        let mut r = Reader::new(chunk);
        let p = g1(&mut r)?;
        let q = g2(&mut r)?;
        pairs.push((p, q));
    }
    let mut out = vec![0u8; 32];
    out[31] = u8::from(pairing_batch(&pairs) == Gt::one());
    Ok(out)
}

/// 0x09: blake2f (EIP-152): BLAKE2b's compression function F. The input is
/// exactly 213 bytes: rounds (u32, big-endian), h (8 × u64), m (16 × u64),
/// t (2 × u64), all little-endian, and the final-block flag (0 or 1).
pub fn blake2f(input: &[u8]) -> Answer {
    let Ok(input) = <&[u8; 213]>::try_from(input) else {
        return Err(Failure::Failed("blake2f input is not 213 bytes"));
    };
    let last = match input[212] {
        0 => false,
        1 => true,
        _ => return Err(Failure::Failed("blake2f final-block flag is not 0 or 1")),
    };
    let mut rounds = [0u8; 4];
    rounds.copy_from_slice(&input[..4]);
    let words = |bytes: &[u8], out: &mut [u64]| {
        for (w, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            *w = u64::from_le_bytes(le);
        }
    };
    let (mut h, mut m, mut t) = ([0u64; 8], [0u64; 16], [0u64; 2]);
    words(&input[4..68], &mut h);
    words(&input[68..196], &mut m);
    words(&input[196..212], &mut t);
    compress(&mut h, &m, t, last, u32::from_be_bytes(rounds));
    Ok(h.iter().flat_map(|w| w.to_le_bytes()).collect())
}

/// BLAKE2b's initialisation vector (RFC 7693 §2.6).
const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The message schedule (RFC 7693 §2.7); round `i` uses row `i mod 10`.
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The mixing function G (RFC 7693 §3.1).
fn mix(v: &mut [u64; 16], [a, b, c, d]: [usize; 4], x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// The compression function F (RFC 7693 §3.2) with `rounds` rounds.
fn compress(h: &mut [u64; 8], m: &[u64; 16], t: [u64; 2], last: bool, rounds: u32) {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t[0];
    v[13] ^= t[1];
    if last {
        v[14] = !v[14];
    }
    for i in 0..rounds as usize {
        let s = &SIGMA[i % 10];
        mix(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
        mix(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
        mix(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
        mix(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
        mix(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
        mix(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
        mix(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
        mix(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
    }
    for (i, w) in h.iter_mut().enumerate() {
        *w ^= v[i] ^ v[i + 8];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn word(n: u8) -> Vec<u8> {
        let mut w = vec![0u8; 32];
        w[31] = n;
        w
    }

    /// EIP-196: G1 + G1 and 2·G1 on BN254.
    #[test]
    fn bn254_doubles_the_generator() {
        let g = [word(1), word(2)].concat();
        let two_g = unhex(
            "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3\
             15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4",
        );
        assert_eq!(ec_add(&[g.clone(), g.clone()].concat()).unwrap(), two_g);
        assert_eq!(ec_mul(&[g.clone(), word(2)].concat()).unwrap(), two_g);
        assert_eq!(ec_add(&[]).unwrap(), vec![0u8; 64]);
        assert!(ec_add(&[word(1), word(3)].concat()).is_err());
    }

    /// EIP-197: e(G1, G2)·e(-G1, G2) = 1; one pair is not; none is.
    #[test]
    fn bn254_pairing() {
        let g2 = unhex(
            "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2\
             1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed\
             090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b\
             12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa",
        );
        let minus_y = unhex("30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45");
        let pair = [word(1), word(2), g2.clone()].concat();
        let both = [pair.clone(), word(1), minus_y, g2].concat();
        assert_eq!(ec_pairing(&both).unwrap(), word(1));
        assert_eq!(ec_pairing(&pair).unwrap(), word(0));
        assert_eq!(ec_pairing(&[]).unwrap(), word(1));
        assert!(ec_pairing(&pair[..191]).is_err());
    }

    /// EIP-198: 3^(p-1) mod p = 1; modulus 0 gives zeros; short input is
    /// zero-padded.
    #[test]
    fn modexp_vectors() {
        let mut input = [word(1), word(32), word(32)].concat();
        input.push(3);
        input.extend(unhex(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e",
        ));
        input.extend(unhex(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        ));
        assert_eq!(modexp(&input).unwrap(), word(1));
        let input = [word(1), word(1), word(2), vec![2, 10, 0x03, 0xe8]].concat();
        assert_eq!(modexp(&input).unwrap(), vec![0, 24]);
        // The modulus's bytes are missing: 0x03e8 read as 0x0000.
        let input = [word(1), word(1), word(2), vec![2, 10]].concat();
        assert_eq!(modexp(&input).unwrap(), vec![0, 0]);
        assert_eq!(modexp(&[]).unwrap(), Vec::<u8>::new());
    }

    /// BLAKE2b-512("abc") by hand through F (RFC 7693 appendix A), the
    /// vector EIP-152 also uses.
    #[test]
    fn compress_gives_blake2b_of_abc() {
        let mut h = IV;
        h[0] ^= 0x0101_0040; // digest length 64, no key, fanout 1, depth 1
        let mut m = [0u64; 16];
        m[0] = u64::from_le_bytes([b'a', b'b', b'c', 0, 0, 0, 0, 0]);
        compress(&mut h, &m, [3, 0], true, 12);
        let out: Vec<u8> = h.iter().flat_map(|w| w.to_le_bytes()).collect();
        let expected = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
                        7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }
}
