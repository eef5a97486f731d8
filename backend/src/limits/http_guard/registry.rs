//! The server-wide bound on plain HTTP connections and each connection's [`Slot`]: what it is
//! doing (waiting for a request, in a request, upgraded) since when, and until when.
//!
//! Past `--max-http-connections` a new connection takes the place of the connection that has
//! waited longest for its next request head (an idle keep-alive, a head arriving byte by byte,
//! a TLS handshake that never comes), or, when none is waiting, of the one busy longest with a
//! request for more than the head timeout; only when every connection is younger than that is
//! the newcomer refused. An attacker who parks thousands of silent sockets therefore only ever
//! pushes out its own oldest ones, and a real client that connects after them gets in.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::{Duration, Instant},
};

use futures_util::task::AtomicWaker;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};

use super::head_record::HeadRecord;

/// Deadlines of a plain HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct HttpTimeouts {
    /// A request head (the first, or any later one on a keep-alive connection), and on TLS
    /// ports the TLS handshake before the first, must be whole within this of its first byte
    /// (of the connection's accept, for the first).
    pub head: Duration,
    /// A keep-alive connection may wait this long for its next request.
    pub keep_alive: Duration,
    /// A request, from its head to the end of its response, must be done within this.
    pub request: Duration,
}

/// The `echo_http_*` metrics.
#[derive(Debug, Clone, Default)]
pub struct HttpCounters {
    /// Plain HTTP connections open now.
    pub open: Gauge,
    /// Plain HTTP connections closed by the server, by `reason`.
    pub closed: Family<Vec<(&'static str, String)>, Counter>,
    /// New connections refused because every place was taken by a busy connection.
    pub refused: Counter,
}

/// Why the server closed a plain HTTP connection, as the `reason` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Closed {
    /// It waited longer than `--keep-alive` for its next request.
    Idle,
    /// Its request head (or TLS handshake) took longer than `--handshake-timeout`.
    SlowHead,
    /// Its request took longer than `--request-timeout`.
    SlowRequest,
    /// It made room for a new connection at `--max-http-connections`.
    MadeRoom,
}

impl Closed {
    fn from_u8(value: u8) -> Closed {
        match value {
            0 => Closed::Idle,
            1 => Closed::SlowHead,
            2 => Closed::SlowRequest,
            _ => Closed::MadeRoom,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Closed::Idle => "keep_alive_timeout",
            Closed::SlowHead => "head_timeout",
            Closed::SlowRequest => "request_timeout",
            Closed::MadeRoom => "made_room",
        }
    }
}

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Between requests (or before the first byte): nothing of a head has come yet.
    Idle = 0,
    /// Bytes of a request head (or of the TLS handshake) have come, the head is not whole yet.
    Head = 1,
    /// A request is being answered.
    Request = 2,
    /// Upgraded to a WebSocket: no longer an HTTP connection.
    Upgraded = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Request,
            _ => Phase::Upgraded,
        }
    }
}

/// One plain HTTP connection's place: its socket wrapper, the app's middleware and the upgrade
/// service hold it; dropped, the place is free.
#[derive(Debug)]
pub struct Slot {
    state: Arc<SlotState>,
    registry: Arc<HttpConnections>,
}

/// What the registry knows of a connection. Every field is written by the connection's own
/// task, except `closing`, set by whichever thread needs room or by the sweeper. (Kept apart
/// from [`Slot`], whose drop takes the registry's lock: the registry may drop its references
/// while holding it.)
#[derive(Debug)]
struct SlotState {
    id: u64,
    phase: AtomicU8,
    /// When the current phase began, in milliseconds since the registry's epoch.
    since_ms: AtomicU64,
    /// When the connection is closed unless its phase changes first (ms since the epoch).
    deadline_ms: AtomicU64,
    /// Bytes arrived while a request was being answered (a pipelined head, a body).
    read_in_request: AtomicBool,
    /// 0 while open; else 1 + the [`Closed`] reason the server closes it for.
    closing: AtomicU8,
    /// Wakes the connection's task when it is to close.
    waker: AtomicWaker,
    /// Whether the current head may still be kept ([`HeadRecord`]): checked without the lock.
    head_open: AtomicBool,
    /// Over TLS the head is observed above the TLS layer, not in the socket under it.
    over_tls: AtomicBool,
    /// The current request's raw head, if it asked to see itself.
    head: Mutex<HeadRecord>,
}

impl SlotState {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    fn closing(&self) -> Option<Closed> {
        match self.closing.load(Ordering::Acquire) {
            0 => None,
            n => Some(Closed::from_u8(n - 1)),
        }
    }

    fn is_evicted(&self) -> bool {
        self.closing() == Some(Closed::MadeRoom)
    }

    /// Tells the connection to close for `why`, once: false if it already was told.
    fn close_for(&self, why: Closed) -> bool {
        let told = self
            .closing
            .compare_exchange(0, why as u8 + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if told {
            self.waker.wake();
        }
        told
    }
}

impl Slot {
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    pub fn is_evicted(&self) -> bool {
        self.state.is_evicted()
    }

    /// Why the server is closing this connection, if it is.
    pub fn closing(&self) -> Option<Closed> {
        self.state.closing()
    }

    pub(super) fn waker(&self) -> &AtomicWaker {
        &self.state.waker
    }

    fn enter(&self, phase: Phase, now: u64, allowed: Duration) {
        self.state.phase.store(phase as u8, Ordering::Relaxed);
        self.state.since_ms.store(now, Ordering::Relaxed);
        self.state
            .deadline_ms
            .store(now.saturating_add(millis(allowed)), Ordering::Relaxed);
    }

    /// Bytes were read from the connection.
    pub fn bytes_arrived(&self) {
        match self.phase() {
            Phase::Idle => {
                let now = self.registry.now_ms();
                self.enter(Phase::Head, now, self.registry.timeouts.head);
            }
            Phase::Request => self.state.read_in_request.store(true, Ordering::Relaxed),
            Phase::Head | Phase::Upgraded => {}
        }
    }

    /// Bytes read as they came: kept if they are the head of a request that asks to see
    /// itself. `above_tls`: read from the TLS layer (plaintext), not the socket under it.
    pub fn observe_head(&self, bytes: &[u8], above_tls: bool) {
        if !self.state.head_open.load(Ordering::Relaxed)
            || above_tls != self.state.over_tls.load(Ordering::Relaxed)
        {
            return;
        }
        let mut head = self.head();
        head.observe(bytes);
        if !matches!(
            *head,
            HeadRecord::Start | HeadRecord::FirstLine(_) | HeadRecord::Recording(_)
        ) {
            self.state.head_open.store(false, Ordering::Relaxed);
        }
    }

    /// The connection is TLS: heads are observed above it.
    pub fn heads_over_tls(&self) {
        self.state.over_tls.store(true, Ordering::Relaxed);
    }

    /// The raw head of the current request, if it asked to see itself and it was kept whole.
    pub fn recorded_head(&self) -> Option<Vec<u8>> {
        self.head().recorded().map(<[u8]>::to_vec)
    }

    fn head(&self) -> MutexGuard<'_, HeadRecord> {
        // A record is replaced whole: a panic while one was held leaves a usable one.
        self.state
            .head
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A whole request head arrived and is being answered.
    pub fn request_started(&self) {
        if self.phase() == Phase::Upgraded {
            return;
        }
        self.state.read_in_request.store(false, Ordering::Relaxed);
        let now = self.registry.now_ms();
        self.enter(Phase::Request, now, self.registry.timeouts.request);
    }

    /// The response has been sent: the connection waits for its next request. If bytes came
    /// while it answered (a pipelined request), they may be part of the next head: its time
    /// runs from now.
    pub fn response_finished(&self) {
        if self.phase() != Phase::Request {
            return;
        }
        let now = self.registry.now_ms();
        let pipelined = self.state.read_in_request.swap(false, Ordering::Relaxed);
        // The next head is kept only if it starts with the next read: a pipelined one has
        // already come (in part), and where it starts is not known here.
        *self.head() = if pipelined {
            HeadRecord::Off
        } else {
            HeadRecord::Start
        };
        self.state.head_open.store(!pipelined, Ordering::Relaxed);
        if pipelined {
            self.enter(Phase::Head, now, self.registry.timeouts.head);
        } else {
            self.enter(Phase::Idle, now, self.registry.timeouts.keep_alive);
        }
    }

    /// The connection became a WebSocket: its place is free and its deadlines end. The waker
    /// of the task that served its HTTP goes too: a waker keeps its whole task's memory alive
    /// (actix's connection task, 10 KB over TLS), and the slot can outlive that task (the
    /// layers above the socket drop their handle only on their next poll).
    pub fn upgraded(&self) {
        self.state
            .phase
            .store(Phase::Upgraded as u8, Ordering::Relaxed);
        drop(self.state.waker.take());
        self.registry.remove(self.state.id);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.remove(self.state.id);
    }
}

/// Every plain HTTP connection of the server, at most `max`.
#[derive(Debug)]
pub struct HttpConnections {
    max: usize,
    timeouts: HttpTimeouts,
    epoch: Instant,
    counters: HttpCounters,
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    next_id: u64,
    by_id: HashMap<u64, Arc<SlotState>>,
}

/// A new connection found every place taken by a connection busy with a request.
#[derive(Debug)]
pub struct Full;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl HttpConnections {
    pub fn new(max: usize, timeouts: HttpTimeouts, counters: HttpCounters) -> Arc<Self> {
        let registry = Arc::new(HttpConnections {
            max: max.max(1),
            timeouts,
            epoch: Instant::now(),
            counters,
            slots: Mutex::new(Slots::default()),
        });
        let weak = Arc::downgrade(&registry);
        let spawned = std::thread::Builder::new()
            .name("http-deadlines".into())
            .spawn(move || sweep_until_gone(&weak));
        if let Err(error) = spawned {
            tracing::warn!("no thread for HTTP deadlines ({error}): slow requests are not closed");
        }
        registry
    }

    /// Tells every connection whose deadline has passed to close, and counts why.
    pub fn sweep(&self) {
        let now = self.now_ms();
        let slots = self.lock();
        for slot in slots.by_id.values() {
            let phase = slot.phase();
            if phase == Phase::Upgraded || slot.deadline_ms.load(Ordering::Relaxed) > now {
                continue;
            }
            let why = match phase {
                Phase::Idle => Closed::Idle,
                Phase::Head | Phase::Upgraded => Closed::SlowHead,
                Phase::Request => Closed::SlowRequest,
            };
            if slot.close_for(why) {
                self.count_closed(why);
            }
        }
    }

    /// Plain HTTP connections open now.
    pub fn open(&self) -> usize {
        self.lock().by_id.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    /// A place for a new connection, made by closing the one that waited longest if need be.
    pub fn admit(self: &Arc<Self>) -> Result<Arc<Slot>, Full> {
        let now = self.now_ms();
        let mut slots = self.lock();
        if slots.by_id.len() >= self.max {
            let Some(victim) = self.choose_victim(&slots, now) else {
                drop(slots);
                self.counters.refused.inc();
                return Err(Full);
            };
            slots.by_id.remove(&victim.id);
            if victim.close_for(Closed::MadeRoom) {
                self.count_closed(Closed::MadeRoom);
            }
        }
        slots.next_id += 1;
        let state = Arc::new(SlotState {
            id: slots.next_id,
            phase: AtomicU8::new(Phase::Idle as u8),
            since_ms: AtomicU64::new(now),
            // The first head (and the TLS handshake before it) is timed from the accept.
            deadline_ms: AtomicU64::new(now.saturating_add(millis(self.timeouts.head))),
            read_in_request: AtomicBool::new(false),
            closing: AtomicU8::new(0),
            waker: AtomicWaker::new(),
            head_open: AtomicBool::new(true),
            over_tls: AtomicBool::new(false),
            head: Mutex::new(HeadRecord::default()),
        });
        // Bytes that arrive are part of the first head: no keep-alive wait before it.
        state.phase.store(Phase::Head as u8, Ordering::Relaxed);
        slots.by_id.insert(state.id, Arc::clone(&state));
        self.counters.open.set(gauge_value(slots.by_id.len()));
        drop(slots);
        Ok(Arc::new(Slot {
            state,
            registry: Arc::clone(self),
        }))
    }

    fn count_closed(&self, why: Closed) {
        self.counters
            .closed
            .get_or_create(&vec![("reason", why.label().to_owned())])
            .inc();
    }

    /// The connection waiting longest for a request head, else the one busy longest with a
    /// request if that is longer than the head timeout.
    fn choose_victim(&self, slots: &Slots, now: u64) -> Option<Arc<SlotState>> {
        let mut waiting: Option<(u64, &Arc<SlotState>)> = None;
        let mut busy: Option<(u64, &Arc<SlotState>)> = None;
        // None while the server is younger than the head timeout: nobody is busy that long.
        let busy_long = now.checked_sub(millis(self.timeouts.head));
        for slot in slots.by_id.values() {
            if slot.is_evicted() {
                continue;
            }
            let since = slot.since_ms.load(Ordering::Relaxed);
            let best = match slot.phase() {
                Phase::Idle | Phase::Head => &mut waiting,
                Phase::Request if busy_long.is_some_and(|limit| since <= limit) => &mut busy,
                Phase::Request | Phase::Upgraded => continue,
            };
            if best.as_ref().is_none_or(|(oldest, _)| since < *oldest) {
                *best = Some((since, slot));
            }
        }
        waiting.or(busy).map(|(_, slot)| Arc::clone(slot))
    }

    fn remove(&self, id: u64) {
        let mut slots = self.lock();
        if slots.by_id.remove(&id).is_some() {
            self.counters.open.set(gauge_value(slots.by_id.len()));
        }
    }
}

/// How often deadlines are checked: one thread for all connections instead of a timer each
/// (a timer per connection cost memory that outlived the handshake). A deadline is met to
/// within this.
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// The sweeper thread: until the registry is dropped (its server stopped).
fn sweep_until_gone(registry: &std::sync::Weak<HttpConnections>) {
    loop {
        std::thread::sleep(SWEEP_EVERY);
        match registry.upgrade() {
            Some(registry) => registry.sweep(),
            None => return,
        }
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(max: usize) -> Arc<HttpConnections> {
        HttpConnections::new(
            max,
            HttpTimeouts {
                head: Duration::from_secs(5),
                keep_alive: Duration::from_secs(5),
                request: Duration::from_secs(60),
            },
            HttpCounters::default(),
        )
    }

    #[test]
    fn past_the_bound_the_longest_waiting_connection_makes_room() {
        let registry = registry(2);
        let first = registry.admit().expect("room");
        std::thread::sleep(Duration::from_millis(5));
        let second = registry.admit().expect("room");
        let third = registry.admit().expect("room made");
        assert!(first.is_evicted(), "the oldest waiting one goes");
        assert!(!second.is_evicted() && !third.is_evicted());
        assert_eq!(registry.open(), 2);
    }

    #[test]
    fn a_connection_busy_with_a_request_is_kept_and_the_newcomer_refused_when_all_are_busy() {
        let registry = registry(2);
        let first = registry.admit().expect("room");
        first.request_started();
        let second = registry.admit().expect("room");
        second.request_started();
        assert!(registry.admit().is_err(), "every place is busy and young");
        assert!(!first.is_evicted() && !second.is_evicted());
        assert_eq!(registry.counters.refused.get(), 1);

        second.response_finished();
        let third = registry.admit().expect("the idle one makes room");
        assert!(second.is_evicted() && !first.is_evicted());
        drop(third);
        assert_eq!(registry.open(), 1, "a dropped slot frees its place");
    }

    #[test]
    fn the_sweep_closes_what_is_past_its_deadline_and_counts_why() {
        let registry = HttpConnections::new(
            4,
            HttpTimeouts {
                head: Duration::from_millis(20),
                keep_alive: Duration::from_secs(60),
                request: Duration::from_secs(60),
            },
            HttpCounters::default(),
        );
        let slow = registry.admit().expect("room");
        let busy = registry.admit().expect("room");
        busy.request_started();
        std::thread::sleep(Duration::from_millis(40));
        registry.sweep();
        assert_eq!(slow.closing(), Some(Closed::SlowHead));
        assert_eq!(busy.closing(), None, "its request has a minute");
        registry.sweep();
        let label = vec![("reason", "head_timeout".to_owned())];
        assert_eq!(
            registry.counters.closed.get_or_create(&label).get(),
            1,
            "counted once"
        );
    }

    #[test]
    fn an_upgraded_connection_frees_its_place_and_deadlines_follow_the_phase() {
        let registry = registry(1);
        let slot = registry.admit().expect("room");
        assert_eq!(slot.phase(), Phase::Head);
        slot.request_started();
        assert_eq!(slot.phase(), Phase::Request);
        slot.response_finished();
        assert_eq!(slot.phase(), Phase::Idle);
        slot.bytes_arrived();
        assert_eq!(
            slot.phase(),
            Phase::Head,
            "a byte starts the next head's clock"
        );
        slot.request_started();
        slot.bytes_arrived();
        slot.response_finished();
        assert_eq!(
            slot.phase(),
            Phase::Head,
            "a pipelined head is timed from the response"
        );
        slot.upgraded();
        assert_eq!(registry.open(), 0);
        let next = registry.admit().expect("room");
        assert!(!slot.is_evicted() && !next.is_evicted());
    }
}
