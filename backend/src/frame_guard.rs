//! Refuses an oversized WebSocket frame as soon as its header arrives.
//!
//! actix-http reads a whole frame into memory before it compares the frame's length with the
//! limit, so a client announcing a 2^63-byte frame makes the server buffer whatever it streams.
//! [`FrameLengthGuard`] follows the client's bytes frame by frame (headers only; payloads are
//! skipped, never copied) and [`GuardedPayload`] ends the request stream with
//! `PayloadError::Overflow` at the first header over the limit, which the echo loop answers with
//! close 1009.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use actix_web::{error::PayloadError, web::Bytes};
use futures_util::Stream;

/// Longest frame header: 2 bytes, an 8-byte extended length, a 4-byte mask.
const MAX_HEADER_BYTES: usize = 14;

/// The frame-by-frame state over a client's byte stream.
#[derive(Debug, Clone)]
pub struct FrameLengthGuard {
    max_frame_bytes: u64,
    header: [u8; MAX_HEADER_BYTES],
    header_len: usize,
    payload_left: u64,
}

/// What the guard made of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every header in it announced an acceptable length.
    Pass,
    /// The header starting at this offset of the chunk (or in an earlier chunk, when 0) announces
    /// `announced` bytes, over the limit. Bytes before the offset belong to acceptable frames.
    TooBig { offset: usize, announced: u64 },
}

impl FrameLengthGuard {
    pub fn new(max_frame_bytes: usize) -> Self {
        FrameLengthGuard {
            max_frame_bytes: max_frame_bytes as u64,
            header: [0; MAX_HEADER_BYTES],
            header_len: 0,
            payload_left: 0,
        }
    }

    /// Follows `chunk`, the next bytes the client sent.
    pub fn feed(&mut self, chunk: &[u8]) -> Verdict {
        let mut at = 0;
        while at < chunk.len() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min((chunk.len() - at) as u64);
                self.payload_left -= skip;
                at += skip as usize;
                continue;
            }
            let header_start = at.saturating_sub(self.header_len);
            self.header[self.header_len] = chunk[at];
            self.header_len += 1;
            at += 1;
            let Some((header_bytes, announced)) = self.parse_header() else {
                continue;
            };
            debug_assert_eq!(header_bytes, self.header_len);
            self.header_len = 0;
            if announced > self.max_frame_bytes {
                return Verdict::TooBig {
                    offset: header_start,
                    announced,
                };
            }
            self.payload_left = announced;
        }
        Verdict::Pass
    }

    /// The header's size and announced payload length, once all of the header is in.
    fn parse_header(&self) -> Option<(usize, u64)> {
        let h = &self.header[..self.header_len];
        if h.len() < 2 {
            return None;
        }
        let mask_bytes = if h[1] & 0x80 != 0 { 4 } else { 0 };
        let (length_bytes, announced) = match h[1] & 0x7f {
            126 => (
                2,
                u64::from(u16::from_be_bytes(h.get(2..4)?.try_into().ok()?)),
            ),
            127 => (8, u64::from_be_bytes(h.get(2..10)?.try_into().ok()?)),
            short => (0, u64::from(short)),
        };
        let total = 2 + length_bytes + mask_bytes;
        (h.len() == total).then_some((total, announced))
    }
}

/// The request payload, cut off at the first frame header over the limit.
pub struct GuardedPayload<S> {
    inner: S,
    guard: FrameLengthGuard,
    state: GuardState,
}

enum GuardState {
    Watching,
    /// Bytes before the oversized header were handed on; fail after the reader used them.
    FailNext {
        yielded_pending: bool,
    },
    Failed,
}

impl<S> GuardedPayload<S> {
    pub fn new(inner: S, max_frame_bytes: usize) -> Self {
        GuardedPayload {
            inner,
            guard: FrameLengthGuard::new(max_frame_bytes),
            state: GuardState::Watching,
        }
    }
}

impl<S> Stream for GuardedPayload<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.state {
            GuardState::Failed => return Poll::Ready(None),
            GuardState::FailNext {
                yielded_pending: false,
            } => {
                // actix-ws stops decoding at the first payload error, dropping frames it already
                // has; one Pending lets it decode the good bytes before the error arrives.
                this.state = GuardState::FailNext {
                    yielded_pending: true,
                };
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            GuardState::FailNext {
                yielded_pending: true,
            } => {
                this.state = GuardState::Failed;
                return Poll::Ready(Some(Err(PayloadError::Overflow)));
            }
            GuardState::Watching => {}
        }
        let chunk = match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => chunk,
            other => return other,
        };
        match this.guard.feed(&chunk) {
            Verdict::Pass => Poll::Ready(Some(Ok(chunk))),
            Verdict::TooBig { offset, announced } => {
                tracing::debug!("refusing a frame that announces {announced} bytes");
                if offset == 0 {
                    this.state = GuardState::Failed;
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                } else {
                    this.state = GuardState::FailNext {
                        yielded_pending: false,
                    };
                    Poll::Ready(Some(Ok(chunk.slice(..offset))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header announcing `len` bytes, in the shortest encoding.
    fn header(len: u64) -> Vec<u8> {
        let mut h = vec![0x82];
        if len < 126 {
            h.push(0x80 | len as u8);
        } else if len <= 0xFFFF {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    fn frame(len: usize) -> Vec<u8> {
        let mut f = header(len as u64);
        f.extend(std::iter::repeat_n(0xAB, len));
        f
    }

    /// Feeds `stream` in chunks of `size`; returns the absolute offset where the guard tripped.
    fn trip_offset(stream: &[u8], size: usize, limit: usize) -> Option<usize> {
        let mut guard = FrameLengthGuard::new(limit);
        let mut seen = 0;
        for chunk in stream.chunks(size) {
            if let Verdict::TooBig { offset, .. } = guard.feed(chunk) {
                return Some(seen + offset);
            }
            seen += chunk.len();
        }
        None
    }

    #[test]
    fn frames_within_the_limit_pass_however_they_are_split() {
        let stream: Vec<u8> =
            [frame(0), frame(125), frame(126), frame(1000), frame(70_000)].concat();
        for size in [1, 2, 3, 7, 13, 14, 100, 4096, stream.len()] {
            assert_eq!(trip_offset(&stream, size, 70_000), None, "chunks of {size}");
        }
    }

    #[test]
    fn a_huge_announced_length_trips_at_its_header_before_any_payload() {
        let good = [frame(10), frame(200)].concat();
        let mut stream = good.clone();
        stream.extend(header(1 << 62)); // no payload follows: the header alone must trip it
        for size in [1, 2, 5, 14, 64] {
            let offset = trip_offset(&stream, size, 1024).expect("trips on the header alone");
            // The header began at good.len(); the guard may only report it in the chunk where
            // it completes, which starts at most one header length later.
            assert!(
                offset >= good.len() && offset < good.len() + MAX_HEADER_BYTES,
                "chunks of {size}: {offset}"
            );
        }
        assert_eq!(trip_offset(&stream, stream.len(), 1024), Some(good.len()));
    }

    #[test]
    fn the_limit_itself_is_allowed_one_more_byte_is_not() {
        assert_eq!(trip_offset(&header(1024), 64, 1024), None);
        assert_eq!(trip_offset(&header(1025), 64, 1024), Some(0));
        assert_eq!(trip_offset(&header(u64::MAX), 64, 1024), Some(0));
    }

    #[test]
    fn unmasked_and_16_bit_headers_are_followed_too() {
        let mut stream = vec![0x81, 126];
        stream.extend_from_slice(&300u16.to_be_bytes());
        stream.extend(std::iter::repeat_n(b'a', 300));
        stream.extend(header(5000));
        assert_eq!(trip_offset(&stream, stream.len(), 4096), Some(304));
        assert!(trip_offset(&stream, 3, 4096).is_some());
        assert_eq!(trip_offset(&stream, 3, 5000), None);
    }
}
