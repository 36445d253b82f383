//! The actors' policy: builtin-actors v18's `Policy` with the values of its
//! `devnet` network build (2 KiB and 8 MiB sectors, a 10-epoch pre-commit
//! challenge delay, 2 KiB minimum consensus power, small deals; everything
//! else mainnet), and the miner's policy functions (sector lifetimes, QA
//! power, proof-type checks, the FIP-0100 daily fee).
//!
//! The mainnet value of each field that differs is given beside it.

use std::cmp;

use cid::{Cid, Version};
use fvm_shared::bigint::{BigInt, Integer};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::commcid::{FIL_COMMITMENT_SEALED, POSEIDON_BLS12_381_A1_FC1};
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof, SectorSize, StoragePower};

use crate::miner::{DealWeight, SectorOnChainInfo};
use crate::{
    CHAIN_FINALITY, EPOCH_DURATION_SECONDS, EPOCHS_IN_DAY, EPOCHS_IN_HOUR, EPOCHS_IN_YEAR,
};

/// A set of proof types, by their integer value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProofSet(Vec<i64>);

impl ProofSet {
    /// A set of the given proof integers.
    pub fn of(proofs: &[i64]) -> Self {
        Self(proofs.to_vec())
    }
    /// Whether `proof` is in the set.
    pub fn contains<P: Into<i64>>(&self, proof: P) -> bool {
        self.0.contains(&proof.into())
    }
    /// Adds `proof`.
    pub fn insert<P: Into<i64>>(&mut self, proof: P) {
        let p = proof.into();
        if !self.0.contains(&p) {
            self.0.push(p);
        }
    }
}

/// The network policy the actors follow (v18's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Most sectors in one aggregated proof.
    pub max_aggregated_sectors: u64,
    /// Fewest sectors in one aggregated proof.
    pub min_aggregated_sectors: u64,
    /// Largest aggregated proof, in bytes.
    pub max_aggregated_proof_size: usize,
    /// Largest replica update proof, in bytes.
    pub max_replica_update_proof_size: usize,
    /// Delay after a precommit's expiry before its cleanup (8 hours).
    pub expired_pre_commit_clean_up_delay: i64,
    /// The Window PoSt proving period (one day).
    pub wpost_proving_period: ChainEpoch,
    /// The length of one deadline's challenge window (60 epochs).
    pub wpost_challenge_window: ChainEpoch,
    /// Deadlines per proving period (48).
    pub wpost_period_deadlines: u64,
    /// How old a Window PoSt's chain commitment may be.
    pub wpost_max_chain_commit_age: ChainEpoch,
    /// How long an optimistic Window PoSt can be disputed.
    pub wpost_dispute_window: ChainEpoch,
    /// Most sectors a miner may have.
    pub sectors_max: usize,
    /// Most partitions per deadline.
    pub max_partitions_per_deadline: u64,
    /// Most control addresses.
    pub max_control_addresses: usize,
    /// Longest peer id.
    pub max_peer_id_length: usize,
    /// Most multiaddress bytes.
    pub max_multiaddr_data: usize,
    /// Most partitions one message may address.
    pub addressed_partitions_max: u64,
    /// Most sectors one message may address.
    pub addressed_sectors_max: u64,
    /// Most partitions one Window PoSt may prove.
    pub posted_partitions_max: u64,
    /// How far back seal randomness may be drawn.
    pub max_pre_commit_randomness_lookback: ChainEpoch,
    /// Epochs between precommit and the interactive seal challenge
    /// (devnet 10; mainnet 150).
    pub pre_commit_challenge_delay: ChainEpoch,
    /// Most sectors in one NI-PoRep aggregate.
    pub max_aggregated_sectors_ni: u64,
    /// Fewest sectors in one NI-PoRep aggregate.
    pub min_aggregated_sectors_ni: u64,
    /// How far back NI-PoRep randomness may be drawn.
    pub max_prove_commit_ni_randomness_lookback: ChainEpoch,
    /// NI-PoRep seal proofs accepted (devnet 2K/8M NI; mainnet 32G/64G NI).
    pub valid_prove_commit_ni_proof_type: ProofSet,
    /// Lookback from a deadline's open to its challenge epoch.
    pub wpost_challenge_lookback: ChainEpoch,
    /// How long before a deadline opens faults must be declared.
    pub fault_declaration_cutoff: ChainEpoch,
    /// How long a sector may stay faulty before it is terminated.
    pub fault_max_age: ChainEpoch,
    /// Delay before a worker key change takes effect.
    pub worker_key_change_delay: ChainEpoch,
    /// Shortest sector commitment.
    pub min_sector_expiration: i64,
    /// Furthest a sector's expiration may be set ahead of now.
    pub max_sector_expiration_extension: i64,
    /// Divisor of sector size giving the deal limit per sector.
    pub deal_limit_denominator: u64,
    /// How long a consensus fault makes a miner ineligible.
    pub consensus_fault_ineligibility_duration: ChainEpoch,
    /// Most sectors a miner may add per proving period.
    pub new_sectors_per_period_max: usize,
    /// Chain finality.
    pub chain_finality: ChainEpoch,
    /// Window PoSt proofs accepted (devnet 2K/8M V1P1; mainnet 32G/64G).
    pub valid_post_proof_type: ProofSet,
    /// Seal proofs accepted at precommit (devnet 2K/8M V1P1 and synthetic;
    /// mainnet 32G/64G V1P1 and synthetic).
    pub valid_pre_commit_proof_type: ProofSet,
    /// FIP-0100 daily fee: numerator of the per-QA-byte share of supply.
    pub daily_fee_circulating_supply_qap_multiplier_num: BigInt,
    /// FIP-0100 daily fee: its denominator (10^30).
    pub daily_fee_circulating_supply_qap_multiplier_denom: BigInt,
    /// FIP-0100: the fee is capped at reward / this.
    pub daily_fee_block_reward_cap_denom: i64,
    /// Smallest verified allocation (devnet 256 B; mainnet 1 MiB).
    pub minimum_verified_allocation_size: StoragePower,
    /// Shortest verified allocation term.
    pub minimum_verified_allocation_term: i64,
    /// Longest verified allocation term.
    pub maximum_verified_allocation_term: i64,
    /// Longest time to claim an allocation.
    pub maximum_verified_allocation_expiration: i64,
    /// Claims may be dropped this long before their term ends.
    pub end_of_life_claim_drop_period: ChainEpoch,
    /// How often the market settles a deal.
    pub deal_updates_interval: i64,
    /// Provider collateral: numerator of the share of supply.
    pub prov_collateral_percent_supply_num: i64,
    /// Provider collateral: denominator of the share of supply.
    pub prov_collateral_percent_supply_denom: i64,
    /// Buffer added to a deal's term for its allocation.
    pub market_default_allocation_term_buffer: i64,
    /// Minimum power for consensus (devnet 2 KiB; mainnet 10 TiB).
    pub minimum_consensus_power: StoragePower,
}

/// Constants of v18's policy (devnet values where they differ).
pub mod constants {
    use super::*;

    /// The largest sector number.
    pub const MAX_SECTOR_NUMBER: u64 = i64::MAX as u64;
    /// Most sectors in an aggregate.
    pub const MAX_AGGREGATED_SECTORS: u64 = 819;
    /// Fewest sectors in an aggregate.
    pub const MIN_AGGREGATED_SECTORS: u64 = 4;
    /// Largest aggregate proof.
    pub const MAX_AGGREGATED_PROOF_SIZE: usize = 81960;
    /// Largest replica update proof.
    pub const MAX_REPLICA_UPDATE_PROOF_SIZE: usize = 4096;
    /// Precommit cleanup delay.
    pub const EXPIRED_PRE_COMMIT_CLEAN_UP_DELAY: i64 = 8 * EPOCHS_IN_HOUR;
    /// Proving period.
    pub const WPOST_PROVING_PERIOD: ChainEpoch = EPOCHS_IN_DAY;
    /// Challenge window (30 minutes).
    pub const WPOST_CHALLENGE_WINDOW: ChainEpoch = 30 * 60 / EPOCH_DURATION_SECONDS;
    /// Deadlines per period.
    pub const WPOST_PERIOD_DEADLINES: u64 = 48;
    /// Max chain commit age.
    pub const WPOST_MAX_CHAIN_COMMIT_AGE: ChainEpoch = WPOST_CHALLENGE_WINDOW;
    /// Dispute window.
    pub const WPOST_DISPUTE_WINDOW: ChainEpoch = 2 * CHAIN_FINALITY;
    /// Most sectors per miner.
    pub const SECTORS_MAX: usize = 32 << 20;
    /// Most partitions per deadline.
    pub const MAX_PARTITIONS_PER_DEADLINE: u64 = 3000;
    /// Most control addresses.
    pub const MAX_CONTROL_ADDRESSES: usize = 10;
    /// Longest peer id.
    pub const MAX_PEER_ID_LENGTH: usize = 128;
    /// Most multiaddress bytes.
    pub const MAX_MULTIADDR_DATA: usize = 1024;
    /// Most partitions addressed per message.
    pub const ADDRESSED_PARTITIONS_MAX: u64 = MAX_PARTITIONS_PER_DEADLINE;
    /// Most sectors addressed per message.
    pub const ADDRESSED_SECTORS_MAX: u64 = 25_000;
    /// Most partitions per Window PoSt.
    pub const POSTED_PARTITIONS_MAX: u64 = 3;
    /// Max seal randomness lookback.
    pub const MAX_PRE_COMMIT_RANDOMNESS_LOOKBACK: ChainEpoch = EPOCHS_IN_DAY + CHAIN_FINALITY;
    /// Pre-commit challenge delay (devnet "short-precommit"; mainnet 150).
    pub const PRE_COMMIT_CHALLENGE_DELAY: ChainEpoch = 10;
    /// Max NI-PoRep lookback.
    pub const MAX_PROVE_COMMIT_NI_LOOKBACK: ChainEpoch = 180 * EPOCHS_IN_DAY;
    /// Most sectors in an NI aggregate.
    pub const MAX_AGGREGATED_SECTORS_NI: u64 = 65;
    /// Fewest sectors in an NI aggregate.
    pub const MIN_AGGREGATED_SECTORS_NI: u64 = 1;
    /// Challenge lookback.
    pub const WPOST_CHALLENGE_LOOKBACK: ChainEpoch = 20;
    /// Fault declaration cutoff.
    pub const FAULT_DECLARATION_CUTOFF: ChainEpoch = WPOST_CHALLENGE_LOOKBACK + 50;
    /// Fault max age (42 proving periods).
    pub const FAULT_MAX_AGE: ChainEpoch = WPOST_PROVING_PERIOD * 42;
    /// Worker key change delay.
    pub const WORKER_KEY_CHANGE_DELAY: ChainEpoch = CHAIN_FINALITY;
    /// Shortest commitment.
    pub const MIN_SECTOR_EXPIRATION: i64 = 180 * EPOCHS_IN_DAY;
    /// Furthest expiration.
    pub const MAX_SECTOR_EXPIRATION_EXTENSION: i64 = 1278 * EPOCHS_IN_DAY;
    /// Deal limit denominator.
    pub const DEAL_LIMIT_DENOMINATOR: u64 = 134217728;
    /// Consensus fault ineligibility.
    pub const CONSENSUS_FAULT_INELIGIBILITY_DURATION: ChainEpoch = CHAIN_FINALITY;
    /// Most new sectors per period.
    pub const NEW_SECTORS_PER_PERIOD_MAX: usize = 128 << 10;
    /// FIP-0100 numerator.
    pub const DAILY_FEE_CIRCULATING_SUPPLY_QAP_MULTIPLIER_NUM: u64 = 161817;
    /// FIP-0100 denominator (10^30).
    pub const DAILY_FEE_CIRCULATING_SUPPLY_QAP_MULTIPLIER_DENOM: u128 =
        1_000_000_000_000_000_000_000_000_000_000;
    /// FIP-0100 cap denominator.
    pub const DAILY_FEE_BLOCK_REWARD_CAP_DENOM: i64 = 2;
    /// Smallest verified allocation (devnet "small-deals"; mainnet 1 MiB).
    pub const MINIMUM_VERIFIED_ALLOCATION_SIZE: i64 = 256;
    /// Shortest allocation term.
    pub const MINIMUM_VERIFIED_ALLOCATION_TERM: i64 = 180 * EPOCHS_IN_DAY;
    /// Longest allocation term.
    pub const MAXIMUM_VERIFIED_ALLOCATION_TERM: i64 = 5 * EPOCHS_IN_YEAR;
    /// Longest allocation expiration.
    pub const MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION: i64 = 60 * EPOCHS_IN_DAY;
    /// End-of-life claim drop period.
    pub const END_OF_LIFE_CLAIM_DROP_PERIOD: ChainEpoch = 30 * EPOCHS_IN_DAY;
    /// Deal settlement interval.
    pub const DEAL_UPDATES_INTERVAL: i64 = 30 * EPOCHS_IN_DAY;
    /// Provider collateral numerator.
    pub const PROV_COLLATERAL_PERCENT_SUPPLY_NUM: i64 = 1;
    /// Provider collateral denominator.
    pub const PROV_COLLATERAL_PERCENT_SUPPLY_DENOM: i64 = 100;
    /// Allocation term buffer.
    pub const MARKET_DEFAULT_ALLOCATION_TERM_BUFFER: i64 = 90 * EPOCHS_IN_DAY;
    /// Minimum consensus power (devnet "min-power-2k": 2 KiB; mainnet 10 TiB).
    pub const MINIMUM_CONSENSUS_POWER: i64 = 2 << 10;
    /// QA power whose initial pledge a new miner must lock as its
    /// create-miner deposit (FIP-0077): a tenth of the consensus minimum.
    pub const CREATE_MINER_DEPOSIT_POWER: i64 = MINIMUM_CONSENSUS_POWER / 10;
}

impl Policy {
    /// The policy of builtin-actors v18's `devnet` build.
    pub fn devnet() -> Self {
        use constants::*;
        Self {
            max_aggregated_sectors: MAX_AGGREGATED_SECTORS,
            min_aggregated_sectors: MIN_AGGREGATED_SECTORS,
            max_aggregated_proof_size: MAX_AGGREGATED_PROOF_SIZE,
            max_replica_update_proof_size: MAX_REPLICA_UPDATE_PROOF_SIZE,
            expired_pre_commit_clean_up_delay: EXPIRED_PRE_COMMIT_CLEAN_UP_DELAY,
            wpost_proving_period: WPOST_PROVING_PERIOD,
            wpost_challenge_window: WPOST_CHALLENGE_WINDOW,
            wpost_period_deadlines: WPOST_PERIOD_DEADLINES,
            wpost_max_chain_commit_age: WPOST_MAX_CHAIN_COMMIT_AGE,
            wpost_dispute_window: WPOST_DISPUTE_WINDOW,
            sectors_max: SECTORS_MAX,
            max_partitions_per_deadline: MAX_PARTITIONS_PER_DEADLINE,
            max_control_addresses: MAX_CONTROL_ADDRESSES,
            max_peer_id_length: MAX_PEER_ID_LENGTH,
            max_multiaddr_data: MAX_MULTIADDR_DATA,
            addressed_partitions_max: ADDRESSED_PARTITIONS_MAX,
            addressed_sectors_max: ADDRESSED_SECTORS_MAX,
            posted_partitions_max: POSTED_PARTITIONS_MAX,
            max_pre_commit_randomness_lookback: MAX_PRE_COMMIT_RANDOMNESS_LOOKBACK,
            pre_commit_challenge_delay: PRE_COMMIT_CHALLENGE_DELAY,
            max_aggregated_sectors_ni: MAX_AGGREGATED_SECTORS_NI,
            min_aggregated_sectors_ni: MIN_AGGREGATED_SECTORS_NI,
            max_prove_commit_ni_randomness_lookback: MAX_PROVE_COMMIT_NI_LOOKBACK,
            valid_prove_commit_ni_proof_type: ProofSet::of(&[
                RegisteredSealProof::StackedDRG2KiBV1P2_Feat_NiPoRep.into(),
                RegisteredSealProof::StackedDRG8MiBV1P2_Feat_NiPoRep.into(),
            ]),
            wpost_challenge_lookback: WPOST_CHALLENGE_LOOKBACK,
            fault_declaration_cutoff: FAULT_DECLARATION_CUTOFF,
            fault_max_age: FAULT_MAX_AGE,
            worker_key_change_delay: WORKER_KEY_CHANGE_DELAY,
            min_sector_expiration: MIN_SECTOR_EXPIRATION,
            max_sector_expiration_extension: MAX_SECTOR_EXPIRATION_EXTENSION,
            deal_limit_denominator: DEAL_LIMIT_DENOMINATOR,
            consensus_fault_ineligibility_duration: CONSENSUS_FAULT_INELIGIBILITY_DURATION,
            new_sectors_per_period_max: NEW_SECTORS_PER_PERIOD_MAX,
            chain_finality: CHAIN_FINALITY,
            valid_post_proof_type: ProofSet::of(&[
                RegisteredPoStProof::StackedDRGWindow2KiBV1P1.into(),
                RegisteredPoStProof::StackedDRGWindow8MiBV1P1.into(),
            ]),
            valid_pre_commit_proof_type: ProofSet::of(&[
                RegisteredSealProof::StackedDRG2KiBV1P1.into(),
                RegisteredSealProof::StackedDRG8MiBV1P1.into(),
                RegisteredSealProof::StackedDRG2KiBV1P1_Feat_SyntheticPoRep.into(),
                RegisteredSealProof::StackedDRG8MiBV1P1_Feat_SyntheticPoRep.into(),
            ]),
            daily_fee_circulating_supply_qap_multiplier_num: BigInt::from(
                DAILY_FEE_CIRCULATING_SUPPLY_QAP_MULTIPLIER_NUM,
            ),
            daily_fee_circulating_supply_qap_multiplier_denom: BigInt::from(
                DAILY_FEE_CIRCULATING_SUPPLY_QAP_MULTIPLIER_DENOM,
            ),
            daily_fee_block_reward_cap_denom: DAILY_FEE_BLOCK_REWARD_CAP_DENOM,
            minimum_verified_allocation_size: StoragePower::from(MINIMUM_VERIFIED_ALLOCATION_SIZE),
            minimum_verified_allocation_term: MINIMUM_VERIFIED_ALLOCATION_TERM,
            maximum_verified_allocation_term: MAXIMUM_VERIFIED_ALLOCATION_TERM,
            maximum_verified_allocation_expiration: MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION,
            end_of_life_claim_drop_period: END_OF_LIFE_CLAIM_DROP_PERIOD,
            deal_updates_interval: DEAL_UPDATES_INTERVAL,
            prov_collateral_percent_supply_num: PROV_COLLATERAL_PERCENT_SUPPLY_NUM,
            prov_collateral_percent_supply_denom: PROV_COLLATERAL_PERCENT_SUPPLY_DENOM,
            market_default_allocation_term_buffer: MARKET_DEFAULT_ALLOCATION_TERM_BUFFER,
            minimum_consensus_power: StoragePower::from(MINIMUM_CONSENSUS_POWER),
        }
    }
}

impl Default for Policy {
    /// The devnet policy.
    fn default() -> Self {
        Self::devnet()
    }
}

// ---------------------------------------------------------------------------
// The miner's policy functions (v18 `miner/policy.rs`).

/// Bits of precision of a sector's quality.
pub const SECTOR_QUALITY_PRECISION: i64 = 20;
/// Quality of committed capacity (×10 in fixed point).
pub const QUALITY_BASE_MULTIPLIER: i64 = 10;
/// Quality of verified deal space.
pub const VERIFIED_DEAL_WEIGHT_MULTIPLIER: i64 = 100;
/// The miner's minimum sector commitment (180 days).
pub const MIN_SECTOR_EXPIRATION: i64 = 180 * EPOCHS_IN_DAY;
/// A consensus-fault reporter gets 1/(leaders × this) of the epoch reward.
pub const CONSENSUS_FAULT_REPORTER_DEFAULT_SHARE: u64 = 4;

/// How many partitions one message may load, given sectors per partition.
pub fn load_partitions_sectors_max(policy: &Policy, partition_sector_count: u64) -> u64 {
    cmp::min(
        policy.addressed_sectors_max / partition_sector_count.max(1),
        policy.addressed_partitions_max,
    )
}

/// Whether `c` looks like a sealed sector CID (CommR).
pub fn is_sealed_sector(c: &Cid) -> bool {
    c.version() == Version::V1
        && c.codec() == FIL_COMMITMENT_SEALED
        && c.hash().code() == POSEIDON_BLS12_381_A1_FC1
        && c.hash().size() == 32
}

/// Whether `proof` may be pre-committed.
pub fn can_pre_commit_seal_proof(policy: &Policy, proof: RegisteredSealProof) -> bool {
    policy.valid_pre_commit_proof_type.contains(proof)
}

/// Whether `proof` may be used with ProveCommitSectorsNI.
pub fn can_prove_commit_ni_seal_proof(policy: &Policy, proof: RegisteredSealProof) -> bool {
    policy.valid_prove_commit_ni_proof_type.contains(proof)
}

/// Whether sectors of `proof` may be extended (all may, in v18).
pub fn can_extend_seal_proof_type(_proof: RegisteredSealProof) -> bool {
    true
}

/// The longest time from precommit to prove-commit for `proof`.
pub fn max_prove_commit_duration(
    policy: &Policy,
    proof: RegisteredSealProof,
) -> Option<ChainEpoch> {
    use RegisteredSealProof::*;
    match proof {
        StackedDRG2KiBV1 | StackedDRG8MiBV1 | StackedDRG512MiBV1 | StackedDRG32GiBV1
        | StackedDRG64GiBV1 => Some(EPOCHS_IN_DAY + policy.pre_commit_challenge_delay),
        StackedDRG2KiBV1P1
        | StackedDRG8MiBV1P1
        | StackedDRG512MiBV1P1
        | StackedDRG32GiBV1P1
        | StackedDRG64GiBV1P1
        | StackedDRG2KiBV1P1_Feat_SyntheticPoRep
        | StackedDRG8MiBV1P1_Feat_SyntheticPoRep
        | StackedDRG512MiBV1P1_Feat_SyntheticPoRep
        | StackedDRG32GiBV1P1_Feat_SyntheticPoRep
        | StackedDRG64GiBV1P1_Feat_SyntheticPoRep => {
            Some(30 * EPOCHS_IN_DAY + policy.pre_commit_challenge_delay)
        }
        _ => None,
    }
}

/// The longest a sector of `proof` may live.
pub fn seal_proof_sector_maximum_lifetime(proof: RegisteredSealProof) -> Option<ChainEpoch> {
    use RegisteredSealProof::*;
    match proof {
        StackedDRG2KiBV1 | StackedDRG8MiBV1 | StackedDRG512MiBV1 | StackedDRG32GiBV1
        | StackedDRG64GiBV1 => Some(540 * EPOCHS_IN_DAY),
        StackedDRG2KiBV1P1
        | StackedDRG8MiBV1P1
        | StackedDRG512MiBV1P1
        | StackedDRG32GiBV1P1
        | StackedDRG64GiBV1P1
        | StackedDRG2KiBV1P1_Feat_SyntheticPoRep
        | StackedDRG8MiBV1P1_Feat_SyntheticPoRep
        | StackedDRG512MiBV1P1_Feat_SyntheticPoRep
        | StackedDRG32GiBV1P1_Feat_SyntheticPoRep
        | StackedDRG64GiBV1P1_Feat_SyntheticPoRep
        | StackedDRG2KiBV1P2_Feat_NiPoRep
        | StackedDRG8MiBV1P2_Feat_NiPoRep
        | StackedDRG512MiBV1P2_Feat_NiPoRep
        | StackedDRG32GiBV1P2_Feat_NiPoRep
        | StackedDRG64GiBV1P2_Feat_NiPoRep => Some(5 * EPOCHS_IN_YEAR),
        _ => None,
    }
}

/// A sector's quality (fixed point, [`SECTOR_QUALITY_PRECISION`] bits):
/// the space-time-weighted mean of 10× for plain space and 100× for
/// verified space, over 10. A zero-size or zero-duration sector has
/// quality zero rather than a division by zero.
pub fn quality_for_weight(
    size: SectorSize,
    duration: ChainEpoch,
    verified_weight: &DealWeight,
) -> BigInt {
    let space_time = BigInt::from(size as u64) * BigInt::from(duration);
    if space_time == BigInt::from(0) {
        return BigInt::from(0);
    }
    let base = (&space_time - verified_weight) * QUALITY_BASE_MULTIPLIER;
    let verified = verified_weight * VERIFIED_DEAL_WEIGHT_MULTIPLIER;
    let scaled: BigInt = (base + verified) << SECTOR_QUALITY_PRECISION;
    scaled
        .div_floor(&space_time)
        .div_floor(&BigInt::from(QUALITY_BASE_MULTIPLIER))
}

/// The largest QA power a sector of `size` can have (all verified).
pub fn qa_power_max(size: SectorSize) -> StoragePower {
    (BigInt::from(size as u64) * VERIFIED_DEAL_WEIGHT_MULTIPLIER)
        .div_floor(&BigInt::from(QUALITY_BASE_MULTIPLIER))
}

/// QA power of a sector of `size`, `duration` and verified weight.
pub fn qa_power_for_weight(
    size: SectorSize,
    duration: ChainEpoch,
    verified_weight: &DealWeight,
) -> StoragePower {
    let quality = quality_for_weight(size, duration, verified_weight);
    (BigInt::from(size as u64) * quality) >> SECTOR_QUALITY_PRECISION
}

/// QA power of a committed sector.
pub fn qa_power_for_sector(size: SectorSize, sector: &SectorOnChainInfo) -> StoragePower {
    let duration = sector.expiration - sector.power_base_epoch;
    qa_power_for_weight(size, duration, &sector.verified_deal_weight)
}

/// Raw power of a sector of `size`.
pub fn raw_power_for_sector(size: SectorSize) -> StoragePower {
    BigInt::from(size as u64)
}

/// Most deals a sector of `size` may hold.
pub fn sector_deals_max(policy: &Policy, size: SectorSize) -> u64 {
    cmp::max(256, size as u64 / policy.deal_limit_denominator)
}

/// How locked funds vest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VestSpec {
    /// Delay before vesting starts.
    pub initial_delay: ChainEpoch,
    /// Total vesting time.
    pub vest_period: ChainEpoch,
    /// Time between vesting steps.
    pub step_duration: ChainEpoch,
    /// Vesting epochs are quantized to this.
    pub quantization: ChainEpoch,
}

/// Block rewards vest linearly over 180 days, daily, at 12-hour quanta.
pub const REWARD_VESTING_SPEC: VestSpec = VestSpec {
    initial_delay: 0,
    vest_period: 180 * EPOCHS_IN_DAY,
    step_duration: EPOCHS_IN_DAY,
    quantization: 12 * EPOCHS_IN_HOUR,
};

/// What a consensus-fault reporter earns from the epoch reward.
pub fn reward_for_consensus_slash_report(epoch_reward: &TokenAmount) -> TokenAmount {
    epoch_reward
        .div_floor(crate::EXPECTED_LEADERS_PER_EPOCH * CONSENSUS_FAULT_REPORTER_DEFAULT_SHARE)
}

/// The FIP-0100 daily fee of `qa_power` given the circulating supply.
pub fn daily_proof_fee(
    policy: &Policy,
    circulating_supply: &TokenAmount,
    qa_power: &StoragePower,
) -> TokenAmount {
    TokenAmount::from_atto(
        (&policy.daily_fee_circulating_supply_qap_multiplier_num
            * circulating_supply.atto()
            * qa_power)
            .div_floor(&policy.daily_fee_circulating_supply_qap_multiplier_denom),
    )
}

/// A daily fee rescaled from `old_qa_power` to `new_qa_power`.
pub fn daily_proof_fee_adjust(
    daily_fee: &TokenAmount,
    old_qa_power: &StoragePower,
    new_qa_power: &StoragePower,
) -> TokenAmount {
    if old_qa_power == new_qa_power || *old_qa_power == BigInt::from(0) {
        return daily_fee.clone();
    }
    TokenAmount::from_atto((daily_fee.atto() * new_qa_power).div_floor(old_qa_power))
}

/// The part of `daily_fee` payable today: at most
/// `estimated_day_reward / daily_fee_block_reward_cap_denom`.
pub fn daily_proof_fee_payable(
    policy: &Policy,
    daily_fee: &TokenAmount,
    estimated_day_reward: &TokenAmount,
) -> TokenAmount {
    let cap = estimated_day_reward.div_floor(policy.daily_fee_block_reward_cap_denom.max(1));
    cmp::min(&cap, daily_fee).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qa_power_of_committed_capacity_is_raw() {
        let p = qa_power_for_weight(SectorSize::_2KiB, 1000, &BigInt::from(0));
        assert_eq!(p, BigInt::from(2048));
    }

    #[test]
    fn qa_power_of_fully_verified_is_ten_times() {
        let w = BigInt::from(2048u64 * 1000);
        assert_eq!(
            qa_power_for_weight(SectorSize::_2KiB, 1000, &w),
            BigInt::from(20480)
        );
        assert_eq!(qa_power_max(SectorSize::_2KiB), BigInt::from(20480));
    }

    #[test]
    fn devnet_accepts_small_proofs() {
        let p = Policy::devnet();
        assert!(can_pre_commit_seal_proof(
            &p,
            RegisteredSealProof::StackedDRG2KiBV1P1
        ));
        assert!(!can_pre_commit_seal_proof(
            &p,
            RegisteredSealProof::StackedDRG32GiBV1P1
        ));
        assert!(
            p.valid_post_proof_type
                .contains(RegisteredPoStProof::StackedDRGWindow2KiBV1P1)
        );
    }
}
