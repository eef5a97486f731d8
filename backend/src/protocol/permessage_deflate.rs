//! permessage-deflate (RFC 7692): the handshake, and the compressor and inflater one connection
//! uses once it is agreed.
//!
//! The server agrees by default and without context takeover: each message is compressed and
//! inflated on its own, so a connection between messages keeps no compressor state at all
//! (with takeover, every connection would keep about 300 KiB for its life). The inflater stops
//! at the message limit: a small message that would inflate past it is refused, never inflated
//! whole.

mod negotiation;

pub use ws_deflate::{Deflater, InflateError, Inflater, FAST};

pub use negotiation::{negotiate, Agreed};
use prometheus_client::metrics::counter::Counter;
pub use ws_deflate::{EXTENSION, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// Messages smaller than this go out uncompressed: below it deflate's few bytes of framing
/// save little or nothing, and cost a compressor's setup.
pub const DEFAULT_THRESHOLD_BYTES: usize = 128;

/// What the server agrees to, from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflatePolicy {
    /// Whether permessage-deflate is agreed at all.
    pub enabled: bool,
    /// Largest window either side is asked to use, 2^N bytes (8-15).
    pub max_window_bits: u8,
    /// Keep compression state from message to message (better ratio, memory held while idle).
    pub context_takeover: bool,
    /// Echoes smaller than this many bytes are sent uncompressed.
    pub threshold_bytes: usize,
}

impl Default for DeflatePolicy {
    fn default() -> Self {
        DeflatePolicy {
            enabled: true,
            max_window_bits: MAX_WINDOW_BITS,
            context_takeover: false,
            threshold_bytes: DEFAULT_THRESHOLD_BYTES,
        }
    }
}

/// What one connection needs once permessage-deflate is agreed.
#[derive(Debug, Clone)]
pub struct Negotiated {
    pub agreed: Agreed,
    pub threshold_bytes: usize,
    pub counters: DeflateCounters,
}

impl Agreed {
    /// Our compressor, as agreed.
    pub fn deflater(&self) -> Deflater {
        Deflater::new(
            self.server_window_bits,
            self.server_no_context_takeover,
            FAST,
        )
    }

    /// Our inflater for what the client sends, as agreed.
    pub fn inflater(&self) -> Inflater {
        Inflater::new(self.client_window_bits, self.client_no_context_takeover)
    }
}

/// permessage-deflate's effect: compressed messages' bytes on the wire and as payload, each way.
#[derive(Debug, Clone, Default)]
pub struct DeflateCounters {
    /// Compressed messages in: bytes as they came over the wire.
    pub in_wire: Counter,
    /// The same messages inflated.
    pub in_payload: Counter,
    /// Echoes sent compressed: their payload bytes.
    pub out_payload: Counter,
    /// The same echoes as they went out compressed.
    pub out_wire: Counter,
}
