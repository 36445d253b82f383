//! WinningPoSt on the devnet: who wins a block, what the winner proves, and
//! the check a block passes before the node accepts it.
//!
//! **The election rule is the devnet's, not Filecoin's.** One node produces
//! every block for one configured miner ([`crate::devnet::Devnet::set_block_miner`]):
//!
//! - While that miner has no power (no raw-byte claim in the power actor, in
//!   the block's *parent* state), it is in bootstrap: it is credited with the
//!   block and paid the block reward, and the block carries no election
//!   proof and no WinningPoSt, since there is no proven sector to prove.
//! - Once it has power (a non-zero raw-byte claim: its first Window PoSt
//!   activated a sector), it is elected at *every* epoch, with a win count
//!   of 1. The block then carries a real election proof and a real
//!   WinningPoSt, both checked by [`crate::devnet::Devnet::validate_winning_post`]
//!   before the block is executed; only a block that passes is credited to
//!   the miner and rewarded. If the proofs cannot be made (no prover
//!   registered, a replica missing, a proof that fails its check), the
//!   block is produced without a winner (miner f00, no reward) and a
//!   warning is logged: the chain never stalls on a proof.
//! - **A remote block miner** (one whose node mines as lotus-miner does, over
//!   `MinerGetBaseInfo`, `MinerCreateBlock` and `SyncSubmitBlock`; `ferrite
//!   run` does) is the same configured miner, with no prover registered on
//!   the devnet. Once it has power the block producer, at its tick for
//!   height h, waits for the miner's block at h for up to `[devnet]
//!   remote_block_wait_ms` (default 10 s): a block submitted in time and
//!   valid becomes the head, and the producer moves on to h+1. If none
//!   comes, the producer makes block h without a winner (f00, no reward)
//!   and logs a warning: the chain never stalls on a remote miner, but while
//!   the miner has power and is away, each block takes that wait. The
//!   devnet takes submitted blocks only from the configured block miner,
//!   only once it has power (its bootstrap blocks are the producer's), and
//!   only on the head (one block per epoch, no forks, no null rounds).
//!   Their ticket is the worker's VRF, checked as Lotus checks it
//!   ([`check_ticket`]); the devnet's own blocks carry its deterministic
//!   tickets.
//!
//! Filecoin differs: the win count is drawn from the VRF output against the
//! miner's share of the network's quality-adjusted power (a Poisson draw, 5
//! expected winners per epoch), and Lotus reads the power and the sector set
//! from a lookback state (`GetWinningPoStSectorSetLookback`: 900 epochs,
//! chain finality, since network version 4), not the parent state. With one
//! miner holding all the power and one block per epoch, the devnet fixes the
//! win count at 1 and needs no lookback.
//!
//! What *is* as in Lotus (`MinerGetBaseInfo`, `IsRoundWinner`, `mineOne`):
//!
//! ```text
//!  base   = the block's last beacon entry (round = the block's height h)
//!  entropy = CBOR of the miner's ID address
//!  election seed = DrawRandomness(base, ElectionProofProduction, h, entropy)
//!  vrf_proof     = BLS signature of the election seed by the worker key (ComputeVRF)
//!  post seed     = DrawRandomness(base, WinningPoStChallengeSeed, h, entropy)
//!  sector set    = the miner's active sectors (every partition's), by number
//!  challenged    = generate_winning_post_sector_challenge(post seed, |set|) → indices
//!  win_post_proof = the WinningPoSt over the challenged sectors (their on-chain CommR)
//!  block_sig     = BLS signature of the header (block_sig empty) by the worker key
//! ```
//!
//! The devnet's beacon is not drand (see [`crate::randomness`]): anyone can
//! compute the seeds ahead of time. The proofs are real all the same.

use std::collections::BTreeSet;

use ferrite_proofs::post::{ChainSector, PostProofBytes, VerifyPostInput};
use ferrite_types::{ActorId, CommR, PostKind, PostProof, PostRandomness, SectorNumber};
use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18 as power;
use fvm::state_tree::StateTree;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::crypto::signature::{Signature, SignatureType};
use fvm_shared::sector::{PoStProof, RegisteredSealProof, StoragePower};

use crate::ChainError;
use crate::block::{BlockHeader, ElectionProof};
use crate::blockstore::DbBlockstore;
use crate::genesis::POWER_ACTOR;
use crate::randomness::{self, DomainSeparationTag};
use crate::state::{FvmContext, actor_by_address};

/// The win count of an elected devnet block (see the module docs).
pub const WIN_COUNT: i64 = 1;

/// What a block's winner must prove: a WinningPoSt over the challenged sectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinningPostRequest {
    /// The miner (its actor ID; the proofs are bound to it).
    pub miner: ActorId,
    /// The block's height.
    pub epoch: ChainEpoch,
    /// The challenge randomness (the post seed, masked to a field element).
    pub randomness: PostRandomness,
    /// The WinningPoSt kind, from the miner's Window PoSt kind.
    pub proof: PostProof,
    /// The challenged sectors, with their on-chain CommR.
    pub sectors: Vec<ChainSector>,
}

/// What the node does to win a block: sign with the miner's worker key and
/// prove its replicas. Block production calls [`BlockProver::prove`] (and
/// the VRF's `sign`) before it takes the head lock, so a slow SNARK delays
/// only the block; it calls the block signature's `sign` under the head
/// lock. Neither may call back into the chain.
pub trait BlockProver: Send + Sync + std::fmt::Debug {
    /// Signs `data` with the key of `key` (the worker's BLS key): the
    /// election VRF (Lotus's `ComputeVRF`) and the block signature.
    fn sign(&self, key: &Address, data: &[u8]) -> anyhow::Result<Signature>;
    /// The WinningPoSt of `req` (one proof for a WinningPoSt).
    fn prove(&self, req: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>>;
}

/// A miner's standing for the block at some height, read from the parent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// No raw-byte power: it may produce bootstrap blocks without proofs.
    NoPower,
    /// Power, but no active sector to challenge: it cannot win.
    NoSectors,
    /// Elected: what it must sign and prove.
    Elected(Box<Election>),
}

/// An elected miner's duties for one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    /// The miner (an ID address).
    pub miner: Address,
    /// The worker's key address (BLS), which signs the VRF and the block.
    pub worker_key: Address,
    /// The election seed the VRF signs.
    pub election_seed: [u8; 32],
    /// The WinningPoSt to make.
    pub request: WinningPostRequest,
    /// The challenged sectors as the chain holds them (`MinerGetBaseInfo`'s
    /// `Sectors`), in the order of `request.sectors`.
    pub sectors: Vec<ChallengedSector>,
    /// The miner's quality-adjusted power.
    pub miner_power: StoragePower,
    /// The network's quality-adjusted power.
    pub network_power: StoragePower,
}

/// A challenged sector, as Lotus's `ExtendedSectorInfo` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengedSector {
    /// Its seal proof.
    pub seal_proof: RegisteredSealProof,
    /// Its number.
    pub number: u64,
    /// Its sealed CID (CommR).
    pub sealed_cid: cid::Cid,
    /// The CommR before its last SnapDeals update, if it had one.
    pub sector_key: Option<cid::Cid>,
}

/// Randomness drawn from the devnet beacon entry of round `round`, as
/// Lotus's `DrawRandomnessFromBase` draws it from a block's beacon entry.
pub fn beacon_draw(tag: DomainSeparationTag, round: ChainEpoch, entropy: &[u8]) -> [u8; 32] {
    let base = randomness::digest(&randomness::beacon_entry(round));
    randomness::draw_from_digest(&base, tag as i64, round, entropy)
}

fn entropy(miner: &Address) -> Result<Vec<u8>, ChainError> {
    fvm_ipld_encoding::to_vec(miner)
        .map_err(|e| ChainError::Internal(anyhow::anyhow!("encode the miner address: {e}")))
}

fn internal(what: &str, e: impl std::fmt::Display) -> ChainError {
    ChainError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// The standing of `miner` for the block at `height` over the parent state `tree`.
pub fn standing(
    bs: &DbBlockstore,
    tree: &StateTree<DbBlockstore>,
    miner: &Address,
    height: ChainEpoch,
) -> Result<Standing, ChainError> {
    let Ok(miner_id) = miner.id() else {
        return Ok(Standing::NoPower);
    };
    let power_actor = tree
        .get_actor(POWER_ACTOR)
        .fvm("read the power actor")?
        .ok_or_else(|| internal("read the power actor", "missing"))?;
    let power_state: power::State = bs
        .get_cbor(&power_actor.state)
        .map_err(|e| internal("read the power state", e))?
        .ok_or_else(|| internal("read the power state", "missing"))?;
    let claim = power_state
        .get_claim(bs, miner)
        .map_err(|e| internal("read the power claim", e))?;
    let Some(claim) = claim.filter(|c| c.raw_byte_power > 0.into()) else {
        return Ok(Standing::NoPower);
    };
    let actor = actor_by_address(tree, miner)?
        .ok_or_else(|| ChainError::NotFound(format!("actor {miner} not found")))?;
    let st: miner::State = bs
        .get_cbor(&actor.state)
        .map_err(|e| internal("read the miner state", e))?
        .ok_or_else(|| internal("read the miner state", "missing"))?;
    let info = st
        .get_info(bs)
        .map_err(|e| internal("read the miner info", e))?;
    let window = PostProof::try_from(info.window_post_proof_type)
        .map_err(|e| internal("the miner's Window PoSt kind", e))?;
    let proof = PostProof {
        kind: PostKind::Winning,
        size: window.size,
    };
    let active = active_sectors(bs, &st)?;
    if active.is_empty() {
        return Ok(Standing::NoSectors);
    }
    let entropy = entropy(miner)?;
    let randomness = PostRandomness::new(beacon_draw(
        DomainSeparationTag::WinningPoStChallengeSeed,
        height,
        &entropy,
    ));
    let indices = ferrite_proofs::post::winning_post_challenge(
        proof,
        ActorId(miner_id),
        randomness,
        u64::try_from(active.len()).unwrap_or(u64::MAX),
    )
    .map_err(|e| internal("draw the winning post challenge", e))?;
    let ordered: Vec<u64> = active.into_iter().collect();
    let mut sectors = Vec::with_capacity(indices.len());
    let mut challenged = Vec::with_capacity(indices.len());
    for i in indices {
        let number = usize::try_from(i)
            .ok()
            .and_then(|i| ordered.get(i))
            .copied()
            .ok_or_else(|| internal("the winning post challenge", format!("index {i}")))?;
        let on_chain = st
            .get_sector(bs, number)
            .map_err(|e| internal("read a challenged sector", e))?
            .ok_or_else(|| internal("read a challenged sector", format!("{number} missing")))?;
        let comm_r = CommR::from_cid(&on_chain.sealed_cid)
            .map_err(|e| internal("a challenged sector's CommR", e))?;
        sectors.push(ChainSector {
            number: SectorNumber(number),
            comm_r,
        });
        challenged.push(ChallengedSector {
            seal_proof: on_chain.seal_proof,
            number,
            sealed_cid: on_chain.sealed_cid,
            sector_key: on_chain.sector_key_cid,
        });
    }
    let worker_key = crate::devnet::account_key_in(bs, tree, &info.worker)?;
    Ok(Standing::Elected(Box::new(Election {
        miner: *miner,
        worker_key,
        election_seed: beacon_draw(
            DomainSeparationTag::ElectionProofProduction,
            height,
            &entropy,
        ),
        request: WinningPostRequest {
            miner: ActorId(miner_id),
            epoch: height,
            randomness,
            proof,
            sectors,
        },
        sectors: challenged,
        miner_power: claim.quality_adj_power,
        network_power: power_state.total_quality_adj_power,
    })))
}

/// The miner's active sectors (in every deadline's partitions: live, not
/// faulty, proven), as Lotus's `GetSectorsForWinningPoSt` takes them.
fn active_sectors(bs: &DbBlockstore, st: &miner::State) -> Result<BTreeSet<u64>, ChainError> {
    let deadlines = st
        .load_deadlines(bs)
        .map_err(|e| internal("load deadlines", e))?;
    let mut out = BTreeSet::new();
    deadlines
        .for_each(bs, |_, d| {
            d.partitions_amt(bs)?.for_each(|_, p| {
                out.extend(p.active_sectors().iter());
                Ok(())
            })?;
            Ok(())
        })
        .map_err(|e| internal("read partitions", e))?;
    Ok(out)
}

/// The election seed (what the VRF signs) and the WinningPoSt challenge
/// seed of `miner` for the block at `height`, drawn from that block's beacon
/// entry `beacon` as a miner draws them (Lotus's `DrawRandomnessFromBase`);
/// on the devnet they equal [`Election::election_seed`] and the request's
/// randomness.
pub fn mining_seeds(
    miner: &Address,
    height: ChainEpoch,
    beacon: &[u8],
) -> Result<([u8; 32], PostRandomness), ChainError> {
    let entropy = entropy(miner)?;
    let base = randomness::digest(beacon);
    let draw = |tag: DomainSeparationTag| {
        randomness::draw_from_digest(&base, tag as i64, height, &entropy)
    };
    Ok((
        draw(DomainSeparationTag::ElectionProofProduction),
        PostRandomness::new(draw(DomainSeparationTag::WinningPoStChallengeSeed)),
    ))
}

/// The seed a block's ticket signs, as Lotus's miner draws it
/// (`computeTicket`): from the block's last beacon entry `beacon`, at round
/// `height - 1` (a ticket lookback of one epoch), over the miner's CBOR
/// address followed by the parent's ticket.
pub fn ticket_seed(
    miner: &Address,
    height: ChainEpoch,
    beacon: &[u8],
    parent_ticket: &[u8],
) -> Result<[u8; 32], ChainError> {
    let mut entropy = entropy(miner)?;
    entropy.extend_from_slice(parent_ticket);
    Ok(randomness::draw_from_digest(
        &randomness::digest(beacon),
        DomainSeparationTag::TicketProduction as i64,
        height - 1,
        &entropy,
    ))
}

/// Why the ticket of a block submitted by a remote miner (`SyncSubmitBlock`)
/// is not its worker's VRF over [`ticket_seed`], or `Ok`. The devnet's own
/// blocks carry the devnet's deterministic tickets instead (see
/// [`crate::randomness`]).
pub fn check_ticket(
    header: &BlockHeader,
    election: &Election,
    parent_ticket: &[u8],
) -> Result<(), String> {
    let ticket = header.ticket.as_ref().ok_or("the block has no ticket")?;
    let beacon = header
        .beacon_entries
        .last()
        .ok_or("the block has no beacon entry")?;
    let seed = ticket_seed(&header.miner, header.height, &beacon.data, parent_ticket)
        .map_err(|e| e.to_string())?;
    Signature::new_bls(ticket.vrf_proof.clone())
        .verify(&seed, &election.worker_key)
        .map_err(|e| format!("the ticket is not the worker's VRF: {e}"))
}

/// The bytes a block signature covers: the header's CBOR with no signature
/// (Lotus's `SigningBytes`).
pub fn signing_bytes(header: &BlockHeader) -> Result<Vec<u8>, ChainError> {
    let mut unsigned = header.clone();
    unsigned.block_sig = None;
    fvm_ipld_encoding::to_vec(&unsigned).map_err(|e| internal("encode the block header", e))
}

/// What an elected miner brings to its block: the election proof (its VRF)
/// and the WinningPoSt.
#[derive(Debug, Clone, PartialEq)]
pub struct ElectionProofs {
    /// The election proof, win count [`WIN_COUNT`].
    pub election_proof: ElectionProof,
    /// The WinningPoSt.
    pub win_post_proof: Vec<PoStProof>,
}

/// The election proof and WinningPoSt of `election`, made by `prover`.
/// This is the slow part (the SNARK); it needs no block.
pub fn prove_election(
    prover: &dyn BlockProver,
    election: &Election,
) -> anyhow::Result<ElectionProofs> {
    let vrf = prover.sign(&election.worker_key, &election.election_seed)?;
    anyhow::ensure!(
        vrf.sig_type == SignatureType::BLS,
        "the election VRF must be a BLS signature"
    );
    Ok(ElectionProofs {
        election_proof: ElectionProof {
            win_count: WIN_COUNT,
            vrf_proof: vrf.bytes().to_vec(),
        },
        win_post_proof: prover.prove(&election.request)?,
    })
}

/// Makes `header` the elected miner's: its proofs, then the block
/// signature by the worker key over the rest of the header.
pub fn sign_block(
    prover: &dyn BlockProver,
    election: &Election,
    proofs: ElectionProofs,
    header: &mut BlockHeader,
) -> anyhow::Result<()> {
    header.miner = election.miner;
    header.election_proof = Some(proofs.election_proof);
    header.win_post_proof = proofs.win_post_proof;
    header.block_sig = None;
    let sig = prover.sign(&election.worker_key, &signing_bytes(header)?)?;
    header.block_sig = Some(sig);
    Ok(())
}

/// Why `header` does not meet `standing` (its miner's, in its parent state),
/// or `Ok`. The rule: a miner with power must carry a valid election proof,
/// WinningPoSt and block signature; a miner without power must carry none
/// of them; a miner with power but no active sector cannot produce a block.
pub fn check(header: &BlockHeader, standing: &Standing) -> Result<(), String> {
    let election = match standing {
        Standing::NoPower => {
            if header.election_proof.is_some() || !header.win_post_proof.is_empty() {
                return Err(format!(
                    "{} has no power but the block carries an election proof or a WinningPoSt",
                    header.miner
                ));
            }
            return Ok(());
        }
        Standing::NoSectors => {
            return Err(format!(
                "{} has power but no active sector to prove",
                header.miner
            ));
        }
        Standing::Elected(e) => e,
    };
    let beacon = randomness::beacon_entry(header.height);
    if header.beacon_entries.last().map(|b| b.data.as_slice()) != Some(beacon.as_slice()) {
        return Err("the block's beacon entry is not the devnet beacon's".to_string());
    }
    let ep = header
        .election_proof
        .as_ref()
        .ok_or("the block has no election proof")?;
    if ep.win_count != WIN_COUNT {
        return Err(format!(
            "win count {} (the devnet's is {WIN_COUNT})",
            ep.win_count
        ));
    }
    Signature::new_bls(ep.vrf_proof.clone())
        .verify(&election.election_seed, &election.worker_key)
        .map_err(|e| format!("the election VRF does not verify: {e}"))?;
    let sig = header.block_sig.as_ref().ok_or("the block is not signed")?;
    if sig.sig_type != SignatureType::BLS {
        return Err("the block signature is not a BLS signature".to_string());
    }
    let bytes = signing_bytes(header).map_err(|e| e.to_string())?;
    sig.verify(&bytes, &election.worker_key)
        .map_err(|e| format!("the block signature does not verify: {e}"))?;
    let proofs = header
        .win_post_proof
        .iter()
        .map(|p| {
            let proof =
                PostProof::try_from(p.post_proof).map_err(|e| format!("WinningPoSt kind: {e}"))?;
            if proof != election.request.proof {
                return Err(format!(
                    "a {proof} proof where {} is due",
                    election.request.proof
                ));
            }
            Ok(PostProofBytes {
                proof,
                bytes: p.proof_bytes.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let ok = ferrite_proofs::post::verify_winning_post(&VerifyPostInput {
        miner: election.request.miner,
        randomness: election.request.randomness,
        sectors: election.request.sectors.clone(),
        proofs,
    })
    .map_err(|e| format!("the WinningPoSt could not be checked: {e:#}"))?;
    if !ok {
        return Err("the WinningPoSt does not verify".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_lotus_draws_from_the_blocks_beacon_entry() {
        let miner = Address::new_id(1000);
        let entropy = fvm_ipld_encoding::to_vec(&miner).unwrap();
        // CBOR of an ID address: a byte string of protocol 0 and the uvarint.
        assert_eq!(entropy, vec![0x43, 0x00, 0xe8, 0x07]);
        let base = randomness::digest(&randomness::beacon_entry(42));
        assert_eq!(
            beacon_draw(DomainSeparationTag::WinningPoStChallengeSeed, 42, &entropy),
            randomness::draw_from_digest(&base, 3, 42, &entropy)
        );
        assert_ne!(
            beacon_draw(DomainSeparationTag::WinningPoStChallengeSeed, 42, &entropy),
            beacon_draw(DomainSeparationTag::ElectionProofProduction, 42, &entropy)
        );
        assert_ne!(
            beacon_draw(DomainSeparationTag::WinningPoStChallengeSeed, 42, &entropy),
            beacon_draw(DomainSeparationTag::WinningPoStChallengeSeed, 43, &entropy)
        );
    }
}
