//! The command line: every flag, with what it does and the exit statuses in `--help`.

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::{load::Mode, schedule::Schedule};

/// Load generator for WebSocket servers: echo servers compared, or your own server load-tested.
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    version,
    after_help = concat!(
        "Examples:\n  \
        bench --addr 127.0.0.1:8080 --mode ping-pong\n  \
        bench --url wss://example.org/ws -H 'Authorization: Bearer T' --subprotocol chat \\\n    \
            --mode rate --rate 2000 --connections 200 --ramp 30s --duration 1m\n  \
        bench --url ws://host/ws --mode idle --stages 30s:1000,1m:1000,30s:0\n  \
        bench --url ws://host/ws --max-p99 20ms --min-rate 900 --rate 1000 --report run.html\n\n\
        Exit status: 0 the run met every threshold; 1 the run could not be made (no connection \
        opened, a setup or --report file error); 2 a bad flag; 3 a threshold broken (--max-p99, \
        --min-rate, --max-errors, which is 0 unless given, --max-handshake-p99), each named on \
        stderr with its figure."
    )
)]
pub struct Args {
    /// Server address, HOST:PORT; the bench connects to ws://HOST:PORT/echo.
    #[arg(long, default_value = "127.0.0.1:8080", conflicts_with = "url")]
    pub addr: String,
    /// Full WebSocket URL instead of --addr: ws:// or wss://.
    #[arg(long)]
    pub url: Option<String>,
    /// Raw TCP to --addr instead of WebSocket: for a plain TCP echo, the physical reference.
    /// Messages are --size bytes back to back, so every echo is still checked.
    #[arg(long, conflicts_with = "url")]
    pub raw: bool,
    /// flood, ping-pong, rate or idle.
    #[arg(long, value_enum, default_value_t = Mode::PingPong)]
    pub mode: Mode,
    /// Connections at once (with --ramp, at the end of the ramp).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub connections: u32,
    /// Message size in bytes (at least 32: the sequence number and send time).
    #[arg(long, default_value_t = 32)]
    pub size: usize,
    /// Binary messages instead of text.
    #[arg(long)]
    pub binary: bool,
    /// How long to send (idle: how long to hold the connections); with --ramp, after the ramp.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Rate mode: messages per second over all connections (with --stages, over the peak
    /// connection count: each connection sends its share, so the rate follows the connections).
    #[arg(long, default_value_t = 10_000.0)]
    pub rate: f64,
    /// Flood mode: messages in flight (sent, not yet echoed) per connection, at most.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,
    /// Offer permessage-deflate and send JSON-like text of --size bytes, compressed (the server
    /// must agree); echoes are inflated and checked. For the server's cost of compression.
    #[arg(long, conflicts_with_all = ["raw", "binary"])]
    pub compress: bool,
    /// One JSON object on one line instead of the table (and no progress line).
    #[arg(long)]
    pub json: bool,
    /// Give up on a connection whose TCP connect, TLS and handshake take longer than this.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Extra handshake header, "Name: value"; repeatable (an auth header, a token).
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = ws_dial::header::parse_header, conflicts_with = "raw")]
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Offer this subprotocol (Sec-WebSocket-Protocol); repeatable. The server must agree.
    #[arg(long = "subprotocol", value_name = "NAME", conflicts_with = "raw")]
    pub subprotocols: Vec<String>,
    /// Origin header to send, as a browser page from that origin would.
    #[arg(long, conflicts_with = "raw")]
    pub origin: Option<String>,
    /// wss://: also trust the certificates in this PEM file (a private CA, a self-signed
    /// server), besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// wss://: accept any certificate (a throwaway test server). The traffic is still
    /// encrypted, but anyone in the path can read it.
    #[arg(long)]
    pub insecure: bool,

    /// Open the connections evenly over this time instead of all at once, then run
    /// --duration with all of them.
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "stages")]
    pub ramp: Option<Duration>,
    /// k6-like stages, DURATION:CONNECTIONS,...: over each DURATION the connection count moves
    /// in a straight line to CONNECTIONS (from 0 at the start), and the run lasts their sum
    /// (--duration and --connections are then unused). For example 30s:100,1m:1000,30s:0.
    #[arg(long, value_parser = parse_stages, value_name = "STAGES")]
    pub stages: Option<Schedule>,

    /// Threshold: fail (exit 3) when the round trip's p99 is above this, like 20ms.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_p99: Option<Duration>,
    /// Threshold: fail (exit 3) when fewer echoes per second came back on average.
    #[arg(long, value_name = "MSGS_PER_S")]
    pub min_rate: Option<f64>,
    /// Threshold: fail (exit 3) when there were more errors than this (failed connections,
    /// wrong or lost echoes, closes).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_errors: u64,
    /// Threshold: fail (exit 3) when the p99 of opening a connection (TCP, TLS, upgrade) is
    /// above this.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_handshake_p99: Option<Duration>,

    /// Also write a self-contained HTML report of the run to this file: throughput, latency
    /// over time and its distribution, handshake times, errors, the generator's own CPU.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

fn parse_stages(text: &str) -> Result<Schedule, String> {
    Schedule::parse(text).map_err(|e| e.to_string())
}

/// The exit statuses, for `main` (a broken threshold's is [`crate::thresholds::EXIT_THRESHOLD`]).
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
