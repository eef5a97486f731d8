//! The load generator's parts, as a library: `main.rs` is its command line, and the fuzz
//! targets (fuzz/) reach its frame reader through it.
//!
//! - [`load`]: modes, targets, the plan, what a connection tallies; opening connections (the
//!   handshake under a timeout, bytes behind the 101 kept).
//! - [`engine`]: each connection driven on the raw socket: batches written, echoes read and
//!   checked in place.
//! - [`wire`]: messages framed and the server's frames found, in place ([`ws_wire`] underneath).
//! - [`payload`]: messages that prove themselves (sequence number, send time, derived bytes).
//! - [`compressed`]: `--compress`: precompressed messages and the inflater for echoes.

pub mod compressed;
pub mod engine;
pub mod load;
pub mod payload;
pub mod wire;
