//! SubmitWindowedPoSt (5): the worker proves the sectors of some
//! partitions of the current deadline. The deadline must be open and the
//! chain commitment recent and matching the chain; the partitions' sectors
//! are recorded as proven (recoveries regain power, skipped sectors become
//! faults, first proofs activate unproven power), and the proof is
//! verified.
//!
//! More than v18: v18 verifies the proof at once only when it recovers
//! power, and otherwise keeps it for optimistic acceptance (anyone may
//! dispute it later). Ferrite ALWAYS verifies it here, through the FVM's
//! `verify_post`, so a bad proof fails the message with exit 16; the proof
//! is still recorded for dispute as v18 does, keeping the state identical.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::miner::{PoStPartition, SectorOnChainInfo, SubmitWindowedPoStParams};
use ferrite_actor_types::policy::{Policy, load_partitions_sectors_max};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::randomness::{RANDOMNESS_LENGTH, Randomness};
use fvm_shared::sector::{PoStProof, SectorInfo, WindowPoStVerifyInfo};

use crate::control::{check_control_caller, miner_info};
use crate::env::{self, Tag};
use crate::ext;
use crate::funds::check_balance_invariants;
use crate::state::{Sectors, State};

/// Whether every Window PoSt is verified on submission (Ferrite's choice);
/// `false` gives v18's behaviour (verified only when it recovers power,
/// otherwise kept for optimistic acceptance and disputes). Verifying costs
/// the FVM's `verify_post` gas (over 100M) on every submission.
pub const ALWAYS_VERIFY_POST: bool = true;

/// SubmitWindowedPoSt (5), from a controlling address.
pub fn submit_windowed_post(mut p: SubmitWindowedPoStParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    let epoch = env::curr_epoch();
    if p.proofs.len() != 1 {
        return Err(ActorError::illegal_argument(format!(
            "expected exactly one proof, got {}",
            p.proofs.len()
        )));
    }
    if !policy
        .valid_post_proof_type
        .contains(p.proofs[0].post_proof)
    {
        return Err(ActorError::illegal_argument(format!(
            "proof type {:?} not allowed",
            p.proofs[0].post_proof
        )));
    }
    if p.deadline >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_argument(format!(
            "invalid deadline {} of {}",
            p.deadline, policy.wpost_period_deadlines
        )));
    }
    if p.chain_commit_rand.0.len() > RANDOMNESS_LENGTH {
        return Err(ActorError::illegal_argument(format!(
            "expected at most {RANDOMNESS_LENGTH} bytes of randomness, got {}",
            p.chain_commit_rand.0.len()
        )));
    }

    let store = ActorBlockstore;
    let power_delta = env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        if p.proofs[0].post_proof != info.window_post_proof_type {
            return Err(ActorError::illegal_argument(format!(
                "expected proof of type {:?}, got {:?}",
                info.window_post_proof_type, p.proofs[0].post_proof
            )));
        }
        let max_proof_size = info
            .window_post_proof_type
            .proof_size()
            .map_err(|e| ActorError::illegal_state(format!("window post proof size: {e}")))?;
        if p.proofs[0].proof_bytes.len() > max_proof_size.saturating_mul(p.partitions.len()) {
            return Err(ActorError::illegal_argument(format!(
                "expected proof to be at most {} bytes",
                max_proof_size.saturating_mul(p.partitions.len())
            )));
        }
        let limit = std::cmp::min(
            load_partitions_sectors_max(&policy, info.window_post_partition_sectors),
            policy.posted_partitions_max,
        );
        if p.partitions.len() as u64 > limit {
            return Err(ActorError::illegal_argument(format!(
                "too many partitions {}, limit {limit}",
                p.partitions.len()
            )));
        }

        let dl = st.deadline_info(&policy, epoch);
        if !dl.is_open() {
            return Err(ActorError::illegal_state(format!(
                "proving period {} not yet open at {epoch}",
                dl.period_start
            )));
        }
        if p.deadline != dl.index {
            return Err(ActorError::illegal_argument(format!(
                "invalid deadline {} at epoch {epoch}, expected {}",
                p.deadline, dl.index
            )));
        }
        if p.chain_commit_epoch < dl.challenge {
            return Err(ActorError::illegal_argument(format!(
                "expected chain commit epoch {} to be after {}",
                p.chain_commit_epoch, dl.challenge
            )));
        }
        if p.chain_commit_epoch >= epoch {
            return Err(ActorError::illegal_argument(format!(
                "chain commit epoch {} must be before the current epoch {epoch}",
                p.chain_commit_epoch
            )));
        }
        let comm_rand = env::chain_randomness(Tag::PoStChainCommit, p.chain_commit_epoch, &[])?;
        if Randomness(comm_rand.to_vec()) != p.chain_commit_rand {
            return Err(ActorError::illegal_argument(
                "post commit randomness mismatched",
            ));
        }

        let sectors = Sectors::load(&store, &st.sectors)?;
        let mut deadlines = st.load_deadlines(&store)?;
        let mut deadline = deadlines.load_deadline(&store, p.deadline)?;
        let fault_expiration = dl.last() + policy.fault_max_age;
        let partitions: &mut Vec<PoStPartition> = &mut p.partitions;
        let result = deadline.record_proven_sectors(
            &store,
            &sectors,
            info.sector_size,
            dl.quant_spec(),
            fault_expiration,
            partitions,
        )?;
        let proven = &result.sectors - &result.ignored_sectors;
        if proven.is_empty() {
            return Err(ActorError::illegal_argument(
                "cannot prove partitions with no active sectors",
            ));
        }
        let recovering = !result.recovered_power.is_zero();
        if !recovering {
            deadline.record_post_proofs(&store, &result.partitions, &p.proofs)?;
        }
        if ALWAYS_VERIFY_POST || recovering {
            let challenged = sectors.load_for_proof(&result.sectors, &result.ignored_sectors)?;
            if !verify_windowed_post(dl.challenge, &challenged, p.proofs.clone())? {
                return Err(ActorError::illegal_argument("invalid post was submitted"));
            }
        }
        deadlines.update_deadline(&policy, &store, p.deadline, &deadline)?;
        st.save_deadlines(&store, deadlines)?;
        Ok(result.power_delta)
    })?;
    ext::update_power(&power_delta)?;
    check_balance_invariants()
}

/// Whether `proofs` prove `sectors` (faulty ones already replaced by a
/// good one, as v18's `load_for_proof` does) for the challenge at
/// `challenge_epoch`. The randomness is the beacon's, mixed with the
/// miner's address; its last byte is masked to a valid BLS12-381 field
/// element (as the FVM does too).
pub fn verify_windowed_post(
    challenge_epoch: ChainEpoch,
    sectors: &[SectorOnChainInfo],
    proofs: Vec<PoStProof>,
) -> ActorResult<bool> {
    let entropy = env::address_entropy()?;
    let mut randomness =
        env::beacon_randomness(Tag::WindowedPoStChallengeSeed, challenge_epoch, &entropy)?;
    randomness[31] &= 0x3f;
    let info = WindowPoStVerifyInfo {
        randomness: Randomness(randomness.to_vec()),
        proofs,
        challenged_sectors: sectors
            .iter()
            .map(|s| SectorInfo {
                proof: s.seal_proof,
                sector_number: s.sector_number,
                sealed_cid: s.sealed_cid,
            })
            .collect(),
        prover: env::receiver_id(),
    };
    Ok(matches!(
        ferrite_actor_rt::sdk::crypto::verify_post(&info),
        Ok(true)
    ))
}
