//! The load each connection puts on the server, and what it measures.

use std::{sync::Arc, time::Duration};

use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig},
    MaybeTlsStream,
};

/// Where the load goes.
#[derive(Debug, Clone)]
pub enum Target {
    WebSocket {
        url: String,
        /// Offer permessage-deflate (`--compress`).
        compress: bool,
    },
    /// A raw TCP echo: messages are `size` bytes with no framing, so a read of `size` bytes is
    /// one echo.
    RawTcp { addr: String },
}

/// After the writers stop, how long readers wait for the last echoes before counting them lost.
pub const DRAIN: Duration = Duration::from_secs(5);

/// tokio's timer wheel has 1 ms ticks, so a rate-mode send fires up to about 1 ms after it was
/// due; a send later than this is counted in `late_sends`, the generator's own lateness.
pub const TIMER_SLACK: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Each connection writes as fast as it can while reading the echoes, with at most
    /// --window messages in flight.
    Flood,
    /// One message in flight per connection.
    PingPong,
    /// A fixed total rate (--rate msgs/s) spread over the connections.
    Rate,
    /// Open the connections and hold them; check a sample still echoes.
    Idle,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub size: usize,
    pub text: bool,
    pub duration: Duration,
    /// Rate mode: messages per second per connection.
    pub per_connection_rate: f64,
    /// Flood mode: messages sent and not yet echoed, at most, per connection.
    pub window: u64,
    /// `--compress`: the messages sent, precompressed, instead of self-describing ones.
    pub corpus: Option<Arc<crate::compressed::Corpus>>,
}

/// What one connection (or all, merged) saw.
pub struct Tally {
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Round trips in microseconds.
    pub latency: Histogram<u64>,
    /// Rate mode: messages the generator itself sent more than [`TIMER_SLACK`] after they were
    /// due (its thread or the machine stalled), not held up by the server. Their latency counts
    /// from the actual send; a message the server held up (its socket full) counts from when it
    /// was due, so a server's queue is never hidden.
    pub late_sends: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            sent: 0,
            received: 0,
            errors: 0,
            first_error: None,
            // 1 µs to 100 s, 3 significant figures.
            latency: Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds"),
            late_sends: 0,
        }
    }

    pub fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    pub fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.received += other.received;
        self.errors += other.errors;
        self.late_sends += other.late_sends;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        let _ = self.latency.add(other.latency);
    }

    /// An echo of a message sent at `sent_nanos` arrived at `now` (both since the start).
    pub fn record(&mut self, now: u64, sent_nanos: u64) {
        let _ = self
            .latency
            .record((now.saturating_sub(sent_nanos) / 1000).max(1));
        self.received += 1;
    }
}

/// A connection for the load engine: the plain TCP stream (after the WebSocket handshake, for
/// a WebSocket server), with Nagle off, and the server's `Sec-WebSocket-Extensions` answer.
/// With `compress`, a server that does not agree to permessage-deflate is an error.
pub async fn open_stream(target: &Target) -> Result<(TcpStream, String), String> {
    let mut extensions = String::new();
    let stream = match target {
        Target::WebSocket { url, compress } => {
            let mut request = url
                .as_str()
                .into_client_request()
                .map_err(|e| format!("connect: {e}"))?;
            if *compress {
                request.headers_mut().insert(
                    "sec-websocket-extensions",
                    HeaderValue::from_static("permessage-deflate"),
                );
            }
            let (socket, response) =
                connect_async_with_config(request, Some(client_config()), DISABLE_NAGLE)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
            extensions = response
                .headers()
                .get("sec-websocket-extensions")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if *compress && !extensions.contains("permessage-deflate") {
                return Err("the server did not agree to permessage-deflate (--compress)".into());
            }
            // Nothing of the server's is buffered yet: it says nothing before our first frame.
            match socket.into_inner() {
                MaybeTlsStream::Plain(stream) => stream,
                _ => return Err("the load engine speaks ws:// only, not wss://".into()),
            }
        }
        Target::RawTcp { addr, .. } => TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?,
    };
    stream
        .set_nodelay(true)
        .map_err(|e| format!("connect: {e}"))?;
    Ok((stream, extensions))
}

/// Every message goes out at once, as over raw TCP (and as the servers answer): with Nagle's
/// algorithm a small write waits for the ACK of the one before whenever one is in flight.
const DISABLE_NAGLE: bool = true;

/// tungstenite zero-fills its whole read buffer (128 KiB by default) before every read: an
/// eighth of the generator's CPU time in ping-pong, where each read brings back 34 bytes. A
/// buffer of 8 KiB still takes a flood's echoes by the hundred per read.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}
