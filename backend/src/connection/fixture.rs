//! The echo as a test fixture: what one connection asked for in its `/echo` URL's query (parsed
//! in [`crate::handshake::fixture`]) and the loop that does it: a hello message first, echoes
//! held for a delay (charged to the memory budget), a close or a reset after N echoes or a
//! time, numbered messages pushed at an interval, pings left unanswered, echoes cut into
//! fragments.
//!
//! Only a connection that asked for one of these runs this loop; every other runs the plain
//! echo loop ([`super::echo`]), which pays nothing for them.

use std::{collections::VecDeque, future::Future, ops::ControlFlow, time::Duration};

use actix_http::ws::Item;
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Message, ProtocolError};
use futures_util::{future::poll_fn, SinkExt, StreamExt};
use tokio::time::{interval_at, sleep_until, Instant, Interval, MissedTickBehavior};

use crate::{
    connection::echo::{
        await_close, going_away, is_server_stopping, on_shutdown, process_message, Connection,
        Ending, Liveness, Reply, CLOSE_REPLY_TIMEOUT,
    },
    limits::memory_budget::Charge,
    metrics::Observer,
};

/// After how many echoes, or how long after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Echoes(u64),
    Elapsed(Duration),
}

/// Messages the server sends of its own accord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Push {
    pub every: Duration,
    /// Bytes in each message.
    pub size: usize,
    pub binary: bool,
}

/// What a connection asked of the server besides the echo. The default asks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Sent before anything else (`hello=request`).
    pub hello: Option<String>,
    /// Each echo leaves this long after its message arrived.
    pub delay: Option<Duration>,
    /// The server starts the closing handshake with this reason.
    pub close: Option<(After, CloseReason)>,
    /// The server drops the TCP connection with a reset, without a close frame.
    pub reset: Option<After>,
    pub push: Option<Push>,
    /// Pings from the peer get no pong.
    pub no_pongs: bool,
    /// Echoes go out as frames of at most this many payload bytes.
    pub fragment: Option<usize>,
}

impl Behaviour {
    /// Whether anything is asked besides the echo.
    pub fn asks_anything(&self) -> bool {
        *self != Behaviour::default()
    }

    /// The fault names in use, as the metrics label them (the hello is counted by the
    /// handshake, which asks for it).
    pub fn faults(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("delay", self.delay.is_some()),
            ("close_after", self.close.is_some()),
            ("reset_after", self.reset.is_some()),
            ("push_every", self.push.is_some()),
            ("pongs_off", self.no_pongs),
            ("fragment", self.fragment.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, used)| used.then_some(name))
    }
}

/// Echoes waiting for their time (`delay=`), charged to the memory budget.
struct Waiting {
    queue: VecDeque<(Instant, Message, Instant)>,
    bytes: usize,
    charge: Charge,
}

impl Waiting {
    fn push(&mut self, due: Instant, message: Message, arrived: Instant) {
        self.bytes += payload_len(&message);
        self.queue.push_back((due, message, arrived));
        self.charge.set(self.bytes);
    }

    fn pop_due(&mut self, now: Instant) -> Option<(Message, Instant)> {
        if self.queue.front().is_none_or(|(due, _, _)| *due > now) {
            return None;
        }
        let (_, message, arrived) = self.queue.pop_front()?;
        self.bytes -= payload_len(&message);
        self.charge.set(self.bytes);
        Some((message, arrived))
    }

    /// Resolves when the budget tells this connection to close for what is waiting.
    async fn told_to_close(&self) {
        poll_fn(|cx| {
            if !self.charge.holds_any() {
                return std::task::Poll::Pending;
            }
            self.charge.wake_on_close(cx.waker());
            if self.charge.told_to_close() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
    }
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

/// What woke the loop.
enum Event {
    Stop,
    MemoryFull,
    Reset,
    Close,
    Due,
    Push,
    Incoming(Option<Result<AggregatedMessage, ProtocolError>>),
    Idle,
    Ping,
}

/// The echo loop of [`super::echo::echo`] with `behaviour` on top. `charge` holds what waits
/// for a delay.
pub async fn fixture_echo<C, Stop>(
    connection: &mut C,
    liveness: Liveness,
    stop: Stop,
    observer: &mut impl Observer,
    behaviour: &Behaviour,
    charge: Charge,
) -> Result<Ending, C::Error>
where
    C: Connection,
    Stop: Future<Output = ()>,
{
    let started = Instant::now();
    // Far enough never to come while a test runs; a timer set at `never` is not armed.
    let never = started + Duration::from_secs(365 * 24 * 3600);
    let at = |after: Option<After>| match after {
        Some(After::Elapsed(after)) => started + after,
        _ => never,
    };
    let mut pings = interval_at(started + liveness.ping_interval, liveness.ping_interval);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pushes = behaviour.push.map(|push| {
        let mut ticks = interval_at(started + push.every, push.every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks
    });
    let mut pushed = 0u64;
    let mut last_heard = started;
    let idle = sleep_until(last_heard + liveness.idle_timeout);
    let close_at = sleep_until(at(behaviour.close.as_ref().map(|(after, _)| *after)));
    let reset_at = sleep_until(at(behaviour.reset));
    let next_due = sleep_until(never);
    let mut waiting = Waiting {
        queue: VecDeque::new(),
        bytes: 0,
        charge,
    };
    let mut echoes = 0u64;
    tokio::pin!(stop, idle, close_at, reset_at, next_due);

    if let Some(hello) = &behaviour.hello {
        connection
            .send(Message::Text(hello.as_str().into()))
            .await?;
    }
    loop {
        if let Some(end) = count_reached(behaviour, echoes) {
            return end_by(end, behaviour, connection).await;
        }
        connection.flush().await?;
        let event = tokio::select! {
            biased;
            () = &mut stop => Event::Stop,
            () = waiting.told_to_close() => Event::MemoryFull,
            () = &mut reset_at => Event::Reset,
            () = &mut close_at => Event::Close,
            () = &mut next_due, if !waiting.queue.is_empty() => Event::Due,
            () = tick(&mut pushes) => Event::Push,
            item = connection.next() => Event::Incoming(item),
            () = &mut idle => Event::Idle,
            _ = pings.tick() => Event::Ping,
        };
        match event {
            Event::Stop => return on_shutdown(connection).await,
            Event::MemoryFull => {
                let reason = CloseReason {
                    code: CloseCode::Again,
                    description: Some("server memory budget reached, try again later".into()),
                };
                connection
                    .send(Message::Close(Some(reason.clone())))
                    .await?;
                return Ok(Ending::ProtocolError(reason));
            }
            Event::Reset => return end_by(End::Reset, behaviour, connection).await,
            Event::Close => return end_by(End::Close, behaviour, connection).await,
            Event::Due => {
                let now = Instant::now();
                while let Some((message, arrived)) = waiting.pop_due(now) {
                    send_echo(connection, message, behaviour.fragment, observer, arrived).await?;
                    echoes += 1;
                    if let Some(end) = count_reached(behaviour, echoes) {
                        return end_by(end, behaviour, connection).await;
                    }
                }
                if let Some((due, _, _)) = waiting.queue.front() {
                    next_due.as_mut().reset(*due);
                }
            }
            Event::Push => {
                if let Some(push) = behaviour.push {
                    pushed += 1;
                    connection.feed(pushed_message(push, pushed)).await?;
                }
            }
            Event::Incoming(None) => {
                let _ = connection.flush().await;
                return Ok(Ending::StreamEnded);
            }
            Event::Incoming(Some(item)) if is_server_stopping(&item) => {
                return on_shutdown(connection).await;
            }
            Event::Incoming(Some(item)) => {
                last_heard = Instant::now();
                if behaviour.no_pongs && matches!(item, Ok(AggregatedMessage::Ping(_))) {
                    continue;
                }
                match process_message(item, observer) {
                    ControlFlow::Continue(Some(Reply {
                        message,
                        echoed: Some(_),
                    })) => {
                        if let Some(delay) = behaviour.delay {
                            let due = last_heard + delay;
                            if waiting.queue.is_empty() {
                                next_due.as_mut().reset(due);
                            }
                            waiting.push(due, message, last_heard);
                        } else {
                            send_echo(
                                connection,
                                message,
                                behaviour.fragment,
                                observer,
                                last_heard,
                            )
                            .await?;
                            echoes += 1;
                        }
                    }
                    ControlFlow::Continue(Some(Reply { message, .. })) => {
                        connection.feed(message).await?;
                    }
                    ControlFlow::Continue(None) => {}
                    ControlFlow::Break((close, ending)) => {
                        connection.send(Message::Close(close)).await?;
                        return Ok(ending);
                    }
                }
            }
            Event::Idle => {
                let deadline = last_heard + liveness.idle_timeout;
                if Instant::now() < deadline {
                    idle.as_mut().reset(deadline);
                    continue;
                }
                connection
                    .send(Message::Close(Some(going_away("idle timeout"))))
                    .await?;
                return Ok(Ending::IdleTimeout);
            }
            Event::Ping => {
                connection.feed(Message::Ping(Bytes::new())).await?;
            }
        }
    }
}

/// The next push tick, or never without `push_every`.
async fn tick(pushes: &mut Option<Interval>) {
    match pushes {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// How the fixture ends a connection.
enum End {
    Close,
    Reset,
}

/// `close_after=N` or `reset_after=N` reached with `echoes` sent.
fn count_reached(behaviour: &Behaviour, echoes: u64) -> Option<End> {
    let reached = |after: Option<After>| after == Some(After::Echoes(echoes));
    if reached(behaviour.reset) {
        Some(End::Reset)
    } else if reached(behaviour.close.as_ref().map(|(after, _)| *after)) {
        Some(End::Close)
    } else {
        None
    }
}

/// Closes with the asked code and reason (then waits for the peer's close a moment), or ends
/// without a close frame: the session then resets the TCP connection.
async fn end_by<C: Connection>(
    end: End,
    behaviour: &Behaviour,
    connection: &mut C,
) -> Result<Ending, C::Error> {
    match (end, &behaviour.close) {
        (End::Close, Some((_, reason))) => {
            connection
                .send(Message::Close(Some(reason.clone())))
                .await?;
            let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, await_close(connection)).await;
            Ok(Ending::Fixture(Some(reason.clone())))
        }
        _ => {
            // Echoes already handed over still go out; then nothing more.
            connection.flush().await?;
            Ok(Ending::Fixture(None))
        }
    }
}

/// Sends an echo whole, or cut into frames of at most `fragment` bytes (a text message may be
/// cut inside a character: only the whole message must be UTF-8).
async fn send_echo<C: Connection>(
    connection: &mut C,
    message: Message,
    fragment: Option<usize>,
    observer: &mut impl Observer,
    arrived: Instant,
) -> Result<(), C::Error> {
    let (kind, bytes) = match &message {
        Message::Text(text) => (crate::metrics::Kind::Text, text.as_bytes().clone()),
        Message::Binary(bytes) => (crate::metrics::Kind::Binary, bytes.clone()),
        _ => return connection.feed(message).await,
    };
    let len = bytes.len();
    match fragment {
        Some(size) if len > size => {
            let mut at = 0;
            while at < len {
                let end = (at + size).min(len);
                let piece = bytes.slice(at..end);
                let item = match (at, end == len) {
                    (0, _) if kind == crate::metrics::Kind::Text => Item::FirstText(piece),
                    (0, _) => Item::FirstBinary(piece),
                    (_, true) => Item::Last(piece),
                    _ => Item::Continue(piece),
                };
                connection.feed(Message::Continuation(item)).await?;
                at = end;
            }
        }
        _ => connection.feed(message).await?,
    }
    observer.echoed(kind, len, arrived.elapsed());
    Ok(())
}

/// Push number `n`: `push N ` then dots to `size` bytes as text; as binary, N in 8 bytes
/// (big-endian) then zeros. Cut to `size` if that is shorter.
fn pushed_message(push: Push, n: u64) -> Message {
    if push.binary {
        let mut bytes = n.to_be_bytes().to_vec();
        bytes.resize(push.size, 0);
        Message::Binary(Bytes::from(bytes))
    } else {
        let mut text = format!("push {n} ");
        if text.len() < push.size {
            text.extend(std::iter::repeat_n('.', push.size - text.len()));
        }
        text.truncate(push.size);
        Message::Text(text.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_messages_are_numbered_and_exactly_their_size() {
        let text = Push {
            every: Duration::from_secs(1),
            size: 12,
            binary: false,
        };
        assert_eq!(
            pushed_message(text, 7),
            Message::Text("push 7 .....".into())
        );
        let short = Push { size: 3, ..text };
        assert_eq!(pushed_message(short, 7), Message::Text("pus".into()));
        let binary = Push {
            size: 10,
            binary: true,
            ..text
        };
        assert_eq!(
            pushed_message(binary, 258),
            Message::Binary(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 1, 2, 0, 0]))
        );
    }

    #[test]
    fn the_default_behaviour_asks_nothing() {
        assert!(!Behaviour::default().asks_anything());
        let delayed = Behaviour {
            delay: Some(Duration::from_millis(5)),
            no_pongs: true,
            ..Behaviour::default()
        };
        assert!(delayed.asks_anything());
        assert_eq!(delayed.faults().collect::<Vec<_>>(), ["delay", "pongs_off"]);
    }
}
