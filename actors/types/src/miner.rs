//! The miner actor's wire types in builtin-actors v18's layout: its method
//! numbers (numbered and FRC-42 exported), the parameters and return values
//! of its methods, the cron payloads it enrolls with the power actor, and
//! the plain records it keeps on chain (its [`MinerInfo`], pre-committed and
//! committed sector records, the beneficiary terms and [`PowerPair`]).
//!
//! The bookkeeping structures with logic (partitions, deadlines, expiration
//! queues, vesting, the state root) live in the miner actor crate's `state`
//! module; their layout is v18's as well.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use cid::Cid;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{BytesDe, RawBytes, strict_bytes};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::bigint::{BigInt, bigint_ser};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;
use fvm_shared::piece::PaddedPieceSize;
use fvm_shared::randomness::Randomness;
use fvm_shared::sector::{
    PoStProof, RegisteredAggregateProof, RegisteredPoStProof, RegisteredSealProof, SectorNumber,
    SectorSize, StoragePower,
};
use num_traits::Zero;
use serde::{Deserialize, Serialize};

use crate::smooth::FilterEstimate;

/// The miner's method numbers (v18), numbered and FRC-42 exported.
pub mod method {
    /// Constructor (caller: init).
    pub const CONSTRUCTOR: u64 = 1;
    /// ControlAddresses.
    pub const CONTROL_ADDRESSES: u64 = 2;
    /// ChangeWorkerAddress.
    pub const CHANGE_WORKER_ADDRESS: u64 = 3;
    /// ChangePeerID.
    pub const CHANGE_PEER_ID: u64 = 4;
    /// SubmitWindowedPoSt.
    pub const SUBMIT_WINDOWED_POST: u64 = 5;
    /// TerminateSectors.
    pub const TERMINATE_SECTORS: u64 = 9;
    /// DeclareFaults.
    pub const DECLARE_FAULTS: u64 = 10;
    /// DeclareFaultsRecovered.
    pub const DECLARE_FAULTS_RECOVERED: u64 = 11;
    /// OnDeferredCronEvent (caller: power).
    pub const ON_DEFERRED_CRON_EVENT: u64 = 12;
    /// CheckSectorProven.
    pub const CHECK_SECTOR_PROVEN: u64 = 13;
    /// ApplyRewards (caller: reward).
    pub const APPLY_REWARDS: u64 = 14;
    /// ReportConsensusFault.
    pub const REPORT_CONSENSUS_FAULT: u64 = 15;
    /// WithdrawBalance.
    pub const WITHDRAW_BALANCE: u64 = 16;
    /// InternalSectorSetupForPreseal (caller: system).
    pub const INTERNAL_SECTOR_SETUP_FOR_PRESEAL: u64 = 17;
    /// ChangeMultiaddrs.
    pub const CHANGE_MULTIADDRS: u64 = 18;
    /// CompactPartitions.
    pub const COMPACT_PARTITIONS: u64 = 19;
    /// CompactSectorNumbers.
    pub const COMPACT_SECTOR_NUMBERS: u64 = 20;
    /// ConfirmChangeWorkerAddress.
    pub const CONFIRM_CHANGE_WORKER_ADDRESS: u64 = 21;
    /// RepayDebt.
    pub const REPAY_DEBT: u64 = 22;
    /// ChangeOwnerAddress.
    pub const CHANGE_OWNER_ADDRESS: u64 = 23;
    /// DisputeWindowedPoSt.
    pub const DISPUTE_WINDOWED_POST: u64 = 24;
    /// PreCommitSectorBatch2.
    pub const PRE_COMMIT_SECTOR_BATCH2: u64 = 28;
    /// ChangeBeneficiary.
    pub const CHANGE_BENEFICIARY: u64 = 30;
    /// GetBeneficiary.
    pub const GET_BENEFICIARY: u64 = 31;
    /// ExtendSectorExpiration2.
    pub const EXTEND_SECTOR_EXPIRATION2: u64 = 32;
    /// ProveCommitSectors3.
    pub const PROVE_COMMIT_SECTORS3: u64 = 34;
    /// ProveReplicaUpdates3.
    pub const PROVE_REPLICA_UPDATES3: u64 = 35;
    /// ProveCommitSectorsNI.
    pub const PROVE_COMMIT_SECTORS_NI: u64 = 36;

    /// FRC-42 `ChangeWorkerAddress`.
    pub const CHANGE_WORKER_ADDRESS_EXPORTED: u64 = 3302309124;
    /// FRC-42 `ChangePeerID`.
    pub const CHANGE_PEER_ID_EXPORTED: u64 = 1236548004;
    /// FRC-42 `WithdrawBalance`.
    pub const WITHDRAW_BALANCE_EXPORTED: u64 = 2280458852;
    /// FRC-42 `ChangeMultiaddrs`.
    pub const CHANGE_MULTIADDRS_EXPORTED: u64 = 1063480576;
    /// FRC-42 `ConfirmChangeWorkerAddress`.
    pub const CONFIRM_CHANGE_WORKER_ADDRESS_EXPORTED: u64 = 2354970453;
    /// FRC-42 `RepayDebt`.
    pub const REPAY_DEBT_EXPORTED: u64 = 3665352697;
    /// FRC-42 `ChangeOwnerAddress`.
    pub const CHANGE_OWNER_ADDRESS_EXPORTED: u64 = 1010589339;
    /// FRC-42 `ChangeBeneficiary`.
    pub const CHANGE_BENEFICIARY_EXPORTED: u64 = 1570634796;
    /// FRC-42 `GetBeneficiary`.
    pub const GET_BENEFICIARY_EXPORTED: u64 = 4158972569;
    /// FRC-42 `GetOwner`.
    pub const GET_OWNER_EXPORTED: u64 = 3275365574;
    /// FRC-42 `IsControllingAddress`.
    pub const IS_CONTROLLING_ADDRESS_EXPORTED: u64 = 348244887;
    /// FRC-42 `GetSectorSize`.
    pub const GET_SECTOR_SIZE_EXPORTED: u64 = 3858292296;
    /// FRC-42 `GetAvailableBalance`.
    pub const GET_AVAILABLE_BALANCE_EXPORTED: u64 = 4026106874;
    /// FRC-42 `GetVestingFunds`.
    pub const GET_VESTING_FUNDS_EXPORTED: u64 = 1726876304;
    /// FRC-42 `GetPeerID`.
    pub const GET_PEER_ID_EXPORTED: u64 = 2812875329;
    /// FRC-42 `GetMultiaddrs`.
    pub const GET_MULTIADDRS_EXPORTED: u64 = 1332909407;
    /// FRC-42 `MaxTerminationFee`.
    pub const MAX_TERMINATION_FEE_EXPORTED: u64 = 4127382196;
    /// FRC-42 `InitialPledge`.
    pub const INITIAL_PLEDGE_EXPORTED: u64 = 3180523767;
    /// FRC-42 `GenerateSectorLocation`.
    pub const GENERATE_SECTOR_LOCATION_EXPORTED: u64 = 1321604665;
    /// FRC-42 `ValidateSectorStatus`.
    pub const VALIDATE_SECTOR_STATUS_EXPORTED: u64 = 3092458564;
    /// FRC-42 `GetNominalSectorExpiration`.
    pub const GET_NOMINAL_SECTOR_EXPIRATION_EXPORTED: u64 = 3010055991;

    /// FRC-42 `SectorContentChanged`: what the miner calls on data
    /// consumers (the market) when pieces are activated in a sector.
    pub const SECTOR_CONTENT_CHANGED: u64 = 2034386435;
}

/// Exit codes of the miner beyond the common ones (v18).
pub mod exit {
    use fvm_shared::error::ExitCode;
    /// The actor's balance does not cover its locked funds.
    pub const ERR_BALANCE_INVARIANTS_BROKEN: ExitCode = ExitCode::new(1000);
    /// A data-activation notification could not be sent.
    pub const ERR_NOTIFICATION_SEND_FAILED: ExitCode = ExitCode::new(1001);
    /// The notified actor aborted.
    pub const ERR_NOTIFICATION_RECEIVER_ABORTED: ExitCode = ExitCode::new(1002);
    /// The notified actor answered something we cannot read.
    pub const ERR_NOTIFICATION_RESPONSE_INVALID: ExitCode = ExitCode::new(1003);
    /// The notified actor rejected a piece.
    pub const ERR_NOTIFICATION_REJECTED: ExitCode = ExitCode::new(1004);
}

/// The kind of a deferred cron event (the payload the miner enrolls).
pub type CronEvent = i64;
/// Cron event: a pending worker key change becomes effective.
pub const CRON_EVENT_WORKER_KEY_CHANGE: CronEvent = 0;
/// Cron event: the end of a proving deadline.
pub const CRON_EVENT_PROVING_DEADLINE: CronEvent = 1;
/// Cron event: continue processing early terminations.
pub const CRON_EVENT_PROCESS_EARLY_TERMINATIONS: CronEvent = 2;

/// A deal's weight (size × duration), a big integer.
pub type DealWeight = BigInt;
/// A verified-registry allocation id.
pub type AllocationID = u64;
/// A verified-registry claim id.
pub type ClaimID = u64;

// ---------------------------------------------------------------------------
// Method parameters and return values.

/// Constructor parameters (sent by power through init's Exec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MinerConstructorParams {
    /// The owner address.
    pub owner: Address,
    /// The worker address (must resolve to a BLS account).
    pub worker: Address,
    /// Extra control addresses.
    pub control_addresses: Vec<Address>,
    /// The Window PoSt proof type.
    pub window_post_proof_type: RegisteredPoStProof,
    /// The libp2p peer id.
    #[serde(with = "strict_bytes")]
    pub peer_id: Vec<u8>,
    /// Multiaddresses.
    pub multi_addresses: Vec<BytesDe>,
}

/// The payload of a deferred cron event, `[event_type]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CronEventPayload {
    /// One of the `CRON_EVENT_*` kinds.
    pub event_type: CronEvent,
}

/// ControlAddresses' return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ControlAddressesReturn {
    /// The owner.
    pub owner: Address,
    /// The worker.
    pub worker: Address,
    /// The control addresses.
    pub control_addresses: Vec<Address>,
}

/// v18's name for [`ControlAddressesReturn`].
pub type GetControlAddressesReturn = ControlAddressesReturn;

/// ChangeWorkerAddress' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ChangeWorkerAddressParams {
    /// The new worker.
    pub new_worker: Address,
    /// The new control addresses (replacing the old ones).
    pub new_control_addresses: Vec<Address>,
}

/// ChangeOwnerAddress' parameter (transparent address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeOwnerAddressParams {
    /// The proposed (or confirmed) new owner.
    pub new_owner: Address,
}

/// ChangePeerID's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ChangePeerIDParams {
    /// The new peer id.
    #[serde(with = "strict_bytes")]
    pub new_id: Vec<u8>,
}

/// ChangeMultiaddrs' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ChangeMultiaddrsParams {
    /// The new multiaddresses.
    pub new_multi_addrs: Vec<BytesDe>,
}

/// InternalSectorSetupForPreseal's parameters (genesis only).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct InternalSectorSetupForPresealParams {
    /// The pre-committed preseal sectors to activate.
    pub sectors: Vec<SectorNumber>,
    /// The reward actor's smoothed reward estimate.
    pub reward_smoothed: FilterEstimate,
    /// The reward actor's baseline power.
    #[serde(with = "bigint_ser")]
    pub reward_baseline_power: StoragePower,
    /// The power actor's smoothed QA power estimate.
    pub quality_adj_power_smoothed: FilterEstimate,
}

/// OnDeferredCronEvent's parameters (sent by power).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct DeferredCronEventParams {
    /// The CBOR of a [`CronEventPayload`].
    #[serde(with = "strict_bytes")]
    pub event_payload: Vec<u8>,
    /// The reward actor's smoothed reward estimate.
    pub reward_smoothed: FilterEstimate,
    /// The power actor's smoothed QA power estimate.
    pub quality_adj_power_smoothed: FilterEstimate,
}

/// A partition proven by a Window PoSt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PoStPartition {
    /// The partition's index in the deadline.
    pub index: u64,
    /// Sectors skipped (declared faulty) by this proof.
    pub skipped: BitField,
}

/// SubmitWindowedPoSt's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SubmitWindowedPoStParams {
    /// The deadline index.
    pub deadline: u64,
    /// The partitions proven.
    pub partitions: Vec<PoStPartition>,
    /// The proofs (one).
    pub proofs: Vec<PoStProof>,
    /// The epoch of the chain commitment.
    pub chain_commit_epoch: ChainEpoch,
    /// The ticket randomness at that epoch.
    pub chain_commit_rand: Randomness,
}

/// CheckSectorProven's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CheckSectorProvenParams {
    /// The sector.
    pub sector_number: SectorNumber,
}

/// A sector to activate and the pieces it holds (ProveCommitSectors3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorActivationManifest {
    /// The pre-committed sector.
    pub sector_number: SectorNumber,
    /// Its pieces, in order.
    pub pieces: Vec<PieceActivationManifest>,
}

/// A piece of an activated sector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PieceActivationManifest {
    /// The piece CID (CommP).
    pub cid: Cid,
    /// The padded size.
    pub size: PaddedPieceSize,
    /// The verified allocation it claims, if any.
    pub verified_allocation_key: Option<VerifiedAllocationKey>,
    /// Actors to notify of the activation (e.g. the market, with a deal id).
    pub notify: Vec<DataActivationNotification>,
}

/// A verified-registry allocation, by client and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct VerifiedAllocationKey {
    /// The client's actor id.
    pub client: ActorID,
    /// The allocation id.
    pub id: AllocationID,
}

/// A notification to send when a piece is activated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DataActivationNotification {
    /// The actor to notify.
    pub address: Address,
    /// Opaque payload (the market expects the CBOR of a deal id).
    pub payload: RawBytes,
}

/// ProveCommitSectors3's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ProveCommitSectors3Params {
    /// The sectors to activate.
    pub sector_activations: Vec<SectorActivationManifest>,
    /// One seal proof per sector (empty when aggregated).
    pub sector_proofs: Vec<RawBytes>,
    /// The aggregate proof (empty when not aggregated).
    pub aggregate_proof: RawBytes,
    /// The aggregate proof type, if aggregated.
    pub aggregate_proof_type: Option<RegisteredAggregateProof>,
    /// Abort if any sector fails to activate.
    pub require_activation_success: bool,
    /// Abort if any notification fails or is rejected.
    pub require_notification_success: bool,
}

// ProveCommitSectors3 (and the NI and replica-update methods) return
// `crate::market::BatchReturn` directly: v18's `ProveCommitSectors3Return`
// is a transparent wrapper around it, so the wire form is the same.

/// One NI-PoRep sector (ProveCommitSectorsNI; Ferrite does not implement
/// the method, the type is here for decoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorNIActivationInfo {
    /// The sector number used to generate the replica id.
    pub sealing_number: SectorNumber,
    /// The sealer's actor id (must be the miner).
    pub sealer_id: ActorID,
    /// CommR.
    pub sealed_cid: Cid,
    /// The sector number in state.
    pub sector_number: SectorNumber,
    /// The seal randomness epoch.
    pub seal_rand_epoch: ChainEpoch,
    /// The expiration.
    pub expiration: ChainEpoch,
}

/// ProveCommitSectorsNI's parameters (not implemented by Ferrite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ProveCommitSectorsNIParams {
    /// The sectors.
    pub sectors: Vec<SectorNIActivationInfo>,
    /// The aggregate proof.
    pub aggregate_proof: RawBytes,
    /// The (NI) seal proof type.
    pub seal_proof_type: RegisteredSealProof,
    /// The aggregate proof type.
    pub aggregate_proof_type: RegisteredAggregateProof,
    /// The deadline to assign the sectors to.
    pub proving_deadline: u64,
    /// Abort if any sector fails.
    pub require_activation_success: bool,
}

/// A sector update (ProveReplicaUpdates3): a CC sector's new replica and
/// the pieces now in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorUpdateManifest {
    /// The sector.
    pub sector: SectorNumber,
    /// Its deadline.
    pub deadline: u64,
    /// Its partition.
    pub partition: u64,
    /// The new CommR.
    pub new_sealed_cid: Cid,
    /// The pieces.
    pub pieces: Vec<PieceActivationManifest>,
}

/// ProveReplicaUpdates3's parameters; it returns a [`crate::market::BatchReturn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ProveReplicaUpdates3Params {
    /// The updates.
    pub sector_updates: Vec<SectorUpdateManifest>,
    /// One proof per update.
    pub sector_proofs: Vec<RawBytes>,
    /// The aggregate proof.
    pub aggregate_proof: RawBytes,
    /// The update proof type (an integer, `RegisteredUpdateProof`).
    pub update_proofs_type: i64,
    /// The aggregate proof type.
    pub aggregate_proof_type: Option<RegisteredAggregateProof>,
    /// Abort if any update fails.
    pub require_activation_success: bool,
    /// Abort if any notification fails.
    pub require_notification_success: bool,
}

/// ExtendSectorExpiration2's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ExtendSectorExpiration2Params {
    /// The extensions, by partition.
    pub extensions: Vec<ExpirationExtension2>,
}

/// Verified claims of a sector whose expiration is extended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorClaim {
    /// The sector.
    pub sector_number: SectorNumber,
    /// Claims to keep (their terms must cover the new expiration).
    pub maintain_claims: Vec<ClaimID>,
    /// Claims to drop.
    pub drop_claims: Vec<ClaimID>,
}

/// An expiration extension of sectors in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ExpirationExtension2 {
    /// The deadline.
    pub deadline: u64,
    /// The partition.
    pub partition: u64,
    /// Sectors without verified claims.
    pub sectors: BitField,
    /// Sectors with verified claims.
    pub sectors_with_claims: Vec<SectorClaim>,
    /// The new expiration.
    pub new_expiration: ChainEpoch,
}

/// TerminateSectors' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TerminateSectorsParams {
    /// The sectors to terminate, by partition.
    pub terminations: Vec<TerminationDeclaration>,
}

/// Sectors of one partition to terminate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TerminationDeclaration {
    /// The deadline.
    pub deadline: u64,
    /// The partition.
    pub partition: u64,
    /// The sectors.
    pub sectors: BitField,
}

/// TerminateSectors' return value, `[done]` (a 1-tuple, not transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TerminateSectorsReturn {
    /// Whether all early terminations were processed.
    pub done: bool,
}

/// DeclareFaults' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DeclareFaultsParams {
    /// The faults, by partition.
    pub faults: Vec<FaultDeclaration>,
}

/// Sectors of one partition declared faulty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct FaultDeclaration {
    /// The deadline.
    pub deadline: u64,
    /// The partition.
    pub partition: u64,
    /// The sectors.
    pub sectors: BitField,
}

/// DeclareFaultsRecovered's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DeclareFaultsRecoveredParams {
    /// The recoveries, by partition.
    pub recoveries: Vec<RecoveryDeclaration>,
}

/// Faulty sectors of one partition declared recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct RecoveryDeclaration {
    /// The deadline.
    pub deadline: u64,
    /// The partition.
    pub partition: u64,
    /// The sectors.
    pub sectors: BitField,
}

/// CompactPartitions' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CompactPartitionsParams {
    /// The deadline.
    pub deadline: u64,
    /// The partitions to compact.
    pub partitions: BitField,
}

/// CompactSectorNumbers' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CompactSectorNumbersParams {
    /// Sector numbers to mark allocated.
    pub mask_sector_numbers: BitField,
}

/// ReportConsensusFault's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ReportConsensusFaultParams {
    /// The first block header.
    #[serde(with = "strict_bytes")]
    pub header1: Vec<u8>,
    /// The second block header.
    #[serde(with = "strict_bytes")]
    pub header2: Vec<u8>,
    /// Extra evidence.
    #[serde(with = "strict_bytes")]
    pub header_extra: Vec<u8>,
}

/// WithdrawBalance's parameters, `[amount_requested]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct WithdrawBalanceParams {
    /// The amount requested.
    pub amount_requested: TokenAmount,
}

/// WithdrawBalance's return value (transparent amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WithdrawBalanceReturn {
    /// The amount withdrawn.
    pub amount_withdrawn: TokenAmount,
}

/// ApplyRewards' parameters (sent by reward with the reward as value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ApplyRewardParams {
    /// The block reward.
    pub reward: TokenAmount,
    /// The penalty to charge.
    pub penalty: TokenAmount,
}

/// The name the brief uses for [`ApplyRewardParams`].
pub type ApplyRewardsParams = ApplyRewardParams;

/// DisputeWindowedPoSt's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DisputeWindowedPoStParams {
    /// The deadline.
    pub deadline: u64,
    /// The index of the optimistically accepted proof.
    pub post_index: u64,
}

/// PreCommitSectorBatch2's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PreCommitSectorBatchParams2 {
    /// The sectors.
    pub sectors: Vec<SectorPreCommitInfo>,
}

/// ChangeBeneficiary's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ChangeBeneficiaryParams {
    /// The proposed beneficiary.
    pub new_beneficiary: Address,
    /// Its quota.
    pub new_quota: TokenAmount,
    /// Its expiration.
    pub new_expiration: ChainEpoch,
}

/// The current beneficiary and its term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ActiveBeneficiary {
    /// The beneficiary.
    pub beneficiary: Address,
    /// Its term.
    pub term: BeneficiaryTerm,
}

/// GetBeneficiary's return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetBeneficiaryReturn {
    /// The active beneficiary.
    pub active: ActiveBeneficiary,
    /// A proposed change, if any.
    pub proposed: Option<PendingBeneficiaryChange>,
}

/// GetOwner's return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetOwnerReturn {
    /// The owner.
    pub owner: Address,
    /// A proposed new owner, if any.
    pub proposed: Option<Address>,
}

/// IsControllingAddress' parameter (transparent address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IsControllingAddressParam {
    /// The address to check.
    pub address: Address,
}

/// IsControllingAddress' return value (transparent bool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IsControllingAddressReturn {
    /// Whether it is the owner, worker or a control address.
    pub is_controlling: bool,
}

/// GetSectorSize's return value (transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetSectorSizeReturn {
    /// The sector size.
    pub sector_size: SectorSize,
}

/// GetAvailableBalance's return value (transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetAvailableBalanceReturn {
    /// The balance not locked, deposited or owed.
    pub available_balance: TokenAmount,
}

/// GetVestingFunds' return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetVestingFundsReturn {
    /// `(epoch, amount)` pairs.
    pub vesting_funds: Vec<(ChainEpoch, TokenAmount)>,
}

/// GetPeerID's return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetPeerIDReturn {
    /// The peer id.
    #[serde(with = "strict_bytes")]
    pub peer_id: Vec<u8>,
}

/// GetMultiaddrs' return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetMultiaddrsReturn {
    /// The multiaddresses.
    pub multi_addrs: Vec<BytesDe>,
}

/// MaxTerminationFee's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MaxTerminationFeeParams {
    /// The sector's QA power.
    #[serde(with = "bigint_ser")]
    pub power: StoragePower,
    /// The sector's initial pledge.
    pub initial_pledge: TokenAmount,
}

/// MaxTerminationFee's return value (transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaxTerminationFeeReturn {
    /// The fee cap.
    pub max_fee: TokenAmount,
}

/// InitialPledge's return value (transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InitialPledgeReturn {
    /// The miner's total initial pledge.
    pub initial_pledge: TokenAmount,
}

/// A sector's status, as GenerateSectorLocation reports it and
/// ValidateSectorStatus checks it (a CBOR integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorStatusCode {
    /// Not live: terminated, or never committed.
    Dead = 0,
    /// Live and not faulty.
    Active = 1,
    /// Live and faulty.
    Faulty = 2,
}

impl Serialize for SectorStatusCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

impl<'de> Deserialize<'de> for SectorStatusCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(Self::Dead),
            1 => Ok(Self::Active),
            2 => Ok(Self::Faulty),
            other => Err(serde::de::Error::custom(format!(
                "invalid sector status code {other}"
            ))),
        }
    }
}

/// [`SectorLocation::deadline`] of a sector in no partition.
pub const NO_DEADLINE: i64 = -1;
/// [`SectorLocation::partition`] of a sector in no partition.
pub const NO_PARTITION: i64 = -1;

/// Where a sector is (the CBOR of this is GenerateSectorLocation's
/// `aux_data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorLocation {
    /// The deadline, or [`NO_DEADLINE`].
    pub deadline: i64,
    /// The partition, or [`NO_PARTITION`].
    pub partition: i64,
}

/// GenerateSectorLocation's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GenerateSectorLocationParams {
    /// The sector.
    pub sector_number: SectorNumber,
}

/// GenerateSectorLocation's return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GenerateSectorLocationReturn {
    /// The sector's status now.
    pub status: SectorStatusCode,
    /// The CBOR of its [`SectorLocation`].
    #[serde(with = "strict_bytes")]
    pub aux_data: Vec<u8>,
}

/// ValidateSectorStatus' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ValidateSectorStatusParams {
    /// The sector.
    pub sector_number: SectorNumber,
    /// The status to check.
    pub status: SectorStatusCode,
    /// The CBOR of a [`SectorLocation`], as GenerateSectorLocation gave it.
    #[serde(with = "strict_bytes")]
    pub aux_data: Vec<u8>,
}

/// ValidateSectorStatus' return value (transparent bool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidateSectorStatusReturn {
    /// Whether the sector has that status at that location.
    pub valid: bool,
}

/// GetNominalSectorExpiration's parameters: the bare sector number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetNominalSectorExpirationParams {
    /// The sector.
    pub sector_number: SectorNumber,
}

/// GetNominalSectorExpiration's return value (transparent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetNominalSectorExpirationReturn {
    /// The sector's expiration as its record holds it.
    pub expiration: ChainEpoch,
}

// ---------------------------------------------------------------------------
// Records the miner keeps on chain.

/// CommD as a precommit carries it: `null` stands for the zero (empty
/// sector) CommD of the seal proof's size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CompactCommD(pub Option<Cid>);

impl CompactCommD {
    /// A CommD of `commd` (`None` for the empty sector).
    pub fn new(commd: Option<Cid>) -> Self {
        Self(commd)
    }
    /// The empty sector's CommD.
    pub fn empty() -> Self {
        Self(None)
    }
    /// An explicit CommD.
    pub fn of(c: Cid) -> Self {
        Self(Some(c))
    }
    /// Whether this stands for the empty sector.
    pub fn is_zero(&self) -> bool {
        self.0.is_none()
    }
}

/// Static information about a miner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MinerInfo {
    /// The owner (an ID address).
    pub owner: Address,
    /// The worker (an ID address of a BLS account).
    pub worker: Address,
    /// Additional control addresses (ID addresses).
    pub control_addresses: Vec<Address>,
    /// A pending worker key change.
    pub pending_worker_key: Option<WorkerKeyChange>,
    /// The libp2p peer id.
    #[serde(with = "strict_bytes")]
    pub peer_id: Vec<u8>,
    /// Multiaddresses.
    pub multi_address: Vec<BytesDe>,
    /// The Window PoSt proof type.
    pub window_post_proof_type: RegisteredPoStProof,
    /// The sector size.
    pub sector_size: SectorSize,
    /// Sectors per Window PoSt partition.
    pub window_post_partition_sectors: u64,
    /// The epoch until which the miner is ineligible after a consensus
    /// fault (-1 for none).
    pub consensus_fault_elapsed: ChainEpoch,
    /// A proposed new owner.
    pub pending_owner_address: Option<Address>,
    /// Who may withdraw funds (initially the owner).
    pub beneficiary: Address,
    /// The beneficiary's term.
    pub beneficiary_term: BeneficiaryTerm,
    /// A proposed beneficiary change.
    pub pending_beneficiary_term: Option<PendingBeneficiaryChange>,
}

impl MinerInfo {
    /// A new miner's info; the sector size and partition size follow from
    /// the PoSt proof type.
    pub fn new(
        owner: ActorID,
        worker: ActorID,
        control_addresses: Vec<ActorID>,
        peer_id: Vec<u8>,
        multi_address: Vec<BytesDe>,
        window_post_proof_type: RegisteredPoStProof,
    ) -> Result<Self, String> {
        let sector_size = window_post_proof_type
            .sector_size()
            .map_err(|e| format!("sector size of {window_post_proof_type:?}: {e}"))?;
        let window_post_partition_sectors = window_post_proof_type
            .window_post_partition_sectors()
            .map_err(|e| format!("partition size of {window_post_proof_type:?}: {e}"))?;
        Ok(Self {
            owner: Address::new_id(owner),
            worker: Address::new_id(worker),
            control_addresses: control_addresses.into_iter().map(Address::new_id).collect(),
            pending_worker_key: None,
            peer_id,
            multi_address,
            window_post_proof_type,
            sector_size,
            window_post_partition_sectors,
            consensus_fault_elapsed: -1,
            pending_owner_address: None,
            beneficiary: Address::new_id(owner),
            beneficiary_term: BeneficiaryTerm::default(),
            pending_beneficiary_term: None,
        })
    }
}

/// A pending worker change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct WorkerKeyChange {
    /// The new worker (ID address).
    pub new_worker: Address,
    /// When it takes effect.
    pub effective_at: ChainEpoch,
}

/// What the beneficiary may withdraw, and until when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BeneficiaryTerm {
    /// The total it may withdraw.
    pub quota: TokenAmount,
    /// What it has withdrawn.
    pub used_quota: TokenAmount,
    /// When the term ends.
    pub expiration: ChainEpoch,
}

impl BeneficiaryTerm {
    /// A term.
    pub fn new(quota: TokenAmount, used_quota: TokenAmount, expiration: ChainEpoch) -> Self {
        Self {
            quota,
            used_quota,
            expiration,
        }
    }
    /// What is left of the quota at `cur` (zero once expired).
    pub fn available(&self, cur: ChainEpoch) -> TokenAmount {
        if self.expiration > cur {
            let left = &self.quota - &self.used_quota;
            if left.is_negative() {
                TokenAmount::zero()
            } else {
                left
            }
        } else {
            TokenAmount::zero()
        }
    }
}

/// A proposed beneficiary change awaiting approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PendingBeneficiaryChange {
    /// The proposed beneficiary.
    pub new_beneficiary: Address,
    /// Its quota.
    pub new_quota: TokenAmount,
    /// Its expiration.
    pub new_expiration: ChainEpoch,
    /// Whether the current beneficiary approved.
    pub approved_by_beneficiary: bool,
    /// Whether the nominee approved.
    pub approved_by_nominee: bool,
}

impl PendingBeneficiaryChange {
    /// A proposal with no approvals yet.
    pub fn new(
        new_beneficiary: Address,
        new_quota: TokenAmount,
        new_expiration: ChainEpoch,
    ) -> Self {
        Self {
            new_beneficiary,
            new_quota,
            new_expiration,
            approved_by_beneficiary: false,
            approved_by_nominee: false,
        }
    }
}

/// A sector's pre-commitment as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorPreCommitInfo {
    /// The seal proof type.
    pub seal_proof: RegisteredSealProof,
    /// The sector number.
    pub sector_number: SectorNumber,
    /// CommR.
    pub sealed_cid: Cid,
    /// The epoch of the seal randomness.
    pub seal_rand_epoch: ChainEpoch,
    /// Deal ids (legacy deal path).
    pub deal_ids: Vec<DealID>,
    /// The committed expiration.
    pub expiration: ChainEpoch,
    /// CommD (`null` for an empty sector).
    pub unsealed_cid: CompactCommD,
}

/// A pre-commitment in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorPreCommitOnChainInfo {
    /// What was submitted.
    pub info: SectorPreCommitInfo,
    /// The deposit locked for it.
    pub pre_commit_deposit: TokenAmount,
    /// When it was submitted.
    pub pre_commit_epoch: ChainEpoch,
}

/// Flags of a committed sector (transparent u32 bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorOnChainInfoFlags(pub u32);

impl SectorOnChainInfoFlags {
    /// QA power is computed from the deal weights alone (all sectors since
    /// v13's simple QA power).
    pub const SIMPLE_QA_POWER: Self = Self(0x1);
    /// Whether all of `other`'s bits are set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets `other`'s bits.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// A committed sector (16 fields; `daily_fee` may be absent in old data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorOnChainInfo {
    /// The sector number.
    pub sector_number: SectorNumber,
    /// The seal proof type.
    pub seal_proof: RegisteredSealProof,
    /// CommR.
    pub sealed_cid: Cid,
    /// Legacy deal ids (empty for new sectors).
    pub deprecated_deal_ids: Vec<DealID>,
    /// When it was activated.
    pub activation: ChainEpoch,
    /// When it expires.
    pub expiration: ChainEpoch,
    /// Unverified deal weight (size × duration).
    #[serde(with = "bigint_ser")]
    pub deal_weight: DealWeight,
    /// Verified deal weight.
    #[serde(with = "bigint_ser")]
    pub verified_deal_weight: DealWeight,
    /// The initial pledge.
    pub initial_pledge: TokenAmount,
    /// Unused since FIP-0098 (written as zero).
    pub expected_day_reward: Option<TokenAmount>,
    /// Unused since FIP-0098 (written as zero).
    pub expected_storage_pledge: Option<TokenAmount>,
    /// The epoch from which power is computed.
    pub power_base_epoch: ChainEpoch,
    /// Unused since FIP-0098 (written as zero).
    pub replaced_day_reward: Option<TokenAmount>,
    /// The CommR before a replica update.
    pub sector_key_cid: Option<Cid>,
    /// Flags.
    pub flags: SectorOnChainInfoFlags,
    /// The FIP-0100 daily fee.
    #[serde(default)]
    pub daily_fee: TokenAmount,
}

/// A raw-byte and quality-adjusted power pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PowerPair {
    /// Raw-byte power.
    #[serde(with = "bigint_ser")]
    pub raw: StoragePower,
    /// Quality-adjusted power.
    #[serde(with = "bigint_ser")]
    pub qa: StoragePower,
}

impl PowerPair {
    /// A pair.
    pub fn new(raw: StoragePower, qa: StoragePower) -> Self {
        Self { raw, qa }
    }
    /// Zero power.
    pub fn zero() -> Self {
        Self::default()
    }
    /// Whether both are zero.
    pub fn is_zero(&self) -> bool {
        self.raw.is_zero() && self.qa.is_zero()
    }
}

impl Add for &PowerPair {
    type Output = PowerPair;
    fn add(self, rhs: &PowerPair) -> PowerPair {
        PowerPair {
            raw: &self.raw + &rhs.raw,
            qa: &self.qa + &rhs.qa,
        }
    }
}

impl Add for PowerPair {
    type Output = PowerPair;
    fn add(self, rhs: PowerPair) -> PowerPair {
        &self + &rhs
    }
}

impl AddAssign<&PowerPair> for PowerPair {
    fn add_assign(&mut self, rhs: &PowerPair) {
        self.raw += &rhs.raw;
        self.qa += &rhs.qa;
    }
}

impl AddAssign for PowerPair {
    fn add_assign(&mut self, rhs: PowerPair) {
        *self += &rhs;
    }
}

impl Sub for &PowerPair {
    type Output = PowerPair;
    fn sub(self, rhs: &PowerPair) -> PowerPair {
        PowerPair {
            raw: &self.raw - &rhs.raw,
            qa: &self.qa - &rhs.qa,
        }
    }
}

impl Sub for PowerPair {
    type Output = PowerPair;
    fn sub(self, rhs: PowerPair) -> PowerPair {
        &self - &rhs
    }
}

impl SubAssign<&PowerPair> for PowerPair {
    fn sub_assign(&mut self, rhs: &PowerPair) {
        self.raw -= &rhs.raw;
        self.qa -= &rhs.qa;
    }
}

impl SubAssign for PowerPair {
    fn sub_assign(&mut self, rhs: PowerPair) {
        *self -= &rhs;
    }
}

impl Neg for PowerPair {
    type Output = PowerPair;
    fn neg(self) -> PowerPair {
        PowerPair {
            raw: -self.raw,
            qa: -self.qa,
        }
    }
}

impl Neg for &PowerPair {
    type Output = PowerPair;
    fn neg(self) -> PowerPair {
        PowerPair {
            raw: -&self.raw,
            qa: -&self.qa,
        }
    }
}

/// One vesting entry: `amount` unlocks at `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct VestingFund {
    /// When it vests.
    pub epoch: ChainEpoch,
    /// How much.
    pub amount: TokenAmount,
}

/// A Window PoSt accepted optimistically, kept for disputes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct WindowedPoSt {
    /// The partitions proven.
    pub partitions: BitField,
    /// The proofs.
    pub proofs: Vec<PoStProof>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_status_codes_are_cbor_integers_and_unknown_ones_are_refused() {
        let bytes = fvm_ipld_encoding::to_vec(&SectorStatusCode::Faulty).unwrap();
        assert_eq!(bytes, vec![0x02]);
        let back: SectorStatusCode = fvm_ipld_encoding::from_slice(&[0x01]).unwrap();
        assert_eq!(back, SectorStatusCode::Active);
        assert!(fvm_ipld_encoding::from_slice::<SectorStatusCode>(&[0x03]).is_err());
        let params = ValidateSectorStatusParams {
            sector_number: 7,
            status: SectorStatusCode::Dead,
            aux_data: fvm_ipld_encoding::to_vec(&SectorLocation {
                deadline: NO_DEADLINE,
                partition: NO_PARTITION,
            })
            .unwrap(),
        };
        // [7, 0, h'8220 20'] : the location [-1, -1] as a byte string.
        assert_eq!(
            fvm_ipld_encoding::to_vec(&params).unwrap(),
            vec![0x83, 0x07, 0x00, 0x43, 0x82, 0x20, 0x20]
        );
    }
}
