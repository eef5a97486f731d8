//! Command-line flags (each also read from an `ECHO_*` environment variable) and the settings
//! they produce. Invalid values stop the server at start-up with a message naming the flag.

use std::{path::PathBuf, time::Duration};

use clap::{Parser, ValueEnum};

use crate::{
    limits::memory_budget::default_budget, limits::memory_budget::MIN_BUDGET_MESSAGES,
    logging::log_rate::DEFAULT_LOG_RATE, protocol::permessage_deflate::DeflatePolicy,
    protocol::permessage_deflate::DEFAULT_THRESHOLD_BYTES,
    protocol::permessage_deflate::MAX_WINDOW_BITS, protocol::permessage_deflate::MIN_WINDOW_BITS,
};

/// Largest single frame accepted on `/echo`. The message decoder refuses a larger one as soon as
/// its header arrives, so this bounds what one connection can make the server buffer.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Largest message (all fragments of it together) accepted on `/echo`; larger ones are
/// answered with close 1009. 16 MiB is what the Autobahn testsuite's biggest cases send.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Open WebSocket connections allowed at once; past it upgrades get 503. Below the usual
/// 20,000 file descriptor limit, leaving room for the listener and static files.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The server pings every connection this often.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);

/// A connection that sends nothing (no message, no pong) for this long is closed with 1001.
/// It must exceed the ping interval: a live client answers every ping, so it is never silent
/// for much longer than one interval.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// An idle plain connection parks (leaves its task: a few hundred bytes instead of about 1.5 KB)
/// after this long without a message from its peer.
pub const DEFAULT_PARK_AFTER: Duration = Duration::from_secs(5);

/// Time allowed for the request head of the opening handshake; a client that connects and sends
/// nothing is dropped after it.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle keep-alive HTTP connection (page loads, `/metrics` scrapes) waits for its
/// next request before the server closes it.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Longest a plain HTTP request may take, from its head to the end of its response. The
/// largest thing served is the page's bundle (about 500 KB): 30 s is 17 KB/s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Plain HTTP connections (page loads, scrapes, handshakes not yet done) allowed at once,
/// unless the file descriptor limit is lower than twice this; see
/// [`Config::http_connection_bound`].
pub const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 1_000;

/// On SIGINT/SIGTERM, how long open connections get to answer the server's close (1001) before
/// the server exits anyway.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `--park-after`: how long a connection is quiet before it parks, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParkAfter(pub Option<Duration>);

/// On or off, for features a flag switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// The built frontend bundle, as trunk leaves it in the workspace: `<workspace>/dist`.
fn default_dist() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../dist"))
}

/// WebSocket echo server: serves the tester page at `/` and echoes every message on `/echo`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "backend",
    version,
    after_help = "Examples:\n  \
        backend                                   serve on http://localhost:8080\n  \
        backend --addr 0.0.0.0:9000               listen on every interface, port 9000\n  \
        backend --addr 127.0.0.1:0                pick a free port (the log says which)\n  \
        backend --allow-origin https://app.example.com   accept that page's WebSockets too\n\n\
        Durations take units: 500ms, 30s, 2m. Every flag can also be set by the environment\n\
        variable shown beside it. RUST_LOG (e.g. RUST_LOG=debug) sets how much is logged.\n\
        SIGINT/SIGTERM: connections get close 1001, then the server exits 0."
)]
pub struct Config {
    /// Address to listen on, HOST:PORT; port 0 picks a free port.
    #[arg(
        long,
        env = "ECHO_ADDR",
        default_value = "localhost:8080",
        value_name = "HOST:PORT",
        value_parser = parse_addr
    )]
    pub addr: String,

    /// Folder with the built frontend (index.html and its assets), made by `trunk build --release`.
    #[arg(long, env = "ECHO_DIST", default_value_os_t = default_dist(), value_name = "DIR")]
    pub dist: PathBuf,

    /// Largest WebSocket frame accepted, in bytes; a larger one gets close 1009 at its header.
    #[arg(long, env = "ECHO_MAX_FRAME_BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES,
          value_name = "BYTES", value_parser = parse_positive)]
    pub max_frame_bytes: usize,

    /// Largest WebSocket message accepted (all its fragments), in bytes; larger gets close 1009.
    #[arg(long, env = "ECHO_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES,
          value_name = "BYTES", value_parser = parse_positive)]
    pub max_message_bytes: usize,

    /// Memory all connections together may hold for data not yet echoed or written, in bytes;
    /// past it the connection holding the most is closed with 1013 [default: 256 MiB, or 4
    /// messages of --max-message-bytes if more].
    #[arg(long, env = "ECHO_MEMORY_BUDGET", value_name = "BYTES", value_parser = parse_positive)]
    pub memory_budget: Option<usize>,

    /// Open WebSocket connections allowed at once; new upgrades past it get 503.
    #[arg(long, env = "ECHO_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_name = "N", value_parser = parse_positive)]
    pub max_connections: usize,

    /// Page origin allowed to open WebSockets besides the server's own (e.g.
    /// https://app.example.com); repeatable; `*` allows every origin.
    #[arg(long = "allow-origin", env = "ECHO_ALLOW_ORIGIN", value_delimiter = ',',
          value_name = "ORIGIN", value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// How often the server pings each connection.
    #[arg(long, env = "ECHO_PING_INTERVAL", default_value = "30s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Close (1001) a connection that sent nothing, not even a pong, for this long.
    #[arg(long, env = "ECHO_IDLE_TIMEOUT", default_value = "75s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Park a connection over plain TCP (not TLS, no fault asked in its URL, no compression
    /// state kept between messages) that has sent nothing for this long: it leaves its task and waits in its worker's epoll lot,
    /// about 300 bytes instead of 1.5 KB, pinged from there; its next message takes it back
    /// (about 20-50 µs more server CPU for that message). `off`: never.
    #[arg(long, env = "ECHO_PARK_AFTER", default_value = "5s", value_name = "DURATION|off",
          value_parser = parse_park_after)]
    pub park_after: ParkAfter,

    /// Time allowed for each HTTP request head to arrive whole (the WebSocket handshake's, and
    /// every later one on a keep-alive connection), counted from its first byte, or from the
    /// connection's accept for the first (on a TLS port, the TLS handshake included).
    #[arg(long, env = "ECHO_HANDSHAKE_TIMEOUT", default_value = "5s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// How long an idle keep-alive HTTP connection waits for its next request.
    #[arg(long, env = "ECHO_KEEP_ALIVE", default_value = "5s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub keep_alive: Duration,

    /// Longest a plain HTTP request may take, from its head to the end of its response.
    #[arg(long, env = "ECHO_REQUEST_TIMEOUT", default_value = "30s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Plain HTTP connections (not WebSockets) open at once, TLS handshakes included; past it
    /// a new one takes the place of the one waiting longest for a request, or gets 503 if all
    /// are busy [default: 1000, or half the file descriptor limit if that is less].
    #[arg(long, env = "ECHO_MAX_HTTP_CONNECTIONS", value_name = "N",
          value_parser = parse_positive)]
    pub max_http_connections: Option<usize>,

    /// PEM certificate chain: serve https and wss (needs --tls-key).
    #[arg(long, env = "ECHO_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "ECHO_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, env = "ECHO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most `recv:` lines a second, all connections together; past it, one line a second says
    /// how many messages were not shown. 0: a line for every message, however many.
    #[arg(long, env = "ECHO_LOG_RATE", default_value_t = DEFAULT_LOG_RATE, value_name = "LINES")]
    pub log_rate: u64,

    /// Leave out the per-message `recv:` lines (connections are still logged).
    #[arg(long, short, env = "ECHO_QUIET")]
    pub quiet: bool,

    /// Agree to permessage-deflate (RFC 7692) when a client offers it: echoes of at least
    /// --deflate-threshold bytes go back compressed.
    #[arg(long, env = "ECHO_PERMESSAGE_DEFLATE", value_enum, default_value_t = Switch::On,
          value_name = "on|off")]
    pub permessage_deflate: Switch,

    /// Largest compression window either side is asked to use, as a power of two (8: 256 bytes
    /// to 15: 32 KiB); smaller windows use less memory and compress less.
    #[arg(long, env = "ECHO_DEFLATE_WINDOW_BITS", default_value_t = MAX_WINDOW_BITS,
          value_name = "8-15", value_parser = parse_window_bits)]
    pub deflate_window_bits: u8,

    /// Keep compression context from one message to the next: better ratios for similar
    /// messages, but about 300 KiB held per connection for its whole life (counted in
    /// --memory-budget). Off: every message is compressed on its own and idle connections hold
    /// nothing.
    #[arg(long, env = "ECHO_DEFLATE_CONTEXT_TAKEOVER")]
    pub deflate_context_takeover: bool,

    /// Echoes smaller than this many bytes go out uncompressed (0: compress every echo).
    #[arg(long, env = "ECHO_DEFLATE_THRESHOLD", default_value_t = DEFAULT_THRESHOLD_BYTES,
          value_name = "BYTES")]
    pub deflate_threshold: usize,

    /// Let clients ask for faults in the /echo URL's query (delay=, close_after=, reset_after=,
    /// push_every=, pongs=off, fragment=, refuse=, subprotocol=, compression=off,
    /// hello=request; see the README). Off: those parameters are ignored.
    #[arg(long, env = "ECHO_FIXTURE", value_enum, default_value_t = Switch::On,
          value_name = "on|off")]
    pub fixture: Switch,

    /// This instance's name, sent as X-Served-By on every HTTP response (the 101 too) and shown
    /// by /request and hello=request: which backend answered behind a load balancer. Default:
    /// the host name.
    #[arg(long, env = "ECHO_INSTANCE_NAME", value_name = "NAME", value_parser = parse_instance_name)]
    pub instance_name: Option<String>,

    /// On SIGINT/SIGTERM, how long connections get to answer the close before the server exits.
    #[arg(long, env = "ECHO_SHUTDOWN_GRACE", default_value = "5s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// HOST:PORT, with an IPv6 host in brackets; the host is resolved when binding.
fn parse_addr(text: &str) -> Result<String, String> {
    let shape = "HOST:PORT, e.g. localhost:8080, 0.0.0.0:9000 or [::1]:8080";
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` is not {shape}"))?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("`{text}` has no valid host; use {shape}"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port number (0-65535); use {shape}"))?;
    Ok(text.to_owned())
}

fn parse_window_bits(text: &str) -> Result<u8, String> {
    match text.parse::<u8>() {
        Ok(bits) if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) => Ok(bits),
        _ => Err(format!(
            "`{text}` is not a window size: give a power of two from {MIN_WINDOW_BITS} (256 \
             bytes) to {MAX_WINDOW_BITS} (32 KiB)"
        )),
    }
}

/// Longest instance name.
const MAX_INSTANCE_NAME_BYTES: usize = 128;

/// Printable ASCII without spaces at the ends: it goes into a header as is.
fn parse_instance_name(text: &str) -> Result<String, String> {
    if text.is_empty()
        || text.len() > MAX_INSTANCE_NAME_BYTES
        || text.trim() != text
        || !text.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return Err(format!(
            "`{}` cannot be sent as a header: use 1 to {MAX_INSTANCE_NAME_BYTES} printable \
             ASCII characters, e.g. backend-1",
            text.escape_debug()
        ));
    }
    Ok(text.to_owned())
}

/// The host name, or `ws-echo` if it cannot be read or sent as a header.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(|name| parse_instance_name(name.trim()).ok())
        .unwrap_or_else(|| "ws-echo".to_owned())
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

fn parse_park_after(text: &str) -> Result<ParkAfter, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(ParkAfter(None));
    }
    parse_duration(text)
        .map(|after| ParkAfter(Some(after)))
        .map_err(|error| format!("{error}, or `off`"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be longer than zero".into()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!(
            "`{text}` is not a duration like 500ms, 30s or 2m ({error})"
        )),
    }
}

/// `*`, or an origin as browsers send it: `http://` or `https://`, a host, maybe a port, no path.
fn parse_origin(text: &str) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_owned());
    }
    let normalized = text.trim_end_matches('/').to_ascii_lowercase();
    let host = normalized
        .strip_prefix("http://")
        .or_else(|| normalized.strip_prefix("https://"))
        .ok_or_else(|| format!("`{text}` must start with http:// or https:// (or be *)"))?;
    if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
        return Err(format!(
            "`{text}` must be scheme://host[:port], with no path"
        ));
    }
    Ok(normalized)
}

impl Config {
    /// `--instance-name`, or the host name.
    pub fn instance_name(&self) -> String {
        self.instance_name.clone().unwrap_or_else(host_name)
    }

    /// `--memory-budget`, or its default for the message limit.
    pub fn memory_budget(&self) -> usize {
        self.memory_budget
            .unwrap_or_else(|| default_budget(self.max_message_bytes))
    }

    /// `--max-http-connections`, or its default: 1,000, or half the file descriptor limit if
    /// that is less, so that connections parked by a peer can never take every descriptor.
    pub fn http_connection_bound(&self) -> usize {
        self.max_http_connections.unwrap_or_else(|| {
            let half = crate::limits::fd_limit::soft_limit().map_or(u64::MAX, |limit| limit / 2);
            usize::try_from(half)
                .unwrap_or(usize::MAX)
                .clamp(1, DEFAULT_MAX_HTTP_CONNECTIONS)
        })
    }

    /// File descriptors the configured bounds can take at once: every WebSocket, every plain
    /// HTTP connection, and [`crate::limits::fd_limit::RESERVED`] for the rest.
    pub fn descriptors_needed(&self) -> u64 {
        (self.max_connections as u64)
            .saturating_add(self.http_connection_bound() as u64)
            .saturating_add(crate::limits::fd_limit::RESERVED)
    }

    /// What the server agrees of permessage-deflate.
    pub fn deflate_policy(&self) -> DeflatePolicy {
        DeflatePolicy {
            enabled: self.permessage_deflate == Switch::On,
            max_window_bits: self.deflate_window_bits,
            context_takeover: self.deflate_context_takeover,
            threshold_bytes: self.deflate_threshold,
        }
    }

    /// The defaults, listening on `addr`: what tests use with `127.0.0.1:0`.
    pub fn listening_on(addr: impl Into<String>) -> Self {
        Config {
            addr: addr.into(),
            fixture: Switch::On,
            instance_name: None,
            dist: default_dist(),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            memory_budget: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            allowed_origins: Vec::new(),
            ping_interval: DEFAULT_PING_INTERVAL,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            park_after: ParkAfter(Some(DEFAULT_PARK_AFTER)),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_http_connections: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_format: LogFormat::Text,
            log_rate: DEFAULT_LOG_RATE,
            quiet: false,
            tls_cert: None,
            tls_key: None,
            permessage_deflate: Switch::On,
            deflate_window_bits: MAX_WINDOW_BITS,
            deflate_context_takeover: false,
            deflate_threshold: DEFAULT_THRESHOLD_BYTES,
        }
    }

    /// Checks that need more than one flag or the file system; the message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        // A missing bundle is fine (/ then says how to build it); one we cannot read is not.
        if self.dist.exists() && std::fs::read_dir(&self.dist).is_err() {
            return Err(format!(
                "--dist {}: not a readable folder; point it at the output of `trunk build`",
                self.dist.display()
            ));
        }
        let least = self.max_message_bytes.saturating_mul(MIN_BUDGET_MESSAGES);
        if self.memory_budget() < least {
            return Err(format!(
                "--memory-budget ({} bytes) must be at least {MIN_BUDGET_MESSAGES} times \
                 --max-message-bytes ({least} bytes), or a single client sending one message \
                 of the largest size could be closed for it; raise it or lower \
                 --max-message-bytes",
                self.memory_budget()
            ));
        }
        if self.idle_timeout <= self.ping_interval {
            return Err(format!(
                "--idle-timeout ({}) must be longer than --ping-interval ({}), or live clients \
                 are dropped before they are pinged",
                humantime::format_duration(self.idle_timeout),
                humantime::format_duration(self.ping_interval)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Config::try_parse_from(std::iter::once("backend").chain(args.iter().copied()))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn defaults_match_the_constants() {
        let config = parse(&[]).expect("defaults parse");
        assert_eq!(config.addr, "localhost:8080");
        assert_eq!(config.ping_interval, DEFAULT_PING_INTERVAL);
        assert_eq!(config.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(config.park_after, ParkAfter(Some(DEFAULT_PARK_AFTER)));
        assert_eq!(config.handshake_timeout, DEFAULT_HANDSHAKE_TIMEOUT);
        assert_eq!(config.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(config.deflate_policy(), DeflatePolicy::default());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn park_after_takes_a_duration_or_off() {
        let after = |text: &str| parse(&["--park-after", text]).map(|c| c.park_after);
        assert_eq!(after("1s"), Ok(ParkAfter(Some(Duration::from_secs(1)))));
        assert_eq!(after("off"), Ok(ParkAfter(None)));
        let error = after("soon").expect_err("not a duration");
        assert!(
            error.contains("--park-after") && error.contains("`off`"),
            "{error}"
        );
        assert!(
            after("0s").is_err(),
            "zero is not a duration here: `off` says never"
        );
    }

    #[test]
    fn bad_values_name_the_flag() {
        let error = parse(&["--max-connections", "0"]).unwrap_err();
        assert!(
            error.contains("--max-connections") && error.contains("at least 1"),
            "{error}"
        );
        let error = parse(&["--ping-interval", "soon"]).unwrap_err();
        assert!(
            error.contains("--ping-interval") && error.contains("duration"),
            "{error}"
        );
        let error = parse(&["--allow-origin", "example.com"]).unwrap_err();
        assert!(
            error.contains("--allow-origin") && error.contains("http://"),
            "{error}"
        );
        let error = parse(&["--allow-origin", "https://a.example/path"]).unwrap_err();
        assert!(error.contains("no path"), "{error}");
        for bad in ["7", "16", "big"] {
            let error = parse(&["--deflate-window-bits", bad]).unwrap_err();
            assert!(
                error.contains("--deflate-window-bits") && error.contains("32 KiB"),
                "{error}"
            );
        }
        let error = parse(&["--permessage-deflate", "maybe"]).unwrap_err();
        assert!(error.contains("on, off"), "{error}");
    }

    #[test]
    fn origins_are_normalized_and_repeatable() {
        let config = parse(&[
            "--allow-origin",
            "HTTPS://App.Example.com/",
            "--allow-origin",
            "*",
        ])
        .expect("parses");
        assert_eq!(config.allowed_origins, ["https://app.example.com", "*"]);
    }

    #[test]
    fn addresses_must_be_host_and_port() {
        for good in [
            "localhost:8080",
            "0.0.0.0:0",
            "[::1]:9000",
            "echo.example.org:443",
        ] {
            assert!(parse(&["--addr", good]).is_ok(), "{good}");
        }
        for bad in [
            "localhost",
            ":8080",
            "localhost:http",
            "localhost:70000",
            "two words:80",
        ] {
            let error = parse(&["--addr", bad]).unwrap_err();
            assert!(error.contains("--addr"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_dist_that_is_a_file_is_refused_a_missing_one_is_not() {
        let file = parse(&["--dist", "/etc/hostname"]).expect("parses");
        let error = file.validate().unwrap_err();
        assert!(error.contains("--dist /etc/hostname"), "{error}");
        let missing = parse(&["--dist", "/nonexistent/dist"]).expect("parses");
        assert!(missing.validate().is_ok());
    }

    #[test]
    fn the_memory_budget_defaults_from_the_message_limit_and_must_hold_four_messages() {
        let config = parse(&[]).expect("parses");
        assert_eq!(config.memory_budget(), 256 << 20);
        let config = parse(&["--max-message-bytes", "104857600"]).expect("parses");
        assert_eq!(config.memory_budget(), 400 << 20);
        assert!(config.validate().is_ok());
        let config =
            parse(&["--memory-budget", "1000", "--max-message-bytes", "1000"]).expect("parses");
        let error = config.validate().unwrap_err();
        assert!(
            error.contains("--memory-budget") && error.contains("--max-message-bytes"),
            "{error}"
        );
    }

    #[test]
    fn idle_timeout_must_exceed_the_ping_interval() {
        let config = parse(&["--ping-interval", "30s", "--idle-timeout", "30s"]).expect("parses");
        let error = config.validate().unwrap_err();
        assert!(
            error.contains("--idle-timeout") && error.contains("--ping-interval"),
            "{error}"
        );
    }
}
