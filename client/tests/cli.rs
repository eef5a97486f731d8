//! The client binary as a user runs it: against the real backend, a recording server, and
//! nothing at all; interrupted with a real SIGINT.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use backend::{server, Config};

/// Upper bound on every wait in these tests, so a broken client fails instead of hanging.
const WAIT: Duration = Duration::from_secs(10);

/// The client process with its stdout arriving line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

/// The client with stdin on /dev/null: the ticker, as when started from a shell in the background.
fn start_client(args: &[&str]) -> Running {
    start_client_with_stdin(args, Stdio::null())
}

fn start_client_with_stdin(args: &[&str], stdin: Stdio) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
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
    Running { child, lines }
}

impl Running {
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("a line from the client in time")
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT worked");
    }

    /// Waits for the exit; returns the status and how long it took.
    fn wait(mut self) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
                }
                return (status, started.elapsed(), stderr);
            }
            if started.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("the client did not exit within {WAIT:?}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn is_rfc3339_millis(text: &str) -> bool {
    // e.g. 2026-11-24T23:08:34.123Z
    text.len() == 24
        && text.as_bytes()[10] == b'T'
        && text.ends_with('Z')
        && text[..4].parse::<u16>().is_ok()
}

#[test]
fn prints_echoes_of_the_time_and_exits_0_on_ctrl_c() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("backend starts");
    let client = start_client(&["--addr", &backend.addr.to_string()]);

    assert_eq!(
        client.next_line(),
        format!("connecting to ws://{}/echo", backend.addr)
    );
    for _ in 0..2 {
        let line = client.next_line();
        let time = line
            .strip_prefix("recv: ")
            .unwrap_or_else(|| panic!("a recv line: {line:?}"));
        assert!(
            is_rfc3339_millis(time),
            "the echo is the time it sent: {line:?}"
        );
    }
    client.interrupt();
    assert_eq!(client.next_line(), "interrupt");
    let (status, took, stderr) = client.wait();
    assert!(
        status.success(),
        "exit 0 after Ctrl-C, got {status:?}; stderr: {stderr}"
    );
    assert!(
        took < Duration::from_secs(2),
        "closed promptly, took {took:?}"
    );
    assert!(
        stderr.is_empty(),
        "a clean close says nothing on stderr: {stderr}"
    );
}

/// A one-connection WebSocket server that echoes and reports the close code it receives.
fn recording_server() -> (SocketAddr, mpsc::Receiver<Option<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            use futures_util::{SinkExt, StreamExt};
            use tokio_tungstenite::tungstenite::Message;
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let (stream, _) = listener.accept().await.expect("accept");
            let mut socket = tokio_tungstenite::accept_async(stream)
                .await
                .expect("handshake");
            while let Some(Ok(message)) = socket.next().await {
                match message {
                    Message::Close(frame) => {
                        let _ = tx.send(frame.map(|f| u16::from(f.code)));
                        // tungstenite answers the close itself; drain until the stream ends.
                        while socket.next().await.is_some() {}
                        return;
                    }
                    Message::Text(_) | Message::Binary(_) => {
                        let _ = socket.send(message).await;
                    }
                    _ => {}
                }
            }
        });
    });
    (addr, rx)
}

#[test]
fn ctrl_c_sends_close_1000_and_waits_for_the_answer() {
    let (addr, close_codes) = recording_server();
    let client = start_client(&["--url", &format!("ws://{addr}/anything")]);
    assert_eq!(
        client.next_line(),
        format!("connecting to ws://{addr}/anything")
    );
    assert!(client.next_line().starts_with("recv: "));
    client.interrupt();
    let code = close_codes
        .recv_timeout(WAIT)
        .expect("the server saw a close frame");
    assert_eq!(code, Some(1000));
    let (status, _, stderr) = client.wait();
    assert!(status.success(), "{status:?}; stderr: {stderr}");
}

#[test]
fn a_refused_connection_is_one_line_and_exit_1() {
    // A port that was free a moment ago and has no listener now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let client = start_client(&["--addr", &addr.to_string()]);
    let (status, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("error: could not connect to ws://{addr}/echo")),
        "{stderr}"
    );
}

#[test]
fn a_bad_url_is_refused_with_exit_2() {
    let client = start_client(&["--url", "http://127.0.0.1:1/echo"]);
    let (status, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("scheme must be ws://"), "{stderr}");
}

#[test]
fn the_server_closing_ends_the_client_with_exit_3() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("backend starts");
    let client = start_client(&["--addr", &backend.addr.to_string()]);
    assert!(client.next_line().starts_with("connecting to"));
    assert!(client.next_line().starts_with("recv: "));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(backend.stop());
    let (status, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("connection"),
        "says what happened: {stderr}"
    );
}
