//! Signed Ethereum transactions, and the Filecoin messages they become.
//!
//! Two kinds are taken, as Lotus takes them: EIP-1559 (`0x02 || rlp([chainId,
//! nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data,
//! accessList, yParity, r, s])`, the access list empty) and legacy EIP-155
//! (`rlp([nonce, gasPrice, gas, to, value, data, v, r, s])` with
//! `v = 2 chainId + 35 + yParity`). The transaction hash is keccak-256 of those bytes;
//! the sender signs keccak-256 of the unsigned form (EIP-1559: the list
//! without the signature; EIP-155: the first six fields, then chainId, 0, 0).
//!
//! The message (Lotus's `ToUnsignedFilecoinMessage`): from the sender's f410
//! address to the recipient's (its f410, or the ID address of a masked ID)
//! with `InvokeContract` and the calldata as a CBOR byte string (no params
//! for empty calldata), or to the EAM's `CreateExternal` with the init code
//! as a CBOR byte string when `to` is empty; nonce, value and gas limit as
//! given; fee cap and premium `maxFeePerGas` and `maxPriorityFeePerGas` (both
//! `gasPrice` for legacy). Its Delegated (type 3) signature is `r || s ||
//! yParity` (65 bytes) for EIP-1559, and `0x02 || r || s || v` (v big-endian,
//! minimal) for EIP-155, as Lotus writes them. [`EthTx::from_message`]
//! rebuilds the transaction from the message and its signature, which is
//! how the pool and block checks verify it and how the hash is found again.
//!
//! Decoding is strict: canonical RLP only (the bytes re-encode to
//! themselves), integers without leading zeros, no trailing bytes.

use alloy_rlp::{Encodable, Header};
use fvm_ipld_encoding::{BytesDe, BytesSer, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::bigint::{BigInt, Sign};
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use k256::ecdsa::{RecoveryId, VerifyingKey};

use super::address::{EAM_ID, EthAddress};
use super::keccak;
use crate::message::{MessageSignature as Signature, SigKind as SignatureType};

/// The EVM actor's `InvokeContract` (FRC-42).
pub const INVOKE_CONTRACT: u64 = 3844450837;
/// The EAM's `CreateExternal`.
pub const CREATE_EXTERNAL: u64 = 4;
/// The largest raw transaction taken (the pool's message size limit).
pub const MAX_TX_SIZE: usize = crate::mpool::MAX_MESSAGE_SIZE;

const EIP1559_TYPE: u8 = 0x02;
/// The first byte of an EIP-155 transaction's Delegated signature (Lotus's).
const EIP155_SIG_PREFIX: u8 = 0x02;

/// Why a transaction was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// A kind this chain does not take.
    #[error("unsupported transaction: {0}")]
    Unsupported(String),
    /// Too large.
    #[error("transaction of {size} bytes exceeds the limit of {MAX_TX_SIZE} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// Signed for another chain.
    #[error("invalid chain id {got}: this chain's is {expected}")]
    ChainId {
        /// The transaction's.
        got: u64,
        /// The chain's.
        expected: u64,
    },
    /// The signature does not recover to a key, or not to the sender's.
    #[error("invalid signature: {0}")]
    Signature(String),
    /// A message that no Ethereum transaction gives.
    #[error("not an Ethereum transaction's message: {0}")]
    NotEth(String),
}

/// The transaction's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Type 2.
    Eip1559,
    /// Type 0 with EIP-155 replay protection.
    Legacy155,
}

impl TxKind {
    /// Its EIP-2718 type number.
    pub fn type_number(self) -> u8 {
        match self {
            TxKind::Eip1559 => 2,
            TxKind::Legacy155 => 0,
        }
    }
}

/// A signed Ethereum transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct EthTx {
    /// Its kind.
    pub kind: TxKind,
    /// The chain it is signed for.
    pub chain_id: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// The gas limit.
    pub gas_limit: u64,
    /// `maxFeePerGas` (legacy: `gasPrice`).
    pub max_fee_per_gas: TokenAmount,
    /// `maxPriorityFeePerGas` (legacy: `gasPrice`).
    pub max_priority_fee_per_gas: TokenAmount,
    /// The recipient; none creates a contract.
    pub to: Option<EthAddress>,
    /// The value sent.
    pub value: TokenAmount,
    /// The calldata or init code.
    pub input: Vec<u8>,
    /// The signature's r.
    pub r: [u8; 32],
    /// The signature's s.
    pub s: [u8; 32],
    /// EIP-1559: yParity (0 or 1); EIP-155: chainId * 2 + 35 + yParity.
    pub v: u128,
}

impl EthTx {
    /// Decodes a signed transaction's bytes (see the module docs).
    pub fn decode(raw: &[u8]) -> Result<Self, TxError> {
        if raw.len() > MAX_TX_SIZE {
            return Err(TxError::TooLarge { size: raw.len() });
        }
        let tx = match raw.first() {
            None => return Err(TxError::Malformed("no bytes".to_string())),
            Some(&EIP1559_TYPE) => Self::decode_1559(&raw[1..])?,
            Some(b) if *b >= 0xc0 => Self::decode_legacy(raw)?,
            Some(b) => {
                return Err(TxError::Unsupported(format!(
                    "type {b:#04x}: only EIP-1559 (0x02) and legacy EIP-155 transactions are taken"
                )));
            }
        };
        if tx.signed_rlp() != raw {
            return Err(TxError::Malformed("not in canonical RLP".to_string()));
        }
        Ok(tx)
    }

    fn decode_1559(body: &[u8]) -> Result<Self, TxError> {
        let mut f = Fields::list(body)?;
        let chain_id = f.u64("chainId")?;
        let nonce = f.u64("nonce")?;
        let max_priority_fee_per_gas = f.amount("maxPriorityFeePerGas")?;
        let max_fee_per_gas = f.amount("maxFeePerGas")?;
        let gas_limit = f.u64("gas")?;
        let to = f.to()?;
        let value = f.amount("value")?;
        let input = f.bytes("data")?.to_vec();
        f.empty_access_list()?;
        let v = u128::from(f.u64("yParity")?);
        if v > 1 {
            return Err(TxError::Signature(format!("yParity {v} is not 0 or 1")));
        }
        let r = f.word("r")?;
        let s = f.word("s")?;
        f.finish()?;
        Ok(Self {
            kind: TxKind::Eip1559,
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to,
            value,
            input,
            r,
            s,
            v,
        })
    }

    fn decode_legacy(raw: &[u8]) -> Result<Self, TxError> {
        let mut f = Fields::list(raw)?;
        let nonce = f.u64("nonce")?;
        let gas_price = f.amount("gasPrice")?;
        let gas_limit = f.u64("gas")?;
        let to = f.to()?;
        let value = f.amount("value")?;
        let input = f.bytes("data")?.to_vec();
        let v = f.uint("v", 16)?;
        let v = v.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let r = f.word("r")?;
        let s = f.word("s")?;
        f.finish()?;
        let chain_id = legacy_chain_id(v)?;
        Ok(Self {
            kind: TxKind::Legacy155,
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: gas_price.clone(),
            max_priority_fee_per_gas: gas_price,
            to,
            value,
            input,
            r,
            s,
            v,
        })
    }

    /// Fails unless the transaction is signed for chain `expected`.
    pub fn check_chain(&self, expected: u64) -> Result<(), TxError> {
        if self.chain_id == expected {
            Ok(())
        } else {
            Err(TxError::ChainId {
                got: self.chain_id,
                expected,
            })
        }
    }

    /// The signature's y parity.
    fn parity(&self) -> Result<u8, TxError> {
        let p = match self.kind {
            TxKind::Eip1559 => self.v,
            TxKind::Legacy155 => self
                .v
                .checked_sub(35 + 2 * u128::from(self.chain_id))
                .unwrap_or(u128::MAX),
        };
        u8::try_from(p)
            .ok()
            .filter(|p| *p <= 1)
            .ok_or_else(|| TxError::Signature(format!("v {} gives no y parity", self.v)))
    }

    /// The bytes the sender signs (hashed with keccak-256).
    pub fn unsigned_rlp(&self) -> Vec<u8> {
        self.encode(false)
    }

    /// The signed transaction's bytes.
    pub fn signed_rlp(&self) -> Vec<u8> {
        self.encode(true)
    }

    /// The transaction hash: keccak-256 of the signed bytes.
    pub fn hash(&self) -> [u8; 32] {
        keccak(&self.signed_rlp())
    }

    fn encode(&self, signed: bool) -> Vec<u8> {
        let mut p = Vec::new();
        let to: &[u8] = self.to.as_ref().map(|a| &a.0[..]).unwrap_or_default();
        match self.kind {
            TxKind::Eip1559 => {
                put_uint(&mut p, &self.chain_id.to_be_bytes());
                put_uint(&mut p, &self.nonce.to_be_bytes());
                put_amount(&mut p, &self.max_priority_fee_per_gas);
                put_amount(&mut p, &self.max_fee_per_gas);
                put_uint(&mut p, &self.gas_limit.to_be_bytes());
                to.encode(&mut p);
                put_amount(&mut p, &self.value);
                self.input.as_slice().encode(&mut p);
                // The (empty) access list.
                Header {
                    list: true,
                    payload_length: 0,
                }
                .encode(&mut p);
            }
            TxKind::Legacy155 => {
                put_uint(&mut p, &self.nonce.to_be_bytes());
                put_amount(&mut p, &self.max_fee_per_gas);
                put_uint(&mut p, &self.gas_limit.to_be_bytes());
                to.encode(&mut p);
                put_amount(&mut p, &self.value);
                self.input.as_slice().encode(&mut p);
                if !signed {
                    put_uint(&mut p, &self.chain_id.to_be_bytes());
                    put_uint(&mut p, &[]);
                    put_uint(&mut p, &[]);
                }
            }
        }
        if signed {
            put_uint(&mut p, &self.v.to_be_bytes());
            put_uint(&mut p, &self.r);
            put_uint(&mut p, &self.s);
        }
        let mut out = Vec::with_capacity(p.len() + 10);
        if self.kind == TxKind::Eip1559 {
            out.push(EIP1559_TYPE);
        }
        Header {
            list: true,
            payload_length: p.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(&p);
        out
    }

    /// The address whose key signed the transaction.
    pub fn sender(&self) -> Result<EthAddress, TxError> {
        let bad = |e: k256::ecdsa::Error| TxError::Signature(e.to_string());
        let sig = k256::ecdsa::Signature::from_scalars(self.r, self.s).map_err(bad)?;
        if sig.normalize_s().is_some() {
            return Err(TxError::Signature(
                "s is in the upper half of the curve order (EIP-2)".to_string(),
            ));
        }
        let rec = RecoveryId::from_byte(self.parity()?)
            .ok_or_else(|| TxError::Signature("bad recovery id".to_string()))?;
        let hash = keccak(&self.unsigned_rlp());
        let key = VerifyingKey::recover_from_prehash(&hash, &sig, rec).map_err(bad)?;
        EthAddress::from_public_key(key.to_encoded_point(false).as_bytes())
            .ok_or_else(|| TxError::Signature("recovered key is not a point".to_string()))
    }

    /// The Filecoin message, from `from` (the sender's f410 address).
    pub fn to_message(&self, from: Address) -> Result<Message, TxError> {
        let (to, method_num, params) = match self.to {
            None => (
                Address::new_id(EAM_ID),
                CREATE_EXTERNAL,
                cbor_bytes(&self.input)?,
            ),
            Some(a) if self.input.is_empty() => {
                (a.to_filecoin(), INVOKE_CONTRACT, RawBytes::default())
            }
            Some(a) => (a.to_filecoin(), INVOKE_CONTRACT, cbor_bytes(&self.input)?),
        };
        Ok(Message {
            version: 0,
            from,
            to,
            sequence: self.nonce,
            value: self.value.clone(),
            method_num,
            params,
            gas_limit: self.gas_limit,
            gas_fee_cap: self.max_fee_per_gas.clone(),
            gas_premium: self.max_priority_fee_per_gas.clone(),
        })
    }

    /// The message's Delegated signature (see the module docs).
    pub fn signature(&self) -> Signature {
        let mut bytes = Vec::with_capacity(66 + 16);
        match self.kind {
            TxKind::Eip1559 => {
                bytes.extend_from_slice(&self.r);
                bytes.extend_from_slice(&self.s);
                bytes.push(u8::try_from(self.v).unwrap_or(u8::MAX));
            }
            TxKind::Legacy155 => {
                bytes.push(EIP155_SIG_PREFIX);
                bytes.extend_from_slice(&self.r);
                bytes.extend_from_slice(&self.s);
                let v = self.v.to_be_bytes();
                let skip = v.iter().take_while(|b| **b == 0).count();
                bytes.extend_from_slice(&v[skip..]);
            }
        }
        Signature {
            sig_type: SignatureType::Delegated,
            bytes,
        }
    }

    /// Rebuilds the transaction from a message and its Delegated signature
    /// on chain `chain_id` (Lotus's `EthTransactionFromSignedFilecoinMessage`).
    pub fn from_message(msg: &Message, sig: &Signature, chain_id: u64) -> Result<Self, TxError> {
        if sig.sig_type != SignatureType::Delegated {
            return Err(TxError::NotEth("not a Delegated signature".to_string()));
        }
        if msg.version != 0 {
            return Err(TxError::NotEth(format!("message version {}", msg.version)));
        }
        let (to, input) = if msg.to == Address::new_id(EAM_ID) {
            if msg.method_num != CREATE_EXTERNAL {
                return Err(TxError::NotEth(format!(
                    "method {} of the EAM (only CreateExternal)",
                    msg.method_num
                )));
            }
            (None, cbor_bytes_de(&msg.params)?)
        } else if msg.method_num == INVOKE_CONTRACT {
            let to = EthAddress::from_filecoin(&msg.to).ok_or_else(|| {
                TxError::NotEth(format!("recipient {} has no Ethereum address", msg.to))
            })?;
            let input = if msg.params.is_empty() {
                Vec::new()
            } else {
                cbor_bytes_de(&msg.params)?
            };
            (Some(to), input)
        } else {
            return Err(TxError::NotEth(format!(
                "method {} (only InvokeContract)",
                msg.method_num
            )));
        };
        let b = sig.bytes();
        let word = |s: &[u8]| -> [u8; 32] { s.try_into().unwrap_or([0; 32]) };
        let (kind, v, r, s, tx_chain) = match b.len() {
            65 => (
                TxKind::Eip1559,
                u128::from(b[64]),
                word(&b[..32]),
                word(&b[32..64]),
                chain_id,
            ),
            66..=81 if b[0] == EIP155_SIG_PREFIX => {
                let v = b[65..]
                    .iter()
                    .fold(0u128, |acc, x| (acc << 8) | u128::from(*x));
                if msg.gas_fee_cap != msg.gas_premium {
                    return Err(TxError::NotEth(
                        "a legacy transaction's fee cap and premium are both its gas price"
                            .to_string(),
                    ));
                }
                (
                    TxKind::Legacy155,
                    v,
                    word(&b[1..33]),
                    word(&b[33..65]),
                    legacy_chain_id(v)?,
                )
            }
            n => {
                return Err(TxError::Signature(format!(
                    "a Delegated signature of {n} bytes is neither EIP-1559's (65) nor EIP-155's (0x02 prefix)"
                )));
            }
        };
        let tx = Self {
            kind,
            chain_id: tx_chain,
            nonce: msg.sequence,
            gas_limit: msg.gas_limit,
            max_fee_per_gas: msg.gas_fee_cap.clone(),
            max_priority_fee_per_gas: msg.gas_premium.clone(),
            to,
            value: msg.value.clone(),
            input,
            r,
            s,
            v,
        };
        tx.check_chain(chain_id)?;
        Ok(tx)
    }

    /// Checks that a message with a Delegated signature was signed by the
    /// key of `signer` (an f410 address) for chain `chain_id`, and returns
    /// the transaction it came from.
    pub fn verify_message(
        msg: &Message,
        sig: &Signature,
        signer: &Address,
        chain_id: u64,
    ) -> Result<Self, TxError> {
        let tx = Self::from_message(msg, sig, chain_id)?;
        let sender = tx.sender()?.to_filecoin();
        if sender != *signer {
            return Err(TxError::Signature(format!(
                "signed by {sender}, not by the sender {signer}"
            )));
        }
        Ok(tx)
    }
}

/// The chain id of an EIP-155 `v`.
fn legacy_chain_id(v: u128) -> Result<u64, TxError> {
    match v {
        27 | 28 => Err(TxError::Unsupported(
            "legacy transaction without EIP-155 replay protection (v = 27 or 28)".to_string(),
        )),
        v if v >= 35 => u64::try_from((v - 35) / 2)
            .map_err(|_| TxError::Malformed(format!("v {v}: chain id out of range"))),
        v => Err(TxError::Malformed(format!("v {v} is not an EIP-155 v"))),
    }
}

fn cbor_bytes(data: &[u8]) -> Result<RawBytes, TxError> {
    RawBytes::serialize(BytesSer(data)).map_err(|e| TxError::Malformed(e.to_string()))
}

fn cbor_bytes_de(params: &RawBytes) -> Result<Vec<u8>, TxError> {
    let BytesDe(v) = params
        .deserialize()
        .map_err(|e| TxError::NotEth(format!("params are not a CBOR byte string: {e}")))?;
    Ok(v)
}

/// An integer in RLP: big-endian, minimal.
fn put_uint(out: &mut Vec<u8>, be: &[u8]) {
    let skip = be.iter().take_while(|b| **b == 0).count();
    be[skip..].encode(out);
}

fn put_amount(out: &mut Vec<u8>, t: &TokenAmount) {
    put_uint(out, &t.atto().to_bytes_be().1);
}

/// The fields of an RLP list, read in order.
struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    fn list(raw: &'a [u8]) -> Result<Self, TxError> {
        let mut buf = raw;
        let h = Header::decode(&mut buf).map_err(rlp_err("transaction"))?;
        if !h.list {
            return Err(TxError::Malformed("not an RLP list".to_string()));
        }
        if buf.len() != h.payload_length {
            return Err(TxError::Malformed(format!(
                "list of {} bytes in {} bytes",
                h.payload_length,
                buf.len()
            )));
        }
        Ok(Self { buf })
    }

    fn bytes(&mut self, name: &str) -> Result<&'a [u8], TxError> {
        if self.buf.is_empty() {
            return Err(TxError::Malformed(format!("{name} missing")));
        }
        Header::decode_bytes(&mut self.buf, false).map_err(rlp_err(name))
    }

    /// An integer of at most `max` bytes.
    fn uint(&mut self, name: &str, max: usize) -> Result<&'a [u8], TxError> {
        let b = self.bytes(name)?;
        if b.first() == Some(&0) {
            return Err(TxError::Malformed(format!("{name} has leading zeros")));
        }
        if b.len() > max {
            return Err(TxError::Malformed(format!("{name} exceeds {max} bytes")));
        }
        Ok(b)
    }

    fn u64(&mut self, name: &str) -> Result<u64, TxError> {
        let b = self.uint(name, 8)?;
        Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }

    fn amount(&mut self, name: &str) -> Result<TokenAmount, TxError> {
        let b = self.uint(name, 32)?;
        Ok(TokenAmount::from_atto(BigInt::from_bytes_be(Sign::Plus, b)))
    }

    fn word(&mut self, name: &str) -> Result<[u8; 32], TxError> {
        let b = self.uint(name, 32)?;
        let mut w = [0u8; 32];
        w[32 - b.len()..].copy_from_slice(b);
        Ok(w)
    }

    fn to(&mut self) -> Result<Option<EthAddress>, TxError> {
        let b = self.bytes("to")?;
        match b.len() {
            0 => Ok(None),
            20 => Ok(Some(EthAddress(b.try_into().unwrap_or([0; 20])))),
            n => Err(TxError::Malformed(format!(
                "to has {n} bytes, not 20 (or 0 to create)"
            ))),
        }
    }

    fn empty_access_list(&mut self) -> Result<(), TxError> {
        let h = Header::decode(&mut self.buf).map_err(rlp_err("accessList"))?;
        if !h.list {
            return Err(TxError::Malformed("accessList is not a list".to_string()));
        }
        if h.payload_length != 0 {
            return Err(TxError::Unsupported(
                "access lists (as in Lotus, only an empty one is taken)".to_string(),
            ));
        }
        Ok(())
    }

    fn finish(self) -> Result<(), TxError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(TxError::Malformed(
                "extra fields after the signature".to_string(),
            ))
        }
    }
}

fn rlp_err(name: &str) -> impl Fn(alloy_rlp::Error) -> TxError + '_ {
    move |e| TxError::Malformed(format!("{name}: {e}"))
}

impl EthTx {
    /// Signs the transaction with `key` (for tests and tools): sets r, s
    /// and v for its kind and chain id.
    pub fn sign(mut self, key: &k256::ecdsa::SigningKey) -> Result<Self, TxError> {
        let hash = keccak(&self.unsigned_rlp());
        let (sig, rec) = key
            .sign_prehash_recoverable(&hash)
            .map_err(|e| TxError::Signature(e.to_string()))?;
        self.r = sig.r().to_bytes().into();
        self.s = sig.s().to_bytes().into();
        let parity = u128::from(rec.is_y_odd());
        self.v = match self.kind {
            TxKind::Eip1559 => parity,
            TxKind::Legacy155 => 35 + 2 * u128::from(self.chain_id) + parity,
        };
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EIP-155's own example: nonce 9, 20 gwei, 21000 gas, 1 ether to
    /// 0x3535…35 on chain 1, signed with the key 0x4646…46.
    const EIP155_EXAMPLE: &str = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

    fn key() -> k256::ecdsa::SigningKey {
        k256::ecdsa::SigningKey::from_bytes(&[0x46u8; 32].into()).unwrap()
    }

    #[test]
    fn decodes_eip155_example_and_recovers_its_sender() {
        let raw = hex::decode(EIP155_EXAMPLE).unwrap();
        let tx = EthTx::decode(&raw).unwrap();
        assert_eq!(tx.kind, TxKind::Legacy155);
        assert_eq!(tx.chain_id, 1);
        assert_eq!(tx.nonce, 9);
        assert_eq!(tx.gas_limit, 21000);
        assert_eq!(tx.value, TokenAmount::from_whole(1));
        assert_eq!(
            tx.sender().unwrap().to_hex(),
            "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f"
        );
        let expected =
            EthAddress::from_public_key(key().verifying_key().to_encoded_point(false).as_bytes())
                .unwrap();
        assert_eq!(tx.sender().unwrap(), expected);
        // Signing the same fields again gives the same bytes (RFC 6979).
        let again = EthTx {
            r: [0; 32],
            s: [0; 32],
            v: 0,
            ..tx.clone()
        }
        .sign(&key())
        .unwrap();
        assert_eq!(again.signed_rlp(), raw);
        assert_eq!(
            tx.check_chain(2),
            Err(TxError::ChainId {
                got: 1,
                expected: 2
            })
        );
    }

    fn eip1559(to: Option<EthAddress>, input: Vec<u8>) -> EthTx {
        EthTx {
            kind: TxKind::Eip1559,
            chain_id: 31415926,
            nonce: 3,
            gas_limit: 1_000_000,
            max_fee_per_gas: TokenAmount::from_atto(2000),
            max_priority_fee_per_gas: TokenAmount::from_atto(100),
            to,
            value: TokenAmount::from_atto(5),
            input,
            r: [0; 32],
            s: [0; 32],
            v: 0,
        }
        .sign(&key())
        .unwrap()
    }

    #[test]
    fn messages_round_trip_to_the_same_transaction() {
        let from =
            EthAddress::from_public_key(key().verifying_key().to_encoded_point(false).as_bytes())
                .unwrap()
                .to_filecoin();
        let contract = EthAddress([0x11; 20]);
        for tx in [
            eip1559(Some(contract), vec![1, 2, 3]),
            eip1559(Some(contract), vec![]),
            eip1559(None, vec![0x60, 0x80]),
            EthTx {
                kind: TxKind::Legacy155,
                max_fee_per_gas: TokenAmount::from_atto(100),
                ..eip1559(None, vec![])
            }
            .sign(&key())
            .unwrap(),
        ] {
            let raw = tx.signed_rlp();
            assert_eq!(EthTx::decode(&raw).unwrap(), tx);
            let msg = tx.to_message(from).unwrap();
            match tx.to {
                None => {
                    assert_eq!(msg.to, Address::new_id(EAM_ID));
                    assert_eq!(msg.method_num, CREATE_EXTERNAL);
                }
                Some(a) => {
                    assert_eq!(msg.to, a.to_filecoin());
                    assert_eq!(msg.method_num, INVOKE_CONTRACT);
                    assert_eq!(msg.params.is_empty(), tx.input.is_empty());
                }
            }
            let sig = tx.signature();
            let back = EthTx::verify_message(&msg, &sig, &from, 31415926).unwrap();
            assert_eq!(back, tx);
            assert_eq!(back.hash(), keccak(&raw));
            // Another chain, another signer, a changed field: refused.
            assert!(EthTx::verify_message(&msg, &sig, &from, 1).is_err());
            let other = EthAddress([0x22; 20]).to_filecoin();
            assert!(matches!(
                EthTx::verify_message(&msg, &sig, &other, 31415926),
                Err(TxError::Signature(_))
            ));
            let mut changed = msg.clone();
            changed.value = TokenAmount::from_atto(6);
            assert!(EthTx::verify_message(&changed, &sig, &from, 31415926).is_err());
        }
    }

    #[test]
    fn refuses_malformed_and_unsupported_bytes() {
        let good = eip1559(Some(EthAddress([0x11; 20])), vec![1]).signed_rlp();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "malformed"),
            (vec![0x01, 0xc0], "unsupported"),
            (good[..good.len() - 1].to_vec(), "malformed"),
            ([good.clone(), vec![0]].concat(), "malformed"),
            (vec![0x02, 0xc3, 0x01, 0x02, 0x03], "malformed"),
            (vec![0u8; MAX_TX_SIZE + 1], "exceeds"),
        ];
        for (raw, want) in cases {
            let err = EthTx::decode(&raw).unwrap_err().to_string();
            assert!(
                err.contains(want),
                "{}: {err}",
                hex::encode(&raw[..raw.len().min(16)])
            );
        }
        // A high s (the same signature's malleable twin) is refused.
        let mut tx = EthTx::decode(&good).unwrap();
        let sig = k256::ecdsa::Signature::from_scalars(tx.r, tx.s).unwrap();
        let neg_s = -*sig.s();
        tx.s = neg_s.to_bytes().into();
        tx.v ^= 1;
        assert!(matches!(tx.sender(), Err(TxError::Signature(_))));
    }
}
