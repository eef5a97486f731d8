//! The parked connections of one worker thread, and the one task that watches them all.
//!
//! A parked connection is a [`Spot`] in a slab: its socket (in the lot's [`Epoll`], not in
//! tokio's reactor), when it was last heard from and is next to be pinged, and whatever the
//! session needs to take it up again (`P`). Nothing of it is anywhere else on the heap: the slab
//! is one block, so a crowd of parked connections leaves no small blocks scattered among the
//! pages their handshakes used, and those pages can go back to the system. It holds no memory
//! charge (it holds no memory); the lot holds one of its own, through which the server's
//! shutdown wakes it. The lot's task wakes when a parked socket is ready, when the sweep is due,
//! and at the shutdown. A connection leaves the lot, back to a task of its own through the
//! lot's `resume` function, when:
//!
//! - its socket has input, or the peer's end: the task reads it;
//! - its idle deadline has passed: the task closes it;
//! - the server is stopping: the task says 1001 and waits for the peer's close;
//! - its ping cannot be written whole from here: the task writes the rest (or finds the peer
//!   gone).
//!
//! Pings fall due here and are written from here with one non-blocking `send(2)` each: a
//! pinged client's pong then brings its connection back to a task, which parks it again once
//! it is quiet.

use std::{
    cell::RefCell,
    future::poll_fn,
    io,
    os::fd::AsRawFd,
    rc::Rc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use slab::Slab;
use tokio::{
    io::{unix::AsyncFd, Interest},
    time::{interval, Instant, Interval, MissedTickBehavior},
};

use super::epoll::{Epoll, MAX_EVENTS};
use crate::{connection::echo::Pace, limits::memory_budget::Charge};

/// How often the lot looks for pings and idle deadlines that fell due. A parked connection's
/// ping and idle close come at most this late; the look walks the lot only when something is
/// due.
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Parked since the last trim before the lot gives the heap's free pages back
/// ([`crate::allocator::give_free_pages_back`]): a crowd, not a few connections now and then.
const TRIM_AFTER_PARKED: usize = 1024;

/// ... and no connection parked for this long: the crowd has settled.
const TRIM_WHEN_SETTLED_FOR: Duration = Duration::from_millis(500);

/// ... and at most this often.
const TRIM_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// A ping with no payload, as the server sends it (unmasked).
const PING: [u8; 2] = [ws_wire::FIN | ws_wire::OpCode::Ping.bits(), 0];

/// One parked connection.
#[derive(Debug)]
pub struct Spot<P> {
    /// Non-blocking, out of tokio's reactor while parked.
    pub socket: std::net::TcpStream,
    pub pace: Pace,
    /// What the session keeps to take the connection up again.
    pub rest: P,
}

/// Takes a connection back into a task of its own; `owed` is what it still owes its peer (the
/// tail of a ping the lot could only half write), to be written first.
pub type Resume<P> = fn(Spot<P>, owed: &'static [u8]);

/// The parked connections of one worker.
pub struct Lot<P> {
    epoll: AsyncFd<Epoll>,
    spots: Slab<Spot<P>>,
    /// Holds nothing: the server's shutdown wakes the lot through it.
    watch: Charge,
    /// The lot's task's waker, as last given to `watch`.
    waker: Option<Waker>,
    /// No ping and no idle deadline is due before this.
    next_due: Instant,
    resume: Resume<P>,
    /// Keys of ready sockets (kept to reuse its allocation).
    ready: Vec<u64>,
    /// The lot's epoll failed: nothing parks here any more.
    broken: bool,
    /// Connections parked since the heap was last trimmed, the last time one parked, and when
    /// the heap was last trimmed.
    parked_since_trim: usize,
    last_park: Instant,
    last_trim: Option<Instant>,
}

impl<P: 'static> Lot<P> {
    /// A lot for this worker thread, its task spawned on it; `watch` is a charge in the
    /// server's memory budget, for its shutdown. Must be called on a worker's runtime.
    pub fn start(resume: Resume<P>, watch: Charge) -> io::Result<Rc<RefCell<Lot<P>>>> {
        // SAFETY: `Epoll` owns its descriptor and neither closes nor replaces it while it
        // lives, and it lives as long as this `AsyncFd`.
        let epoll = unsafe { AsyncFd::register_with_interest(Epoll::new()?, Interest::READABLE)? };
        let lot = Rc::new(RefCell::new(Lot {
            epoll,
            spots: Slab::new(),
            watch,
            waker: None,
            next_due: Instant::now(),
            resume,
            ready: Vec::with_capacity(MAX_EVENTS),
            broken: false,
            parked_since_trim: 0,
            last_park: Instant::now(),
            last_trim: None,
        }));
        let driven = Rc::clone(&lot);
        actix_rt::spawn(async move {
            let mut sweep = interval(SWEEP_EVERY);
            sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
            poll_fn(|cx| driven.borrow_mut().poll(cx, &mut sweep)).await
        });
        Ok(lot)
    }
}

impl<P> Lot<P> {
    /// Parks `spot`, or gives it back if it cannot be watched here (or the server is stopping).
    pub fn park(&mut self, spot: Spot<P>) -> Result<(), Spot<P>> {
        if self.broken || self.watch.server_stopping() {
            return Err(spot);
        }
        let entry = self.spots.vacant_entry();
        let key = entry.key() as u64;
        if let Err(error) = self.epoll.get_ref().add(spot.socket.as_raw_fd(), key) {
            tracing::debug!("could not park a connection: {error}");
            return Err(spot);
        }
        self.next_due = self.next_due.min(spot.pace.next_due());
        entry.insert(spot);
        self.parked_since_trim += 1;
        self.last_park = Instant::now();
        Ok(())
    }

    fn poll(&mut self, cx: &mut Context<'_>, sweep: &mut Interval) -> Poll<()> {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.watch.wake_on_close(cx.waker());
            self.waker = Some(cx.waker().clone());
        }
        if self.watch.server_stopping() {
            self.unpark_all();
        }
        self.take_ready(cx);
        while sweep.poll_tick(cx).is_ready() {
            let now = Instant::now();
            self.sweep(now);
            self.trim_after_a_crowd(now);
        }
        Poll::Pending
    }

    /// Once a crowd of connections has parked and settled, the pages their tasks and handshakes
    /// used are free but still the process's: they go back to the system.
    fn trim_after_a_crowd(&mut self, now: Instant) {
        let settled = now.duration_since(self.last_park) >= TRIM_WHEN_SETTLED_FOR;
        let rested = self
            .last_trim
            .is_none_or(|at| now.duration_since(at) >= TRIM_AT_MOST_EVERY);
        if self.parked_since_trim >= TRIM_AFTER_PARKED && settled && rested {
            let started = std::time::Instant::now();
            crate::allocator::give_free_pages_back();
            tracing::debug!(
                "heap trimmed after {} connections parked, in {:?}",
                self.parked_since_trim,
                started.elapsed()
            );
            self.parked_since_trim = 0;
            self.last_trim = Some(now);
        }
    }

    /// Sends every connection whose socket is ready back to a task.
    fn take_ready(&mut self, cx: &mut Context<'_>) {
        while !self.broken {
            let mut guard = match self.epoll.poll_read_ready(cx) {
                Poll::Pending => return,
                Poll::Ready(Ok(guard)) => guard,
                Poll::Ready(Err(error)) => {
                    tracing::warn!("the parking lot's epoll failed ({error}): nothing parks here");
                    self.broken = true;
                    break;
                }
            };
            if let Err(error) = guard.get_inner().ready(&mut self.ready) {
                tracing::warn!("the parking lot's epoll failed ({error}): nothing parks here");
                self.broken = true;
                break;
            }
            // Fewer than asked for: none left; the next readiness is the kernel's to report.
            if self.ready.len() < MAX_EVENTS {
                guard.clear_ready();
            }
            drop(guard);
            let ready = std::mem::take(&mut self.ready);
            for &key in &ready {
                self.unpark(key as usize, &[]);
            }
            self.ready = ready;
        }
        self.unpark_all();
    }

    /// Pings what is due; sends back to a task what is past its idle deadline or could not take
    /// its ping.
    fn sweep(&mut self, now: Instant) {
        if now < self.next_due || self.spots.is_empty() {
            return;
        }
        let mut next_due = now + Duration::from_secs(3600);
        let mut leaving: Vec<(usize, &'static [u8])> = Vec::new();
        for (key, spot) in &mut self.spots {
            if now >= spot.pace.idle_deadline() {
                leaving.push((key, &[]));
                continue;
            }
            if now >= spot.pace.next_ping {
                match send_ping(&spot.socket) {
                    Ok(sent) if sent == PING.len() => {
                        spot.pace.next_ping = now + spot.pace.liveness.ping_interval;
                    }
                    Ok(sent) if sent > 0 => {
                        spot.pace.next_ping = now + spot.pace.liveness.ping_interval;
                        leaving.push((key, &PING[sent..]));
                        continue;
                    }
                    // Full, or broken: the task pings (its ping is due) or finds the peer gone.
                    _ => {
                        leaving.push((key, &[]));
                        continue;
                    }
                }
            }
            next_due = next_due.min(spot.pace.next_due());
        }
        self.next_due = next_due;
        for (key, owed) in leaving {
            self.unpark(key, owed);
        }
    }

    fn unpark_all(&mut self) {
        let keys: Vec<usize> = self.spots.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.unpark(key, &[]);
        }
    }

    fn unpark(&mut self, key: usize, owed: &'static [u8]) {
        let Some(spot) = self.spots.try_remove(key) else {
            return;
        };
        if let Err(error) = self.epoll.get_ref().remove(spot.socket.as_raw_fd()) {
            tracing::debug!("could not unwatch a parked socket: {error}");
        }
        // A crowd that left leaves no slab behind it.
        if self.spots.is_empty() {
            self.spots.shrink_to_fit();
        }
        (self.resume)(spot, owed);
    }
}

/// Writes a ping without waiting: how many bytes went out.
fn send_ping(socket: &std::net::TcpStream) -> io::Result<usize> {
    // SAFETY: the buffer is valid for its length; the descriptor is the open socket's.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            PING.as_ptr().cast(),
            PING.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sent as usize)
}
