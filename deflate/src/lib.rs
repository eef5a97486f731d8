//! permessage-deflate's two halves for one connection (RFC 7692 §7.2): a compressor and an
//! inflater that stops at a size limit. flate2 over zlib-rs with raw deflate streams; each message
//! ends in a sync flush whose 4-byte tail is left off the wire.
//!
//! Both create their zlib state when a message needs it and drop it on [`Deflater::release`] /
//! [`Inflater::release`] when the agreement lets them start every message afresh, so an idle
//! connection holds nothing. Their sizes are zlib's documented figures, for memory accounting.
//!
//! Used by the echo server, the command-line client (`--compress`) and the load generator.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The end of a sync flush: cut from every compressed message on the wire and put back before
/// inflating (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output grows by at least this much when the inflater needs room.
const MIN_GROWTH_BYTES: usize = 4096;

/// The extension's name in the handshake (RFC 7692 §5).
pub const EXTENSION: &str = "permessage-deflate";

/// Largest LZ77 window, 2^15 = 32 KiB: what a side uses when nothing smaller was agreed.
pub const MAX_WINDOW_BITS: u8 = 15;

/// Smallest window RFC 7692 allows, 2^8 = 256 bytes.
pub const MIN_WINDOW_BITS: u8 = 8;

/// A `*_max_window_bits` value: 8 to 15, written as RFC 7692 §7.1.2 allows it (digits only, no
/// leading zero).
pub fn parse_window_bits(text: &str) -> Option<u8> {
    if text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse()
        .ok()
        .filter(|bits| (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(bits))
}

/// zlib level 1, as gorilla/websocket uses: an echo server's CPU goes further at the fastest
/// level, and JSON-like text still shrinks several times.
pub const FAST: u32 = 1;

/// zlib's memory level (its default): 2^(8+9) bytes of hash chains and pending output.
const MEM_LEVEL_BYTES: usize = 1 << (8 + 9);

/// zlib states kept per thread for connections that start every message afresh. Making one
/// allocates 40-260 KiB, whose first touch costs page faults: measured, that made echoing a
/// 4 KiB message ten times dearer (210 µs of server CPU against 20) when each connection let its
/// state go between messages. A spare is taken instead, already reset; at most this many wait
/// per thread, so what they hold is bounded (about 1.2 MiB per worker thread).
const SPARES_PER_THREAD: usize = 4;

thread_local! {
    static SPARE_COMPRESSORS: RefCell<Vec<(u8, u32, Compress)>> = const { RefCell::new(Vec::new()) };
    static SPARE_INFLATERS: RefCell<Vec<(u8, Decompress)>> = const { RefCell::new(Vec::new()) };
}

/// A spare compressor for this window and level, or a new one.
fn compressor(window_bits: u8, level: u32) -> Compress {
    let spare = SPARE_COMPRESSORS.with(|spares| {
        let mut spares = spares.borrow_mut();
        let at = spares
            .iter()
            .position(|(bits, lvl, _)| (*bits, *lvl) == (window_bits, level))?;
        Some(spares.swap_remove(at).2)
    });
    spare.unwrap_or_else(|| {
        Compress::new_with_window_bits(Compression::new(level), false, window_bits)
    })
}

/// Keeps a reset compressor for the next message on this thread, if there is room.
fn spare_compressor(window_bits: u8, level: u32, state: Compress) {
    SPARE_COMPRESSORS.with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < SPARES_PER_THREAD {
            spares.push((window_bits, level, state));
        }
    });
}

/// A spare inflater for this window, or a new one.
fn inflater(window_bits: u8) -> Decompress {
    let spare = SPARE_INFLATERS.with(|spares| {
        let mut spares = spares.borrow_mut();
        let at = spares.iter().position(|(bits, _)| *bits == window_bits)?;
        Some(spares.swap_remove(at).1)
    });
    spare.unwrap_or_else(|| Decompress::new_with_window_bits(false, window_bits))
}

/// Keeps a reset inflater for the next message on this thread, if there is room.
fn spare_inflater(window_bits: u8, mut state: Decompress) {
    state.reset(false);
    SPARE_INFLATERS.with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < SPARES_PER_THREAD {
            spares.push((window_bits, state));
        }
    });
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates past the message limit; inflating stopped there.
    TooBig,
    /// The bytes are not a deflate stream.
    Corrupt(String),
}

/// Inflates the client's compressed messages, fragment by fragment.
#[derive(Debug)]
pub struct Inflater {
    window_bits: u8,
    /// The client starts every message afresh, so nothing needs to be kept between them.
    no_context_takeover: bool,
    state: Option<Decompress>,
    /// The client ended its stream inside this message (a final deflate block).
    ended: bool,
}

impl Inflater {
    /// For a peer compressing with a window of 2^`window_bits` (8-15) that starts every message
    /// afresh if `no_context_takeover`.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Inflater {
            // flate2 takes 9-15; an inflater with a bigger window reads any smaller one's output.
            window_bits: window_bits.clamp(9, 15),
            no_context_takeover,
            state: None,
            ended: false,
        }
    }

    /// Inflates one fragment of a compressed message onto `out`, failing as soon as `out` would
    /// pass `limit` bytes: `out` never grows beyond `limit + 1`.
    pub fn inflate(
        &mut self,
        compressed: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        if self.ended {
            return match compressed.is_empty() {
                true => Ok(()),
                false => Err(InflateError::Corrupt("data after the final block".into())),
            };
        }
        let window_bits = self.window_bits;
        let state = self.state.get_or_insert_with(|| inflater(window_bits));
        self.ended = inflate_into(state, compressed, out, limit)?;
        Ok(())
    }

    /// The message's last fragment is in: inflates the tail left off the wire, and starts the
    /// next message afresh if the stream ended or the client keeps no context.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let ended = self.ended || self.inflate(&TAIL, out, limit).map(|()| self.ended)?;
        if ended || self.no_context_takeover {
            self.ended = false;
            if let Some(state) = self.state.as_mut() {
                state.reset(false);
            }
        }
        Ok(())
    }

    /// Lets go of the zlib state if the next message does not need it (between messages only):
    /// it waits, reset, for another connection on this thread.
    pub fn release(&mut self) {
        if self.no_context_takeover && !self.ended {
            if let Some(state) = self.state.take() {
                spare_inflater(self.window_bits, state);
            }
        }
    }

    /// Memory the zlib state takes: its window plus about 7 KiB of tables (zlib's zconf.h).
    pub fn held_bytes(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |_| (1 << self.window_bits) + 7 * 1024)
    }
}

/// Runs `state` over `input` with a sync flush; true if the client's stream ended.
fn inflate_into(
    state: &mut Decompress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<bool, InflateError> {
    loop {
        if out.len() > limit {
            return Err(InflateError::TooBig);
        }
        if out.len() == out.capacity() {
            // Doubling, but never past one byte over the limit: that byte is how we know.
            let room = out
                .capacity()
                .max(MIN_GROWTH_BYTES)
                .min(limit + 1 - out.len());
            out.reserve_exact(room);
        }
        let (in_before, out_before) = (state.total_in(), state.total_out());
        let status = state
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|error| InflateError::Corrupt(error.to_string()))?;
        let used = (state.total_in() - in_before) as usize;
        let made = state.total_out() - out_before;
        input = &input[used..];
        if out.len() > limit {
            return Err(InflateError::TooBig);
        }
        if status == Status::StreamEnd {
            return match input.is_empty() {
                true => Ok(true),
                false => Err(InflateError::Corrupt("data after the final block".into())),
            };
        }
        let room_left = out.len() < out.capacity();
        if input.is_empty() && room_left {
            return Ok(false);
        }
        if used == 0 && made == 0 && room_left {
            return Err(InflateError::Corrupt("the deflate stream stopped".into()));
        }
    }
}

/// Compresses the server's echoes.
#[derive(Debug)]
pub struct Deflater {
    window_bits: u8,
    no_context_takeover: bool,
    level: u32,
    state: Option<Compress>,
    scratch: Vec<u8>,
}

impl Deflater {
    /// Compresses with a window of at most 2^`window_bits` (8-15) at zlib `level` (0-9),
    /// starting every message afresh if `no_context_takeover`.
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Self {
        Deflater {
            // zlib cannot make a raw stream with a 256-byte window; with 512 its matches reach
            // at most 512 - 262 = 250 bytes back, which a 256-byte window reads (zlib's own
            // deflateInit2 makes the same substitution).
            window_bits: window_bits.clamp(9, 15),
            no_context_takeover,
            level: level.min(9),
            state: None,
            scratch: Vec::new(),
        }
    }

    /// The message compressed, tail left off, or `None` to send it as it is: when compressing
    /// did not make it smaller and no shared context forces us to send what the compressor saw.
    pub fn compress(&mut self, payload: &[u8]) -> Option<&[u8]> {
        let (window_bits, level) = (self.window_bits, self.level);
        let state = self
            .state
            .get_or_insert_with(|| compressor(window_bits, level));
        self.scratch.clear();
        self.scratch.reserve(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            let before = state.total_in();
            // Compressing into a Vec with room cannot fail: flate2 reports no error for it.
            if state
                .compress_vec(input, &mut self.scratch, FlushCompress::Sync)
                .is_err()
            {
                state.reset();
                return None;
            }
            input = &input[(state.total_in() - before) as usize..];
            if input.is_empty() && self.scratch.len() < self.scratch.capacity() {
                break;
            }
            self.scratch.reserve(self.scratch.capacity().max(64));
        }
        if self.scratch.ends_with(&TAIL) {
            self.scratch.truncate(self.scratch.len() - TAIL.len());
        }
        if self.no_context_takeover {
            state.reset();
            if self.scratch.len() >= payload.len() {
                return None;
            }
        }
        Some(&self.scratch)
    }

    /// Lets go of the zlib state and scratch buffer if the next message does not need them:
    /// the state (reset after every message) waits for another connection on this thread.
    pub fn release(&mut self) {
        if self.no_context_takeover {
            if let Some(state) = self.state.take() {
                spare_compressor(self.window_bits, self.level, state);
            }
        }
        self.scratch = Vec::new();
    }

    /// Memory held: the zlib state by zlib's formula (2^(w+2) + 2^(memLevel+9)), and the scratch
    /// buffer.
    pub fn held_bytes(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |_| (1 << (self.window_bits + 2)) + MEM_LEVEL_BYTES)
            + self.scratch.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compressor and an inflater for the same stream, 32 KiB windows.
    fn pair(context_takeover: bool) -> (Deflater, Inflater) {
        (
            Deflater::new(15, !context_takeover, FAST),
            Inflater::new(15, !context_takeover),
        )
    }

    fn json_like(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("{{\"id\":{i},\"name\":\"user-{i}\",\"active\":true}},"))
            .collect::<String>()
            .into_bytes()
    }

    fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, message: &[u8]) -> usize {
        let wire = deflater.compress(message).expect("compressible").to_vec();
        let mut out = Vec::new();
        // Fed in three fragments, as a client may send it.
        for part in wire.chunks(wire.len() / 3 + 1) {
            inflater.inflate(part, &mut out, 1 << 20).expect("inflates");
        }
        inflater.finish(&mut out, 1 << 20).expect("finishes");
        assert_eq!(out, message);
        wire.len()
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for takeover in [false, true] {
            let (mut deflater, mut inflater) = pair(takeover);
            let message = json_like(200);
            let first = round_trip(&mut deflater, &mut inflater, &message);
            let second = round_trip(&mut deflater, &mut inflater, &message);
            assert!(first * 4 < message.len(), "{first} of {}", message.len());
            if takeover {
                assert!(
                    second * 2 < first,
                    "the second refers to the first: {second}"
                );
            } else {
                assert_eq!(second, first, "each message stands alone");
            }
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit_without_growing_past_it() {
        let (mut deflater, _) = pair(false);
        let bomb = deflater
            .compress(&vec![0; 10 << 20])
            .expect("shrinks")
            .to_vec();
        assert!(bomb.len() * 50 < 10 << 20, "{}", bomb.len());
        let mut inflater = Inflater::new(15, true);
        let mut out = Vec::new();
        let limit = 1 << 20;
        assert_eq!(
            inflater.inflate(&bomb, &mut out, limit),
            Err(InflateError::TooBig)
        );
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());

        // Exactly at the limit is fine.
        let mut inflater = Inflater::new(15, true);
        let at_limit = deflater
            .compress(&vec![0; limit])
            .expect("shrinks")
            .to_vec();
        let mut out = Vec::new();
        inflater
            .inflate(&at_limit, &mut out, limit)
            .expect("at the limit");
        inflater.finish(&mut out, limit).expect("at the limit");
        assert_eq!(out.len(), limit);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let mut inflater = Inflater::new(15, true);
        let mut out = Vec::new();
        let result = inflater
            .inflate(&[0xff; 64], &mut out, 1024)
            .and_then(|()| inflater.finish(&mut out, 1024));
        assert!(
            matches!(result, Err(InflateError::Corrupt(_))),
            "{result:?}"
        );
    }

    #[test]
    fn incompressible_echoes_go_out_as_they_are_unless_context_is_kept() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                // xorshift64: no structure deflate could find.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let mut alone = Deflater::new(15, true, FAST);
        assert!(alone.compress(&noise).is_none());
        let mut kept = Deflater::new(15, false, FAST);
        assert!(kept.compress(&noise).is_some(), "the client must see it");
    }

    #[test]
    fn release_drops_state_only_when_messages_stand_alone() {
        let (mut deflater, mut inflater) = pair(false);
        round_trip(&mut deflater, &mut inflater, &json_like(50));
        assert!(deflater.held_bytes() > 100_000 && inflater.held_bytes() > 30_000);
        deflater.release();
        inflater.release();
        assert_eq!((deflater.held_bytes(), inflater.held_bytes()), (0, 0));

        let (mut deflater, mut inflater) = pair(true);
        round_trip(&mut deflater, &mut inflater, &json_like(50));
        deflater.release();
        inflater.release();
        assert!(deflater.held_bytes() > 0 && inflater.held_bytes() > 0);
        round_trip(&mut deflater, &mut inflater, &json_like(50));
    }

    #[test]
    fn released_states_are_reused_on_the_same_thread_and_still_correct() {
        let (mut deflater, mut inflater) = pair(false);
        round_trip(&mut deflater, &mut inflater, &json_like(80));
        deflater.release();
        inflater.release();
        let spares = || {
            (
                SPARE_COMPRESSORS.with(|s| s.borrow().len()),
                SPARE_INFLATERS.with(|s| s.borrow().len()),
            )
        };
        assert_eq!(spares(), (1, 1));
        // Another connection takes them, and its messages come out right.
        let (mut other, mut other_inflater) = pair(false);
        round_trip(&mut other, &mut other_inflater, &json_like(30));
        assert_eq!(spares(), (0, 0));
        // Never more than the cap wait.
        let mut many: Vec<(Deflater, Inflater)> = (0..10).map(|_| pair(false)).collect();
        for (d, i) in &mut many {
            round_trip(d, i, &json_like(5));
        }
        for (d, i) in &mut many {
            d.release();
            i.release();
        }
        assert_eq!(spares(), (SPARES_PER_THREAD, SPARES_PER_THREAD));
    }

    #[test]
    fn window_bits_are_read_as_the_rfc_writes_them() {
        assert_eq!(parse_window_bits("8"), Some(8));
        assert_eq!(parse_window_bits("15"), Some(15));
        for bad in ["", "7", "16", "010", "+9", "9 ", "x"] {
            assert_eq!(parse_window_bits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_small_window_is_used_when_asked() {
        let mut deflater = Deflater::new(8, true, FAST);
        assert!(deflater.held_bytes() == 0);
        deflater.compress(&json_like(100)).expect("shrinks");
        assert_eq!(
            deflater.held_bytes() - deflater.scratch.capacity(),
            (1 << 11) + MEM_LEVEL_BYTES
        );
    }
}
