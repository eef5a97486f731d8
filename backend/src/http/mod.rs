//! What the server answers over plain HTTP (WebSocket upgrades are taken before the app sees
//! them, in [`crate::handshake`]).
//!
//! - [`bundle`]: the tester page at `/` (or a page saying how to build it).
//! - [`routes`]: `/echo` without an upgrade, `/healthz`, `/metrics`.
//! - [`tls`]: the certificate and key for https and wss.

pub mod bundle;
pub mod routes;
pub mod tls;
