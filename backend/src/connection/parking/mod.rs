//! Parking: an idle plain connection waits without a task of its own.
//!
//! An echo server's normal state is many connections that say nothing for minutes. With a task
//! each, every one of them keeps the task (about 900 bytes), tokio's registration of its socket
//! (256) and a timer. Once a connection has been quiet for
//! `--park-after` ([`crate::connection::echo::Liveness::park_after`], 5 s by default), is between frames and
//! holds nothing (no bytes read and not decoded, no echo unwritten, no compression state: always
//! so between messages without context takeover), and runs over plain TCP without a fixture,
//! its echo loop ends and leaves a compact entry in its
//! worker's [`lot::Lot`]: the socket, moved out of tokio's reactor into the lot's own epoll
//! instance, its deadlines and what the session needs to take it up again (no memory charge: it
//! holds no memory, and a new one is opened when it comes back). Input, the peer's end, the idle
//! deadline or the server's shutdown bring it back to a task, which carries on as if it had never left; pings are sent by the lot.
//!
//! - [`epoll`]: the epoll instance the parked sockets wait in.
//! - [`lot`]: one worker's parked connections and the task that watches them.
//!
//! What is not parked: TLS connections (rustls's state would have to be kept anyway), fixture
//! connections (their faults run on timers), and connections whose permessage-deflate codec
//! keeps state between messages (context takeover, once a message has passed).

pub mod epoll;
pub mod lot;

use std::io;

/// A connection's socket, as far as parking is concerned: whether it is plain TCP underneath,
/// nothing of its own held, and if so the TCP socket taken out of tokio's reactor.
pub trait Parkable: Sized {
    /// Whether this socket can ever park (plain TCP: yes; TLS: no).
    fn parkable(&self) -> bool;

    /// Whether it can park now (nothing of its own under way).
    fn at_rest(&self) -> bool {
        true
    }

    /// The TCP socket, non-blocking, out of tokio's reactor. Only called when
    /// [`Parkable::parkable`] said yes; an error means the socket is lost (closed).
    fn into_std(self) -> io::Result<std::net::TcpStream>;
}

impl Parkable for tokio::net::TcpStream {
    fn parkable(&self) -> bool {
        true
    }

    fn into_std(self) -> io::Result<std::net::TcpStream> {
        tokio::net::TcpStream::into_std(self)
    }
}
