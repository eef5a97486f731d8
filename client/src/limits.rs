//! What the client takes from a server and queues for it: the limits tungstenite enforces and
//! the permessage-deflate layer ([`crate::deflate_stream`]) enforces again at each frame's
//! header, before it buffers anything.

/// Largest message the client takes from a server (tungstenite's default, stated here so the
/// compression layer holds compressed messages to the same).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Largest frame the client takes from a server (tungstenite's default).
pub const MAX_FRAME_BYTES: usize = 16 << 20;

/// Most bytes queued for the server: room for one message of the largest size and a little
/// more. Past it an automatic pong is held back (the newest replacing the last) instead of
/// queued: a server that pings without end and never reads once grew the client to 350 MB.
pub const MAX_WRITE_BUFFER_BYTES: usize = MAX_MESSAGE_BYTES + (1 << 20);

/// Largest response head: tungstenite's own limit for the head it parses.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
