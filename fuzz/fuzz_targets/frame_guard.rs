//! Fuzzes the frame-length guard: whatever bytes a client sends, split however the network
//! splits them, the guard must trip exactly when a plain whole-buffer parse finds a frame header
//! over the limit, and never panic.
//!
//! Input: byte 0 picks the limit, bytes 1..3 seed the chunk sizes, the rest is the stream.
//! Run with `bash scripts/fuzz.sh [SECONDS]`.

#![no_main]

use backend::frame_guard::{FrameLengthGuard, Verdict};
use libfuzzer_sys::fuzz_target;

/// Where a whole-buffer parse finds the first header announcing more than `limit` bytes.
fn reference_trip(stream: &[u8], limit: u64) -> Option<usize> {
    let mut at = 0;
    loop {
        let h = stream.get(at..)?;
        if h.len() < 2 {
            return None;
        }
        let mask = if h[1] & 0x80 != 0 { 4 } else { 0 };
        let (ext, len) = match h[1] & 0x7f {
            126 => (2, u64::from(u16::from_be_bytes(h.get(2..4)?.try_into().ok()?))),
            127 => (8, u64::from_be_bytes(h.get(2..10)?.try_into().ok()?)),
            n => (0, u64::from(n)),
        };
        if h.len() < 2 + ext + mask {
            return None;
        }
        if len > limit {
            return Some(at);
        }
        at = at.checked_add(2 + ext + mask)?.checked_add(usize::try_from(len).ok()?)?;
    }
}

fuzz_target!(|data: &[u8]| {
    let [limit_byte, seed_a, seed_b, stream @ ..] = data else {
        return;
    };
    let limit = usize::from(*limit_byte) * 7;
    let expected = reference_trip(stream, limit as u64);

    // The whole stream at once: the exact offset.
    let mut whole = FrameLengthGuard::new(limit);
    let got = match whole.feed(stream) {
        Verdict::Pass => None,
        Verdict::TooBig { offset, .. } => Some(offset),
    };
    assert_eq!(got, expected, "whole-buffer verdict");

    // The same stream in uneven chunks: trips iff the reference does, never before the header.
    let mut chunked = FrameLengthGuard::new(limit);
    let (mut at, mut turn) = (0, 0usize);
    let mut tripped = None;
    while at < stream.len() {
        let size = 1 + usize::from(if turn % 2 == 0 { *seed_a } else { *seed_b }) % 17;
        let end = (at + size).min(stream.len());
        if let Verdict::TooBig { offset, .. } = chunked.feed(&stream[at..end]) {
            tripped = Some(at + offset);
            break;
        }
        at = end;
        turn += 1;
    }
    assert_eq!(tripped.is_some(), expected.is_some(), "chunked verdict");
    if let (Some(tripped), Some(header)) = (tripped, expected) {
        assert!(tripped >= header && tripped < header + 14, "tripped at {tripped}, header at {header}");
    }
});
