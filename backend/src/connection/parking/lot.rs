//! The parked connections of one worker thread, and the one task that watches them all.
//!
//! A parked connection is a [`Spot`] in a slab: its socket (in the lot's [`Epoll`], not in
//! tokio's reactor), when it was last heard from and is next to be pinged, its memory charge,
//! and whatever the session needs to take it up again (`P`). The lot's task wakes when a parked
//! socket is ready, when the sweep is due, and when the server stops or the memory budget speaks
//! (every parked charge holds the lot's waker). A connection leaves the lot, back to a task of
//! its own through the lot's `resume` function, when:
//!
//! - its socket has input, or the peer's end: the task reads it;
//! - its idle deadline has passed, or the budget told it to close: the task closes it;
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

/// A ping with no payload, as the server sends it (unmasked).
const PING: [u8; 2] = [ws_wire::FIN | ws_wire::OpCode::Ping.bits(), 0];

/// One parked connection.
#[derive(Debug)]
pub struct Spot<P> {
    /// Non-blocking, out of tokio's reactor while parked.
    pub socket: std::net::TcpStream,
    pub pace: Pace,
    pub charge: Charge,
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
    /// The lot's task's waker, given to every parked connection's charge.
    waker: Option<Waker>,
    /// No ping and no idle deadline is due before this.
    next_due: Instant,
    resume: Resume<P>,
    /// Keys of ready sockets (kept to reuse its allocation).
    ready: Vec<u64>,
    /// The lot's epoll failed: nothing parks here any more.
    broken: bool,
}

impl<P: 'static> Lot<P> {
    /// A lot for this worker thread, its task spawned on it. Must be called on a worker's
    /// runtime.
    pub fn start(resume: Resume<P>) -> io::Result<Rc<RefCell<Lot<P>>>> {
        // SAFETY: `Epoll` owns its descriptor and neither closes nor replaces it while it
        // lives, and it lives as long as this `AsyncFd`.
        let epoll = unsafe { AsyncFd::register_with_interest(Epoll::new()?, Interest::READABLE)? };
        let lot = Rc::new(RefCell::new(Lot {
            epoll,
            spots: Slab::new(),
            waker: None,
            next_due: Instant::now(),
            resume,
            ready: Vec::with_capacity(MAX_EVENTS),
            broken: false,
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
    /// How many connections are parked here.
    pub fn len(&self) -> usize {
        self.spots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spots.is_empty()
    }

    /// Parks `spot`, or gives it back if it cannot be watched here.
    pub fn park(&mut self, spot: Spot<P>) -> Result<(), Spot<P>> {
        if self.broken {
            return Err(spot);
        }
        let entry = self.spots.vacant_entry();
        let key = entry.key() as u64;
        if let Err(error) = self.epoll.get_ref().add(spot.socket.as_raw_fd(), key) {
            tracing::debug!("could not park a connection: {error}");
            return Err(spot);
        }
        let must_leave = spot.charge.server_stopping() || spot.charge.told_to_close();
        if let Some(waker) = &self.waker {
            // The connection's last task's waker goes: nothing keeps that task alive.
            spot.charge.wake_on_close(waker);
            if must_leave {
                waker.wake_by_ref();
            }
        }
        self.next_due = self.next_due.min(spot.pace.next_due());
        entry.insert(spot);
        Ok(())
    }

    fn poll(&mut self, cx: &mut Context<'_>, sweep: &mut Interval) -> Poll<()> {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            for (_, spot) in &self.spots {
                spot.charge.wake_on_close(&waker);
            }
            self.waker = Some(waker);
        }
        if self
            .spots
            .iter()
            .next()
            .is_some_and(|(_, s)| s.charge.server_stopping())
        {
            self.unpark_all();
        }
        self.take_ready(cx);
        while sweep.poll_tick(cx).is_ready() {
            self.sweep(Instant::now());
        }
        Poll::Pending
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

    /// Pings what is due; sends back to a task what is past its idle deadline, was told to close
    /// by the memory budget, or could not take its ping.
    fn sweep(&mut self, now: Instant) {
        if now < self.next_due || self.spots.is_empty() {
            return;
        }
        let mut next_due = now + Duration::from_secs(3600);
        let mut leaving: Vec<(usize, &'static [u8])> = Vec::new();
        for (key, spot) in &mut self.spots {
            if now >= spot.pace.idle_deadline() || spot.charge.told_to_close() {
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
