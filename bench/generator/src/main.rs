//! The echo load generator: N connections against any WebSocket echo server, in one of four
//! modes, with every echo checked byte for byte and in order. Prints a table, or one JSON line.
//!
//! ```text
//! cargo run --release -p bench -- --addr 127.0.0.1:8080 --mode ping-pong
//! cargo run --release -p bench -- --mode rate --rate 10000 --connections 50 --json
//! cargo run --release -p bench -- --mode idle --connections 10000 --duration 30s
//! cargo run --release -p bench -- --mode flood --compress --size 4096
//! ```
//! `scripts/bench.sh` runs it against the backend pinned to one CPU, the load on the other.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use bench::{
    compressed, engine, idle,
    load::{self, Mode, Plan, Tally},
    payload, wire,
};
use clap::{Parser, ValueEnum};

/// Load generator for WebSocket echo servers.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Server address, HOST:PORT; the bench connects to ws://HOST:PORT/echo.
    #[arg(long, default_value = "127.0.0.1:8080", conflicts_with = "url")]
    addr: String,
    /// Full WebSocket URL instead of --addr.
    #[arg(long)]
    url: Option<String>,
    /// Raw TCP to --addr instead of WebSocket: for a plain TCP echo, the physical reference.
    /// Messages are --size bytes back to back, so every echo is still checked.
    #[arg(long, conflicts_with = "url")]
    raw: bool,
    /// flood, ping-pong, rate or idle.
    #[arg(long, value_enum, default_value_t = Mode::PingPong)]
    mode: Mode,
    /// Connections at once.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Message size in bytes (at least 32: the sequence number and send time).
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Binary messages instead of text.
    #[arg(long)]
    binary: bool,
    /// How long to send (idle: how long to hold the connections).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Rate mode: messages per second over all connections.
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Flood mode: messages in flight (sent, not yet echoed) per connection, at most.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    window: u64,
    /// Offer permessage-deflate and send JSON-like text of --size bytes, compressed (the server
    /// must agree); echoes are inflated and checked. For the server's cost of compression.
    #[arg(long, conflicts_with_all = ["raw", "binary"])]
    compress: bool,
    /// One JSON object on one line instead of the table.
    #[arg(long)]
    json: bool,
    /// Give up on a connection whose TCP connect and handshake take longer than this.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
}

/// Connections opened at once while connecting: a burst of 10,000 SYNs overflows the backlog.
const CONNECT_BATCH: usize = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.size < payload::MIN_SIZE {
        eprintln!("error: --size must be at least {} bytes", payload::MIN_SIZE);
        return ExitCode::from(2);
    }
    if args.rate.is_nan() || args.rate <= 0.0 {
        eprintln!("error: --rate must be above 0");
        return ExitCode::from(2);
    }
    let target = target_of(&args);
    let corpus = if args.compress {
        // What the server agrees decides how its echoes are inflated: ask it once.
        match load::open_stream_within(&target, args.connect_timeout).await {
            Ok(opened) => Some(Arc::new(compressed::Corpus::new(
                args.size,
                &opened.extensions,
            ))),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let sent_ratio = corpus.as_ref().map(|c| c.sent_ratio());
    let plan = Arc::new(Plan {
        mode: args.mode,
        size: args.size,
        text: !args.binary,
        duration: args.duration,
        per_connection_rate: args.rate / f64::from(args.connections),
        window: args.window,
        corpus,
    });
    let framing = if args.raw {
        wire::Framing::Raw
    } else {
        wire::Framing::WebSocket
    };

    let (streams, connect_errors) = connect_all(&target, &args).await;
    let before = cpu::Usage::now();
    let mut tally = run_load(streams, framing, &plan).await;
    let usage = before.since();
    // The run's own first error is the one shown, then a connection's.
    tally.merge(connect_errors);
    report(
        &args,
        &tally,
        args.duration.as_secs_f64(),
        &usage,
        sent_ratio,
    );
    if tally.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Where the load goes, from the flags.
fn target_of(args: &Args) -> load::Target {
    if args.raw {
        load::Target::RawTcp {
            addr: args.addr.clone(),
        }
    } else {
        load::Target::WebSocket {
            url: args
                .url
                .clone()
                .unwrap_or_else(|| format!("ws://{}/echo", args.addr)),
            compress: args.compress,
        }
    }
}

/// Opens `--connections` connections, [`CONNECT_BATCH`] at a time; the failures are counted as
/// errors in the tally (the first one kept), not fatal.
async fn connect_all(target: &load::Target, args: &Args) -> (Vec<load::Opened>, Tally) {
    let total = args.connections as usize;
    let mut tally = Tally::new();
    let mut streams = Vec::with_capacity(total);
    let mut tried = 0;
    while tried < total {
        let batch = CONNECT_BATCH.min(total - tried);
        tried += batch;
        let attempts = futures_util::future::join_all(
            (0..batch).map(|_| load::open_stream_within(target, args.connect_timeout)),
        )
        .await;
        for attempt in attempts {
            match attempt {
                Ok(opened) => streams.push(opened),
                Err(error) => tally.error(error),
            }
        }
    }
    (streams, tally)
}

/// Runs the plan on every connection at once: idle mode holds them all, the others drive
/// each on a task of its own (rate mode staggers their sends by a phase each).
async fn run_load(streams: Vec<load::Opened>, framing: wire::Framing, plan: &Arc<Plan>) -> Tally {
    let started = Instant::now();
    if plan.mode == Mode::Idle {
        return idle::hold(streams, framing, plan, started).await;
    }
    let count = streams.len() as f64;
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(index, opened)| {
            let plan = Arc::clone(plan);
            let phase = index as f64 / count;
            tokio::spawn(async move { engine::drive(opened, framing, &plan, started, phase).await })
        })
        .collect();
    let mut tally = Tally::new();
    for task in tasks {
        match task.await {
            Ok(result) => tally.merge(result),
            Err(error) => tally.error(format!("a connection task failed: {error}")),
        }
    }
    tally
}

fn report(args: &Args, tally: &Tally, seconds: f64, usage: &cpu::Spent, sent_ratio: Option<f64>) {
    let rate = tally.received as f64 / seconds;
    let cpu_pct = usage.percent_of_one_core();
    let generator_bound = cpu_pct > GENERATOR_BOUND_PCT;
    let q = |quantile: f64| tally.latency.value_at_quantile(quantile);
    let mode = args
        .mode
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned());
    if args.json {
        let line = serde_json::json!({
            "mode": mode, "connections": args.connections, "size": args.size,
            "type": if args.binary { "binary" } else { "text" }, "duration_s": seconds,
            "sent": tally.sent, "received": tally.received, "errors": tally.errors,
            "first_error": tally.first_error, "msgs_per_s": rate.round(),
            "p50_us": q(0.5), "p90_us": q(0.9), "p99_us": q(0.99), "p999_us": q(0.999),
            "max_us": tally.latency.max(),
            "generator_cpu_pct": (cpu_pct * 10.0).round() / 10.0,
            "generator_cpu_ns_per_msg": (usage.cpu_seconds * 1e9 / tally.received.max(1) as f64).round(),
            "generator_bound": generator_bound,
            "late_sends": tally.late_sends,
            "compress": args.compress,
            "sent_wire_ratio": sent_ratio.map(|r| (r * 1000.0).round() / 1000.0),
        });
        println!("{line}");
        return;
    }
    println!(
        "{:<10} {:>6} {:>6} {:>9} {:>10} {:>10} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "mode",
        "conns",
        "size",
        "duration",
        "sent",
        "received",
        "errors",
        "msgs/s",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs"
    );
    println!(
        "{:<10} {:>6} {:>6} {:>8.1}s {:>10} {:>10} {:>7} {:>11.0} {:>8} {:>8} {:>8} {:>8} {:>8}",
        mode,
        args.connections,
        args.size,
        seconds,
        tally.sent,
        tally.received,
        tally.errors,
        rate,
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        tally.latency.max()
    );
    println!(
        "generator: {cpu_pct:.0} % of one core ({:.0} ns per message){}",
        usage.cpu_seconds * 1e9 / tally.received.max(1) as f64,
        if generator_bound {
            " -- GENERATOR-BOUND: the figure measures the generator, not the server"
        } else {
            ""
        }
    );
    if let Some(ratio) = sent_ratio {
        println!(
            "compressed: JSON-like text, sent at {:.0} % of its size on the wire",
            ratio * 100.0
        );
    }
    if let Some(error) = &tally.first_error {
        eprintln!("first error: {error}");
    }
}

/// Above this share of its one core the generator, not the server, may be the limit.
const GENERATOR_BOUND_PCT: f64 = 90.0;

/// The generator's own CPU time, from getrusage.
mod cpu {
    use std::time::Instant;

    pub struct Usage {
        cpu_seconds: f64,
        at: Instant,
    }

    pub struct Spent {
        pub cpu_seconds: f64,
        pub wall_seconds: f64,
    }

    fn process_cpu_seconds() -> f64 {
        // SAFETY: getrusage writes into the struct we pass and nothing else.
        let usage = unsafe {
            let mut usage = std::mem::zeroed::<libc::rusage>();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            usage
        };
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    impl Usage {
        pub fn now() -> Usage {
            Usage {
                cpu_seconds: process_cpu_seconds(),
                at: Instant::now(),
            }
        }

        pub fn since(&self) -> Spent {
            Spent {
                cpu_seconds: process_cpu_seconds() - self.cpu_seconds,
                wall_seconds: self.at.elapsed().as_secs_f64(),
            }
        }
    }

    impl Spent {
        pub fn percent_of_one_core(&self) -> f64 {
            100.0 * self.cpu_seconds / self.wall_seconds.max(1e-9)
        }
    }
}
