//! permessage-deflate under tungstenite, which has none: a layer between tungstenite and the
//! socket. It passes the handshake through untouched, reading the server's answer from the
//! response head on the way; once the extension is agreed it compresses the data frames
//! tungstenite writes (setting RSV1) and inflates the compressed frames the server sends
//! (clearing it), so tungstenite only ever sees plain frames. Without `--compress` it is not in
//! the way at all: every call goes straight to the socket.

use std::{
    io,
    pin::Pin,
    task::{ready, Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ws_deflate::{Deflater, InflateError, Inflater};

use ws_wire::{apply_mask, write_header, Header, FIN, RSV1};

use crate::{
    compression::{read_answer, Offer, SharedReport},
    limits::{MAX_FRAME_BYTES, MAX_HEAD_BYTES, MAX_MESSAGE_BYTES},
};

/// Largest message the server may send compressed, inflated: tungstenite's own message limit.
/// Compressed fragments are collected up to the same size on the wire. Frames are checked
/// against [`MAX_FRAME_BYTES`] at their header, before this layer collects them (a header
/// announcing 2^62 bytes once made it buffer until memory ran out); the response head against
/// [`MAX_HEAD_BYTES`].
pub const MAX_INFLATED_BYTES: usize = MAX_MESSAGE_BYTES;

/// zlib's default level: what browsers use, so the sizes shown are the ones a page would see.
const LEVEL: u32 = 6;

/// Unwritten bytes past which a write waits for the socket.
const WRITE_HIGH_WATER_BYTES: usize = 256 * 1024;

pub struct DeflateStream<S> {
    inner: S,
    offer: Option<Offer>,
    report: SharedReport,
    codec: Option<Codec>,
    read: ReadSide,
    write: WriteSide,
}

/// Both halves of the agreed compression.
struct Codec {
    deflater: Deflater,
    inflater: Inflater,
}

#[derive(Default)]
struct ReadSide {
    head_done: bool,
    /// How far `raw` was searched for the head's end.
    head_scanned: usize,
    /// From the socket, not yet looked at.
    raw: Vec<u8>,
    /// For tungstenite, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    /// A fragmented message under way.
    message: Option<Incoming>,
    eof: bool,
}

struct Incoming {
    opcode: u8,
    compressed: bool,
    wire_bytes: usize,
    /// The compressed fragments so far (empty for a plain message: its frames pass through).
    collected: Vec<u8>,
}

#[derive(Default)]
struct WriteSide {
    head_done: bool,
    /// From tungstenite, not yet a whole frame.
    pending: Vec<u8>,
    /// For the socket, from `out_at` on.
    out: Vec<u8>,
    out_at: usize,
}

/// What the server did that the client refuses, carried inside the `io::Error` tungstenite
/// hands back, so the session can tell a broken protocol (exit 4) from a lost connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A frame header announced more than [`MAX_FRAME_BYTES`].
    FrameTooBig(u64),
    /// Compressed fragments passed [`MAX_INFLATED_BYTES`] on the wire.
    MessageTooBig,
    /// A compressed message inflated past [`MAX_INFLATED_BYTES`].
    InflatesTooBig,
    /// The compressed data was not a valid deflate stream.
    CorruptCompression(String),
    /// The response head had no end within [`MAX_HEAD_BYTES`].
    HeadTooLong,
    /// The server's `Sec-WebSocket-Extensions` answer does not fit the offer.
    BadExtensionAnswer(String),
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::FrameTooBig(bytes) => write!(
                f,
                "the server announced a frame of {bytes} bytes; the client takes frames up to {} MiB",
                MAX_FRAME_BYTES >> 20
            ),
            Violation::MessageTooBig => write!(
                f,
                "the server's compressed message passed {} MiB on the wire",
                MAX_INFLATED_BYTES >> 20
            ),
            Violation::InflatesTooBig => write!(
                f,
                "a compressed message from the server inflates past {} MiB",
                MAX_INFLATED_BYTES >> 20
            ),
            Violation::CorruptCompression(why) => {
                write!(f, "the server sent invalid compressed data ({why})")
            }
            Violation::HeadTooLong => write!(
                f,
                "the server's response head is longer than {} KiB",
                MAX_HEAD_BYTES >> 10
            ),
            Violation::BadExtensionAnswer(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Violation {}

impl From<Violation> for io::Error {
    fn from(violation: Violation) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, violation)
    }
}

impl Violation {
    /// The violation inside an error from this layer, if it is one.
    pub fn of(error: &io::Error) -> Option<&Violation> {
        error.get_ref()?.downcast_ref::<Violation>()
    }
}

impl<S> DeflateStream<S> {
    /// `offer`: what `--compress` offers, if given; `report` hears what is agreed and the wire
    /// size of each data message.
    pub fn new(inner: S, offer: Option<Offer>, report: SharedReport) -> Self {
        DeflateStream {
            inner,
            offer,
            report,
            codec: None,
            read: ReadSide::default(),
            write: WriteSide::default(),
        }
    }

    /// Looks at what arrived: the response head first, then whole frames.
    fn process_incoming(&mut self) -> io::Result<()> {
        if !self.read.head_done {
            // Only the new bytes are searched (and the 3 before them, for a split "\r\n\r\n").
            let from = self.read.head_scanned.saturating_sub(3);
            let found = find_head_end(&self.read.raw[from..]).map(|end| from + end);
            self.read.head_scanned = self.read.raw.len();
            let Some(end) = found else {
                if self.read.raw.len() > MAX_HEAD_BYTES {
                    return Err(Violation::HeadTooLong.into());
                }
                return Ok(());
            };
            let head: Vec<u8> = self.read.raw.drain(..end).collect();
            self.agree(&String::from_utf8_lossy(&head))?;
            self.read.ready.extend_from_slice(&head);
            self.read.head_done = true;
        }
        let Some(codec) = self.codec.as_mut() else {
            let raw = std::mem::take(&mut self.read.raw);
            self.read.ready.extend_from_slice(&raw);
            return Ok(());
        };
        let raw = std::mem::take(&mut self.read.raw);
        let mut used = 0;
        let result = loop {
            let Some(header) = Header::parse(&raw[used..]) else {
                break Ok(());
            };
            // Refused at its header: never collected, whatever it announces.
            if header.payload_len > MAX_FRAME_BYTES as u64 {
                break Err(Violation::FrameTooBig(header.payload_len).into());
            }
            let Some(end) = header.frame_end(used) else {
                break Err(Violation::FrameTooBig(header.payload_len).into());
            };
            if raw.len() < end {
                break Ok(());
            }
            let frame = &raw[used..end];
            let payload = &frame[header.header_len..];
            let read = &mut self.read;
            match (header.opcode().bits(), read.message.as_mut()) {
                (1 | 2, None) if header.rsv1() && header.mask.is_none() => {
                    let mut message = Incoming {
                        opcode: header.opcode().bits(),
                        compressed: true,
                        wire_bytes: 0,
                        collected: Vec::new(),
                    };
                    message.add(payload);
                    if header.fin() {
                        if let Err(error) = deliver(codec, message, &mut read.ready, &self.report) {
                            break Err(error);
                        }
                    } else {
                        read.message = Some(message);
                    }
                }
                (1 | 2, None) => {
                    read.ready.extend_from_slice(frame);
                    if header.fin() {
                        self.report.with(|r| r.received.push_back(payload.len()));
                    } else {
                        read.message = Some(Incoming {
                            opcode: header.opcode().bits(),
                            compressed: false,
                            wire_bytes: payload.len(),
                            collected: Vec::new(),
                        });
                    }
                }
                (0, Some(message)) if message.compressed && !header.rsv1() => {
                    if message.collected.len() + payload.len() > MAX_INFLATED_BYTES {
                        break Err(Violation::MessageTooBig.into());
                    }
                    message.add(payload);
                    if let Some(whole) = read.message.take_if(|_| header.fin()) {
                        if let Err(error) = deliver(codec, whole, &mut read.ready, &self.report) {
                            break Err(error);
                        }
                    }
                }
                (0, Some(message)) => {
                    message.wire_bytes = message.wire_bytes.saturating_add(payload.len());
                    read.ready.extend_from_slice(frame);
                    if header.fin() {
                        let wire = message.wire_bytes;
                        self.report.with(|r| r.received.push_back(wire));
                        read.message = None;
                    }
                }
                // Control frames, and anything broken: tungstenite judges them as they are.
                _ => read.ready.extend_from_slice(frame),
            }
            used = end;
        };
        self.read.raw = raw;
        self.read.raw.drain(..used);
        result
    }

    /// Reads the server's answer from the response head and sets up compression if agreed.
    fn agree(&mut self, head: &str) -> io::Result<()> {
        let Some(offer) = &self.offer else {
            return Ok(());
        };
        if !head.starts_with("HTTP/1.1 101") {
            // A refusal: tungstenite reports it.
            return Ok(());
        }
        let agreement = read_answer(head, offer).map_err(Violation::BadExtensionAnswer)?;
        if let Some(agreed) = &agreement {
            self.codec = Some(Codec {
                deflater: Deflater::new(
                    agreed.client_window_bits,
                    agreed.client_no_context_takeover,
                    LEVEL,
                ),
                inflater: Inflater::new(
                    agreed.server_window_bits,
                    agreed.server_no_context_takeover,
                ),
            });
        }
        self.report.with(|r| r.agreement = agreement);
        Ok(())
    }

    /// Looks at what tungstenite wrote: the request head first, then whole frames.
    fn process_outgoing(&mut self) {
        let write = &mut self.write;
        if !write.head_done {
            let Some(end) = find_head_end(&write.pending) else {
                return;
            };
            write.out.extend(write.pending.drain(..end));
            write.head_done = true;
        }
        let Some(codec) = self.codec.as_mut() else {
            write.out.append(&mut write.pending);
            return;
        };
        let mut used = 0;
        while let Some(header) = Header::parse(&write.pending[used..]) {
            // tungstenite's own frames: their lengths are real.
            let Some(end) = header.frame_end(used) else {
                break;
            };
            if write.pending.len() < end {
                break;
            }
            let frame = &write.pending[used..end];
            match header.mask {
                // A whole data message: compressed if that makes it smaller.
                Some(mask)
                    if header.fin()
                        && !header.rsv1()
                        && matches!(header.opcode().bits(), 1 | 2) =>
                {
                    let payload = unmask(&frame[header.header_len..], mask);
                    let opcode = header.opcode().bits();
                    let wire_bytes = match codec.deflater.compress(&payload) {
                        Some(compressed) => {
                            let compressed = unmask(compressed, mask);
                            write_frame(&mut write.out, opcode | RSV1, Some(mask), &compressed);
                            compressed.len()
                        }
                        None => {
                            write.out.extend_from_slice(frame);
                            payload.len()
                        }
                    };
                    self.report.with(|r| r.sent.push_back(wire_bytes));
                }
                _ => write.out.extend_from_slice(frame),
            }
            used = end;
        }
        write.pending.drain(..used);
    }
}

impl<S: AsyncWrite + Unpin> DeflateStream<S> {
    /// Writes out what is waiting for the socket.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let write = &mut self.write;
        while write.out_at < write.out.len() {
            let written =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &write.out[write.out_at..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            write.out_at += written;
        }
        write.out.clear();
        write.out_at = 0;
        Poll::Ready(Ok(()))
    }
}

impl Incoming {
    fn add(&mut self, payload: &[u8]) {
        self.wire_bytes += payload.len();
        self.collected.extend_from_slice(payload);
    }
}

/// Inflates a whole compressed message and hands it on as one plain frame.
fn deliver(
    codec: &mut Codec,
    message: Incoming,
    ready: &mut Vec<u8>,
    report: &SharedReport,
) -> io::Result<()> {
    let mut inflated = Vec::new();
    codec
        .inflater
        .inflate(&message.collected, &mut inflated, MAX_INFLATED_BYTES)
        .and_then(|()| codec.inflater.finish(&mut inflated, MAX_INFLATED_BYTES))
        .map_err(|error| match error {
            InflateError::TooBig => Violation::InflatesTooBig,
            InflateError::Corrupt(why) => Violation::CorruptCompression(why.to_string()),
        })?;
    codec.inflater.release();
    write_frame(ready, message.opcode, None, &inflated);
    report.with(|r| r.received.push_back(message.wire_bytes));
    Ok(())
}

impl<S: AsyncRead + Unpin> AsyncRead for DeflateStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.offer.is_none() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            let read = &mut this.read;
            if read.ready_at < read.ready.len() {
                let n = buf.remaining().min(read.ready.len() - read.ready_at);
                buf.put_slice(&read.ready[read.ready_at..read.ready_at + n]);
                read.ready_at += n;
                if read.ready_at == read.ready.len() {
                    read.ready.clear();
                    read.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if read.eof {
                // What is left is not a whole frame: tungstenite reports the broken end.
                let rest = std::mem::take(&mut read.raw);
                if rest.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                read.ready = rest;
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk_buf))?;
            if chunk_buf.filled().is_empty() {
                read.eof = true;
            } else {
                read.raw.extend_from_slice(chunk_buf.filled());
                this.process_incoming()?;
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeflateStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.offer.is_none() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.write.out.len() - this.write.out_at > WRITE_HIGH_WATER_BYTES {
            ready!(this.poll_drain(cx))?;
        }
        this.write.pending.extend_from_slice(buf);
        this.process_outgoing();
        // Out as far as the socket takes it now; poll_flush does the rest.
        if let Poll::Ready(Err(error)) = this.poll_drain(cx) {
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Where an HTTP head ends (after its blank line), once it is all in.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Unmasks, or masks: the same XOR, into a copy.
fn unmask(bytes: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    apply_mask(&mut copy, mask, 0);
    copy
}

/// Appends a final frame: `first_bits` are the opcode and reserved bits; masked if `mask`
/// (`masked_payload` is already masked).
fn write_frame(out: &mut Vec<u8>, first_bits: u8, mask: Option<[u8; 4]>, masked_payload: &[u8]) {
    write_header(out, FIN | first_bits, mask, masked_payload.len() as u64);
    out.extend_from_slice(masked_payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer past its handshake, with permessage-deflate agreed.
    fn agreed() -> DeflateStream<tokio::io::Empty> {
        let mut stream = DeflateStream::new(
            tokio::io::empty(),
            Some(crate::compression::Offer::parse("").expect("offer")),
            SharedReport::default(),
        );
        stream.codec = Some(Codec {
            deflater: Deflater::new(15, true, LEVEL),
            inflater: Inflater::new(15, true),
        });
        stream.read.head_done = true;
        stream
    }

    fn hostile(bytes: &[u8]) -> io::Result<()> {
        let mut stream = agreed();
        stream.read.raw.extend_from_slice(bytes);
        stream.process_incoming()
    }

    fn violation(result: io::Result<()>) -> Violation {
        let error = result.expect_err("refused");
        Violation::of(&error).expect("a violation").clone()
    }

    #[test]
    fn a_huge_or_overflowing_length_is_refused_at_its_header_without_buffering() {
        for len in [1u64 << 62, u64::MAX, MAX_FRAME_BYTES as u64 + 1] {
            let mut frame = vec![0x82 | RSV1, 127];
            frame.extend_from_slice(&len.to_be_bytes());
            assert_eq!(violation(hostile(&frame)), Violation::FrameTooBig(len));
        }
        let mut frame = vec![0x82, 127];
        frame.extend_from_slice(&(MAX_FRAME_BYTES as u64).to_be_bytes());
        assert!(hostile(&frame).is_ok(), "at the limit: waits for the rest");
    }

    #[test]
    fn endless_compressed_fragments_are_refused_at_the_message_limit() {
        let mut stream = agreed();
        let fragment = vec![0u8; 1 << 20];
        let mut first = Vec::new();
        write_frame(&mut first, 0x02 | RSV1, None, &fragment);
        first[0] &= 0x7f; // not final
        stream.read.raw.extend_from_slice(&first);
        stream.process_incoming().expect("the first fragment");
        let mut result = Ok(());
        for _ in 0..(MAX_INFLATED_BYTES >> 20) + 1 {
            let mut next = Vec::new();
            write_frame(&mut next, 0x00, None, &fragment);
            next[0] &= 0x7f;
            stream.read.raw.extend_from_slice(&next);
            result = stream.process_incoming();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(violation(result), Violation::MessageTooBig);
    }

    #[test]
    fn an_endless_response_head_is_refused_past_64_kib() {
        let mut stream = DeflateStream::new(
            tokio::io::empty(),
            Some(crate::compression::Offer::parse("").expect("offer")),
            SharedReport::default(),
        );
        let mut result = Ok(());
        for _ in 0..100 {
            stream.read.raw.extend_from_slice(&[b'x'; 1024]);
            result = stream.process_incoming();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(violation(result), Violation::HeadTooLong);
        assert!(stream.read.raw.len() <= MAX_HEAD_BYTES + 1024);
    }
}
