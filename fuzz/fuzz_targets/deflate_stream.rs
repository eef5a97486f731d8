//! Fuzzes the CLI's permessage-deflate layer (client/src/deflate_stream.rs), the code that sits
//! between tungstenite and a server nobody vouches for: whatever the server sends, split
//! however the network splits it, the layer must hand tungstenite the same bytes and end with
//! the same error as when it reads the whole stream at once, and never panic (a 2^64-1 length
//! once did).
//!
//! Input: byte 0's low bit picks whether a 101 agreeing permessage-deflate is put before the
//! rest (else the fuzzer writes the response head itself); its other bits and byte 1 pick the
//! chunk size of the split read; the rest is what the server sends.
//! Run with `bash scripts/fuzz.sh [SECONDS] deflate_stream`.

#![no_main]

use std::{
    pin::Pin,
    task::{Context, Poll, Waker},
};

use client::{
    compression::{Offer, SharedReport, DEFAULT_OFFER_PARAMS},
    deflate_stream::DeflateStream,
};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, ReadBuf};

const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n";

/// Gives its bytes `chunk` at a time.
struct Chunked<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.chunk.min(self.bytes.len()).min(buf.remaining());
        buf.put_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Poll::Ready(Ok(()))
    }
}

/// Everything the layer hands tungstenite, and the error it ended with, if any.
fn read_all(input: &[u8], chunk: usize) -> (Vec<u8>, Option<String>) {
    let offer = Offer::parse(DEFAULT_OFFER_PARAMS).ok();
    let mut stream = DeflateStream::new(Chunked { bytes: input, chunk }, offer, SharedReport::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut stream).poll_read(&mut cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => return (out, None),
            Poll::Ready(Ok(())) => out.extend_from_slice(read.filled()),
            Poll::Ready(Err(error)) => return (out, Some(error.to_string())),
            Poll::Pending => return (out, Some("pending".into())),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, seed, rest @ ..] = data else {
        return;
    };
    let input = if mode & 1 == 0 {
        [HEAD, rest].concat()
    } else {
        rest.to_vec()
    };
    let chunk = 1 + usize::from(mode >> 1) * 7 + usize::from(*seed);
    let (whole, whole_error) = read_all(&input, input.len().max(1));
    let (split, split_error) = read_all(&input, chunk);
    // Bytes handed over before an error may differ in how far they got; up to the shorter one
    // they are the same, and with no error they are the same in full.
    let shared = whole.len().min(split.len());
    assert_eq!(whole[..shared], split[..shared], "split at {chunk}");
    assert_eq!(whole_error.is_some(), split_error.is_some(), "{whole_error:?} / {split_error:?}");
    if whole_error.is_none() {
        assert_eq!(whole, split, "split at {chunk}");
    }
});
