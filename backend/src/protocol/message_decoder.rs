//! Turns the bytes a client sends into whole WebSocket messages, without I/O of its own.
//!
//! Frames are parsed by actix-http's [`Codec`]; on top of it this refuses a frame over the frame
//! limit, or one that would take its message over the message limit, as soon as its header is in
//! (the codec would first buffer all of it), joins fragmented messages, checks that text is
//! UTF-8, and lets go of its buffer whenever every byte in it has been used, so an idle
//! connection holds no buffer at all. Buffers grow by doubling but never past the end of the
//! frame (or message) being collected, so what is held stays close to what arrived.
//!
//! With permessage-deflate agreed, a data message whose first frame has RSV1 set is inflated as
//! its fragments arrive, and refused as soon as its inflated size passes the message limit.

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::web::{Bytes, BytesMut};
use actix_ws::AggregatedMessage;
use bytestring::ByteString;

pub use crate::protocol::error::Refused;
use crate::protocol::permessage_deflate::{InflateError, Inflater};

use ws_wire::{announced_length, header_len, OpCode, MASKED, RSV2, RSV3};
pub use ws_wire::{MAX_HEADER_BYTES, RSV1};

/// After a frame of this size or more, bytes left in the buffer are copied to one of their own.
const COMPACT_AFTER_FRAME_BYTES: usize = 64 * 1024;

/// The kind of a fragmented message, fixed by its first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fragmented {
    Text,
    Binary,
}

/// The message being joined from its fragments, copied (or inflated) into one buffer as they
/// arrive.
#[derive(Debug)]
struct Partial {
    kind: Fragmented,
    /// Its first frame had RSV1: the fragments are one deflate stream.
    compressed: bool,
    /// Payload bytes of its frames so far, as they came over the wire.
    wire_bytes: usize,
    data: Vec<u8>,
}

/// Bytes in, messages out.
#[derive(Debug)]
pub struct MessageDecoder {
    codec: Codec,
    buffer: BytesMut,
    max_frame_bytes: usize,
    max_message_bytes: usize,
    partial: Option<Box<Partial>>,
    /// Present once permessage-deflate is agreed: RSV1 then marks a compressed message.
    inflater: Option<Box<Inflater>>,
    /// Wire and inflated bytes of the last message, if it came compressed.
    last_inflated: Option<(usize, usize)>,
}

impl MessageDecoder {
    pub fn new(max_frame_bytes: usize, max_message_bytes: usize) -> Self {
        MessageDecoder {
            codec: Codec::new().max_size(max_frame_bytes),
            buffer: BytesMut::new(),
            max_frame_bytes,
            max_message_bytes,
            partial: None,
            inflater: None,
            last_inflated: None,
        }
    }

    /// The largest frame accepted.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// The largest message accepted (whole, inflated).
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// Accepts compressed messages (RSV1) and inflates them with `inflater`.
    pub fn inflating(mut self, inflater: Inflater) -> Self {
        self.inflater = Some(Box::new(inflater));
        self
    }

    /// Whether a fragmented message is under way (its compression state, if any, must be kept
    /// until its last fragment, even if its fragments so far inflated to nothing).
    pub fn message_under_way(&self) -> bool {
        self.partial.is_some()
    }

    /// Wire and inflated bytes of the message just decoded, if it came compressed (once).
    pub fn take_inflated_sizes(&mut self) -> Option<(usize, usize)> {
        self.last_inflated.take()
    }

    /// Between messages: lets go of the inflater's state if the next message does not need it.
    pub fn release_idle(&mut self) {
        if self.partial.is_none() {
            if let Some(inflater) = self.inflater.as_mut() {
                inflater.release();
            }
        }
    }

    /// Takes the next bytes from the client.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.buffer.is_empty() {
            // A fresh buffer of just this size: the frames cut out of it share it, and it goes
            // away with the last of them.
            self.buffer = BytesMut::from(bytes);
            return;
        }
        let needed = self.buffer.len() + bytes.len();
        if needed > self.buffer.capacity() {
            // Doubling, so that a big frame costs few copies, but never past the end of the
            // frame being collected: a 16 MiB frame is held in 16 MiB, not 32.
            let mut target = needed.max(self.buffer.capacity() * 2);
            if let Some(frame_end) = frame_length(&self.buffer) {
                target = target.min(frame_end.max(needed));
            }
            let mut grown = BytesMut::with_capacity(target);
            grown.extend_from_slice(&self.buffer);
            self.buffer = grown;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet part of a decoded message.
    pub fn buffered(&self) -> usize {
        self.buffer.len() + self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Memory held for bytes not yet decoded, counting what buffers have allocated.
    pub fn held_bytes(&self) -> usize {
        self.buffer.capacity()
            + self.partial.as_ref().map_or(0, |p| p.data.capacity())
            + self.inflater.as_ref().map_or(0, |i| i.held_bytes())
    }

    /// Whether any memory is held for bytes not yet decoded (a fragmented message under way
    /// keeps a small record of itself even when its fragments so far were empty).
    pub fn holds_buffer(&self) -> bool {
        self.held_bytes() > 0
    }

    /// Lets go of everything held; for a connection that is closing without reading on.
    pub fn clear(&mut self) {
        self.buffer = BytesMut::new();
        self.partial = None;
        self.inflater = None;
    }

    /// The next whole message, `None` until more bytes arrive, or the protocol error that ends
    /// the connection.
    pub fn decode(&mut self) -> Result<Option<AggregatedMessage>, ProtocolError> {
        let decoded = self.decode_buffered();
        if self.buffer.is_empty() {
            self.buffer = BytesMut::new();
        }
        decoded
    }

    fn decode_buffered(&mut self) -> Result<Option<AggregatedMessage>, ProtocolError> {
        loop {
            let frame_end = frame_length(&self.buffer);
            let compressed = self.starts_compressed_message();
            let acceptable = acceptable_header_length(&self.buffer, compressed);
            if let Some(announced) = acceptable {
                if let Some(error) = self.over_a_limit(announced, compressed) {
                    return Err(error);
                }
                // Not all here yet: wait without asking the codec, which would reserve room for
                // the whole frame ahead of its bytes (16 MiB for a 14-byte header).
                if frame_end.is_some_and(|end| self.buffer.len() < end) {
                    return Ok(None);
                }
            }
            if compressed {
                if acceptable.is_some() {
                    // The whole frame is in. RSV1 is ours to read, not actix's: its codec
                    // refuses any reserved bit.
                    self.buffer[0] &= !RSV1;
                } else if !broken_header(&self.buffer) {
                    // Part of the header: the codec would refuse it for RSV1 alone.
                    return Ok(None);
                }
            }
            let Some(frame) = self.codec.decode(&mut self.buffer)? else {
                return Ok(None);
            };
            let big_frame = frame_end.is_some_and(|end| end >= COMPACT_AFTER_FRAME_BYTES);
            if big_frame && !self.buffer.is_empty() {
                // The start of the next frame still shares the big frame's allocation, which
                // would stay alive (and uncounted) for as long as that frame is collected.
                self.buffer = BytesMut::from(&self.buffer[..]);
            }
            let message = match frame {
                Frame::Text(bytes) if compressed => {
                    AggregatedMessage::Text(utf8(self.inflate_whole(&bytes)?)?)
                }
                Frame::Binary(bytes) if compressed => {
                    AggregatedMessage::Binary(self.inflate_whole(&bytes)?)
                }
                Frame::Text(bytes) => AggregatedMessage::Text(utf8(bytes)?),
                Frame::Binary(bytes) => AggregatedMessage::Binary(bytes),
                Frame::Ping(bytes) => AggregatedMessage::Ping(bytes),
                Frame::Pong(bytes) => AggregatedMessage::Pong(bytes),
                Frame::Close(reason) => AggregatedMessage::Close(reason),
                Frame::Continuation(item) => match self.join(item, compressed)? {
                    Some(message) => message,
                    None => continue,
                },
            };
            return Ok(Some(message));
        }
    }

    /// Adds a fragment; the whole message once its last fragment is in. The codec has already
    /// checked the order of first, middle and last fragments.
    fn join(
        &mut self,
        item: Item,
        compressed: bool,
    ) -> Result<Option<AggregatedMessage>, ProtocolError> {
        let (bytes, last) = match item {
            Item::FirstText(bytes) => (self.start(Fragmented::Text, compressed, bytes), false),
            Item::FirstBinary(bytes) => (self.start(Fragmented::Binary, compressed, bytes), false),
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let Some(mut partial) = self.partial.take() else {
            return Err(ProtocolError::ContinuationNotStarted);
        };
        partial.wire_bytes += bytes.len();
        if partial.compressed {
            let inflater = self.inflater.as_mut().ok_or_else(bad_compression)?;
            inflater
                .inflate(&bytes, &mut partial.data, self.max_message_bytes)
                .map_err(refusal)?;
            if last {
                inflater
                    .finish(&mut partial.data, self.max_message_bytes)
                    .map_err(refusal)?;
            }
        } else {
            let needed = partial.data.len() + bytes.len();
            // Checked at the frame's header already; this is the backstop.
            if needed > self.max_message_bytes {
                return Err(Refused::MessageTooBig.into_protocol_error());
            }
            if needed > partial.data.capacity() {
                // Doubling, capped at the message limit (see `extend`).
                let target = needed
                    .max(partial.data.capacity() * 2)
                    .min(self.max_message_bytes);
                partial.data.reserve_exact(target - partial.data.len());
            }
            partial.data.extend_from_slice(&bytes);
        }
        if !last {
            self.partial = Some(partial);
            return Ok(None);
        }
        if partial.compressed {
            self.last_inflated = Some((partial.wire_bytes, partial.data.len()));
        }
        let whole = Bytes::from(partial.data);
        Ok(Some(match partial.kind {
            Fragmented::Text => AggregatedMessage::Text(utf8(whole)?),
            Fragmented::Binary => AggregatedMessage::Binary(whole),
        }))
    }

    /// Begins a fragmented message; passes its first fragment on.
    fn start(&mut self, kind: Fragmented, compressed: bool, first: Bytes) -> Bytes {
        self.partial = Some(Box::new(Partial {
            kind,
            compressed,
            wire_bytes: 0,
            data: Vec::new(),
        }));
        first
    }

    /// A compressed message that came in one frame, inflated.
    fn inflate_whole(&mut self, compressed: &[u8]) -> Result<Bytes, ProtocolError> {
        let limit = self.max_message_bytes;
        let inflater = self.inflater.as_mut().ok_or_else(bad_compression)?;
        let mut out = Vec::new();
        inflater
            .inflate(compressed, &mut out, limit)
            .and_then(|()| inflater.finish(&mut out, limit))
            .map_err(refusal)?;
        self.last_inflated = Some((compressed.len(), out.len()));
        Ok(Bytes::from(out))
    }

    /// Whether the frame at the head of the buffer begins a compressed message: RSV1 on a text
    /// or binary frame, with permessage-deflate agreed. RSV1 anywhere else is the codec's error.
    fn starts_compressed_message(&self) -> bool {
        self.inflater.is_some()
            && self
                .buffer
                .first()
                .is_some_and(|&first| first & RSV1 != 0 && OpCode::from_bits(first).is_data())
    }

    /// The error for a frame at the head of the buffer that is over a limit, known from its
    /// header alone: over the frame limit (1009 "frame too big"), or taking its message over the
    /// message limit (1009 "message too big"), whether the message is one frame or several.
    ///
    /// A compressed message is held to the limit by what it inflates to, as it inflates; its
    /// wire bytes only to the limit plus what deflate can add to incompressible data.
    fn over_a_limit(&self, len: u64, compressed: bool) -> Option<ProtocolError> {
        if len > self.max_frame_bytes as u64 {
            return Some(ProtocolError::Overflow);
        }
        let opcode = self.buffer[0] & 0x0f;
        let (message_so_far, compressed) = match (&self.partial, opcode) {
            (None, 1 | 2) => (0, compressed),
            (Some(partial), 0) if partial.compressed => (partial.wire_bytes, true),
            (Some(partial), 0) => (partial.data.len(), false),
            // Control frames are small; a frame out of order is the codec's error to report.
            _ => return None,
        };
        let limit = match compressed {
            true => compressed_limit(self.max_message_bytes),
            false => self.max_message_bytes,
        };
        (message_so_far as u64 + len > limit as u64)
            .then(|| Refused::MessageTooBig.into_protocol_error())
    }
}

/// Most wire bytes a compressed message of `max_message` bytes can take: deflate adds 5 bytes per
/// 64 KiB stored block to data it cannot shrink; a thousandth and a little more covers it.
fn compressed_limit(max_message: usize) -> usize {
    max_message.saturating_add(max_message / 1000 + 64)
}

fn refusal(error: InflateError) -> ProtocolError {
    match error {
        InflateError::TooBig => Refused::MessageTooBig.into_protocol_error(),
        InflateError::Corrupt(_) => bad_compression(),
    }
}

fn bad_compression() -> ProtocolError {
    Refused::BadCompression.into_protocol_error()
}

fn utf8(bytes: Bytes) -> Result<ByteString, ProtocolError> {
    ByteString::try_from(bytes).map_err(|_| Refused::InvalidUtf8.into_protocol_error())
}

/// The payload length announced by the frame header at the start of `bytes`, once its length
/// field is in, and only for a header the codec would accept (with RSV1 if it starts a
/// `compressed` message), so that a broken one gets the codec's own error whether it comes in
/// one piece or several.
fn acceptable_header_length(bytes: &[u8], compressed: bool) -> Option<u64> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    let allowed = if compressed { RSV1 } else { 0 };
    let reserved_bits = first & (RSV1 | RSV2 | RSV3) & !allowed != 0;
    let masked = second & MASKED != 0;
    let known_opcode = !matches!(OpCode::from_bits(first), OpCode::Reserved(_));
    if reserved_bits || !masked || !known_opcode {
        return None;
    }
    announced_length(bytes)
}

/// Whether the header at the start of `bytes` is already wrong in its first two bytes (RSV2,
/// RSV3, or no mask): the codec's error to report, whatever else is still to come.
fn broken_header(bytes: &[u8]) -> bool {
    match bytes {
        [first, second, ..] => first & (RSV2 | RSV3) != 0 || second & MASKED == 0,
        _ => false,
    }
}

/// Header plus payload of the frame at the start of `bytes`, once its length field is in (the
/// mask need not be), if that is a size memory can hold.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    usize::try_from(announced_length(bytes)?)
        .ok()?
        .checked_add(header_len(*bytes.get(1)?))
}

#[cfg(test)]
mod tests {
    use actix_http::ws::{CloseCode, CloseReason};

    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// One masked frame as a client sends it.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let first = if fin { ws_wire::FIN } else { 0 } | opcode;
        ws_wire::write_frame(&mut out, first, Some(MASK), payload);
        out
    }

    fn small_decoder() -> MessageDecoder {
        MessageDecoder::new(1024, 4096)
    }

    fn all(decoder: &mut MessageDecoder) -> Vec<AggregatedMessage> {
        let mut out = Vec::new();
        while let Some(message) = decoder.decode().expect("valid input") {
            out.push(message);
        }
        out
    }

    #[test]
    fn frames_split_anywhere_come_out_whole_and_in_order() {
        let mut bytes = frame(true, 1, b"hello");
        bytes.extend(frame(true, 2, &[0, 1, 2, 255]));
        bytes.extend(frame(true, 9, b"ping"));
        for cut in 0..bytes.len() {
            let mut decoder = small_decoder();
            decoder.extend(&bytes[..cut]);
            let mut got = all(&mut decoder);
            decoder.extend(&bytes[cut..]);
            got.extend(all(&mut decoder));
            assert_eq!(
                got,
                vec![
                    AggregatedMessage::Text("hello".into()),
                    AggregatedMessage::Binary(Bytes::from_static(&[0, 1, 2, 255])),
                    AggregatedMessage::Ping(Bytes::from_static(b"ping")),
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_buffer_is_let_go_once_every_byte_is_used() {
        let mut decoder = small_decoder();
        let bytes = frame(true, 1, b"hello");
        decoder.extend(&bytes[..4]);
        assert_eq!(decoder.decode().expect("valid"), None);
        assert!(decoder.holds_buffer(), "half a frame is kept");
        decoder.extend(&bytes[4..]);
        assert!(decoder.decode().expect("valid").is_some());
        assert!(!decoder.holds_buffer(), "nothing left, nothing held");
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn an_oversized_frame_is_refused_at_its_header() {
        let mut decoder = small_decoder();
        // Only the header of a 2 GiB frame: refused before any payload arrives.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 31).to_be_bytes());
        decoder.extend(&header);
        assert!(matches!(decoder.decode(), Err(ProtocolError::Overflow)));

        let mut decoder = small_decoder();
        decoder.extend(&frame(true, 2, &[0; 1025])[..8]);
        assert!(matches!(decoder.decode(), Err(ProtocolError::Overflow)));
    }

    #[test]
    fn a_frame_at_the_limit_passes() {
        let mut decoder = small_decoder();
        decoder.extend(&frame(true, 2, &[7; 1024]));
        assert_eq!(
            all(&mut decoder),
            vec![AggregatedMessage::Binary(Bytes::from(vec![7; 1024]))]
        );
    }

    #[test]
    fn fragments_are_joined_around_control_frames() {
        let mut decoder = small_decoder();
        decoder.extend(&frame(false, 1, "hél".as_bytes()));
        decoder.extend(&frame(false, 0, b""));
        decoder.extend(&frame(true, 9, b"in between"));
        decoder.extend(&frame(true, 0, "lo ✓".as_bytes()));
        assert_eq!(
            all(&mut decoder),
            vec![
                AggregatedMessage::Ping(Bytes::from_static(b"in between")),
                AggregatedMessage::Text("héllo ✓".into()),
            ]
        );
        assert!(!decoder.holds_buffer());
    }

    fn refusal(decoder: &mut MessageDecoder) -> Option<Refused> {
        match decoder.decode() {
            Ok(Some(message)) => panic!("no message expected, got {message:?}"),
            Ok(None) => None,
            Err(error) => Some(Refused::of(&error).unwrap_or_else(|| panic!("{error}"))),
        }
    }

    #[test]
    fn a_fragmented_message_over_the_message_limit_is_refused_at_the_header_that_passes_it() {
        let mut decoder = small_decoder();
        decoder.extend(&frame(false, 2, &[1; 1000]));
        for _ in 0..3 {
            decoder.extend(&frame(false, 0, &[1; 1000]));
        }
        assert_eq!(refusal(&mut decoder), None, "4000 bytes are within 4096");
        // Only the header of the fifth fragment: 5000 bytes would be over.
        decoder.extend(&frame(true, 0, &[1; 1000])[..8]);
        assert_eq!(refusal(&mut decoder), Some(Refused::MessageTooBig));
    }

    #[test]
    fn a_single_frame_over_the_message_limit_is_refused_at_its_header() {
        for opcode in [1, 2] {
            // A frame limit above the message limit: the message limit still applies.
            let mut decoder = MessageDecoder::new(4096, 1024);
            decoder.extend(&frame(true, opcode, &[b'a'; 1025])[..8]);
            assert_eq!(
                refusal(&mut decoder),
                Some(Refused::MessageTooBig),
                "opcode {opcode}"
            );
            let mut decoder = MessageDecoder::new(4096, 1024);
            decoder.extend(&frame(true, opcode, &[b'a'; 1024]));
            assert!(decoder.decode().expect("at the limit").is_some());
        }
    }

    #[test]
    fn a_big_frame_is_held_in_about_its_own_size() {
        let mut decoder = MessageDecoder::new(1 << 20, 1 << 20);
        let bytes = frame(true, 2, &[9; 300_000]);
        for chunk in bytes.chunks(8192) {
            decoder.extend(chunk);
            assert!(
                decoder.held_bytes() <= bytes.len(),
                "{}",
                decoder.held_bytes()
            );
            if decoder.buffered() < bytes.len() {
                assert_eq!(decoder.decode().expect("valid"), None);
            }
        }
        assert!(decoder.decode().expect("valid").is_some());
        assert_eq!(decoder.held_bytes(), 0);

        let mut decoder = MessageDecoder::new(1 << 20, 1 << 20);
        decoder.extend(&frame(false, 2, &[1; 70_000]));
        for _ in 0..3 {
            decoder.extend(&frame(false, 0, &[1; 70_000]));
            assert_eq!(decoder.decode().expect("valid"), None);
        }
        assert!(
            decoder.held_bytes() <= 2 * 280_000,
            "{}",
            decoder.held_bytes()
        );
        decoder.extend(&frame(true, 0, b""));
        assert!(decoder.decode().expect("valid").is_some());
        assert_eq!(decoder.held_bytes(), 0);
    }

    #[test]
    fn text_must_be_utf8_whole_or_fragmented() {
        let mut decoder = small_decoder();
        decoder.extend(&frame(true, 1, &[0xc3, 0x28]));
        assert!(decoder.decode().is_err());

        let mut decoder = small_decoder();
        decoder.extend(&frame(false, 1, &[0xce, 0xba, 0xe1]));
        decoder.extend(&frame(true, 0, &[0xbd, 0xb9, 0xcf, 0x83]));
        assert_eq!(
            all(&mut decoder),
            vec![AggregatedMessage::Text("κόσ".into())]
        );

        let mut decoder = small_decoder();
        decoder.extend(&frame(false, 1, b"ok"));
        decoder.extend(&frame(true, 0, &[0xff]));
        assert!(decoder.decode().is_err());
    }

    #[test]
    fn protocol_breaks_are_errors() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("continuation first", frame(true, 0, b"x")),
            ("reserved opcode", frame(true, 3, b"")),
            ("fragmented ping", frame(false, 9, b"")),
            ("unmasked", vec![0x81, 0x01, b'x']),
            ("reserved bits", {
                let mut f = frame(true, 1, b"x");
                f[0] |= 0x40;
                f
            }),
            ("long ping", frame(true, 9, &[0; 126])),
            ("bad close code", frame(true, 8, &999u16.to_be_bytes())),
        ];
        for (what, bytes) in cases {
            let mut decoder = small_decoder();
            decoder.extend(&bytes);
            assert!(decoder.decode().is_err(), "{what}");
        }
    }

    #[test]
    fn a_close_frame_carries_its_reason() {
        let mut decoder = small_decoder();
        let mut payload = 4000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        decoder.extend(&frame(true, 8, &payload));
        assert_eq!(
            all(&mut decoder),
            vec![AggregatedMessage::Close(Some(CloseReason {
                code: CloseCode::from(4000),
                description: Some("bye".into()),
            }))]
        );
    }

    /// A decoder that inflates, with the compressor a client would use.
    fn deflating(
        max_message: usize,
    ) -> (
        MessageDecoder,
        crate::protocol::permessage_deflate::Deflater,
    ) {
        use crate::{
            protocol::permessage_deflate::negotiate, protocol::permessage_deflate::DeflatePolicy,
        };
        let agreed = negotiate(["permessage-deflate"], &DeflatePolicy::default()).expect("ok");
        let decoder = MessageDecoder::new(max_message, max_message).inflating(agreed.inflater());
        (decoder, agreed.deflater())
    }

    fn compressed_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = frame(fin, opcode, payload);
        bytes[0] |= RSV1;
        bytes
    }

    #[test]
    fn compressed_messages_are_inflated_whole_or_fragmented() {
        let (mut decoder, mut deflater) = deflating(4096);
        let text = "héllo ".repeat(100);
        let wire = deflater
            .compress(text.as_bytes())
            .expect("shrinks")
            .to_vec();
        decoder.extend(&compressed_frame(true, 1, &wire));
        let (head, tail) = wire.split_at(wire.len() / 2);
        decoder.extend(&compressed_frame(false, 2, head));
        decoder.extend(&frame(true, 9, b"ping between"));
        decoder.extend(&frame(true, 0, tail));
        decoder.extend(&frame(true, 1, b"plain"));
        assert_eq!(
            all(&mut decoder),
            vec![
                AggregatedMessage::Text(text.clone().into()),
                AggregatedMessage::Ping(Bytes::from_static(b"ping between")),
                AggregatedMessage::Binary(Bytes::from(text.into_bytes())),
                AggregatedMessage::Text("plain".into()),
            ]
        );
        decoder.release_idle();
        assert!(!decoder.holds_buffer(), "no context kept between messages");
    }

    /// Raw deflate of `payload` at `level` (0: stored blocks, bigger than the input), as a client
    /// sends it: sync flush, tail cut off.
    fn client_deflate(payload: &[u8], level: u32) -> Vec<u8> {
        use flate2::{Compress, Compression, FlushCompress};
        let mut compress = Compress::new(Compression::new(level), false);
        let mut out = Vec::with_capacity(payload.len() + 1024);
        compress
            .compress_vec(payload, &mut out, FlushCompress::Sync)
            .expect("compress");
        assert_eq!(compress.total_in() as usize, payload.len(), "room enough");
        out.truncate(out.len() - 4);
        out
    }

    /// Every message until the decoder wants more bytes, or its error.
    fn decode_all(decoder: &mut MessageDecoder, out: &mut Vec<Result<AggregatedMessage, String>>) {
        loop {
            match decoder.decode() {
                Ok(Some(message)) => out.push(Ok(message)),
                Ok(None) => return,
                Err(error) => return out.push(Err(error.to_string())),
            }
        }
    }

    #[test]
    fn compressed_frames_split_anywhere_come_out_whole() {
        // One frame of each length form: short, 16-bit, 64-bit (stored blocks, 70 kB).
        let short = "compressed, ".repeat(20);
        let medium: Vec<u8> = (0..3000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7) as u8)
            .collect();
        let long: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut bytes = compressed_frame(true, 1, &client_deflate(short.as_bytes(), 6));
        let medium_wire = client_deflate(&medium, 6);
        assert!(
            (126..65536).contains(&medium_wire.len()),
            "{}",
            medium_wire.len()
        );
        bytes.extend(compressed_frame(true, 2, &medium_wire));
        let third_at = bytes.len();
        let long_wire = client_deflate(&long, 0);
        assert!(long_wire.len() > 65535);
        bytes.extend(compressed_frame(true, 2, &long_wire));
        let cuts = (0..third_at + 20).chain(bytes.len() - 20..bytes.len());
        for cut in cuts {
            let (mut decoder, _) = deflating(1 << 20);
            let mut results = Vec::new();
            decoder.extend(&bytes[..cut]);
            decode_all(&mut decoder, &mut results);
            decoder.extend(&bytes[cut..]);
            decode_all(&mut decoder, &mut results);
            assert_eq!(
                results,
                vec![
                    Ok(AggregatedMessage::Text(short.clone().into())),
                    Ok(AggregatedMessage::Binary(Bytes::from(medium.clone()))),
                    Ok(AggregatedMessage::Binary(Bytes::from(long.clone()))),
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn rsv1_is_an_error_where_no_compression_was_agreed_or_on_the_wrong_frame() {
        let mut plain = small_decoder();
        plain.extend(&compressed_frame(true, 1, b"x"));
        assert!(plain.decode().is_err(), "not agreed");

        let (mut decoder, _) = deflating(4096);
        decoder.extend(&frame(false, 1, b"a"));
        decoder.extend(&compressed_frame(true, 0, b"b"));
        assert!(decoder.decode().is_err(), "RSV1 on a continuation");

        let (mut decoder, _) = deflating(4096);
        decoder.extend(&compressed_frame(true, 9, b""));
        assert!(decoder.decode().is_err(), "RSV1 on a ping");
    }

    #[test]
    fn a_compressed_message_is_refused_once_it_inflates_past_the_limit() {
        // A bomb in one frame, and the same bomb in fragments.
        let (_, mut deflater) = deflating(4096);
        let bomb = deflater
            .compress(&[b'a'; 100_000])
            .expect("shrinks")
            .to_vec();
        assert!(bomb.len() < 4096);
        let (mut decoder, _) = deflating(4096);
        decoder.extend(&compressed_frame(true, 2, &bomb));
        assert_eq!(refusal(&mut decoder), Some(Refused::MessageTooBig));
        assert!(
            decoder.held_bytes() <= 4097 + 64 * 1024,
            "{}",
            decoder.held_bytes()
        );

        let (mut decoder, _) = deflating(4096);
        let mut pieces = bomb.chunks(bomb.len() / 4 + 1);
        decoder.extend(&compressed_frame(false, 1, pieces.next().expect("a piece")));
        let mut refused = None;
        for piece in pieces {
            decoder.extend(&frame(false, 0, piece));
            refused = refusal(&mut decoder);
            if refused.is_some() {
                break;
            }
        }
        assert_eq!(refused, Some(Refused::MessageTooBig));

        let (mut decoder, _) = deflating(4096);
        decoder.extend(&compressed_frame(true, 2, &[0xff; 100]));
        assert_eq!(refusal(&mut decoder), Some(Refused::BadCompression));
    }

    #[test]
    fn compressed_text_must_inflate_to_utf8() {
        let (mut decoder, mut deflater) = deflating(4096);
        let bad = deflater
            .compress(&[0xc3, 0x28].repeat(100))
            .expect("shrinks")
            .to_vec();
        decoder.extend(&compressed_frame(true, 1, &bad));
        assert!(decoder.decode().is_err());
    }
}
