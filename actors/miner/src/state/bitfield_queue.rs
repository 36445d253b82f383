//! A queue of bitfields keyed by (quantized) epoch, in an AMT: the miner's
//! pre-commit cleanup queue and each deadline's partition expiration index.

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_shared::clock::ChainEpoch;

use super::{Array, QuantSpec};

/// Bitfields by quantized epoch.
pub struct BitFieldQueue<'db, BS> {
    /// The AMT (epoch → bitfield).
    pub amt: Array<'db, BitField, BS>,
    quant: QuantSpec,
}

impl<'db, BS: Blockstore> BitFieldQueue<'db, BS> {
    /// Loads the queue at `root`.
    pub fn new(store: &'db BS, root: &Cid, quant: QuantSpec) -> ActorResult<Self> {
        let amt = Array::load(root, store).state_err("load bitfield queue")?;
        Ok(Self { amt, quant })
    }

    /// Unions `values` into the entry of `raw_epoch` (quantized up).
    pub fn add_to_queue(&mut self, raw_epoch: ChainEpoch, values: &BitField) -> ActorResult<()> {
        if values.is_empty() {
            return Ok(());
        }
        let epoch = epoch_key(self.quant.quantize_up(raw_epoch))?;
        let prior = self
            .amt
            .get(epoch)
            .state_err("read bitfield queue")?
            .cloned()
            .unwrap_or_default();
        self.amt
            .set(epoch, &prior | values)
            .state_err("write bitfield queue")
    }

    /// Adds values given as integers.
    pub fn add_to_queue_values(
        &mut self,
        epoch: ChainEpoch,
        values: impl IntoIterator<Item = u64>,
    ) -> ActorResult<()> {
        let bf = BitField::try_from_bits(values)
            .map_err(|e| ActorError::illegal_argument(format!("bitfield values: {e}")))?;
        self.add_to_queue(epoch, &bf)
    }

    /// Removes `to_cut` from every entry, dropping entries that empty.
    pub fn cut(&mut self, to_cut: &BitField) -> ActorResult<()> {
        let mut emptied = Vec::new();
        self.amt
            .for_each_mut(|epoch, bf| {
                let left = bf.cut(to_cut);
                if left.is_empty() {
                    emptied.push(epoch);
                } else {
                    **bf = left;
                }
                Ok(())
            })
            .state_err("cut bitfield queue")?;
        self.amt
            .batch_delete(emptied, true)
            .state_err("delete emptied queue entries")?;
        Ok(())
    }

    /// Adds `(epoch, value)` pairs, grouping them by quantized epoch.
    pub fn add_many_to_queue_values(
        &mut self,
        values: impl IntoIterator<Item = (ChainEpoch, u64)>,
    ) -> ActorResult<()> {
        let mut grouped = std::collections::BTreeMap::<ChainEpoch, Vec<u64>>::new();
        for (raw_epoch, v) in values {
            grouped
                .entry(self.quant.quantize_up(raw_epoch))
                .or_default()
                .push(v);
        }
        for (epoch, mut vs) in grouped {
            vs.sort_unstable();
            vs.dedup();
            self.add_to_queue_values(epoch, vs)?;
        }
        Ok(())
    }

    /// Removes and unions all entries at or before `until`; the flag says
    /// whether anything was removed.
    pub fn pop_until(&mut self, until: ChainEpoch) -> ActorResult<(BitField, bool)> {
        let mut popped = BitField::new();
        let mut keys = Vec::new();
        self.amt
            .for_each_while(|epoch, bf| {
                if epoch as ChainEpoch > until {
                    return Ok(false);
                }
                keys.push(epoch);
                popped |= bf;
                Ok(true)
            })
            .state_err("read bitfield queue")?;
        if keys.is_empty() {
            return Ok((BitField::new(), false));
        }
        self.amt
            .batch_delete(keys, true)
            .state_err("pop bitfield queue")?;
        Ok((popped, true))
    }
}

/// An epoch as an AMT index (epochs before 0 cannot be stored).
pub(crate) fn epoch_key(epoch: ChainEpoch) -> ActorResult<u64> {
    u64::try_from(epoch)
        .map_err(|_| ActorError::illegal_state(format!("negative queue epoch {epoch}")))
}
