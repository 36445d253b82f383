//! revm's view of the chain: the [`Host`] the interpreter asks for block and
//! message facts, accounts and storage. Storage is the contract's KAMT,
//! logs become FVM actor events as v18 emits them, balances and code come
//! from the FVM and from other EVM actors. A host call cannot return an
//! actor error, so the first one is kept in [`FvmHost::error`] and the
//! interpreter is halted; the driver then fails the call with it.

use std::borrow::Cow;

use ferrite_actor_rt::{self as rt, ActorError};
use fvm_ipld_encoding::IPLD_RAW;
use fvm_shared::address::Address as FilAddress;
use fvm_shared::econ::TokenAmount;
use fvm_shared::event::{ActorEvent, Entry, Flags};
use revm_interpreter::context_interface::cfg::GasParams;
use revm_interpreter::context_interface::journaled_state::AccountInfoLoad;
use revm_interpreter::host::LoadError;
use revm_interpreter::primitives::hardfork::SpecId;
use revm_interpreter::primitives::{Address, B256, Bytes, Log, StorageKey, StorageValue, U256};
use revm_interpreter::state::{AccountInfo, Bytecode};
use revm_interpreter::{Host, SStoreResult, SelfDestructResult, StateLoad};

use crate::calls;
use crate::contract::{Contract, fil_address_of};
use crate::state::{EthAddress, Word};

/// The EVM revision revm runs: Cancun (PUSH0, MCOPY, TLOAD/TSTORE), the
/// revision FEVM's opcodes follow.
pub const SPEC: SpecId = SpecId::CANCUN;

/// FEVM's answer to GASLIMIT: the block gas limit.
const BLOCK_GAS_LIMIT: u64 = 10_000_000_000;

/// The event key of a log's data, and of its topics, as v18 names them.
const EVENT_DATA_KEY: &str = "d";
const EVENT_TOPIC_KEYS: [&str; 4] = ["t1", "t2", "t3", "t4"];

/// The host of one call frame.
pub struct FvmHost {
    /// The contract whose code runs.
    pub contract: Contract,
    /// The first actor error a host call met; the interpreter was halted.
    pub error: Option<ActorError>,
    /// Whether an account load fetches the account's code: set only while
    /// EXTCODESIZE, EXTCODECOPY or EXTCODEHASH runs.
    pub load_code: bool,
    /// The message's origin, as an Ethereum address (ORIGIN).
    origin: Address,
    gas_params: GasParams,
}

/// A revm address from ours.
pub fn to_revm(a: &EthAddress) -> Address {
    Address::from(a.0)
}

/// Ours from a revm address.
pub fn from_revm(a: &Address) -> EthAddress {
    EthAddress(a.into_array())
}

/// A revm word from a slot word.
pub fn word_to_u256(w: &Word) -> U256 {
    U256::from_be_bytes(w.0)
}

/// A slot word from a revm word.
pub fn u256_to_word(v: &U256) -> Word {
    Word(v.to_be_bytes())
}

/// A token amount as an EVM word (attoFIL); amounts past 2^256 saturate.
pub fn tokens_to_u256(t: &TokenAmount) -> U256 {
    let (_, bytes) = t.atto().to_bytes_be();
    if bytes.len() > 32 {
        return U256::MAX;
    }
    U256::from_be_slice(&bytes)
}

/// An EVM word as a token amount (attoFIL).
pub fn u256_to_tokens(v: &U256) -> TokenAmount {
    TokenAmount::from_atto(fvm_shared::bigint::BigInt::from_bytes_be(
        fvm_shared::bigint::Sign::Plus,
        &v.to_be_bytes::<32>(),
    ))
}

impl FvmHost {
    /// The host for `contract`, in a message whose origin is `origin`.
    pub fn new(contract: Contract, origin: EthAddress) -> FvmHost {
        FvmHost {
            contract,
            error: None,
            load_code: false,
            origin: to_revm(&origin),
            gas_params: GasParams::new_spec(SPEC),
        }
    }

    fn fail(&mut self, e: ActorError) -> LoadError {
        if self.error.is_none() {
            self.error = Some(e);
        }
        LoadError::DBError
    }
}

impl Host for FvmHost {
    fn basefee(&self) -> U256 {
        tokens_to_u256(&rt::sdk::network::base_fee())
    }

    fn blob_gasprice(&self) -> U256 {
        U256::ZERO
    }

    fn gas_limit(&self) -> U256 {
        U256::from(BLOCK_GAS_LIMIT)
    }

    fn difficulty(&self) -> U256 {
        U256::ZERO
    }

    fn prevrandao(&self) -> Option<U256> {
        // v18 draws PREVRANDAO from the beacon; the devnet's beacon is
        // its own. The value is the epoch's beacon randomness.
        let epoch = rt::sdk::network::curr_epoch();
        rt::sdk::rand::get_beacon_randomness(epoch)
            .ok()
            .map(U256::from_be_bytes)
    }

    fn block_number(&self) -> U256 {
        U256::from(rt::sdk::network::curr_epoch().max(0) as u64)
    }

    fn timestamp(&self) -> U256 {
        U256::from(rt::sdk::network::tipset_timestamp())
    }

    fn beneficiary(&self) -> Address {
        // FEVM has no coinbase: COINBASE is zero.
        Address::ZERO
    }

    fn slot_num(&self) -> U256 {
        U256::ZERO
    }

    fn chain_id(&self) -> U256 {
        U256::from(u64::from(rt::sdk::network::chain_id()))
    }

    fn effective_gas_price(&self) -> U256 {
        tokens_to_u256(&(rt::sdk::network::base_fee() + rt::sdk::message::gas_premium()))
    }

    fn caller(&self) -> Address {
        self.origin
    }

    fn blob_hash(&self, _number: usize) -> Option<U256> {
        None
    }

    fn max_initcode_size(&self) -> usize {
        2 * crate::contract::MAX_CODE_SIZE
    }

    fn gas_params(&self) -> &GasParams {
        &self.gas_params
    }

    fn is_amsterdam_eip8037_enabled(&self) -> bool {
        false
    }

    fn block_hash(&mut self, number: u64) -> Option<B256> {
        // The tipset key's CID digest stands for the block hash, as in FEVM.
        let epoch = i64::try_from(number).ok()?;
        let cid = rt::sdk::network::tipset_cid(epoch).ok()?;
        let digest = cid.hash().digest();
        (digest.len() == 32).then(|| B256::from_slice(digest))
    }

    fn selfdestruct(
        &mut self,
        _address: Address,
        target: Address,
        _skip_cold_load: bool,
    ) -> Result<StateLoad<SelfDestructResult>, LoadError> {
        if self.contract.read_only {
            let e = ActorError::new(
                fvm_shared::error::ExitCode::USR_READ_ONLY,
                "cannot self-destruct when read-only",
            );
            return Err(self.fail(e));
        }
        let balance = rt::sdk::sself::current_balance();
        let had_value = !balance.is_zero();
        self.contract.mark_destroyed();
        if let Err(e) = self.contract.flush() {
            return Err(self.fail(e));
        }
        if had_value {
            let to = match fil_address_of(&from_revm(&target)) {
                Ok(a) => a,
                Err(e) => return Err(self.fail(e)),
            };
            if let Err(e) = rt::send::transfer(&to, balance) {
                let e = ActorError::new(
                    crate::EVM_CONTRACT_SELFDESTRUCT_FAILED,
                    format!("failed to transfer funds on self-destruct: {}", e.msg),
                );
                return Err(self.fail(e));
            }
        }
        Ok(StateLoad::new(
            SelfDestructResult {
                had_value,
                target_exists: true,
                previously_destroyed: false,
            },
            false,
        ))
    }

    fn log(&mut self, log: Log) {
        if self.error.is_some() {
            return;
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(log.data.topics().len() + 1);
        for (key, topic) in EVENT_TOPIC_KEYS.iter().zip(log.data.topics()) {
            entries.push(Entry {
                flags: Flags::FLAG_INDEXED_ALL,
                key: (*key).to_string(),
                codec: IPLD_RAW,
                value: topic.0.to_vec(),
            });
        }
        if !log.data.data.is_empty() {
            entries.push(Entry {
                flags: Flags::FLAG_INDEXED_ALL,
                key: EVENT_DATA_KEY.to_string(),
                codec: IPLD_RAW,
                value: log.data.data.to_vec(),
            });
        }
        if let Err(e) = rt::sdk::event::emit_event(&ActorEvent::from(entries)) {
            self.fail(ActorError::illegal_argument(format!("emit event: {e:?}")));
        }
    }

    fn sstore_skip_cold_load(
        &mut self,
        _address: Address,
        key: StorageKey,
        value: StorageValue,
        _skip_cold_load: bool,
    ) -> Result<StateLoad<SStoreResult>, LoadError> {
        let key = u256_to_word(&key);
        let present = match self.contract.storage(&key) {
            Ok(v) => word_to_u256(&v),
            Err(e) => return Err(self.fail(e)),
        };
        if let Err(e) = self.contract.set_storage(key, u256_to_word(&value)) {
            return Err(self.fail(e));
        }
        Ok(StateLoad::new(
            SStoreResult {
                original_value: present,
                present_value: present,
                new_value: value,
            },
            false,
        ))
    }

    fn sload_skip_cold_load(
        &mut self,
        _address: Address,
        key: StorageKey,
        _skip_cold_load: bool,
    ) -> Result<StateLoad<StorageValue>, LoadError> {
        match self.contract.storage(&u256_to_word(&key)) {
            Ok(v) => Ok(StateLoad::new(word_to_u256(&v), false)),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn tstore(&mut self, _address: Address, key: StorageKey, value: StorageValue) {
        if let Err(e) = self
            .contract
            .set_transient(u256_to_word(&key), u256_to_word(&value))
        {
            self.fail(e);
        }
    }

    fn tload(&mut self, _address: Address, key: StorageKey) -> StorageValue {
        match self.contract.transient(&u256_to_word(&key)) {
            Ok(v) => word_to_u256(&v),
            Err(e) => {
                self.fail(e);
                U256::ZERO
            }
        }
    }

    fn load_account_info_skip_cold_load(
        &mut self,
        address: Address,
        load_code: bool,
        _skip_cold_load: bool,
    ) -> Result<AccountInfoLoad<'_>, LoadError> {
        let target = from_revm(&address);
        let Ok(fil) = fil_address_of(&target) else {
            return Ok(AccountInfoLoad {
                account: Cow::Owned(AccountInfo::default()),
                is_cold: false,
                is_empty: true,
            });
        };
        let id = rt::sdk::actor::resolve_address(&fil);
        let balance = id
            .and_then(rt::sdk::actor::balance_of)
            .map(|b| tokens_to_u256(&b))
            .unwrap_or_default();
        let code = if load_code && self.load_code {
            match id.map(calls::code_of).transpose() {
                Ok(c) => c.flatten().unwrap_or_default(),
                Err(e) => return Err(self.fail(e)),
            }
        } else {
            Vec::new()
        };
        let code_hash = if code.is_empty() {
            revm_interpreter::primitives::KECCAK_EMPTY
        } else {
            B256::from(crate::contract::keccak256(&code))
        };
        let info = AccountInfo {
            balance,
            nonce: 0,
            code_hash,
            code: Some(Bytecode::new_legacy(Bytes::from(code))),
            ..AccountInfo::default()
        };
        Ok(AccountInfoLoad {
            account: Cow::Owned(info),
            is_cold: false,
            is_empty: id.is_none(),
        })
    }
}

/// The Filecoin address of an EVM account, for sends.
pub fn fil_target(a: &Address) -> Result<FilAddress, ActorError> {
    fil_address_of(&from_revm(a))
}
