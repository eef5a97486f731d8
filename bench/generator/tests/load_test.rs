//! The bench as a load test for any server, run as a user would (the binary, real sockets):
//! wss:// with a self-signed certificate (`--ca`, `--insecure`), headers and a subprotocol as a
//! recording server saw them, a ramp whose connections arrive as spread as asked, handshake
//! percentiles, thresholds and their exit status, the live line only on a terminal.

#[path = "../../../client/tests/support/recording_server.rs"]
mod recording_server;

#[path = "../../../backend/tests/support/certificate.rs"]
mod certificate;

use std::{
    io::Read,
    net::SocketAddr,
    os::fd::{FromRawFd, OwnedFd},
    process::{Command, Output, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use backend::{server, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        .output()
        .expect("the bench runs")
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON line ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The backend over TLS with a fresh self-signed certificate for 127.0.0.1; the certificate
/// (its files live as long as it does) is returned with the server.
fn tls_backend() -> (server::Background, certificate::SelfSigned) {
    let certificate = certificate::self_signed();
    let mut config = Config::listening_on("127.0.0.1:0");
    config.tls_cert = Some(certificate.cert.clone());
    config.tls_key = Some(certificate.key.clone());
    let running = server::start_in_background(config).expect("TLS backend");
    (running, certificate)
}

#[test]
fn wss_with_a_self_signed_certificate_runs_with_ca_or_insecure_and_is_refused_without() {
    let (backend, certificate) = tls_backend();
    let cert = certificate.cert_path();
    let url = format!("wss://127.0.0.1:{}/echo", backend.addr.port());
    for mode in ["ping-pong", "flood", "rate", "idle"] {
        let output = bench(&[
            "--url",
            &url,
            "--ca",
            &cert,
            "--mode",
            mode,
            "--duration",
            "1500ms",
            "--connections",
            "4",
            "--rate",
            "2000",
            "--json",
        ]);
        let run = json_of(&output);
        assert_eq!(output.status.code(), Some(0), "{mode}: {run}");
        assert_eq!(run["errors"], 0, "{mode}: {run}");
        assert!(run["received"].as_u64() > Some(0), "{mode}: {run}");
        assert_eq!(run["handshake"]["tls"]["count"], 4, "{mode}: {run}");
    }
    let output = bench(&[
        "--url",
        &url,
        "--insecure",
        "--duration",
        "1s",
        "--connections",
        "2",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    assert!(run["received"].as_u64() > Some(100), "{run}");

    // Without either, the certificate is refused: counted as a TLS failure, and the run, which
    // opened nothing, ends with 1 and says so.
    let output = bench(&[
        "--url",
        &url,
        "--duration",
        "1s",
        "--connections",
        "2",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{run}");
    assert_eq!(run["connect_failures"]["tls"], 2, "{run}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no connection opened"), "{stderr}");
}

#[test]
fn headers_origin_and_subprotocol_reach_the_server() {
    let (addr, recordings) = recording_server::start(recording_server::echoing());
    let output = bench(&[
        "--url",
        &format!("ws://{addr}/ws"),
        "--connections",
        "1",
        "--duration",
        "500ms",
        "-H",
        "Authorization: Bearer t0ken",
        "--header",
        "X-Trace: 42",
        "--subprotocol",
        "chat.v2",
        "--origin",
        "http://app.example",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    let seen = recordings
        .recv_timeout(Duration::from_secs(20))
        .expect("the server's recording");
    assert_eq!(seen.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(seen.header("x-trace"), Some("42"));
    assert_eq!(seen.header("sec-websocket-protocol"), Some("chat.v2"));
    assert_eq!(seen.header("origin"), Some("http://app.example"));
    assert!(!seen.messages.is_empty());
}

#[test]
fn a_subprotocol_the_server_refuses_is_a_failed_connection() {
    let (addr, _recordings) = recording_server::start(recording_server::Behaviour {
        close_after: None,
        agree_subprotocol: false,
    });
    let output = bench(&[
        "--url",
        &format!("ws://{addr}/ws"),
        "--connections",
        "1",
        "--duration",
        "500ms",
        "--subprotocol",
        "chat.v2",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{run}");
    assert_eq!(run["connect_failures"]["other"], 1, "{run}");
}

/// A WebSocket echo that notes when each connection was accepted.
fn accept_timing_echo() -> (SocketAddr, Arc<Mutex<Vec<Instant>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                noted.lock().expect("lock").push(Instant::now());
                tokio::spawn(async move {
                    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Some(Ok(message)) = socket.next().await {
                        if message.is_text() || message.is_binary() {
                            let _ = socket.send(message).await;
                        }
                    }
                });
            }
        });
    });
    (addr, accepted)
}

#[test]
fn a_ramp_spreads_the_connections_over_its_time() {
    let (addr, accepted) = accept_timing_echo();
    let began = Instant::now();
    let output = bench(&[
        "--url",
        &format!("ws://{addr}/"),
        "--connections",
        "10",
        "--ramp",
        "2s",
        "--duration",
        "500ms",
        "--mode",
        "rate",
        "--rate",
        "200",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    let times: Vec<f64> = accepted
        .lock()
        .expect("lock")
        .iter()
        .map(|t| t.duration_since(began).as_secs_f64())
        .collect();
    assert_eq!(times.len(), 10, "{times:?}");
    // Connection k opens at k * 0.2 s of the ramp: the first two tenths of a second in, the
    // last at its end, none bunched (no gap much over a step, none near zero on average).
    let span = times[9] - times[0];
    assert!((1.5..2.3).contains(&span), "{times:?}");
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|&gap| gap < 0.45), "{gaps:?}");
    assert!(
        gaps.iter().filter(|&&gap| gap > 0.1).count() >= 7,
        "{gaps:?}"
    );
    assert_eq!(run["duration_s"], 2.5, "{run}");
}

#[test]
fn handshake_percentiles_are_reported_and_ordered() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let output = bench(&[
        "--url",
        &backend.echo_url(),
        "--connections",
        "30",
        "--duration",
        "500ms",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    for step in ["total", "connect", "upgrade"] {
        let figures = &run["handshake"][step];
        assert_eq!(figures["count"], 30, "{step}: {run}");
        let at = |key: &str| figures[key].as_u64().unwrap_or(0);
        assert!(at("p50_us") >= 1, "{step}: {figures}");
        assert!(
            at("p50_us") <= at("p90_us")
                && at("p90_us") <= at("p99_us")
                && at("p99_us") <= at("max_us"),
            "{step}: {figures}"
        );
    }
    // The whole opening takes at least as long as its TCP connect.
    let total = run["handshake"]["total"]["max_us"].as_u64();
    assert!(
        total >= run["handshake"]["connect"]["max_us"].as_u64(),
        "{run}"
    );
    assert!(
        run["handshake"].get("tls").is_none(),
        "no TLS on ws://: {run}"
    );
}

#[test]
fn a_broken_threshold_exits_3_naming_it_and_thresholds_met_exit_0() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let url = backend.echo_url();
    let output = bench(&[
        "--url",
        &url,
        "--connections",
        "2",
        "--duration",
        "500ms",
        "--max-p99",
        "1us",
        "--max-handshake-p99",
        "1us",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("threshold broken: --max-p99 1µs (the run's figure: p99 "),
        "{stderr}"
    );
    assert!(
        stderr.contains("threshold broken: --max-handshake-p99 1µs"),
        "{stderr}"
    );

    let output = bench(&[
        "--url",
        &url,
        "--connections",
        "2",
        "--duration",
        "500ms",
        "--max-p99",
        "10s",
        "--min-rate",
        "10",
        "--max-handshake-p99",
        "10s",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    assert_eq!(run["thresholds_broken"], serde_json::json!([]), "{run}");

    // --max-errors is 0 unless given: a server that is not there breaks it... but a run that
    // opened nothing measured nothing, which is exit 1; one of two connections refused (a
    // server full after one) is exit 3.
    let mut config = Config::listening_on("127.0.0.1:0");
    config.max_connections = 1;
    let full = server::start_in_background(config).expect("server starts");
    let output = bench(&[
        "--url",
        &full.echo_url(),
        "--connections",
        "2",
        "--duration",
        "500ms",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(3), "{run}");
    assert_eq!(run["connect_failures"]["http_503"], 1, "{run}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--max-errors 0 (the run's figure: 1 errors)"),
        "{stderr}"
    );
    let output = bench(&[
        "--url",
        &full.echo_url(),
        "--connections",
        "2",
        "--duration",
        "500ms",
        "--max-errors",
        "1",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", json_of(&output));
}

/// Runs the bench with its stdout on a pseudo-terminal; what it drew there.
fn on_a_terminal(args: &[&str]) -> (Option<i32>, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes the two descriptors it opens; no name, termios or size asked.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bench runs");
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut drawn = Vec::new();
        let mut chunk = [0u8; 4096];
        // Ends with EIO once the child (the slave's last holder) exits.
        while let Ok(n) = file.read(&mut chunk) {
            if n == 0 {
                break;
            }
            drawn.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&drawn).into_owned()
    });
    let status = child.wait().expect("wait");
    (status.code(), reader.join().expect("reader"))
}

#[test]
fn the_live_line_is_drawn_on_a_terminal_and_not_when_piped() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let url = backend.echo_url();
    let args = [
        "--url",
        url.as_str(),
        "--connections",
        "3",
        "--duration",
        "2s",
    ];
    let (code, drawn) = on_a_terminal(&args);
    assert_eq!(code, Some(0), "{drawn}");
    assert!(drawn.contains(" open  "), "{drawn}");
    assert!(drawn.contains("msgs/s  p99 "), "{drawn}");
    assert!(drawn.contains("/ 2s"), "{drawn}");
    assert!(drawn.contains("p99.9 µs"), "the table follows: {drawn}");

    let piped = bench(&args);
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert_eq!(piped.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.contains(" open  ") && !stdout.contains('\r'),
        "{stdout}"
    );
    assert!(stdout.contains("p99.9 µs"), "{stdout}");
    // --json on a terminal: the one line, nothing drawn.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (code, drawn) = on_a_terminal(&json_args);
    assert_eq!(code, Some(0), "{drawn}");
    assert!(!drawn.contains(" open  "), "{drawn}");
    assert!(
        serde_json::from_str::<Value>(drawn.trim()).is_ok(),
        "{drawn}"
    );
}

#[test]
fn stages_raise_and_lower_the_connections_in_idle_and_rate_modes() {
    let backend =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let url = backend.echo_url();
    let output = bench(&[
        "--url",
        &url,
        "--mode",
        "idle",
        "--stages",
        "1s:6,1s:6,1s:0",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    let open: Vec<u64> = run["per_second"]
        .as_array()
        .expect("per_second")
        .iter()
        .map(|s| s["open"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(open.iter().max(), Some(&6), "{open:?}");
    assert_eq!(open.last(), Some(&0), "all closed at the end: {open:?}");
    assert_eq!(run["handshake"]["total"]["count"], 6, "{run}");
    // Idle under stages: each connection proves itself with one echo when it opens.
    assert_eq!(run["received"], 6, "{run}");
    assert_eq!(run["duration_s"], 3.0, "{run}");

    let output = bench(&[
        "--url",
        &url,
        "--mode",
        "rate",
        "--rate",
        "400",
        "--stages",
        "500ms:4,1s:4",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    let received = run["received"].as_u64().unwrap_or(0);
    // 400/s at the peak for 1 s, and ramping for half a second: about 500.
    assert!((300..700).contains(&received), "{run}");
}

#[test]
fn compressed_messages_over_wss() {
    let (backend, certificate) = tls_backend();
    let cert = certificate.cert_path();
    let url = format!("wss://127.0.0.1:{}/echo", backend.addr.port());
    let output = bench(&[
        "--url",
        &url,
        "--ca",
        &cert,
        "--compress",
        "--size",
        "2000",
        "--connections",
        "2",
        "--duration",
        "1s",
        "--json",
    ]);
    let run = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{run}");
    assert_eq!(run["compress"], true, "{run}");
    assert!(run["received"].as_u64() > Some(10), "{run}");
    assert!(run["sent_wire_ratio"].as_f64() < Some(0.9), "{run}");
}

#[test]
fn a_report_that_cannot_be_written_is_said_before_the_run() {
    let began = Instant::now();
    let output = bench(&[
        "--addr",
        "127.0.0.1:9",
        "--duration",
        "30s",
        "--report",
        "/nonexistent-dir/run.html",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--report /nonexistent-dir/run.html: cannot write there"),
        "{stderr}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}
