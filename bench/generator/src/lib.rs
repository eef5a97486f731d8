//! The load generator's parts, as a library: `main.rs` is its command line, and the fuzz
//! targets (fuzz/) reach its frame reader through it.
//!
//! The run, from the top:
//! - [`cli`]: the flags and the exit statuses.
//! - [`run`]: connections opened (all at once, or by [`schedule`]: `--ramp`, `--stages`), each
//!   driven on its own task, the tallies merged.
//! - [`summary`]: the figures at the end, for the table, the JSON line and the [`report`];
//!   [`thresholds`] hold them against the CI limits.
//! - [`live`]: the figures second by second as the run goes, shown by [`progress`].
//!
//! One connection:
//! - [`dial`]: opening it: TCP, TLS, the handshake with the user's headers, timed; failures by
//!   kind.
//! - [`link`]: its bytes, plain or TLS, read and written without waiting.
//! - [`engine`]: flood, rate and ping-pong: batches written, echoes read and checked in place.
//! - [`idle`]: the idle mode: connections held, a few sampled each second.
//! - [`load`]: modes, the plan, what a connection tallies.
//! - [`messages`]: one connection's messages framed and its echoes checked (both modes).
//! - [`wire`]: messages framed and the server's frames found, in place ([`ws_wire`] underneath).
//! - [`payload`]: messages that prove themselves (sequence number, send time, derived bytes).
//! - [`compressed`]: `--compress`: precompressed messages and the inflater for echoes.
//! - [`cpu`]: the generator's own CPU time.

pub mod cli;
pub mod compressed;
pub mod cpu;
pub mod dial;
pub mod engine;
pub mod idle;
pub mod link;
pub mod live;
pub mod load;
pub mod messages;
pub mod payload;
pub mod progress;
pub mod report;
pub mod run;
pub mod schedule;
pub mod summary;
pub mod thresholds;
pub mod wire;
