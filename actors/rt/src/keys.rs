//! HAMT key encodings of builtin-actors' `Map2`: unsigned varint for u64
//! keys (sector and deal numbers, actor IDs), zigzag varint for epochs, and
//! the address bytes for addresses.

use fvm_ipld_hamt::BytesKey;
use fvm_shared::address::Address;
use integer_encoding::VarInt;

/// The key of a `u64` (unsigned LEB128).
pub fn u64_key(k: u64) -> BytesKey {
    BytesKey(k.encode_var_vec())
}

/// The `u64` of a key written by [`u64_key`].
pub fn parse_u64_key(k: &[u8]) -> Option<u64> {
    let (v, n) = u64::decode_var(k)?;
    (n == k.len()).then_some(v)
}

/// The key of an `i64` epoch (zigzag signed varint).
pub fn i64_key(k: i64) -> BytesKey {
    BytesKey(k.encode_var_vec())
}

/// The `i64` of a key written by [`i64_key`].
pub fn parse_i64_key(k: &[u8]) -> Option<i64> {
    let (v, n) = i64::decode_var(k)?;
    (n == k.len()).then_some(v)
}

/// The key of an address (its byte form).
pub fn address_key(a: &Address) -> BytesKey {
    BytesKey(a.to_bytes())
}
