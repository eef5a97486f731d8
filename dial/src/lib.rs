//! What a WebSocket client needs from its flags to dial a server, written once for the CLI
//! (`client`) and the load generator (`bench`), so that `--ca`, `--insecure` and `-H` mean the
//! same in both.
//!
//! - [`tls`]: the rustls client setup for wss:// (system roots, `--ca FILE`, `--insecure`) and
//!   its typed error.
//! - [`header`]: `-H "Name: value"` parsed into a header name and value.

pub mod header;
pub mod tls;
