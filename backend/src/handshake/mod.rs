//! The opening handshake: every HTTP/1.1 request that asks for `Upgrade: websocket`.
//!
//! - [`upgrade`]: checks the request and answers it, 101 and a session, or a refusal that says
//!   why.
//! - [`origin`]: which page origins may open a WebSocket; [`subprotocol`]: which subprotocol is
//!   agreed (permessage-deflate's offers are read in [`crate::protocol::permessage_deflate`]).
//! - [`settings`]: what every connection is held to, shared by all workers.

pub mod origin;
pub mod settings;
pub mod subprotocol;
pub mod upgrade;
