//! Command-line flags, checked into [`Settings`].

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use url::Url;

use crate::error::UsageError;

/// WebSocket command-line tester. By default it does what gorilla/websocket's example client
/// does: sends the current time every second and prints each echo.
#[derive(Debug, Parser)]
#[command(
    name = "client",
    version,
    after_help = "Modes:\n  \
        client                                  ticker: the time every --interval, echoes printed\n  \
        client --count 3 --interval 200ms       three ticks, wait for their echoes, close, exit\n  \
        echo hello | client                     piped: each stdin line is a message; waits for the\n  \
        \u{20}                                       echoes, closes, exits 0\n  \
        client --binary < file.bin              piped, binary: all of stdin as one binary message\n  \
        printf '00ff\\n' | client --hex          piped, one binary message per line of hex\n  \
        client -i                               interactive: type lines; /ping, /binary <hex>,\n  \
        \u{20}                                       /close [code] [reason], /quit\n\n\
        Connection:\n  \
        client --url wss://echo.example.org/ws --ca my-ca.pem\n  \
        client --url wss://localhost:8443/echo --insecure     (self-signed test servers)\n  \
        client -H 'Authorization: Bearer x' --subprotocol chat --origin http://localhost:8080\n  \
        client --compress --json                  offer permessage-deflate, show wire sizes\n  \
        client --reconnect --reconnect-limit 10   retry with backoff when the connection drops\n\n\
        Output: --timestamps, --quiet (only what arrives), --json (one object per event),\n\
        --raw (received text as it came; by default control characters show as \\x1b, \\n, ...).\n\n\
        Exit status: 0 normal end (Ctrl-C, end of input, --count reached, server closed with 1000),\n\
        1 could not connect, 2 bad arguments or input, 3 connection lost without a close (or\n\
        --timeout passed), 4 the server broke the protocol (malformed frames, over the limits,\n\
        invalid UTF-8), 5 the server closed with a code other than 1000."
)]
pub struct Args {
    /// Server address, HOST:PORT; the client connects to ws://HOST:PORT/echo.
    #[arg(
        long,
        default_value = "localhost:8080",
        value_name = "HOST:PORT",
        conflicts_with = "url"
    )]
    pub addr: String,

    /// Full WebSocket URL (ws:// or wss://), instead of --addr.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Interactive: read lines from the terminal with editing and history.
    #[arg(short, long)]
    pub interactive: bool,

    /// Ticker mode: time between messages.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Duration,

    /// Ticker mode: stop after this many messages (and their echoes).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Send binary messages: piped stdin goes as one message (unless --hex/--base64).
    #[arg(long)]
    pub binary: bool,

    /// Input lines are hex; each is sent as one binary message.
    #[arg(long, conflicts_with = "base64")]
    pub hex: bool,

    /// Input lines are base64; each is sent as one binary message.
    #[arg(long)]
    pub base64: bool,

    /// Offer this subprotocol (Sec-WebSocket-Protocol); repeatable.
    #[arg(long = "subprotocol", value_name = "NAME")]
    pub subprotocols: Vec<String>,

    /// Extra handshake header, "Name: value"; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = ws_dial::header::parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Origin header to send, as a browser page from that origin would.
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,

    /// Offer permessage-deflate (RFC 7692), optionally with parameters separated by `;` (e.g.
    /// "server_no_context_takeover; server_max_window_bits=10"); prints what the server agreed,
    /// and with --json each message's wire size beside its size.
    #[arg(long, value_name = "PARAMS", num_args = 0..=1,
          default_missing_value = crate::compression::DEFAULT_OFFER_PARAMS)]
    pub compress: Option<String>,

    /// Ping the server this often and print each pong's round-trip time.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ping_interval: Option<Duration>,

    /// Close code sent when the client closes (Ctrl-C, end of input, --count).
    #[arg(long, default_value_t = 1000, value_name = "CODE", value_parser = parse_close_code)]
    pub close_code: u16,

    /// Close reason sent with the close code (at most 123 bytes).
    #[arg(long, default_value = "", value_name = "TEXT", value_parser = parse_close_reason)]
    pub close_reason: String,

    /// While messages wait for their echo, the longest wait for anything from the server, and
    /// with --ping-interval the longest a ping may wait for its pong; past it the client exits
    /// with status 3 [default: 30s when stdin is piped, none otherwise].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Give up connecting after this long.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Reconnect with exponential backoff when the connection fails or drops.
    #[arg(long)]
    pub reconnect: bool,

    /// With --reconnect: attempts in a row before giving up.
    #[arg(long, default_value_t = 5, value_name = "N", requires = "reconnect")]
    pub reconnect_limit: u32,

    /// wss://: also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// wss://: accept any server certificate. Only for test servers.
    #[arg(long)]
    pub insecure: bool,

    /// Prefix every line with the time.
    #[arg(long)]
    pub timestamps: bool,

    /// Print only what arrives (no "connecting to", no notices).
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,

    /// One JSON object per event on stdout: time, event, type, size, data, RTT.
    #[arg(long)]
    pub json: bool,

    /// Print received text messages exactly as they came. By default control characters a
    /// server sends are shown visibly (\n, \r, \x1b, \u{202e}), so that it cannot drive your
    /// terminal (set the clipboard, retitle or clear it, overwrite a line); close reasons,
    /// refusal bodies and headers are always shown that way.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,

    /// Print the opening handshake as sent and as answered, like curl -v: the request line and
    /// headers (`> `), then the status line and headers (`< `), a refusal's too. What the server
    /// sent is shown with its control characters visible. With --json, as request_head and
    /// response_head events.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be longer than zero".into()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!(
            "`{text}` is not a duration like 500ms, 1s or 2m ({error})"
        )),
    }
}

/// Codes a client may send: 1000, 3000–4999 (RFC 6455 §7.4.2; 1001–1015 are the endpoints').
fn parse_close_code(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(code @ (1000 | 3000..=4999)) => Ok(code),
        Ok(code) => Err(format!("{code} cannot be sent; use 1000 or 3000-4999")),
        Err(_) => Err(format!("`{text}` is not a close code")),
    }
}

fn parse_close_reason(text: &str) -> Result<String, String> {
    if text.len() > 123 {
        return Err(format!("{} bytes; a close reason fits 123", text.len()));
    }
    Ok(text.to_owned())
}

impl Args {
    /// The URL to connect to, checked: ws:// or wss:// with a host.
    pub fn url(&self) -> Result<Url, UsageError> {
        let text = match &self.url {
            Some(url) => url.clone(),
            None => format!("ws://{}/echo", self.addr),
        };
        let url = match Url::parse(&text) {
            Ok(url) => url,
            Err(why) => return Err(UsageError::BadUrl { text, why }),
        };
        if !matches!(url.scheme(), "ws" | "wss") {
            let scheme = url.scheme().to_owned();
            return Err(UsageError::WrongScheme { text, scheme });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UsageError::NoHost { text });
        }
        Ok(url)
    }
}

/// Public for the interactive `/close` command.
pub fn close_code(text: &str) -> Result<u16, String> {
    parse_close_code(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("client").chain(args.iter().copied()))
            .map_err(|error| error.to_string())
    }

    fn url_of(args: &[&str]) -> Result<String, String> {
        parse(args)?
            .url()
            .map(String::from)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn defaults_to_the_local_backend_and_the_originals_ticker() {
        assert_eq!(url_of(&[]).as_deref(), Ok("ws://localhost:8080/echo"));
        let args = parse(&[]).expect("defaults");
        assert_eq!(args.interval, Duration::from_secs(1));
        assert_eq!(
            (args.count, args.close_code, args.interactive),
            (None, 1000, false)
        );
    }

    #[test]
    fn addr_and_url() {
        assert_eq!(
            url_of(&["--addr", "127.0.0.1:9000"]).as_deref(),
            Ok("ws://127.0.0.1:9000/echo")
        );
        assert_eq!(
            url_of(&["--url", "wss://example.org/ws?x=1"]).as_deref(),
            Ok("wss://example.org/ws?x=1")
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        assert!(url_of(&["--url", "http://example.org/"])
            .unwrap_err()
            .contains("scheme must be ws://"));
        assert!(url_of(&["--url", "no scheme"])
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(
            url_of(&["--addr", "x:1", "--url", "ws://y/"]).is_err(),
            "--addr and --url conflict"
        );
        assert!(parse(&["-H", "no colon"])
            .unwrap_err()
            .contains("Name: value"));
        assert!(parse(&["--close-code", "1005"])
            .unwrap_err()
            .contains("cannot be sent"));
        assert!(parse(&["--close-reason", &"x".repeat(124)])
            .unwrap_err()
            .contains("123"));
        assert!(parse(&["--interval", "soon"])
            .unwrap_err()
            .contains("duration"));
        assert!(parse(&["--hex", "--base64"]).is_err());
        assert!(parse(&["--reconnect-limit", "3"])
            .unwrap_err()
            .contains("--reconnect"));
    }

    #[test]
    fn headers_parse_into_name_and_value() {
        let args =
            parse(&["-H", "X-Test: a b", "--header", "Authorization:Bearer t"]).expect("parses");
        assert_eq!(args.headers[0].0.as_str(), "x-test");
        assert_eq!(args.headers[0].1, "a b");
        assert_eq!(args.headers[1].1, "Bearer t");
    }
}
