//! The load generator's command line: N connections against any WebSocket server, in one of
//! four modes, with every echo checked byte for byte and in order. Prints a table (and a live
//! line on a terminal), or one JSON line; `--report` writes an HTML report; thresholds set the
//! exit status for CI (`bench --help` lists them).
//!
//! ```text
//! cargo run --release -p bench -- --addr 127.0.0.1:8080 --mode ping-pong
//! cargo run --release -p bench -- --mode rate --rate 10000 --connections 50 --json
//! cargo run --release -p bench -- --url wss://host/ws --ca ca.pem --ramp 10s --max-p99 20ms
//! ```
//! `scripts/bench.sh` runs it against the backend pinned to one CPU, the load on the other.

use std::{io::IsTerminal, process::ExitCode, sync::Arc, time::Instant};

use bench::{
    cli::{Args, EXIT_FAILED, EXIT_USAGE},
    compressed, cpu,
    dial::{Dialer, Target},
    live::Live,
    load::Plan,
    payload,
    progress::Progress,
    report, run,
    schedule::Schedule,
    summary::{Described, Summary},
    thresholds::{Figures, Thresholds, EXIT_THRESHOLD},
    wire,
};
use clap::{Parser, ValueEnum};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, (u8, String)> {
    let usage = |message: String| (EXIT_USAGE, message);
    if args.size < payload::MIN_SIZE {
        return Err(usage(format!(
            "--size must be at least {} bytes",
            payload::MIN_SIZE
        )));
    }
    if args.rate.is_nan() || args.rate <= 0.0 {
        return Err(usage("--rate must be above 0".into()));
    }
    if args
        .min_rate
        .is_some_and(|rate| rate.is_nan() || rate < 0.0)
    {
        return Err(usage("--min-rate must be 0 or more".into()));
    }
    if let Some(path) = &args.report {
        // Said now, not after a run of an hour: the report's file must be writable.
        std::fs::File::create(path).map_err(|error| {
            (
                EXIT_FAILED,
                format!("--report {}: cannot write there: {error}", path.display()),
            )
        })?;
    }
    let dialer = Arc::new(dialer_of(&args).map_err(usage)?);
    let schedule = match (&args.stages, args.ramp) {
        (Some(stages), _) => Some(stages.clone()),
        (None, Some(ramp)) => Some(Schedule::ramp(ramp, args.connections, args.duration)),
        (None, None) => None,
    };
    let peak = schedule.as_ref().map_or(args.connections, Schedule::peak);
    let corpus = if args.compress {
        // What the server agrees decides how its echoes are inflated: ask it once.
        match dialer.open().await {
            Ok(opened) => Some(Arc::new(compressed::Corpus::new(
                args.size,
                &opened.extensions,
            ))),
            Err(error) => return Err((EXIT_FAILED, error.to_string())),
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
        per_connection_rate: args.rate / f64::from(peak),
        window: args.window,
        corpus,
    });
    let framing = if args.raw {
        wire::Framing::Raw
    } else {
        wire::Framing::WebSocket
    };

    let live = Arc::new(Live::new());
    let total = schedule.as_ref().map_or(args.duration, Schedule::total);
    let shown = std::io::stdout().is_terminal() && !args.json;
    let progress = Progress::start(Arc::clone(&live), total, shown);
    let (tally, usage, seconds) = match &schedule {
        Some(schedule) => {
            let before = cpu::Usage::now();
            let tally = run::run_stages(&dialer, schedule, framing, &plan, &live).await;
            (tally, before.since(), schedule.total().as_secs_f64())
        }
        None => {
            let (opened, connect_errors) = run::connect_all(&dialer, args.connections, &live).await;
            let before = cpu::Usage::now();
            let mut tally = run::run_load(opened, framing, &plan, &live, Instant::now()).await;
            // The run's own first error is the one shown, then a connection's.
            tally.merge(connect_errors);
            (tally, before.since(), args.duration.as_secs_f64())
        }
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    live.finish();
    let state = live.snapshot();
    let opened_any = !state.handshakes.total.is_empty();
    let mode = args
        .mode
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned());
    let described = Described {
        mode,
        target: target_text(&dialer.target),
        connections: peak,
        size: args.size,
        binary: args.binary,
        compress: args.compress,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let mut summary = Summary::new(described, tally, &state, seconds, &usage, sent_ratio);
    let handshake_p99 = state.handshakes.total.value_at_quantile(0.99);
    drop(state);
    let thresholds = Thresholds {
        max_p99: args.max_p99,
        min_rate: args.min_rate,
        max_errors: args.max_errors,
        max_handshake_p99: args.max_handshake_p99,
    };
    summary.broken = thresholds.check(&Figures {
        p99: std::time::Duration::from_micros(summary.quantile(0.99)),
        rate: summary.rate,
        errors: summary.errors,
        handshake_p99: opened_any.then(|| std::time::Duration::from_micros(handshake_p99)),
    });
    if args.json {
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), "{}", summary.json());
    } else {
        summary.print_table();
    }
    for broken in &summary.broken {
        eprintln!("{broken}");
    }
    if let Some(path) = &args.report {
        report::write(path, &summary, &report::Provenance::here()).map_err(|error| {
            (
                EXIT_FAILED,
                format!(
                    "--report {}: cannot write the report: {error}",
                    path.display()
                ),
            )
        })?;
    }
    if !opened_any {
        return Err((
            EXIT_FAILED,
            format!(
                "no connection opened ({}), nothing was measured",
                summary
                    .first_error
                    .as_deref()
                    .map(ws_peer_text::visible)
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(if summary.broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    })
}

/// The dialer from the flags: the target, the handshake's extra headers, the TLS setup.
fn dialer_of(args: &Args) -> Result<Dialer, String> {
    let target = if args.raw {
        Target::RawTcp {
            addr: args.addr.clone(),
        }
    } else {
        Target::WebSocket {
            url: args
                .url
                .clone()
                .unwrap_or_else(|| format!("ws://{}/echo", args.addr)),
            compress: args.compress,
        }
    };
    let mut headers = args.headers.clone();
    if !args.subprotocols.is_empty() {
        let list = HeaderValue::from_str(&args.subprotocols.join(", "))
            .map_err(|_| "--subprotocol names must be plain text".to_owned())?;
        headers.push((HeaderName::from_static("sec-websocket-protocol"), list));
    }
    if let Some(origin) = &args.origin {
        let value = HeaderValue::from_str(origin)
            .map_err(|_| format!("--origin `{origin}` is not a valid header value"))?;
        headers.push((HeaderName::from_static("origin"), value));
    }
    let secure = matches!(&target, Target::WebSocket { url, .. } if url.starts_with("wss://"));
    if !secure && (args.ca.is_some() || args.insecure) {
        return Err("--ca and --insecure are for wss:// URLs".into());
    }
    let tls = if secure {
        let config = ws_dial::tls::client_config(args.insecure, args.ca.as_deref())
            .map_err(|error| error.to_string())?;
        Some(Arc::new(config))
    } else {
        None
    };
    Ok(Dialer {
        target,
        headers,
        tls,
        timeout: args.connect_timeout,
    })
}

fn target_text(target: &Target) -> String {
    match target {
        Target::WebSocket { url, .. } => url.clone(),
        Target::RawTcp { addr } => format!("tcp://{addr}"),
    }
}
