//! An upgraded connection as a [`Stream`] of incoming messages and a [`Sink`] of outgoing ones.
//!
//! It owns its socket and keeps no buffer while the connection is idle: reads land in a chunk
//! on the stack and only bytes that arrived are kept (by [`MessageDecoder`], which lets go of
//! them once used), and outgoing frames are gathered in a buffer that is freed once written.
//! actix-http's own dispatcher keeps 8 KiB for reading and 8 KiB for writing per connection for
//! as long as it lives; this is why the server takes the connection over after the handshake.

use std::{
    io,
    mem::MaybeUninit,
    pin::Pin,
    task::{ready, Context, Poll},
};

use actix_codec::{AsyncRead, AsyncWrite, ReadBuf};
use actix_http::ws::{CloseReason, Message, OpCode, Parser, ProtocolError};
use actix_web::web::{Buf, BytesMut};
use actix_ws::AggregatedMessage;
use futures_util::{Sink, Stream};

use crate::message_decoder::MessageDecoder;

/// Bytes asked for per read. The chunk lives on the stack for the length of one read.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Echoes gathered beyond this are written before more are taken: one write carries many small
/// echoes in a flood, and a client that stops reading holds up its own echoes, not memory.
const WRITE_HIGH_WATER_BYTES: usize = 64 * 1024;

/// Longest payload of a control frame (RFC 6455 §5.5); a close frame's reason gets 2 bytes less.
const MAX_CONTROL_PAYLOAD_BYTES: usize = 125;

/// A WebSocket connection after its handshake, server side.
pub struct WsConnection<T> {
    io: T,
    decoder: MessageDecoder,
    outgoing: BytesMut,
    read_closed: bool,
    broken: bool,
}

impl<T> WsConnection<T> {
    /// `early` holds bytes that arrived with the handshake request, if any.
    pub fn new(io: T, early: &[u8], max_frame_bytes: usize, max_message_bytes: usize) -> Self {
        let mut decoder = MessageDecoder::new(max_frame_bytes, max_message_bytes);
        if !early.is_empty() {
            decoder.extend(early);
        }
        WsConnection {
            io,
            decoder,
            outgoing: BytesMut::new(),
            read_closed: false,
            broken: false,
        }
    }

    /// Whether any buffer is held right now (none while the connection is idle).
    pub fn holds_buffers(&self) -> bool {
        self.decoder.holds_buffer() || self.outgoing.capacity() > 0
    }
}

impl<T: AsyncRead + Unpin> Stream for WsConnection<T> {
    type Item = Result<AggregatedMessage, ProtocolError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.broken {
            return Poll::Ready(None);
        }
        loop {
            match this.decoder.decode() {
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
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK_BYTES];
            let mut read = ReadBuf::uninit(&mut chunk);
            match ready!(Pin::new(&mut this.io).poll_read(cx, &mut read)) {
                Ok(()) if read.filled().is_empty() => this.read_closed = true,
                Ok(()) => this.decoder.extend(read.filled()),
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
        encode(message, &mut self.get_mut().outgoing);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.outgoing.is_empty() {
            let written = ready!(Pin::new(&mut this.io).poll_write(cx, &this.outgoing))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.outgoing.advance(written);
        }
        this.outgoing = BytesMut::new();
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
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
        // The echo sends whole messages only.
        Message::Continuation(_) | Message::Nop => {}
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
    use actix_http::ws::CloseCode;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    use super::*;

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
        let mut connection = WsConnection::new(server, &early, 1024, 1024);
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
        let mut connection = WsConnection::new(server, &[], 1024, 1024);
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
        let mut connection = WsConnection::new(server, &[], 1024, 1024);
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
        let mut connection = WsConnection::new(server, &unmasked, 1024, 1024);
        assert!(connection.next().await.expect("an item").is_err());
        assert!(connection.next().await.is_none());
    }
}
