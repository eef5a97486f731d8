//! The log: what is written, how fast, and how it reaches stderr.
//!
//! - [`message_log`]: the per-message `recv:` lines, formatted fast, peer text escaped.
//! - [`log_rate`]: at most `--log-rate` of those lines (and of refused upgrades) a second.
//! - [`log_writer`]: the thread that writes lines in batches and drops (and counts) what a
//!   stuck output cannot take.
//!
//! Below everything else: any layer may log, and this one imports none of them.

use std::net::SocketAddr;

pub mod log_rate;
pub mod log_writer;
pub mod message_log;

/// The log target of the per-message `recv:` lines, so `--quiet` (or
/// `RUST_LOG=backend::messages=off`) can drop them alone.
pub const MESSAGE_LOG: &str = "backend::messages";

/// A peer's address as the connection log lines show it.
pub fn peer_text(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown peer".to_owned(), |addr| addr.to_string())
}
