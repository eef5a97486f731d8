//! The client binary as a subprocess: stdout line by line, stdin piped or not, SIGINT, exit.
// Compiled into each test crate that uses it, and each uses only part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// Upper bound on every wait, so a broken client fails a test instead of hanging it.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Running {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

/// Starts the client with `args`; `stdin` piped gives a writable stdin (piped mode).
pub fn start(args: &[&str], stdin: Stdio) -> Running {
    start_command(Command::new(env!("CARGO_BIN_EXE_client")).args(args), stdin)
}

pub fn start_command(command: &mut Command, stdin: Stdio) -> Running {
    let mut child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stdin = child.stdin.take();
    Running {
        child,
        stdin,
        lines,
    }
}

impl Running {
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("a line from the client in time")
    }

    /// Reads lines until one satisfies `wanted`; returns it.
    pub fn line_where(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the awaited line in time");
            if wanted(&line) {
                return line;
            }
        }
    }

    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin piped");
        stdin.write_all(bytes).expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Closes stdin: end of input.
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT worked");
    }

    /// Waits for the exit; returns the status, how long it took, the rest of stdout and stderr.
    pub fn wait(mut self) -> (ExitStatus, Duration, Vec<String>, String) {
        self.stdin.take();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    pipe.read_to_string(&mut stderr).expect("read stderr");
                }
                thread::sleep(Duration::from_millis(50));
                let rest = self.lines.try_iter().collect();
                return (status, started.elapsed(), rest, stderr);
            }
            if started.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("the client did not exit within {WAIT:?}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs the client with `input` on stdin to its end: exit code, stdout lines, stderr.
pub fn run_piped(args: &[&str], input: &[u8]) -> (Option<i32>, Vec<String>, String) {
    let mut client = start(args, Stdio::piped());
    let bytes = input.to_vec();
    let mut stdin = client.stdin.take().expect("stdin");
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let (status, _, rest, stderr) = client.wait();
    let _ = writer.join();
    (status.code(), rest, stderr)
}
