//! The generator's own CPU time, from getrusage: a load generator must show when it, not the
//! server, was the limit.

use std::time::Instant;

pub struct Usage {
    cpu_seconds: f64,
    at: Instant,
}

pub struct Spent {
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
}

fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

impl Usage {
    pub fn now() -> Usage {
        Usage {
            cpu_seconds: process_cpu_seconds(),
            at: Instant::now(),
        }
    }

    pub fn since(&self) -> Spent {
        Spent {
            cpu_seconds: process_cpu_seconds() - self.cpu_seconds,
            wall_seconds: self.at.elapsed().as_secs_f64(),
        }
    }
}

impl Spent {
    pub fn percent_of_one_core(&self) -> f64 {
        100.0 * self.cpu_seconds / self.wall_seconds.max(1e-9)
    }
}
