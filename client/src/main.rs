//! The command-line echo client, a port of gorilla/websocket's `client/main.go`.
//!
//! Connects to the echo server, sends the current time every second and prints each echo as
//! `recv: <text>`. Ctrl-C sends a close frame (1000, normal closure), waits up to one second
//! for the server's close, and exits 0.
//!
//! ```text
//! cargo run -p backend &                                 # the server, on localhost:8080
//! cargo run -p client                                    # ws://localhost:8080/echo
//! cargo run -p client -- --addr 127.0.0.1:9000
//! cargo run -p client -- --url ws://echo.example.org/echo
//! ```

mod args;
mod session;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = args::Args::parse();
    let url = match args.url() {
        Ok(url) => url,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(session::EXIT_USAGE);
        }
    };
    ExitCode::from(session::run(&url).await)
}
