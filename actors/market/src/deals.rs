//! Deal records: the proposals and deal-state AMTs, the deal CID, and the
//! checks and arithmetic on a single deal that the methods share.

use cid::Cid;
use cid::multihash::Multihash;
use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::market::{
    DealProposal, DealState, EX_DEAL_EXPIRED, PROPOSALS_AMT_BITWIDTH, STATES_AMT_BITWIDTH,
};
use fvm_ipld_amt::Amt;
use fvm_ipld_encoding::DAG_CBOR;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::commcid::{FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED};
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;

/// The multicodec code of blake2b-256.
const BLAKE2B_256: u64 = 0xb220;

/// "No epoch": the value of unset epochs in a [`DealState`].
pub const EPOCH_UNDEFINED: ChainEpoch = -1;

/// The CID of a proposal: CIDv1, DAG-CBOR, blake2b-256 of its CBOR.
pub fn deal_cid(p: &DealProposal) -> ActorResult<Cid> {
    let bytes = fvm_ipld_encoding::to_vec(p)
        .map_err(|e| ActorError::serialization(format!("encode proposal: {e}")))?;
    serialized_deal_cid(&bytes)
}

/// The deal CID of an already encoded proposal.
pub fn serialized_deal_cid(bytes: &[u8]) -> ActorResult<Cid> {
    let digest = fvm_sdk::crypto::hash_blake2b(bytes);
    let mh = Multihash::wrap(BLAKE2B_256, &digest)
        .map_err(|e| ActorError::assertion_failed(format!("wrap deal digest: {e}")))?;
    Ok(Cid::new_v1(DAG_CBOR, mh))
}

/// Whether `c` is a piece commitment (CommP) CID.
pub fn is_piece_cid(c: &Cid) -> bool {
    c.version() == cid::Version::V1
        && c.codec() == FIL_COMMITMENT_UNSEALED
        && c.hash().code() == SHA2_256_TRUNC254_PADDED
        && c.hash().size() == 32
}

/// The proposals AMT (bit width 5): DealID -> [`DealProposal`].
pub struct Proposals(Amt<DealProposal, ActorBlockstore>);

impl Proposals {
    /// A new, empty array.
    pub fn empty() -> Self {
        Self(Amt::new_with_bit_width(
            ActorBlockstore,
            PROPOSALS_AMT_BITWIDTH,
        ))
    }

    /// The array at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Amt::load(root, ActorBlockstore)
            .map(Self)
            .state_err("load proposals")
    }

    /// Writes the array and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush proposals")
    }

    /// The proposal of deal `id`, if it is still stored.
    pub fn find(&self, id: DealID) -> ActorResult<Option<DealProposal>> {
        Ok(self.0.get(id).state_err("read proposal")?.cloned())
    }

    /// The proposal of deal `id`; `EX_DEAL_EXPIRED` if the ID was used but
    /// the deal is gone, `USR_NOT_FOUND` if it was never allocated.
    pub fn get(&self, id: DealID, next_id: DealID) -> ActorResult<DealProposal> {
        self.find(id)?.ok_or_else(|| missing_deal(id, next_id))
    }

    /// Stores the proposal of deal `id`.
    pub fn set(&mut self, id: DealID, p: DealProposal) -> ActorResult<()> {
        self.0.set(id, p).state_err("write proposal")
    }

    /// Removes the proposal of deal `id`, returning it.
    pub fn delete(&mut self, id: DealID) -> ActorResult<Option<DealProposal>> {
        self.0.delete(id).state_err("delete proposal")
    }
}

/// The error for a deal ID without a proposal.
pub fn missing_deal(id: DealID, next_id: DealID) -> ActorError {
    if id < next_id {
        ActorError::new(EX_DEAL_EXPIRED, format!("deal {id} expired"))
    } else {
        ActorError::not_found(format!("no such deal {id}"))
    }
}

/// The deal states AMT (bit width 6): DealID -> [`DealState`].
pub struct DealStates(Amt<DealState, ActorBlockstore>);

impl DealStates {
    /// A new, empty array.
    pub fn empty() -> Self {
        Self(Amt::new_with_bit_width(
            ActorBlockstore,
            STATES_AMT_BITWIDTH,
        ))
    }

    /// The array at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Amt::load(root, ActorBlockstore)
            .map(Self)
            .state_err("load deal states")
    }

    /// Writes the array and returns its root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush deal states")
    }

    /// The state of deal `id`, if it was activated and is still stored.
    pub fn find(&self, id: DealID) -> ActorResult<Option<DealState>> {
        Ok(self.0.get(id).state_err("read deal state")?.copied())
    }

    /// Stores the state of deal `id`.
    pub fn set(&mut self, id: DealID, s: DealState) -> ActorResult<()> {
        self.0.set(id, s).state_err("write deal state")
    }

    /// Removes the state of deal `id`, returning it.
    pub fn delete(&mut self, id: DealID) -> ActorResult<Option<DealState>> {
        self.0.delete(id).state_err("delete deal state")
    }
}

/// The state of a deal activated now in `sector`.
pub fn new_deal_state(sector: u64, now: ChainEpoch) -> DealState {
    DealState {
        sector_number: sector,
        sector_start_epoch: now,
        last_updated_epoch: EPOCH_UNDEFINED,
        slash_epoch: EPOCH_UNDEFINED,
    }
}

/// Checks that `p` may be activated now by `provider` in a sector that
/// lasts until `sector_expiry`.
pub fn check_can_activate(
    p: &DealProposal,
    provider: &Address,
    sector_expiry: ChainEpoch,
    now: ChainEpoch,
) -> ActorResult<()> {
    if &p.provider != provider {
        return Err(ActorError::forbidden(format!(
            "deal provider is {}, not {provider}",
            p.provider
        )));
    }
    if now > p.start_epoch {
        // The same code as for a deal already cleaned up from state.
        return Err(ActorError::new(
            EX_DEAL_EXPIRED,
            format!("deal start epoch {} has passed (now {now})", p.start_epoch),
        ));
    }
    if p.end_epoch > sector_expiry {
        return Err(ActorError::illegal_argument(format!(
            "deal ends at {}, after the sector expires at {sector_expiry}",
            p.end_epoch
        )));
    }
    Ok(())
}

/// The fee still unpaid when a deal is terminated at `slash_epoch`:
/// `price * (end - max(slash, start))`.
pub fn payment_remaining(p: &DealProposal, slash_epoch: ChainEpoch) -> ActorResult<TokenAmount> {
    if slash_epoch > p.end_epoch {
        return Err(ActorError::illegal_state(format!(
            "deal terminated at {slash_epoch}, after its end {}",
            p.end_epoch
        )));
    }
    let from = slash_epoch.max(p.start_epoch);
    let left = p
        .end_epoch
        .checked_sub(from)
        .filter(|d| *d >= 0)
        .ok_or_else(|| {
            ActorError::illegal_state(format!(
                "negative remaining term for deal ending {}",
                p.end_epoch
            ))
        })?;
    Ok(&p.storage_price_per_epoch * left)
}
