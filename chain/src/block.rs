//! Block headers and tipsets, in Lotus's CBOR layout, so that their CIDs and
//! JSON are what Lotus tooling expects. The devnet makes one block per epoch,
//! so a tipset is one block.

use cid::Cid;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{strict_bytes, to_vec};
use fvm_shared::address::Address;
use fvm_shared::bigint::{BigInt, bigint_ser};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::PoStProof;

use crate::message::cbor_cid;

/// A block's ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Ticket {
    /// On mainnet a VRF proof; on the devnet see [`crate::randomness::ticket`].
    #[serde(with = "strict_bytes")]
    pub vrf_proof: Vec<u8>,
}

/// Proof that the miner won the election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ElectionProof {
    /// How many wins.
    pub win_count: i64,
    /// The VRF proof.
    #[serde(with = "strict_bytes")]
    pub vrf_proof: Vec<u8>,
}

/// A randomness beacon entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BeaconEntry {
    /// The beacon round.
    pub round: u64,
    /// The entry.
    #[serde(with = "strict_bytes")]
    pub data: Vec<u8>,
}

/// A block header (Lotus's field order).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct BlockHeader {
    /// The block's miner.
    pub miner: Address,
    /// Its ticket.
    pub ticket: Option<Ticket>,
    /// Its election proof.
    pub election_proof: Option<ElectionProof>,
    /// Beacon entries since the parent.
    pub beacon_entries: Vec<BeaconEntry>,
    /// Winning PoSt proofs.
    pub win_post_proof: Vec<PoStProof>,
    /// The parent tipset's block CIDs.
    pub parents: Vec<Cid>,
    /// The chain weight at the parent.
    #[serde(with = "bigint_ser")]
    pub parent_weight: BigInt,
    /// The epoch.
    pub height: ChainEpoch,
    /// The state after the parent's messages.
    pub parent_state_root: Cid,
    /// The AMT of the parent's message receipts.
    pub parent_message_receipts: Cid,
    /// The [`TxMeta`] of this block's messages.
    pub messages: Cid,
    /// The aggregate signature of the BLS messages.
    pub bls_aggregate: Option<Signature>,
    /// Unix seconds.
    pub timestamp: u64,
    /// The miner's signature over the header.
    pub block_sig: Option<Signature>,
    /// Reserved.
    pub fork_signaling: u64,
    /// The base fee the parent's messages paid.
    pub parent_base_fee: TokenAmount,
}

impl BlockHeader {
    /// The header's CID.
    pub fn cid(&self) -> anyhow::Result<Cid> {
        Ok(cbor_cid(&to_vec(self)?))
    }
}

/// A block's messages: the roots of two AMTs of message CIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TxMeta {
    /// BLS messages (stored unsigned).
    pub bls_message_root: Cid,
    /// secp256k1 messages (stored signed).
    pub secp_message_root: Cid,
}

/// A tipset: the blocks of one epoch (on the devnet, exactly one).
#[derive(Debug, Clone, PartialEq)]
pub struct TipSet {
    /// The blocks.
    pub blocks: Vec<BlockHeader>,
    /// Their CIDs, the tipset's key.
    pub key: Vec<Cid>,
}

impl TipSet {
    /// The tipset of one block.
    pub fn single(block: BlockHeader) -> anyhow::Result<Self> {
        let key = vec![block.cid()?];
        Ok(Self {
            blocks: vec![block],
            key,
        })
    }

    /// The epoch.
    pub fn height(&self) -> ChainEpoch {
        self.blocks.first().map(|b| b.height).unwrap_or_default()
    }

    /// The state its messages execute on.
    pub fn parent_state(&self) -> Option<Cid> {
        self.blocks.first().map(|b| b.parent_state_root)
    }

    /// The CID of the key, as the FVM's `get_tipset_cid` wants it.
    pub fn key_cid(&self) -> anyhow::Result<Cid> {
        Ok(cbor_cid(&to_vec(&self.key)?))
    }
}
