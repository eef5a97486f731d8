//! One connection's load, driven straight on its socket: a loop that writes a batch of framed
//! messages from one buffer, reads whatever came back into another (reused) buffer, checks every
//! echo where it lies, and waits for the socket only when neither side can move. One task per
//! connection, no channel, no wake-up per message: the generator spends its CPU on syscalls.

use std::{collections::VecDeque, io, time::Instant};

use tokio::{io::Interest, sync::oneshot, time::sleep_until};

use crate::{
    dial::Opened,
    link::Link,
    live::Live,
    load::{Mode, Plan, Tally, DRAIN, TIMER_SLACK},
    messages::Messages,
    wire::{Framing, Incoming, MAX_FRAME_BYTES},
};

/// Where one connection's run stops sending: at the end of the run, or earlier when told
/// (`--stages` lowering the connection count).
pub struct Until {
    pub deadline: Instant,
    pub stop: Option<oneshot::Receiver<()>>,
}

impl Until {
    pub fn deadline(deadline: Instant) -> Until {
        Until {
            deadline,
            stop: None,
        }
    }
}

/// Most messages framed into one write.
const BATCH: u64 = 256;

/// The read buffer; a frame bigger than this grows it.
pub(crate) const READ_BUFFER_BYTES: usize = 64 * 1024;

/// The read buffer grows to hold a frame not yet whole, up to one of the largest frames taken.
const MAX_READ_BUFFER_BYTES: usize = (MAX_FRAME_BYTES + 16).next_power_of_two();

/// Runs `plan` on the connection from `started` until `until` says stop, then waits (at most
/// [`DRAIN`]) for the last echoes. Every echo must be the next message sent, byte for byte.
/// In rate mode this connection's sends are shifted by `phase` (a share of the period), so that
/// the connections together send evenly rather than all at the same instant. What it sees goes
/// to `live` as it goes, and in the tally returned.
pub async fn drive(
    opened: Opened,
    framing: Framing,
    plan: &Plan,
    started: Instant,
    phase: f64,
    until: Until,
    live: &Live,
) -> Tally {
    let mut tally = Tally::new();
    let Opened {
        mut link, early, ..
    } = opened;
    let result = run(
        &mut link, &early, framing, plan, started, phase, until, live, &mut tally,
    )
    .await;
    if let Err(error) = result {
        tally.error(error);
    }
    if tally.received < tally.sent && tally.errors == 0 {
        tally.error(format!(
            "{} of {} echoes never came back",
            tally.sent - tally.received,
            tally.sent
        ));
    }
    live.absorb(&mut tally);
    tally
}

#[allow(clippy::too_many_arguments)] // one connection's whole run, each part named
async fn run(
    link: &mut Link,
    early: &[u8],
    framing: Framing,
    plan: &Plan,
    started: Instant,
    phase: f64,
    mut until: Until,
    live: &Live,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut deadline = until.deadline;
    let mut drained_by = deadline + DRAIN;
    let mut conn = Connection::new(framing, plan, early, phase);
    let timer = sleep_until(tokio::time::Instant::from_std(deadline));
    tokio::pin!(timer);
    if conn.filled > 0 {
        // The server's own frames before any message of ours: a ping passes, a data frame is
        // an echo of nothing, a broken frame an error, at once.
        conn.check(0, tally)?;
    }
    loop {
        let now = Instant::now();
        if let Some(stop) = &mut until.stop {
            if !matches!(stop.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                // Told to stop (or the conductor is gone): stop sending, drain from now.
                until.stop = None;
                deadline = deadline.min(now);
                drained_by = deadline + DRAIN;
            }
        }
        let sending = now < deadline;
        let all_written = conn.written == conn.outgoing.len() && !link.wants_write();
        if (!sending && tally.received >= tally.sent && all_written) || now >= drained_by {
            return Ok(());
        }
        if sending && conn.written == conn.outgoing.len() {
            conn.new_batch(now.duration_since(started).as_nanos() as u64, tally);
        }
        let wrote = conn.write_some(link, started)?;
        let read = conn.read_some(link, started, tally)?;
        live.absorb(tally);
        if wrote || read {
            continue;
        }
        // Neither side could move: wait for the socket, the next message due, or the end.
        let wake_at = if !sending {
            drained_by
        } else if plan.mode == Mode::Rate {
            (started + std::time::Duration::from_nanos(conn.next_due_nanos)).min(deadline)
        } else {
            deadline
        };
        conn.wait(link, timer.as_mut(), wake_at, until.stop.as_mut())
            .await?;
    }
}

/// One driven connection's buffers and schedule.
struct Connection<'p> {
    messages: Messages<'p>,
    plan: &'p Plan,
    window: u64,
    period_nanos: u64,
    next_due_nanos: u64,
    /// The batch being written, and how much of it is.
    outgoing: Vec<u8>,
    written: usize,
    /// What arrived and is not yet a whole echo, in `incoming[..filled]`.
    incoming: Vec<u8>,
    filled: usize,
    /// When each message in flight was stamped, oldest first: its echo must carry exactly that.
    stamps: VecDeque<u64>,
    /// Rate mode: whether the server's socket refused part of the last batch, and until when
    /// it held us up (messages due before then count from their due time).
    held_up: bool,
    held_up_until: u64,
}

impl<'p> Connection<'p> {
    fn new(framing: Framing, plan: &'p Plan, early: &[u8], phase: f64) -> Self {
        let window = match plan.mode {
            Mode::PingPong => 1,
            _ => plan.window,
        };
        let period_nanos = ((1e9 / plan.per_connection_rate) as u64).max(1);
        let mut incoming = vec![0u8; READ_BUFFER_BYTES.max(plan.size + 16).max(early.len())];
        // What the server sent behind its 101 comes first.
        incoming[..early.len()].copy_from_slice(early);
        Connection {
            messages: Messages::new(framing, plan),
            plan,
            window,
            period_nanos,
            next_due_nanos: period_nanos + (period_nanos as f64 * phase.clamp(0.0, 1.0)) as u64,
            outgoing: Vec::with_capacity(64 * 1024),
            written: 0,
            incoming,
            filled: early.len(),
            stamps: VecDeque::with_capacity(window.min(1 << 20) as usize),
            held_up: false,
            held_up_until: 0,
        }
    }

    /// A new batch once the last one is written: as many as the window and the mode allow.
    #[inline]
    fn new_batch(&mut self, now_nanos: u64, tally: &mut Tally) {
        self.outgoing.clear();
        self.written = 0;
        if self.plan.mode == Mode::Rate {
            // Every message due by now, at most a batch per write (what is still due goes
            // next). Each counts from its actual send, unless the server's socket held it up:
            // then from when it was due.
            let mut framed = 0;
            while self.next_due_nanos <= now_nanos && framed < BATCH {
                framed += 1;
                let stamp = if self.next_due_nanos < self.held_up_until {
                    // Due while the server's socket would not take more: its queue.
                    self.next_due_nanos
                } else {
                    if now_nanos - self.next_due_nanos > TIMER_SLACK.as_nanos() as u64 {
                        tally.late_sends += 1;
                    }
                    now_nanos
                };
                self.messages.write(&mut self.outgoing, tally.sent, stamp);
                self.stamps.push_back(stamp);
                tally.sent += 1;
                self.next_due_nanos += self.period_nanos;
            }
        } else {
            let room = self.window - (tally.sent - tally.received).min(self.window);
            for _ in 0..room.min(BATCH) {
                self.messages
                    .write(&mut self.outgoing, tally.sent, now_nanos);
                self.stamps.push_back(now_nanos);
                tally.sent += 1;
            }
        }
    }

    /// Writes what the socket takes now; whether anything moved.
    #[inline]
    fn write_some(&mut self, link: &mut Link, started: Instant) -> Result<bool, String> {
        if self.written == self.outgoing.len() {
            // What TLS made of the batch may still be waiting for the socket.
            return link.flush_pending().map_err(|e| format!("write: {e}"));
        }
        match link.try_write(&self.outgoing[self.written..]) {
            Ok(n) => {
                self.written += n;
                if self.written == self.outgoing.len() && self.held_up {
                    self.held_up = false;
                    self.held_up_until = started.elapsed().as_nanos() as u64;
                }
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.held_up = true;
                Ok(false)
            }
            Err(error) => Err(format!("write: {error}")),
        }
    }

    /// Reads what the socket has now and checks every whole echo; whether anything moved.
    #[inline]
    fn read_some(
        &mut self,
        link: &mut Link,
        started: Instant,
        tally: &mut Tally,
    ) -> Result<bool, String> {
        if self.filled == self.incoming.len() {
            // Only a frame not yet whole fills the buffer; wire.rs refuses frames over
            // MAX_FRAME_BYTES at their header, so this stops at one such frame.
            if self.incoming.len() >= MAX_READ_BUFFER_BYTES {
                return Err(format!(
                    "the server's frame does not fit the bench's {} MiB read buffer",
                    MAX_READ_BUFFER_BYTES >> 20
                ));
            }
            let grown = (self.incoming.len() * 2).min(MAX_READ_BUFFER_BYTES);
            self.incoming.resize(grown, 0);
        }
        match link.try_read(&mut self.incoming[self.filled..]) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(n) => {
                let drained = self.filled + n < self.incoming.len();
                self.filled += n;
                if drained {
                    link.note_drained();
                }
                self.check(started.elapsed().as_nanos() as u64, tally)?;
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(error) => Err(format!("read: {error}")),
        }
    }

    /// Checks every whole echo in what arrived, `arrived` nanoseconds into the run.
    #[inline]
    fn check(&mut self, arrived: u64, tally: &mut Tally) -> Result<(), String> {
        let filled = self.filled;
        let used = check_echoes(
            &self.incoming[..filled],
            &mut self.messages,
            arrived,
            &mut self.stamps,
            tally,
        )?;
        self.incoming.copy_within(used..filled, 0);
        self.filled -= used;
        Ok(())
    }

    /// Waits for the socket (to read, or to write the rest of a batch), until `wake_at`, or
    /// until told to stop.
    async fn wait(
        &self,
        link: &Link,
        mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
        wake_at: Instant,
        stop: Option<&mut oneshot::Receiver<()>>,
    ) -> Result<(), String> {
        let wake_at = tokio::time::Instant::from_std(wake_at);
        if timer.deadline() != wake_at {
            timer.as_mut().reset(wake_at);
        }
        let interest = if self.written < self.outgoing.len() || link.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let stopped = async {
            match stop {
                // The loop sees the stop itself (try_recv, then drops the receiver): here it
                // only wakes the loop.
                Some(stop) => {
                    let _ = stop.await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            ready = link.ready(interest) => {
                ready.map_err(|e| format!("socket: {e}"))?;
            }
            () = &mut timer => {}
            () = stopped => {}
        }
        Ok(())
    }
}

/// Checks every whole echo in `bytes` against the next message expected; returns the bytes used.
fn check_echoes(
    bytes: &[u8],
    messages: &mut Messages<'_>,
    arrived: u64,
    stamps: &mut VecDeque<u64>,
    tally: &mut Tally,
) -> Result<usize, String> {
    let (framing, size) = (messages.framing, messages.plan.size);
    let mut used = 0;
    while let Some((frame, len)) = framing.next(&bytes[used..], size)? {
        used += len;
        match frame {
            Incoming::Data(_) | Incoming::Compressed(_) | Incoming::Fragment { .. } => {
                let joined;
                let (echo, compressed) = match frame {
                    Incoming::Data(echo) => (echo, false),
                    Incoming::Compressed(echo) => (echo, true),
                    _ => match messages.join(&frame)? {
                        Some((whole, compressed)) => {
                            joined = whole;
                            (&joined[..], compressed)
                        }
                        None => continue,
                    },
                };
                let Some(sent) = stamps.pop_front() else {
                    return Err("an echo of a message never sent".into());
                };
                messages.check(echo, compressed, tally.received, sent)?;
                tally.record(arrived, sent);
            }
            Incoming::Control => {}
            Incoming::Close(code) => {
                return Err(format!("the server closed with {code:?}"));
            }
        }
    }
    Ok(used)
}

// The idle mode's tests are here too: they share the raw servers below.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::idle::hold;

    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;
    use crate::dial::{open_stream, Target};

    /// One connection driven for the plan's duration from now.
    async fn drive_now(opened: Opened, framing: Framing, plan: &Plan, phase: f64) -> Tally {
        let started = Instant::now();
        let until = Until::deadline(started + plan.duration);
        drive(opened, framing, plan, started, phase, until, &Live::new()).await
    }

    fn plan(mode: Mode) -> Plan {
        Plan {
            mode,
            size: 48,
            text: mode != Mode::Flood,
            duration: Duration::from_millis(300),
            per_connection_rate: 2000.0,
            window: 100,
            corpus: None,
        }
    }

    /// A raw TCP echo that flips one bit of the byte numbered `corrupt_at`, if given.
    async fn raw_echo(corrupt_at: Option<usize>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buffer = [0u8; 4096];
            let mut seen = 0;
            loop {
                let n = match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if let Some(at) = corrupt_at.filter(|at| (seen..seen + n).contains(at)) {
                    buffer[at - seen] ^= 1;
                }
                seen += n;
                if socket.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn every_mode_against_a_raw_echo_gets_every_echo_back_checked() {
        for mode in [Mode::Flood, Mode::PingPong, Mode::Rate] {
            let addr = raw_echo(None).await;
            let stream = open_stream(&Target::RawTcp { addr })
                .await
                .expect("connect");
            let tally = drive_now(stream, Framing::Raw, &plan(mode), 0.0).await;
            assert_eq!(tally.errors, 0, "{mode:?}: {:?}", tally.first_error);
            assert!(tally.received > 100, "{mode:?}: {}", tally.received);
            assert_eq!(tally.received, tally.sent, "{mode:?}");
        }
    }

    #[tokio::test]
    async fn idle_mode_samples_raw_and_websocket_connections() {
        let server =
            backend::server::start_in_background(backend::Config::listening_on("127.0.0.1:0"))
                .expect("server starts");
        let mut plan = plan(Mode::Idle);
        plan.duration = Duration::from_millis(1500);
        let raw = raw_echo(None).await;
        for (target, framing) in [
            (
                Target::WebSocket {
                    url: server.echo_url(),
                    compress: false,
                },
                Framing::WebSocket,
            ),
            (Target::RawTcp { addr: raw }, Framing::Raw),
        ] {
            let stream = open_stream(&target).await.expect("connect");
            let tally = hold(vec![stream], framing, &plan, Instant::now(), &Live::new()).await;
            assert_eq!(tally.errors, 0, "{framing:?}: {:?}", tally.first_error);
            assert!(tally.received >= 2, "{framing:?}: {}", tally.received);
        }
    }

    #[tokio::test]
    async fn one_flipped_bit_anywhere_in_the_stream_is_an_error() {
        for at in [5, 48 * 1000 + 20, 48 * 3000 + 47] {
            let addr = raw_echo(Some(at)).await;
            let stream = open_stream(&Target::RawTcp { addr })
                .await
                .expect("connect");
            let tally = drive_now(stream, Framing::Raw, &plan(Mode::Flood), 0.0).await;
            assert_eq!(tally.errors, 1, "byte {at}");
            let error = tally.first_error.unwrap_or_default();
            assert!(error.contains("not message"), "{error}");
        }
    }

    #[tokio::test]
    async fn websocket_framing_against_the_backend() {
        let server =
            backend::server::start_in_background(backend::Config::listening_on("127.0.0.1:0"))
                .expect("server starts");
        for mode in [Mode::Flood, Mode::PingPong, Mode::Rate] {
            let target = Target::WebSocket {
                url: server.echo_url(),
                compress: false,
            };
            let stream = open_stream(&target).await.expect("connect");
            let tally = drive_now(stream, Framing::WebSocket, &plan(mode), 0.5).await;
            assert_eq!(tally.errors, 0, "{mode:?}: {:?}", tally.first_error);
            assert!(tally.received > 100, "{mode:?}: {}", tally.received);
        }
    }

    #[tokio::test]
    async fn compressed_messages_against_the_backend_are_inflated_and_checked() {
        let server =
            backend::server::start_in_background(backend::Config::listening_on("127.0.0.1:0"))
                .expect("server starts");
        let target = Target::WebSocket {
            url: server.echo_url(),
            compress: true,
        };
        let answer = open_stream(&target).await.expect("connect").extensions;
        let corpus = std::sync::Arc::new(crate::compressed::Corpus::new(2000, &answer));
        for mode in [Mode::Flood, Mode::PingPong, Mode::Idle] {
            let plan = Plan {
                size: 2000,
                corpus: Some(std::sync::Arc::clone(&corpus)),
                ..plan(mode)
            };
            let stream = open_stream(&target).await.expect("connect");
            let tally = if mode == Mode::Idle {
                hold(
                    vec![stream],
                    Framing::WebSocket,
                    &plan,
                    Instant::now(),
                    &Live::new(),
                )
                .await
            } else {
                drive_now(stream, Framing::WebSocket, &plan, 0.0).await
            };
            assert_eq!(tally.errors, 0, "{mode:?}: {:?}", tally.first_error);
            assert!(tally.received >= 1, "{mode:?}");
        }
        // With context takeover each connection's echoes form one stream: two connections held
        // at once must each be inflated with their own context.
        let mut config = backend::Config::listening_on("127.0.0.1:0");
        config.deflate_context_takeover = true;
        let takeover = backend::server::start_in_background(config).expect("server starts");
        let target = Target::WebSocket {
            url: takeover.echo_url(),
            compress: true,
        };
        let first = open_stream(&target).await.expect("connect");
        let answer = first.extensions.clone();
        assert!(!answer.contains("server_no_context_takeover"), "{answer}");
        let second = open_stream(&target).await.expect("connect");
        let plan = Plan {
            size: 2000,
            duration: Duration::from_millis(2500),
            corpus: Some(std::sync::Arc::new(crate::compressed::Corpus::new(
                2000, &answer,
            ))),
            ..plan(Mode::Idle)
        };
        let tally = hold(
            vec![first, second],
            Framing::WebSocket,
            &plan,
            Instant::now(),
            &Live::new(),
        )
        .await;
        assert_eq!(tally.errors, 0, "{:?}", tally.first_error);
        assert!(tally.received >= 4, "{}", tally.received);

        let metrics = metrics_text(server.addr);
        assert!(
            metrics.contains(r#"echo_deflate_bytes_total{direction="in",stage="wire"}"#),
            "{metrics}"
        );
    }

    /// `GET /metrics` with a plain socket.
    fn metrics_text(addr: std::net::SocketAddr) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("request");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("response");
        text
    }
}
