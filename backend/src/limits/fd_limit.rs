//! The process's file descriptor limit: every connection is one, and the soft limit systemd and
//! most shells start a process with (1,024) is far below what the server is configured for, so
//! at start-up the soft limit is raised to the hard one (which needs no privilege).

/// The soft limit now (what `open`/`accept` are held to), if it can be read.
pub fn soft_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (result == 0).then_some(limit.rlim_cur)
}

/// What raising the soft limit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: u64,
    pub after: u64,
}

/// Raises the soft limit to the hard limit.
pub fn raise_to_hard_limit() -> std::io::Result<Raised> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(Raised {
            before,
            after: limit.rlim_cur,
        })
    }
}

/// Descriptors the server uses besides connections: listeners, epoll, eventfds, the log,
/// static files being sent.
pub const RESERVED: u64 = 64;
