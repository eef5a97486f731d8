//! The opening handshake: every HTTP/1.1 request that asks for `Upgrade: websocket`.
//!
//! - [`upgrade`]: checks the request and answers it, 101 and a session, or a refusal that says
//!   why.
//! - [`origin`]: which page origins may open a WebSocket; [`subprotocol`]: which subprotocol is
//!   agreed (permessage-deflate's offers are read in [`crate::protocol::permessage_deflate`]).
//! - [`fixture`]: the faults a client asks for in the URL's query (parsed and checked here, run
//!   by [`crate::connection::fixture`]); [`request_info`]: the request as the server saw it,
//!   as JSON (`hello=request`, `/request`).
//! - [`settings`]: what every connection is held to, shared by all workers.

pub mod fixture;
pub mod origin;
pub mod request_info;
pub mod settings;
pub mod subprotocol;
pub mod upgrade;
