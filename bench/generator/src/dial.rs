//! Opening a connection for the load: TCP, TLS for wss://, the WebSocket handshake with the
//! user's headers, subprotocol and origin, all under one timeout; each step timed, and a
//! failure told by its kind (refused, timeout, an HTTP status, TLS) so that a run can count
//! them instead of stopping at the first.

use std::{
    fmt,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::{
    client_async_with_config,
    tungstenite::{
        self,
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
        protocol::WebSocketConfig,
    },
};

use crate::link::{Link, TlsLink};

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

/// Everything needed to open a connection, prepared once from the flags.
#[derive(Clone)]
pub struct Dialer {
    pub target: Target,
    /// Extra handshake headers (`-H`, `--subprotocol`, `--origin`), in the order given.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The TLS setup, for wss:// only.
    pub tls: Option<Arc<ClientConfig>>,
    /// The whole opening (TCP, TLS, handshake) must take less than this.
    pub timeout: Duration,
}

/// How long each step of an opening took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub connect: Duration,
    /// wss:// only.
    pub tls: Option<Duration>,
    /// The WebSocket handshake (request to 101); not for raw TCP.
    pub upgrade: Option<Duration>,
}

/// A connection for the load engine, once its handshake is done.
pub struct Opened {
    /// The socket (Nagle off), plain or under TLS.
    pub link: Link,
    /// The server's `Sec-WebSocket-Extensions` answer (empty for none, or raw TCP).
    pub extensions: String,
    /// Bytes the server sent right behind its 101, before any message of ours: the start of
    /// its first frames, which the engine reads first.
    pub early: Vec<u8>,
    pub timing: Timing,
}

/// What kind of failure an opening met: counted by kind in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// Nothing listens there (ECONNREFUSED).
    Refused,
    /// `--connect-timeout` passed before the handshake ended.
    Timeout,
    /// The server answered the upgrade with this HTTP status instead of 101.
    Status(u16),
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Anything else: a reset, a closed connection, a malformed answer, a subprotocol or an
    /// extension the server would not agree to.
    Other,
}

impl FailureKind {
    /// The kind's name in the report and the JSON: refused, timeout, http_503, tls, other.
    pub fn label(self) -> String {
        match self {
            FailureKind::Refused => "refused".into(),
            FailureKind::Timeout => "timeout".into(),
            FailureKind::Status(code) => format!("http_{code}"),
            FailureKind::Tls => "tls".into(),
            FailureKind::Other => "other".into(),
        }
    }
}

/// An opening that failed, with its kind and what happened.
#[derive(Debug, Clone)]
pub struct ConnectError {
    pub kind: FailureKind,
    pub detail: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connect: {}", self.detail)
    }
}

fn failed(kind: FailureKind, detail: impl fmt::Display) -> ConnectError {
    ConnectError {
        kind,
        detail: detail.to_string(),
    }
}

fn io_failed(error: std::io::Error) -> ConnectError {
    let kind = if error.kind() == std::io::ErrorKind::ConnectionRefused {
        FailureKind::Refused
    } else {
        FailureKind::Other
    };
    failed(kind, error)
}

/// Opens a plain connection within 10 s, for the tests.
#[cfg(test)]
pub async fn open_stream(target: &Target) -> Result<Opened, ConnectError> {
    Dialer::plain(target.clone(), Duration::from_secs(10))
        .open()
        .await
}

impl Dialer {
    /// A dialer with no extra headers and no TLS setup (ws:// and raw TCP): the tests' and
    /// the plain runs'.
    pub fn plain(target: Target, timeout: Duration) -> Dialer {
        Dialer {
            target,
            headers: Vec::new(),
            tls: None,
            timeout,
        }
    }

    /// Opens a connection within the timeout (a server that accepts and never answers once
    /// hung the bench). With `compress`, a server that does not agree to permessage-deflate is
    /// an error.
    pub async fn open(&self) -> Result<Opened, ConnectError> {
        match tokio::time::timeout(self.timeout, self.open_untimed()).await {
            Ok(opened) => opened,
            Err(_) => Err(failed(
                FailureKind::Timeout,
                format_args!(
                    "no handshake within {} (--connect-timeout)",
                    humantime::format_duration(self.timeout)
                ),
            )),
        }
    }

    async fn open_untimed(&self) -> Result<Opened, ConnectError> {
        let mut timing = Timing::default();
        let (url, compress) = match &self.target {
            Target::RawTcp { addr } => {
                let began = Instant::now();
                let stream = TcpStream::connect(addr).await.map_err(io_failed)?;
                timing.connect = began.elapsed();
                stream.set_nodelay(true).map_err(io_failed)?;
                return Ok(Opened {
                    link: Link::Plain(stream),
                    extensions: String::new(),
                    early: Vec::new(),
                    timing,
                });
            }
            Target::WebSocket { url, compress } => (url, *compress),
        };
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| failed(FailureKind::Other, e))?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        if compress {
            request.headers_mut().insert(
                "sec-websocket-extensions",
                HeaderValue::from_static("permessage-deflate"),
            );
        }
        let uri = request.uri();
        let secure = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            other => {
                return Err(failed(
                    FailureKind::Other,
                    format_args!("the scheme must be ws:// or wss://, not {other:?}"),
                ))
            }
        };
        let (addr, host) = address_of(uri, secure);
        let began = Instant::now();
        let tcp = TcpStream::connect(&addr).await.map_err(io_failed)?;
        tcp.set_nodelay(true).map_err(io_failed)?;
        timing.connect = began.elapsed();

        let (link, extensions, early) = if secure {
            let Some(config) = &self.tls else {
                return Err(failed(FailureKind::Tls, "no TLS setup for a wss:// URL"));
            };
            let name = ServerName::try_from(host.clone())
                .map_err(|e| failed(FailureKind::Tls, format_args!("{host}: {e}")))?;
            let began = Instant::now();
            let tls = TlsConnector::from(Arc::clone(config))
                .connect(name, tcp)
                .await
                .map_err(|e| failed(FailureKind::Tls, format_args!("TLS: {e}")))?;
            timing.tls = Some(began.elapsed());
            let began = Instant::now();
            let (stream, extensions, early) = upgrade(request, tls, compress).await?;
            timing.upgrade = Some(began.elapsed());
            let (tcp, connection) = stream.into_inner();
            (
                Link::Tls(Box::new(TlsLink::new(tcp, connection))),
                extensions,
                early,
            )
        } else {
            let began = Instant::now();
            let (stream, extensions, early) = upgrade(request, tcp, compress).await?;
            timing.upgrade = Some(began.elapsed());
            (Link::Plain(stream), extensions, early)
        };
        Ok(Opened {
            link,
            extensions,
            early,
            timing,
        })
    }
}

/// Where to connect (`HOST:PORT`, an IPv6 address in brackets) and the host's name for TLS
/// (no brackets); the port is the scheme's when the URL has none.
fn address_of(uri: &tungstenite::http::Uri, secure: bool) -> (String, String) {
    let raw = uri.host().unwrap_or_default();
    let host = raw.trim_matches(['[', ']']).to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    (addr, host)
}

/// The WebSocket handshake on `stream`: the stream back, the extensions agreed, and the bytes
/// the server sent behind its 101.
async fn upgrade<S>(
    request: tungstenite::handshake::client::Request,
    stream: S,
    compress: bool,
) -> Result<(S, String, Vec<u8>), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (socket, response) =
        client_async_with_config(request, HeadOnly::new(stream), Some(client_config()))
            .await
            .map_err(|error| match error {
                tungstenite::Error::Http(response) => failed(
                    FailureKind::Status(response.status().as_u16()),
                    format_args!("the server answered {} instead of 101", response.status()),
                ),
                tungstenite::Error::Io(error) => io_failed(error),
                other => failed(FailureKind::Other, other),
            })?;
    let extensions = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if compress && !extensions.contains("permessage-deflate") {
        return Err(failed(
            FailureKind::Other,
            "the server did not agree to permessage-deflate (--compress)",
        ));
    }
    let (stream, early) = socket.into_inner().into_parts();
    Ok((stream, extensions, early))
}

/// The socket under tungstenite's handshake: it hands tungstenite what it reads only up to the
/// end of the response head (its blank line), so that whatever the server sent behind it stays
/// here ([`HeadOnly::into_parts`]) instead of being lost in tungstenite's buffer when the engine
/// takes the socket over.
struct HeadOnly<S> {
    stream: S,
    buffered: Vec<u8>,
    at: usize,
    /// The last four bytes handed over, to find "\r\n\r\n" across reads.
    last_four: u32,
    head_done: bool,
}

impl<S> HeadOnly<S> {
    fn new(stream: S) -> Self {
        HeadOnly {
            stream,
            buffered: Vec::new(),
            at: 0,
            last_four: 0,
            head_done: false,
        }
    }

    /// The socket and the bytes read from it that tungstenite did not take.
    fn into_parts(mut self) -> (S, Vec<u8>) {
        self.buffered.drain(..self.at);
        (self.stream, self.buffered)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadOnly<S> {
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

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadOnly<S> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_ipv6_brackets_and_default_ports() {
        let of = |url: &str, secure| {
            let uri: tungstenite::http::Uri = url.parse().expect("uri");
            address_of(&uri, secure)
        };
        assert_eq!(
            of("ws://[::1]:9001/echo", false),
            ("[::1]:9001".into(), "::1".into())
        );
        assert_eq!(
            of("wss://example.org/ws", true),
            ("example.org:443".into(), "example.org".into())
        );
        assert_eq!(
            of("ws://127.0.0.1/x", false),
            ("127.0.0.1:80".into(), "127.0.0.1".into())
        );
    }

    #[tokio::test]
    async fn an_ipv6_loopback_url_connects() {
        let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
            return; // no IPv6 on this machine: nothing to show
        };
        let port = listener.local_addr().expect("addr").port();
        let dialer = Dialer::plain(
            Target::WebSocket {
                url: format!("ws://[::1]:{port}/echo"),
                compress: false,
            },
            Duration::from_secs(2),
        );
        // Accepted (the TCP connect reached it), then closed without an answer.
        let (accepted, heard) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if listener.accept().await.is_ok() {
                let _ = accepted.send(());
            }
        });
        let error = dialer.open().await.err().expect("no 101");
        let reached = tokio::time::timeout(Duration::from_secs(2), heard).await;
        assert!(matches!(reached, Ok(Ok(()))), "never reached: {error}");
    }
}
