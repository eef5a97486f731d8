//! The echo server as a library: the binary in `main.rs` parses flags and calls [`server::bind`];
//! tests and the client's tests start the same app on port 0 with [`server::start_in_background`].

pub mod allocator;
pub mod bundle;
pub mod config;
pub mod connections;
pub mod echo;
pub mod echo_route;
pub mod fd_limit;
pub mod http_guard;
pub mod log_rate;
pub mod log_writer;
pub mod memory_budget;
pub mod message_decoder;
pub mod message_log;
pub mod metrics;
pub mod origin;
pub mod permessage_deflate;
pub mod server;
pub mod session;
pub mod subprotocol;
pub mod tls;
pub mod upgrade;
pub mod ws_connection;

pub use config::Config;
