//! The embedded devnet: a single-node chain on the real FVM.
//!
//! ```text
//!  MpoolPush ──► Mpool (signature, nonce, funds, gas checked)
//!                  │ select, every block time
//!                  ▼
//!  block h+1 = { parent: h, ParentStateRoot: S_h, ParentMessageReceipts: R_h,
//!                Messages: M_h+1, ticket, devnet beacon }
//!                  │ execute M_h+1 on S_h at epoch h+1, then cron  (Vm::apply)
//!                  ▼
//!  S_h+1, R_h+1 kept as the head's execution result, used by block h+2
//! ```
//!
//! As in Lotus, a tipset's state queries read its *parent* state, and a
//! message's receipt is visible once the next block is on chain. Every block
//! is persisted (headers and messages in the blockstore, the height index,
//! the head and its execution result in one atomic batch) before it becomes
//! the head, so a restart continues from the last head.

mod mining;
mod production;

pub use mining::{BlockMsg, BlockTemplate, MAX_TIMESTAMP_AHEAD_SECS, MiningBase, NextBlock};

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use anyhow::Context;
use cid::Cid;
use ferrite_store::{Db, Store, Table};
use fvm::state_tree::StateTree;
use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::{CborStore, to_vec};
use fvm_shared::address::{Address, Protocol};
use fvm_shared::bigint::BigInt;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::state::ActorState;
use multihash_codetable::Code;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::block::{BeaconEntry, BlockHeader, Ticket, TipSet, TxMeta};
use crate::blockstore::{BLOCKS_TABLE, DbBlockstore};
use crate::bundle::Bundle;
use crate::error::ChainError;
use crate::externs::{ChainLookup, DevnetExterns};
use crate::genesis::{self, GenesisSpec};
use crate::message::{SigKind, SignedMessage, message_cid};
use crate::mpool::{Conditions, Mpool, Sender};
use crate::randomness;
use crate::state::{FvmContext, actor_by_address};
use crate::vm::{BLOCK_GAS_LIMIT, ChainMessage, Vm, VmSettings};
use crate::wallet::PrivateKey;
use crate::winning::{self, BlockProver, Election, ElectionProofs, Standing};

const META: Table<String, Vec<u8>> = Table::new("chain-meta");
const HEIGHTS: Table<i64, Vec<u8>> = Table::new("chain-heights");
const EXEC: Table<String, ExecRecord> = Table::new("chain-exec");
const MSG_INDEX: Table<Vec<u8>, MsgRecord> = Table::new("chain-msg-index");
/// Pending messages (CID → CBOR of the signed message), so a restart keeps them.
const MPOOL: Table<Vec<u8>, Vec<u8>> = Table::new("chain-mpool");
/// Ethereum transaction hash → the CID of its signed message, written when
/// the pool takes it (the hash is also computable from the message).
const ETH_TX: Table<Vec<u8>, Vec<u8>> = Table::new("chain-eth-tx");

/// Every table the devnet uses; open the database with these.
pub const TABLES: [&str; 7] = [
    BLOCKS_TABLE,
    META.name(),
    HEIGHTS.name(),
    EXEC.name(),
    MSG_INDEX.name(),
    MPOOL.name(),
    ETH_TX.name(),
];

/// The head's execution result: the state after its messages, and their receipts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExecRecord {
    height: i64,
    state_root: Vec<u8>,
    receipts_root: Vec<u8>,
}

/// Where a message was included.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MsgRecord {
    /// The height of the block that includes it.
    included: i64,
    /// Its index among the block's messages (BLS first, then secp, as Lotus orders them).
    index: u64,
}

/// A message's execution, as StateSearchMsg reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct MsgLookup {
    /// The message's CID.
    pub message: Cid,
    /// Its receipt.
    pub receipt: Receipt,
    /// Its index among the messages of the block that includes it (the
    /// tipset's parent).
    pub index: u64,
    /// The tipset whose parent state includes its execution.
    pub tipset: TipSet,
}

/// Settings of the devnet.
#[derive(Debug, Clone)]
pub struct DevnetSettings {
    /// VM settings.
    pub vm: VmSettings,
    /// The genesis, used only when the database has no chain yet.
    pub genesis: GenesisSpec,
}

struct Head {
    tipset: TipSet,
    exec_state: Cid,
    mpool: Mpool,
}

/// The storage miner's actor type: its position in builtin-actors' manifest.
const STORAGE_MINER_TYPE: u32 = 6;

/// The devnet node's chain.
pub struct Devnet {
    store: Store,
    bs: DbBlockstore,
    vm: Vm,
    network_name: String,
    head: Mutex<Head>,
    /// Read without the head lock, which block production holds while the
    /// VM executes: what async callers read (head tipset, pool size).
    published: RwLock<(TipSet, usize)>,
    lookup: Arc<StoreLookup>,
    /// The storage miner credited with the blocks this node produces, and
    /// paid their rewards; none: blocks by f00, no block reward.
    block_miner: Mutex<Option<Address>>,
    /// Signs and proves the blocks the block miner wins once it has power
    /// (see [`crate::winning`]); none: such epochs get blocks without a winner.
    block_prover: Mutex<Option<Arc<dyn BlockProver>>>,
    /// How long the producer waits for a remote block miner's block.
    remote_block_wait: Mutex<std::time::Duration>,
    /// Held for the whole of a block's production, so that one block is
    /// made at a time while the head lock is free during the WinningPoSt.
    producing: Mutex<()>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("network", &self.network_name)
            .finish()
    }
}

/// Chain lookups for the FVM's externs, from the stored chain.
struct StoreLookup {
    store: Store,
    bs: DbBlockstore,
}

impl StoreLookup {
    fn block_at(&self, epoch: ChainEpoch) -> anyhow::Result<Option<BlockHeader>> {
        let Some(bytes) = self.store.get(&HEIGHTS, &epoch)? else {
            return Ok(None);
        };
        let cid = Cid::try_from(bytes.as_slice())?;
        self.bs.get_cbor(&cid)
    }
}

impl ChainLookup for StoreLookup {
    fn ticket_at(&self, epoch: ChainEpoch) -> anyhow::Result<Vec<u8>> {
        match self.block_at(epoch)? {
            Some(b) => Ok(b.ticket.map(|t| t.vrf_proof).unwrap_or_default()),
            // Genesis is being built, or the block being produced: its ticket
            // is derived from the parent's, which is what we can give.
            None if epoch <= 0 => Ok(randomness::ticket(&[], 0).to_vec()),
            None => {
                let parent = self.ticket_at(epoch - 1)?;
                Ok(randomness::ticket(&parent, epoch).to_vec())
            }
        }
    }

    fn tipset_cid_at(&self, epoch: ChainEpoch) -> anyhow::Result<Cid> {
        let b = self
            .block_at(epoch)?
            .with_context(|| format!("no tipset at epoch {epoch}"))?;
        TipSet::single(b)?.key_cid()
    }
}

/// A gas estimate's trial run that failed, as the error the caller gets.
fn failed_estimate(ret: &fvm::executor::ApplyRet) -> ChainError {
    ChainError::Execution(format!(
        "estimating gas used: message execution failed: exit {}: {}",
        ret.msg_receipt.exit_code,
        ret.failure_info
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default()
    ))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Devnet {
    /// Opens the chain in `db` (opened with [`TABLES`]), creating its genesis
    /// if it has none. `bundle` loads the actor code into the blockstore.
    pub fn open(
        db: Arc<dyn Db>,
        settings: DevnetSettings,
        bundle: impl FnOnce(&DbBlockstore) -> anyhow::Result<Bundle>,
    ) -> anyhow::Result<Self> {
        let store = Store::from_shared(db.clone())?;
        let bs = DbBlockstore::new(db);
        let vm = Vm::new(bs.clone(), settings.vm)?;
        let lookup = Arc::new(StoreLookup {
            store: store.clone(),
            bs: bs.clone(),
        });
        let head = match store.get(&META, &"head".to_string())? {
            Some(cid) => {
                let cid = Cid::try_from(cid.as_slice()).context("stored head")?;
                let block: BlockHeader = bs.get_cbor(&cid)?.context("head block missing")?;
                let exec = store
                    .get(&EXEC, &"head".to_string())?
                    .context("head execution result missing")?;
                anyhow::ensure!(
                    exec.height == block.height,
                    "head and execution result disagree"
                );
                Head {
                    tipset: TipSet::single(block)?,
                    exec_state: Cid::try_from(exec.state_root.as_slice())?,
                    mpool: Mpool::new(),
                }
            }
            None => {
                let bundle = bundle(&bs)?;
                let externs = DevnetExterns::new(lookup.clone(), 0);
                let state = genesis::build(&bs, &bundle, &settings.genesis, &vm, externs)?;
                let empty = Amt::<Receipt, _>::new_from_iter(bs.clone(), Vec::new())?;
                let tx = empty_tx_meta(&bs)?;
                let block = BlockHeader {
                    miner: Address::new_id(0),
                    ticket: Some(Ticket {
                        vrf_proof: randomness::ticket(&[], 0).to_vec(),
                    }),
                    election_proof: None,
                    beacon_entries: vec![BeaconEntry {
                        round: 0,
                        data: randomness::beacon_entry(0).to_vec(),
                    }],
                    win_post_proof: vec![],
                    parents: vec![],
                    parent_weight: BigInt::from(0),
                    height: 0,
                    parent_state_root: state,
                    parent_message_receipts: empty,
                    messages: tx,
                    bls_aggregate: None,
                    timestamp: now(),
                    block_sig: None,
                    fork_signaling: 0,
                    parent_base_fee: vm.settings().base_fee.clone(),
                };
                let applied = vm.apply(
                    state,
                    0,
                    block.timestamp,
                    &[],
                    None,
                    DevnetExterns::new(lookup.clone(), 0),
                )?;
                let ts = TipSet::single(block)?;
                persist(&store, &bs, &ts, &[], applied.state_root, &applied.receipts)?;
                store.put(&META, &"genesis".to_string(), &ts.key[0].to_bytes())?;
                Head {
                    tipset: ts,
                    exec_state: applied.state_root,
                    mpool: Mpool::new(),
                }
            }
        };
        index_tipset_keys(&lookup, &bs, &head.tipset)?;
        let network_name = init_network_name(&bs, &head.exec_state)?;
        let published = RwLock::new((head.tipset.clone(), 0));
        let devnet = Self {
            store,
            bs,
            vm,
            network_name,
            head: Mutex::new(head),
            published,
            lookup,
            block_miner: Mutex::new(None),
            block_prover: Mutex::new(None),
            remote_block_wait: Mutex::new(
                crate::config::DevnetConfig::default().remote_block_wait(),
            ),
            producing: Mutex::new(()),
        };
        devnet.restore_mpool()?;
        Ok(devnet)
    }

    /// Re-admits the pending messages saved before a restart; those that are
    /// no longer valid (included meanwhile, say) are dropped.
    fn restore_mpool(&self) -> anyhow::Result<()> {
        let saved = self.store.scan(&MPOOL, &[])?;
        let mut head = lock(&self.head);
        let mut batch = self.store.batch();
        let mut sorted = Vec::new();
        for (key, raw) in saved {
            match fvm_ipld_encoding::from_slice::<SignedMessage>(&raw) {
                Ok(sm) => sorted.push((key, sm)),
                Err(_) => batch.delete(&MPOOL, &key),
            }
        }
        sorted.sort_by_key(|(_, sm)| sm.message.sequence);
        for (key, sm) in sorted {
            if self.push_in(&mut head, sm).is_err() {
                batch.delete(&MPOOL, &key);
            }
        }
        self.store.commit(batch)?;
        self.publish(&head);
        Ok(())
    }

    /// Makes `head`'s tipset and pool size visible to [`Devnet::head`] and
    /// [`Devnet::pending_count`].
    fn publish(&self, head: &Head) {
        let mut p = self.published.write().unwrap_or_else(|e| e.into_inner());
        *p = (head.tipset.clone(), head.mpool.len());
    }

    /// The blockstore.
    pub fn blockstore(&self) -> &DbBlockstore {
        &self.bs
    }

    /// The network's name (from the init actor).
    pub fn network_name(&self) -> &str {
        &self.network_name
    }

    /// The VM's settings.
    pub fn settings(&self) -> &VmSettings {
        self.vm.settings()
    }

    /// The head tipset.
    pub fn head(&self) -> TipSet {
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// The tipset at `height` (at or below the head).
    pub fn tipset_at(&self, height: ChainEpoch) -> Result<TipSet, ChainError> {
        let b = self
            .lookup
            .block_at(height)?
            .ok_or_else(|| ChainError::NotFound(format!("no tipset at height {height}")))?;
        Ok(TipSet::single(b)?)
    }

    /// The tipset with `key`.
    pub fn tipset(&self, key: &[Cid]) -> Result<TipSet, ChainError> {
        let [cid] = key else {
            return Err(ChainError::NotFound(format!(
                "the devnet has one block per tipset, not {}",
                key.len()
            )));
        };
        Ok(TipSet::single(self.block(cid)?)?)
    }

    /// The tipset on this chain whose key's CID is `key_cid` (an Ethereum
    /// block hash names it), if any.
    pub fn tipset_by_key_cid(&self, key_cid: &Cid) -> Result<Option<TipSet>, ChainError> {
        // Another block with this CID (a message's) is no tipset key.
        let Some(key) = self
            .bs
            .get(key_cid)?
            .and_then(|raw| fvm_ipld_encoding::from_slice::<Vec<Cid>>(&raw).ok())
        else {
            return Ok(None);
        };
        let ts = match self.tipset(&key) {
            Ok(ts) => ts,
            Err(ChainError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        // A key block may name a block that lost its place (a submitted
        // block that came too late): only the chain's own counts.
        if ts.height() > self.head().height() {
            return Ok(None);
        }
        let canonical = self.lookup.block_at(ts.height())?;
        Ok(canonical
            .map(|b| b.cid())
            .transpose()?
            .filter(|c| key == [*c])
            .map(|_| ts))
    }

    /// The tipset for a key that may be empty (the head).
    pub fn tipset_or_head(&self, key: &[Cid]) -> Result<TipSet, ChainError> {
        if key.is_empty() {
            Ok(self.head())
        } else {
            self.tipset(key)
        }
    }

    /// A block header.
    pub fn block(&self, cid: &Cid) -> Result<BlockHeader, ChainError> {
        self.bs
            .get_cbor(cid)?
            .ok_or_else(|| ChainError::NotFound(format!("block {cid} not found")))
    }

    /// A message, by its unsigned or signed CID.
    pub fn message(&self, cid: &Cid) -> Result<Message, ChainError> {
        if let Ok(Some(m)) = self.bs.get_cbor::<Message>(cid) {
            return Ok(m);
        }
        if let Ok(Some(sm)) = self.bs.get_cbor::<SignedMessage>(cid) {
            return Ok(sm.message);
        }
        Err(ChainError::NotFound(format!("message {cid} not found")))
    }

    /// The receipts of the messages of `block`'s parent.
    pub fn parent_receipts(&self, block: &Cid) -> Result<Vec<Receipt>, ChainError> {
        let b = self.block(block)?;
        let amt = Amt::<Receipt, _>::load(&b.parent_message_receipts, self.bs.clone())
            .context("load receipts")?;
        let mut out = Vec::new();
        amt.for_each(|_, r| {
            out.push(r.clone());
            Ok(())
        })
        .context("read receipts")?;
        Ok(out)
    }

    fn state_tree(&self, root: &Cid) -> Result<StateTree<DbBlockstore>, ChainError> {
        Ok(StateTree::new_from_root(self.bs.clone(), root).fvm("load state tree")?)
    }

    /// The state tipset `key` reads: its parent state.
    pub fn state_root(&self, key: &[Cid]) -> Result<Cid, ChainError> {
        self.tipset_or_head(key)?
            .parent_state()
            .ok_or_else(|| ChainError::NotFound("empty tipset".to_string()))
    }

    /// The actor at `addr` in the state of tipset `key`.
    pub fn actor(&self, addr: &Address, key: &[Cid]) -> Result<Option<ActorState>, ChainError> {
        let root = self.state_root(key)?;
        Ok(actor_by_address(&self.state_tree(&root)?, addr)?)
    }

    /// The ID address of `addr` in the state of tipset `key`.
    pub fn lookup_id(&self, addr: &Address, key: &[Cid]) -> Result<Option<Address>, ChainError> {
        let root = self.state_root(key)?;
        Ok(self
            .state_tree(&root)?
            .lookup_id(addr)
            .fvm("look up address")?
            .map(Address::new_id))
    }

    /// The key address (f1/f3) of the account at `addr`.
    pub fn account_key(&self, addr: &Address, key: &[Cid]) -> Result<Address, ChainError> {
        if matches!(addr.protocol(), Protocol::Secp256k1 | Protocol::BLS) {
            return Ok(*addr);
        }
        let root = self.state_root(key)?;
        account_key_in(&self.bs, &self.state_tree(&root)?, addr)
    }

    /// The next nonce of `addr`: its nonce in the latest executed state, past its pending messages.
    pub fn next_nonce(&self, addr: &Address) -> Result<u64, ChainError> {
        self.next_nonce_in(&lock(&self.head), addr)
    }

    fn next_nonce_in(&self, head: &Head, addr: &Address) -> Result<u64, ChainError> {
        let tree = self.state_tree(&head.exec_state)?;
        let Some(id) = tree.lookup_id(addr).fvm("look up sender")? else {
            return Ok(0);
        };
        let nonce = tree
            .get_actor(id)
            .fvm("read sender")?
            .map(|a| a.sequence)
            .unwrap_or_default();
        Ok(head.mpool.next_nonce(&Address::new_id(id), nonce))
    }

    /// The pending messages.
    pub fn pending(&self) -> Vec<SignedMessage> {
        lock(&self.head).mpool.pending()
    }

    /// How many messages are pending, without waiting for block production.
    pub fn pending_count(&self) -> usize {
        self.published.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Checks `sm` and adds it to the message pool.
    pub fn push(&self, sm: SignedMessage) -> Result<Cid, ChainError> {
        let mut head = lock(&self.head);
        let cid = self.push_in(&mut head, sm)?;
        self.publish(&head);
        Ok(cid)
    }

    /// Gives `msg` the sender's next nonce, signs it with `key` and adds it
    /// to the pool, atomically, so that concurrent senders get distinct nonces.
    pub fn push_next(
        &self,
        mut msg: Message,
        key: &PrivateKey,
    ) -> Result<SignedMessage, ChainError> {
        let mut head = lock(&self.head);
        msg.sequence = self.next_nonce_in(&head, &msg.from)?;
        let sm = SignedMessage::sign(msg, key)?;
        self.push_in(&mut head, sm.clone())?;
        self.publish(&head);
        Ok(sm)
    }

    fn push_in(&self, head: &mut Head, sm: SignedMessage) -> Result<Cid, ChainError> {
        let tree = self.state_tree(&head.exec_state)?;
        let from = sm.message.from;
        let id = tree
            .lookup_id(&from)
            .fvm("look up sender")?
            .ok_or(ChainError::Rejected(
                crate::mpool::MpoolError::UnknownSender(from),
            ))?;
        let actor = tree
            .get_actor(id)
            .fvm("read sender")?
            .ok_or(ChainError::Rejected(
                crate::mpool::MpoolError::UnknownSender(from),
            ))?;
        let key = account_key_in(&self.bs, &tree, &Address::new_id(id))?;
        let sender = Sender {
            id: Address::new_id(id),
            key,
            nonce: actor.sequence,
            balance: actor.balance,
        };
        let min_gas = fvm::gas::price_list_by_network_version(self.vm.settings().network_version)
            .on_chain_message(sm.chain_length()?)
            .total()
            .round_up();
        let cond = Conditions {
            base_fee: self.vm.settings().base_fee.clone(),
            min_gas,
            chain_id: self.vm.settings().chain_id,
        };
        let raw = to_vec(&sm).context("encode message")?;
        let eth_hash = (sm.signature.sig_type == SigKind::Delegated)
            .then(|| {
                crate::eth::EthTx::from_message(&sm.message, &sm.signature, cond.chain_id)
                    .map(|tx| tx.hash())
            })
            .transpose();
        let cid = head.mpool.add(sm, &sender, &cond)?;
        let mut batch = self.store.batch();
        batch.put(&MPOOL, &cid.to_bytes(), &raw)?;
        // The pool verified the transaction, so it rebuilds.
        if let Ok(Some(hash)) = eth_hash {
            batch.put(&ETH_TX, &hash.to_vec(), &cid.to_bytes())?;
        }
        self.store.commit(batch)?;
        Ok(cid)
    }

    /// Where and how `cid` was executed, if it was.
    pub fn search(&self, cid: &Cid) -> Result<Option<MsgLookup>, ChainError> {
        let Some(rec) = self.store.get(&MSG_INDEX, &cid.to_bytes())? else {
            return Ok(None);
        };
        let executed = rec.included + 1;
        if executed > self.head().height() {
            return Ok(None);
        }
        let ts = self.tipset_at(executed)?;
        let receipts = self.parent_receipts(&ts.key[0])?;
        let receipt = usize::try_from(rec.index)
            .ok()
            .and_then(|i| receipts.get(i))
            .cloned()
            .with_context(|| format!("receipt {} of block {} missing", rec.index, rec.included))?;
        Ok(Some(MsgLookup {
            message: *cid,
            receipt,
            index: rec.index,
            tipset: ts,
        }))
    }

    /// The CID of the signed message of Ethereum transaction `hash`, if the
    /// pool ever took it.
    pub fn eth_tx_cid(&self, hash: &[u8; 32]) -> Result<Option<Cid>, ChainError> {
        match self.store.get(&ETH_TX, &hash.to_vec())? {
            Some(b) => Ok(Some(Cid::try_from(b.as_slice()).context("stored CID")?)),
            None => Ok(None),
        }
    }

    /// Re-executes message `cid` where it was executed and returns the result (StateReplay).
    pub fn replay(&self, cid: &Cid) -> Result<(Message, fvm::executor::ApplyRet), ChainError> {
        let (m, ret, _) = self.replay_in_block(cid)?;
        Ok((m, ret))
    }

    /// Like [`Devnet::replay`], with how many events the block's messages
    /// before it emitted.
    pub fn replay_in_block(
        &self,
        cid: &Cid,
    ) -> Result<(Message, fvm::executor::ApplyRet, usize), ChainError> {
        self.replay_block_upto(cid, false)
    }

    /// Like [`Devnet::replay`], with the FVM's execution trace kept in the
    /// result: every gas charge by name, and every call and return.
    pub fn replay_traced(
        &self,
        cid: &Cid,
    ) -> Result<(Message, fvm::executor::ApplyRet), ChainError> {
        let (m, ret, _) = self.replay_block_upto(cid, true)?;
        Ok((m, ret))
    }

    fn replay_block_upto(
        &self,
        cid: &Cid,
        trace: bool,
    ) -> Result<(Message, fvm::executor::ApplyRet, usize), ChainError> {
        let rec = self
            .store
            .get(&MSG_INDEX, &cid.to_bytes())?
            .ok_or_else(|| ChainError::NotFound(format!("didn't find msg {cid}")))?;
        let block = self
            .lookup
            .block_at(rec.included)?
            .ok_or_else(|| ChainError::NotFound(format!("block {} missing", rec.included)))?;
        let msgs = self.block_messages(&block)?;
        let target = usize::try_from(rec.index).context("message index")?;
        let message = msgs
            .get(target)
            .map(|m| m.message.clone())
            .ok_or_else(|| ChainError::NotFound(format!("didn't find msg {cid}")))?;
        let mut rets = self.vm.replay_all_traced(
            block.parent_state_root,
            block.height,
            block.timestamp,
            &msgs[..=target],
            DevnetExterns::new(self.lookup.clone(), block.height - 1),
            trace,
        )?;
        let ret = rets
            .pop()
            .ok_or_else(|| ChainError::NotFound(format!("didn't replay msg {cid}")))?;
        let events_before = rets.iter().map(|r| r.events.len()).sum();
        Ok((message, ret, events_before))
    }

    /// A block's messages in execution order (BLS, then secp).
    pub fn block_messages(&self, block: &BlockHeader) -> Result<Vec<ChainMessage>, ChainError> {
        let tx: TxMeta = self
            .bs
            .get_cbor(&block.messages)?
            .context("block's message list missing")?;
        let mut out = Vec::new();
        let bls =
            Amt::<Cid, _>::load(&tx.bls_message_root, self.bs.clone()).context("BLS messages")?;
        let mut cids = Vec::new();
        bls.for_each(|_, c| {
            cids.push((*c, true));
            Ok(())
        })
        .context("read BLS messages")?;
        let secp =
            Amt::<Cid, _>::load(&tx.secp_message_root, self.bs.clone()).context("secp messages")?;
        secp.for_each(|_, c| {
            cids.push((*c, false));
            Ok(())
        })
        .context("read secp messages")?;
        for (cid, is_bls) in cids {
            let raw = self
                .bs
                .get(&cid)?
                .with_context(|| format!("message {cid} missing"))?;
            let message = if is_bls {
                fvm_ipld_encoding::from_slice::<Message>(&raw).context("decode message")?
            } else {
                fvm_ipld_encoding::from_slice::<SignedMessage>(&raw)
                    .context("decode signed message")?
                    .message
            };
            out.push(ChainMessage {
                message,
                length: raw.len(),
            });
        }
        Ok(out)
    }

    /// The events each message of the block at `height` emitted (by
    /// re-executing them), with the message's CID (a BLS message's unsigned
    /// one, another's signed one) and its signed form where it has one.
    #[allow(clippy::type_complexity)]
    pub fn block_events(
        &self,
        height: ChainEpoch,
    ) -> Result<
        Vec<(
            Cid,
            Option<SignedMessage>,
            Vec<fvm_shared::event::StampedEvent>,
        )>,
        ChainError,
    > {
        let block = self
            .lookup
            .block_at(height)?
            .ok_or_else(|| ChainError::NotFound(format!("block {height} missing")))?;
        let msgs = self.block_messages(&block)?;
        let (bls, secp) = self.block_signed_messages(&block)?;
        let bls = usize::try_from(bls).context("BLS message count")?;
        let rets = self.vm.replay_all(
            block.parent_state_root,
            block.height,
            block.timestamp,
            &msgs,
            DevnetExterns::new(self.lookup.clone(), block.height - 1),
        )?;
        let mut out = Vec::with_capacity(rets.len());
        for (i, (m, ret)) in msgs.iter().zip(rets).enumerate() {
            let (cid, signed) = match i.checked_sub(bls).and_then(|j| secp.get(j)) {
                Some((cid, sm)) => (*cid, Some(sm.clone())),
                None => (message_cid(&m.message)?, None),
            };
            out.push((cid, signed, ret.events));
        }
        Ok(out)
    }

    /// A block's secp256k1 and Delegated messages, signed, with their CIDs,
    /// and how many BLS messages come before them in execution order.
    pub fn block_signed_messages(
        &self,
        block: &BlockHeader,
    ) -> Result<(u64, Vec<(Cid, SignedMessage)>), ChainError> {
        let tx: TxMeta = self
            .bs
            .get_cbor(&block.messages)?
            .context("block's message list missing")?;
        let bls =
            Amt::<Cid, _>::load(&tx.bls_message_root, self.bs.clone()).context("BLS messages")?;
        let secp =
            Amt::<Cid, _>::load(&tx.secp_message_root, self.bs.clone()).context("secp messages")?;
        let mut out = Vec::new();
        secp.for_each(|_, c| {
            out.push(*c);
            Ok(())
        })
        .context("read secp messages")?;
        let signed = out
            .into_iter()
            .map(|c| {
                let sm: SignedMessage = self
                    .bs
                    .get_cbor(&c)?
                    .with_context(|| format!("message {c} missing"))?;
                Ok((c, sm))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((bls.count(), signed))
    }

    /// Runs `msg` on the state of tipset `key` without keeping the result,
    /// from its sender's nonce in that state (as Lotus's `StateCall` runs
    /// it: a contract the call creates gets the address a message sent now
    /// would give it); a sender not in the state keeps the message's nonce.
    pub fn call(
        &self,
        mut msg: Message,
        key: &[Cid],
    ) -> Result<fvm::executor::ApplyRet, ChainError> {
        let ts = self.tipset_or_head(key)?;
        let state = ts
            .parent_state()
            .ok_or_else(|| ChainError::NotFound("empty tipset".to_string()))?;
        let tree = self.state_tree(&state)?;
        if let Some(id) = tree.lookup_id(&msg.from).fvm("look up sender")?
            && let Some(sender) = tree.get_actor(id).fvm("read sender")?
        {
            msg.sequence = sender.sequence;
        }
        let timestamp = ts.blocks.first().map(|b| b.timestamp).unwrap_or_default();
        Ok(self.vm.call(
            state,
            ts.height(),
            timestamp,
            msg,
            DevnetExterns::new(self.lookup.clone(), ts.height()),
        )?)
    }

    /// The gas limit for `msg` as an Ethereum transaction's message, as
    /// Lotus's `eth_estimateGas` finds it: the message runs on the latest
    /// state as it would in a block (so a placeholder sender becomes an
    /// Ethereum account first, as the FVM makes it), from the sender's state
    /// nonce, with room for a Delegated signature; its gas used (the
    /// on-chain cost included) times 1.25.
    pub fn estimate_eth_gas(&self, mut msg: Message) -> Result<u64, ChainError> {
        let (state, height) = {
            let head = lock(&self.head);
            (head.exec_state, head.tipset.height())
        };
        msg.gas_limit = BLOCK_GAS_LIMIT;
        msg.gas_fee_cap = TokenAmount::default();
        msg.gas_premium = TokenAmount::default();
        let tree = self.state_tree(&state)?;
        msg.sequence = match tree.lookup_id(&msg.from).fvm("look up sender")? {
            Some(id) => tree
                .get_actor(id)
                .fvm("read sender")?
                .map(|a| a.sequence)
                .unwrap_or_default(),
            None => 0,
        };
        // A Delegated signature of an EIP-155 transaction is at most 82
        // bytes, and the signed message's CBOR adds a few.
        let length = to_vec(&msg).context("encode message")?.len() + 90;
        let ret = self.vm.call_explicit(
            state,
            height + 1,
            now(),
            ChainMessage {
                message: msg,
                length,
            },
            DevnetExterns::new(self.lookup.clone(), height),
        )?;
        if !ret.msg_receipt.exit_code.is_success() {
            return Err(failed_estimate(&ret));
        }
        Ok((ret.msg_receipt.gas_used * 5 / 4).min(BLOCK_GAS_LIMIT))
    }

    /// Fills in a message's gas limit, fee cap and premium, as Lotus's
    /// GasEstimateMessageGas does: the gas it uses on the latest state plus
    /// its on-chain cost, times 1.25; a premium, and a fee cap of twice the
    /// base fee plus the premium, capped by `max_fee` when it is not zero.
    pub fn estimate_gas(
        &self,
        mut msg: Message,
        max_fee: &TokenAmount,
    ) -> Result<Message, ChainError> {
        let (state, height) = {
            let head = lock(&self.head);
            (head.exec_state, head.tipset.height())
        };
        if msg.gas_limit == 0 {
            let mut probe = msg.clone();
            probe.gas_limit = BLOCK_GAS_LIMIT;
            probe.sequence = self.next_nonce(&msg.from)?;
            let ret = self.vm.call(
                state,
                height + 1,
                now(),
                probe,
                DevnetExterns::new(self.lookup.clone(), height),
            )?;
            if !ret.msg_receipt.exit_code.is_success() {
                return Err(failed_estimate(&ret));
            }
            // The signed message's length is not known yet: allow for a BLS signature.
            let length = to_vec(&msg).context("encode message")?.len() + 100;
            let inclusion =
                fvm::gas::price_list_by_network_version(self.vm.settings().network_version)
                    .on_chain_message(length)
                    .total()
                    .round_up();
            msg.gas_limit = ((ret.msg_receipt.gas_used + inclusion) * 5 / 4).min(BLOCK_GAS_LIMIT);
        }
        if msg.gas_premium.is_zero() {
            msg.gas_premium = TokenAmount::from_atto(100_000);
        }
        if msg.gas_fee_cap.is_zero() {
            msg.gas_fee_cap = self.vm.settings().base_fee.clone() * 2u64 + msg.gas_premium.clone();
            if !max_fee.is_zero() && msg.gas_fee_cap.clone() * msg.gas_limit > *max_fee {
                msg.gas_fee_cap = TokenAmount::from_atto(max_fee.atto() / msg.gas_limit);
                msg.gas_premium = msg.gas_premium.clone().min(msg.gas_fee_cap.clone());
            }
        }
        Ok(msg)
    }

    /// Randomness drawn as Lotus's `StateGetRandomnessFromTickets` (or,
    /// with `beacon`, `StateGetRandomnessFromBeacon`) draws it.
    pub fn randomness(
        &self,
        source: RandomnessSource,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        use fvm::externs::Rand;
        let externs = DevnetExterns::new(self.lookup.clone(), self.head().height());
        let digest = match source {
            RandomnessSource::Tickets => externs.get_chain_randomness(round)?,
            RandomnessSource::Beacon => externs.get_beacon_randomness(round)?,
        };
        Ok(randomness::draw_from_digest(&digest, tag, round, entropy))
    }
}

/// Where randomness is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomnessSource {
    /// The blocks' tickets.
    Tickets,
    /// The beacon.
    Beacon,
}

pub(crate) fn account_key_in(
    bs: &DbBlockstore,
    tree: &StateTree<DbBlockstore>,
    addr: &Address,
) -> Result<Address, ChainError> {
    let actor = actor_by_address(tree, addr)?
        .ok_or_else(|| ChainError::NotFound(format!("actor {addr} not found")))?;
    #[derive(serde_tuple::Deserialize_tuple)]
    struct AccountState {
        address: Address,
    }
    let Some(st) = bs.get_cbor::<AccountState>(&actor.state).ok().flatten() else {
        // An Ethereum account, or the placeholder that becomes one with its
        // first message: its f410 address stands for its key (as Lotus's
        // StateAccountKey answers), and it signs with a Delegated signature.
        return actor
            .delegated_address
            .filter(|a| crate::eth::EthAddress::from_filecoin(a).is_some())
            .ok_or_else(|| ChainError::NotFound(format!("{addr} is not an account")));
    };
    match st.address.protocol() {
        Protocol::Secp256k1 | Protocol::BLS => Ok(st.address),
        _ => Err(ChainError::NotFound(format!("{addr} is not a key account"))),
    }
}

fn init_network_name(bs: &DbBlockstore, state: &Cid) -> anyhow::Result<String> {
    #[derive(serde_tuple::Deserialize_tuple)]
    struct InitState {
        _address_map: Cid,
        _next_id: u64,
        network_name: String,
    }
    let tree = StateTree::new_from_root(bs.clone(), state).fvm("load state tree")?;
    let init = tree
        .get_actor(1)
        .fvm("read init actor")?
        .context("no init actor")?;
    let st: InitState = bs.get_cbor(&init.state)?.context("init state missing")?;
    Ok(st.network_name)
}

fn empty_tx_meta(bs: &DbBlockstore) -> anyhow::Result<Cid> {
    let empty = Amt::<Cid, _>::new_from_iter(bs.clone(), Vec::new())?;
    bs.put_cbor(
        &TxMeta {
            bls_message_root: empty,
            secp_message_root: empty,
        },
        Code::Blake2b256,
    )
}

/// Stores the tipset keys of a chain persisted before keys were kept
/// (see [`persist`]), once: nothing to do when the head's is there.
fn index_tipset_keys(lookup: &StoreLookup, bs: &DbBlockstore, head: &TipSet) -> anyhow::Result<()> {
    if bs.has(&head.key_cid()?)? {
        return Ok(());
    }
    for height in 0..=head.height() {
        if let Some(b) = lookup.block_at(height)? {
            bs.put_cbor(&vec![b.cid()?], Code::Blake2b256)?;
        }
    }
    Ok(())
}

/// Persists a new head: the block, then one atomic batch for the indexes.
fn persist(
    store: &Store,
    bs: &DbBlockstore,
    ts: &TipSet,
    msgs: &[SignedMessage],
    state_root: Cid,
    receipts: &[Receipt],
) -> anyhow::Result<()> {
    let block = ts.blocks.first().context("empty tipset")?;
    let cid = bs.put_cbor(block, Code::Blake2b256)?;
    // The key as a block, as Lotus keeps it: its CID is what the Ethereum
    // block hash digests, so a block is found by hash.
    bs.put_cbor(&ts.key, Code::Blake2b256)?;
    let receipts_root = Amt::new_from_iter(bs.clone(), receipts.iter().cloned())?;
    let mut batch = store.batch();
    batch.put(&HEIGHTS, &block.height, &cid.to_bytes())?;
    for (index, sm) in msgs.iter().enumerate() {
        let rec = MsgRecord {
            included: block.height,
            index: index as u64,
        };
        batch.put(&MSG_INDEX, &sm.cid()?.to_bytes(), &rec)?;
        // Lotus also finds a secp message by its unsigned CID.
        batch.put(&MSG_INDEX, &message_cid(&sm.message)?.to_bytes(), &rec)?;
    }
    batch.put(
        &EXEC,
        &"head".to_string(),
        &ExecRecord {
            height: block.height,
            state_root: state_root.to_bytes(),
            receipts_root: receipts_root.to_bytes(),
        },
    )?;
    batch.put(&META, &"head".to_string(), &cid.to_bytes())?;
    store.commit(batch)?;
    Ok(())
}

/// The total balance of `accounts`, for the circulating supply.
pub fn total_balance(accounts: &[(Address, TokenAmount)]) -> TokenAmount {
    accounts.iter().map(|(_, b)| b.clone()).sum()
}
