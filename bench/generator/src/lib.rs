//! The load generator's parts, as a library: `main.rs` is its command line, and the fuzz
//! targets (fuzz/) reach its frame reader through it.
//!
//! - [`load`]: modes, targets, the plan, what a connection tallies; opening connections (the
//!   handshake under a timeout, bytes behind the 101 kept).
//! - [`engine`]: each connection driven on the raw socket: batches written, echoes read and
//!   checked in place (the flood, rate and ping-pong modes).
//! - [`idle`]: the idle mode: connections held, a few sampled each second.
//! - [`messages`]: one connection's messages framed and its echoes checked (both modes).
//! - [`wire`]: messages framed and the server's frames found, in place ([`ws_wire`] underneath).
//! - [`payload`]: messages that prove themselves (sequence number, send time, derived bytes).
//! - [`compressed`]: `--compress`: precompressed messages and the inflater for echoes.

pub mod compressed;
pub mod engine;
pub mod idle;
pub mod load;
pub mod messages;
pub mod payload;
pub mod wire;
