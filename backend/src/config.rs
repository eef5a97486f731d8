//! Command-line flags and the settings they produce.

use std::path::PathBuf;

use clap::Parser;

/// Largest single frame accepted on `/echo`. A frame is buffered whole before it is parsed,
/// so this bounds the memory one connection can make the server hold for one frame.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Largest message (all fragments of it together) accepted on `/echo`; larger ones are
/// answered with close code 1009. 16 MiB is what the Autobahn testsuite's biggest cases send.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

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
        backend                              serve on http://localhost:8080\n  \
        backend --addr 0.0.0.0:9000          listen on every interface, port 9000\n  \
        backend --addr 127.0.0.1:0           pick a free port (the log says which)\n\n\
        Set RUST_LOG (e.g. RUST_LOG=debug) to change how much is logged."
)]
pub struct Config {
    /// Address to listen on, HOST:PORT; port 0 picks a free port.
    #[arg(long, default_value = "localhost:8080", value_name = "HOST:PORT")]
    pub addr: String,

    /// Folder with the built frontend (index.html and its assets), made by `trunk build --release`.
    #[arg(long, default_value_os_t = default_dist(), value_name = "DIR")]
    pub dist: PathBuf,

    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_FRAME_BYTES, value_name = "BYTES",
          value_parser = parse_positive)]
    pub max_frame_bytes: usize,

    /// Largest WebSocket message accepted (all its fragments), in bytes; larger gets close 1009.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES, value_name = "BYTES",
          value_parser = parse_positive)]
    pub max_message_bytes: usize,
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number of bytes")),
    }
}

impl Config {
    /// The defaults, listening on `addr`: what tests use with `127.0.0.1:0`.
    pub fn listening_on(addr: impl Into<String>) -> Self {
        Config {
            addr: addr.into(),
            dist: default_dist(),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}
