//! What bounds the server: the resources a peer could otherwise take without end.
//!
//! - [`memory_budget`]: bytes held for data not yet echoed, all connections together
//!   (`--memory-budget`); the biggest holder is told to close.
//! - [`connections`]: open WebSockets (`--max-connections`) and the shutdown signal.
//! - [`http_guard`]: plain HTTP connections, in number (`--max-http-connections`) and in time
//!   (every request head, keep-alive, request).
//! - [`fd_limit`]: the file descriptor limit, raised at start-up.

pub mod connections;
pub mod fd_limit;
pub mod http_guard;
pub mod memory_budget;
