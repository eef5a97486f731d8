//! [`Guarded`]: a socket that closes itself when its connection's [`Slot`] says time is up or
//! that it was chosen to make room, while the connection is plain HTTP (or a TLS handshake).
//!
//! The registry's sweeper marks a connection whose deadline passed and wakes its task (the
//! waker registered here on every poll), so a silent connection parked on a read is closed on
//! time with no timer of its own. Once the connection is upgraded the wrapper lets go of its
//! slot: a WebSocket pays one branch per read and write, and 8 bytes.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use actix_codec::{AsyncRead, AsyncWrite, ReadBuf};

use super::registry::{Closed, Phase, Slot};

/// A socket and, until its connection is upgraded, its slot among plain HTTP connections.
pub struct Guarded<T> {
    io: T,
    slot: Option<Arc<Slot>>,
}

/// Gives the slot of a guarded socket, under whatever wraps it (TLS).
pub trait Watched {
    fn slot(&self) -> Option<Arc<Slot>>;
}

impl<T> Watched for Guarded<T> {
    fn slot(&self) -> Option<Arc<Slot>> {
        self.slot.clone()
    }
}

impl<T> Watched for tokio_rustls::server::TlsStream<Guarded<T>> {
    fn slot(&self) -> Option<Arc<Slot>> {
        self.get_ref().0.slot()
    }
}

/// The socket's descriptor, for `reset_after` (SO_LINGER 0) after the upgrade.
impl<T: std::os::fd::AsRawFd> std::os::fd::AsRawFd for Guarded<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.as_raw_fd()
    }
}

impl<T> Guarded<T> {
    pub fn new(io: T, slot: Arc<Slot>) -> Self {
        Guarded {
            io,
            slot: Some(slot),
        }
    }

    /// Whether it let go of its slot: the connection was upgraded and has been read since.
    pub fn let_go(&self) -> bool {
        self.slot.is_none()
    }

    /// The socket under the guard.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Closes the connection (an error for whoever drives it) if the registry said so: its
    /// deadline passed (the sweeper, [`super::registry::SWEEP_EVERY`]) or it was chosen to make
    /// room. Registers the task's waker so that it is told while it waits on the socket.
    #[inline]
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(slot) = self.slot.as_ref() else {
            return Ok(());
        };
        if slot.phase() == Phase::Upgraded {
            self.slot = None;
            return Ok(());
        }
        slot.waker().register(cx.waker());
        let Some(why) = slot.closing() else {
            return Ok(());
        };
        let (kind, what) = match why {
            Closed::MadeRoom => (
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection (--max-http-connections)",
            ),
            Closed::Idle => (io::ErrorKind::TimedOut, "idle longer than --keep-alive"),
            Closed::SlowRequest => (
                io::ErrorKind::TimedOut,
                "request took longer than --request-timeout",
            ),
            Closed::SlowHead => (
                io::ErrorKind::TimedOut,
                "request head took longer than --handshake-timeout",
            ),
        };
        Err(io::Error::new(kind, what))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check(cx)?;
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(slot)) = (&read, &this.slot) {
            if buf.filled().len() > before {
                slot.bytes_arrived();
                slot.observe_head(&buf.filled()[before..], false);
            }
        }
        read
    }
}

/// Over TLS: the plaintext above the TLS layer, where a request head can be read (the socket
/// under it sees only ciphertext). Lets go of the slot once the connection is upgraded.
pub struct HeadTap<T> {
    io: T,
    slot: Option<Arc<Slot>>,
}

impl<T: Watched> HeadTap<T> {
    /// The slot must have been told [`Slot::heads_over_tls`] before the TLS handshake, so the
    /// socket under it does not take ciphertext for a head.
    pub fn new(io: T) -> Self {
        let slot = io.slot();
        HeadTap { io, slot }
    }

    /// The layer under the tap.
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

impl<T: Watched> Watched for HeadTap<T> {
    fn slot(&self) -> Option<Arc<Slot>> {
        self.io.slot()
    }
}

impl<T: std::os::fd::AsRawFd> std::os::fd::AsRawFd for HeadTap<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.as_raw_fd()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadTap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this
            .slot
            .as_ref()
            .is_some_and(|slot| slot.phase() == Phase::Upgraded)
        {
            // A WebSocket now: nothing more to observe, and an idle one may not read for hours.
            this.slot = None;
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(slot)) = (&read, &this.slot) {
            if buf.filled().len() > before {
                slot.observe_head(&buf.filled()[before..], true);
            }
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadTap<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
