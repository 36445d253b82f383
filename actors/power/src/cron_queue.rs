//! The cron queue: miners' callbacks waiting for their epoch, laid out as
//! v18's multimap: a HAMT (bit width 6) keyed by the zigzag varint of the
//! epoch, whose values are roots of AMTs (bit width 6) holding that epoch's
//! [`CronEvent`]s in the order they were enrolled.

use cid::Cid;
use ferrite_actor_rt::keys::i64_key;
use ferrite_actor_rt::{ActorBlockstore, ActorResult, WithCode};
use ferrite_actor_types::power::{CRON_QUEUE_AMT_BITWIDTH, CRON_QUEUE_HAMT_BITWIDTH, CronEvent};
use fvm_ipld_amt::Amt;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::clock::ChainEpoch;

/// The cron queue, loaded.
pub struct CronQueue(Hamt<ActorBlockstore, Cid, BytesKey>);

impl CronQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self(Hamt::new_with_bit_width(
            ActorBlockstore,
            CRON_QUEUE_HAMT_BITWIDTH,
        ))
    }

    /// The queue at `root`.
    pub fn load(root: &Cid) -> ActorResult<Self> {
        Hamt::load_with_bit_width(root, ActorBlockstore, CRON_QUEUE_HAMT_BITWIDTH)
            .map(Self)
            .state_err("load cron queue")
    }

    /// Appends `event` to the events of `epoch`.
    pub fn add(&mut self, epoch: ChainEpoch, event: CronEvent) -> ActorResult<()> {
        let key = i64_key(epoch);
        let mut events = match self.0.get(&key).state_err("read cron queue")? {
            Some(root) => Amt::load(root, ActorBlockstore).state_err("load cron events")?,
            None => Amt::new_with_bit_width(ActorBlockstore, CRON_QUEUE_AMT_BITWIDTH),
        };
        events
            .set(events.count(), event)
            .state_err("append cron event")?;
        let root = events.flush().state_err("flush cron events")?;
        self.0.set(key, root).state_err("write cron queue")?;
        Ok(())
    }

    /// Removes and returns the events of `epoch`, in enrolment order.
    pub fn take(&mut self, epoch: ChainEpoch) -> ActorResult<Vec<CronEvent>> {
        let key = i64_key(epoch);
        let Some(root) = self.0.get(&key).state_err("read cron queue")?.copied() else {
            return Ok(Vec::new());
        };
        let events: Amt<CronEvent, _> =
            Amt::load(&root, ActorBlockstore).state_err("load cron events")?;
        let mut out = Vec::new();
        events
            .for_each(|_, e| {
                out.push(e.clone());
                Ok(())
            })
            .state_err("read cron events")?;
        self.0.delete(&key).state_err("remove cron events")?;
        Ok(out)
    }

    /// Writes the queue and returns its new root.
    pub fn flush(&mut self) -> ActorResult<Cid> {
        self.0.flush().state_err("flush cron queue")
    }
}

impl Default for CronQueue {
    fn default() -> Self {
        Self::new()
    }
}
