//! The server-wide bound on memory held for connections' data: bytes read and not yet echoed
//! (a frame or fragmented message being collected, a message in hand) and echoes not yet
//! written.
//!
//! Each connection keeps a [`Charge`] up to date with what it holds. When the total passes the
//! budget, the connection holding the most is told to close (1013, "try again later"), then the
//! next, until the total is back under; its buffers are dropped at once. Whoever holds the most
//! is the likeliest attacker, and closing it frees the most for everyone else, so a fresh client
//! with a small message still gets its echo however many big messages are stuck half-sent.
//!
//! Charges move in steps of [`CHARGE_STEP_BYTES`] and are only written to the shared total when
//! they change step, so a flood of small messages costs no shared-memory traffic per message.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::Waker,
};

use futures_util::task::AtomicWaker;
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};

/// Granularity of a connection's charge: it is rounded up to a multiple of this, never down, so
/// the total over-counts by less than this per connection holding anything.
pub const CHARGE_STEP_BYTES: usize = 16 * 1024;

/// The smallest budget allowed, as a multiple of `--max-message-bytes`: echoing one message of
/// the largest size holds it about twice (collected, and encoded for writing), with room to
/// spare for other connections.
pub const MIN_BUDGET_MESSAGES: usize = 4;

/// The default budget when `--memory-budget` is not given: this, or [`MIN_BUDGET_MESSAGES`]
/// messages of the largest size, whichever is more.
pub const DEFAULT_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// The budget that goes with a message limit when none is set.
pub fn default_budget(max_message_bytes: usize) -> usize {
    DEFAULT_BUDGET_BYTES.max(max_message_bytes.saturating_mul(MIN_BUDGET_MESSAGES))
}

/// What `/metrics` shows of the budget; made by [`crate::metrics::Metrics`], kept up to date
/// here.
#[derive(Debug, Clone, Default)]
pub struct BudgetGauges {
    /// Bytes charged now, all connections together.
    pub held: Gauge,
    /// The budget itself.
    pub budget: Gauge,
    /// Connections closed because the budget was reached.
    pub closed: Counter,
}

/// One connection's side of the budget, shared with the budget so it can be chosen and told.
#[derive(Debug)]
struct Holder {
    peer: Option<SocketAddr>,
    held: AtomicUsize,
    told_to_close: AtomicBool,
    /// What it held when told to close: counted as being released until it is gone.
    releasing: AtomicUsize,
    waker: AtomicWaker,
}

/// The server-wide budget; one per server, shared by every worker.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    gauges: BudgetGauges,
    /// Bytes held by connections told to close that have not let go yet: not counted again when
    /// choosing whom to close next.
    releasing: AtomicUsize,
    holders: Mutex<Holders>,
    /// The server is shutting down: every connection is told through its charge's waker (the
    /// budget knows every connection already; a shutdown future in each would cost hundreds of
    /// bytes per idle connection).
    stopping: AtomicBool,
}

#[derive(Debug, Default)]
struct Holders {
    next_id: u64,
    by_id: HashMap<u64, Arc<Holder>>,
}

impl MemoryBudget {
    pub fn new(limit: usize, gauges: BudgetGauges) -> Arc<Self> {
        gauges.budget.set(i64::try_from(limit).unwrap_or(i64::MAX));
        Arc::new(MemoryBudget {
            limit,
            gauges,
            releasing: AtomicUsize::new(0),
            holders: Mutex::new(Holders::default()),
            stopping: AtomicBool::new(false),
        })
    }

    /// Shutdown: every connection's charge says so from now on, and each is woken to hear it.
    pub fn stop_all(&self) {
        self.stopping.store(true, Ordering::Release);
        for holder in self.lock().by_id.values() {
            holder.waker.wake();
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes charged now, all connections together.
    pub fn held(&self) -> usize {
        usize::try_from(self.gauges.held.get()).unwrap_or(0)
    }

    /// A new connection's charge, starting at nothing.
    pub fn open(self: &Arc<Self>, peer: Option<SocketAddr>) -> Charge {
        let holder = Arc::new(Holder {
            peer,
            held: AtomicUsize::new(0),
            told_to_close: AtomicBool::new(false),
            releasing: AtomicUsize::new(0),
            waker: AtomicWaker::new(),
        });
        let mut holders = self.lock();
        let id = holders.next_id;
        holders.next_id += 1;
        holders.by_id.insert(id, Arc::clone(&holder));
        Charge {
            budget: Arc::clone(self),
            holder,
            id,
            charged: 0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Holders> {
        // The map stays consistent even if a holder of the lock panicked: every change to it
        // is a single insert or remove.
        self.holders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Over the budget: tells the biggest holders to close until what stays is within it.
    fn reclaim(&self) {
        let holders = self.lock();
        loop {
            let held = self.held();
            let releasing = self.releasing.load(Ordering::Acquire);
            if held.saturating_sub(releasing) <= self.limit {
                return;
            }
            let biggest = holders
                .by_id
                .values()
                .filter(|h| !h.told_to_close.load(Ordering::Acquire))
                .max_by_key(|h| h.held.load(Ordering::Acquire));
            let Some(biggest) = biggest else { return };
            let amount = biggest.held.load(Ordering::Acquire);
            if amount == 0 {
                return;
            }
            biggest.releasing.store(amount, Ordering::Release);
            self.releasing.fetch_add(amount, Ordering::AcqRel);
            biggest.told_to_close.store(true, Ordering::Release);
            self.gauges.closed.inc();
            tracing::warn!(
                peer = %crate::logging::peer_text(biggest.peer),
                held_bytes = amount,
                total_bytes = held,
                budget_bytes = self.limit,
                "memory budget reached: closing the connection holding the most with 1013"
            );
            biggest.waker.wake();
        }
    }
}

/// What one connection holds, kept in the server-wide total. Dropping it gives everything back.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<MemoryBudget>,
    holder: Arc<Holder>,
    id: u64,
    /// What the shared total has for this connection: `held` rounded up to a step.
    charged: usize,
}

impl Charge {
    /// Records that the connection now holds `bytes`. Past the budget, the biggest holders
    /// (maybe this one) are told to close.
    pub fn set(&mut self, bytes: usize) {
        let charged = bytes.div_ceil(CHARGE_STEP_BYTES) * CHARGE_STEP_BYTES;
        if charged == self.charged {
            return;
        }
        self.holder.held.store(charged, Ordering::Release);
        let gauge = &self.budget.gauges.held;
        if charged > self.charged {
            let grown = charged - self.charged;
            let before = usize::try_from(gauge.inc_by(grown as i64)).unwrap_or(0);
            self.charged = charged;
            if before + grown > self.budget.limit {
                self.budget.reclaim();
            }
        } else {
            let freed = self.charged - charged;
            gauge.dec_by(freed as i64);
            self.charged = charged;
            // Told to close and letting go: what it frees is no longer on its way back.
            let promised = self.holder.releasing.load(Ordering::Acquire);
            if promised > 0 {
                let settled = promised.min(freed);
                self.holder
                    .releasing
                    .store(promised - settled, Ordering::Release);
                self.budget.releasing.fetch_sub(settled, Ordering::AcqRel);
            }
        }
    }

    /// Whether anything is charged: only such a connection can be told to close.
    pub fn holds_any(&self) -> bool {
        self.charged > 0
    }

    /// Whether the budget told this connection to close.
    pub fn told_to_close(&self) -> bool {
        self.holder.told_to_close.load(Ordering::Acquire)
    }

    /// Whether the server is shutting down ([`MemoryBudget::stop_all`]).
    pub fn server_stopping(&self) -> bool {
        self.budget.stopping.load(Ordering::Acquire)
    }

    /// Wakes `waker` when the budget tells this connection to close, or the server stops.
    pub fn wake_on_close(&self, waker: &Waker) {
        self.holder.waker.register(waker);
    }

    /// The budget this charge counts in.
    pub fn budget(&self) -> &Arc<MemoryBudget> {
        &self.budget
    }

    /// A handle that says, after the connection is gone, whether the budget closed it.
    pub fn verdict(&self) -> Verdict {
        Verdict(Arc::clone(&self.holder))
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.set(0);
        // Promised more than it held at the end (it shrank before it was told): settle the rest.
        let promised = self.holder.releasing.swap(0, Ordering::AcqRel);
        if promised > 0 {
            self.budget.releasing.fetch_sub(promised, Ordering::AcqRel);
        }
        self.budget.lock().by_id.remove(&self.id);
    }
}

/// Whether the budget closed a connection, readable after its [`Charge`] is gone.
#[derive(Debug, Clone)]
pub struct Verdict(Arc<Holder>);

impl Verdict {
    pub fn closed_for_memory(&self) -> bool {
        self.0.told_to_close.load(Ordering::Acquire)
    }

    /// The connection's peer, as its charge was opened with (kept here once, not again in the
    /// connection's task).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.0.peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: usize) -> Arc<MemoryBudget> {
        MemoryBudget::new(limit, BudgetGauges::default())
    }

    #[test]
    fn charges_add_up_in_steps_and_are_given_back() {
        let budget = budget(1 << 30);
        let mut a = budget.open(None);
        let mut b = budget.open(None);
        a.set(1);
        b.set(CHARGE_STEP_BYTES + 1);
        assert_eq!(budget.held(), 3 * CHARGE_STEP_BYTES);
        a.set(0);
        assert_eq!(budget.held(), 2 * CHARGE_STEP_BYTES);
        drop(b);
        assert_eq!(budget.held(), 0);
        assert!(!a.told_to_close());
    }

    #[test]
    fn past_the_budget_the_biggest_holder_is_told_to_close_whoever_asked() {
        let step = CHARGE_STEP_BYTES;
        let budget = budget(10 * step);
        let mut big = budget.open(None);
        let mut small = budget.open(None);
        let mut newcomer = budget.open(None);
        let verdict = big.verdict();
        big.set(7 * step);
        small.set(2 * step);
        assert!(!big.told_to_close() && !small.told_to_close());
        // The newcomer's 2 steps take the total to 11: the biggest goes, not the newcomer.
        newcomer.set(2 * step);
        assert!(big.told_to_close());
        assert!(!small.told_to_close() && !newcomer.told_to_close());
        assert_eq!(budget.gauges.closed.get(), 1);
        // Until it lets go, growing a little more closes nobody else: its 7 steps are coming back.
        newcomer.set(3 * step);
        assert!(!small.told_to_close() && !newcomer.told_to_close());
        big.set(0);
        assert_eq!(
            budget.releasing.load(Ordering::Acquire),
            0,
            "what it gave back is no longer counted as on its way"
        );
        drop(big);
        assert!(verdict.closed_for_memory());
        assert_eq!(budget.held(), 5 * step);
        assert_eq!(budget.releasing.load(Ordering::Acquire), 0);
        // A single connection over the whole budget is closed itself.
        newcomer.set(11 * step);
        assert!(newcomer.told_to_close());
    }

    #[test]
    fn default_budget_follows_the_message_limit() {
        assert_eq!(default_budget(1024), DEFAULT_BUDGET_BYTES);
        assert_eq!(default_budget(100 << 20), 400 << 20);
    }
}
