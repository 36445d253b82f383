//! The `Chain` trait: what sealing, proving and the market need from a
//! chain, with two implementations, [`DevnetChain`] (the embedded devnet, in
//! process) and [`crate::rpc::client::LotusClient`] (any Lotus-compatible
//! node over JSON-RPC). Pipelines never know which one they have.

use std::sync::{Arc, Mutex};

use cid::Cid;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;

pub use fil_actors_shared::fvm_ipld_bitfield::BitField;
use fvm_shared::sector::{RegisteredSealProof, StoragePower};

use crate::ChainError;
use crate::devnet::{Devnet, RandomnessSource};
use crate::message::SignedMessage;
use crate::miner_view;
use crate::wallet::Wallet;

/// The head of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its epoch.
    pub height: ChainEpoch,
    /// Its tipset key.
    pub key: Vec<Cid>,
}

/// An actor's on-chain record.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorInfo {
    /// Its code.
    pub code: Cid,
    /// Its state root.
    pub state: Cid,
    /// Its nonce.
    pub nonce: u64,
    /// Its balance.
    pub balance: TokenAmount,
}

/// Where and how a message was executed.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The message (possibly a replacement's CID).
    pub message: Cid,
    /// Its receipt.
    pub receipt: Receipt,
    /// The epoch of the tipset whose parent state includes it.
    pub height: ChainEpoch,
}

/// A miner's fixed facts (Lotus's `StateMinerInfo`, in part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerSummary {
    /// The owner (an ID address).
    pub owner: Address,
    /// The worker (an ID address).
    pub worker: Address,
    /// The control addresses (ID addresses), which may pay for the miner's
    /// PoSt and commit messages.
    pub control: Vec<Address>,
    /// The sector size in bytes.
    pub sector_size: u64,
    /// Sectors per Window PoSt partition.
    pub window_post_partition_sectors: u64,
}

/// A precommitted sector (Lotus's `StateSectorPreCommitInfo`, in part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreCommitSummary {
    /// The sealed CID (CommR).
    pub sealed_cid: Cid,
    /// The epoch its ticket was drawn at.
    pub seal_rand_epoch: ChainEpoch,
    /// The expiration it was precommitted with.
    pub expiration: ChainEpoch,
    /// The epoch the precommit landed in; the interactive seed is drawn
    /// `pre_commit_challenge_delay` epochs later.
    pub precommit_epoch: ChainEpoch,
    /// The deposit it locked.
    pub deposit: TokenAmount,
}

/// A proven sector (Lotus's `StateSectorGetInfo`, in part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorSummary {
    /// The sealed CID (CommR).
    pub sealed_cid: Cid,
    /// The epoch it was activated.
    pub activation: ChainEpoch,
    /// Its expiration.
    pub expiration: ChainEpoch,
    /// The pledge it locks.
    pub initial_pledge: TokenAmount,
}

/// A proving deadline's window (Lotus's `dline.Info`, in part): the deadline
/// open at `current_epoch`, or the next one to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineWindow {
    /// The epoch the window was computed at.
    pub current_epoch: ChainEpoch,
    /// The first epoch of the proving period it belongs to.
    pub period_start: ChainEpoch,
    /// Its index in the proving period (0..48 on mainnet).
    pub index: u64,
    /// Its first epoch: proofs are accepted from here.
    pub open: ChainEpoch,
    /// The first epoch after it: proofs must land before.
    pub close: ChainEpoch,
    /// The epoch its challenge randomness is drawn at.
    pub challenge: ChainEpoch,
    /// The last epoch before which faults for it may be declared.
    pub fault_cutoff: ChainEpoch,
}

impl DeadlineWindow {
    /// Whether the window is open at `epoch`.
    pub fn is_open(&self, epoch: ChainEpoch) -> bool {
        epoch >= self.open && epoch < self.close
    }
}

/// One partition's sectors (Lotus's `api.Partition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSectors {
    /// Every sector in it, terminated ones included.
    pub all: BitField,
    /// Those declared or detected faulty.
    pub faulty: BitField,
    /// Faulty ones declared recovered and not yet proven.
    pub recovering: BitField,
    /// Those not terminated.
    pub live: BitField,
    /// Live, proven and not faulty.
    pub active: BitField,
}

/// One deadline's PoSt bookkeeping in the current period (Lotus's
/// `api.Deadline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineProofs {
    /// Partitions with a PoSt accepted in the current period.
    pub posted: BitField,
    /// Optimistically accepted proofs still open to dispute.
    pub disputable_proofs: u64,
}

/// A miner's power claim and the network's total.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PowerSummary {
    /// Its raw-byte power.
    pub raw: StoragePower,
    /// Its quality-adjusted power.
    pub quality_adjusted: StoragePower,
    /// The network's raw-byte power.
    pub total_raw: StoragePower,
    /// The network's quality-adjusted power.
    pub total_quality_adjusted: StoragePower,
}

/// A sector on chain, as a PoSt prover needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenSector {
    /// Its number.
    pub number: u64,
    /// The seal proof it was sealed with.
    pub seal_proof: RegisteredSealProof,
    /// Its CommR.
    pub sealed_cid: Cid,
    /// The epoch it was activated.
    pub activation: ChainEpoch,
    /// Its expiration.
    pub expiration: ChainEpoch,
}

/// A chain, embedded or remote.
#[async_trait::async_trait]
pub trait Chain: Send + Sync {
    /// The head.
    async fn head(&self) -> Result<Head, ChainError>;
    /// The network's name.
    async fn network_name(&self) -> Result<String, ChainError>;
    /// The actor at `addr` in the head's state, if any.
    async fn actor(&self, addr: &Address) -> Result<Option<ActorInfo>, ChainError>;
    /// The ID address of `addr`, if it has one.
    async fn lookup_id(&self, addr: &Address) -> Result<Option<Address>, ChainError>;
    /// The balance of `addr` (0 if it has no actor).
    async fn balance(&self, addr: &Address) -> Result<TokenAmount, ChainError>;
    /// Estimates gas, signs with the node's wallet and pushes `msg` (nonce 0
    /// means "the next one"); returns the signed message's CID.
    async fn send(&self, msg: Message) -> Result<Cid, ChainError>;
    /// Pushes a message signed elsewhere.
    async fn push_signed(&self, sm: SignedMessage) -> Result<Cid, ChainError>;
    /// Waits until `cid` is executed and `confidence` more epochs have passed.
    async fn wait(&self, cid: &Cid, confidence: i64) -> Result<Execution, ChainError>;
    /// Where `cid` was executed, if it was.
    async fn search(&self, cid: &Cid) -> Result<Option<Execution>, ChainError>;
    /// Runs `msg` read-only on the head's state.
    async fn call(&self, msg: Message) -> Result<Receipt, ChainError>;
    /// Randomness drawn from the chain's tickets.
    async fn ticket_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError>;
    /// Randomness drawn from the beacon.
    async fn beacon_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError>;
    /// The miner's fixed facts; `NotFound` if `miner` is not a miner.
    async fn miner_info(&self, miner: &Address) -> Result<MinerSummary, ChainError>;
    /// Sector `number` of `miner` while it is precommitted and not yet proven.
    async fn precommit(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<PreCommitSummary>, ChainError>;
    /// Sector `number` of `miner` once it is proven (until it is removed).
    async fn sector(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<SectorSummary>, ChainError>;
    /// The deadline open at the head, or the next one to open.
    async fn proving_deadline(&self, miner: &Address) -> Result<DeadlineWindow, ChainError>;
    /// Every deadline's PoSt bookkeeping, in index order.
    async fn deadlines(&self, miner: &Address) -> Result<Vec<DeadlineProofs>, ChainError>;
    /// Deadline `index`'s partitions, in index order.
    async fn partitions(
        &self,
        miner: &Address,
        index: u64,
    ) -> Result<Vec<PartitionSectors>, ChainError>;
    /// The on-chain records of the sectors in `numbers`; an error if one of
    /// them does not exist (as Lotus answers).
    async fn sectors(
        &self,
        miner: &Address,
        numbers: &BitField,
    ) -> Result<Vec<ProvenSector>, ChainError>;
    /// `miner`'s power and the network's.
    async fn miner_power(&self, miner: &Address) -> Result<PowerSummary, ChainError>;
}

/// The embedded devnet as a [`Chain`]: direct calls, no network.
#[derive(Debug, Clone)]
pub struct DevnetChain {
    devnet: Arc<Devnet>,
    wallet: Arc<Mutex<Wallet>>,
    heads: tokio::sync::watch::Receiver<i64>,
}

impl DevnetChain {
    /// The devnet, signing with `wallet`; `heads` follows the block producer.
    pub fn new(
        devnet: Arc<Devnet>,
        wallet: Arc<Mutex<Wallet>>,
        heads: tokio::sync::watch::Receiver<i64>,
    ) -> Self {
        Self {
            devnet,
            wallet,
            heads,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ChainError> + Send + 'static,
) -> Result<T, ChainError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ChainError::Internal(anyhow::anyhow!("chain task failed: {e}")))?
}

#[async_trait::async_trait]
impl Chain for DevnetChain {
    async fn head(&self) -> Result<Head, ChainError> {
        let ts = self.devnet.head();
        Ok(Head {
            height: ts.height(),
            key: ts.key,
        })
    }

    async fn network_name(&self) -> Result<String, ChainError> {
        Ok(self.devnet.network_name().to_string())
    }

    async fn actor(&self, addr: &Address) -> Result<Option<ActorInfo>, ChainError> {
        let (d, a) = (self.devnet.clone(), *addr);
        let actor = blocking(move || d.actor(&a, &[])).await?;
        Ok(actor.map(|a| ActorInfo {
            code: a.code,
            state: a.state,
            nonce: a.sequence,
            balance: a.balance,
        }))
    }

    async fn lookup_id(&self, addr: &Address) -> Result<Option<Address>, ChainError> {
        let (d, a) = (self.devnet.clone(), *addr);
        blocking(move || d.lookup_id(&a, &[])).await
    }

    async fn balance(&self, addr: &Address) -> Result<TokenAmount, ChainError> {
        Ok(self
            .actor(addr)
            .await?
            .map(|a| a.balance)
            .unwrap_or_default())
    }

    async fn send(&self, msg: Message) -> Result<Cid, ChainError> {
        let (d, w) = (self.devnet.clone(), self.wallet.clone());
        blocking(move || {
            let signer = d.account_key(&msg.from, &[])?;
            let msg = d.estimate_gas(msg, &TokenAmount::default())?;
            let key = {
                let w = w.lock().unwrap_or_else(|p| p.into_inner());
                w.key(&signer).cloned().ok_or_else(|| {
                    ChainError::NotFound(format!("no key for {signer} in the node's wallet"))
                })?
            };
            d.push_next(msg, &key)?.cid().map_err(ChainError::from)
        })
        .await
    }

    async fn push_signed(&self, sm: SignedMessage) -> Result<Cid, ChainError> {
        let d = self.devnet.clone();
        blocking(move || d.push(sm)).await
    }

    async fn wait(&self, cid: &Cid, confidence: i64) -> Result<Execution, ChainError> {
        let mut heads = self.heads.clone();
        loop {
            if let Some(e) = self.search(cid).await?
                && self.devnet.head().height() >= e.height + confidence.max(0)
            {
                return Ok(e);
            }
            heads
                .changed()
                .await
                .map_err(|_| ChainError::Unavailable("the block producer stopped".to_string()))?;
        }
    }

    async fn search(&self, cid: &Cid) -> Result<Option<Execution>, ChainError> {
        let (d, c) = (self.devnet.clone(), *cid);
        let found = blocking(move || d.search(&c)).await?;
        Ok(found.map(|l| Execution {
            message: l.message,
            height: l.tipset.height(),
            receipt: l.receipt,
        }))
    }

    async fn call(&self, mut msg: Message) -> Result<Receipt, ChainError> {
        if msg.gas_limit == 0 {
            msg.gas_limit = crate::vm::BLOCK_GAS_LIMIT;
        }
        let d = self.devnet.clone();
        Ok(blocking(move || d.call(msg, &[])).await?.msg_receipt)
    }

    async fn ticket_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        let (d, e) = (self.devnet.clone(), entropy.to_vec());
        blocking(move || d.randomness(RandomnessSource::Tickets, tag, round, &e)).await
    }

    async fn beacon_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        let (d, e) = (self.devnet.clone(), entropy.to_vec());
        blocking(move || d.randomness(RandomnessSource::Beacon, tag, round, &e)).await
    }

    async fn miner_info(&self, miner: &Address) -> Result<MinerSummary, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            let info = st
                .get_info(d.blockstore())
                .map_err(|e| ChainError::Internal(anyhow::anyhow!("miner {m} info: {e}")))?;
            Ok(MinerSummary {
                owner: info.owner,
                worker: info.worker,
                control: info.control_addresses.clone(),
                sector_size: info.sector_size as u64,
                window_post_partition_sectors: info.window_post_partition_sectors,
            })
        })
        .await
    }

    async fn precommit(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<PreCommitSummary>, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            let pre = st
                .get_precommitted_sector(d.blockstore(), number)
                .map_err(|e| ChainError::Internal(anyhow::anyhow!("miner {m} precommits: {e}")))?;
            Ok(pre.map(|p| PreCommitSummary {
                sealed_cid: p.info.sealed_cid,
                seal_rand_epoch: p.info.seal_rand_epoch,
                expiration: p.info.expiration,
                precommit_epoch: p.pre_commit_epoch,
                deposit: p.pre_commit_deposit,
            }))
        })
        .await
    }

    async fn sector(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<SectorSummary>, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            let sector = st
                .get_sector(d.blockstore(), number)
                .map_err(|e| ChainError::Internal(anyhow::anyhow!("miner {m} sectors: {e}")))?;
            Ok(sector.map(|s| SectorSummary {
                sealed_cid: s.sealed_cid,
                activation: s.activation,
                expiration: s.expiration,
                initial_pledge: s.initial_pledge,
            }))
        })
        .await
    }
    async fn proving_deadline(&self, miner: &Address) -> Result<DeadlineWindow, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            let policy = crate::rpc::state::devnet_policy();
            Ok(miner_view::proving_deadline(
                &st,
                &policy,
                d.head().height(),
            ))
        })
        .await
    }

    async fn deadlines(&self, miner: &Address) -> Result<Vec<DeadlineProofs>, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            miner_view::deadline_proofs(d.blockstore(), &st).map_err(view_err)
        })
        .await
    }

    async fn partitions(
        &self,
        miner: &Address,
        index: u64,
    ) -> Result<Vec<PartitionSectors>, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let st = miner_state(&d, &m)?;
            miner_view::partitions(d.blockstore(), &st, index).map_err(view_err)
        })
        .await
    }

    async fn sectors(
        &self,
        miner: &Address,
        numbers: &BitField,
    ) -> Result<Vec<ProvenSector>, ChainError> {
        let (d, m, n) = (self.devnet.clone(), *miner, numbers.clone());
        blocking(move || {
            let st = miner_state(&d, &m)?;
            miner_view::sectors(d.blockstore(), &st, &n).map_err(view_err)
        })
        .await
    }

    async fn miner_power(&self, miner: &Address) -> Result<PowerSummary, ChainError> {
        let (d, m) = (self.devnet.clone(), *miner);
        blocking(move || {
            let power = Address::new_id(crate::genesis::POWER_ACTOR);
            let st: fil_actor_power_state::v18::State = actor_state(&d, &power, "power actor")?;
            let id = d.lookup_id(&m, &[])?;
            miner_view::power(d.blockstore(), &st, id.as_ref()).map_err(view_err)
        })
        .await
    }
}

fn view_err(e: anyhow::Error) -> ChainError {
    ChainError::Internal(e)
}

/// The state of the actor at `addr` in the head's state, decoded as `S`;
/// `what` names the actor kind in errors.
fn actor_state<S: serde::de::DeserializeOwned>(
    d: &Devnet,
    addr: &Address,
    what: &str,
) -> Result<S, ChainError> {
    use fvm_ipld_encoding::CborStore;
    let actor = d
        .actor(addr, &[])?
        .ok_or_else(|| ChainError::NotFound(format!("actor not found: {addr}")))?;
    match d.blockstore().get_cbor(&actor.state) {
        Ok(Some(st)) => Ok(st),
        Ok(None) => Err(ChainError::Internal(anyhow::anyhow!(
            "{addr}'s state is missing"
        ))),
        // Another actor's state does not decode as this kind's.
        Err(e) => Err(ChainError::NotFound(format!(
            "{addr} is not a {what} ({e})"
        ))),
    }
}

/// The v18 state of the miner at `miner`, read from the head's state.
fn miner_state(
    d: &Devnet,
    miner: &Address,
) -> Result<fil_actor_miner_state::v18::State, ChainError> {
    actor_state(d, miner, "storage miner")
}
