//! The bench's own framing, without I/O: messages appended to a send buffer as masked client
//! frames (or raw bytes for a TCP echo), and the server's frames found in a read buffer, in
//! place. No allocation per message, so the generator's CPU goes to the syscalls.

use ws_wire::{Header, OpCode};

use crate::payload;

/// How messages are put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// RFC 6455 frames: masked from us, unmasked from the server.
    WebSocket,
    /// A raw TCP echo: messages back to back, every `size` bytes one message.
    Raw,
}

/// Largest frame the bench takes from a server, refused at its header (before it is buffered):
/// the bench's echoes are at most a few times `--size`, and a server that announces more is
/// broken or hostile. Also the most a fragmented echo may add up to.
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// The mask of every frame the bench sends. A fixed key is allowed for a load generator (the
/// mask protects proxies from scripted pages, not servers) and costs the server the same.
pub const MASK: [u8; 4] = [0x5e, 0x1f, 0xa7, 0x3c];

/// What the bench learns from one frame of the server's.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A text or binary message's payload.
    Data(&'a [u8]),
    /// A text or binary message's payload, compressed (RSV1, permessage-deflate).
    Compressed(&'a [u8]),
    /// Part of a fragmented message: the first (which says whether it is compressed), a middle
    /// one, or the last.
    Fragment {
        body: &'a [u8],
        first: bool,
        last: bool,
        compressed: bool,
    },
    /// A ping or pong: nothing to check.
    Control,
    /// The server closed, with this code if it gave one.
    Close(Option<u16>),
}

impl Framing {
    /// Appends message `seq` (see [`payload::write`]) framed.
    pub fn write(self, out: &mut Vec<u8>, seq: u64, sent_nanos: u64, size: usize, text: bool) {
        let len = size.max(payload::MIN_SIZE);
        if self == Framing::Raw {
            payload::write(out, seq, sent_nanos, size, text);
            return;
        }
        masked_header(out, 0x80 | if text { 0x1 } else { 0x2 }, len);
        let start = out.len();
        payload::write(out, seq, sent_nanos, size, text);
        for (i, byte) in out[start..].iter_mut().enumerate() {
            *byte ^= MASK[i % 4];
        }
    }
}

/// Appends a client frame's header: `first` (FIN, RSV bits, opcode), the length with the mask
/// bit, and [`MASK`]; the caller appends the payload masked with it.
pub fn masked_header(out: &mut Vec<u8>, first: u8, len: usize) {
    ws_wire::write_header(out, first, Some(MASK), len as u64);
}

impl Framing {
    /// The first whole frame (or raw message of `size` bytes) in `bytes`, and how many bytes it
    /// took; `None` until it has all arrived. A malformed frame is an error.
    pub fn next(self, bytes: &[u8], size: usize) -> Result<Option<(Incoming<'_>, usize)>, String> {
        if self == Framing::Raw {
            let len = size.max(payload::MIN_SIZE);
            return Ok((bytes.len() >= len).then(|| (Incoming::Data(&bytes[..len]), len)));
        }
        let Some(header) = Header::parse(bytes) else {
            return Ok(None);
        };
        if header.mask.is_some() {
            return Err("the server sent a masked frame".into());
        }
        // Refused at its header, whatever it announces: never buffered, never overflowed.
        let end = Some(header.payload_len)
            .filter(|&len| len <= MAX_FRAME_BYTES as u64)
            .and_then(|_| header.frame_end(0))
            .ok_or_else(|| {
                format!(
                    "the server announced a frame of {} bytes (the bench takes up to {} MiB)",
                    header.payload_len,
                    MAX_FRAME_BYTES >> 20
                )
            })?;
        if bytes.len() < end {
            return Ok(None);
        }
        let body = &bytes[header.header_len..end];
        let (fin, opcode, compressed) = (header.fin(), header.opcode(), header.rsv1());
        if !fin || opcode == OpCode::Continuation {
            // Some servers (gorilla) send a big echo in pieces of their write buffer.
            return Ok(Some((
                Incoming::Fragment {
                    body,
                    first: opcode != OpCode::Continuation,
                    last: fin,
                    compressed,
                },
                end,
            )));
        }
        let incoming = match opcode {
            OpCode::Text | OpCode::Binary if compressed => Incoming::Compressed(body),
            OpCode::Text | OpCode::Binary => Incoming::Data(body),
            OpCode::Ping | OpCode::Pong => Incoming::Control,
            OpCode::Close => {
                Incoming::Close(body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])))
            }
            other => return Err(format!("the server sent opcode {:#x}", other.bits())),
        };
        Ok(Some((incoming, end)))
    }

    /// The bytes of header this framing puts before each message sent.
    #[cfg(test)]
    pub fn overhead(self, size: usize) -> usize {
        match (self, size.max(payload::MIN_SIZE)) {
            (Framing::Raw, _) => 0,
            (Framing::WebSocket, 0..=125) => 6,
            (Framing::WebSocket, 126..=0xffff) => 8,
            (Framing::WebSocket, _) => 14,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server sends back for a frame of ours: the same payload, unmasked.
    fn as_echo(frame: &[u8], size: usize) -> Vec<u8> {
        let header = Framing::WebSocket.overhead(size);
        let mut payload = frame[header..].to_vec();
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= MASK[i % 4];
        }
        let mut echo = vec![frame[0], (frame[1] & 0x7f)];
        echo.extend_from_slice(&frame[2..header - 4]);
        echo.extend_from_slice(&payload);
        echo
    }

    #[test]
    fn frames_round_trip_at_every_length_form_and_arrive_only_whole() {
        for size in [32, 125, 126, 1000, 70_000] {
            for text in [true, false] {
                let mut out = Vec::new();
                Framing::WebSocket.write(&mut out, 9, 77, size, text);
                assert_eq!(out.len(), size + Framing::WebSocket.overhead(size));
                let echo = as_echo(&out, size);
                assert_eq!(
                    Framing::WebSocket.next(&echo[..echo.len() - 1], size),
                    Ok(None)
                );
                let Ok(Some((Incoming::Data(body), used))) = Framing::WebSocket.next(&echo, size)
                else {
                    panic!("a data frame");
                };
                assert_eq!(used, echo.len());
                assert_eq!(
                    payload::verify(body, 9, 77, size, text),
                    Ok(()),
                    "{size} {text}"
                );
            }
        }
    }

    #[test]
    fn a_huge_or_overflowing_length_is_refused_at_the_header() {
        for len in [1u64 << 62, u64::MAX, MAX_FRAME_BYTES as u64 + 1] {
            let mut frame = vec![0x82, 127];
            frame.extend_from_slice(&len.to_be_bytes());
            let error = Framing::WebSocket.next(&frame, 32).expect_err("refused");
            assert!(error.contains(&len.to_string()), "{error}");
        }
        let mut frame = vec![0x82, 127];
        frame.extend_from_slice(&(MAX_FRAME_BYTES as u64).to_be_bytes());
        assert_eq!(
            Framing::WebSocket.next(&frame, 32),
            Ok(None),
            "waits for the rest"
        );
    }

    #[test]
    fn raw_messages_are_fixed_size_and_control_and_close_frames_are_told_apart() {
        let mut out = Vec::new();
        Framing::Raw.write(&mut out, 1, 2, 40, false);
        Framing::Raw.write(&mut out, 2, 3, 40, false);
        assert_eq!(out.len(), 80);
        assert!(matches!(
            Framing::Raw.next(&out, 40),
            Ok(Some((Incoming::Data(_), 40)))
        ));
        assert_eq!(
            Framing::WebSocket.next(&[0x89, 0], 32),
            Ok(Some((Incoming::Control, 2)))
        );
        assert_eq!(
            Framing::WebSocket.next(&[0x88, 2, 0x03, 0xf1], 32),
            Ok(Some((Incoming::Close(Some(1009)), 4)))
        );
        assert!(Framing::WebSocket
            .next(&[0x81, 0x80, 0, 0, 0, 0], 32)
            .is_err());
        assert_eq!(
            Framing::WebSocket.next(&[0x41, 2, b'a', b'b'], 32),
            Ok(Some((
                Incoming::Fragment {
                    body: b"ab",
                    first: true,
                    last: false,
                    compressed: true
                },
                4
            )))
        );
        assert_eq!(
            Framing::WebSocket.next(&[0x80, 1, b'c'], 32),
            Ok(Some((
                Incoming::Fragment {
                    body: b"c",
                    first: false,
                    last: true,
                    compressed: false
                },
                3
            )))
        );
    }
}
