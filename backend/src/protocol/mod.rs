//! Bytes to messages and back, with no I/O: what RFC 6455 and RFC 7692 say a frame, a message
//! and a compressed message are, and why one is refused.
//!
//! - [`message_decoder`]: frames in (checked at their header against the limits), fragments
//!   joined, compressed messages inflated, text checked as UTF-8; the reasons for refusing.
//! - [`error`]: why something a peer sent is refused ([`error::Refused`]), as a type.
//! - [`permessage_deflate`]: what the server agrees of permessage-deflate (the offers it reads,
//!   the answer it gives) and the compressor and inflater one connection uses.
//!
//! Depends on nothing else in the crate.

pub mod error;
pub mod message_decoder;
pub mod permessage_deflate;
