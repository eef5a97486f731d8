//! Fuzzes the load generator's frame reader (bench/generator/src/wire.rs), which reads a
//! server's frames in place without tungstenite: whatever the server sends, split however the
//! network splits it, the frames found must be the same as in the whole stream, the same first
//! error must end it, lengths must never overflow (a 2^64-1 length once did) and nothing may
//! panic.
//!
//! Input: byte 0 seeds the chunk sizes, the rest is what the server sends.
//! Run with `bash scripts/fuzz.sh [SECONDS] bench_wire`.

#![no_main]

use bench::wire::{Framing, Incoming};
use libfuzzer_sys::fuzz_target;

/// A frame as found, owned, or the error that ended the stream.
type Found = Result<String, String>;

/// Frames from the front of `bytes` until one is incomplete or an error; bytes used.
fn drain(bytes: &[u8], out: &mut Vec<Found>) -> (usize, bool) {
    let mut used = 0;
    loop {
        match Framing::WebSocket.next(&bytes[used..], 32) {
            Ok(Some((frame, len))) => {
                assert!(len > 0 && used + len <= bytes.len(), "a frame past the input");
                out.push(Ok(describe(&frame)));
                used += len;
            }
            Ok(None) => return (used, true),
            Err(error) => {
                out.push(Err(error));
                return (used, false);
            }
        }
    }
}

fn describe(frame: &Incoming<'_>) -> String {
    format!("{frame:?}")
}

fuzz_target!(|data: &[u8]| {
    let [seed, stream @ ..] = data else {
        return;
    };
    let mut whole = Vec::new();
    drain(stream, &mut whole);

    // The same stream as the engine reads it: a buffer that fills chunk by chunk.
    let mut split = Vec::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut at = 0;
    let mut round = 0usize;
    while at < stream.len() {
        let chunk = 1 + (usize::from(*seed) * 31 + round * 17) % 97;
        round += 1;
        let end = (at + chunk).min(stream.len());
        buffer.extend_from_slice(&stream[at..end]);
        at = end;
        let (used, going) = drain(&buffer, &mut split);
        buffer.drain(..used);
        if !going {
            break;
        }
    }
    assert_eq!(whole, split, "the frames depend on how the stream was split");
});
