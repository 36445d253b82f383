//! The pipeline's chain steps, through the [`Chain`] trait (the embedded
//! devnet or a Lotus node alike): the seal ticket, precommit batches,
//! the interactive seed, the prove-commit, SnapDeals' replica update (when
//! the sector's deadline allows it), and the checks that make each
//! step idempotent (a sector already precommitted or proven on chain is
//! reported as such instead of being sent again).
//!
//! Messages carry builtin-actors v18's parameters, built with the v18 types,
//! exactly as a node sends them to mainnet.

use std::sync::Arc;

use cid::Cid;
use ferrite_chain::ChainError;
use ferrite_chain::api::{Chain, Execution, PreCommitSummary, SectorSummary};
use ferrite_types::{CommD, CommR, SealProof, SectorSize, Seed, Ticket};
use fil_actor_miner_state::v18 as miner;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;

use crate::DealPiece;

/// The storage market actor (f05), notified of each deal piece activated.
const STORAGE_MARKET_ACTOR: Address = Address::new_id(5);

/// Randomness tags (Filecoin's domain separation).
const TAG_SEAL_RANDOMNESS: i64 = 5;
const TAG_INTERACTIVE_SEAL_CHALLENGE_SEED: i64 = 6;

/// What the chain steps need to know about the network and the miner.
#[derive(Debug, Clone)]
pub struct ChainStepsConfig {
    /// The miner actor (its ID address).
    pub miner: Address,
    /// The address that sends the miner's messages (its worker or a control
    /// address held by the node's wallet).
    pub sender: Address,
    /// Epochs between a precommit landing and its interactive seed
    /// (builtin-actors' `PRE_COMMIT_CHALLENGE_DELAY`: 150 on mainnet, 10 on
    /// the devnet).
    pub pre_commit_challenge_delay: ChainEpoch,
    /// How far back the seal ticket is drawn (Lotus: 900 epochs on mainnet
    /// for finality; a devnet can use 1).
    pub ticket_lookback: ChainEpoch,
    /// The sector's lifetime requested at precommit, in epochs.
    pub sector_lifetime: ChainEpoch,
    /// Sent with a precommit: the part of the deposit the miner's available
    /// balance does not cover (0: the balance pays it all).
    pub precommit_value: TokenAmount,
    /// Sent with a prove-commit: the part of the initial pledge the miner's
    /// available balance does not cover.
    pub provecommit_value: TokenAmount,
}

/// A sector ready to precommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreCommitInput {
    /// The sector number.
    pub number: u64,
    /// Its seal proof.
    pub proof: SealProof,
    /// CommR from PC2.
    pub comm_r: CommR,
    /// CommD, when the sector holds deals; `None` for committed capacity.
    pub comm_d: Option<CommD>,
    /// The epoch its ticket was drawn at.
    pub ticket_epoch: ChainEpoch,
    /// The latest end epoch of its deals (0 for committed capacity): the
    /// sector must not expire before it.
    pub deals_end: ChainEpoch,
}

/// Whether an update may be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateWindow {
    /// It may: the sector's place on chain.
    Open {
        /// Its deadline.
        deadline: u64,
        /// Its partition in the deadline.
        partition: u64,
    },
    /// Not yet, and why.
    Wait(String),
}

/// One sector's update, as ProveReplicaUpdates3 carries it.
#[derive(Debug, Clone)]
pub struct UpdateInput<'a> {
    /// The sector number.
    pub number: u64,
    /// Its seal proof.
    pub proof: SealProof,
    /// Its deadline.
    pub deadline: u64,
    /// Its partition.
    pub partition: u64,
    /// The new replica's CommR.
    pub comm_r_new: CommR,
    /// The deal pieces in the new data.
    pub deals: &'a [&'a DealPiece],
    /// The update proof.
    pub proof_bytes: &'a [u8],
}

/// A sector's expiration at precommit: its lifetime from the head, or later
/// when a deal in it ends later (the market refuses to activate a deal in a
/// sector that expires before the deal ends).
pub fn expiration(head: ChainEpoch, lifetime: ChainEpoch, deals_end: ChainEpoch) -> ChainEpoch {
    (head + lifetime).max(deals_end)
}

/// The chain steps of one miner.
pub struct ChainSteps {
    chain: Arc<dyn Chain>,
    cfg: ChainStepsConfig,
}

impl std::fmt::Debug for ChainSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSteps")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl ChainSteps {
    /// The steps of `cfg.miner` on `chain`.
    pub fn new(chain: Arc<dyn Chain>, cfg: ChainStepsConfig) -> Self {
        Self { chain, cfg }
    }

    /// The configuration.
    pub fn config(&self) -> &ChainStepsConfig {
        &self.cfg
    }

    fn entropy(&self) -> Result<Vec<u8>, ChainError> {
        fvm_ipld_encoding::to_vec(&self.cfg.miner)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("encode the miner address: {e}")))
    }

    /// The seal ticket: randomness from the chain's tickets, drawn
    /// `ticket_lookback` epochs behind the head, as the miner actor will
    /// draw it to check the proof.
    pub async fn ticket(&self) -> Result<(Ticket, ChainEpoch), ChainError> {
        let head = self.chain.head().await?;
        let epoch = (head.height - self.cfg.ticket_lookback.max(1)).max(0);
        let bytes = self
            .chain
            .ticket_randomness(TAG_SEAL_RANDOMNESS, epoch, &self.entropy()?)
            .await?;
        Ok((Ticket(bytes), epoch))
    }

    /// The v18 parameters of a precommit batch.
    pub fn precommit_params(
        &self,
        sectors: &[PreCommitInput],
        head: ChainEpoch,
    ) -> miner::PreCommitSectorBatchParams2 {
        miner::PreCommitSectorBatchParams2 {
            sectors: sectors
                .iter()
                .map(|s| miner::SectorPreCommitInfo {
                    seal_proof: s.proof.into(),
                    sector_number: s.number,
                    sealed_cid: s.comm_r.to_cid(),
                    seal_rand_epoch: s.ticket_epoch,
                    // v18 activates deals through the prove-commit's
                    // piece manifests, not deal IDs here.
                    deal_ids: vec![],
                    expiration: expiration(head, self.cfg.sector_lifetime, s.deals_end),
                    unsealed_cid: match s.comm_d {
                        Some(d) => miner::CompactCommD::of(d.to_cid()),
                        None => miner::CompactCommD::empty(),
                    },
                })
                .collect(),
        }
    }

    /// Sends one `PreCommitSectorBatch2` for `sectors`; returns its CID.
    pub async fn send_precommit(&self, sectors: &[PreCommitInput]) -> Result<Cid, ChainError> {
        let head = self.chain.head().await?;
        let params = self.precommit_params(sectors, head.height);
        self.send(
            miner::Method::PreCommitSectorBatch2 as u64,
            &params,
            self.cfg.precommit_value.clone(),
        )
        .await
    }

    /// The sector's precommit on chain, if it has landed and is not yet
    /// proven.
    pub async fn precommit(&self, number: u64) -> Result<Option<PreCommitSummary>, ChainError> {
        self.chain.precommit(&self.cfg.miner, number).await
    }

    /// The epoch of the interactive seed of a sector precommitted at
    /// `precommit_epoch`.
    pub fn seed_epoch(&self, precommit_epoch: ChainEpoch) -> ChainEpoch {
        precommit_epoch + self.cfg.pre_commit_challenge_delay
    }

    /// The interactive seed, once the chain is past its epoch; `None` before.
    pub async fn seed(
        &self,
        precommit_epoch: ChainEpoch,
    ) -> Result<Option<(Seed, ChainEpoch)>, ChainError> {
        let epoch = self.seed_epoch(precommit_epoch);
        let head = self.chain.head().await?;
        if head.height <= epoch {
            return Ok(None);
        }
        let bytes = self
            .chain
            .beacon_randomness(TAG_INTERACTIVE_SEAL_CHALLENGE_SEED, epoch, &self.entropy()?)
            .await?;
        Ok(Some((Seed(bytes), epoch)))
    }

    /// The activation manifest of each deal piece: its CID and size, and a
    /// notification to the storage market with the deal ID, so the market
    /// activates the deal (builtin-actors' `SectorContentChanged`). Fillers
    /// are left out: the miner computes CommD from these pieces and pads
    /// with zeros, as the fillers are.
    pub fn piece_manifests(
        deals: &[&DealPiece],
    ) -> Result<Vec<miner::PieceActivationManifest>, ChainError> {
        deals
            .iter()
            .map(|d| {
                let payload = RawBytes::serialize(d.deal.0).map_err(|e| {
                    ChainError::Internal(anyhow::anyhow!("encode deal ID {}: {e}", d.deal))
                })?;
                Ok(miner::PieceActivationManifest {
                    cid: d.piece.comm_p.to_cid(),
                    size: fvm_shared::piece::PaddedPieceSize(d.piece.size.bytes()),
                    verified_allocation_key: None,
                    notify: vec![miner::DataActivationNotification {
                        address: STORAGE_MARKET_ACTOR,
                        payload,
                    }],
                })
            })
            .collect()
    }

    /// Sends `ProveCommitSectors3` for one sector with its C2 proof (the
    /// caller verifies the proof first) and the activation manifests of its
    /// deal pieces; returns the message's CID.
    pub async fn send_prove_commit(
        &self,
        number: u64,
        proof: &[u8],
        deals: &[&DealPiece],
    ) -> Result<Cid, ChainError> {
        let params = miner::ProveCommitSectors3Params {
            sector_activations: vec![miner::SectorActivationManifest {
                sector_number: number,
                pieces: Self::piece_manifests(deals)?,
            }],
            sector_proofs: vec![RawBytes::new(proof.to_vec())],
            aggregate_proof: RawBytes::default(),
            aggregate_proof_type: None,
            require_activation_success: true,
            require_notification_success: true,
        };
        self.send(
            miner::Method::ProveCommitSectors3 as u64,
            &params,
            self.cfg.provecommit_value.clone(),
        )
        .await
    }

    /// Where sector `number` sits (its deadline and partition), and whether
    /// ProveReplicaUpdates3 may change it now: the sector must be active
    /// (proven by a Window PoSt, not faulty), and its deadline neither the
    /// one open now nor the next one (builtin-actors' `deadline_is_mutable`).
    pub async fn update_window(&self, number: u64) -> Result<UpdateWindow, ChainError> {
        let miner = &self.cfg.miner;
        let count = self.chain.deadlines(miner).await?.len() as u64;
        for deadline in 0..count {
            let partitions = self.chain.partitions(miner, deadline).await?;
            let Some(partition) = partitions.iter().position(|p| p.all.get(number)) else {
                continue;
            };
            if !partitions[partition].active.get(number) {
                return Ok(UpdateWindow::Wait(format!(
                    "sector {number} is not active (its first Window PoSt is not in yet, or it is faulty)"
                )));
            }
            let current = self.chain.proving_deadline(miner).await?.index;
            if count > 0 && (deadline == current || deadline == (current + 1) % count) {
                return Ok(UpdateWindow::Wait(format!(
                    "its deadline {deadline} is open or next (deadline {current} is open)"
                )));
            }
            return Ok(UpdateWindow::Open {
                deadline,
                partition: partition as u64,
            });
        }
        Ok(UpdateWindow::Wait(format!(
            "sector {number} is in no partition of miner {miner}"
        )))
    }

    /// Sends `ProveReplicaUpdates3` for one sector: its new CommR, the
    /// activation manifest of each deal piece (notifying the market, as at
    /// prove-commit) and the update proof; returns the message's CID.
    pub async fn send_update(&self, update: &UpdateInput<'_>) -> Result<Cid, ChainError> {
        let seal: fvm_shared::sector::RegisteredSealProof = update.proof.into();
        let update_proofs_type = seal
            .registered_update_proof()
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("update proof of {seal:?}: {e}")))?;
        let params = miner::ProveReplicaUpdates3Params {
            sector_updates: vec![miner::SectorUpdateManifest {
                sector: update.number,
                deadline: update.deadline,
                partition: update.partition,
                new_sealed_cid: update.comm_r_new.to_cid(),
                pieces: Self::piece_manifests(update.deals)?,
            }],
            sector_proofs: vec![RawBytes::new(update.proof_bytes.to_vec())],
            aggregate_proof: RawBytes::default(),
            update_proofs_type,
            aggregate_proof_type: None,
            require_activation_success: true,
            require_notification_success: true,
        };
        self.send(
            miner::Method::ProveReplicaUpdates3 as u64,
            &params,
            TokenAmount::default(),
        )
        .await
    }

    /// The sector on chain, once proven.
    pub async fn proven(&self, number: u64) -> Result<Option<SectorSummary>, ChainError> {
        self.chain.sector(&self.cfg.miner, number).await
    }

    /// Where message `cid` executed, once it has (its receipt says whether
    /// it failed).
    pub async fn executed(&self, cid: &Cid) -> Result<Option<Execution>, ChainError> {
        self.chain.search(cid).await
    }

    /// The chain head's epoch.
    pub async fn head(&self) -> Result<ChainEpoch, ChainError> {
        Ok(self.chain.head().await?.height)
    }

    /// The seal proof of the miner's sectors, from its sector size on chain.
    pub async fn seal_proof(&self) -> Result<SealProof, ChainError> {
        let info = self.chain.miner_info(&self.cfg.miner).await?;
        let size = SectorSize::from_bytes(info.sector_size)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("miner {}: {e}", self.cfg.miner)))?;
        Ok(SealProof::new(size))
    }

    async fn send<P: serde::Serialize>(
        &self,
        method: u64,
        params: &P,
        value: TokenAmount,
    ) -> Result<Cid, ChainError> {
        let params = RawBytes::serialize(params)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("encode parameters: {e}")))?;
        let msg = Message {
            version: 0,
            from: self.cfg.sender,
            to: self.cfg.miner,
            sequence: 0,
            value,
            method_num: method,
            params,
            // Estimated by the chain.
            gas_limit: 0,
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
        };
        self.chain.send(msg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sector_outlives_its_deals() {
        assert_eq!(expiration(100, 1000, 0), 1100);
        assert_eq!(expiration(100, 1000, 1100), 1100);
        assert_eq!(expiration(100, 1000, 5000), 5000);
    }
}
