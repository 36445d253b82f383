//! The running contract's state: loaded from the actor's state root, changed
//! by the interpreter (storage, transient storage, nonce, tombstone), and
//! written back before every outgoing call and at the end, so that a
//! re-entrant call sees what this one wrote and this one sees what the
//! re-entrant call wrote (the state is reloaded after a call that changed
//! it). v18's `System` works the same way.

use cid::Cid;
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult, WithCode};
use fvm_ipld_blockstore::{Block, Blockstore};
use fvm_ipld_encoding::{CborStore, IPLD_RAW};
use multihash_codetable::Code;

use crate::state::{
    BytecodeHash, EthAddress, Slots, State, Tombstone, TransientData, TransientDataLifespan, Word,
    get_slot, load_slots, new_slots, set_slot,
};

/// The largest bytecode a contract may have (EIP-170), as in v18.
pub const MAX_CODE_SIZE: usize = 24 << 10;

/// The contract as the interpreter sees it.
pub struct Contract {
    /// The bytecode block and its hash; `None` until the constructor sets it.
    pub bytecode: Option<(Cid, BytecodeHash)>,
    slots: Slots,
    transient: Slots,
    transient_lifespan: Option<TransientDataLifespan>,
    /// The CREATE nonce.
    pub nonce: u64,
    /// Set when the contract self-destructed.
    pub tombstone: Option<Tombstone>,
    /// The state root last written or read; `None` when there are changes
    /// to write.
    saved_root: Option<Cid>,
    /// Whether the call is read-only (a static call): nothing may change.
    pub read_only: bool,
}

/// The tombstone a self-destruct would leave during the current message.
pub fn current_tombstone() -> Tombstone {
    Tombstone {
        origin: rt::sdk::message::origin(),
        nonce: rt::sdk::message::nonce(),
    }
}

fn current_lifespan() -> TransientDataLifespan {
    TransientDataLifespan {
        origin: rt::sdk::message::origin(),
        nonce: rt::sdk::message::nonce(),
    }
}

/// Whether the contract is dead: it self-destructed during an earlier
/// message.
pub fn is_dead(st: &State) -> bool {
    st.tombstone.is_some_and(|t| t != current_tombstone())
}

/// The actor's state, read from its state root.
pub fn load_state() -> ActorResult<(Cid, State)> {
    let root = rt::sdk::sself::root().state_err("read state root")?;
    let st: State = ActorBlockstore
        .get_cbor(&root)
        .with_code(
            fvm_shared::error::ExitCode::USR_SERIALIZATION,
            "decode state",
        )?
        .ok_or_else(|| ActorError::illegal_state("state not in the blockstore"))?;
    Ok((root, st))
}

impl Contract {
    fn empty(read_only: bool) -> Contract {
        Contract {
            bytecode: None,
            slots: new_slots(),
            transient: new_slots(),
            transient_lifespan: None,
            nonce: 1,
            tombstone: None,
            saved_root: None,
            read_only,
        }
    }

    /// A new contract with no code and no storage (the constructor's).
    pub fn create() -> Contract {
        Contract::empty(rt::sdk::vm::read_only())
    }

    /// The contract in the actor's state. A dead contract is an empty,
    /// read-only one, as in v18.
    pub fn load() -> ActorResult<Contract> {
        let (root, st) = load_state()?;
        if is_dead(&st) {
            return Ok(Contract::empty(true));
        }
        let mut c = Contract::empty(rt::sdk::vm::read_only());
        c.apply(root, st)?;
        Ok(c)
    }

    fn apply(&mut self, root: Cid, st: State) -> ActorResult<()> {
        self.slots = load_slots(&st.contract_state)?;
        match st.transient_data {
            Some(t) => {
                self.transient = load_slots(&t.transient_data_state)?;
                self.transient_lifespan = Some(t.transient_data_lifespan);
            }
            None => {
                self.transient = new_slots();
                self.transient_lifespan = None;
            }
        }
        self.bytecode = Some((st.bytecode, st.bytecode_hash));
        self.nonce = st.nonce;
        self.tombstone = st.tombstone;
        self.saved_root = Some(root);
        Ok(())
    }

    /// Marks the state as changed.
    pub fn touch(&mut self) {
        self.saved_root = None;
    }

    /// Writes the state if it changed. A read-only call with changes is
    /// refused (`USR_READ_ONLY`), as v18 refuses it.
    pub fn flush(&mut self) -> ActorResult<()> {
        if self.saved_root.is_some() {
            return Ok(());
        }
        if self.read_only {
            return Err(ActorError::new(
                fvm_shared::error::ExitCode::USR_READ_ONLY,
                "contract invocation is read only",
            ));
        }
        let (bytecode, bytecode_hash) = match self.bytecode {
            Some(b) => b,
            None => self.set_bytecode(&[])?,
        };
        let contract_state = self.slots.flush().state_err("flush storage")?;
        let transient_data = match self.transient_lifespan {
            Some(lifespan) => Some(TransientData {
                transient_data_state: self
                    .transient
                    .flush()
                    .state_err("flush transient storage")?,
                transient_data_lifespan: lifespan,
            }),
            None => None,
        };
        let st = State {
            bytecode,
            bytecode_hash,
            contract_state,
            transient_data,
            nonce: self.nonce,
            tombstone: self.tombstone,
        };
        let root = ActorBlockstore
            .put_cbor(&st, Code::Blake2b256)
            .state_err("write state")?;
        rt::sdk::sself::set_root(&root).state_err("set state root")?;
        self.saved_root = Some(root);
        Ok(())
    }

    /// Reads the state again if another call changed it.
    pub fn reload(&mut self) -> ActorResult<()> {
        if self.read_only {
            return Ok(());
        }
        let (root, st) = load_state()?;
        if self.saved_root == Some(root) {
            return Ok(());
        }
        self.apply(root, st)
    }

    /// Stores `code` as the contract's bytecode (a raw block) and its hash.
    /// Code over 24 KiB, or starting with 0xEF (EIP-3541), is refused.
    pub fn set_bytecode(&mut self, code: &[u8]) -> ActorResult<(Cid, BytecodeHash)> {
        if code.len() > MAX_CODE_SIZE {
            return Err(ActorError::illegal_argument(format!(
                "EVM byte code length ({}) is exceeding the maximum allowed of {MAX_CODE_SIZE}",
                code.len()
            )));
        }
        if code.first() == Some(&0xEF) {
            return Err(ActorError::illegal_argument(
                "EIP-3541: Contract code starting with the 0xEF byte is disallowed.",
            ));
        }
        let hash = BytecodeHash(keccak256(code));
        let cid = ActorBlockstore
            .put(Code::Blake2b256, &Block::new(IPLD_RAW, code))
            .state_err("write bytecode")?;
        self.bytecode = Some((cid, hash));
        self.touch();
        Ok((cid, hash))
    }

    /// The value of storage slot `key`.
    pub fn storage(&self, key: &Word) -> ActorResult<Word> {
        get_slot(&self.slots, key)
    }

    /// Writes storage slot `key`.
    pub fn set_storage(&mut self, key: Word, value: Word) -> ActorResult<()> {
        if set_slot(&mut self.slots, key, value)? {
            self.touch();
        }
        Ok(())
    }

    /// The value of transient slot `key`: zero unless it was written during
    /// the current message.
    pub fn transient(&self, key: &Word) -> ActorResult<Word> {
        if self.transient_lifespan == Some(current_lifespan()) {
            get_slot(&self.transient, key)
        } else {
            Ok(Word::ZERO)
        }
    }

    /// Writes transient slot `key`; slots of an earlier message are dropped
    /// first.
    pub fn set_transient(&mut self, key: Word, value: Word) -> ActorResult<()> {
        let now = current_lifespan();
        if self.transient_lifespan != Some(now) {
            if value.is_zero() {
                return Ok(());
            }
            self.transient = new_slots();
            self.transient_lifespan = Some(now);
            self.touch();
        }
        if set_slot(&mut self.transient, key, value)? {
            self.touch();
        }
        Ok(())
    }

    /// Marks the contract self-destructed by the current message.
    pub fn mark_destroyed(&mut self) {
        self.tombstone = Some(current_tombstone());
        self.touch();
    }
}

pub use ferrite_actor_rt::eth::keccak256;

/// The Ethereum address of the actor `id`: its f410 address's payload, or
/// the ID form when it has none.
pub fn eth_address_of(id: fvm_shared::ActorID) -> EthAddress {
    EthAddress::of_actor(id).unwrap_or_else(|| EthAddress::from_id(id))
}

/// The Filecoin address an Ethereum address stands for: the ID address of
/// an ID-form one, else the f410 address.
pub fn fil_address_of(a: &EthAddress) -> ActorResult<fvm_shared::address::Address> {
    match a.as_id() {
        Some(id) => Ok(fvm_shared::address::Address::new_id(id)),
        None => fvm_shared::address::Address::new_delegated(rt::types::EAM_ACTOR_ID, &a.0)
            .map_err(|e| ActorError::illegal_argument(format!("f410 address: {e}"))),
    }
}
