//! The message pool: signed messages waiting for a block.
//!
//! It accepts a message only if its signature is by the sender's key (over
//! the message CID, as Lotus signs; for an Ethereum account's message, a
//! Delegated signature over the Ethereum transaction it came from, see
//! [`crate::eth::tx`]), its encoding is within [`MAX_MESSAGE_SIZE`], its nonce is not below the sender's
//! state nonce nor too far above it, the sender can pay the value plus the
//! worst-case gas of this and its other pending messages, and its gas limit
//! and fee cap are within bounds. A message with the nonce of a pending one
//! replaces it only if it raises the gas premium by at least 25 % (Lotus's
//! replace-by-fee rule). The pool is plain data: the devnet resolves the
//! sender and its state and passes them in.

use std::collections::BTreeMap;

use cid::Cid;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;

use crate::eth::EthTx;
use crate::message::{SigKind, SignedMessage, message_cid};
use crate::vm::BLOCK_GAS_LIMIT;
use crate::wallet;

/// How far above the state nonce a message may be.
pub const MAX_NONCE_GAP: u64 = 100;
/// Pending messages per sender.
pub const MAX_PER_SENDER: usize = 1000;
/// The largest signed message taken, in bytes of its encoding (Lotus's
/// `MaxMessageSize`).
pub const MAX_MESSAGE_SIZE: usize = 64 << 10;
/// Replace-by-fee: the new premium must be at least this many percent of the old.
pub const RBF_PERCENT: u64 = 125;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MpoolError {
    /// The message is malformed.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The signature is not the sender key's.
    #[error("invalid signature for {from}: {reason}")]
    Signature {
        /// The sender.
        from: Address,
        /// Why.
        reason: String,
    },
    /// The message is too large.
    #[error("message of {size} bytes exceeds the limit of {MAX_MESSAGE_SIZE} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// The sender has no account on chain.
    #[error("sender {0} has no account on chain")]
    UnknownSender(Address),
    /// The nonce was already used.
    #[error("nonce {got} too low: the sender's next nonce is {state}")]
    NonceTooLow {
        /// The sender's state nonce.
        state: u64,
        /// The message's.
        got: u64,
    },
    /// The nonce is too far ahead.
    #[error(
        "nonce {got} too far ahead of the sender's next nonce {state} (max gap {MAX_NONCE_GAP})"
    )]
    NonceGap {
        /// The sender's state nonce.
        state: u64,
        /// The message's.
        got: u64,
    },
    /// The sender cannot pay.
    #[error(
        "not enough funds: balance {balance} < required {required} (value plus gas limit times fee cap, pending messages included)"
    )]
    InsufficientFunds {
        /// The sender's balance, in attoFIL.
        balance: TokenAmount,
        /// What the pending messages and this one may cost.
        required: TokenAmount,
    },
    /// The gas limit is out of bounds.
    #[error(
        "gas limit {got} out of bounds: must be at least {min} (the message's on-chain cost) and at most {BLOCK_GAS_LIMIT}"
    )]
    GasLimit {
        /// The smallest acceptable.
        min: u64,
        /// The message's.
        got: u64,
    },
    /// The fee cap is below the base fee.
    #[error("gas fee cap {fee_cap} is below the base fee {base_fee}")]
    FeeCap {
        /// The message's fee cap.
        fee_cap: TokenAmount,
        /// The current base fee.
        base_fee: TokenAmount,
    },
    /// A replacement that does not pay enough more.
    #[error(
        "replace by fee: gas premium {got} must be at least {min} (125 % of the pending message's)"
    )]
    ReplaceByFee {
        /// The minimum premium.
        min: TokenAmount,
        /// The message's.
        got: TokenAmount,
    },
    /// Too many pending messages from one sender.
    #[error("sender {0} has too many pending messages")]
    TooMany(Address),
}

/// What the pool needs to know about a sender, from the latest state.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Its ID address.
    pub id: Address,
    /// Its key address (f1/f3), or its f410 address for an Ethereum
    /// account (or a placeholder that becomes one), which signs.
    pub key: Address,
    /// Its state nonce.
    pub nonce: u64,
    /// Its balance.
    pub balance: TokenAmount,
}

/// Chain conditions a message must meet.
#[derive(Debug, Clone)]
pub struct Conditions {
    /// The base fee.
    pub base_fee: TokenAmount,
    /// The smallest gas limit for this message (its on-chain cost).
    pub min_gas: u64,
    /// The chain id Ethereum transactions are signed for.
    pub chain_id: u64,
}

/// The pool.
#[derive(Debug, Default)]
pub struct Mpool {
    /// Pending messages by sender ID address, then nonce.
    pending: BTreeMap<Address, BTreeMap<u64, SignedMessage>>,
}

impl Mpool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `sm` and adds it; returns its CID.
    pub fn add(
        &mut self,
        sm: SignedMessage,
        sender: &Sender,
        cond: &Conditions,
    ) -> Result<Cid, MpoolError> {
        let m = &sm.message;
        if m.version != 0 {
            return Err(MpoolError::Invalid(format!(
                "message version {} (must be 0)",
                m.version
            )));
        }
        if m.value.is_negative() {
            return Err(MpoolError::Invalid("negative value".to_string()));
        }
        if m.gas_premium > m.gas_fee_cap {
            return Err(MpoolError::Invalid(format!(
                "gas premium {} above gas fee cap {}",
                m.gas_premium, m.gas_fee_cap
            )));
        }
        if m.gas_limit < cond.min_gas || m.gas_limit > BLOCK_GAS_LIMIT {
            return Err(MpoolError::GasLimit {
                min: cond.min_gas,
                got: m.gas_limit,
            });
        }
        if m.gas_fee_cap < cond.base_fee {
            return Err(MpoolError::FeeCap {
                fee_cap: m.gas_fee_cap.clone(),
                base_fee: cond.base_fee.clone(),
            });
        }
        let size = sm
            .chain_length()
            .map_err(|e| MpoolError::Invalid(e.to_string()))?;
        if size > MAX_MESSAGE_SIZE {
            return Err(MpoolError::TooLarge { size });
        }
        verify_signature(&sm, &sender.key, cond.chain_id)?;
        if m.sequence < sender.nonce {
            return Err(MpoolError::NonceTooLow {
                state: sender.nonce,
                got: m.sequence,
            });
        }
        let queue = self.pending.entry(sender.id).or_default();
        if m.sequence > sender.nonce + MAX_NONCE_GAP {
            return Err(MpoolError::NonceGap {
                state: sender.nonce,
                got: m.sequence,
            });
        }
        if let Some(old) = queue.get(&m.sequence) {
            let min = TokenAmount::from_atto(old.message.gas_premium.atto() * RBF_PERCENT / 100u64);
            if m.gas_premium < min || m.gas_premium <= old.message.gas_premium {
                return Err(MpoolError::ReplaceByFee {
                    min,
                    got: m.gas_premium.clone(),
                });
            }
        } else if queue.len() >= MAX_PER_SENDER {
            return Err(MpoolError::TooMany(m.from));
        }
        let cost = |m: &fvm_shared::message::Message| {
            m.value.clone() + m.gas_fee_cap.clone() * m.gas_limit
        };
        let others: TokenAmount = queue
            .iter()
            .filter(|(n, _)| **n != m.sequence)
            .map(|(_, p)| cost(&p.message))
            .sum();
        let required = others + cost(m);
        if required > sender.balance {
            return Err(MpoolError::InsufficientFunds {
                balance: sender.balance.clone(),
                required,
            });
        }
        let cid = sm.cid().map_err(|e| MpoolError::Invalid(e.to_string()))?;
        queue.insert(m.sequence, sm);
        Ok(cid)
    }

    /// The next nonce for a sender whose state nonce is `state_nonce`: past
    /// its contiguous pending messages.
    pub fn next_nonce(&self, sender_id: &Address, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(q) = self.pending.get(sender_id) {
            while q.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Messages for a block: per sender, the contiguous run from its state
    /// nonce, within `gas_limit` in all. `state_nonce` gives each sender's
    /// nonce in the state the block will execute on.
    pub fn select(
        &self,
        gas_limit: u64,
        state_nonce: impl Fn(&Address) -> Option<u64>,
    ) -> Vec<SignedMessage> {
        let mut out = Vec::new();
        let mut gas = 0u64;
        for (sender, q) in &self.pending {
            let Some(mut next) = state_nonce(sender) else {
                continue;
            };
            while let Some(sm) = q.get(&next) {
                if gas + sm.message.gas_limit > gas_limit {
                    return out;
                }
                gas += sm.message.gas_limit;
                out.push(sm.clone());
                next += 1;
            }
        }
        out
    }

    /// Drops the messages of `sender` below `nonce` (included in a block)
    /// and returns them.
    pub fn prune(&mut self, sender_id: &Address, nonce: u64) -> Vec<SignedMessage> {
        let Some(q) = self.pending.get_mut(sender_id) else {
            return Vec::new();
        };
        let keep = q.split_off(&nonce);
        let dropped = std::mem::replace(q, keep).into_values().collect();
        if q.is_empty() {
            self.pending.remove(sender_id);
        }
        dropped
    }

    /// Removes the message of `sender` (as the message names it) with `nonce`.
    pub fn remove(&mut self, sender: &Address, nonce: u64) {
        for q in self.pending.values_mut() {
            if q.get(&nonce).is_some_and(|m| m.message.from == *sender) {
                q.remove(&nonce);
            }
        }
        self.pending.retain(|_, q| !q.is_empty());
    }

    /// How many messages are pending.
    pub fn len(&self) -> usize {
        self.pending.values().map(|q| q.len()).sum()
    }

    /// Whether no message is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Every pending message.
    pub fn pending(&self) -> Vec<SignedMessage> {
        self.pending
            .values()
            .flat_map(|q| q.values().cloned())
            .collect()
    }

    /// The senders with pending messages.
    pub fn senders(&self) -> Vec<Address> {
        self.pending.keys().copied().collect()
    }
}

/// Checks that `sm` is signed by `key`, the sender's key address (f1/f3) or,
/// for an Ethereum account, its f410 address.
pub fn verify_signature(
    sm: &SignedMessage,
    key: &Address,
    chain_id: u64,
) -> Result<(), MpoolError> {
    let m = &sm.message;
    let refuse = |reason: String| MpoolError::Signature {
        from: m.from,
        reason,
    };
    match (key.protocol(), sm.signature.sig_type) {
        (Protocol::Delegated, SigKind::Delegated) => {
            EthTx::verify_message(m, &sm.signature, key, chain_id)
                .map(|_| ())
                .map_err(|e| refuse(e.to_string()))
        }
        (Protocol::Secp256k1 | Protocol::BLS, _) => {
            let cid = message_cid(m).map_err(|e| MpoolError::Invalid(e.to_string()))?;
            let sig = sm
                .signature
                .to_fvm()
                .map_err(|e| refuse(format!("{e} from a key account")))?;
            wallet::verify(&sig, &cid.to_bytes(), key).map_err(refuse)
        }
        (Protocol::Delegated, t) => Err(refuse(format!(
            "an Ethereum account signs with a Delegated signature, not {t:?}"
        ))),
        _ => Err(MpoolError::Invalid(format!(
            "sender {} is not a key account",
            m.from
        ))),
    }
}

#[cfg(test)]
mod tests {
    use fvm_shared::message::Message;

    use super::*;
    use crate::wallet::{KeyType, PrivateKey};

    fn setup() -> (PrivateKey, Sender, Conditions) {
        let key = PrivateKey::generate(KeyType::Secp256k1);
        let sender = Sender {
            id: Address::new_id(100),
            key: key.address().unwrap(),
            nonce: 5,
            balance: TokenAmount::from_whole(10),
        };
        let cond = Conditions {
            base_fee: TokenAmount::from_atto(100),
            min_gas: 1000,
            chain_id: 31415926,
        };
        (key, sender, cond)
    }

    fn msg(sender: &Sender, nonce: u64, premium: u64) -> Message {
        Message {
            sequence: nonce,
            gas_limit: 1_000_000,
            gas_fee_cap: TokenAmount::from_atto(1000),
            gas_premium: TokenAmount::from_atto(premium),
            ..crate::message::transfer(sender.id, Address::new_id(101), TokenAmount::from_whole(1))
        }
    }

    #[test]
    fn accepts_valid_and_selects_in_nonce_order() {
        let (key, s, c) = setup();
        let mut pool = Mpool::new();
        for n in [6, 5, 8] {
            pool.add(SignedMessage::sign(msg(&s, n, 100), &key).unwrap(), &s, &c)
                .unwrap();
        }
        assert_eq!(pool.next_nonce(&s.id, 5), 7);
        let sel = pool.select(BLOCK_GAS_LIMIT, |_| Some(5));
        let nonces: Vec<u64> = sel.iter().map(|m| m.message.sequence).collect();
        assert_eq!(nonces, [5, 6]); // 8 waits for 7
        let dropped = pool.prune(&s.id, 7);
        assert_eq!(dropped.len(), 2);
        assert_eq!(pool.pending().len(), 1);
    }

    #[test]
    fn rejects_bad_signatures_nonces_funds_and_gas() {
        let (key, s, c) = setup();
        let mut pool = Mpool::new();
        let other = PrivateKey::generate(KeyType::Secp256k1);
        let forged = SignedMessage::sign(msg(&s, 5, 100), &other).unwrap();
        assert!(matches!(
            pool.add(forged, &s, &c),
            Err(MpoolError::Signature { .. })
        ));

        let mut tampered = SignedMessage::sign(msg(&s, 5, 100), &key).unwrap();
        tampered.message.value = TokenAmount::from_whole(2);
        assert!(matches!(
            pool.add(tampered, &s, &c),
            Err(MpoolError::Signature { .. })
        ));

        let low = SignedMessage::sign(msg(&s, 4, 100), &key).unwrap();
        let err = pool.add(low, &s, &c).unwrap_err();
        assert_eq!(err, MpoolError::NonceTooLow { state: 5, got: 4 });
        assert!(err.to_string().contains("nonce 4 too low"));

        let far = SignedMessage::sign(msg(&s, 5 + MAX_NONCE_GAP + 1, 100), &key).unwrap();
        assert!(matches!(
            pool.add(far, &s, &c),
            Err(MpoolError::NonceGap { .. })
        ));

        let mut rich = msg(&s, 5, 100);
        rich.value = TokenAmount::from_whole(11);
        let err = pool
            .add(SignedMessage::sign(rich, &key).unwrap(), &s, &c)
            .unwrap_err();
        assert!(matches!(err, MpoolError::InsufficientFunds { .. }), "{err}");

        let mut small = msg(&s, 5, 100);
        small.gas_limit = 10;
        let err = pool
            .add(SignedMessage::sign(small, &key).unwrap(), &s, &c)
            .unwrap_err();
        assert_eq!(err, MpoolError::GasLimit { min: 1000, got: 10 });

        let mut cheap = msg(&s, 5, 10);
        cheap.gas_fee_cap = TokenAmount::from_atto(50);
        let err = pool
            .add(SignedMessage::sign(cheap, &key).unwrap(), &s, &c)
            .unwrap_err();
        assert!(matches!(err, MpoolError::FeeCap { .. }), "{err}");
        assert!(pool.pending().is_empty());
    }

    #[test]
    fn pending_messages_count_against_the_balance() {
        let (key, s, c) = setup();
        let mut pool = Mpool::new();
        let mut total = 0;
        for n in 5..20 {
            let mut m = msg(&s, n, 100);
            m.value = TokenAmount::from_whole(3);
            match pool.add(SignedMessage::sign(m, &key).unwrap(), &s, &c) {
                Ok(_) => total += 1,
                Err(e) => {
                    assert!(matches!(e, MpoolError::InsufficientFunds { .. }), "{e}");
                    break;
                }
            }
        }
        assert_eq!(total, 3); // 3 x (3 FIL + gas) fits in 10 FIL, a fourth does not
    }

    #[test]
    fn remove_drops_one_message() {
        let (key, s, c) = setup();
        let mut pool = Mpool::new();
        for n in [5, 6] {
            pool.add(SignedMessage::sign(msg(&s, n, 100), &key).unwrap(), &s, &c)
                .unwrap();
        }
        pool.remove(&s.id, 6);
        pool.remove(&Address::new_id(999), 5); // another sender: no effect
        let left: Vec<u64> = pool.pending().iter().map(|m| m.message.sequence).collect();
        assert_eq!(left, [5]);
        pool.remove(&s.id, 5);
        assert!(pool.senders().is_empty());
    }

    #[test]
    fn ethereum_accounts_sign_with_delegated_signatures() {
        use crate::eth::EthAddress;
        use crate::eth::tx::{EthTx, TxKind};
        let (key, _, c) = setup();
        let eth_key = k256::ecdsa::SigningKey::from_bytes(&[5u8; 32].into()).unwrap();
        let me =
            EthAddress::from_public_key(eth_key.verifying_key().to_encoded_point(false).as_bytes())
                .unwrap();
        let sender = Sender {
            id: Address::new_id(200),
            key: me.to_filecoin(),
            nonce: 0,
            balance: TokenAmount::from_whole(10),
        };
        let tx = |input: Vec<u8>| {
            EthTx {
                kind: TxKind::Eip1559,
                chain_id: c.chain_id,
                nonce: 0,
                gas_limit: 1_000_000,
                max_fee_per_gas: TokenAmount::from_atto(1000),
                max_priority_fee_per_gas: TokenAmount::from_atto(100),
                to: Some(EthAddress([1; 20])),
                value: TokenAmount::default(),
                input,
                r: [0; 32],
                s: [0; 32],
                v: 0,
            }
            .sign(&eth_key)
            .unwrap()
        };
        let signed = |t: &EthTx| SignedMessage {
            message: t.to_message(me.to_filecoin()).unwrap(),
            signature: t.signature(),
        };
        let mut pool = Mpool::new();
        // A secp256k1 signature cannot stand for an Ethereum account.
        let m = signed(&tx(vec![])).message;
        let err = pool
            .add(SignedMessage::sign(m, &key).unwrap(), &sender, &c)
            .unwrap_err();
        assert!(matches!(err, MpoolError::Signature { .. }), "{err}");
        // Oversize: refused before its signature is checked.
        let err = pool
            .add(signed(&tx(vec![7; MAX_MESSAGE_SIZE])), &sender, &c)
            .unwrap_err();
        assert!(matches!(err, MpoolError::TooLarge { .. }), "{err}");
        // A key account cannot send with a Delegated signature.
        let (_, key_sender, _) = setup();
        let mut forged = signed(&tx(vec![]));
        forged.message.from = key_sender.id;
        forged.message.sequence = key_sender.nonce;
        let err = pool.add(forged, &key_sender, &c).unwrap_err();
        assert!(matches!(err, MpoolError::Signature { .. }), "{err}");
        assert!(pool.is_empty());
        pool.add(signed(&tx(vec![1, 2])), &sender, &c).unwrap();
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn replace_by_fee_needs_a_quarter_more_premium() {
        let (key, s, c) = setup();
        let mut pool = Mpool::new();
        pool.add(SignedMessage::sign(msg(&s, 5, 100), &key).unwrap(), &s, &c)
            .unwrap();
        let err = pool
            .add(SignedMessage::sign(msg(&s, 5, 120), &key).unwrap(), &s, &c)
            .unwrap_err();
        assert!(matches!(err, MpoolError::ReplaceByFee { .. }), "{err}");
        let cid = pool
            .add(SignedMessage::sign(msg(&s, 5, 125), &key).unwrap(), &s, &c)
            .unwrap();
        let pending = pool.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].cid().unwrap(), cid);
        assert_eq!(pending[0].message.gas_premium, TokenAmount::from_atto(125));
    }
}
