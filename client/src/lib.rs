//! The command-line tester's parts, as a library: `main.rs` wires them together, and the fuzz
//! targets (fuzz/) reach the frame reader that sits between tungstenite and the socket
//! ([`deflate_stream`]) through it.
//!
//! - [`args`]: the flags; [`input`]: where messages come from (ticker, pipe, prompt);
//!   [`payload`]: hex and base64 lines.
//! - [`connect`]: TCP, TLS, the handshake; [`limits`]: what the client takes and queues; [`compression`] and
//!   [`deflate_stream`]: permessage-deflate under tungstenite.
//! - [`error`]: what goes wrong with the flags, or opening or keeping a connection, as types;
//!   [`head`]: a handshake head as `-v` prints it.
//! - [`session`]: one connection's loop and how it ends; [`output`]: what is printed;
//!   [`backoff`]: the reconnect schedule.

pub mod args;
pub mod backoff;
pub mod compression;
pub mod connect;
pub mod deflate_stream;
pub mod error;
pub mod head;
pub mod input;
pub mod limits;
pub mod output;
pub mod payload;
pub mod session;
