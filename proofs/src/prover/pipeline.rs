//! The C2 pipeline: synthesis of the next sectors' circuits on the CPU
//! overlaps with the proving of the current one.
//!
//! A C2 synthesizes its circuits as soon as the bridge lets it run (up to
//! `[proofs.limits] c2` at once), then waits, holding them, for one of the
//! process's `[proofs.limits] c2_proving` proving turns (its FFTs and
//! multiexps). Turns go in the order the C2s asked for them. With `c2 = 2`
//! and one turn, a GPU host synthesizes the next sector while the card
//! proves the current one:
//!
//! ```text
//!  C2 a: [synthesis a]─[proving a]
//!  C2 b: [synthesis b]─ wait ─────[proving b]
//!  C2 c:              [synthesis c]─ wait ──[proving c]
//! ```
//!
//! One turn suits one GPU, and a CPU host: bellperson's kernels take every
//! card the process sees unless `[proofs.gpu] gpus_per_proof` splits them,
//! and two CPU proofs at once only share the cores. A C2 waiting for its turn
//! holds its synthesized circuits in memory ([`stats`] reports how much), so
//! `c2` above `c2_proving + 1` buys nothing but memory use.
//!
//! PoSt takes no turn: its deadlines do not wait behind C2s (on a GPU,
//! bellperson's priority lock puts it first).

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

/// The proving turns of one process.
#[derive(Debug)]
pub struct Turns {
    capacity: usize,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Turns taken and not yet given back.
    proving: usize,
    /// The ticket of the next C2 to ask, and of the next to be served.
    next: u64,
    serving: u64,
    /// C2s waiting, and the memory their synthesized circuits take.
    waiting: usize,
    waiting_bytes: u64,
}

/// A proving turn, given back when dropped.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    turns: &'a Turns,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.turns.lock();
        state.proving = state.proving.saturating_sub(1);
        drop(state);
        self.turns.changed.notify_all();
    }
}

/// What the pipeline holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Proving turns per process (`[proofs.limits] c2_proving`).
    pub turns: usize,
    /// C2s proving now.
    pub proving: usize,
    /// C2s synthesized and waiting for a turn.
    pub waiting: usize,
    /// The memory their synthesized circuits hold, in bytes.
    pub waiting_bytes: u64,
}

impl Turns {
    /// `capacity` turns (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is counters only: a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a turn, first come first served, holding `bytes` of
    /// synthesized circuits meanwhile.
    pub(crate) fn take(&self, bytes: usize) -> Turn<'_> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        let mut state = self.lock();
        let ticket = state.next;
        state.next += 1;
        state.waiting += 1;
        state.waiting_bytes = state.waiting_bytes.saturating_add(bytes);
        while ticket != state.serving || state.proving >= self.capacity {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.serving += 1;
        state.proving += 1;
        state.waiting -= 1;
        state.waiting_bytes = state.waiting_bytes.saturating_sub(bytes);
        drop(state);
        // The next ticket may go too, if a turn is left.
        self.changed.notify_all();
        Turn { turns: self }
    }

    /// What these turns hold now.
    pub fn stats(&self) -> PipelineStats {
        let state = self.lock();
        PipelineStats {
            turns: self.capacity,
            proving: state.proving,
            waiting: state.waiting,
            waiting_bytes: state.waiting_bytes,
        }
    }
}

static TURNS: OnceLock<Turns> = OnceLock::new();

/// The process's turns, sized by `[proofs.limits] c2_proving` as
/// [`crate::init`] applied it (one before `init`).
pub(crate) fn turns() -> &'static Turns {
    TURNS.get_or_init(|| {
        Turns::new(
            crate::settings::applied()
                .map(|c| c.limits.c2_proving)
                .unwrap_or(1),
        )
    })
}

/// What the process's C2 pipeline holds now.
pub fn stats() -> PipelineStats {
    turns().stats()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn turns_are_capped_and_served_in_order() {
        let turns = Arc::new(Turns::new(1));
        let first = turns.take(10);
        assert_eq!(
            turns.stats(),
            PipelineStats {
                turns: 1,
                proving: 1,
                waiting: 0,
                waiting_bytes: 0
            }
        );
        let order = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..3u64 {
            // Each asks after the one before is queued, so the tickets are
            // 1, 2, 3 in this order.
            while turns.stats().waiting < i as usize {
                std::thread::yield_now();
            }
            let (turns, order, inside) = (turns.clone(), order.clone(), inside.clone());
            handles.push(std::thread::spawn(move || {
                let _turn = turns.take(100);
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two at once");
                order.lock().unwrap().push(i);
                std::thread::sleep(Duration::from_millis(5));
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        while turns.stats().waiting < 3 {
            std::thread::yield_now();
        }
        let s = turns.stats();
        assert_eq!((s.proving, s.waiting, s.waiting_bytes), (1, 3, 300));
        drop(first);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(
            turns.stats(),
            PipelineStats {
                turns: 1,
                ..PipelineStats::default()
            }
        );
    }

    #[test]
    fn two_turns_let_two_prove_at_once() {
        let turns = Turns::new(2);
        let a = turns.take(0);
        let b = turns.take(0);
        assert_eq!(turns.stats().proving, 2);
        drop((a, b));
        assert_eq!(turns.stats().proving, 0);
        assert_eq!(Turns::new(0).stats().turns, 1, "at least one turn");
    }
}
