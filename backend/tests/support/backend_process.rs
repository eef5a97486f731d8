//! The release backend as a separate process for the attack tests (memory_bound.rs,
//! hostile_peers.rs): started on 127.0.0.1:0 with no bundle, optionally under
//! `prlimit --nofile=N:N`, its stderr collected line by line, its memory read from /proc.
// Compiled into each test crate that uses it, and each uses only part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use super::raw_client::http_get;

/// The backend under test, with its stderr read into lines by a thread.
pub struct Backend {
    pub child: Child,
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Backend {
    pub fn start(args: &[&str]) -> Backend {
        Backend::start_under(None, args)
    }

    /// Starts it under `prlimit --nofile=N:N` if `fd_limit` is given.
    pub fn start_under(fd_limit: Option<u64>, args: &[&str]) -> Backend {
        let mut child = command(fd_limit, args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("backend starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = Arc::clone(&lines);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                kept.lock().expect("lines").push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the backend logs its address");
        Backend { child, addr, lines }
    }

    /// Every line logged so far.
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// How many lines logged so far contain `text`.
    pub fn logged(&self, text: &str) -> usize {
        let lines = self.lines.lock().expect("lines");
        lines.iter().filter(|line| line.contains(text)).count()
    }

    /// The value of the /metrics line that starts with `line_start` (a name, or a name with its
    /// labels), 0 if there is none.
    pub async fn metric(&self, line_start: &str) -> f64 {
        let text = http_get(self.addr, "/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn status_bytes(&self, field: &str) -> u64 {
        status_bytes(self.child.id(), field)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release backend's command line: 127.0.0.1:0, no bundle (`/` is the not-built page), `args`.
pub fn command(fd_limit: Option<u64>, args: &[&str]) -> Command {
    let binary = env!("CARGO_BIN_EXE_backend");
    let mut command = match fd_limit {
        Some(limit) => {
            let mut command = Command::new("prlimit");
            command.arg(format!("--nofile={limit}:{limit}")).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .args(["--addr", "127.0.0.1:0", "--dist", "/nonexistent-dist"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// The address in a `listening on http(s)://ADDR` line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line
        .split("listening on http://")
        .nth(1)
        .or_else(|| line.split("listening on https://").nth(1))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// A line of /proc/PID/status, in bytes (`VmRSS`: resident now, `VmHWM`: the peak).
pub fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    kib * 1024
}
