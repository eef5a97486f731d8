//! Why the server refuses what a peer sends, as a type: the reasons its own checks add to
//! actix's codec (limits, compression, UTF-8), each mapped to a close code by the echo loop.

use std::{fmt, io};

use actix_http::ws::ProtocolError;

/// Why the server refused what a peer sent, beyond what actix's codec says itself: carried
/// inside actix's [`ProtocolError::Io`] so that the echo loop picks the close code from the
/// reason, never from an error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The message (one frame, or all its fragments) is over `--max-message-bytes`: 1009.
    MessageTooBig,
    /// The server-wide memory budget is spent and this connection held the most: 1013.
    ServerMemoryFull,
    /// A compressed message is not a valid deflate stream: 1007.
    BadCompression,
    /// A text message (whole, after its fragments are joined and it is inflated) is not UTF-8:
    /// 1007.
    InvalidUtf8,
    /// The server is shutting down: 1001. Not the peer's doing; carried the same way, so that
    /// the loop hears it from the connection and no connection keeps a future of its own
    /// waiting for the shutdown.
    ServerStopping,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::MessageTooBig => "message over the size limit",
            Refused::ServerMemoryFull => "server memory budget reached",
            Refused::BadCompression => "invalid compressed data",
            Refused::InvalidUtf8 => "invalid UTF-8 in a text message",
            Refused::ServerStopping => "server shutting down",
        })
    }
}

impl std::error::Error for Refused {}

impl Refused {
    pub fn into_protocol_error(self) -> ProtocolError {
        ProtocolError::Io(io::Error::other(self))
    }

    /// The limit behind `error`, if it was one of ours.
    pub fn of(error: &ProtocolError) -> Option<Refused> {
        match error {
            ProtocolError::Io(io) => io.get_ref()?.downcast_ref::<Refused>().copied(),
            _ => None,
        }
    }
}
