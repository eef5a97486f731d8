//! One WebSocket connection after its handshake: the echo loop (or, for a connection that
//! asked for faults, the fixture's loop) on its own task, then the line that says how the
//! connection ended. A plain connection that goes quiet leaves its task for this worker's
//! parking lot ([`crate::connection::parking`]) and comes back to a new one, as it was, when
//! it has something to do.

use std::{
    cell::{OnceCell, RefCell},
    future::Future,
    net::SocketAddr,
    os::fd::{BorrowedFd, RawFd},
    pin::Pin,
    rc::Rc,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use actix_codec::{AsyncRead, AsyncWrite};
use futures_util::future::Either;

use crate::{
    connection::echo::echo, connection::echo::echo_from, connection::echo::Connection,
    connection::echo::Ending, connection::echo::Liveness, connection::echo::Pace,
    connection::fixture::fixture_echo, connection::fixture::Behaviour,
    connection::parking::lot::Lot, connection::parking::lot::Spot, connection::parking::Parkable,
    connection::ws_connection::Limits, connection::ws_connection::Rested,
    connection::ws_connection::WsConnection, limits::connections::Permit,
    limits::memory_budget::Charge, limits::memory_budget::MemoryBudget,
    limits::memory_budget::Verdict, logging::peer_text, metrics::ConnectionRecord,
    protocol::permessage_deflate::Agreed, protocol::permessage_deflate::Negotiated,
};

/// What a session needs besides its socket.
pub struct Session {
    pub liveness: Liveness,
    pub limits: Limits,
    pub charge: Charge,
    pub permit: Permit,
    pub record: ConnectionRecord,
    /// What the handshake agreed of permessage-deflate, if anything.
    pub deflate: Option<Negotiated>,
    /// What the connection asked of the fixture, if anything.
    pub fixture: Option<Box<Fixture>>,
}

/// A fixture connection's behaviour, the charge for the echoes it holds back, and its socket
/// (for `reset_after`).
pub struct Fixture {
    pub behaviour: Behaviour,
    pub charge: Charge,
    /// Set by the upgrade once it has the socket.
    pub fd: Option<RawFd>,
}

/// The fixture's loop; for `reset_after`, the socket set to reset before it is dropped.
async fn run_fixture<C: Connection>(
    mut connection: C,
    liveness: Liveness,
    stop: impl Future<Output = ()>,
    record: &mut ConnectionRecord,
    fixture: Fixture,
) -> Result<Ending, C::Error> {
    let Fixture {
        behaviour,
        charge,
        fd,
    } = fixture;
    let ending = fixture_echo(&mut connection, liveness, stop, record, &behaviour, charge).await;
    if let (Ok(Ending::Fixture(None)), Some(fd)) = (&ending, fd) {
        reset_on_close(fd);
    }
    ending
}

impl Session {
    /// Echoes on `io` until either side closes or the server shuts down (which the connection
    /// hears through its memory charge: [`crate::limits::memory_budget::MemoryBudget::stop_all`]);
    /// `early` holds bytes that came with the handshake. Runs on the current worker's thread.
    pub fn spawn<T>(self, io: T, early: &[u8])
    where
        T: AsyncRead + AsyncWrite + Parkable + Unpin + 'static,
    {
        match self.task(io, early) {
            Either::Left(task) => actix_rt::spawn(task),
            Either::Right(task) => actix_rt::spawn(task),
        };
    }

    /// The connection's task: the loop, then the line that says how it ended. Everything it
    /// holds for the connection's life is in this future, so an idle connection costs its size
    /// (see `the_task_of_an_idle_connection_stays_small` below): the loop's future with the
    /// few things the last line needs beside it, nothing held twice.
    #[allow(clippy::type_complexity)]
    fn task<T>(
        self,
        io: T,
        early: &[u8],
    ) -> Either<
        Task<impl Future<Output = Looped<WsConnection<T>>>>,
        Task<Pin<Box<dyn Future<Output = Looped<WsConnection<T>>>>>>,
    >
    where
        T: AsyncRead + AsyncWrite + Parkable + Unpin + 'static,
    {
        let Session {
            liveness,
            limits,
            charge,
            permit,
            record,
            deflate,
            fixture,
        } = self;
        let tail = Some(Tail {
            permit,
            verdict: charge.verdict(),
        });
        let connection = WsConnection::new(io, early, limits, charge, deflate);
        // Nothing to wait on besides the connection: it says when the server stops.
        let stop = std::future::pending::<()>();
        match fixture {
            None => Either::Left(Task {
                looping: echo(connection, liveness, stop, record),
                tail,
            }),
            // Boxed: the task of every plain connection stays as small as it was.
            Some(fixture) => Either::Right(Task {
                looping: Box::pin(async move {
                    let mut record = record;
                    let ending =
                        run_fixture(connection, liveness, stop, &mut record, *fixture).await;
                    (ending, record, None)
                }),
                tail,
            }),
        }
    }
}

/// What a connection's loop gives back: how it ended, its record, and the connection itself if
/// it is to park.
type Looped<C> = (Result<Ending, std::io::Error>, ConnectionRecord, Option<C>);

/// What a parked connection keeps, besides its socket and pace, for its next task. No memory
/// charge (it holds no memory): a new one is opened when it is taken up again, so that nothing
/// of a parked connection is left on the heap outside the lot's slab.
#[derive(Debug)]
pub struct Rest {
    permit: Permit,
    record: ConnectionRecord,
    limits: Limits,
    budget: Arc<MemoryBudget>,
    peer: Option<SocketAddr>,
    /// What permessage-deflate agreed, and the threshold, if it did.
    deflate: Option<(Agreed, usize)>,
}

thread_local! {
    /// This worker's parking lot, started when the first connection parks here (`None`: it
    /// could not start, and connections here keep their tasks).
    static LOT: OnceCell<Option<Rc<RefCell<Lot<Rest>>>>> = const { OnceCell::new() };
}

/// Parks a connection in this worker's lot, or gives it back if it cannot park here.
// The spot comes back whole on the rare failure; boxing it would cost every park an allocation.
#[allow(clippy::result_large_err)]
fn park_here(spot: Spot<Rest>) -> Result<(), Spot<Rest>> {
    #[allow(clippy::result_large_err)]
    LOT.with(|lot| {
        let watch = || spot.rest.budget.open(None);
        let lot = lot.get_or_init(|| match Lot::start(resume, watch()) {
            Ok(lot) => Some(lot),
            Err(error) => {
                tracing::warn!(
                    "idle connections on this worker keep their tasks: no parking lot ({error})"
                );
                None
            }
        });
        match lot {
            // Never borrowed already: the lot's task, which borrows it, only spawns.
            Some(lot) => lot.borrow_mut().park(spot),
            None => Err(spot),
        }
    })
}

/// Takes a parked connection up again on a task of its own, where its pace left it; `owed`
/// is written first.
fn resume(spot: Spot<Rest>, owed: &'static [u8]) {
    let Spot {
        socket,
        pace,
        rest:
            Rest {
                permit,
                record,
                limits,
                budget,
                peer,
                deflate,
            },
    } = spot;
    record.set_parked(false);
    let deflate = deflate.map(|(agreed, threshold_bytes)| Negotiated {
        agreed,
        threshold_bytes,
        counters: record.deflate_counters(),
    });
    let charge = budget.open(peer);
    let tail = Tail {
        permit,
        verdict: charge.verdict(),
    };
    let io = match tokio::net::TcpStream::from_std(socket) {
        Ok(io) => io,
        Err(error) => return tail.finish(&Err(error), record),
    };
    let mut connection = WsConnection::new(io, &[], limits, charge, deflate);
    connection.owe(owed);
    actix_rt::spawn(Task {
        looping: echo_from(connection, pace, std::future::pending::<()>(), record),
        tail: Some(tail),
    });
}

pin_project_lite::pin_project! {
    /// A connection's task: its loop, then its last line. A future written by hand, not an
    /// async block: an async block keeps room for what it moves into the loop as well as the
    /// loop's own.
    pub struct Task<F> {
        #[pin]
        looping: F,
        tail: Option<Tail>,
    }
}

/// What the last line needs besides the loop's result (the peer's address is in the verdict).
pub struct Tail {
    permit: Permit,
    verdict: Verdict,
}

impl<F, T> Future for Task<F>
where
    F: Future<Output = Looped<WsConnection<T>>>,
    T: Parkable,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let (ending, record, connection) = ready!(this.looping.poll(cx));
        if let Some(tail) = this.tail.take() {
            match (ending, connection) {
                (Ok(Ending::Parked(pace)), Some(connection)) => tail.park(connection, pace, record),
                (ending, _) => tail.finish(&ending, record),
            }
        }
        Poll::Ready(())
    }
}

impl Tail {
    /// The loop ended for the connection to park: it goes to this worker's lot with what its
    /// next task needs (back to a task at once if it cannot park here).
    fn park<T: Parkable>(self, connection: WsConnection<T>, pace: Pace, record: ConnectionRecord) {
        let Tail { permit, verdict } = self;
        let Rested {
            socket,
            charge,
            limits,
            deflate,
        } = connection.into_rest();
        let socket = match socket {
            Ok(socket) => socket,
            Err(error) => return Tail { permit, verdict }.finish(&Err(error), record),
        };
        let peer = verdict.peer();
        let budget = Arc::clone(charge.budget());
        // It holds nothing (at rest) and is out of the budget while parked.
        drop((verdict, charge));
        record.set_parked(true);
        let spot = Spot {
            socket,
            pace,
            rest: Rest {
                permit,
                record,
                limits,
                budget,
                peer,
                deflate,
            },
        };
        if let Err(spot) = park_here(spot) {
            resume(spot, &[]);
        }
    }

    /// The connection's place is free; its line says how it ended.
    fn finish(self, ending: &Result<Ending, std::io::Error>, record: ConnectionRecord) {
        drop(self.permit);
        let (code, how) = how_it_ended(ending);
        let how = if self.verdict.closed_for_memory() {
            "server memory budget reached"
        } else {
            how
        };
        let (lasted, tally) = record.closed(code);
        log_closed(self.verdict.peer(), lasted, &tally, code, how);
    }
}

/// The close code a connection ended with (none: no close frame) and how, for its log line.
fn how_it_ended<E>(ending: &Result<Ending, E>) -> (Option<u16>, &'static str) {
    match ending {
        // A close frame without a code is 1005, "no status received" (RFC 6455 §7.1.5).
        Ok(Ending::Closed(reason)) => (
            Some(reason.as_ref().map_or(1005, |r| u16::from(r.code))),
            "closed by peer",
        ),
        Ok(Ending::ProtocolError(reason)) => (Some(u16::from(reason.code)), "protocol error"),
        Ok(Ending::IdleTimeout) => (Some(1001), "idle timeout"),
        Ok(Ending::ShutDown) => (Some(1001), "server shutting down"),
        Ok(Ending::StreamEnded) => (None, "dropped without a close frame"),
        Ok(Ending::Fixture(Some(reason))) => (
            Some(u16::from(reason.code)),
            "closed as the URL asked (close_after)",
        ),
        Ok(Ending::Fixture(None)) => (None, "reset as the URL asked (reset_after)"),
        // Not an end: a parked connection's task ends without a line (see `Task::poll`).
        Ok(Ending::Parked(_)) => (None, "parked"),
        // A write failed: the peer is already gone. Nothing to answer.
        Err(_) => (None, "gone while we were writing"),
    }
}

/// `reset_after`: the socket, once dropped, sends a TCP reset instead of a FIN (SO_LINGER 0).
fn reset_on_close(fd: RawFd) {
    // SAFETY: called while the connection that owns `fd` is still alive (`run_fixture` drops
    // its halves after this returns), so the descriptor is open and ours.
    let socket = unsafe { BorrowedFd::borrow_raw(fd) };
    if let Err(error) = socket2::SockRef::from(&socket).set_linger(Some(Duration::ZERO)) {
        tracing::debug!("could not set SO_LINGER 0 for reset_after: {error}");
    }
}

fn log_closed(
    peer: Option<SocketAddr>,
    lasted: Duration,
    tally: &crate::metrics::Tally,
    code: Option<u16>,
    how: &str,
) {
    tracing::info!(
        peer = %peer_text(peer),
        duration_ms = lasted.as_millis() as u64,
        messages_in = tally.messages_in,
        bytes_in = tally.bytes_in,
        messages_out = tally.messages_out,
        bytes_out = tally.bytes_out,
        close_code = code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
        "connection closed: {how}"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{handshake::settings::EchoSettings, limits::connections::Connections};

    #[test]
    fn a_parked_connection_stays_small() {
        // Its slot in the lot's slab is all a parked connection costs on the heap.
        // (The slab's own entry adds a tag where the spot leaves no room for one.)
        let size = std::mem::size_of::<Spot<Rest>>();
        println!("a parked connection's slot: {size} bytes");
        // Measured 224 bytes (2026-12-06): the socket, the pace with its liveness settings (80),
        // limits, the metrics record (56), the permit, the budget, the peer's address (32), the
        // agreed deflate parameters. A little headroom.
        assert!(size <= 240, "{size} bytes, over 240");
    }

    #[tokio::test]
    async fn the_task_of_an_idle_connection_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = tokio::net::TcpStream::connect(listener.local_addr().expect("addr"));
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (_client, (io, _)) = (client.expect("connect"), accepted.expect("accept"));
        let connections = Connections::new(10);
        let settings = EchoSettings::for_tests(Arc::clone(&connections));
        let session = Session {
            liveness: settings.liveness,
            limits: settings.limits,
            charge: settings.memory.open(None),
            permit: connections.try_open().expect("permit"),
            record: settings.metrics.connection_opened(),
            deflate: None,
            fixture: None,
        };
        let Either::Left(task) = session.task(io, &[]) else {
            panic!("a plain connection runs the echo loop");
        };
        let size = std::mem::size_of_val(&task);
        println!("the task's future: {size} bytes");
        // Measured 776 bytes in release, 784 in debug (2026-12-06, session 10; 696 and 704
        // before parking, which added the pace with its liveness settings and the parking
        // check): no shutdown future, no connection halves, no copies of the loop's arguments.
        // An idle plain connection parks and keeps no task at all; a busy one, or one over TLS,
        // keeps this. A little headroom; a regression of any of those is well past it.
        let bound = 832;
        assert!(size <= bound, "{size} bytes, over {bound}");
    }
}
