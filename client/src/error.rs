//! What can go wrong, as types: the URL and flags ([`UsageError`]), opening a connection
//! ([`ConnectError`]) and losing one ([`Lost`]). They are formatted only where they are printed (`Display`), and what the server
//! supplied in them (a refusal's body) is cut here and made visible by the printer.

use std::{fmt, time::Duration};

use tokio_tungstenite::tungstenite::{self, error::ProtocolError, http::StatusCode};
use url::Url;

use crate::head::Head;

/// Longest part of a refusal's body shown, in characters: a server chooses it.
const MAX_BODY_CHARS: usize = 500;

/// What is wrong with the URL or a flag that clap's own checks cannot see (exit 2).
#[derive(Debug)]
pub enum UsageError {
    /// The URL does not parse.
    BadUrl {
        text: String,
        why: url::ParseError,
    },
    /// The URL's scheme is not ws or wss.
    WrongScheme {
        text: String,
        scheme: String,
    },
    NoHost {
        text: String,
    },
    /// A `--subprotocol` cannot be a header value.
    Subprotocols,
    /// `--origin` cannot be a header value.
    Origin(String),
    /// `--compress PARAMS`: a parameter that permessage-deflate does not have.
    CompressParameter(String),
    /// `--compress PARAMS`: a parameter given twice.
    CompressTwice(String),
    /// `--compress PARAMS` cannot be a header value.
    CompressText,
    /// The TLS setup from `--ca` / `--insecure` failed.
    Tls(ws_dial::tls::TlsSetupError),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::BadUrl { text, why } => write!(f, "`{text}` is not a valid URL: {why}"),
            UsageError::WrongScheme { text, scheme } => write!(
                f,
                "`{text}`: the scheme must be ws:// or wss://, not {scheme}:// (try --url ws://HOST:PORT/PATH)"
            ),
            UsageError::NoHost { text } => write!(f, "`{text}` has no host"),
            UsageError::Subprotocols => f.write_str("--subprotocol names must be plain text"),
            UsageError::Origin(origin) => {
                write!(f, "--origin `{origin}` is not a valid header value")
            }
            UsageError::CompressParameter(param) => write!(
                f,
                "--compress: `{param}` is not a permessage-deflate parameter; use \
                 server_no_context_takeover, client_no_context_takeover, \
                 server_max_window_bits=8..15 or client_max_window_bits[=8..15], separated by `;`"
            ),
            UsageError::CompressTwice(name) => write!(f, "--compress: `{name}` is given twice"),
            UsageError::CompressText => f.write_str("--compress parameters must be plain text"),
            UsageError::Tls(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for UsageError {}

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// Nothing came back within `--connect-timeout`.
    Timeout { url: Url, after: Duration },
    /// The server answered the upgrade with another status.
    Refused {
        url: Url,
        status: StatusCode,
        /// The refusal's head, for `-v`.
        head: Head,
        body: String,
    },
    /// Anything else on the way: DNS, TCP, TLS, the handshake.
    Failed { url: Url, why: Failure },
}

/// What failed while connecting.
#[derive(Debug)]
pub enum Failure {
    /// The request could not be made from the URL and flags.
    Request(String),
    Io(std::io::Error),
    Tls(String),
    /// The server picked none of the subprotocols offered.
    NoSubprotocol(String),
    /// The server broke the protocol in its answer (see [`Violation`] for our own checks).
    Handshake(tungstenite::Error),
}

const TLS_HINT: &str = " (for a self-signed or private CA certificate use --ca FILE; \
                        for a throwaway test server, --insecure)";

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Timeout { url, after } => write!(
                f,
                "could not connect to {url}: no answer within {after:?} (--connect-timeout)"
            ),
            ConnectError::Refused {
                url, status, body, ..
            } => {
                write!(
                    f,
                    "could not connect to {url}: the server refused the upgrade with HTTP {status}"
                )?;
                let body = body.trim();
                if !body.is_empty() {
                    let shown: String = body.chars().take(MAX_BODY_CHARS).collect();
                    let cut = if shown.len() < body.len() { "…" } else { "" };
                    write!(f, ": {shown}{cut}")?;
                }
                Ok(())
            }
            ConnectError::Failed { url, why } => write!(f, "could not connect to {url}: {why}"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Request(why) => f.write_str(why),
            Failure::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                write!(
                    f,
                    "{io}. Is the echo server running? (cargo run -p backend)"
                )
            }
            Failure::Io(io) if io.to_string().contains("certificate") => {
                write!(f, "TLS failed: {io}{TLS_HINT}")
            }
            Failure::Io(io) => write!(f, "{io}"),
            Failure::Tls(why) => write!(f, "TLS failed: {why}{TLS_HINT}"),
            Failure::NoSubprotocol(error) => write!(
                f,
                "{error}: the server accepted none of the --subprotocol values offered"
            ),
            Failure::Handshake(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    /// The error tungstenite gave for a handshake with `url`.
    pub fn from_handshake(url: &Url, error: tungstenite::Error) -> ConnectError {
        let why = match error {
            tungstenite::Error::Http(response) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return ConnectError::Refused {
                    url: url.clone(),
                    status: response.status(),
                    head: Head::of_response(&response),
                    body,
                };
            }
            tungstenite::Error::Io(io) => Failure::Io(io),
            tungstenite::Error::Tls(tls) => Failure::Tls(tls.to_string()),
            error
            @ tungstenite::Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
                Failure::NoSubprotocol(error.to_string())
            }
            other => Failure::Handshake(other),
        };
        ConnectError::Failed {
            url: url.clone(),
            why,
        }
    }
}

/// How a connection was lost (exit 3).
#[derive(Debug)]
pub enum Lost {
    /// The TCP connection ended (or was reset) without a close frame.
    NoCloseFrame,
    /// A send failed: the server is gone.
    SendFailed(tungstenite::Error),
    /// Anything else tungstenite reported while reading.
    Read(tungstenite::Error),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::NoCloseFrame => f.write_str("the connection ended without a close frame"),
            Lost::SendFailed(error) => write!(f, "could not send: {error}"),
            Lost::Read(error) => write!(f, "{error}"),
        }
    }
}
