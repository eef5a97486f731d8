//! The echo loop: every message that comes in goes back out with the same type.
//!
//! It runs over any stream of incoming messages and any sink of outgoing ones, so tests drive
//! it with plain in-memory streams and [`crate::connection::session`] with an upgraded connection.

use std::{
    future::Future,
    ops::ControlFlow,
    pin::Pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Message, ProtocolError};
use futures_util::{future::poll_fn, Sink, SinkExt, Stream, StreamExt};
use tokio::time::{sleep_until, Instant, Sleep};

use crate::{
    logging::{log_rate, MESSAGE_LOG},
    metrics::{Kind, Observer},
    protocol::message_decoder::Refused,
};

/// Longest text shown in a `recv:` log line; longer messages are cut and their size noted,
/// so a 16 MiB message costs one short log line, not 16 MiB of log.
pub const MAX_LOGGED_CHARS: usize = 200;

/// Most messages answered in one batch before the loop looks at its timers and the shutdown
/// signal again (and writes the batch's echoes).
const MAX_BATCH: usize = 64;

/// How long, after our close frame on shutdown, the peer has to answer with its own before the
/// connection is dropped (RFC 6455 §7.1.1: the server closes the TCP connection first).
pub const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// How an echo session ended, when it ended without the peer vanishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The peer sent a close frame; the reply carries this close reason.
    Closed(Option<CloseReason>),
    /// The peer broke the protocol; we closed with this reason.
    ProtocolError(CloseReason),
    /// The peer sent nothing, not even a pong, for the idle timeout; we closed with 1001.
    IdleTimeout,
    /// The server is shutting down; we closed with 1001.
    ShutDown,
    /// The incoming stream ended without a close frame (the TCP connection went away).
    StreamEnded,
    /// The fixture ended it as the URL asked (`close_after`, with this close frame), or
    /// `reset_after` (no close frame: the session resets the TCP connection).
    Fixture(Option<CloseReason>),
    /// Quiet, at rest and able to: the connection is to wait parked, from where it stands
    /// ([`crate::connection::parking`]). The loop hands the connection back with it.
    Parked(Pace),
}

impl Observer for () {
    fn received(&mut self, _: Kind, _: usize) {}
    fn echoed(&mut self, _: Kind, _: usize, _: Duration) {}
}

/// A WebSocket connection as the loops see it: a stream of incoming messages and a sink for
/// replies, in one value (the server's [`crate::connection::ws_connection::WsConnection`]; no
/// split into two halves behind a lock, which cost every connection an allocation).
pub trait Connection:
    Stream<Item = Result<AggregatedMessage, ProtocolError>> + Sink<Message> + Unpin
{
    /// Whether this connection can ever be parked ([`crate::connection::parking`]): if not,
    /// the loop never looks.
    fn parkable(&self) -> bool {
        false
    }

    /// Whether it can be parked now: between frames, nothing held, nothing to write.
    fn at_rest(&self) -> bool {
        false
    }
}

/// When the server pings, and when it gives up on a silent peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// How long a connection that can park ([`Connection::parkable`]) is quiet before the loop
    /// hands it to the parking lot ([`crate::connection::parking`]); `None`: never.
    pub park_after: Option<Duration>,
}

/// Where a connection stands with its peer's liveness: when it was last heard from and when it
/// is next to be pinged. Carried across a stay in the parking lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub liveness: Liveness,
    pub last_heard: Instant,
    pub next_ping: Instant,
}

impl Pace {
    /// A connection that opens now: heard from now, pinged one interval from now.
    pub fn starting_now(liveness: Liveness) -> Self {
        let now = Instant::now();
        Pace {
            liveness,
            last_heard: now,
            next_ping: now + liveness.ping_interval,
        }
    }

    /// When the connection is closed for silence unless heard from before.
    pub fn idle_deadline(&self) -> Instant {
        self.last_heard + self.liveness.idle_timeout
    }

    /// The earlier of the next ping and the idle deadline.
    pub fn next_due(&self) -> Instant {
        self.next_ping.min(self.idle_deadline())
    }
}

/// Echoes what comes in on `connection` back out on it until the peer closes, breaks the
/// protocol, goes silent or goes away, or `stop` resolves.
///
/// Text and binary messages come back unchanged, pings get their pong, a close frame is
/// answered with the peer's own close code (RFC 6455 §5.5.1). The server pings every
/// `ping_interval`; anything from the peer counts as a sign of life. When `stop` resolves the
/// peer gets close 1001 and the loop waits for its close, at most [`CLOSE_REPLY_TIMEOUT`]; the
/// server's own connections say so themselves ([`Refused::ServerStopping`]) and `stop` never
/// resolves there. An error from the connection's sink means the peer is gone, and is returned
/// as is for the caller to drop quietly. Echoes of messages that arrived together are written
/// together. The observer is handed back with how the connection ended.
///
/// A connection that can park ([`Connection::parkable`]) and has been quiet and at rest for
/// `liveness.park_after` ends the loop with [`Ending::Parked`], and is handed back too (only
/// then).
pub fn echo<C, Stop, O>(
    connection: C,
    liveness: Liveness,
    stop: Stop,
    observer: O,
) -> impl Future<Output = (Result<Ending, C::Error>, O, Option<C>)>
where
    C: Connection,
    Stop: Future<Output = ()>,
    O: Observer,
{
    echo_from(connection, Pace::starting_now(liveness), stop, observer)
}

/// [`echo`] for a connection that comes back from the parking lot, where `pace` left it.
// Not an `async fn`: see the comment on the block inside.
#[allow(clippy::manual_async_fn)]
pub fn echo_from<C, Stop, O>(
    mut connection: C,
    mut pace: Pace,
    stop: Stop,
    mut observer: O,
) -> impl Future<Output = (Result<Ending, C::Error>, O, Option<C>)>
where
    C: Connection,
    Stop: Future<Output = ()>,
    O: Observer,
{
    // An async block, not an `async fn`: it uses what it captures in place, where an `async fn`
    // copies its `mut` arguments into locals and keeps both (the future is what an idle
    // connection costs, so every byte of it counts). So the loop is written inline, ending in a
    // labelled block (`break 'conn ending`).
    async move {
        // `?` for the block below: an error from the connection ends it.
        macro_rules! or_end {
            ($block:lifetime, $result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(error) => break $block Err(error),
                }
            };
        }
        let ending = 'conn: {
            let connection = &mut connection;
            // When to look whether the connection can park (never, if it cannot). Not before
            // it had a while here: one taken up again has something to read, which its socket's
            // fresh registration may not have heard of yet at the first look.
            let park_after = pace.liveness.park_after.filter(|_| connection.parkable());
            let mut park_check = match park_after {
                Some(after) => Instant::now() + after,
                None => far_future(),
            };
            // One timer for the next ping, the idle deadline and the parking check (a timer is
            // a hundred bytes and more of every idle connection); re-armed only when it fires,
            // from `pace.last_heard`: no timer update per message.
            let timer = sleep_until(pace.next_due().min(park_check));
            tokio::pin!(timer, stop);

            let mut batched = 0;
            let mut waiting = false;
            loop {
                let item = match next_event(
                    connection,
                    &mut stop,
                    &mut timer,
                    &mut batched,
                    &mut waiting,
                )
                .await
                {
                    Woke::Item(item) => item,
                    Woke::Failed(error) => break 'conn Err(error),
                    Woke::Stop => break 'conn Box::pin(on_shutdown(connection)).await,
                    Woke::Timer => {
                        let now = Instant::now();
                        if now >= pace.idle_deadline() {
                            let close = Message::Close(Some(going_away("idle timeout")));
                            // The sink is ready: `next_event` flushed it before it waited.
                            or_end!('conn, connection.start_send_unpin(close));
                            or_end!('conn, connection.flush().await);
                            break 'conn Ok(Ending::IdleTimeout);
                        }
                        if let (Some(after), true) = (park_after, now >= park_check) {
                            // Quiet long enough, and nothing under way: the lot pings it from
                            // here on (even a ping due now).
                            let quiet_since = pace.last_heard + after;
                            park_check = if now < quiet_since {
                                quiet_since
                            } else if connection.at_rest() {
                                break 'conn Ok(Ending::Parked(pace));
                            } else {
                                // Quiet, but a frame or an echo under way: look again later.
                                now + after
                            };
                        }
                        if now >= pace.next_ping {
                            // Written with the next flush, before the loop waits again.
                            or_end!('conn, connection.start_send_unpin(Message::Ping(Bytes::new())));
                            pace.next_ping = now + pace.liveness.ping_interval;
                        }
                        timer.as_mut().reset(pace.next_due().min(park_check));
                        continue;
                    }
                };
                let Some(item) = item else {
                    // Echoes of the last burst still go out if the peer only half-closed.
                    let _ = connection.flush().await;
                    break 'conn Ok(Ending::StreamEnded);
                };
                if is_server_stopping(&item) {
                    break 'conn Box::pin(on_shutdown(connection)).await;
                }
                pace.last_heard = Instant::now();
                // No await from here to the end of the turn: `next_event` hands over a message
                // only when the sink can take a reply, so the reply goes in at once, and neither
                // the message nor its reply takes room in this future while it waits.
                match process_message(item, &mut observer) {
                    ControlFlow::Continue(Some(Reply { message, echoed })) => {
                        or_end!('conn, connection.start_send_unpin(message));
                        if let Some((kind, len)) = echoed {
                            observer.echoed(kind, len, pace.last_heard.elapsed());
                        }
                    }
                    ControlFlow::Continue(None) => {}
                    ControlFlow::Break((close, ending)) => {
                        break 'conn Box::pin(close_with(connection, close, ending)).await;
                    }
                }
            }
        };
        let parked = matches!(ending, Ok(Ending::Parked(_)));
        (ending, observer, parked.then_some(connection))
    }
}

/// A time no connection's timer reaches (a year on).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

/// Sends the close frame that ends the connection (rare: boxed, out of every idle connection's
/// future).
async fn close_with<C: Connection>(
    connection: &mut C,
    close: Option<CloseReason>,
    ending: Ending,
) -> Result<Ending, C::Error> {
    connection.send(Message::Close(close)).await?;
    Ok(ending)
}

/// What the loop is to handle next.
enum Woke<E> {
    Stop,
    Item(Option<Result<AggregatedMessage, ProtocolError>>),
    Timer,
    /// Writing failed: the peer is gone.
    Failed(E),
}

/// The loop's one place of waiting, as a single small future. Messages already here are
/// answered together and their echoes written at once: one write for a burst instead of one per
/// message; the batch is capped (`MAX_BATCH`) so that shutdown, pings and the idle check still
/// get their turn during a flood. Once no message is ready (or the batch is full), the echoes
/// are flushed (nothing is read while they wait: a client that does not read holds up its own
/// echoes, not the server's memory), then the first of the shutdown, a message and the timer.
/// Whatever it hands over, the sink is ready for one reply (`poll_ready`), so the loop answers
/// without waiting.
fn next_event<'a, 'p, C, Stop>(
    connection: &'a mut C,
    stop: &'a mut Pin<&'p mut Stop>,
    timer: &'a mut Pin<&'p mut Sleep>,
    batched: &'a mut usize,
    waiting: &'a mut bool,
) -> impl Future<Output = Woke<C::Error>> + use<'a, 'p, C, Stop>
where
    'p: 'a,
    C: Connection,
    Stop: Future<Output = ()>,
{
    poll_fn(move |cx| {
        if !*waiting {
            // A message is taken only when the sink can take its reply at once; past its high
            // water it first writes what it has (and the task waits for that, reading nothing).
            match connection.poll_ready_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Woke::Failed(error)),
                Poll::Ready(Ok(())) => {}
            }
            if *batched < MAX_BATCH {
                // Only what is already here: no waker registered (the wait below does that).
                let mut now_only = Context::from_waker(Waker::noop());
                if let Poll::Ready(item) = connection.poll_next_unpin(&mut now_only) {
                    *batched += 1;
                    return Poll::Ready(Woke::Item(item));
                }
            }
            *batched = 0;
            *waiting = true;
        }
        match connection.poll_flush_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => {
                *waiting = false;
                return Poll::Ready(Woke::Failed(error));
            }
            Poll::Ready(Ok(())) => {}
        }
        // Flushed: ready for a reply (what the sink's contract asks before `start_send`).
        match connection.poll_ready_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => {
                *waiting = false;
                return Poll::Ready(Woke::Failed(error));
            }
            Poll::Ready(Ok(())) => {}
        }
        // Stop first, so a flooding peer cannot hold off a shutdown.
        let woke = if stop.as_mut().poll(cx).is_ready() {
            Woke::Stop
        } else if let Poll::Ready(item) = connection.poll_next_unpin(cx) {
            Woke::Item(item)
        } else if timer.as_mut().poll(cx).is_ready() {
            Woke::Timer
        } else {
            return Poll::Pending;
        };
        *waiting = false;
        Poll::Ready(woke)
    })
}

/// What the loop sends for one incoming message, and what it counts once that is handed over.
pub(crate) struct Reply {
    pub message: Message,
    /// An echo of a data message: its kind and size, for the observer.
    pub echoed: Option<(Kind, usize)>,
}

/// What one message from the peer asks of the loop: a reply to send (an echo, a pong), nothing
/// (a pong), or the close frame that ends the connection and how it ended.
#[inline]
pub(crate) fn process_message(
    item: Result<AggregatedMessage, ProtocolError>,
    observer: &mut impl Observer,
) -> ControlFlow<(Option<CloseReason>, Ending), Option<Reply>> {
    match item {
        Ok(AggregatedMessage::Text(text)) => {
            if log_rate::admit(text.len()) {
                tracing::info!(target: MESSAGE_LOG, "recv: {}", loggable_text(&text));
            }
            let len = text.len();
            observer.received(Kind::Text, len);
            ControlFlow::Continue(Some(Reply {
                message: Message::Text(text),
                echoed: Some((Kind::Text, len)),
            }))
        }
        Ok(AggregatedMessage::Binary(bytes)) => {
            if log_rate::admit(bytes.len()) {
                tracing::info!(target: MESSAGE_LOG, "recv: <binary, {} bytes>", bytes.len());
            }
            let len = bytes.len();
            observer.received(Kind::Binary, len);
            ControlFlow::Continue(Some(Reply {
                message: Message::Binary(bytes),
                echoed: Some((Kind::Binary, len)),
            }))
        }
        Ok(AggregatedMessage::Ping(bytes)) => ControlFlow::Continue(Some(Reply {
            message: Message::Pong(bytes),
            echoed: None,
        })),
        Ok(AggregatedMessage::Pong(_)) => ControlFlow::Continue(None),
        Ok(AggregatedMessage::Close(reason)) => {
            let reply = close_reply(reason);
            ControlFlow::Break((reply.clone(), Ending::Closed(reply)))
        }
        Err(error) => {
            let reason = close_reason_for(&error);
            tracing::debug!("protocol error, closing with {:?}: {error}", reason.code);
            ControlFlow::Break((Some(reason.clone()), Ending::ProtocolError(reason)))
        }
    }
}

/// Whether the connection says the server is shutting down ([`Refused::ServerStopping`]): the
/// server's own connections hear it so; `stop` is for other streams (and tests).
pub(crate) fn is_server_stopping(item: &Result<AggregatedMessage, ProtocolError>) -> bool {
    matches!(item, Err(error) if Refused::of(error) == Some(Refused::ServerStopping))
}

/// Shutdown: close 1001, then the peer's close, waited for at most [`CLOSE_REPLY_TIMEOUT`] (a
/// client that never answers does not hold up the shutdown for long).
pub(crate) async fn on_shutdown<C: Connection>(connection: &mut C) -> Result<Ending, C::Error> {
    let close = going_away("server shutting down");
    connection.send(Message::Close(Some(close))).await?;
    let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, await_close(connection)).await;
    Ok(Ending::ShutDown)
}

/// After our close frame: read (and drop) what is still in flight until the peer's close.
pub(crate) async fn await_close<C: Connection>(connection: &mut C) {
    while let Some(Ok(message)) = connection.next().await {
        if matches!(message, AggregatedMessage::Close(_)) {
            return;
        }
    }
}

pub(crate) fn going_away(why: &str) -> CloseReason {
    CloseReason {
        code: CloseCode::Away,
        description: Some(why.to_owned()),
    }
}

/// The close frame that answers the peer's: its code and reason echoed back (this is an echo
/// server), or 1002 when the peer's code is one that must never be sent (RFC 6455 §7.4).
fn close_reply(reason: Option<CloseReason>) -> Option<CloseReason> {
    match reason {
        Some(reason) if !is_sendable_close_code(u16::from(reason.code)) => Some(CloseReason {
            code: CloseCode::Protocol,
            description: Some("invalid close code".into()),
        }),
        Some(reason) => Some(reason),
        None => None,
    }
}

/// Close codes a peer may put on the wire: the defined 1000–1003, 1007–1014, and the ranges for
/// libraries (3000–3999) and applications (4000–4999). 1004–1006 and 1015 are reserved.
pub fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The close frame for a broken protocol or a limit. actix reports bad UTF-8 and reserved bits
/// both as `Io`, told apart only by their text; our own limits carry a [`Refused`].
fn close_reason_for(error: &ProtocolError) -> CloseReason {
    let (code, text) = match (error, Refused::of(error)) {
        (_, Some(Refused::MessageTooBig)) => (CloseCode::Size, "message too big"),
        (_, Some(Refused::ServerMemoryFull)) => (
            CloseCode::Again,
            "server memory budget reached, try again later",
        ),
        (_, Some(Refused::BadCompression)) => (CloseCode::Invalid, "invalid compressed data"),
        (_, Some(Refused::InvalidUtf8)) => (CloseCode::Invalid, "invalid UTF-8 in a text message"),
        (_, Some(Refused::ServerStopping)) => (CloseCode::Away, "server shutting down"),
        (ProtocolError::Overflow, _) => (CloseCode::Size, "frame too big"),
        _ => (CloseCode::Protocol, "protocol error"),
    };
    CloseReason {
        code,
        description: Some(text.into()),
    }
}

/// The text as it goes into a `recv:` line: cut at [`MAX_LOGGED_CHARS`] characters.
pub fn loggable_text(text: &str) -> std::borrow::Cow<'_, str> {
    // Escaped where the line is formatted (logging/message_log.rs), not here.
    ws_peer_text::cut(text, MAX_LOGGED_CHARS)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::stream;
    use tokio::time::sleep;

    use super::*;

    /// A stream and a sink made one [`Connection`]: how tests drive the loop with an iterator of
    /// messages and a `Vec` for what it sends.
    struct Duplex<In, Out> {
        incoming: In,
        outgoing: Out,
        /// Says it can park, and is at rest whenever asked.
        parks: bool,
    }

    impl<In, Out> Connection for Duplex<In, Out>
    where
        In: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
        Out: Sink<Message> + Unpin,
    {
        fn parkable(&self) -> bool {
            self.parks
        }

        fn at_rest(&self) -> bool {
            self.parks
        }
    }

    impl<In: Stream + Unpin, Out: Unpin> Stream for Duplex<In, Out> {
        type Item = In::Item;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<In::Item>> {
            self.incoming.poll_next_unpin(cx)
        }
    }

    impl<In: Unpin, Out: Sink<Message> + Unpin> Sink<Message> for Duplex<In, Out> {
        type Error = Out::Error;

        fn poll_ready(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), Out::Error>> {
            self.outgoing.poll_ready_unpin(cx)
        }

        fn start_send(mut self: Pin<&mut Self>, message: Message) -> Result<(), Out::Error> {
            self.outgoing.start_send_unpin(message)
        }

        fn poll_flush(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), Out::Error>> {
            self.outgoing.poll_flush_unpin(cx)
        }

        fn poll_close(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), Out::Error>> {
            self.outgoing.poll_close_unpin(cx)
        }
    }

    const PARK_AFTER: Duration = Duration::from_secs(1);

    const LIVENESS: Liveness = Liveness {
        ping_interval: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(25),
        park_after: Some(PARK_AFTER),
    };

    /// Runs the loop over `incoming` and returns everything it sent, and how it ended.
    async fn run(
        incoming: Vec<Result<AggregatedMessage, ProtocolError>>,
    ) -> (Vec<Message>, Ending) {
        run_with(stream::iter(incoming), std::future::pending()).await
    }

    async fn run_with<In, Stop>(incoming: In, stop: Stop) -> (Vec<Message>, Ending)
    where
        In: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
        Stop: Future<Output = ()>,
    {
        let mut sent: Vec<Message> = Vec::new();
        let ending: Result<Ending, Infallible> = echo(
            Duplex {
                incoming,
                outgoing: &mut sent,
                parks: false,
            },
            LIVENESS,
            stop,
            (),
        )
        .await
        .0;
        (sent, ending.unwrap_or_else(|never| match never {}))
    }

    #[tokio::test(start_paused = true)]
    async fn echoes_text_and_binary_with_their_type() {
        let (sent, ending) = run(vec![
            Ok(AggregatedMessage::Text("héllo".into())),
            Ok(AggregatedMessage::Binary(Bytes::from_static(&[0, 1, 255]))),
            Ok(AggregatedMessage::Text("".into())),
        ])
        .await;
        assert_eq!(
            sent,
            vec![
                Message::Text("héllo".into()),
                Message::Binary(Bytes::from_static(&[0, 1, 255])),
                Message::Text("".into()),
            ]
        );
        assert_eq!(ending, Ending::StreamEnded);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_ping_with_pong_and_ignores_pong() {
        let (sent, _) = run(vec![
            Ok(AggregatedMessage::Ping(Bytes::from_static(
                b"are you there",
            ))),
            Ok(AggregatedMessage::Pong(Bytes::from_static(b"unsolicited"))),
        ])
        .await;
        assert_eq!(
            sent,
            vec![Message::Pong(Bytes::from_static(b"are you there"))]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn echoes_the_close_code_and_stops_reading() {
        let (sent, ending) = run(vec![
            Ok(AggregatedMessage::Close(Some(CloseReason {
                code: CloseCode::Other(4000),
                description: Some("bye".into()),
            }))),
            Ok(AggregatedMessage::Text("after close".into())),
        ])
        .await;
        let reply = Some(CloseReason {
            code: CloseCode::Other(4000),
            description: Some("bye".into()),
        });
        assert_eq!(sent, vec![Message::Close(reply.clone())]);
        assert_eq!(ending, Ending::Closed(reply));
    }

    #[tokio::test(start_paused = true)]
    async fn answers_a_reserved_close_code_with_1002() {
        let (sent, _) = run(vec![Ok(AggregatedMessage::Close(Some(CloseReason {
            code: CloseCode::Other(1005),
            description: None,
        })))])
        .await;
        let [Message::Close(Some(reason))] = sent.as_slice() else {
            panic!("expected one close frame, got {sent:?}");
        };
        assert_eq!(reason.code, CloseCode::Protocol);
    }

    #[tokio::test(start_paused = true)]
    async fn closes_with_1009_on_overflow() {
        let (sent, ending) = run(vec![Err(ProtocolError::Overflow)]).await;
        assert!(matches!(
            sent.as_slice(),
            [Message::Close(Some(CloseReason {
                code: CloseCode::Size,
                ..
            }))]
        ));
        assert!(matches!(ending, Ending::ProtocolError(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn our_limits_close_with_1009_and_1013() {
        for (refused, code) in [
            (Refused::MessageTooBig, CloseCode::Size),
            (Refused::ServerMemoryFull, CloseCode::Again),
        ] {
            let (sent, ending) = run(vec![Err(refused.into_protocol_error())]).await;
            assert!(is_close(&sent[0], code), "{refused:?}: {sent:?}");
            assert!(matches!(ending, Ending::ProtocolError(_)));
        }
    }

    fn is_close(message: &Message, code: CloseCode) -> bool {
        matches!(message, Message::Close(Some(CloseReason { code: c, .. })) if *c == code)
    }

    #[tokio::test(start_paused = true)]
    async fn pings_a_silent_peer_then_closes_it_with_1001() {
        let started = Instant::now();
        let (sent, ending) = run_with(stream::pending(), std::future::pending()).await;
        assert_eq!(ending, Ending::IdleTimeout);
        assert_eq!(started.elapsed(), LIVENESS.idle_timeout);
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(
            sent[..2],
            [Message::Ping(Bytes::new()), Message::Ping(Bytes::new())]
        );
        assert!(is_close(&sent[2], CloseCode::Away));
    }

    #[tokio::test(start_paused = true)]
    async fn any_traffic_keeps_the_connection_alive() {
        // A pong every 20 s (under the 25 s idle timeout) for 100 s, then the peer leaves.
        let pongs = stream::unfold(0, |n| async move {
            (n < 5).then_some(())?;
            sleep(Duration::from_secs(20)).await;
            Some((Ok(AggregatedMessage::Pong(Bytes::new())), n + 1))
        });
        let (sent, ending) = run_with(Box::pin(pongs), std::future::pending()).await;
        assert_eq!(
            ending,
            Ending::StreamEnded,
            "never closed for idleness: {sent:?}"
        );
        assert!(sent.iter().all(|m| matches!(m, Message::Ping(_))));
        assert_eq!(
            sent.len(),
            9,
            "pinged at 10 s, 20 s, … 90 s; at 100 s the peer left first"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_closes_with_1001_and_waits_for_the_peers_close() {
        let peer = stream::iter(vec![Ok(AggregatedMessage::Text("hi".into()))]).chain(
            stream::once(async {
                sleep(Duration::from_secs(2)).await;
                Ok(AggregatedMessage::Close(None))
            }),
        );
        let stop = sleep(Duration::from_secs(1));
        let started = Instant::now();
        let (sent, ending) = run_with(Box::pin(peer), stop).await;
        assert_eq!(ending, Ending::ShutDown);
        assert_eq!(sent[0], Message::Text("hi".into()));
        assert!(is_close(&sent[1], CloseCode::Away), "{sent:?}");
        assert_eq!(sent.len(), 2);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(2),
            "returned at the peer's close"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn on_stop_a_peer_that_never_closes_is_dropped_after_the_reply_timeout() {
        let stop = sleep(Duration::from_secs(1));
        let started = Instant::now();
        let (sent, ending) = run_with(stream::pending(), stop).await;
        assert_eq!(ending, Ending::ShutDown);
        assert!(is_close(&sent[0], CloseCode::Away), "{sent:?}");
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(1) + CLOSE_REPLY_TIMEOUT
        );
    }

    /// A sink that records what was sent and where each flush fell.
    #[derive(Default)]
    struct Flushes {
        sent: Vec<Message>,
        flushed_after: Vec<usize>,
    }

    impl Sink<Message> for Flushes {
        type Error = Infallible;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn start_send(self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Infallible> {
            self.get_mut().sent.push(item);
            Ok(())
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), Infallible>> {
            let this = self.get_mut();
            if this.flushed_after.last() != Some(&this.sent.len()) {
                this.flushed_after.push(this.sent.len());
            }
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), Infallible>> {
            self.poll_flush(cx)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_echoed_with_one_flush_and_a_long_one_in_batches() {
        // 3 messages at once, then 200 more after a pause, then the peer leaves.
        let burst = |n: usize| {
            stream::iter((0..n).map(|i| Ok(AggregatedMessage::Text(i.to_string().into()))))
        };
        let pause = stream::once(async {
            sleep(Duration::from_secs(1)).await;
            Ok(AggregatedMessage::Text("after".into()))
        });
        let incoming = Box::pin(burst(3).chain(pause).chain(burst(200)));
        let mut sink = Flushes::default();
        let connection = Duplex {
            incoming,
            outgoing: &mut sink,
            parks: false,
        };
        let (ending, (), _) = echo(connection, LIVENESS, std::future::pending(), ()).await;
        assert_eq!(ending, Ok(Ending::StreamEnded));
        assert_eq!(sink.sent.len(), 204);
        // The first poll finds nothing flushed yet; then one flush per burst or batch.
        assert_eq!(sink.flushed_after[0], 3, "{:?}", sink.flushed_after);
        assert_eq!(*sink.flushed_after.last().expect("flushed"), 204);
        assert!(
            sink.flushed_after.len() <= 2 + 201_usize.div_ceil(MAX_BATCH) + 1,
            "{:?}",
            sink.flushed_after
        );
        assert!(
            sink.flushed_after
                .windows(2)
                .all(|w| w[1] - w[0] <= MAX_BATCH + 1),
            "no batch beyond the cap: {:?}",
            sink.flushed_after
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_at_rest_is_handed_back_to_park_with_where_it_stands() {
        let started = Instant::now();
        // A message after 0.5 s (before it was quiet long enough to park), then silence.
        let incoming = Box::pin(
            stream::once(async {
                sleep(Duration::from_millis(500)).await;
                Ok(AggregatedMessage::Text("hi".into()))
            })
            .chain(stream::pending()),
        );
        let mut sent = Vec::new();
        let connection = Duplex {
            incoming,
            outgoing: &mut sent,
            parks: true,
        };
        let (ending, (), handed_back) =
            echo(connection, LIVENESS, std::future::pending(), ()).await;
        let heard = started + Duration::from_millis(500);
        assert_eq!(
            ending,
            Ok(Ending::Parked(Pace {
                liveness: LIVENESS,
                last_heard: heard,
                next_ping: started + LIVENESS.ping_interval,
            }))
        );
        assert_eq!(started.elapsed(), Duration::from_millis(500) + PARK_AFTER);
        assert!(handed_back.is_some(), "the connection comes back with it");
        assert_eq!(sent, vec![Message::Text("hi".into())]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_taken_up_again_keeps_its_deadlines() {
        // Parked 20 s after it was last heard from, its ping overdue: it is pinged at once and
        // closed for silence 5 s later (25 s after it was last heard from), not 25 s from now.
        let now = Instant::now();
        let pace = Pace {
            liveness: LIVENESS,
            last_heard: now - Duration::from_secs(20),
            next_ping: now - Duration::from_secs(1),
        };
        let mut sent = Vec::new();
        let connection = Duplex {
            incoming: stream::pending(),
            outgoing: &mut sent,
            parks: false,
        };
        let (ending, (), handed_back) =
            echo_from(connection, pace, std::future::pending::<()>(), ()).await;
        assert_eq!(ending, Ok(Ending::IdleTimeout));
        assert!(handed_back.is_none());
        assert_eq!(now.elapsed(), Duration::from_secs(5));
        assert_eq!(sent[0], Message::Ping(Bytes::new()));
        assert!(is_close(&sent[1], CloseCode::Away), "{sent:?}");
    }

    #[test]
    fn close_codes_that_may_be_sent() {
        for ok in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(is_sendable_close_code(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!is_sendable_close_code(bad), "{bad}");
        }
    }

    #[test]
    fn long_text_is_cut_in_the_log_on_a_char_boundary() {
        let long = "é".repeat(MAX_LOGGED_CHARS + 5);
        let logged = loggable_text(&long);
        assert!(logged.starts_with(&"é".repeat(MAX_LOGGED_CHARS)));
        assert!(logged.ends_with(&format!("… ({} bytes in all)", long.len())));
        assert_eq!(loggable_text("short"), "short");
    }
}
