//! An upgraded connection as a [`Stream`] of incoming messages and a [`Sink`] of outgoing ones.
//!
//! It owns its socket and keeps no buffer while the connection is idle: reads land in a chunk
//! on the stack and only bytes that arrived are kept (by [`MessageDecoder`], which lets go of
//! them once used), and outgoing frames are gathered in a buffer that is freed once written.
//! actix-http's own dispatcher keeps 8 KiB for reading and 8 KiB for writing per connection for
//! as long as it lives; this is why the server takes the connection over after the handshake.
//!
//! What it holds (undecoded bytes, the message handed to the echo loop, unwritten echoes) is
//! kept in its [`Charge`] against the server-wide memory budget. Told by the budget to close,
//! it drops its buffers at once and ends its stream with [`Refused::ServerMemoryFull`]. The
//! server's shutdown reaches it the same way (the charge's waker): its stream yields
//! [`Refused::ServerStopping`] once, and the echo loop closes with 1001.
//!
//! With permessage-deflate agreed, echoes of at least the threshold go out compressed (RSV1),
//! and the compressor and inflater are let go whenever the connection waits for its client, if
//! the agreement lets each message stand alone; their memory is part of the charge.

use std::{
    io,
    mem::MaybeUninit,
    pin::Pin,
    task::{ready, Context, Poll},
};

use actix_codec::{AsyncRead, AsyncWrite, ReadBuf};
use actix_http::ws::{CloseReason, Item, Message, OpCode, Parser, ProtocolError};
use actix_web::web::{Buf, BytesMut};
use actix_ws::AggregatedMessage;
use futures_util::{Sink, Stream};
// Longest payload of a control frame (RFC 6455 §5.5); a close frame's reason gets 2 bytes less.
use ws_wire::MAX_CONTROL_PAYLOAD_BYTES;

use crate::{
    connection::echo::Connection, connection::parking::Parkable, limits::memory_budget::Charge,
    protocol::message_decoder::MessageDecoder, protocol::message_decoder::Refused,
    protocol::message_decoder::RSV1, protocol::permessage_deflate::Agreed,
    protocol::permessage_deflate::DeflateCounters, protocol::permessage_deflate::Deflater,
    protocol::permessage_deflate::Negotiated,
};

/// Bytes asked for per read. The chunk lives on the stack for the length of one read.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Bytes read in one poll, without a message coming of them, before the task lets the others on
/// its thread run: clients streaming big messages must not keep a new client from its echo.
const READ_SLICE_BYTES: usize = 64 * 1024;

/// Echoes gathered beyond this are written before more are taken: one write carries many small
/// echoes in a flood, and a client that stops reading holds up its own echoes, not memory. With
/// the echo loop waiting for its echoes to be written before it reads on, a client that never
/// reads makes the server hold at most this plus one message.
pub const WRITE_HIGH_WATER_BYTES: usize = 64 * 1024;

/// A WebSocket connection after its handshake, server side.
pub struct WsConnection<T> {
    io: T,
    decoder: MessageDecoder,
    outgoing: BytesMut,
    /// Payload bytes of the last message handed to the echo loop, until its echo is encoded.
    in_hand: usize,
    charge: Charge,
    read_closed: bool,
    broken: bool,
    /// Told to close by the memory budget while echoes were still unwritten: they are dropped,
    /// and nothing more is written.
    cut_off: bool,
    /// The server's shutdown has been passed on to the echo loop (once).
    stop_heard: bool,
    deflate: Option<Box<Deflate>>,
}

/// The outgoing half of permessage-deflate, and the counters of both halves.
struct Deflate {
    deflater: Deflater,
    threshold_bytes: usize,
    counters: DeflateCounters,
    /// What was agreed, for a connection taken up again after parking.
    agreed: Agreed,
}

/// What is left of a connection at rest once it leaves its task ([`WsConnection::into_rest`]).
pub struct Rested {
    /// Its TCP socket out of tokio's reactor (an error: the socket is lost).
    pub socket: io::Result<std::net::TcpStream>,
    pub charge: Charge,
    pub limits: Limits,
    /// What permessage-deflate agreed (and the threshold), if it did: the compressor and
    /// inflater themselves hold nothing at rest.
    pub deflate: Option<(Agreed, usize)>,
}

/// Size limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
}

impl<T> WsConnection<T> {
    /// `early` holds bytes that arrived with the handshake request, if any; `deflate` is what
    /// the handshake agreed of permessage-deflate.
    pub fn new(
        io: T,
        early: &[u8],
        limits: Limits,
        charge: Charge,
        deflate: Option<Negotiated>,
    ) -> Self {
        let mut decoder = MessageDecoder::new(limits.max_frame_bytes, limits.max_message_bytes);
        if let Some(negotiated) = &deflate {
            decoder = decoder.inflating(negotiated.agreed.inflater());
        }
        let deflate = deflate.map(|negotiated| {
            Box::new(Deflate {
                deflater: negotiated.agreed.deflater(),
                threshold_bytes: negotiated.threshold_bytes,
                counters: negotiated.counters,
                agreed: negotiated.agreed,
            })
        });
        if !early.is_empty() {
            decoder.extend(early);
        }
        let mut connection = WsConnection {
            io,
            decoder,
            outgoing: BytesMut::new(),
            in_hand: 0,
            charge,
            read_closed: false,
            broken: false,
            cut_off: false,
            stop_heard: false,
            deflate,
        };
        connection.recharge();
        connection
    }

    /// Something the connection owes its peer from before it came back from the parking lot
    /// (the tail of a ping the lot could only half write): written before anything else.
    pub fn owe(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.outgoing.extend_from_slice(bytes);
            self.recharge();
        }
    }

    /// Whether any buffer is held right now (none while the connection is idle).
    pub fn holds_buffers(&self) -> bool {
        self.decoder.holds_buffer() || self.outgoing.capacity() > 0 || self.deflater_bytes() > 0
    }

    /// Bytes held for this connection now.
    pub fn held_bytes(&self) -> usize {
        self.decoder.held_bytes() + self.in_hand + self.outgoing.capacity() + self.deflater_bytes()
    }

    fn deflater_bytes(&self) -> usize {
        self.deflate.as_ref().map_or(0, |d| d.deflater.held_bytes())
    }

    /// Waiting for the client: lets go of compression state the next message will not need.
    /// Nothing to do (and nothing to recount) without compression: every wait passes here.
    fn release_idle(&mut self) {
        if self.deflate.is_none() {
            return;
        }
        self.decoder.release_idle();
        if let Some(deflate) = self.deflate.as_mut() {
            deflate.deflater.release();
        }
        self.recharge();
    }

    fn recharge(&mut self) {
        let held = self.held_bytes();
        self.charge.set(held);
    }

    /// About to wait on the socket to read: the connection must be woken if the budget tells it
    /// to close meanwhile, or the server stops. True if either already happened.
    fn must_hear_the_budget(&mut self, cx: &Context<'_>) -> bool {
        self.charge.wake_on_close(cx.waker());
        // Told between the last look and the registration: the wake went nowhere.
        self.charge.told_to_close() || self.stop_is_news()
    }

    /// About to wait on the socket to write: only the budget's word matters here (a shutdown is
    /// heard by the read side, which the echo loop polls next).
    fn must_hear_the_budget_writing(&mut self, cx: &Context<'_>) -> bool {
        if !self.charge.holds_any() {
            return false;
        }
        self.charge.wake_on_close(cx.waker());
        self.charge.told_to_close()
    }

    /// The server is stopping and the echo loop has not been told yet.
    fn stop_is_news(&self) -> bool {
        !self.stop_heard && self.charge.server_stopping()
    }

    /// Told by the budget to close: lets go of everything read and not yet echoed.
    fn drop_incoming(&mut self) {
        self.decoder.clear();
        self.in_hand = 0;
        self.recharge();
    }
}

impl<T: Parkable> WsConnection<T> {
    /// What is left of a connection at rest ([`Connection::at_rest`]) once it leaves its task.
    /// Everything else it would hold is empty.
    pub fn into_rest(self) -> Rested {
        Rested {
            limits: Limits {
                max_frame_bytes: self.decoder.max_frame_bytes(),
                max_message_bytes: self.decoder.max_message_bytes(),
            },
            deflate: self.deflate.map(|d| (d.agreed, d.threshold_bytes)),
            socket: self.io.into_std(),
            charge: self.charge,
        }
    }
}

impl<T> Connection for WsConnection<T>
where
    T: AsyncRead + AsyncWrite + Parkable + Unpin,
{
    /// Plain TCP. With permessage-deflate it parks only when its compressor and inflater hold
    /// nothing between messages (no context takeover): `at_rest` asks that of its buffers.
    fn parkable(&self) -> bool {
        self.io.parkable()
    }

    fn at_rest(&self) -> bool {
        self.parkable()
            && self.io.at_rest()
            && !self.holds_buffers()
            && self.in_hand == 0
            && !self.decoder.message_under_way()
            && !(self.read_closed || self.broken || self.cut_off || self.stop_heard)
            && !(self.charge.server_stopping() || self.charge.told_to_close())
    }
}

impl<T: AsyncRead + Unpin> Stream for WsConnection<T> {
    type Item = Result<AggregatedMessage, ProtocolError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.broken {
            return Poll::Ready(None);
        }
        let mut read_now = 0;
        loop {
            if this.charge.told_to_close() {
                this.drop_incoming();
                this.broken = true;
                // Echoes already gathered but not written are dropped too: the close frame
                // goes out only if nothing else is pending.
                this.cut_off = !this.outgoing.is_empty();
                return Poll::Ready(Some(Err(Refused::ServerMemoryFull.into_protocol_error())));
            }
            if this.stop_is_news() {
                this.stop_heard = true;
                return Poll::Ready(Some(Err(Refused::ServerStopping.into_protocol_error())));
            }
            let decoded = this.decoder.decode();
            if let (Some(deflate), Some((wire, payload))) =
                (this.deflate.as_ref(), this.decoder.take_inflated_sizes())
            {
                deflate.counters.in_wire.inc_by(wire as u64);
                deflate.counters.in_payload.inc_by(payload as u64);
            }
            this.in_hand = match &decoded {
                Ok(Some(AggregatedMessage::Text(text))) => text.len(),
                Ok(Some(AggregatedMessage::Binary(bytes))) => bytes.len(),
                _ => 0,
            };
            this.recharge();
            match decoded {
                Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                Ok(None) => {}
                Err(error) => {
                    // Nothing after a protocol error is trusted; the caller closes.
                    this.broken = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
            if this.read_closed {
                return Poll::Ready(None);
            }
            if read_now >= READ_SLICE_BYTES {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK_BYTES];
            let mut read = ReadBuf::uninit(&mut chunk);
            let Poll::Ready(result) = Pin::new(&mut this.io).poll_read(cx, &mut read) else {
                this.release_idle();
                if this.must_hear_the_budget(cx) {
                    continue;
                }
                return Poll::Pending;
            };
            match result {
                Ok(()) if read.filled().is_empty() => this.read_closed = true,
                Ok(()) => {
                    read_now += read.filled().len();
                    this.decoder.extend(read.filled());
                    this.recharge();
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // A reset or a broken socket: the peer is gone, as after an end of stream.
                Err(_) => this.read_closed = true,
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> Sink<Message> for WsConnection<T> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.outgoing.len() >= WRITE_HIGH_WATER_BYTES {
            self.poll_flush(cx)
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> io::Result<()> {
        let this = self.get_mut();
        if this.cut_off {
            return Err(cut_off());
        }
        match (message, this.deflate.as_mut()) {
            (Message::Text(text), Some(deflate)) => {
                deflate.encode(text.as_bytes(), OpCode::Text, &mut this.outgoing)
            }
            (Message::Binary(bytes), Some(deflate)) => {
                deflate.encode(&bytes, OpCode::Binary, &mut this.outgoing)
            }
            (message, _) => encode(message, &mut this.outgoing),
        }
        this.in_hand = 0;
        this.recharge();
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        'heard: loop {
            if this.charge.told_to_close() && !this.broken {
                // Waiting on a client that does not read: the read side will not look again,
                // so the budget's word is heard here.
                this.cut_off = true;
            }
            if this.cut_off {
                this.outgoing = BytesMut::new();
                this.drop_incoming();
                return Poll::Ready(Err(cut_off()));
            }
            while !this.outgoing.is_empty() {
                let polled = Pin::new(&mut this.io).poll_write(cx, &this.outgoing);
                let Poll::Ready(written) = polled else {
                    // Once the read side has heard, only the close frame is left to write.
                    if !this.broken && this.must_hear_the_budget_writing(cx) {
                        continue 'heard;
                    }
                    return Poll::Pending;
                };
                let written = written?;
                if written == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                this.outgoing.advance(written);
            }
            break;
        }
        if this.outgoing.capacity() > 0 {
            this.outgoing = BytesMut::new();
            this.recharge();
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Deflate {
    /// Appends a data message as one frame, compressed (RSV1) if it is at least the threshold
    /// and compressing is worth it.
    fn encode(&mut self, payload: &[u8], opcode: OpCode, out: &mut BytesMut) {
        if payload.len() >= self.threshold_bytes {
            if let Some(compressed) = self.deflater.compress(payload) {
                let header_at = out.len();
                Parser::write_message(&mut *out, compressed, opcode, true, false);
                out[header_at] |= RSV1;
                self.counters.out_payload.inc_by(payload.len() as u64);
                self.counters.out_wire.inc_by(compressed.len() as u64);
                return;
            }
        }
        Parser::write_message(out, payload, opcode, true, false);
    }
}

fn cut_off() -> io::Error {
    io::Error::other(Refused::ServerMemoryFull)
}

/// Appends `message` as one unmasked frame. Control frames are cut to what RFC 6455 allows, so a
/// strict client never sees a malformed one.
fn encode(message: Message, out: &mut BytesMut) {
    let control = |bytes: &[u8]| bytes.len().min(MAX_CONTROL_PAYLOAD_BYTES);
    match message {
        Message::Text(text) => {
            Parser::write_message(out, text.as_bytes(), OpCode::Text, true, false)
        }
        Message::Binary(bytes) => Parser::write_message(out, bytes, OpCode::Binary, true, false),
        Message::Ping(bytes) => {
            Parser::write_message(out, &bytes[..control(&bytes)], OpCode::Ping, true, false)
        }
        Message::Pong(bytes) => {
            Parser::write_message(out, &bytes[..control(&bytes)], OpCode::Pong, true, false)
        }
        Message::Close(reason) => Parser::write_close(out, reason.map(fit_close_reason), false),
        // Fragments (the fixture's `fragment=N`), never compressed: RSV1 would have to be on the
        // first frame of a message compressed whole.
        Message::Continuation(item) => {
            let (payload, opcode, fin) = match item {
                Item::FirstText(bytes) => (bytes, OpCode::Text, false),
                Item::FirstBinary(bytes) => (bytes, OpCode::Binary, false),
                Item::Continue(bytes) => (bytes, OpCode::Continue, false),
                Item::Last(bytes) => (bytes, OpCode::Continue, true),
            };
            Parser::write_message(out, payload, opcode, fin, false)
        }
        Message::Nop => {}
    }
}

/// A close reason whose text fits a control frame next to the 2-byte code, cut at a character.
fn fit_close_reason(mut reason: CloseReason) -> CloseReason {
    if let Some(text) = reason.description.as_mut() {
        let mut end = text.len().min(MAX_CONTROL_PAYLOAD_BYTES - 2);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    reason
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_http::ws::CloseCode;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{limits::memory_budget::BudgetGauges, limits::memory_budget::MemoryBudget};

    const LIMITS: Limits = Limits {
        max_frame_bytes: 1024,
        max_message_bytes: 1024,
    };

    fn unlimited() -> Charge {
        MemoryBudget::new(usize::MAX / 2, BudgetGauges::default()).open(None)
    }

    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[tokio::test]
    async fn reads_messages_and_holds_no_buffer_between_them() {
        let (mut client, server) = duplex(64);
        let mut early = masked(1, b"early");
        early.extend(&masked(1, b"partial")[..3]);
        let mut connection = WsConnection::new(server, &early, LIMITS, unlimited(), None);
        assert_eq!(
            connection.next().await.expect("a message").expect("valid"),
            AggregatedMessage::Text("early".into())
        );
        client
            .write_all(&masked(1, b"partial")[3..])
            .await
            .expect("write");
        assert_eq!(
            connection.next().await.expect("a message").expect("valid"),
            AggregatedMessage::Text("partial".into())
        );
        assert!(!connection.holds_buffers());
        drop(client);
        assert!(connection.next().await.is_none(), "ends with the socket");
    }

    #[tokio::test]
    async fn echoes_are_gathered_and_written_on_flush() {
        let (mut client, server) = duplex(1024);
        let mut connection = WsConnection::new(server, &[], LIMITS, unlimited(), None);
        connection
            .feed(Message::Text("one".into()))
            .await
            .expect("feed");
        connection
            .feed(Message::Binary(vec![2, 2].into()))
            .await
            .expect("feed");
        assert!(connection.holds_buffers(), "gathered, not written yet");
        connection.flush().await.expect("flush");
        assert!(!connection.holds_buffers(), "freed once written");
        let mut bytes = [0u8; 9];
        client.read_exact(&mut bytes).await.expect("read");
        assert_eq!(bytes, [0x81, 3, b'o', b'n', b'e', 0x82, 2, 2, 2]);
    }

    #[tokio::test]
    async fn control_frames_are_cut_to_the_protocol_limit() {
        let (mut client, server) = duplex(1024);
        let mut connection = WsConnection::new(server, &[], LIMITS, unlimited(), None);
        let reason = CloseReason {
            code: CloseCode::Normal,
            description: Some("é".repeat(100)),
        };
        connection
            .send(Message::Close(Some(reason)))
            .await
            .expect("send");
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.expect("read");
        assert_eq!(head[0], 0x88);
        assert!(
            usize::from(head[1]) <= MAX_CONTROL_PAYLOAD_BYTES,
            "{}",
            head[1]
        );
        let mut payload = vec![0u8; usize::from(head[1])];
        client.read_exact(&mut payload).await.expect("read");
        assert!(
            std::str::from_utf8(&payload[2..]).is_ok(),
            "cut at a character"
        );
    }

    #[tokio::test]
    async fn a_protocol_error_ends_the_stream() {
        let (_client, server) = duplex(64);
        let unmasked = [0x81, 1, b'x'];
        let mut connection = WsConnection::new(server, &unmasked, LIMITS, unlimited(), None);
        assert!(connection.next().await.expect("an item").is_err());
        assert!(connection.next().await.is_none());
    }

    /// Limits roomy enough for the memory budget's tests.
    const MIB_LIMITS: Limits = Limits {
        max_frame_bytes: 1 << 20,
        max_message_bytes: 1 << 20,
    };

    /// The header of a masked binary frame of `len` bytes, and `sent` bytes of its payload.
    fn frame_start(len: usize, sent: usize) -> Vec<u8> {
        let mut out = vec![0x82, 0x80 | 127];
        out.extend_from_slice(&(len as u64).to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        out.resize(out.len() + sent, 7);
        out
    }

    #[tokio::test]
    async fn the_biggest_holder_is_told_to_close_and_lets_go_at_once() {
        let budget = MemoryBudget::new(160 * 1024, BudgetGauges::default());
        let (mut big_client, big_server) = duplex(1 << 20);
        let (mut small_client, small_server) = duplex(1 << 20);
        let mut big = WsConnection::new(big_server, &[], MIB_LIMITS, budget.open(None), None);
        let mut small = WsConnection::new(small_server, &[], MIB_LIMITS, budget.open(None), None);

        big_client
            .write_all(&frame_start(500_000, 100_000))
            .await
            .expect("write");
        let pending = tokio::time::timeout(Duration::from_millis(50), big.next()).await;
        assert!(
            pending.is_err(),
            "part of a frame: nothing to echo yet: {pending:?}"
        );
        assert!(big.held_bytes() >= 100_000);
        assert!(budget.held() <= budget.limit());

        small_client
            .write_all(&frame_start(100_000, 40_000))
            .await
            .expect("write");
        let pending = tokio::time::timeout(Duration::from_millis(50), small.next()).await;
        assert!(pending.is_err());
        assert!(
            budget.held() > budget.limit(),
            "over, until the biggest lets go"
        );

        let item = big.next().await.expect("an item");
        let error = item.expect_err("told to close");
        assert_eq!(Refused::of(&error), Some(Refused::ServerMemoryFull));
        assert_eq!(big.held_bytes(), 0);
        assert!(budget.held() <= budget.limit(), "{}", budget.held());
        // Nothing else was pending, so its close frame still goes out.
        big.send(Message::Close(None)).await.expect("close written");
        assert!(big.next().await.is_none());
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_cut_off_when_told_to_close() {
        let budget = MemoryBudget::new(1 << 20, BudgetGauges::default());
        // The client side's buffer is small and never read.
        let (_silent_client, server) = duplex(1024);
        let mut stuck = WsConnection::new(server, &[], MIB_LIMITS, budget.open(None), None);
        let echo = Message::Binary(vec![1; 600_000].into());
        let flushed = tokio::time::timeout(Duration::from_millis(50), stuck.send(echo)).await;
        assert!(
            flushed.is_err(),
            "the client does not read: the write waits"
        );
        assert!(stuck.held_bytes() >= 590_000);

        // Another connection's 500 KB take the total over 1 MiB: the stuck one holds the most.
        let mut newcomer = budget.open(None);
        newcomer.set(500_000);
        let error = stuck.flush().await.expect_err("cut off");
        assert_eq!(
            error.get_ref().and_then(|e| e.downcast_ref::<Refused>()),
            Some(&Refused::ServerMemoryFull)
        );
        assert_eq!(stuck.held_bytes(), 0);
        drop(stuck);
        assert!(!newcomer.told_to_close());
        drop(newcomer);
        assert_eq!(budget.held(), 0);
    }
}
