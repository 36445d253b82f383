//! Block production: who claims the next block (the election rule of
//! [`crate::winning`]), the block producer's blocks, and the check an
//! elected block passes before it is executed.

use super::*;

impl Devnet {
    /// Credits the blocks this node produces from now on to the storage
    /// miner `miner` (paid each block's reward through the reward actor's
    /// `AwardBlockReward`, as Lotus pays a block's winner), or to nobody.
    ///
    /// This is the devnet's election rule (see [`crate::winning`]): one
    /// node, one configured miner. Until the miner has power it is credited
    /// with every block without proofs (bootstrap); once it has power it is
    /// elected at every epoch and its blocks carry an election proof and a
    /// WinningPoSt made by the [`BlockProver`] of [`Devnet::set_block_prover`],
    /// checked before the block is accepted.
    pub fn set_block_miner(&self, miner: Option<Address>) -> Result<(), ChainError> {
        let miner = match miner {
            None => None,
            // An ID address may name a miner that does not exist yet: its
            // blocks start once it does.
            Some(addr) if addr.protocol() == fvm_shared::address::Protocol::ID => Some(addr),
            Some(addr) => Some(
                self.lookup_id(&addr, &[])?
                    .ok_or_else(|| ChainError::NotFound(format!("no actor at {addr}")))?,
            ),
        };
        *lock(&self.block_miner) = miner;
        Ok(())
    }

    /// The configured block miner, if any.
    pub fn block_miner(&self) -> Option<Address> {
        *lock(&self.block_miner)
    }

    /// Registers the prover of the block miner's elected blocks (`None`
    /// removes it). It is called while block production holds the head lock.
    pub fn set_block_prover(&self, prover: Option<Arc<dyn BlockProver>>) {
        *lock(&self.block_prover) = prover;
    }

    /// Who claims the next block (at `height`, over the parent state
    /// `tree`), per the election rule of [`crate::winning`].
    fn block_claim(
        &self,
        tree: &StateTree<DbBlockstore>,
        height: ChainEpoch,
        elect: bool,
    ) -> Result<Claim, ChainError> {
        let Some(miner) = self.block_miner() else {
            return Ok(Claim::Nobody);
        };
        if !self.is_storage_miner(tree, &miner)? {
            return Ok(Claim::Nobody);
        }
        let standing = match winning::standing(&self.bs, tree, &miner, height) {
            Ok(s) => s,
            // The chain goes on without a winner rather than stall on a
            // miner whose election cannot be read.
            Err(e) => {
                warn!(%miner, height, "cannot tell whether the block miner is elected, producing a block without a winner: {e:#}");
                return Ok(Claim::Nobody);
            }
        };
        match standing {
            Standing::NoPower => Ok(Claim::Bootstrap(miner)),
            Standing::NoSectors => {
                warn!(%miner, height, "the block miner has power but no active sector: no winner");
                Ok(Claim::Nobody)
            }
            Standing::Elected(_) if !elect => Ok(Claim::Nobody),
            Standing::Elected(election) => match lock(&self.block_prover).clone() {
                Some(prover) => Ok(Claim::Elected(election, prover)),
                None => {
                    warn!(%miner, height, "the block miner was elected, but no prover is registered here and it submitted no block in time: no winner");
                    Ok(Claim::Nobody)
                }
            },
        }
    }

    /// Checks the election proof, WinningPoSt and signature of `header`
    /// against `parent_state` (the state it executes on): the check a block
    /// passes before it is accepted. A block by a miner with power must
    /// carry them, valid; a block by a miner without power must carry none
    /// (see [`crate::winning`]). `Execution` names what is wrong.
    pub fn validate_winning_post(
        &self,
        header: &BlockHeader,
        parent_state: &Cid,
    ) -> Result<(), ChainError> {
        let tree = self.state_tree(parent_state)?;
        let standing = winning::standing(&self.bs, &tree, &header.miner, header.height)?;
        winning::check(header, &standing).map_err(|why| {
            ChainError::Execution(format!(
                "block {} by {} rejected: {why}",
                header.height, header.miner
            ))
        })
    }

    /// Whether `addr` (an ID address) is a storage miner actor in `tree`.
    pub(super) fn is_storage_miner(
        &self,
        tree: &StateTree<DbBlockstore>,
        addr: &Address,
    ) -> Result<bool, ChainError> {
        let Some(actor) = actor_by_address(tree, addr)? else {
            return Ok(false);
        };
        let system = tree
            .get_actor(0)
            .fvm("read the system actor")?
            .context("no system actor")?;
        let (manifest_data,): (Cid,) = self
            .bs
            .get_cbor(&system.state)?
            .context("system actor state missing")?;
        let manifest = fvm::machine::Manifest::load(&self.bs, &manifest_data, 1)
            .context("load the actor manifest")?;
        Ok(manifest.id_by_code(&actor.code) == STORAGE_MINER_TYPE)
    }

    /// Produces the next block from the pool, executes it and makes it the head.
    ///
    /// Once the block miner has power it is elected (see [`crate::winning`]):
    /// the registered [`BlockProver`] makes the election proof and the
    /// WinningPoSt first, without the head lock (a warm 2 KiB WinningPoSt
    /// takes about 4 s on two cores; message pushes go on meanwhile), then
    /// signs the block under the lock, and the block is checked with
    /// [`Devnet::validate_winning_post`] before it is executed. A block
    /// whose proofs cannot be made or do not verify is produced without a
    /// winner (f00, no reward), with a warning.
    pub fn produce_block(&self) -> Result<TipSet, ChainError> {
        self.produce(true)
    }

    /// Produces the next block without an election: test-only fast-forward
    /// (Ferrite.ChainAdvance), for crossing proving periods without paying a
    /// WinningPoSt per epoch. A bootstrap block (the block miner has no
    /// power yet) is as [`Devnet::produce_block`] makes it; an epoch the
    /// miner would win gets a block without a winner (f00, no reward).
    pub fn produce_block_unelected(&self) -> Result<TipSet, ChainError> {
        self.produce(false)
    }

    /// Produces `n` blocks as [`Devnet::produce_block_unelected`] does, with
    /// no other block in between: the block producer's next elected block
    /// (and its WinningPoSt) waits until the run is over. `each` sees every
    /// block. Returns the last one.
    pub fn produce_blocks_unelected(
        &self,
        n: u64,
        mut each: impl FnMut(&TipSet),
    ) -> Result<TipSet, ChainError> {
        let _producing = lock(&self.producing);
        let mut last = self.head();
        for _ in 0..n {
            last = self.produce_held(false)?;
            each(&last);
        }
        Ok(last)
    }

    fn produce(&self, elect: bool) -> Result<TipSet, ChainError> {
        let _producing = lock(&self.producing);
        self.produce_held(elect)
    }

    /// One block; the caller holds `producing`.
    pub(super) fn produce_held(&self, elect: bool) -> Result<TipSet, ChainError> {
        // One block at a time. The head lock is taken only to read the head
        // and then to build, execute and publish the block, so that message
        // pushes and state reads are not held up while the WinningPoSt is
        // made (seconds on a small CPU). Only this function and
        // `submit_block` move the head, both under `producing`.
        let (parent_key, parent_state, height) = {
            let head = lock(&self.head);
            (
                head.tipset.key.clone(),
                head.exec_state,
                head.tipset.height() + 1,
            )
        };
        let tree = self.state_tree(&parent_state)?;
        let claim = match self.block_claim(&tree, height, elect)? {
            Claim::Elected(election, prover) => {
                match winning::prove_election(prover.as_ref(), &election) {
                    Ok(proofs) => Claim::Proven(election, prover, proofs),
                    Err(e) => {
                        warn!(
                            miner = %election.miner,
                            height,
                            "the block prover failed, producing a block without a winner: {e:#}"
                        );
                        Claim::Nobody
                    }
                }
            }
            other => other,
        };
        let mut head = lock(&self.head);
        if head.tipset.key != parent_key {
            return Err(ChainError::Internal(anyhow::anyhow!(
                "the head moved while block {height} was produced"
            )));
        }
        let parent = head.tipset.clone();
        let mut selected = head.mpool.select(BLOCK_GAS_LIMIT, |sender| {
            actor_by_address(&tree, sender)
                .ok()
                .flatten()
                .map(|a| a.sequence)
        });
        // Lotus orders a block's messages BLS first, then secp.
        selected.sort_by_key(|sm| sm.signature.sig_type != SigKind::BLS);
        let parent_block = parent
            .blocks
            .first()
            .ok_or_else(|| ChainError::NotFound("empty head tipset".to_string()))?;
        let receipts_root = self
            .store
            .get(&EXEC, &"head".to_string())?
            .context("head execution result missing")?
            .receipts_root;
        let parent_ticket = parent_block
            .ticket
            .as_ref()
            .map(|t| t.vrf_proof.clone())
            .unwrap_or_default();
        let (messages, bls_aggregate) = store_messages(&self.bs, &selected)?;
        let mut block = BlockHeader {
            miner: match &claim {
                Claim::Bootstrap(miner) => *miner,
                Claim::Nobody | Claim::Elected(..) | Claim::Proven(..) => Address::new_id(0),
            },
            ticket: Some(Ticket {
                vrf_proof: randomness::ticket(&parent_ticket, height).to_vec(),
            }),
            election_proof: None,
            beacon_entries: vec![BeaconEntry {
                round: u64::try_from(height).unwrap_or_default(),
                data: randomness::beacon_entry(height).to_vec(),
            }],
            win_post_proof: vec![],
            parents: parent.key.clone(),
            parent_weight: weight_after(&parent),
            height,
            parent_state_root: head.exec_state,
            parent_message_receipts: Cid::try_from(receipts_root.as_slice())
                .context("stored receipts root")?,
            messages,
            bls_aggregate,
            timestamp: now().max(parent_block.timestamp + 1),
            block_sig: None,
            fork_signaling: 0,
            parent_base_fee: self.vm.settings().base_fee.clone(),
        };
        let reward = match claim {
            Claim::Nobody => None,
            Claim::Bootstrap(miner) => Some(crate::vm::BlockReward {
                miner,
                win_count: winning::WIN_COUNT,
            }),
            // Not proven yet: `produce_block` proves every election above.
            Claim::Elected(..) => None,
            Claim::Proven(election, prover, proofs) => self.elected_block(
                &mut block,
                &election,
                prover.as_ref(),
                proofs,
                &parent_state,
            ),
        };
        let chain_msgs = chain_messages(&selected)?;
        let applied = match self.vm.apply(
            head.exec_state,
            height,
            block.timestamp,
            &chain_msgs,
            reward.as_ref(),
            DevnetExterns::new(self.lookup.clone(), parent.height()),
        ) {
            Ok(a) => a,
            Err(e) => {
                // A fatal VM error (not an actor failure, which is a receipt):
                // drop the selected messages, or every later block would fail
                // the same way and the chain would stall.
                let mut batch = self.store.batch();
                for sm in &selected {
                    head.mpool.remove(&sm.message.from, sm.message.sequence);
                    batch.delete(&MPOOL, &sm.cid()?.to_bytes());
                }
                self.store.commit(batch)?;
                self.publish(&head);
                return Err(ChainError::Execution(format!(
                    "block {height} failed to execute; its {} messages were dropped from the pool: {e:#}",
                    selected.len()
                )));
            }
        };
        self.make_head(&mut head, block, &selected, &applied)
    }

    /// Persists `block` (executed as `applied`, with `msgs`) and makes it
    /// the head: the pool drops what its senders' new nonces included.
    pub(super) fn make_head(
        &self,
        head: &mut Head,
        block: BlockHeader,
        msgs: &[SignedMessage],
        applied: &crate::vm::Applied,
    ) -> Result<TipSet, ChainError> {
        let ts = TipSet::single(block)?;
        persist(
            &self.store,
            &self.bs,
            &ts,
            msgs,
            applied.state_root,
            &applied.receipts,
        )?;
        let tree = self.state_tree(&applied.state_root)?;
        let mut batch = self.store.batch();
        for sender in head.mpool.senders() {
            if let Ok(Some(a)) = actor_by_address(&tree, &sender) {
                for sm in head.mpool.prune(&sender, a.sequence) {
                    batch.delete(&MPOOL, &sm.cid()?.to_bytes());
                }
            }
        }
        self.store.commit(batch)?;
        head.tipset = ts.clone();
        head.exec_state = applied.state_root;
        self.publish(head);
        Ok(ts)
    }

    /// Makes `block` the elected miner's, with its proofs and signature, if
    /// it then passes [`Devnet::validate_winning_post`]; its reward, or none
    /// (and `block` left without a winner).
    fn elected_block(
        &self,
        block: &mut BlockHeader,
        election: &Election,
        prover: &dyn BlockProver,
        proofs: ElectionProofs,
        parent_state: &Cid,
    ) -> Option<crate::vm::BlockReward> {
        let unproven = block.clone();
        let outcome = winning::sign_block(prover, election, proofs, block)
            .map_err(|e| ChainError::Internal(e.context("sign the block")))
            .and_then(|()| self.validate_winning_post(block, parent_state));
        match outcome {
            Ok(()) => Some(crate::vm::BlockReward {
                miner: election.miner,
                win_count: winning::WIN_COUNT,
            }),
            Err(e) => {
                warn!(
                    miner = %election.miner,
                    height = block.height,
                    "the elected block miner's block failed, producing one without a winner: {e:#}"
                );
                *block = unproven;
                None
            }
        }
    }
}

/// Who claims a block being produced.
enum Claim {
    /// No one: the block is by f00 and pays no reward.
    Nobody,
    /// The block miner, without power yet: credited and rewarded, no proofs.
    Bootstrap(Address),
    /// The block miner, elected: it must prove the block with the prover.
    Elected(Box<Election>, Arc<dyn BlockProver>),
    /// The block miner, elected, with its election proof and WinningPoSt.
    Proven(Box<Election>, Arc<dyn BlockProver>, ElectionProofs),
}

/// The weight of a block on `parent`: the devnet's chain weight is its
/// length (one block per epoch, no forks).
pub(super) fn weight_after(parent: &TipSet) -> BigInt {
    BigInt::from(parent.height() + 1)
}

pub(super) fn chain_messages(msgs: &[SignedMessage]) -> anyhow::Result<Vec<ChainMessage>> {
    msgs.iter()
        .map(|sm| {
            Ok(ChainMessage {
                message: sm.message.clone(),
                length: sm.chain_length()?,
            })
        })
        .collect()
}

/// Stores a block's messages and returns its TxMeta CID and BLS aggregate.
pub(super) fn store_messages(
    bs: &DbBlockstore,
    msgs: &[SignedMessage],
) -> anyhow::Result<(Cid, Option<fvm_shared::crypto::signature::Signature>)> {
    let mut bls = Vec::new();
    let mut secp = Vec::new();
    let mut sigs = Vec::new();
    for sm in msgs {
        let unsigned = bs.put_cbor(&sm.message, Code::Blake2b256)?;
        anyhow::ensure!(
            unsigned == message_cid(&sm.message)?,
            "message CID mismatch"
        );
        if sm.signature.sig_type == SigKind::BLS {
            bls.push(unsigned);
            use bls_signatures::Serialize as _;
            let sig = bls_signatures::Signature::from_bytes(sm.signature.bytes())
                .context("BLS signature")?;
            sigs.push(sig);
        } else {
            secp.push(bs.put_cbor(sm, Code::Blake2b256)?);
        }
    }
    let tx = TxMeta {
        bls_message_root: Amt::new_from_iter(bs.clone(), bls)?,
        secp_message_root: Amt::new_from_iter(bs.clone(), secp)?,
    };
    let aggregate = if sigs.is_empty() {
        None
    } else {
        use bls_signatures::Serialize as _;
        let agg = bls_signatures::aggregate(&sigs).context("aggregate BLS signatures")?;
        Some(fvm_shared::crypto::signature::Signature::new_bls(
            agg.as_bytes(),
        ))
    };
    Ok((bs.put_cbor(&tx, Code::Blake2b256)?, aggregate))
}
