//! The echo server as a library: the binary in `main.rs` parses flags and calls [`server::bind`];
//! tests and the client's tests start the same app on port 0 with [`server::start_in_background`].
//!
//! The folders are layers; each depends only on those below it:
//!
//! ```text
//! server.rs, config.rs   bind the listeners, build the HTTP service and its upgrade service
//! http/                  what plain HTTP gets: the page, /echo without an upgrade, /healthz, /metrics, TLS
//! handshake/             the opening handshake: origin, subprotocol, the 101 or a refusal
//! connection/            one WebSocket after its handshake: the socket, the echo loop, the session
//! metrics.rs             the Prometheus registry and what each connection reports to it
//! limits/                memory budget, connection counts, plain HTTP deadlines, the fd limit
//! protocol/              bytes <-> messages, no I/O: the decoder, permessage-deflate
//! logging/               recv: lines, their rate, the writer thread
//! ```

pub mod allocator;
pub mod config;
pub mod connection;
pub mod handshake;
pub mod http;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod server;

pub use config::Config;
