//! The driver's SnapDeals steps: which committed-capacity sector takes a
//! deal piece, and the actions of the update states (the tasks, the proof's
//! check, the wait for a deadline that may be changed, the message).

use ferrite_types::{ChainEpoch, SectorNumber};
use tracing::{debug, info};

use super::{Pipeline, lock, now_secs, send_failure, task_failed, unavailable};
use crate::chain::{UpdateInput, UpdateWindow};
use crate::packing::{deal_pieces, snap_candidates};
use crate::{
    Action, DealPiece, Event, MessageCid, SealingError, SectorRecord, SectorState, Task, Update,
};

impl Pipeline {
    /// SnapDeals: puts `deal` into a proven committed-capacity sector that
    /// does not expire before the deal ends; `None` if there is none.
    pub(super) async fn snap_into_cc(
        &self,
        deal: &DealPiece,
        records: &[SectorRecord],
    ) -> Result<Option<SectorNumber>, SealingError> {
        let event = Event::AssignPiece {
            piece: deal.clone(),
        };
        for number in snap_candidates(records) {
            let on_chain = self
                .chain
                .proven(number.0)
                .await
                .map_err(|e| unavailable("look up a CC sector", e))?;
            let Some(sector) = on_chain else { continue };
            if sector.expiration < deal.end.0 {
                debug!(
                    sector = number.0,
                    deal = %deal.deal,
                    "the CC sector expires at {}, before the deal ends at {}",
                    sector.expiration,
                    deal.end
                );
                continue;
            }
            let _writing = lock(&self.writing);
            let record = self.record(number)?;
            if let Ok(next) = record.apply(event.clone(), &self.policy, now_secs()) {
                self.records
                    .put(&next)
                    .map_err(|e| SealingError::Fatal(e.into()))?;
                info!(sector = %record.id, deal = %deal.deal, "updating a CC sector with a deal piece (SnapDeals)");
                return Ok(Some(number));
            }
        }
        Ok(None)
    }

    /// Carries out an update state's `action`; the event it produced, if any.
    pub(super) async fn act_update(
        &self,
        record: &SectorRecord,
        action: Action,
    ) -> Result<Option<Event>, SealingError> {
        use SectorState as S;
        let id = record.id;
        let n = id.number.0;
        Ok(match (action, &record.state) {
            (Action::UpdateEncode, S::UpdateEncode { base, .. }) => Some(
                match self.tasks.update_encode(id, base.proof, &base.pieces).await {
                    Ok(Update { comm_r, comm_d }) => Event::UpdateEncoded { comm_r, comm_d },
                    Err(e) => task_failed(Task::UpdateEncode, e),
                },
            ),
            (Action::UpdateProve, S::UpdateProve { base, key, update }) => Some(
                match self
                    .tasks
                    .update_prove(id, base.proof, key.sealed.comm_r, update)
                    .await
                {
                    Ok(proof) => Event::UpdateProved { proof },
                    Err(e) => task_failed(Task::UpdateProve, e),
                },
            ),
            (
                Action::VerifyAndSendUpdate,
                S::UpdateReady {
                    base,
                    key,
                    update,
                    proof,
                },
            ) => {
                if let Some(landed) = self.update_on_chain(n, update).await? {
                    return Ok(Some(landed));
                }
                let (deadline, partition) = match self
                    .chain
                    .update_window(n)
                    .await
                    .map_err(|e| unavailable("find the sector's deadline", e))?
                {
                    UpdateWindow::Open {
                        deadline,
                        partition,
                    } => (deadline, partition),
                    UpdateWindow::Wait(why) => {
                        debug!(sector = n, "the update waits: {why}");
                        return Ok(None);
                    }
                };
                // Verified once the update may go, not at every wait.
                match self
                    .tasks
                    .verify_update(base.proof, key.sealed.comm_r, update, proof)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        return Ok(Some(Event::ProofInvalid {
                            reason: "the verifier rejected the update proof".to_string(),
                        }));
                    }
                    Err(e) => {
                        return Ok(Some(Event::ProofInvalid {
                            reason: format!("the update proof could not be verified: {e:#}"),
                        }));
                    }
                }
                let deals: Vec<&DealPiece> = deal_pieces(&base.pieces).collect();
                let input = UpdateInput {
                    number: n,
                    proof: base.proof,
                    deadline,
                    partition,
                    comm_r_new: update.comm_r,
                    deals: &deals,
                    proof_bytes: &proof.0,
                };
                Some(match self.chain.send_update(&input).await {
                    Ok(cid) => {
                        info!(sector = n, message = %cid, deadline, partition, "sent the replica update");
                        Event::UpdateSent {
                            message: MessageCid(cid.to_string()),
                        }
                    }
                    Err(e) => Event::UpdateFailed {
                        reason: send_failure("send the replica update", e)?,
                    },
                })
            }
            (
                Action::WaitUpdate,
                S::Updating {
                    update, message, ..
                },
            ) => match self.update_on_chain(n, update).await? {
                Some(landed) => Some(landed),
                None => self
                    .failed_message(message)
                    .await?
                    .map(|reason| Event::UpdateFailed { reason }),
            },
            (Action::FinalizeUpdate, S::UpdateFinalizing { .. }) => {
                Some(match self.tasks.finalize_update(id).await {
                    Ok(()) => Event::Finalized,
                    Err(e) => task_failed(Task::FinalizeUpdate, e),
                })
            }
            (action, state) => {
                return Err(SealingError::Fatal(anyhow::anyhow!(
                    "no way to run {action:?} in {}",
                    state.name()
                )));
            }
        })
    }

    /// `UpdateLanded` if the chain holds the sector with the update's CommR.
    async fn update_on_chain(
        &self,
        n: u64,
        update: &Update,
    ) -> Result<Option<Event>, SealingError> {
        let sector = self
            .chain
            .proven(n)
            .await
            .map_err(|e| unavailable("look up the sector", e))?;
        let Some(sector) = sector else {
            return Ok(None);
        };
        if sector.sealed_cid != update.comm_r.to_cid() {
            return Ok(None);
        }
        let head = self
            .chain
            .head()
            .await
            .map_err(|e| unavailable("read the chain head", e))?;
        Ok(Some(Event::UpdateLanded {
            epoch: ChainEpoch(head),
        }))
    }
}
