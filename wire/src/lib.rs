//! The WebSocket frame header (RFC 6455 §5.2), written once for every part of the workspace:
//! the echo server's decoder peeks at headers with it, the CLI's permessage-deflate layer and
//! the load generator read a server's frames with it, and the tests' raw clients write frames
//! with it.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |           (16/64)             |
//! |N|V|V|V|       |S|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               | Masking-key, if MASK set      |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Lengths come from the peer: a header may announce up to 2^64 - 1 bytes. [`Header`] keeps the
//! announced length as a `u64`, and [`Header::frame_end`] says where the frame ends only if that
//! is a place in memory at all, so a reader checks its own limit against the announced length
//! before it buffers anything, and never overflows.

/// Longest header: 2 bytes, an 8-byte extended length, a 4-byte mask.
pub const MAX_HEADER_BYTES: usize = 14;

/// The FIN bit: the last frame of a message.
pub const FIN: u8 = 0x80;
/// The first reserved bit: "compressed" under permessage-deflate (RFC 7692 §6).
pub const RSV1: u8 = 0x40;
/// The other two reserved bits, which no extension here uses.
pub const RSV2: u8 = 0x20;
pub const RSV3: u8 = 0x10;
/// The MASK bit of the second byte.
pub const MASKED: u8 = 0x80;

/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL_PAYLOAD_BYTES: usize = 125;

/// A frame's opcode (the low four bits of its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
    /// 3–7 and 11–15: reserved, an error to receive.
    Reserved(u8),
}

impl OpCode {
    pub fn from_bits(bits: u8) -> OpCode {
        match bits & 0x0f {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
            OpCode::Reserved(bits) => bits & 0x0f,
        }
    }

    /// Close, ping or pong (opcodes 8 and up).
    pub fn is_control(self) -> bool {
        self.bits() & 0x08 != 0
    }

    /// Text or binary: the start of a message.
    pub fn is_data(self) -> bool {
        matches!(self, OpCode::Text | OpCode::Binary)
    }
}

/// A whole frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The first byte as sent: FIN, the reserved bits, the opcode.
    pub first: u8,
    pub mask: Option<[u8; 4]>,
    /// The payload length as announced: up to 2^64 - 1.
    pub payload_len: u64,
    /// Bytes of the header itself (2 to 14).
    pub header_len: usize,
}

impl Header {
    /// The header at the start of `bytes`, once all of it is in.
    #[inline]
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let (&first, &second) = (bytes.first()?, bytes.get(1)?);
        let payload_len = announced_length(bytes)?;
        let mut header_len = length_field_end(second);
        let mask = if second & MASKED != 0 {
            let key: [u8; 4] = bytes.get(header_len..header_len + 4)?.try_into().ok()?;
            header_len += 4;
            Some(key)
        } else {
            None
        };
        Some(Header {
            first,
            mask,
            payload_len,
            header_len,
        })
    }

    pub fn fin(&self) -> bool {
        self.first & FIN != 0
    }

    pub fn rsv1(&self) -> bool {
        self.first & RSV1 != 0
    }

    /// The three reserved bits as they sit in the first byte.
    pub fn reserved_bits(&self) -> u8 {
        self.first & (RSV1 | RSV2 | RSV3)
    }

    pub fn opcode(&self) -> OpCode {
        OpCode::from_bits(self.first)
    }

    /// Where the frame that starts at `start` ends (its header and payload), or `None` if the
    /// announced length puts that end past what memory can address: such a frame is never
    /// whole, and a reader must refuse it by its limit first.
    #[inline]
    pub fn frame_end(&self, start: usize) -> Option<usize> {
        let payload = usize::try_from(self.payload_len).ok()?;
        start.checked_add(self.header_len)?.checked_add(payload)
    }
}

/// Bytes of a header whose second byte is `second`: known from that byte alone (the length form
/// and the MASK bit), before the rest has arrived.
pub fn header_len(second: u8) -> usize {
    length_field_end(second) + if second & MASKED != 0 { 4 } else { 0 }
}

/// Where the length field ends in a header whose second byte is `second`.
fn length_field_end(second: u8) -> usize {
    match second & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    }
}

/// The payload length the header at the start of `bytes` announces, as soon as its length field
/// is in (the mask may not be yet).
#[inline]
pub fn announced_length(bytes: &[u8]) -> Option<u64> {
    let second = *bytes.get(1)?;
    match second & 0x7f {
        126 => Some(u64::from(u16::from_be_bytes(
            bytes.get(2..4)?.try_into().ok()?,
        ))),
        127 => Some(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)),
        short => Some(u64::from(short)),
    }
}

/// Appends a header: `first` (FIN, reserved bits, opcode), the shortest length form for `len`,
/// and the mask if any. The caller appends the payload (masked with it, if any).
#[inline]
pub fn write_header(out: &mut Vec<u8>, first: u8, mask: Option<[u8; 4]>, len: u64) {
    let mask_bit = if mask.is_some() { MASKED } else { 0 };
    out.push(first);
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
}

/// Appends a whole frame: its header, then `payload` masked with `mask` if any.
pub fn write_frame(out: &mut Vec<u8>, first: u8, mask: Option<[u8; 4]>, payload: &[u8]) {
    write_header(out, first, mask, payload.len() as u64);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask, 0);
    }
}

/// Masks or unmasks `bytes` in place (the same XOR), `offset` bytes into the payload.
#[inline]
pub fn apply_mask(bytes: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte ^= mask[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_form_round_trips_and_is_whole_only_with_its_last_byte() {
        for len in [0usize, 1, 125, 126, 65_535, 65_536, 70_000] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let payload = vec![0xa5; len];
                let mut out = Vec::new();
                write_frame(&mut out, FIN | OpCode::Binary.bits(), mask, &payload);
                let header = Header::parse(&out).expect("whole header");
                assert_eq!(header.payload_len, len as u64);
                assert_eq!(header.mask, mask);
                assert_eq!(header.frame_end(0), Some(out.len()));
                assert!(header.fin() && header.opcode() == OpCode::Binary);
                assert!(Header::parse(&out[..header.header_len - 1]).is_none());
                let mut body = out[header.header_len..].to_vec();
                if let Some(mask) = mask {
                    apply_mask(&mut body, mask, 0);
                }
                assert_eq!(body, payload);
            }
        }
    }

    #[test]
    fn lengths_up_to_2_to_the_64_minus_1_never_overflow() {
        for len in [1u64 << 62, u64::MAX, u64::MAX - 13] {
            let mut out = Vec::new();
            write_header(&mut out, FIN | 0x2, None, len);
            let header = Header::parse(&out).expect("whole");
            assert_eq!(header.payload_len, len);
            assert_eq!(header.frame_end(usize::MAX - 5), None);
            if len > u64::MAX - 200 {
                assert_eq!(header.frame_end(100), None, "past the end of memory");
            }
        }
        assert_eq!(announced_length(&[0x82, 127, 0xff]), None, "not in yet");
    }

    #[test]
    fn opcodes_and_bits_are_read_as_sent() {
        for bits in 0..16u8 {
            assert_eq!(OpCode::from_bits(bits).bits(), bits);
        }
        assert!(OpCode::Ping.is_control() && !OpCode::Text.is_control());
        assert!(OpCode::Reserved(0xb).is_control() && !OpCode::Reserved(3).is_control());
        let header = Header::parse(&[0x80 | RSV1 | RSV3 | 0x1, 0]).expect("whole");
        assert!(header.rsv1());
        assert_eq!(header.reserved_bits(), RSV1 | RSV3);
    }
}
