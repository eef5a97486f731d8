//! `--compress`: permessage-deflate offered on every connection; JSON-like text messages,
//! compressed once up front in a few dozen variants and sent as they are, so the generator
//! spends no CPU compressing (the server inflates and compresses every message; the generator
//! only inflates). Each echo is inflated if it came compressed and compared byte for byte with
//! the variant sent.

use std::fmt::Write;

use ws_deflate::Inflater;

use crate::wire::{masked_header, MASK};

/// Distinct messages per size, sent in turn: message `seq` is variant `seq % VARIANTS`.
const VARIANTS: usize = 64;

/// zlib's default level, as browsers compress.
const CLIENT_LEVEL: u32 = 6;

/// FIN + RSV1 ("compressed") + text.
const COMPRESSED_TEXT: u8 = 0xc1;

/// The messages of one run, plain and as the frames that carry them.
#[derive(Debug)]
pub struct Corpus {
    plain: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
    /// The server starts every message afresh (it agreed server_no_context_takeover).
    server_resets: bool,
    /// Compressed payload bytes of the variants, all together.
    wire_bytes: usize,
}

impl Corpus {
    /// `answer`: the server's `Sec-WebSocket-Extensions` reply.
    pub fn new(size: usize, answer: &str) -> Corpus {
        let plain: Vec<Vec<u8>> = (0..VARIANTS).map(|v| json_like(v, size)).collect();
        let mut wire_bytes = 0;
        let frames = plain
            .iter()
            .map(|message| {
                // Each on its own: a client may always compress without referring back.
                let mut deflater = ws_deflate::Deflater::new(15, true, CLIENT_LEVEL);
                let compressed = deflater.compress(message).unwrap_or(message);
                wire_bytes += compressed.len();
                frame(compressed)
            })
            .collect();
        Corpus {
            plain,
            frames,
            server_resets: answer.contains("server_no_context_takeover"),
            wire_bytes,
        }
    }

    /// The frame of message `seq`.
    pub fn frame(&self, seq: u64) -> &[u8] {
        &self.frames[seq as usize % VARIANTS]
    }

    /// An inflater for one connection's echoes.
    pub fn inflater(&self) -> Inflater {
        Inflater::new(15, self.server_resets)
    }

    /// Payload bytes sent per message on the wire over payload bytes, on average.
    pub fn sent_ratio(&self) -> f64 {
        let plain: usize = self.plain.iter().map(Vec::len).sum();
        self.wire_bytes as f64 / plain as f64
    }

    /// Checks that `echo` (compressed or not, as its frame said) is message `seq`.
    pub fn check(
        &self,
        echo: &[u8],
        compressed: bool,
        seq: u64,
        inflater: &mut Inflater,
        scratch: &mut Vec<u8>,
    ) -> Result<(), String> {
        let expected = &self.plain[seq as usize % VARIANTS];
        let echo = if compressed {
            scratch.clear();
            let limit = expected.len() + 1;
            inflater
                .inflate(echo, scratch, limit)
                .and_then(|()| inflater.finish(scratch, limit))
                .map_err(|error| format!("echo {seq} does not inflate: {error:?}"))?;
            &scratch[..]
        } else {
            echo
        };
        if echo == &expected[..] {
            Ok(())
        } else {
            Err(format!(
                "echo {seq} ({} bytes) is not the message sent (lost, reordered or altered)",
                echo.len()
            ))
        }
    }
}

/// `size` bytes of JSON-like text, different for each variant.
fn json_like(variant: usize, size: usize) -> Vec<u8> {
    let mut text = String::with_capacity(size + 128);
    text.push('[');
    let mut i = 0;
    while text.len() < size {
        let id = variant * 100_000 + i;
        let _ = write!(
            text,
            r#"{{"id":{id},"user":"user-{}","active":{},"score":{},"tags":["echo","bench"]}},"#,
            id % 997,
            i % 3 == 0,
            (id * 37) % 1000
        );
        i += 1;
    }
    text.truncate(size);
    text.into_bytes()
}

/// A masked, final, compressed text frame.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    masked_header(&mut out, COMPRESSED_TEXT, payload.len());
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_compress_and_check_both_ways() {
        let corpus = Corpus::new(1000, "permessage-deflate; server_no_context_takeover");
        assert!(corpus.sent_ratio() < 0.5, "{}", corpus.sent_ratio());
        let (mut inflater, mut scratch) = (corpus.inflater(), Vec::new());
        let plain = json_like(3, 1000);
        assert_eq!(plain.len(), 1000);
        assert!(corpus
            .check(&plain, false, 3, &mut inflater, &mut scratch)
            .is_ok());
        assert!(corpus
            .check(&plain, false, 4, &mut inflater, &mut scratch)
            .is_err());
        let mut deflater = ws_deflate::Deflater::new(15, true, 1);
        let compressed = deflater.compress(&plain).expect("shrinks").to_vec();
        assert!(corpus
            .check(
                &compressed,
                true,
                3 + VARIANTS as u64,
                &mut inflater,
                &mut scratch
            )
            .is_ok());
    }
}
