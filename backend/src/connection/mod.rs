//! One WebSocket connection after its handshake.
//!
//! - [`ws_connection`]: the socket as a `Stream` of messages and a `Sink` of echoes (frames
//!   decoded by [`crate::protocol`], memory charged to the budget, back-pressure).
//! - [`echo`]: the echo loop over any such stream and sink (a [`echo::Connection`]): each event
//!   handled by a function of its own; pings, the idle timeout, shutdown. Its future is what an
//!   idle connection costs, so it is kept small (see the comments there).
//! - [`fixture`]: the echo loop with the faults a connection asked for in its URL (delays,
//!   closes, resets, pushes, no pongs, fragments); only such connections run it.
//! - [`session`]: runs the loop on its own task and logs how the connection ended; parks it
//!   when the loop says it is idle, and takes it up again when it is not.
//! - [`parking`]: idle plain connections wait without a task of their own, one epoll lot per
//!   worker thread.

pub mod echo;
pub mod fixture;
pub mod parking;
pub mod session;
pub mod ws_connection;
