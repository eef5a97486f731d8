//! The backend binary as an operator runs it: signals, exit codes, configuration errors.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{protocol::frame::coding::CloseCode, protocol::CloseFrame, Message},
};

const WAIT: Duration = Duration::from_secs(15);

fn backend() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backend"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1");
    command
}

/// Runs the binary with `args` to its end; returns the exit code and stderr.
fn run_to_end(command: &mut Command) -> (Option<i32>, String) {
    let output = command.stdin(Stdio::null()).output().expect("backend runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn invalid_flags_exit_2_naming_the_flag() {
    let (code, stderr) = run_to_end(backend().args(["--max-connections", "0"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--max-connections"), "{stderr}");

    let (code, stderr) =
        run_to_end(backend().args(["--ping-interval", "30s", "--idle-timeout", "10s"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--idle-timeout") && stderr.contains("--ping-interval"),
        "{stderr}"
    );

    let (code, stderr) = run_to_end(backend().env("ECHO_MAX_FRAME_BYTES", "lots"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--max-frame-bytes"),
        "the env variable's flag is named: {stderr}"
    );
}

#[test]
fn an_address_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (code, stderr) = run_to_end(backend().args(["--addr", &addr]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("--addr"),
        "{stderr}"
    );
}

#[test]
fn sigterm_closes_connections_with_1001_and_exits_0() {
    signal_closes_connections_with_1001_and_exits_0("TERM");
}

#[test]
fn sigint_closes_connections_with_1001_and_exits_0() {
    signal_closes_connections_with_1001_and_exits_0("INT");
}

/// The backend as a child process, its stderr arriving line by line.
struct RunningBackend {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    seen: Vec<String>,
    addr: String,
}

/// Starts the backend on a free port with `args`; returns once it logged its address.
fn start_backend(args: &[&str]) -> RunningBackend {
    let mut child = backend()
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("backend starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(WAIT)
            .expect("the backend logs its address");
        seen.push(line.clone());
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .expect("address")
                .to_owned();
        }
    };
    RunningBackend {
        child,
        lines,
        seen,
        addr,
    }
}

impl RunningBackend {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the exit; returns the status, how long it took, and every stderr line.
    fn wait(mut self) -> (std::process::ExitStatus, Duration, Vec<String>) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(started.elapsed() < WAIT, "the backend did not exit");
            thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        thread::sleep(Duration::from_millis(50));
        self.seen.extend(self.lines.try_iter());
        (status, took, self.seen)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn signal_closes_connections_with_1001_and_exits_0(signal: &str) {
    let backend = start_backend(&["--shutdown-grace", "5s"]);
    runtime().block_on(async {
        let (mut client, _) = connect_async(format!("ws://{}/echo", backend.addr))
            .await
            .expect("connect");
        backend.signal(signal);
        match tokio::time::timeout(WAIT, client.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
            other => panic!("expected close 1001, got {other:?}"),
        }
        while client.next().await.is_some() {}
    });
    let (status, took, lines) = backend.wait();
    assert!(status.success(), "exit 0 after SIG{signal}, got {status:?}");
    assert!(
        took < Duration::from_secs(4),
        "did not wait out the grace: {took:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("SIG{signal} received"))),
        "{lines:?}"
    );
}

/// Runs the backend with `args`, echoes one message on one connection that closes with 1000,
/// stops it with SIGTERM and returns every stderr line.
fn log_lines_of_one_session(args: &[&str]) -> Vec<String> {
    log_lines_of_messages(args, 1, Duration::from_millis(200))
}

/// As [`log_lines_of_one_session`], with `count` messages, and `linger` before the SIGTERM.
fn log_lines_of_messages(args: &[&str], count: usize, linger: Duration) -> Vec<String> {
    let backend = start_backend(args);
    runtime().block_on(async {
        use futures_util::SinkExt;
        let (mut client, _) = connect_async(format!("ws://{}/echo", backend.addr))
            .await
            .expect("connect");
        for _ in 0..count {
            client.send(Message::text("hello log")).await.expect("send");
            client.next().await.expect("echo").expect("frame");
        }
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        client.close(Some(normal)).await.expect("close");
        while client.next().await.is_some() {}
    });
    thread::sleep(linger);
    backend.signal("TERM");
    let (status, _, lines) = backend.wait();
    assert!(status.success());
    lines
}

#[test]
fn json_logs_have_one_line_per_connection_open_and_close_with_its_figures() {
    let lines = log_lines_of_one_session(&["--log-format", "json"]);
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let message =
        |event: &serde_json::Value| event["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        events.iter().any(|e| message(e) == "recv: hello log"),
        "{lines:?}"
    );
    let opened = events
        .iter()
        .find(|e| message(e) == "connection opened")
        .expect("an open line");
    assert!(
        opened["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{opened}"
    );
    let closed = events
        .iter()
        .find(|e| message(e).starts_with("connection closed"))
        .expect("a close line");
    assert_eq!(closed["messages_in"], 1, "{closed}");
    assert_eq!(closed["bytes_in"], 9, "{closed}");
    assert_eq!(closed["messages_out"], 1, "{closed}");
    assert_eq!(closed["close_code"], "1000", "{closed}");
    assert!(closed["duration_ms"].is_u64(), "{closed}");
}

#[test]
fn quiet_drops_the_recv_lines_but_keeps_the_connection_lines() {
    let lines = log_lines_of_one_session(&["--quiet"]);
    assert!(!lines.iter().any(|l| l.contains("recv:")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("connection opened")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("connection closed")),
        "{lines:?}"
    );
}

#[test]
fn unreadable_tls_files_exit_2_naming_the_flag() {
    let (code, stderr) = run_to_end(backend().args([
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
    ]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--tls-cert /nonexistent/cert.pem"),
        "{stderr}"
    );
    let (code, stderr) = run_to_end(backend().args(["--tls-cert", "/etc/hostname"]));
    assert_eq!(code, Some(2), "--tls-cert needs --tls-key: {stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

/// The `recv:` lines of the messages [`log_lines_of_messages`] sends.
fn hello_lines(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.ends_with("recv: hello log"))
        .count()
}

#[test]
fn past_the_log_rate_messages_are_summed_up_once_a_second() {
    let lines = log_lines_of_messages(&["--log-rate", "10"], 50, Duration::from_millis(2500));
    let shown = hello_lines(&lines);
    assert!(
        (10..=20).contains(&shown),
        "10 a second: {shown} in {lines:?}"
    );
    let unshown: u64 = lines
        .iter()
        .filter_map(|l| {
            l.split("recv: ")
                .nth(1)?
                .split(" more messages")
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(
        shown as u64 + unshown,
        50,
        "every message shown or counted: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not shown (over --log-rate 10 lines/s)")),
        "{lines:?}"
    );
}

#[test]
fn log_rate_0_shows_every_message() {
    let lines = log_lines_of_messages(&["--log-rate", "0"], 2000, Duration::from_millis(200));
    assert_eq!(hello_lines(&lines), 2000);
}
