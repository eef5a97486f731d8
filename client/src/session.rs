//! One connection: sends what the input produces, prints what arrives (with round-trip times),
//! pings, and closes when told to or when the input ends and every echo is back.

use std::{
    collections::VecDeque,
    ops::ControlFlow,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::mpsc::Receiver, time::timeout};
use tokio_tungstenite::tungstenite::{
    error::ProtocolError,
    protocol::{frame::coding::CloseCode, CloseFrame},
    Error, Message,
};

use crate::{
    compression::SharedReport,
    connect::Socket,
    deflate_stream::Violation,
    error::Lost,
    input::Command,
    limits::MAX_MESSAGE_BYTES,
    output::{Body, Printer},
};

/// After our close frame, how long to wait for the server's.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub const EXIT_OK: u8 = 0;
pub const EXIT_CONNECT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONNECTION_LOST: u8 = 3;
pub const EXIT_PROTOCOL_ERROR: u8 = 4;
pub const EXIT_CLOSED_ABNORMALLY: u8 = 5;

/// How a connection ended.
#[derive(Debug)]
pub enum Outcome {
    /// We are done (closed by us, or by the server with 1000): exit with this status.
    Done(u8),
    /// The connection dropped without a close frame.
    Lost(Lost),
    /// The server closed with a code other than 1000.
    ClosedByServer(Option<u16>),
    /// The server broke the protocol (tungstenite's checks, or ours under it: a
    /// [`Violation`] inside an I/O error).
    ProtocolError(Error),
    /// Messages were waiting for their echo and nothing arrived for this long (`--timeout`).
    TimedOut(Duration),
    /// A ping got no pong for this long (`--timeout` with `--ping-interval`).
    NoPong(Duration),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Done(code) => *code,
            Outcome::Lost(_) | Outcome::TimedOut(_) | Outcome::NoPong(_) => EXIT_CONNECTION_LOST,
            Outcome::ClosedByServer(_) => EXIT_CLOSED_ABNORMALLY,
            Outcome::ProtocolError(_) => EXIT_PROTOCOL_ERROR,
        }
    }
}

pub struct Options {
    pub ping_interval: Option<Duration>,
    /// With messages unanswered, the longest wait for anything from the server.
    pub echo_timeout: Option<Duration>,
    pub close_code: u16,
    pub close_reason: String,
}

/// The sends still waiting for their echo (an echo server answers in order), and the pings.
#[derive(Default)]
struct InFlight {
    messages: VecDeque<Instant>,
    pings: VecDeque<(u64, Instant)>,
    next_ping: u64,
}

/// One connection while it runs: what [`run`]'s event handlers share.
struct Session<'a> {
    socket: Socket,
    compression: &'a SharedReport,
    printer: &'a mut Printer,
    in_flight: InFlight,
    /// The input has ended (or failed): close once every echo is back.
    input_done: bool,
    exit_after_close: u8,
    /// The last time the server was heard from, or a send started a wait for it.
    last_progress: Instant,
}

/// Runs one connection: sends what `commands` produce, prints what arrives, pings, and ends with
/// the connection. Each event has a handler of its own; a handler's `Break` ends the session.
pub async fn run(
    socket: Socket,
    compression: &SharedReport,
    commands: &mut Receiver<Command>,
    printer: &mut Printer,
    options: &Options,
) -> Outcome {
    let far_future = Duration::from_secs(365 * 24 * 3600);
    let ping_every = options.ping_interval.unwrap_or(far_future);
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut session = Session {
        socket,
        compression,
        printer,
        in_flight: InFlight::default(),
        input_done: false,
        exit_after_close: EXIT_OK,
        last_progress: Instant::now(),
    };
    loop {
        if session.input_done && session.in_flight.messages.is_empty() {
            let exit = session.exit_after_close;
            return session
                .close(options.close_code, &options.close_reason, exit)
                .await;
        }
        let echo_timeout = options
            .echo_timeout
            .filter(|_| !session.in_flight.messages.is_empty());
        let echo_deadline = tokio::time::Instant::from_std(
            session.last_progress + echo_timeout.unwrap_or(far_future),
        );
        // The oldest ping still waiting for its pong, whatever else arrives meanwhile: a
        // server that echoes but never pongs fails a keepalive check.
        let pong_deadline = options
            .echo_timeout
            .zip(session.in_flight.pings.front())
            .map(|(limit, (_, sent))| tokio::time::Instant::from_std(*sent + limit));
        let step = tokio::select! {
            _ = &mut interrupted => {
                session.printer.notice("interrupt", "interrupt".to_owned());
                let (code, reason) = (options.close_code, &options.close_reason);
                ControlFlow::Break(session.close(code, reason, EXIT_OK).await)
            }
            _ = tokio::time::sleep_until(echo_deadline), if echo_timeout.is_some() => {
                ControlFlow::Break(Outcome::TimedOut(echo_timeout.unwrap_or(far_future)))
            }
            _ = sleep_until_some(pong_deadline), if pong_deadline.is_some() => {
                ControlFlow::Break(Outcome::NoPong(options.echo_timeout.unwrap_or(far_future)))
            }
            frame = session.socket.next() => session.on_frame(frame).await,
            _ = pings.tick(), if options.ping_interval.is_some() => session.ping().await,
            command = commands.recv(), if !session.input_done => session.on_command(command).await,
        };
        if let ControlFlow::Break(outcome) = step {
            return outcome;
        }
    }
}

impl Session<'_> {
    /// Something arrived from the server (or the connection ended).
    async fn on_frame(&mut self, frame: Option<Result<Message, Error>>) -> ControlFlow<Outcome> {
        self.last_progress = Instant::now();
        match frame {
            Some(Ok(Message::Text(text))) => {
                let (rtt, wire) = self.echo_arrived();
                self.printer.received(Body::Text(text.as_str()), rtt, wire);
            }
            Some(Ok(Message::Binary(bytes))) => {
                let (rtt, wire) = self.echo_arrived();
                self.printer.received(Body::Binary(&bytes), rtt, wire);
            }
            Some(Ok(Message::Pong(payload))) => {
                let id = payload.as_ref().try_into().map(u64::from_be_bytes).ok();
                let rtt = id.and_then(|id| self.in_flight.pong(id));
                self.printer.pong(rtt);
            }
            Some(Ok(Message::Close(frame))) => {
                return ControlFlow::Break(self.closed_by_server(frame).await)
            }
            Some(Ok(_ping_or_raw_frame)) => {}
            Some(Err(error)) => return ControlFlow::Break(outcome_of(error)),
            None => return ControlFlow::Break(Outcome::Lost(Lost::NoCloseFrame)),
        }
        ControlFlow::Continue(())
    }

    /// An echo arrived: its round trip (echoes come back in order) and its wire size.
    fn echo_arrived(&mut self) -> (Option<Duration>, Option<usize>) {
        let rtt = self
            .in_flight
            .messages
            .pop_front()
            .map(|sent| sent.elapsed());
        let wire = self.compression.with(|r| r.received.pop_front());
        (rtt, wire)
    }

    /// The server's close: printed, answered (tungstenite does that), and how it ends the run.
    async fn closed_by_server(&mut self, frame: Option<CloseFrame>) -> Outcome {
        let code = frame.as_ref().map(|f| u16::from(f.code));
        let reason = frame
            .as_ref()
            .map_or_else(String::new, |f| f.reason.to_string());
        self.printer.closed("server", code, &reason);
        let socket = &mut self.socket;
        let _ = timeout(CLOSE_TIMEOUT, async {
            while socket.next().await.is_some() {}
        })
        .await;
        if code == Some(1000) {
            Outcome::Done(EXIT_OK)
        } else {
            Outcome::ClosedByServer(code)
        }
    }

    /// What the input asks for.
    async fn on_command(&mut self, command: Option<Command>) -> ControlFlow<Outcome> {
        match command {
            Some(Command::Send(message)) if message.len() > MAX_MESSAGE_BYTES => {
                self.printer.error(&format!(
                    "a message of {} bytes is over the {} MiB the client sends; split it",
                    message.len(),
                    MAX_MESSAGE_BYTES >> 20
                ));
                self.exit_after_close = EXIT_USAGE;
                self.input_done = true;
            }
            Some(Command::Send(message)) => return self.send(message).await,
            Some(Command::Ping) => return self.ping().await,
            Some(Command::Close { code, reason }) => {
                return ControlFlow::Break(self.close(code, &reason, EXIT_OK).await)
            }
            Some(Command::Fail(error)) => {
                self.printer.error(&error);
                self.exit_after_close = EXIT_USAGE;
                self.input_done = true;
                self.in_flight.messages.clear();
            }
            Some(Command::End) | None => self.input_done = true,
        }
        ControlFlow::Continue(())
    }

    /// Sends a message (compressed, if agreed, before it is printed, so its wire size is known).
    async fn send(&mut self, message: Message) -> ControlFlow<Outcome> {
        if self.in_flight.messages.is_empty() {
            self.last_progress = Instant::now();
        }
        self.in_flight.messages.push_back(Instant::now());
        if let Err(error) = self.socket.send(message.clone()).await {
            return ControlFlow::Break(Outcome::Lost(Lost::SendFailed(error)));
        }
        let body = match &message {
            Message::Binary(bytes) => Body::Binary(bytes),
            Message::Text(text) => Body::Text(text.as_str()),
            _ => Body::Text(""),
        };
        let wire = self.compression.with(|r| r.sent.pop_front());
        self.printer.sent(body, wire);
        ControlFlow::Continue(())
    }

    async fn ping(&mut self) -> ControlFlow<Outcome> {
        match send_ping(&mut self.socket, &mut self.in_flight).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(Outcome::Lost(Lost::SendFailed(error))),
        }
    }

    async fn close(&mut self, code: u16, reason: &str, exit: u8) -> Outcome {
        close(&mut self.socket, self.printer, code, reason, exit).await
    }
}

impl InFlight {
    /// The round trip of ping `id`, forgetting any older pings that never got their pong.
    fn pong(&mut self, id: u64) -> Option<Duration> {
        while let Some((sent_id, sent_at)) = self.pings.pop_front() {
            if sent_id == id {
                return Some(sent_at.elapsed());
            }
        }
        None
    }
}

async fn send_ping(socket: &mut Socket, in_flight: &mut InFlight) -> Result<(), Error> {
    let id = in_flight.next_ping;
    in_flight.next_ping += 1;
    in_flight.pings.push_back((id, Instant::now()));
    socket
        .send(Message::Ping(id.to_be_bytes().to_vec().into()))
        .await
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// How a read error ends the session: what breaks the protocol is the server's doing (exit 4,
/// as the README promises), anything else a lost connection (exit 3).
fn outcome_of(error: Error) -> Outcome {
    match error {
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Outcome::Lost(Lost::NoCloseFrame)
        }
        // A malformed frame; a message or frame over the client's limits; text that is not UTF-8.
        error @ (Error::Protocol(_) | Error::Capacity(_) | Error::Utf8(_)) => {
            Outcome::ProtocolError(error)
        }
        Error::Io(io) if Violation::of(&io).is_some() => Outcome::ProtocolError(Error::Io(io)),
        error => Outcome::Lost(Lost::Read(error)),
    }
}

/// Sends our close frame and waits up to [`CLOSE_TIMEOUT`] for the server's.
async fn close(
    socket: &mut Socket,
    printer: &mut Printer,
    code: u16,
    reason: &str,
    exit: u8,
) -> Outcome {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return Outcome::Done(exit); // already gone: nothing left to close
    }
    let answered = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await;
    match answered {
        Ok(_) => printer.closed("client", Some(code), reason),
        Err(_) => printer.notice(
            "notice",
            format!("the server did not answer the close within {CLOSE_TIMEOUT:?}; exiting anyway"),
        ),
    }
    Outcome::Done(exit)
}
