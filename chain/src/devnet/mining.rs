//! The devnet's side of a remote block miner: what Lotus gives lotus-miner
//! (`MinerGetBaseInfo`, `MinerCreateBlock`, `SyncSubmitBlock`, `MpoolSelect`),
//! and what the block producer asks before it produces a block: whether the
//! next block is a remote miner's to submit (see [`crate::winning`]).
//!
//! ```text
//!  miner: head h ─► MinerGetBaseInfo(m, h+1, key) ─► ticket + election VRFs
//!         (WalletSign) ─► WinningPoSt ─► MpoolSelect ─► MinerCreateBlock
//!         ─► SyncSubmitBlock ─► checked, executed, the head
//!  producer: tick for h+1 ─► next_block() = AwaitSubmitted ─► waits up to
//!         [devnet] remote_block_wait_ms for the head to reach h+1, else
//!         produces h+1 without a winner
//! ```

use std::collections::HashMap;

use fvm_ipld_encoding::CborStore;

use super::production::{chain_messages, store_messages, weight_after};
use super::*;

/// How far ahead of the clock (or of its parent, whichever is later) a
/// submitted block's timestamp may be, in seconds. The devnet's own
/// timestamps run ahead of the clock when it makes blocks faster than one
/// a second, hence the parent.
pub const MAX_TIMESTAMP_AHEAD_SECS: u64 = 30;

/// What a miner needs to mine on a base (Lotus's `MiningBaseInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct MiningBase {
    /// The miner's quality-adjusted power.
    pub miner_power: BigInt,
    /// The network's quality-adjusted power.
    pub network_power: BigInt,
    /// The sectors the WinningPoSt challenges.
    pub sectors: Vec<winning::ChallengedSector>,
    /// The worker's key, which signs the VRFs and the block.
    pub worker_key: Address,
    /// The miner's sector size in bytes.
    pub sector_size: u64,
    /// The base's last beacon entry.
    pub prev_beacon: BeaconEntry,
    /// The beacon entries of the new block.
    pub beacon_entries: Vec<BeaconEntry>,
    /// Whether the devnet's election rule lets the miner win: it is the
    /// configured block miner.
    pub eligible: bool,
}

/// What a miner asks the node to build (Lotus's `BlockTemplate`).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockTemplate {
    /// The miner.
    pub miner: Address,
    /// The parent tipset's key.
    pub parents: Vec<Cid>,
    /// The ticket (the worker's VRF).
    pub ticket: Ticket,
    /// The election proof.
    pub election_proof: Option<crate::block::ElectionProof>,
    /// The beacon entries.
    pub beacon_values: Vec<BeaconEntry>,
    /// The messages to include, in order.
    pub messages: Vec<SignedMessage>,
    /// The block's height.
    pub epoch: ChainEpoch,
    /// Its timestamp, Unix seconds.
    pub timestamp: u64,
    /// The WinningPoSt.
    pub win_post_proof: Vec<fvm_shared::sector::PoStProof>,
}

/// A block and its messages' CIDs (Lotus's `BlockMsg`).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMsg {
    /// The header.
    pub header: BlockHeader,
    /// The BLS messages' CIDs (unsigned messages).
    pub bls_messages: Vec<Cid>,
    /// The secp256k1 messages' CIDs (signed messages).
    pub secp_messages: Vec<Cid>,
}

/// Whose the next block is, for the block producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextBlock {
    /// The producer makes it.
    Produce,
    /// The block miner is elected at `height` and no prover is registered
    /// here: it mines remotely, and the producer waits for its block.
    AwaitSubmitted {
        /// The block's height.
        height: ChainEpoch,
        /// The miner.
        miner: Address,
    },
}

impl Devnet {
    /// Sets how long the block producer waits for the block of an elected
    /// block miner that mines remotely (`[devnet] remote_block_wait_ms`).
    pub fn set_remote_block_wait(&self, wait: std::time::Duration) {
        *lock(&self.remote_block_wait) = wait;
    }

    /// How long the block producer waits for a remote block miner's block.
    pub fn remote_block_wait(&self) -> std::time::Duration {
        *lock(&self.remote_block_wait)
    }

    /// Whose the next block is (see [`NextBlock`]).
    pub fn next_block(&self) -> Result<NextBlock, ChainError> {
        let Some(miner) = self.block_miner() else {
            return Ok(NextBlock::Produce);
        };
        if lock(&self.block_prover).is_some() {
            return Ok(NextBlock::Produce);
        }
        let (state, height) = {
            let head = lock(&self.head);
            (head.exec_state, head.tipset.height() + 1)
        };
        let tree = self.state_tree(&state)?;
        if !self.is_storage_miner(&tree, &miner)? {
            return Ok(NextBlock::Produce);
        }
        Ok(match winning::standing(&self.bs, &tree, &miner, height) {
            Ok(Standing::Elected(_)) => NextBlock::AwaitSubmitted { height, miner },
            // Bootstrap blocks are the producer's; an unreadable standing
            // is block_claim's to report.
            _ => NextBlock::Produce,
        })
    }

    /// Produces the block at `height` if the head is still below it (no
    /// block was submitted meanwhile); `None` if one was.
    pub fn produce_block_at(&self, height: ChainEpoch) -> Result<Option<TipSet>, ChainError> {
        let _producing = lock(&self.producing);
        if self.head().height() + 1 != height {
            return Ok(None);
        }
        self.produce_held(true).map(Some)
    }

    /// The state after tipset `ts`'s messages and their receipts' root.
    fn executed(&self, ts: &TipSet) -> Result<(Cid, Cid), ChainError> {
        {
            let head = lock(&self.head);
            if head.tipset.key == ts.key {
                let receipts = self
                    .store
                    .get(&EXEC, &"head".to_string())?
                    .context("head execution result missing")?
                    .receipts_root;
                return Ok((
                    head.exec_state,
                    Cid::try_from(receipts.as_slice()).context("stored receipts root")?,
                ));
            }
        }
        let next = self.tipset_at(ts.height() + 1)?;
        match next.blocks.first() {
            Some(b) if b.parents == ts.key => Ok((b.parent_state_root, b.parent_message_receipts)),
            _ => Err(ChainError::NotFound(format!(
                "tipset at height {} is not on the chain",
                ts.height()
            ))),
        }
    }

    /// `MinerGetBaseInfo`: what `miner` needs to mine the block at `epoch`
    /// on tipset `key` (empty: the head), or `None` when it cannot win: no
    /// power, or no active sector to prove (as Lotus answers nil).
    pub fn mining_base(
        &self,
        miner: &Address,
        epoch: ChainEpoch,
        key: &[Cid],
    ) -> Result<Option<MiningBase>, ChainError> {
        let base = self.tipset_or_head(key)?;
        if epoch <= base.height() {
            return Err(ChainError::Execution(format!(
                "epoch {epoch} is not after the base at height {}",
                base.height()
            )));
        }
        let (state, _) = self.executed(&base)?;
        let tree = self.state_tree(&state)?;
        let id = tree
            .lookup_id(miner)
            .fvm("look up the miner")?
            .ok_or_else(|| ChainError::NotFound(format!("actor not found: {miner}")))?;
        let miner = Address::new_id(id);
        if !self.is_storage_miner(&tree, &miner)? {
            return Err(ChainError::Execution(format!(
                "{miner} is not a storage miner"
            )));
        }
        let Standing::Elected(election) = winning::standing(&self.bs, &tree, &miner, epoch)? else {
            return Ok(None);
        };
        let parent = base
            .blocks
            .first()
            .ok_or_else(|| ChainError::NotFound("empty tipset".to_string()))?;
        let prev_beacon = parent
            .beacon_entries
            .last()
            .cloned()
            .ok_or_else(|| ChainError::NotFound("the base has no beacon entry".to_string()))?;
        let beacon_entries = (base.height() + 1..=epoch)
            .map(|round| BeaconEntry {
                round: u64::try_from(round).unwrap_or_default(),
                data: randomness::beacon_entry(round).to_vec(),
            })
            .collect();
        Ok(Some(MiningBase {
            miner_power: election.miner_power.clone(),
            network_power: election.network_power.clone(),
            sectors: election.sectors.clone(),
            worker_key: election.worker_key,
            sector_size: election.request.proof.size.bytes(),
            prev_beacon,
            beacon_entries,
            eligible: self.block_miner() == Some(miner),
        }))
    }

    /// `MinerCreateBlock`, but for the signature: the header of `t` over its
    /// parent's execution, with its messages stored, and the worker key that
    /// must sign it (the caller signs with the node's wallet, as Lotus does).
    pub fn create_block(&self, t: BlockTemplate) -> Result<(BlockMsg, Address), ChainError> {
        let parent = self.tipset(&t.parents)?;
        if t.epoch <= parent.height() {
            return Err(ChainError::Execution(format!(
                "epoch {} is not after the parent at height {}",
                t.epoch,
                parent.height()
            )));
        }
        let (state, receipts) = self.executed(&parent)?;
        let tree = self.state_tree(&state)?;
        let worker_key = worker_key(&self.bs, &tree, &t.miner)?;
        let (messages, bls_aggregate) = store_messages(&self.bs, &t.messages)?;
        let mut bls_messages = Vec::new();
        let mut secp_messages = Vec::new();
        for sm in &t.messages {
            if sm.signature.sig_type == SigKind::BLS {
                bls_messages.push(message_cid(&sm.message)?);
            } else {
                secp_messages.push(sm.cid()?);
            }
        }
        let header = BlockHeader {
            miner: t.miner,
            ticket: Some(t.ticket),
            election_proof: t.election_proof,
            beacon_entries: t.beacon_values,
            win_post_proof: t.win_post_proof,
            parents: parent.key.clone(),
            parent_weight: weight_after(&parent),
            height: t.epoch,
            parent_state_root: state,
            parent_message_receipts: receipts,
            messages,
            bls_aggregate,
            timestamp: t.timestamp,
            block_sig: None,
            fork_signaling: 0,
            parent_base_fee: self.vm.settings().base_fee.clone(),
        };
        Ok((
            BlockMsg {
                header,
                bls_messages,
                secp_messages,
            },
            worker_key,
        ))
    }

    /// `MpoolSelect`: the pending messages the next block on the head can
    /// take, as the producer selects them (the devnet ignores Lotus's
    /// ticket quality).
    pub fn select_messages(&self) -> Result<Vec<SignedMessage>, ChainError> {
        let head = lock(&self.head);
        let tree = self.state_tree(&head.exec_state)?;
        let mut selected = head.mpool.select(BLOCK_GAS_LIMIT, |sender| {
            actor_by_address(&tree, sender)
                .ok()
                .flatten()
                .map(|a| a.sequence)
        });
        selected.sort_by_key(|sm| sm.signature.sig_type != SigKind::BLS);
        Ok(selected)
    }

    /// `SyncSubmitBlock`: checks a remote miner's block as the devnet checks
    /// its own (the parent is the head; the parent state, receipts, weight
    /// and base fee are the head's; the ticket, election proof, WinningPoSt
    /// and signature verify; the messages are known, signed and in nonce
    /// order), executes it and makes it the head. A refused block changes
    /// nothing; the error (`Execution`) says why.
    pub fn submit_block(&self, msg: BlockMsg) -> Result<TipSet, ChainError> {
        let _producing = lock(&self.producing);
        let h = &msg.header;
        let refuse = |why: String| {
            ChainError::Execution(format!("block {} by {} refused: {why}", h.height, h.miner))
        };
        let mut head = lock(&self.head);
        let parent = head.tipset.clone();
        if h.parents != parent.key {
            return Err(refuse(format!(
                "its parent {} is not the head {} (height {})",
                cids(&h.parents),
                cids(&parent.key),
                parent.height()
            )));
        }
        if h.height != parent.height() + 1 {
            return Err(refuse(format!(
                "its height is not the head's plus one ({}): the devnet has no null rounds",
                parent.height() + 1
            )));
        }
        let block_miner = self.block_miner();
        if block_miner != Some(h.miner) {
            return Err(refuse(format!(
                "the devnet takes blocks only from its block miner ({})",
                block_miner.map_or("none".to_string(), |m| m.to_string())
            )));
        }
        if h.parent_state_root != head.exec_state {
            return Err(refuse(format!(
                "its parent state {} is not the head's execution result {}",
                h.parent_state_root, head.exec_state
            )));
        }
        let receipts = self
            .store
            .get(&EXEC, &"head".to_string())?
            .context("head execution result missing")?
            .receipts_root;
        let receipts = Cid::try_from(receipts.as_slice()).context("stored receipts root")?;
        if h.parent_message_receipts != receipts {
            return Err(refuse(format!(
                "its parent receipts {} are not the head's {receipts}",
                h.parent_message_receipts
            )));
        }
        if h.parent_weight != weight_after(&parent) {
            return Err(refuse(format!(
                "its parent weight {} is not {}",
                h.parent_weight,
                weight_after(&parent)
            )));
        }
        if h.parent_base_fee != self.vm.settings().base_fee {
            return Err(refuse(format!(
                "its parent base fee {} is not {}",
                h.parent_base_fee.atto(),
                self.vm.settings().base_fee.atto()
            )));
        }
        let parent_block = parent
            .blocks
            .first()
            .ok_or_else(|| ChainError::NotFound("empty head tipset".to_string()))?;
        let latest = now().max(parent_block.timestamp) + MAX_TIMESTAMP_AHEAD_SECS;
        if h.timestamp <= parent_block.timestamp || h.timestamp > latest {
            return Err(refuse(format!(
                "its timestamp {} is not after its parent's ({}) and at most {latest}",
                h.timestamp, parent_block.timestamp
            )));
        }
        let tree = self.state_tree(&head.exec_state)?;
        let standing = winning::standing(&self.bs, &tree, &h.miner, h.height)?;
        let Standing::Elected(election) = &standing else {
            return Err(refuse(
                "the miner is not elected (no power, or no active sector): its blocks are the producer's"
                    .to_string(),
            ));
        };
        let parent_ticket = parent_block
            .ticket
            .as_ref()
            .map(|t| t.vrf_proof.clone())
            .unwrap_or_default();
        winning::check_ticket(h, election, &parent_ticket).map_err(&refuse)?;
        winning::check(h, &standing).map_err(&refuse)?;
        let msgs = self
            .submitted_messages(&tree, h, &msg.bls_messages, &msg.secp_messages)
            .map_err(&refuse)?;
        let reward = crate::vm::BlockReward {
            miner: h.miner,
            win_count: winning::WIN_COUNT,
        };
        let applied = self
            .vm
            .apply(
                head.exec_state,
                h.height,
                h.timestamp,
                &chain_messages(&msgs)?,
                Some(&reward),
                DevnetExterns::new(self.lookup.clone(), parent.height()),
            )
            .map_err(|e| refuse(format!("it failed to execute: {e:#}")))?;
        self.make_head(&mut head, msg.header.clone(), &msgs, &applied)
    }

    /// The messages of a submitted block, in execution order (BLS, then
    /// secp), checked: they match its `Messages` root, this node knows them
    /// (`MinerCreateBlock` stored them), their signatures verify, and each
    /// sender's nonces run on from its state's, within the block gas limit.
    fn submitted_messages(
        &self,
        tree: &StateTree<DbBlockstore>,
        h: &BlockHeader,
        bls: &[Cid],
        secp: &[Cid],
    ) -> Result<Vec<SignedMessage>, String> {
        let internal = |e: anyhow::Error| format!("{e:#}");
        let tx = TxMeta {
            bls_message_root: Amt::new_from_iter(self.bs.clone(), bls.iter().copied())
                .map_err(|e| e.to_string())?,
            secp_message_root: Amt::new_from_iter(self.bs.clone(), secp.iter().copied())
                .map_err(|e| e.to_string())?,
        };
        let root = self.bs.put_cbor(&tx, Code::Blake2b256).map_err(internal)?;
        if root != h.messages {
            return Err(format!(
                "its message lists make the root {root}, not its Messages {}",
                h.messages
            ));
        }
        let unknown = |cid: &Cid| format!("message {cid} is unknown to this node");
        let key = |from: &Address| account_key_in(&self.bs, tree, from).map_err(|e| e.to_string());
        let mut out = Vec::new();
        let mut bls_keys = Vec::new();
        let mut bls_data = Vec::new();
        for cid in bls {
            let m: Message = self
                .bs
                .get_cbor(cid)
                .ok()
                .flatten()
                .ok_or_else(|| unknown(cid))?;
            let k = key(&m.from)?;
            let pk: [u8; fvm_shared::crypto::signature::BLS_PUB_LEN] = k
                .payload_bytes()
                .try_into()
                .map_err(|_| format!("message {cid}: {k} is not a BLS key"))?;
            bls_keys.push(pk);
            bls_data.push(cid.to_bytes());
            // A block keeps only the aggregate of its BLS signatures (as in
            // Lotus); what follows reads only the signature's kind.
            out.push(SignedMessage {
                message: m,
                signature: crate::message::MessageSignature::new_bls(Vec::new()),
            });
        }
        if !bls.is_empty() {
            let agg = h
                .bls_aggregate
                .as_ref()
                .ok_or("it has BLS messages but no BLS aggregate")?;
            let sig: [u8; fvm_shared::crypto::signature::BLS_SIG_LEN] = agg
                .bytes()
                .try_into()
                .map_err(|_| "its BLS aggregate is not 96 bytes".to_string())?;
            let data: Vec<&[u8]> = bls_data.iter().map(Vec::as_slice).collect();
            let ok =
                fvm_shared::crypto::signature::ops::verify_bls_aggregate(&sig, &bls_keys, &data)?;
            if !ok {
                return Err("its BLS aggregate does not verify".to_string());
            }
        }
        for cid in secp {
            let sm: SignedMessage = self
                .bs
                .get_cbor(cid)
                .ok()
                .flatten()
                .ok_or_else(|| unknown(cid))?;
            let k = key(&sm.message.from)?;
            crate::mpool::verify_signature(&sm, &k, self.vm.settings().chain_id)
                .map_err(|e| format!("message {cid}: {e}"))?;
            out.push(sm);
        }
        let mut next: HashMap<u64, u64> = HashMap::new();
        let mut gas = 0u64;
        for sm in &out {
            let from = sm.message.from;
            let id = tree
                .lookup_id(&from)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("a message's sender {from} does not exist"))?;
            let expected = match next.get(&id) {
                Some(n) => *n,
                None => tree
                    .get_actor(id)
                    .map_err(|e| e.to_string())?
                    .map(|a| a.sequence)
                    .unwrap_or_default(),
            };
            if sm.message.sequence != expected {
                return Err(format!(
                    "a message from {from} has nonce {}, not {expected}",
                    sm.message.sequence
                ));
            }
            next.insert(id, expected + 1);
            gas = gas.saturating_add(sm.message.gas_limit);
        }
        if gas > BLOCK_GAS_LIMIT {
            return Err(format!(
                "its messages' gas limits add up to {gas}, over the block's {BLOCK_GAS_LIMIT}"
            ));
        }
        Ok(out)
    }
}

/// The worker key of storage miner `miner` in `tree`.
fn worker_key(
    bs: &DbBlockstore,
    tree: &StateTree<DbBlockstore>,
    miner: &Address,
) -> Result<Address, ChainError> {
    let actor = actor_by_address(tree, miner)?
        .ok_or_else(|| ChainError::NotFound(format!("actor not found: {miner}")))?;
    let st: fil_actor_miner_state::v18::State = bs
        .get_cbor(&actor.state)
        .ok()
        .flatten()
        .ok_or_else(|| ChainError::NotFound(format!("{miner} is not a storage miner")))?;
    let info = st
        .get_info(bs)
        .map_err(|e| ChainError::Internal(anyhow::anyhow!("read {miner}'s info: {e}")))?;
    account_key_in(bs, tree, &info.worker)
}

fn cids(key: &[Cid]) -> String {
    let all: Vec<String> = key.iter().map(Cid::to_string).collect();
    format!("[{}]", all.join(", "))
}
