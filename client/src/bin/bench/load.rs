//! The load each connection puts on the server, and what it measures.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use hdrhistogram::Histogram;
use tokio::{
    sync::Notify,
    time::{interval_at, sleep_until, timeout, MissedTickBehavior},
};
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{protocol::WebSocketConfig, Error as WsError, Message},
};
use tokio_util::codec::{Decoder, Encoder, Framed};

use crate::payload::{make, verify};

/// A connection the load runs over: a WebSocket, or raw TCP framed by message size.
pub trait Connection:
    Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send
{
}

impl<T> Connection for T where
    T: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send
{
}

pub type Socket = Box<dyn Connection>;

/// Where the load goes.
#[derive(Debug, Clone)]
pub enum Target {
    WebSocket {
        url: String,
    },
    /// A raw TCP echo: messages are `size` bytes with no framing, so a read of `size` bytes is
    /// one echo.
    RawTcp {
        addr: String,
        size: usize,
    },
}

/// After the writers stop, how long readers wait for the last echoes before counting them lost.
pub const DRAIN: Duration = Duration::from_secs(5);

/// tokio's timer wheel has 1 ms ticks, so a rate-mode send fires up to about 1 ms after it was
/// due. Lateness within this slack is the generator's own and latency counts from the actual
/// send; beyond it the writer was held up (the server pushing back) and latency counts from
/// when the message was due, so queueing is not hidden.
const TIMER_SLACK: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Each connection writes as fast as it can while reading the echoes, with at most
    /// --window messages in flight.
    Flood,
    /// One message in flight per connection.
    PingPong,
    /// A fixed total rate (--rate msgs/s) spread over the connections.
    Rate,
    /// Open the connections and hold them; check a sample still echoes.
    Idle,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub size: usize,
    pub text: bool,
    pub duration: Duration,
    /// Rate mode: messages per second per connection.
    pub per_connection_rate: f64,
    /// Flood mode: messages sent and not yet echoed, at most, per connection.
    pub window: u64,
}

/// What one connection (or all, merged) saw.
pub struct Tally {
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Round trips in microseconds.
    pub latency: Histogram<u64>,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            sent: 0,
            received: 0,
            errors: 0,
            first_error: None,
            // 1 µs to 100 s, 3 significant figures.
            latency: Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds"),
        }
    }

    pub fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    pub fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.received += other.received;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        let _ = self.latency.add(other.latency);
    }

    fn record(&mut self, started: Instant, sent_nanos: u64) {
        let now = started.elapsed().as_nanos() as u64;
        let _ = self
            .latency
            .record((now.saturating_sub(sent_nanos) / 1000).max(1));
        self.received += 1;
    }
}

pub async fn open(target: &Target) -> Result<Socket, String> {
    match target {
        Target::WebSocket { url } => {
            connect_async_with_config(url, Some(client_config()), DISABLE_NAGLE)
                .await
                .map(|(socket, _)| Box::new(socket) as Socket)
                .map_err(|e| format!("connect: {e}"))
        }
        Target::RawTcp { addr, size } => {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            stream
                .set_nodelay(true)
                .map_err(|e| format!("connect: {e}"))?;
            Ok(Box::new(Framed::new(stream, FixedSize(*size))))
        }
    }
}

/// Every message goes out at once, as over raw TCP (and as the servers answer): with Nagle's
/// algorithm a small write waits for the ACK of the one before whenever one is in flight.
const DISABLE_NAGLE: bool = true;

/// tungstenite zero-fills its whole read buffer (128 KiB by default) before every read: an
/// eighth of the generator's CPU time in ping-pong, where each read brings back 34 bytes. A
/// buffer of 8 KiB still takes a flood's echoes by the hundred per read.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Raw TCP framing: every `.0` bytes is one message.
struct FixedSize(usize);

impl Decoder for FixedSize {
    type Item = Message;
    type Error = WsError;

    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Message>, WsError> {
        if src.len() < self.0 {
            src.reserve(self.0 - src.len());
            return Ok(None);
        }
        Ok(Some(Message::Binary(src.split_to(self.0).freeze())))
    }
}

impl Encoder<Message> for FixedSize {
    type Error = WsError;

    fn encode(&mut self, message: Message, dst: &mut bytes::BytesMut) -> Result<(), WsError> {
        dst.extend_from_slice(&message.into_data());
        Ok(())
    }
}

fn message(bytes: Vec<u8>, text: bool) -> Message {
    if text {
        Message::text(String::from_utf8(bytes).unwrap_or_default())
    } else {
        Message::binary(bytes)
    }
}

/// The data of the next data frame, skipping control frames; None when the connection ended.
async fn next_data(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Option<Result<Vec<u8>, String>> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(Ok(text.as_bytes().to_vec())),
            Ok(Message::Binary(bytes)) => return Some(Ok(bytes.to_vec())),
            Ok(Message::Close(frame)) => return Some(Err(format!("server closed: {frame:?}"))),
            Ok(_) => continue,
            Err(error) => return Some(Err(error.to_string())),
        }
    }
}

/// One connection running `plan` from `started` until `started + duration`.
pub async fn run_connection(socket: Socket, plan: &Plan, started: Instant) -> Tally {
    match plan.mode {
        Mode::PingPong => ping_pong(socket, plan, started).await,
        Mode::Flood | Mode::Rate => pipelined(socket, plan, started).await,
        Mode::Idle => Tally::new(),
    }
}

async fn ping_pong(mut socket: Socket, plan: &Plan, started: Instant) -> Tally {
    let mut tally = Tally::new();
    let deadline = started + plan.duration;
    let mut seq = 0;
    while Instant::now() < deadline {
        let sent_nanos = started.elapsed().as_nanos() as u64;
        if let Err(error) = socket
            .send(message(
                make(seq, sent_nanos, plan.size, plan.text),
                plan.text,
            ))
            .await
        {
            tally.error(format!("send: {error}"));
            break;
        }
        tally.sent += 1;
        match timeout(DRAIN, next_data(&mut socket)).await {
            Ok(Some(Ok(echo))) => match verify(&echo, seq, plan.size, plan.text) {
                Ok(sent) => tally.record(started, sent),
                Err(error) => tally.error(error),
            },
            Ok(Some(Err(error))) => {
                tally.error(error);
                break;
            }
            Ok(None) | Err(_) => {
                tally.error(format!("no echo for message {seq}"));
                break;
            }
        }
        seq += 1;
    }
    let _ = SinkExt::close(&mut socket).await;
    tally
}

/// Flood and rate: a writer and a reader on one connection; the reader checks order.
///
/// A flood without a window measures socket buffers, not the server: the kernel queues
/// megabytes per connection, so echoes come back seconds late and the run ends with a backlog.
/// With a window the writer still outruns any server, and every echo is back soon after the end.
async fn pipelined(socket: Socket, plan: &Plan, started: Instant) -> Tally {
    let (mut writer, mut reader) = socket.split();
    let deadline = started + plan.duration;
    // Echoes in so far, for the writer's window; both halves run in this task and borrow them.
    let echoed = AtomicU64::new(0);
    let echo_arrived = Notify::new();
    // The writer's final count, so the reader stops as soon as every echo is in.
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(None::<u64>);
    let write = async {
        let mut sent = 0u64;
        match plan.mode {
            Mode::Rate => {
                let period = Duration::from_secs_f64(1.0 / plan.per_connection_rate);
                let first = tokio::time::Instant::from_std(started) + period;
                let mut ticks = interval_at(first, period);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
                while Instant::now() < deadline {
                    let due = ticks.tick().await.into_std();
                    let now = Instant::now();
                    let from = if now.duration_since(due) > TIMER_SLACK {
                        due
                    } else {
                        now
                    };
                    let due = (from - started).as_nanos() as u64;
                    if writer
                        .send(message(make(sent, due, plan.size, plan.text), plan.text))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    sent += 1;
                }
            }
            _ => {
                while Instant::now() < deadline {
                    if sent - echoed.load(Ordering::Acquire) >= plan.window {
                        // Everything written must reach the server before waiting on it.
                        if writer.flush().await.is_err() {
                            break;
                        }
                        tokio::select! {
                            () = echo_arrived.notified() => {}
                            () = sleep_until(tokio::time::Instant::from_std(deadline)) => break,
                        }
                        continue;
                    }
                    let now = started.elapsed().as_nanos() as u64;
                    if writer
                        .feed(message(make(sent, now, plan.size, plan.text), plan.text))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    sent += 1;
                    if sent % 32 == 0 && writer.flush().await.is_err() {
                        break;
                    }
                }
                let _ = writer.flush().await;
            }
        }
        let _ = done_tx.send(Some(sent));
        (sent, writer)
    };
    let read = async {
        let mut tally = Tally::new();
        let mut expected = 0u64;
        loop {
            if done_rx.borrow().is_some_and(|sent| expected >= sent) {
                break;
            }
            let next = tokio::select! {
                next = next_data(&mut reader) => next,
                _ = done_rx.changed() => continue,
                () = sleep_until(tokio::time::Instant::from_std(deadline + DRAIN)) => break,
            };
            match next {
                Some(Ok(echo)) => {
                    match verify(&echo, expected, plan.size, plan.text) {
                        Ok(sent) => tally.record(started, sent),
                        Err(error) => tally.error(error),
                    }
                    expected += 1;
                    echoed.store(expected, Ordering::Release);
                    echo_arrived.notify_one();
                }
                Some(Err(error)) => {
                    tally.error(error);
                    break;
                }
                None => break,
            }
        }
        tally
    };
    // The reader stops at deadline + DRAIN; the writer stops at the deadline.
    let ((sent, writer), mut tally) = tokio::join!(write, read);
    tally.sent = sent;
    if tally.received < sent && tally.errors == 0 {
        tally.error(format!(
            "{} of {sent} echoes never came back",
            sent - tally.received
        ));
    }
    if let Ok(mut socket) = writer.reunite(reader) {
        let _ = SinkExt::close(&mut socket).await;
    }
    tally
}
