//! The echo server's fault parameters: the names a client puts in the `/echo` URL's query to
//! make the server misbehave on purpose (see the README's "The echo as a test fixture"). The
//! server (backend/src/handshake/fixture.rs) reads them; the tester page
//! (frontend/src/fixture_query.rs) writes them, in this order. Written once, here, so the two
//! cannot drift apart.

/// Every fault parameter, in the order the page shows them.
pub const PARAMETERS: [&str; 14] = [
    "delay",
    "close_after",
    "close_code",
    "close_reason",
    "reset_after",
    "push_every",
    "push_size",
    "push_type",
    "pongs",
    "fragment",
    "refuse",
    "subprotocol",
    "compression",
    "hello",
];
