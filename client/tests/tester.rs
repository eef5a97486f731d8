//! The tester's modes and flags, each run as a user runs them: the binary as a subprocess
//! against the real backend or a server that records what the client did.

mod support {
    #[path = "../../../backend/tests/support/certificate.rs"]
    pub mod certificate;
    pub mod client_process;
    pub mod recording_server;
}

use std::{process::Stdio, time::Duration};

use backend::{server, Config};
use support::{
    client_process::{run_piped, start, start_command, WAIT},
    recording_server::{self, echoing, Behaviour},
};
use tokio_tungstenite::tungstenite::Message;

fn backend() -> server::Background {
    server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("backend starts")
}

#[test]
fn ticker_with_count_sends_n_waits_for_the_echoes_and_exits_0() {
    let backend = backend();
    let client = start(
        &[
            "--addr",
            &backend.addr.to_string(),
            "--count",
            "3",
            "--interval",
            "100ms",
        ],
        Stdio::null(),
    );
    let (status, took, lines, stderr) = client.wait();
    assert!(status.success(), "{stderr}");
    let echoes = lines.iter().filter(|l| l.starts_with("recv: ")).count();
    assert_eq!(echoes, 3, "{lines:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn piped_lines_are_sent_in_order_then_the_client_closes_with_1000() {
    let (addr, recording) = recording_server::start(echoing());
    let (code, lines, stderr) =
        run_piped(&["--url", &format!("ws://{addr}/")], b"one\ntwo\r\nthree");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        lines,
        [
            "connecting to ws://".to_owned() + &addr.to_string() + "/",
            "recv: one".into(),
            "recv: two".into(),
            "recv: three".into()
        ]
    );
    let recording = recording.recv_timeout(WAIT).expect("recording");
    assert_eq!(
        recording.messages,
        [
            Message::text("one"),
            Message::text("two"),
            Message::text("three")
        ]
    );
    assert_eq!(recording.close, Some((1000, String::new())));
}

#[test]
fn a_two_mebibyte_line_is_sent_whole() {
    let backend = backend();
    let line = "x".repeat(2 * 1024 * 1024);
    let (code, lines, stderr) = run_piped(
        &["--addr", &backend.addr.to_string(), "--json"],
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let recv: serde_json::Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "recv")
        .expect("a recv event");
    assert_eq!(recv["size"], 2 * 1024 * 1024);
}

#[test]
fn binary_from_stdin_hex_and_base64() {
    let backend = backend();
    let addr = backend.addr.to_string();
    let (code, lines, stderr) =
        run_piped(&["--addr", &addr, "--binary", "--quiet"], &[0, 1, 254, 255]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines, ["recv: <binary, 4 bytes> 00 01 fe ff"]);

    let (code, lines, stderr) =
        run_piped(&["--addr", &addr, "--hex", "--quiet"], b"00ff\n 0a 0b \n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        lines,
        [
            "recv: <binary, 2 bytes> 00 ff",
            "recv: <binary, 2 bytes> 0a 0b"
        ]
    );

    let (code, lines, stderr) = run_piped(&["--addr", &addr, "--base64", "--quiet"], b"aGk=\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines, ["recv: <binary, 2 bytes> 68 69"]);
}

#[test]
fn bad_hex_input_names_the_line_and_exits_2() {
    let backend = backend();
    let (code, _, stderr) = run_piped(&["--addr", &backend.addr.to_string(), "--hex"], b"00\nzz\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("stdin line 2") && stderr.contains("zz"),
        "{stderr}"
    );
}

#[test]
fn subprotocols_headers_origin_and_close_code_reach_the_server() {
    let (addr, recording) = recording_server::start(echoing());
    let (code, _, stderr) = run_piped(
        &[
            "--url",
            &format!("ws://{addr}/"),
            "--subprotocol",
            "chat",
            "--subprotocol",
            "superchat",
            "-H",
            "X-Test: yes",
            "--header",
            "Authorization: Bearer t0ken",
            "--origin",
            "http://page.example",
            "--close-code",
            "4001",
            "--close-reason",
            "all done",
        ],
        b"hi\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let recording = recording.recv_timeout(WAIT).expect("recording");
    assert_eq!(
        recording.header("sec-websocket-protocol"),
        Some("chat, superchat")
    );
    assert_eq!(recording.header("x-test"), Some("yes"));
    assert_eq!(recording.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(recording.header("origin"), Some("http://page.example"));
    assert_eq!(recording.close, Some((4001, "all done".to_owned())));
}

#[test]
fn a_foreign_origin_is_refused_by_the_backend_with_a_clear_error() {
    let backend = backend();
    let (code, _, stderr) = run_piped(
        &[
            "--addr",
            &backend.addr.to_string(),
            "--origin",
            "http://evil.example",
        ],
        b"hi\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("403") && stderr.contains("--allow-origin"),
        "{stderr}"
    );
}

#[test]
fn the_backend_agrees_to_the_first_subprotocol_offered() {
    let backend = backend();
    let (code, stdout, stderr) = run_piped(
        &[
            "--addr",
            &backend.addr.to_string(),
            "--subprotocol",
            "chat",
            "--subprotocol",
            "superchat",
        ],
        b"hi\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout
            .iter()
            .any(|line| line.ends_with("subprotocol: chat")),
        "{stdout:?}"
    );
}

#[test]
fn a_subprotocol_the_server_does_not_speak_is_explained() {
    let (addr, _recording) = recording_server::start(Behaviour {
        agree_subprotocol: false,
        ..echoing()
    });
    let (code, _, stderr) = run_piped(
        &["--url", &format!("ws://{addr}/"), "--subprotocol", "chat"],
        b"hi\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("accepted none of the --subprotocol values"),
        "{stderr}"
    );
}

#[test]
fn ping_interval_prints_each_pongs_round_trip() {
    let backend = backend();
    let client = start(
        &[
            "--addr",
            &backend.addr.to_string(),
            "--count",
            "2",
            "--interval",
            "400ms",
            "--ping-interval",
            "100ms",
        ],
        Stdio::null(),
    );
    let pong = client.line_where(|l| l.starts_with("pong: "));
    let ms: f64 = pong
        .trim_start_matches("pong: rtt ")
        .trim_end_matches(" ms")
        .parse()
        .unwrap_or_else(|_| panic!("a round-trip time in {pong:?}"));
    assert!((0.0..5000.0).contains(&ms), "{pong}");
    let (status, _, _, stderr) = client.wait();
    assert!(status.success(), "{stderr}");
}

#[test]
fn connect_timeout_gives_up_on_a_silent_server() {
    // Accepts TCP, never answers the handshake.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = start(
        &["--addr", &addr.to_string(), "--connect-timeout", "300ms"],
        Stdio::null(),
    );
    let (status, took, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--connect-timeout"), "{stderr}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(listener);
}

#[test]
fn json_has_one_event_per_line_with_round_trip_times() {
    let backend = backend();
    let (code, lines, stderr) =
        run_piped(&["--addr", &backend.addr.to_string(), "--json"], b"hello\n");
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["connecting", "send", "recv", "close"], "{lines:?}");
    let recv = &events[2];
    assert_eq!(
        (
            recv["type"].as_str(),
            recv["size"].as_u64(),
            recv["data"].as_str()
        ),
        (Some("text"), Some(5), Some("hello"))
    );
    assert!(
        recv["rtt_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{recv}"
    );
    assert!(recv.get("wire_size").is_none(), "no compression offered");
    assert!(events
        .iter()
        .all(|e| e["time"].as_str().is_some_and(|t| t.ends_with('Z'))));
    assert_eq!(events[3]["code"], 1000);
}

#[test]
fn timestamps_and_quiet() {
    let backend = backend();
    let addr = backend.addr.to_string();
    let (_, lines, _) = run_piped(&["--addr", &addr, "--timestamps"], b"hi\n");
    assert!(
        lines
            .iter()
            .all(|l| l.len() > 25 && l.as_bytes()[10] == b'T' && &l[24..25] == " "),
        "{lines:?}"
    );
    let (_, lines, _) = run_piped(&["--addr", &addr, "--quiet"], b"hi\n");
    assert_eq!(lines, ["recv: hi"]);
}

#[test]
fn a_server_closing_with_another_code_than_1000_exits_5() {
    let (addr, _recording) = recording_server::start(Behaviour {
        close_after: Some((1, 4002)),
        ..echoing()
    });
    let client = start(
        &["--url", &format!("ws://{addr}/"), "--interval", "100ms"],
        Stdio::null(),
    );
    let (status, _, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("4002"), "{stderr}");
}

#[test]
fn a_server_breaking_the_protocol_exits_4() {
    // Completes the handshake by hand, then sends a frame with a reserved opcode.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (mut stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut key = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            if line.to_ascii_lowercase().starts_with("sec-websocket-key:") {
                key = line["sec-websocket-key:".len()..].trim().to_owned();
            }
            if line == "\r\n" {
                break;
            }
        }
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        stream.write_all(response.as_bytes()).expect("write");
        stream.write_all(&[0x83, 0x00]).expect("write bad frame");
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = start(&["--addr", &addr.to_string()], Stdio::null());
    let (status, _, _, stderr) = client.wait();
    assert_eq!(status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("protocol error"), "{stderr}");
}

#[test]
fn reconnect_retries_with_backoff_and_gives_up_at_the_limit() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let client = start(
        &[
            "--addr",
            &addr.to_string(),
            "--reconnect",
            "--reconnect-limit",
            "2",
        ],
        Stdio::null(),
    );
    let (status, took, lines, stderr) = client.wait();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let attempts: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("reconnecting in"))
        .collect();
    assert_eq!(attempts.len(), 2, "{lines:?}");
    assert!(attempts[1].ends_with("(attempt 2 of 2)"), "{attempts:?}");
    assert!(stderr.contains("giving up after 2 attempts"), "{stderr}");
    assert!(
        took >= Duration::from_millis(700),
        "waited between attempts: {took:?}"
    );
}

#[test]
fn reconnect_resumes_after_the_backend_restarts() {
    let first = backend();
    let addr = first.addr;
    let client = start(
        &[
            "--addr",
            &addr.to_string(),
            "--reconnect",
            "--interval",
            "100ms",
        ],
        Stdio::null(),
    );
    client.line_where(|l| l.starts_with("recv: "));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(first.stop());
    client.line_where(|l| l.starts_with("reconnecting in"));
    let mut config = Config::listening_on(addr.to_string());
    config.addr = addr.to_string();
    let _second = server::start_in_background(config).expect("backend restarts on the same port");
    client.line_where(|l| l.starts_with("recv: "));
    client.interrupt();
    let (status, _, _, stderr) = client.wait();
    assert!(status.success(), "{stderr}");
}

#[test]
fn wss_with_a_self_signed_certificate_needs_ca_or_insecure() {
    let certificate = support::certificate::self_signed();
    let cert = certificate.cert.clone();
    let mut config = Config::listening_on("127.0.0.1:0");
    config.tls_cert = Some(cert.clone());
    config.tls_key = Some(certificate.key.clone());
    let backend = server::start_in_background(config).expect("TLS backend");
    let url = format!("wss://127.0.0.1:{}/echo", backend.addr.port());

    let (code, _, stderr) = run_piped(&["--url", &url], b"secret\n");
    assert_eq!(code, Some(1), "an unknown issuer is refused: {stderr}");
    assert!(
        stderr.contains("--ca") && stderr.contains("--insecure"),
        "says what to do: {stderr}"
    );

    let cert = cert.to_string_lossy().into_owned();
    let (code, lines, stderr) = run_piped(&["--url", &url, "--ca", &cert, "--quiet"], b"secret\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines, ["recv: secret"]);

    let (code, lines, stderr) = run_piped(&["--url", &url, "--insecure", "--quiet"], b"secret\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines, ["recv: secret"]);

    // Compression sits under the TLS-decrypted stream.
    let long = format!("{}\n", "secret ".repeat(100).trim_end());
    let (code, lines, stderr) = run_piped(
        &["--url", &url, "--insecure", "--quiet", "--compress"],
        long.as_bytes(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines, [format!("recv: {}", long.trim_end())]);
}

/// `GET /metrics` from the backend, as text.
fn metrics(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("response");
    text
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}

#[test]
fn compress_shows_the_agreement_and_wire_sizes_the_server_counts_too() {
    let backend = backend();
    let record = |i: usize| format!("{{\"id\":{i},\"name\":\"user-{i}\",\"active\":true}}");
    let big: String = (0..60).map(record).collect::<Vec<_>>().join(",");
    let input = format!("[{big}]\n{{\"another\":[{big}]}}\nshort\n");
    let (code, lines, stderr) = run_piped(
        &["--addr", &backend.addr.to_string(), "--compress", "--json"],
        input.as_bytes(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let agreed = events
        .iter()
        .find(|e| e["event"] == "compression")
        .expect("a compression event");
    assert!(
        agreed["agreed"]
            .as_str()
            .is_some_and(|a| a.starts_with("permessage-deflate")),
        "{agreed}"
    );
    // Sizes of the messages that went compressed, each way, as the client reports them.
    let mut compressed = [0u64; 2];
    for (at, event) in ["send", "recv"].into_iter().enumerate() {
        let mine: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == event).collect();
        assert_eq!(mine.len(), 3, "{lines:?}");
        for e in &mine {
            let (size, wire) = (e["size"].as_u64(), e["wire_size"].as_u64());
            let (Some(size), Some(wire)) = (size, wire) else {
                panic!("{event} without sizes: {e}");
            };
            if size > 100 {
                assert!(wire * 4 < size, "{event}: {wire} of {size} on the wire");
                compressed[at] += wire;
            } else {
                assert_eq!(wire, size, "a short message goes as it is: {e}");
            }
        }
        assert_eq!(mine[2]["data"], "short");
    }
    // The server counted the same bytes on its side of the wire.
    let metrics = metrics(backend.addr);
    assert_eq!(
        counter(
            &metrics,
            r#"echo_deflate_bytes_total{direction="in",stage="wire"}"#
        ),
        compressed[0]
    );
    assert_eq!(
        counter(
            &metrics,
            r#"echo_deflate_bytes_total{direction="out",stage="wire"}"#
        ),
        compressed[1]
    );
}

#[test]
fn compress_against_a_server_that_declines_says_so_and_still_echoes() {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.permessage_deflate = backend::config::Switch::Off;
    let backend = server::start_in_background(config).expect("backend starts");
    let (code, lines, stderr) = run_piped(
        &["--addr", &backend.addr.to_string(), "--compress"],
        b"plain as ever\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        lines[1..],
        [
            "compression: the server declined permessage-deflate; messages go uncompressed",
            "recv: plain as ever"
        ]
    );

    let (code, _, stderr) = run_piped(
        &["--addr", &backend.addr.to_string(), "--compress", "turbo"],
        b"x\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--compress: `turbo`"), "{stderr}");
}

#[test]
fn interactive_mode_under_a_pseudo_terminal() {
    let (addr, recording) = recording_server::start(echoing());
    let client_path = env!("CARGO_BIN_EXE_client");
    // `script` runs the client on a pseudo-terminal and forwards our stdin to it as keystrokes.
    let mut command = std::process::Command::new("script");
    command
        .args([
            "-qefc",
            &format!("{client_path} -i --url ws://{addr}/"),
            "/dev/null",
        ])
        .env("TERM", "xterm");
    let mut client = start_command(&mut command, Stdio::piped());
    std::thread::sleep(Duration::from_millis(500));
    client.write_stdin(b"hello there\r");
    client.line_where(|l| l.contains("recv: hello there"));
    client.write_stdin(b"/ping\r");
    client.line_where(|l| l.contains("pong: rtt"));
    client.write_stdin(b"/binary 00 ff\r");
    client.line_where(|l| l.contains("recv: <binary, 2 bytes> 00 ff"));
    client.write_stdin(b"/close 4001 typed\r");
    let (status, _, _, stderr) = client.wait();
    assert!(status.success(), "{stderr}");
    let recording = recording.recv_timeout(WAIT).expect("recording");
    assert_eq!(
        recording.messages,
        [Message::text("hello there"), Message::binary(vec![0, 255])]
    );
    assert_eq!(recording.close, Some((4001, "typed".to_owned())));
}

#[test]
fn verbose_prints_the_handshake_sent_and_answered_and_the_query_carries_faults() {
    let backend = backend();
    let url = format!("ws://{}/echo?close_after=1&close_code=4000", backend.addr);
    let (code, stdout, stderr) = run_piped(
        &["--url", &url, "-v", "--header", "X-Test: verbose"],
        b"hi\nsecond\n",
    );
    // The server closes after one echo, with 4000 as the URL asked: exit 5.
    assert_eq!(code, Some(5), "{stdout:?} {stderr}");
    let has = |line: &str| stdout.iter().any(|l| l == line);
    assert!(
        has("> GET /echo?close_after=1&close_code=4000 HTTP/1.1"),
        "{stdout:?}"
    );
    assert!(has("> x-test: verbose"), "{stdout:?}");
    assert!(
        stdout
            .iter()
            .any(|l| l.starts_with("> sec-websocket-key: ")),
        "{stdout:?}"
    );
    assert!(has("< HTTP/1.1 101 Switching Protocols"), "{stdout:?}");
    assert!(
        stdout.iter().any(|l| l.starts_with("< x-served-by: ")),
        "{stdout:?}"
    );
    let request_at = stdout.iter().position(|l| l.starts_with("> GET"));
    let response_at = stdout.iter().position(|l| l.starts_with("< HTTP"));
    let echo_at = stdout.iter().position(|l| l == "recv: hi");
    assert!(
        request_at < response_at && response_at < echo_at,
        "{stdout:?}"
    );

    let refused = format!("ws://{}/echo?refuse=503", backend.addr);
    let (code, stdout, stderr) = run_piped(&["--url", &refused, "-v"], b"hi\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout
            .iter()
            .any(|l| l == "< HTTP/1.1 503 Service Unavailable"),
        "{stdout:?}"
    );
    assert!(stderr.contains("refuse=503"), "{stderr}");

    let (code, stdout, stderr) = run_piped(
        &["--addr", &backend.addr.to_string(), "-v", "--json"],
        b"hi\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let request = events
        .iter()
        .find(|e| e["event"] == "request_head")
        .expect("request_head");
    assert_eq!(request["start"], "GET /echo HTTP/1.1");
    let response = events
        .iter()
        .find(|e| e["event"] == "response_head")
        .expect("response_head");
    assert_eq!(response["start"], "HTTP/1.1 101 Switching Protocols");
    assert!(response["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .any(|h| h[0] == "sec-websocket-accept"));
}

#[test]
fn a_server_that_never_pongs_fails_the_keepalive_check_with_exit_3() {
    let backend = backend();
    let url = format!("ws://{}/echo?pongs=off", backend.addr);
    let client = start(
        &[
            "--url",
            &url,
            "--interval",
            "100ms",
            "--ping-interval",
            "200ms",
            "--timeout",
            "600ms",
        ],
        Stdio::null(),
    );
    let (status, took, lines, stderr) = client.wait();
    assert_eq!(status.code(), Some(3), "{lines:?} {stderr}");
    assert!(stderr.contains("answered no ping within 600ms"), "{stderr}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Echoes still came: only the pongs are missing.
    assert!(
        lines.iter().any(|l| l.starts_with("recv: ")),
        "{lines:?} {stderr}"
    );
}
