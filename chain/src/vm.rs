//! The FVM, embedded: one engine pool for the process, one machine per epoch.
//!
//! [`Vm::apply`] executes a tipset's messages on its parent state, then the
//! epoch's implicit cron tick, and returns the new state root and the
//! receipts. [`Vm::call`] runs a message as an implicit, read-only call on a
//! state (StateCall). Execution runs on the FVM's own 64 MiB-stack threads
//! (`ThreadedExecutor`); callers on the async runtime go through
//! `spawn_blocking`.

use anyhow::Context;
use cid::Cid;
use fvm::call_manager::DefaultCallManager;
use fvm::engine::EnginePool;
use fvm::executor::{ApplyKind, ApplyRet, DefaultExecutor, Executor, ThreadedExecutor};
use fvm::kernel::filecoin::DefaultFilecoinKernel;
use fvm::machine::{DefaultMachine, NetworkConfig};
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::chainid::ChainID;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::version::NetworkVersion;

use crate::blockstore::DbBlockstore;
use crate::externs::DevnetExterns;

/// The most gas one block may use, as on mainnet.
pub const BLOCK_GAS_LIMIT: u64 = 10_000_000_000;
/// The cron actor.
pub const CRON_ACTOR: u64 = 3;
/// Cron's `EpochTick` method.
pub const CRON_TICK_METHOD: u64 = 2;

type Machine = DefaultMachine<DbBlockstore, DevnetExterns>;
type Exec = ThreadedExecutor<DefaultExecutor<DefaultFilecoinKernel<DefaultCallManager<Machine>>>>;

/// The reward actor.
pub const REWARD_ACTOR: u64 = 2;
/// Reward's `AwardBlockReward`.
pub const AWARD_BLOCK_REWARD_METHOD: u64 = 2;

/// Who is paid for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReward {
    /// The block's miner (a storage miner actor).
    pub miner: Address,
    /// How many times it won the election this epoch.
    pub win_count: i64,
}

/// Reward's `AwardBlockReward` parameters (builtin-actors v18).
#[derive(serde_tuple::Serialize_tuple)]
struct AwardBlockRewardParams {
    miner: Address,
    penalty: TokenAmount,
    gas_reward: TokenAmount,
    win_count: i64,
}

/// An implicit message from the system actor (constructors, the cron tick).
pub fn implicit(to: Address, method_num: u64, params: RawBytes, sequence: u64) -> Message {
    Message {
        version: 0,
        from: Address::new_id(0),
        to,
        sequence,
        value: TokenAmount::default(),
        method_num,
        params,
        gas_limit: BLOCK_GAS_LIMIT * 10_000,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
    }
}

/// Network-wide settings of the embedded VM.
#[derive(Debug, Clone)]
pub struct VmSettings {
    /// The network version the actors run under.
    pub network_version: NetworkVersion,
    /// The chain id (EIP-155), for the EVM-facing syscalls.
    pub chain_id: u64,
    /// The base fee every message pays; fixed on the devnet.
    pub base_fee: TokenAmount,
    /// The circulating supply the actors see.
    pub circulating_supply: TokenAmount,
}

/// A message as a block carries it: the message and its encoded length,
/// which the FVM charges inclusion gas for.
#[derive(Debug, Clone)]
pub struct ChainMessage {
    /// The message.
    pub message: Message,
    /// Its length on chain (signed for secp, unsigned for BLS).
    pub length: usize,
}

/// The result of applying one epoch.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The state after the messages and the cron tick.
    pub state_root: Cid,
    /// One receipt per message, in order.
    pub receipts: Vec<Receipt>,
}

/// The embedded FVM.
pub struct Vm {
    engine: EnginePool,
    network: NetworkConfig,
    settings: VmSettings,
    bs: DbBlockstore,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Vm {
    /// A VM over `bs`. Compiling the bundle's actors happens on the first machine.
    pub fn new(bs: DbBlockstore, settings: VmSettings) -> anyhow::Result<Self> {
        let mut network = NetworkConfig::new(settings.network_version);
        network.chain_id(ChainID::from(settings.chain_id));
        let engine = EnginePool::new((&network).into()).context("start the wasm engine")?;
        Ok(Self {
            engine,
            network,
            settings,
            bs,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &VmSettings {
        &self.settings
    }

    fn executor(
        &self,
        epoch: ChainEpoch,
        timestamp: u64,
        state: Cid,
        externs: DevnetExterns,
    ) -> anyhow::Result<Exec> {
        self.executor_traced(epoch, timestamp, state, externs, false)
    }

    fn executor_traced(
        &self,
        epoch: ChainEpoch,
        timestamp: u64,
        state: Cid,
        externs: DevnetExterns,
        trace: bool,
    ) -> anyhow::Result<Exec> {
        let mut mc = self.network.for_epoch(epoch, timestamp, state);
        if trace {
            // Each gas charge, call and return lands in the ApplyRet's
            // exec_trace.
            mc.enable_tracing();
        }
        mc.set_base_fee(self.settings.base_fee.clone());
        mc.set_circulating_supply(self.settings.circulating_supply.clone());
        let machine = Machine::new(&mc, self.bs.clone(), externs).context("create machine")?;
        Ok(ThreadedExecutor(
            DefaultExecutor::new(self.engine.clone(), machine).context("create executor")?,
        ))
    }

    /// Executes `messages` at `epoch` on `state`, then (with `reward`) the
    /// block reward, then the cron tick, in Lotus's order.
    pub fn apply(
        &self,
        state: Cid,
        epoch: ChainEpoch,
        timestamp: u64,
        messages: &[ChainMessage],
        reward: Option<&BlockReward>,
        externs: DevnetExterns,
    ) -> anyhow::Result<Applied> {
        let mut exec = self.executor(epoch, timestamp, state, externs)?;
        let mut receipts = Vec::with_capacity(messages.len());
        let mut gas_reward = TokenAmount::default();
        let mut penalty = TokenAmount::default();
        for m in messages {
            let ret = exec
                .execute_message(m.message.clone(), ApplyKind::Explicit, m.length)
                .context("execute message")?;
            gas_reward += &ret.miner_tip;
            penalty += &ret.penalty;
            receipts.push(ret.msg_receipt);
        }
        if let Some(reward) = reward {
            // As Lotus does: the block's miner is paid the epoch's block
            // reward and the tips of its messages, less the gas penalties its
            // messages incurred; a failure makes the block invalid.
            let params = AwardBlockRewardParams {
                miner: reward.miner,
                penalty,
                gas_reward,
                win_count: reward.win_count,
            };
            let award = implicit(
                Address::new_id(REWARD_ACTOR),
                AWARD_BLOCK_REWARD_METHOD,
                RawBytes::serialize(&params).context("encode block reward")?,
                u64::try_from(epoch).unwrap_or_default(),
            );
            let ret = exec
                .execute_message(award, ApplyKind::Implicit, 0)
                .context("block reward")?;
            if !ret.msg_receipt.exit_code.is_success() {
                anyhow::bail!(
                    "block reward at epoch {epoch} failed with exit code {}: {:?}",
                    ret.msg_receipt.exit_code,
                    ret.failure_info
                );
            }
        }
        let tick = implicit(
            Address::new_id(CRON_ACTOR),
            CRON_TICK_METHOD,
            RawBytes::default(),
            u64::try_from(epoch).unwrap_or_default(),
        );
        let ret = exec
            .execute_message(tick, ApplyKind::Implicit, 0)
            .context("cron tick")?;
        if !ret.msg_receipt.exit_code.is_success() {
            anyhow::bail!(
                "cron tick at epoch {epoch} failed with exit code {}: {:?}",
                ret.msg_receipt.exit_code,
                ret.failure_info
            );
        }
        let state_root = exec.flush().context("flush state")?;
        Ok(Applied {
            state_root,
            receipts,
        })
    }

    /// Runs `msg` as an implicit message on `state` and returns the result
    /// without keeping any state change.
    pub fn call(
        &self,
        state: Cid,
        epoch: ChainEpoch,
        timestamp: u64,
        msg: Message,
        externs: DevnetExterns,
    ) -> anyhow::Result<ApplyRet> {
        let mut exec = self.executor(epoch, timestamp, state, externs)?;
        exec.execute_message(msg, ApplyKind::Implicit, 0)
            .context("execute call")
    }

    /// Runs `msg` as an explicit message of `length` bytes on `state` (its
    /// sender's checks and gas charged, as in a block) and returns the
    /// result without keeping any state change.
    pub fn call_explicit(
        &self,
        state: Cid,
        epoch: ChainEpoch,
        timestamp: u64,
        msg: ChainMessage,
        externs: DevnetExterns,
    ) -> anyhow::Result<ApplyRet> {
        let mut exec = self.executor(epoch, timestamp, state, externs)?;
        exec.execute_message(msg.message, ApplyKind::Explicit, msg.length)
            .context("execute call")
    }

    /// Re-executes `messages` at `epoch` on `state` and returns each one's
    /// full result.
    pub fn replay_all(
        &self,
        state: Cid,
        epoch: ChainEpoch,
        timestamp: u64,
        messages: &[ChainMessage],
        externs: DevnetExterns,
    ) -> anyhow::Result<Vec<ApplyRet>> {
        self.replay_all_traced(state, epoch, timestamp, messages, externs, false)
    }

    /// [`Vm::replay_all`], with each result's execution trace (its gas
    /// charges, calls and returns) kept when `trace` is set.
    pub fn replay_all_traced(
        &self,
        state: Cid,
        epoch: ChainEpoch,
        timestamp: u64,
        messages: &[ChainMessage],
        externs: DevnetExterns,
        trace: bool,
    ) -> anyhow::Result<Vec<ApplyRet>> {
        let mut exec = self.executor_traced(epoch, timestamp, state, externs, trace)?;
        messages
            .iter()
            .map(|m| {
                exec.execute_message(m.message.clone(), ApplyKind::Explicit, m.length)
                    .context("execute message")
            })
            .collect()
    }

    /// Executes implicit messages from the system actor and keeps the result
    /// (genesis constructors).
    pub fn apply_implicit(
        &self,
        state: Cid,
        messages: Vec<Message>,
        externs: DevnetExterns,
    ) -> anyhow::Result<Cid> {
        let mut exec = self.executor(0, 0, state, externs)?;
        for m in messages {
            let to = m.to;
            let ret = exec
                .execute_message(m, ApplyKind::Implicit, 0)
                .with_context(|| format!("construct {to}"))?;
            if !ret.msg_receipt.exit_code.is_success() {
                anyhow::bail!(
                    "constructor of {to} failed with exit code {}: {:?}",
                    ret.msg_receipt.exit_code,
                    ret.failure_info
                );
            }
        }
        exec.flush().context("flush state")
    }
}
