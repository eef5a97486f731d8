//! The client's side of permessage-deflate, written with flate2 directly so that the tests'
//! bytes are their own and not the server's code: a message compressed as a client sends it
//! (raw deflate, sync flush, its 4-byte tail cut off) and a server's message inflated.
// Compiled into each test crate that uses it, and each uses only part of it.
#![allow(dead_code)]

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// The end of a sync flush, left off the wire (RFC 7692 §7.2.1).
pub const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// `payload` compressed at zlib's best level, tail cut off.
pub fn deflate(payload: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(payload.len() / 500 + 4096);
    let mut input = payload;
    loop {
        let before = compress.total_in();
        compress
            .compress_vec(input, &mut out, FlushCompress::Sync)
            .expect("compress");
        input = &input[(compress.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity());
    }
    assert!(out.ends_with(&TAIL));
    out.truncate(out.len() - TAIL.len());
    out
}

/// A compressed message from the server, inflated (with a 32 KiB window).
pub fn inflate(wire: &[u8]) -> Vec<u8> {
    let mut decompress = Decompress::new(false);
    let mut input = [wire, &TAIL].concat();
    let mut out = Vec::with_capacity(wire.len() * 4 + 1024);
    loop {
        let before = decompress.total_in();
        decompress
            .decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .expect("the server's deflate stream inflates");
        input.drain(..(decompress.total_in() - before) as usize);
        if input.is_empty() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(out.capacity());
    }
}
