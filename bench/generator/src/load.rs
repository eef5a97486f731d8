//! The load each connection puts on the server, and what it measures.

use std::{
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_tungstenite::{
    client_async_with_config,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig},
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

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
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

/// A connection for the load engine, once its handshake is done.
pub struct Opened {
    /// The plain TCP stream, with Nagle off.
    pub stream: TcpStream,
    /// The server's `Sec-WebSocket-Extensions` answer (empty for none, or raw TCP).
    pub extensions: String,
    /// Bytes the server sent right behind its 101, before any message of ours: the start of
    /// its first frames, which the engine reads first.
    pub early: Vec<u8>,
}

/// How long a connection and its handshake may take in the tests.
#[cfg(test)]
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection for the load engine within [`CONNECT_TIMEOUT`].
#[cfg(test)]
pub async fn open_stream(target: &Target) -> Result<Opened, String> {
    open_stream_within(target, CONNECT_TIMEOUT).await
}

/// Opens a connection: TCP, then for a WebSocket server the handshake, all within `limit` (a
/// server that accepts and never answers once hung the bench). With `compress`, a server that
/// does not agree to permessage-deflate is an error.
pub async fn open_stream_within(target: &Target, limit: Duration) -> Result<Opened, String> {
    match tokio::time::timeout(limit, open(target)).await {
        Ok(opened) => opened,
        Err(_) => Err(format!(
            "connect: no handshake within {} (--connect-timeout)",
            humantime::format_duration(limit)
        )),
    }
}

async fn open(target: &Target) -> Result<Opened, String> {
    let (stream, extensions, early) = match target {
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
            let uri = request.uri();
            if uri.scheme_str() != Some("ws") {
                return Err("the load engine speaks ws:// only, not wss://".into());
            }
            let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
            let addr = format!("{host}:{}", uri.port_u16().unwrap_or(80));
            let tcp = TcpStream::connect(&addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let (socket, response) =
                client_async_with_config(request, HeadOnly::new(tcp), Some(client_config()))
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
            let extensions = response
                .headers()
                .get("sec-websocket-extensions")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if *compress && !extensions.contains("permessage-deflate") {
                return Err("the server did not agree to permessage-deflate (--compress)".into());
            }
            let (stream, early) = socket.into_inner().into_parts();
            (stream, extensions, early)
        }
        Target::RawTcp { addr, .. } => {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            (stream, String::new(), Vec::new())
        }
    };
    stream
        .set_nodelay(true)
        .map_err(|e| format!("connect: {e}"))?;
    Ok(Opened {
        stream,
        extensions,
        early,
    })
}

/// The socket under tungstenite's handshake: it hands tungstenite what it reads only up to the
/// end of the response head (its blank line), so that whatever the server sent behind it stays
/// here ([`HeadOnly::into_parts`]) instead of being lost in tungstenite's buffer when the engine
/// takes the socket over.
struct HeadOnly {
    stream: TcpStream,
    buffered: Vec<u8>,
    at: usize,
    /// The last four bytes handed over, to find "\r\n\r\n" across reads.
    last_four: u32,
    head_done: bool,
}

impl HeadOnly {
    fn new(stream: TcpStream) -> Self {
        HeadOnly {
            stream,
            buffered: Vec::new(),
            at: 0,
            last_four: 0,
            head_done: false,
        }
    }

    /// The socket and the bytes read from it that tungstenite did not take.
    fn into_parts(mut self) -> (TcpStream, Vec<u8>) {
        self.buffered.drain(..self.at);
        (self.stream, self.buffered)
    }
}

impl AsyncRead for HeadOnly {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at == this.buffered.len() {
            this.buffered.clear();
            this.at = 0;
            let mut chunk = [0u8; 4096];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.stream).poll_read(cx, &mut chunk_buf))?;
            if chunk_buf.filled().is_empty() {
                return Poll::Ready(Ok(())); // the end of the stream
            }
            this.buffered.extend_from_slice(chunk_buf.filled());
        }
        let available = &this.buffered[this.at..];
        let mut n = available.len().min(buf.remaining());
        if !this.head_done {
            for (i, &byte) in available[..n].iter().enumerate() {
                this.last_four = (this.last_four << 8) | u32::from(byte);
                if this.last_four == u32::from_be_bytes(*b"\r\n\r\n") {
                    n = i + 1;
                    this.head_done = true;
                    break;
                }
            }
        }
        buf.put_slice(&available[..n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for HeadOnly {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, bytes)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// tungstenite zero-fills its whole read buffer (128 KiB by default) before every read: an
/// eighth of the generator's CPU time in ping-pong, where each read brings back 34 bytes. A
/// buffer of 8 KiB still takes a flood's echoes by the hundred per read.
/// The handshake's response is bounded by tungstenite (its head parser's limits); messages
/// never go through tungstenite here.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}
