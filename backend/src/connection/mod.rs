//! One WebSocket connection after its handshake.
//!
//! - [`ws_connection`]: the socket as a `Stream` of messages and a `Sink` of echoes (frames
//!   decoded by [`crate::protocol`], memory charged to the budget, back-pressure).
//! - [`echo`]: the echo loop over any such stream and sink: each event handled by a function of
//!   its own; pings, the idle timeout, shutdown.
//! - [`session`]: runs the loop on its own task and logs how the connection ended.

pub mod echo;
pub mod session;
pub mod ws_connection;
