//! The command-line WebSocket tester, grown from gorilla/websocket's `client/main.go`.
//!
//! By default it does what the original does: connects, sends the current time every second,
//! prints each echo as `recv: <text>`, and on Ctrl-C sends close 1000, waits up to a second for
//! the server's close and exits 0. Piped stdin, an interactive prompt, binary messages, pings
//! with round-trip times, TLS, reconnects and JSON output are flags away (`--help`).
//!
//! ```text
//! cargo run -p backend &                                 # the server, on localhost:8080
//! cargo run -p client                                    # ws://localhost:8080/echo
//! echo hello | cargo run -q -p client -- --quiet         # one message, its echo, exit
//! cargo run -p client -- -i                              # type messages
//! ```

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;

use client::{
    args::Args,
    backoff,
    connect::Dialer,
    error::ConnectError,
    input::{self, LineFormat},
    output::Printer,
    session::{self, Outcome, EXIT_CONNECT_FAILED, EXIT_USAGE},
};

/// Where messages come from.
enum Mode {
    Ticker,
    Piped,
    Interactive,
}

/// Piped when stdin is a pipe or a file; the ticker when it is a terminal or /dev/null (as when
/// started in the background), so plain `client` behaves like the original.
fn mode(args: &Args) -> Mode {
    if args.interactive {
        return Mode::Interactive;
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Mode::Ticker;
    }
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/dev/stdin") {
        Ok(meta) if meta.file_type().is_fifo() || meta.file_type().is_file() => Mode::Piped,
        _ => Mode::Ticker,
    }
}

/// `--timeout` in piped mode when not given: a script waiting on an echo that never comes
/// must end.
const DEFAULT_PIPED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let url = match args.url() {
        Ok(url) => url,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let dialer = match Dialer::new(&args, url) {
        Ok(dialer) => dialer,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut printer = Printer::new(args.timestamps, args.quiet, args.json, args.raw);
    let (commands_tx, mut commands) = input::channel();
    let format = LineFormat::of(&args);
    let mode = mode(&args);
    match mode {
        Mode::Ticker => {
            tokio::spawn(input::ticker(commands_tx, args.interval, args.count));
        }
        Mode::Piped => input::piped(
            commands_tx,
            format,
            args.binary && !args.hex && !args.base64,
        ),
        Mode::Interactive => match input::interactive(commands_tx, format, args.close_code) {
            Ok(Some(writer)) => printer.set_writer(writer),
            Ok(None) => {}
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(EXIT_USAGE);
            }
        },
    }
    let options = session::Options {
        ping_interval: args.ping_interval,
        echo_timeout: args.timeout.or(match mode {
            Mode::Piped => Some(DEFAULT_PIPED_TIMEOUT),
            Mode::Ticker | Mode::Interactive => None,
        }),
        close_code: args.close_code,
        close_reason: args.close_reason.clone(),
    };

    let mut failures = 0u32;
    loop {
        printer.notice("connecting", format!("connecting to {}", dialer.url()));
        let verbose = args.verbose;
        let mut sent_head = None;
        let connected = dialer
            .connect(|head| sent_head = verbose.then(|| head.clone()))
            .await;
        if let Some(head) = &sent_head {
            printer.head(true, head);
        }
        if verbose {
            match &connected {
                Ok(connected) => printer.head(false, &connected.response_head),
                Err(ConnectError::Refused { head, .. }) => printer.head(false, head),
                Err(_) => {}
            }
        }
        let problem = match connected {
            Ok(connected) => {
                failures = 0;
                if let Some(protocol) = connected.protocol {
                    printer.notice("open", format!("subprotocol: {protocol}"));
                }
                if args.compress.is_some() {
                    let agreed = connected.compression.with(|r| r.agreement.clone());
                    printer.compression(agreed.as_ref().map(|a| a.header.as_str()));
                }
                let socket = connected.socket;
                let compression = connected.compression;
                match session::run(socket, &compression, &mut commands, &mut printer, &options)
                    .await
                {
                    Outcome::Done(code) => return ExitCode::from(code),
                    outcome => (describe(&outcome), outcome.exit_code()),
                }
            }
            Err(error) => (error.to_string(), EXIT_CONNECT_FAILED),
        };
        printer.error(&problem.0);
        failures += 1;
        if !args.reconnect || failures > args.reconnect_limit {
            if args.reconnect {
                printer.error(&format!(
                    "giving up after {} attempts (--reconnect-limit)",
                    failures - 1
                ));
            }
            return ExitCode::from(problem.1);
        }
        let wait = backoff::delay(failures, backoff::jitter());
        printer.notice(
            "reconnect",
            format!(
                "reconnecting in {:.1} s (attempt {failures} of {})",
                wait.as_secs_f64(),
                args.reconnect_limit
            ),
        );
        tokio::time::sleep(wait).await;
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Lost(why) => format!("the connection was lost: {why}"),
        Outcome::ClosedByServer(code) => format!(
            "the server closed the connection with {}",
            code.map_or_else(|| "no code".to_owned(), |c| format!("code {c}"))
        ),
        Outcome::ProtocolError(why) => format!("protocol error: {why}"),
        Outcome::TimedOut(after) => format!(
            "no answer from the server within {} while messages waited for their echo (--timeout)",
            humantime::format_duration(*after)
        ),
        Outcome::NoPong(after) => format!(
            "the server answered no ping within {} (--timeout): its keepalive failed",
            humantime::format_duration(*after)
        ),
        Outcome::Done(_) => String::new(),
    }
}
