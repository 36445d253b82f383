//! Locked rewards vesting over time, kept inline in the miner state (v16+
//! layout): `null` when empty, otherwise the earliest entry inline (it may
//! have been drawn down to zero) and the rest as a CBOR list in a block.

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::VestingFund;
use ferrite_actor_types::policy::VestSpec;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use multihash_codetable::Code;
use num_traits::Zero;
use serde::{Deserialize, Serialize};

use super::QuantSpec;

/// The vesting schedule (transparent `Option<[head, tail]>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VestingFunds(pub Option<VestingFundsInner>);

/// A non-empty vesting schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct VestingFundsInner {
    /// The earliest entry.
    pub head: VestingFund,
    /// CID of the CBOR list of the remaining entries.
    pub tail: Cid,
}

/// Sums and removes the leading entries that vest before `current_epoch`.
fn take_vested(funds: &mut Vec<VestingFund>, current_epoch: ChainEpoch) -> TokenAmount {
    let n = funds.iter().take_while(|f| f.epoch < current_epoch).count();
    funds.drain(..n).map(|f| f.amount).sum()
}

impl VestingFunds {
    /// An empty schedule.
    pub fn new() -> Self {
        Self(None)
    }

    /// All entries in epoch order (a zero head is left out).
    pub fn load(&self, store: &impl Blockstore) -> ActorResult<Vec<VestingFund>> {
        let Some(inner) = &self.0 else {
            return Ok(Vec::new());
        };
        let mut funds: Vec<VestingFund> = store
            .get_cbor(&inner.tail)
            .state_err("load vesting funds")?
            .ok_or_else(|| ActorError::illegal_state("missing vesting funds block"))?;
        if inner.head.amount.is_positive() {
            funds.insert(0, inner.head.clone());
        }
        Ok(funds)
    }

    fn save(&mut self, store: &impl Blockstore, mut funds: Vec<VestingFund>) -> ActorResult<()> {
        if funds.is_empty() {
            self.0 = None;
            return Ok(());
        }
        let head = funds.remove(0);
        let tail = store
            .put_cbor(&funds, Code::Blake2b256)
            .state_err("store vesting funds")?;
        self.0 = Some(VestingFundsInner { head, tail });
        Ok(())
    }

    /// Removes and returns the funds vested before `current_epoch`.
    pub fn unlock_vested_funds(
        &mut self,
        store: &impl Blockstore,
        current_epoch: ChainEpoch,
    ) -> ActorResult<TokenAmount> {
        let can_vest = self
            .0
            .as_ref()
            .is_some_and(|v| v.head.epoch < current_epoch);
        if !can_vest {
            return Ok(TokenAmount::zero());
        }
        let mut funds = self.load(store)?;
        let unlocked = take_vested(&mut funds, current_epoch);
        self.save(store, funds)?;
        Ok(unlocked)
    }

    /// Schedules `vesting_sum` to vest per `spec` from `current_epoch`
    /// (quantized relative to `proving_period_start`); returns the funds
    /// that have already vested (old entries before `current_epoch`).
    pub fn add_locked_funds(
        &mut self,
        store: &impl Blockstore,
        current_epoch: ChainEpoch,
        vesting_sum: &TokenAmount,
        proving_period_start: ChainEpoch,
        spec: &VestSpec,
    ) -> ActorResult<TokenAmount> {
        if spec.vest_period <= 0 || spec.step_duration <= 0 {
            return Err(ActorError::illegal_state("invalid vesting spec"));
        }
        let begin = current_epoch + spec.initial_delay;
        let quant = QuantSpec {
            unit: spec.quantization,
            offset: proving_period_start,
        };

        // New entries: linear vesting, one step per `step_duration`.
        let mut new_funds = Vec::new();
        let mut vested = TokenAmount::zero();
        let mut epoch = begin;
        while vested < *vesting_sum {
            epoch += spec.step_duration;
            let vest_epoch = quant.quantize_up(epoch);
            let elapsed = vest_epoch - begin;
            let target = if elapsed < spec.vest_period {
                (vesting_sum * elapsed).div_floor(spec.vest_period)
            } else {
                vesting_sum.clone()
            };
            new_funds.push(VestingFund {
                epoch: vest_epoch,
                amount: &target - &vested,
            });
            vested = target;
        }

        // Merge with the existing schedule by epoch.
        let old = self.load(store)?;
        let mut merged = Vec::with_capacity(old.len() + new_funds.len());
        let (mut a, mut b) = (old.into_iter().peekable(), new_funds.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.epoch == y.epoch => {
                    let (x, y) = (a.next(), b.next());
                    match (x, y) {
                        (Some(x), Some(y)) => VestingFund {
                            epoch: x.epoch,
                            amount: x.amount + y.amount,
                        },
                        _ => break,
                    }
                }
                (Some(x), Some(y)) if x.epoch < y.epoch => match a.next() {
                    Some(x) => x,
                    None => break,
                },
                (Some(_), Some(_)) | (None, Some(_)) => match b.next() {
                    Some(y) => y,
                    None => break,
                },
                (Some(_), None) => match a.next() {
                    Some(x) => x,
                    None => break,
                },
                (None, None) => break,
            };
            merged.push(next);
        }
        let unlocked = take_vested(&mut merged, current_epoch);
        self.save(store, merged)?;
        Ok(unlocked)
    }

    /// Unlocks up to `target` of unvested funds (earliest first), also
    /// releasing whatever had vested. Returns `(vested, unvested)`.
    pub fn unlock_vested_and_unvested_funds(
        &mut self,
        store: &impl Blockstore,
        current_epoch: ChainEpoch,
        target: &TokenAmount,
    ) -> ActorResult<(TokenAmount, TokenAmount)> {
        let Some(inner) = &mut self.0 else {
            return Ok((TokenAmount::zero(), TokenAmount::zero()));
        };
        let mut target = target.clone();
        // Fast path: the head alone covers the target and has not vested.
        if inner.head.epoch >= current_epoch && inner.head.amount >= target {
            inner.head.amount -= &target;
            return Ok((TokenAmount::zero(), target));
        }
        let mut vested = TokenAmount::zero();
        let mut unvested = TokenAmount::zero();
        let mut left = Vec::new();
        let mut funds = self.load(store)?.into_iter();
        for mut f in funds.by_ref() {
            if f.epoch < current_epoch {
                vested += f.amount;
                continue;
            }
            if f.amount < target {
                target -= &f.amount;
                unvested += &f.amount;
                continue;
            }
            unvested += &target;
            f.amount -= &target;
            left.push(f);
            break;
        }
        left.extend(funds);
        self.save(store, left)?;
        Ok((vested, unvested))
    }
}
