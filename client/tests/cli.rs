//! The original client's behaviour, kept as the default: against the real backend, a recording
//! server, and nothing at all; interrupted with a real SIGINT.

mod support {
    pub mod client_process;
    pub mod recording_server;
}

use std::{process::Stdio, time::Duration};

use backend::{server, Config};
use support::{
    client_process::{start, Running, WAIT},
    recording_server::{self, echoing},
};

/// The client with stdin on /dev/null: the ticker, as when started from a shell.
fn start_ticker(args: &[&str]) -> Running {
    start(args, Stdio::null())
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
    let client = start_ticker(&["--addr", &backend.addr.to_string()]);

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
    let (status, took, _, stderr) = client.wait();
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

#[test]
fn ctrl_c_sends_close_1000_and_waits_for_the_answer() {
    let (addr, recording) = recording_server::start(echoing());
    let client = start_ticker(&["--url", &format!("ws://{addr}/anything")]);
    assert_eq!(
        client.next_line(),
        format!("connecting to ws://{addr}/anything")
    );
    assert!(client.next_line().starts_with("recv: "));
    client.interrupt();
    let (status, _, _, stderr) = client.wait();
    assert!(status.success(), "{status:?}; stderr: {stderr}");
    let recording = recording
        .recv_timeout(WAIT)
        .expect("the server saw the session");
    assert_eq!(recording.close, Some((1000, String::new())));
}

#[test]
fn a_refused_connection_is_one_line_and_exit_1() {
    // A port that was free a moment ago and has no listener now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let client = start_ticker(&["--addr", &addr.to_string()]);
    let (status, _, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("error: could not connect to ws://{addr}/echo")),
        "{stderr}"
    );
}

#[test]
fn a_bad_url_is_refused_with_exit_2() {
    let client = start_ticker(&["--url", "http://127.0.0.1:1/echo"]);
    let (status, _, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("scheme must be ws://"), "{stderr}");
}

#[test]
fn a_lost_connection_ends_the_client_with_exit_3() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("backend starts");
    let client = start_ticker(&["--addr", &backend.addr.to_string()]);
    assert!(client.next_line().starts_with("connecting to"));
    assert!(client.next_line().starts_with("recv: "));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(backend.stop());
    let (status, _, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("connection was lost"),
        "says what happened: {stderr}"
    );
}
