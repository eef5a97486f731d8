//! The WebSocket echo server.
//!
//! Serves the tester page (the trunk-built `dist/`) at `/` and echoes every WebSocket message
//! on `/echo`, logging `recv: …` for each. SIGINT or SIGTERM closes every connection with 1001
//! and exits 0.
//!
//! ```text
//! cargo run -p backend                          # http://localhost:8080
//! cargo run -p backend -- --addr 127.0.0.1:0    # any free port; the log says which
//! cargo run -p backend -- --help
//! ```

use std::{io::IsTerminal, process::ExitCode};

use backend::{config::LogFormat, server, Config};
use backend::{logging::log_writer::batch_writer, logging::log_writer::FlushGuard};
use backend::{
    logging::message_log::MessageLogLayer, logging::message_log::Style, logging::MESSAGE_LOG,
};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::{
    filter::{filter_fn, FilterExt},
    layer::SubscriberExt,
    util::SubscriberInitExt,
    EnvFilter, Layer,
};

/// Exit status for a configuration error, as clap uses for bad flags.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    backend::allocator::give_big_buffers_back();
    serve()
}

#[actix_web::main]
async fn serve() -> ExitCode {
    let config = Config::parse();
    if let Err(message) = config.validate() {
        eprintln!("error: {message}");
        return ExitCode::from(EXIT_CONFIG);
    }
    // Dropped when main returns, after the server stopped: every queued line is written.
    let _log_writer = init_logging(&config);
    // Also with --quiet: refused upgrades are logged, and a client can cause them in a loop.
    backend::logging::log_rate::limit_recv_lines(config.log_rate);
    raise_fd_limit(&config);

    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        if let Err(message) = backend::http::tls::load(cert, key) {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    let bound = match server::bind(&config) {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!(
                "error: cannot listen on {}: {error}. Is another server using it? \
                 Pick another address with --addr HOST:PORT.",
                config.addr
            );
            return ExitCode::from(1);
        }
    };
    for addr in &bound.addrs {
        let ws = if bound.scheme == "https" { "wss" } else { "ws" };
        tracing::info!(
            "listening on {}://{addr} (WebSocket echo at {ws}://{addr}/echo)",
            bound.scheme
        );
    }

    let handle = bound.server.handle();
    let (connections, memory) = (bound.connections, bound.memory);
    let grace = config.shutdown_grace;
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: cannot listen for SIGINT/SIGTERM: {error}");
            return ExitCode::from(1);
        }
    };
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
        server::shut_down(&connections, &memory, &handle, grace).await;
    });

    match bound.server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the server stopped: {error}");
            ExitCode::from(1)
        }
    }
}

/// Raises the soft file descriptor limit to the hard one, and says so; warns when even that
/// cannot hold every connection the flags allow.
fn raise_fd_limit(config: &Config) {
    match backend::limits::fd_limit::raise_to_hard_limit() {
        Ok(raised) => {
            if raised.after > raised.before {
                tracing::info!(
                    "file descriptor limit raised from {} to {} (the hard limit)",
                    raised.before,
                    raised.after
                );
            }
            let needed = config.descriptors_needed();
            if raised.after < needed {
                tracing::warn!(
                    "the file descriptor limit ({}) is below what --max-connections ({}) plus \
                     --max-http-connections ({}) need ({needed}): past it new clients fail; \
                     raise the hard limit (LimitNOFILE= in systemd, ulimit -Hn) or lower the flags",
                    raised.after,
                    config.max_connections,
                    config.http_connection_bound()
                );
            }
        }
        Err(error) => tracing::warn!("cannot read or raise the file descriptor limit: {error}"),
    }
}

/// `RUST_LOG` (default `info`) on stderr, as text or JSON; `--quiet` silences the `recv:` lines,
/// which have a log target of their own.
///
/// A `recv:` line per message made logging the bottleneck of a flood (one write to stderr per
/// message, on the echo thread): lines are formatted where they happen (the `recv:` lines by a
/// formatter of their own) and written in batches by a thread of their own, never dropped.
fn init_logging(config: &Config) -> FlushGuard {
    let filter = || {
        let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
        if config.quiet {
            if let Ok(directive) = format!("{MESSAGE_LOG}=warn").parse() {
                filter = filter.add_directive(directive);
            }
        }
        filter
    };
    let (writer, guard) = batch_writer(std::io::stderr());
    let ansi = std::io::stderr().is_terminal();
    let general = tracing_subscriber::fmt::layer().with_writer(writer.clone());
    let (general, style) = match config.log_format {
        LogFormat::Text => (general.with_ansi(ansi).boxed(), Style::Text { ansi }),
        LogFormat::Json => (general.json().flatten_event(true).boxed(), Style::Json),
    };
    // The recv: lines (one per message) have a formatter of their own, made for speed.
    let is_message = || filter_fn(|meta| meta.target() == MESSAGE_LOG);
    tracing_subscriber::registry()
        .with(general.with_filter(filter().and(is_message().not())))
        .with(MessageLogLayer::new(style, writer).with_filter(filter().and(is_message())))
        .init();
    guard
}
