//! [`Guarded`]: a socket that closes itself when its connection's [`Slot`] says time is up or
//! that it was chosen to make room, while the connection is plain HTTP (or a TLS handshake).
//!
//! The deadline is checked wherever the connection's task touches the socket, and a timer is
//! armed for it with the same waker, so a connection that is silent (its task parked on a read)
//! is woken and closed on time. Once the connection is upgraded the wrapper lets go of its slot
//! and timer: a WebSocket pays one branch per read and write, and 8 bytes.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use actix_codec::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep_until, Instant, Sleep};

use super::registry::{Closed, Phase, Slot};

/// A socket and, until its connection is upgraded, the watch over its deadlines.
pub struct Guarded<T> {
    io: T,
    watch: Option<Box<Watch>>,
}

struct Watch {
    slot: Arc<Slot>,
    timer: Pin<Box<Sleep>>,
    /// The deadline the timer is set for, as the slot counts it.
    armed_ms: u64,
}

/// Gives the slot of a guarded socket, under whatever wraps it (TLS).
pub trait Watched {
    fn slot(&self) -> Option<Arc<Slot>>;
}

impl<T> Watched for Guarded<T> {
    fn slot(&self) -> Option<Arc<Slot>> {
        self.watch.as_ref().map(|watch| Arc::clone(&watch.slot))
    }
}

impl<T> Watched for tokio_rustls::server::TlsStream<Guarded<T>> {
    fn slot(&self) -> Option<Arc<Slot>> {
        self.get_ref().0.slot()
    }
}

impl<T> Guarded<T> {
    pub fn new(io: T, slot: Arc<Slot>) -> Self {
        let armed_ms = slot.deadline_ms();
        let timer = Box::pin(sleep_until(Instant::from_std(slot.deadline())));
        Guarded {
            io,
            watch: Some(Box::new(Watch {
                slot,
                timer,
                armed_ms,
            })),
        }
    }

    /// Closes the connection (an error for whoever drives it) if its time is up or it was
    /// chosen to make room; arms the timer for its deadline otherwise.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(watch) = self.watch.as_mut() else {
            return Ok(());
        };
        let slot = &watch.slot;
        if slot.phase() == Phase::Upgraded {
            self.watch = None;
            return Ok(());
        }
        slot.waker().register(cx.waker());
        if slot.is_evicted() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection (--max-http-connections)",
            ));
        }
        let deadline_ms = slot.deadline_ms();
        if deadline_ms != watch.armed_ms {
            watch.armed_ms = deadline_ms;
            let deadline = Instant::from_std(slot.deadline());
            watch.timer.as_mut().reset(deadline);
        }
        if watch.timer.as_mut().poll(cx).is_ready() {
            let why = slot.timeout_reason();
            slot.count_closed(why);
            let what = match why {
                Closed::Idle => "idle longer than --keep-alive",
                Closed::SlowRequest => "request took longer than --request-timeout",
                Closed::SlowHead | Closed::MadeRoom => {
                    "request head took longer than --handshake-timeout"
                }
            };
            return Err(io::Error::new(io::ErrorKind::TimedOut, what));
        }
        Ok(())
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
        if let (Poll::Ready(Ok(())), Some(watch)) = (&read, &this.watch) {
            if buf.filled().len() > before {
                watch.slot.bytes_arrived();
            }
        }
        read
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
