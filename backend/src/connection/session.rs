//! One WebSocket connection after its handshake: the echo loop (or, for a connection that
//! asked for faults, the fixture's loop) on its own task, then the line that says how the
//! connection ended.

use std::{
    future::Future,
    net::SocketAddr,
    os::fd::{BorrowedFd, RawFd},
    time::Duration,
};

use actix_codec::{AsyncRead, AsyncWrite};
use futures_util::StreamExt;

use crate::{
    connection::echo::echo, connection::echo::Ending, connection::echo::Liveness,
    connection::fixture::fixture_echo, connection::fixture::Behaviour,
    connection::ws_connection::Limits, connection::ws_connection::WsConnection,
    limits::connections::Permit, limits::memory_budget::Charge, logging::peer_text,
    metrics::ConnectionRecord, protocol::permessage_deflate::Negotiated,
};

/// What a session needs besides its socket.
pub struct Session {
    pub peer: Option<SocketAddr>,
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
async fn run_fixture<In, Out>(
    mut incoming: In,
    mut outgoing: Out,
    liveness: Liveness,
    stop: impl Future<Output = ()>,
    record: &mut ConnectionRecord,
    fixture: Fixture,
) -> Result<Ending, Out::Error>
where
    In: futures_util::Stream<Item = Result<actix_ws::AggregatedMessage, actix_ws::ProtocolError>>
        + Unpin,
    Out: futures_util::Sink<actix_ws::Message> + Unpin,
{
    let Fixture {
        behaviour,
        charge,
        fd,
    } = fixture;
    let ending = fixture_echo(
        &mut incoming,
        &mut outgoing,
        liveness,
        stop,
        record,
        &behaviour,
        charge,
    )
    .await;
    if let (Ok(Ending::Fixture(None)), Some(fd)) = (&ending, fd) {
        reset_on_close(fd);
    }
    ending
}

impl Session {
    /// Echoes on `io` until either side closes or `stop` resolves; `early` holds bytes that
    /// came with the handshake. Runs on the current worker's thread.
    pub fn spawn<T>(self, io: T, early: &[u8], stop: impl Future<Output = ()> + 'static)
    where
        T: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let Session {
            peer,
            liveness,
            limits,
            charge,
            permit,
            record,
            deflate,
            fixture,
        } = self;
        let verdict = charge.verdict();
        let connection = WsConnection::new(io, early, limits, charge, deflate);
        actix_rt::spawn(async move {
            let (outgoing, incoming) = connection.split();
            let mut record = record;
            let ending = match fixture {
                None => echo(incoming, outgoing, liveness, stop, &mut record).await,
                // Boxed: the task of every plain connection stays as small as it was.
                Some(fixture) => {
                    Box::pin(run_fixture(
                        incoming,
                        outgoing,
                        liveness,
                        stop,
                        &mut record,
                        *fixture,
                    ))
                    .await
                }
            };
            drop(permit);
            let (code, how) = match &ending {
                // A close frame without a code is 1005, "no status received" (RFC 6455 §7.1.5).
                Ok(Ending::Closed(reason)) => (
                    Some(reason.as_ref().map_or(1005, |r| u16::from(r.code))),
                    "closed by peer",
                ),
                Ok(Ending::ProtocolError(reason)) => {
                    (Some(u16::from(reason.code)), "protocol error")
                }
                Ok(Ending::IdleTimeout) => (Some(1001), "idle timeout"),
                Ok(Ending::ShutDown) => (Some(1001), "server shutting down"),
                Ok(Ending::StreamEnded) => (None, "dropped without a close frame"),
                Ok(Ending::Fixture(Some(reason))) => (
                    Some(u16::from(reason.code)),
                    "closed as the URL asked (close_after)",
                ),
                Ok(Ending::Fixture(None)) => (None, "reset as the URL asked (reset_after)"),
                // A write failed: the peer is already gone. Nothing to answer.
                Err(_) => (None, "gone while we were writing"),
            };
            let how = if verdict.closed_for_memory() {
                "server memory budget reached"
            } else {
                how
            };
            let (lasted, tally) = record.closed(code);
            log_closed(peer, lasted, &tally, code, how);
        });
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
