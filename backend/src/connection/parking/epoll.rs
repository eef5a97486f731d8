//! One epoll instance of our own: the sockets of a worker's parked connections, each under a
//! key, watched for input (or the peer's end) while no task polls them.
//!
//! It is registered with tokio once, as one file descriptor ([`tokio::io::unix::AsyncFd`]): an
//! epoll instance is itself readable when any socket in it is ready. The sockets in it are
//! level-triggered, and each is removed before its connection goes back to a task.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

/// Most events taken from the kernel in one call.
pub const MAX_EVENTS: usize = 256;

/// An epoll instance (closed when dropped).
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new descriptor
        // that nothing else owns.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: see above: `fd` is open and ours alone.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `socket` for input, the peer's end and errors, under `key`.
    pub fn add(&self, socket: RawFd, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: key,
        };
        // SAFETY: `event` lives across the call; the kernel copies it.
        let done = unsafe {
            libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, socket, &mut event)
        };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Stops watching `socket`.
    pub fn remove(&self, socket: RawFd) -> io::Result<()> {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL (since Linux 2.6.9).
        let done = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                socket,
                std::ptr::null_mut(),
            )
        };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The keys of the sockets ready now (at most [`MAX_EVENTS`]), without waiting, into `keys`
    /// (cleared first).
    pub fn ready(&self, keys: &mut Vec<u64>) -> io::Result<()> {
        keys.clear();
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
        // SAFETY: `events` has room for MAX_EVENTS entries, as the call is told.
        let count = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                MAX_EVENTS as libc::c_int,
                0,
            )
        };
        if count < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(error),
            };
        }
        keys.extend(events[..count as usize].iter().map(|event| event.u64));
        Ok(())
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write, os::unix::net::UnixStream};

    use super::*;

    #[test]
    fn a_socket_is_ready_under_its_key_once_input_arrives_and_not_after_removal() {
        let epoll = Epoll::new().expect("epoll");
        let (mut peer, socket) = UnixStream::pair().expect("pair");
        epoll.add(socket.as_raw_fd(), 7).expect("add");
        let mut keys = Vec::new();
        epoll.ready(&mut keys).expect("wait");
        assert!(keys.is_empty(), "nothing to read yet: {keys:?}");
        peer.write_all(b"x").expect("write");
        epoll.ready(&mut keys).expect("wait");
        assert_eq!(keys, [7]);
        epoll.ready(&mut keys).expect("wait");
        assert_eq!(keys, [7], "level-triggered: still unread");
        epoll.remove(socket.as_raw_fd()).expect("remove");
        epoll.ready(&mut keys).expect("wait");
        assert!(keys.is_empty());
    }

    #[test]
    fn the_peers_end_makes_a_socket_ready() {
        let epoll = Epoll::new().expect("epoll");
        let (peer, socket) = UnixStream::pair().expect("pair");
        epoll.add(socket.as_raw_fd(), 3).expect("add");
        drop(peer);
        let mut keys = Vec::new();
        epoll.ready(&mut keys).expect("wait");
        assert_eq!(keys, [3]);
    }
}
