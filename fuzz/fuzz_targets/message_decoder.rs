//! Fuzzes the message decoder: whatever bytes a client sends, split however the network splits
//! them, the decoder must give the same messages and the same first error as when it gets the
//! whole stream at once, keep no more than the limits allow, and never panic.
//!
//! Input: byte 0 picks the frame limit (and, its lowest bit, whether permessage-deflate is
//! agreed, so that RSV1 frames are inflated), bytes 1..3 seed the chunk sizes, the rest is the
//! stream.
//! Run with `bash scripts/fuzz.sh [SECONDS]`.

#![no_main]

use backend::{protocol::message_decoder::MessageDecoder, protocol::message_decoder::MAX_HEADER_BYTES, protocol::permessage_deflate::Inflater};
use libfuzzer_sys::fuzz_target;

/// A message, or the text of the error that ended the stream.
type Outcome = Result<String, String>;

/// Decodes everything `decoder` can from what it has, stopping at the first error.
fn drain(decoder: &mut MessageDecoder, out: &mut Vec<Outcome>) -> bool {
    loop {
        match decoder.decode() {
            Ok(Some(message)) => out.push(Ok(format!("{message:?}"))),
            Ok(None) => return true,
            Err(error) => {
                out.push(Err(error.to_string()));
                return false;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [limit_byte, seed_a, seed_b, stream @ ..] = data else {
        return;
    };
    let max_frame = usize::from(*limit_byte) * 7;
    let max_message = max_frame * 3;
    let decoder = || {
        let plain = MessageDecoder::new(max_frame, max_message);
        match limit_byte & 1 {
            1 => plain.inflating(Inflater::new(15, true)),
            _ => plain,
        }
    };

    let mut whole = decoder();
    whole.extend(stream);
    let mut expected = Vec::new();
    drain(&mut whole, &mut expected);

    let mut chunked = decoder();
    let mut got = Vec::new();
    let (mut at, mut turn) = (0, 0usize);
    while at < stream.len() {
        let size = 1 + usize::from(if turn % 2 == 0 { *seed_a } else { *seed_b }) % 17;
        let end = (at + size).min(stream.len());
        chunked.extend(&stream[at..end]);
        let going = drain(&mut chunked, &mut got);
        assert!(
            chunked.buffered() <= max_message + max_frame + MAX_HEADER_BYTES + 17,
            "holds {} bytes",
            chunked.buffered()
        );
        if !going {
            break;
        }
        // A compressed message under way keeps its inflater until its last fragment.
        let inflating_one = limit_byte & 1 == 1 && chunked.message_under_way();
        if chunked.buffered() == 0 && !inflating_one {
            // What the connection does whenever it waits for the client.
            chunked.release_idle();
            assert!(!chunked.holds_buffer(), "nothing pending, yet a buffer is kept");
        }
        at = end;
        turn += 1;
    }
    assert_eq!(got, expected, "chunked vs whole");
});
