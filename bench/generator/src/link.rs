//! One connection's byte stream under the load engine: the plain TCP socket, or TLS over it
//! (rustls driven by hand). Both are used the same way, `try_read` / `try_write` until they
//! would block, then `ready`, so that the engine's loop (a batch written, whatever arrived read
//! and checked in place, no task wake-up per message) is the same for ws:// and wss://.
//!
//! rustls is driven through its synchronous API over the non-blocking socket: records are
//! written as the socket takes them and read as they come; a record not yet whole simply waits
//! for more bytes, as a frame does.

use std::io::{self, Read, Write};

use rustls::ClientConnection;
use tokio::{io::Interest, net::TcpStream};

/// A connection's bytes: plain, or TLS.
pub enum Link {
    Plain(TcpStream),
    Tls(Box<TlsLink>),
}

/// TLS over the socket, after its handshake (done by tokio-rustls, then taken apart).
pub struct TlsLink {
    stream: TcpStream,
    tls: ClientConnection,
}

/// Records past this many bytes not yet written stop new plaintext being taken: the socket,
/// not rustls's queue, is where a slow server's back-pressure must show.
const MAX_PENDING_TLS_BYTES: usize = 64 * 1024;

/// The socket as `std::io` for rustls: its reads and writes never wait.
struct NonBlocking<'a>(&'a TcpStream);

impl Read for NonBlocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for NonBlocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsLink {
    pub fn new(stream: TcpStream, mut tls: ClientConnection) -> TlsLink {
        tls.set_buffer_limit(Some(MAX_PENDING_TLS_BYTES));
        TlsLink { stream, tls }
    }

    /// Writes the records rustls has ready until the socket would block; whether any went.
    fn flush_records(&mut self) -> io::Result<bool> {
        let mut moved = false;
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut NonBlocking(&self.stream)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => moved = true,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
        }
        Ok(moved)
    }

    fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.flush_records()?;
        if self.tls.wants_write() {
            // The socket is full: take no more until it drains.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let taken = self.tls.writer().write(bytes)?;
        self.flush_records()?;
        if taken == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the server's close_notify
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // The TCP stream ended without a close_notify: still the end of the stream.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(error) => return Err(error),
            }
            if self.tls.read_tls(&mut NonBlocking(&self.stream))? == 0 {
                return Ok(0);
            }
            self.tls
                .process_new_packets()
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
            // An alert or a key update to answer.
            self.flush_records()?;
        }
    }
}

impl Link {
    pub fn socket(&self) -> &TcpStream {
        match self {
            Link::Plain(stream) => stream,
            Link::Tls(tls) => &tls.stream,
        }
    }

    /// Writes what the connection takes now: the count of `bytes` taken, or WouldBlock.
    #[inline]
    pub fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Link::Plain(stream) => stream.try_write(bytes),
            Link::Tls(tls) => tls.try_write(bytes),
        }
    }

    /// Reads what arrived: 0 at the end of the stream, or WouldBlock.
    #[inline]
    pub fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Plain(stream) => stream.try_read(buf),
            Link::Tls(tls) => tls.try_read(buf),
        }
    }

    /// Whether bytes taken are still waiting for the socket (TLS records not yet written).
    #[inline]
    pub fn wants_write(&self) -> bool {
        match self {
            Link::Plain(_) => false,
            Link::Tls(tls) => tls.tls.wants_write(),
        }
    }

    /// Writes what is waiting for the socket; whether anything went.
    pub fn flush_pending(&mut self) -> io::Result<bool> {
        match self {
            Link::Plain(_) => Ok(false),
            Link::Tls(tls) => tls.flush_records(),
        }
    }

    /// A short read emptied the plain socket: tell tokio, so that the next `try_read` does not
    /// spend a syscall to learn it (a third of ping-pong's syscalls). Over TLS rustls's own
    /// reads learn it.
    #[inline]
    pub fn note_drained(&self) {
        if let Link::Plain(stream) = self {
            let _ = stream.try_io(Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
        }
    }

    /// Waits until the socket may move in the way asked.
    pub async fn ready(&self, interest: Interest) -> io::Result<()> {
        self.socket().ready(interest).await.map(|_| ())
    }

    /// Writes all of `bytes` and what TLS made of them.
    pub async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() || self.wants_write() {
            let moved = if bytes.is_empty() {
                self.flush_pending()?
            } else {
                match self.try_write(bytes) {
                    Ok(n) => {
                        bytes = &bytes[n..];
                        true
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
                    Err(error) => return Err(error),
                }
            };
            if !moved {
                self.ready(Interest::WRITABLE).await?;
            }
        }
        Ok(())
    }

    /// Reads at least one byte, or 0 at the end of the stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.try_read(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.ready(Interest::READABLE).await?;
                }
                other => return other,
            }
        }
    }
}
