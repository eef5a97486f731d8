//! Plain HTTP connections (everything before a WebSocket upgrade, TLS handshakes included),
//! bounded in number and in time, so that silent or slow peers cannot hold the server's
//! sockets: the "slowloris" defence.
//!
//! - [`registry`]: the server-wide count (`--max-http-connections`); a new connection past it
//!   takes the place of the one that has waited longest for its next request, or is refused.
//! - [`guarded_io`]: the socket wrapper that enforces each connection's deadline (a request
//!   head within `--handshake-timeout`, an idle keep-alive within `--keep-alive`, a request
//!   within `--request-timeout`) and lets go of all of it once the connection is upgraded.
//! - [`head_record`]: the raw head of a request that asks to see itself (`/request`,
//!   `hello=request`), kept so that its headers are shown in the order they came.
//! - [`tracking`]: the app middleware that tells a connection when a request starts and when
//!   its response has been sent, so the deadlines follow each request on a keep-alive
//!   connection and not only the first.

pub mod guarded_io;
pub mod head_record;
pub mod registry;
pub mod tracking;

pub use guarded_io::{Guarded, HeadTap, Watched};
pub use registry::{HttpConnections, HttpCounters, HttpTimeouts, Slot};
