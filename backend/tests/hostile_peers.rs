//! Attacks on what surrounds the WebSocket path, against the release backend as a separate
//! process: a keep-alive slowloris under a 1,024 descriptor limit, thousands of silent TLS
//! connections, a log reader that stops reading, and peer text that tries to forge log lines.
//!
//! Ignored by plain `cargo test` (thousands of sockets, tens of megabytes of log); the test
//! command runs it with memory_bound: `cargo test --release -p backend --test hostile_peers --
//! --ignored --test-threads 1 --nocapture`, which prints the figures.

mod support {
    pub mod backend_process;
    pub mod certificate;
    pub mod raw_client;
}

use std::{
    fs::File,
    io::Read,
    net::SocketAddr,
    os::unix::fs::OpenOptionsExt,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use support::{
    backend_process::{command, listening_addr, Backend},
    raw_client::{http_get, RawClient, TEXT},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// The head timeout these tests give the backend.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// A GET on a fresh connection; true if a whole status line came back within a second.
async fn answered(addr: SocketAddr, path: &str, status: &str) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(format!("HTTP/1.1 {status}").as_bytes()))
    };
    matches!(
        timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(true))
    )
}

/// A fresh WebSocket's echo within a second.
async fn echoes(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = support::raw_client::upgrade_request(addr, "");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).await.ok()?;
            head.push(byte[0]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return None;
        }
        let frame = support::raw_client::encode(true, 0, TEXT, b"are you there", true);
        stream.write_all(&frame).await.ok()?;
        let mut echo = [0u8; 2 + 13];
        stream.read_exact(&mut echo).await.ok()?;
        Some(&echo[2..] == b"are you there")
    };
    matches!(
        timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(true))
    )
}

/// Probes the page, /healthz and an echo every 100 ms until `stop`; returns the longest
/// stretch during which any of them failed, and how many rounds failed.
async fn probe_until(addr: SocketAddr, stop: Arc<AtomicBool>) -> (Duration, usize, usize) {
    let (mut worst, mut failing_since, mut failed, mut rounds) = (Duration::ZERO, None, 0, 0);
    while !stop.load(Ordering::Relaxed) {
        rounds += 1;
        // No bundle in these runs: `/` is the "not built" page, a 503 that says so.
        let ok = answered(addr, "/", "503").await
            && answered(addr, "/healthz", "200").await
            && echoes(addr).await;
        match (ok, failing_since) {
            (true, Some(since)) => {
                worst = worst.max(Instant::now() - since);
                failing_since = None;
            }
            (false, None) => failing_since = Some(Instant::now()),
            _ => {}
        }
        failed += usize::from(!ok);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(since) = failing_since {
        worst = worst.max(Instant::now() - since);
    }
    (worst, failed, rounds)
}

/// One slowloris connection: a whole request, its answer read, then one byte of the next
/// request and silence. Returns when the server has closed it (or after `hold`).
async fn slowloris(addr: SocketAddr, hold: Duration, closed: Arc<AtomicUsize>) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        closed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // The 200 with its two-byte body ("ok"): read its head and body.
    let mut response = Vec::new();
    let mut chunk = [0u8; 512];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match timeout(hold, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => response.extend_from_slice(&chunk[..n]),
            _ => {
                closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
    let _ = stream.write_all(b"G").await;
    // Anything but the test letting go (the timeout) means the server ended it.
    if timeout(hold, stream.read(&mut chunk)).await.is_ok() {
        closed.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
#[ignore = "release, thousands of sockets: run by the test command"]
async fn a_keep_alive_slowloris_under_1024_descriptors_never_locks_clients_out() {
    const ATTACKERS: usize = 1_100;
    let backend = Backend::start_under(Some(1024), &["--handshake-timeout", "2s", "--quiet"]);
    let addr = backend.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe_until(addr, Arc::clone(&stop)));

    // The attackers on a runtime of their own, so the probes' timing is not theirs.
    let closed = Arc::new(AtomicUsize::new(0));
    let attack = {
        let closed = Arc::clone(&closed);
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..ATTACKERS {
                    set.spawn(slowloris(
                        addr,
                        Duration::from_secs(20),
                        Arc::clone(&closed),
                    ));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let started = Instant::now();
                while set.join_next().await.is_some() {}
                started.elapsed()
            })
        })
    };
    // Joined off the runtime's thread: the probes keep running meanwhile.
    let all_closed_after_last_opened = tokio::task::spawn_blocking(move || attack.join())
        .await
        .expect("join")
        .expect("attack");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (worst, failed, rounds) = prober.await.expect("prober");
    let timeouts = backend
        .metric(r#"echo_http_connections_closed_total{reason="head_timeout"}"#)
        .await;
    let made_room = backend
        .metric(r#"echo_http_connections_closed_total{reason="made_room"}"#)
        .await;
    let emfile = backend
        .log()
        .iter()
        .filter(|line| line.contains("Too many open files"))
        .count();
    println!(
        "slowloris: {ATTACKERS} connections, {} closed by the server, the last within {:?} of \
         the last one opened; {timeouts} head timeouts, {made_room} made room; probes: {failed} \
         of {rounds} rounds failed, longest failing stretch {worst:?}; {emfile} EMFILE lines",
        closed.load(Ordering::Relaxed),
        all_closed_after_last_opened
    );
    assert_eq!(
        closed.load(Ordering::Relaxed),
        ATTACKERS,
        "every parked connection was closed"
    );
    assert!(
        all_closed_after_last_opened < HEAD_TIMEOUT + Duration::from_secs(2),
        "the parked connections lasted {all_closed_after_last_opened:?}"
    );
    assert!(
        worst <= Duration::from_secs(3),
        "clients were locked out for {worst:?}"
    );
    assert!(rounds > 10, "the probes ran: {rounds}");
    assert_eq!(emfile, 0, "the server ran out of descriptors");
}

/// A TLS handshake, an upgrade and an echo; how long they took, or None after 5 s.
async fn wss_echo(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Option<Duration> {
    let started = Instant::now();
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.ok()?;
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").ok()?;
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .ok()?;
        let request = support::raw_client::upgrade_request(addr, "");
        tls.write_all(request.as_bytes()).await.ok()?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tls.read_exact(&mut byte).await.ok()?;
            head.push(byte[0]);
        }
        let frame = support::raw_client::encode(true, 0, TEXT, b"tls", true);
        tls.write_all(&frame).await.ok()?;
        let mut echo = [0u8; 5];
        tls.read_exact(&mut echo).await.ok()?;
        (&echo[2..] == b"tls").then_some(())
    };
    timeout(Duration::from_secs(5), attempt).await.ok()??;
    Some(started.elapsed())
}

/// A GET over TLS; the whole response as text.
async fn https_get(addr: SocketAddr, config: Arc<rustls::ClientConfig>, path: &str) -> String {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = timeout(Duration::from_secs(5), tls.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
#[ignore = "release, thousands of sockets: run by the test command"]
async fn silent_tls_connections_never_starve_real_handshakes() {
    const SILENT: usize = 3_000;
    let certificate = support::certificate::self_signed();
    let client = certificate.trusting();
    let backend = Backend::start(&[
        "--tls-cert",
        &certificate.cert_path(),
        "--tls-key",
        &certificate.key_path(),
        "--handshake-timeout",
        "2s",
    ]);
    let addr = backend.addr;
    // 3,000 silent connections, then 300 more a second while the real clients connect.
    let stop = Arc::new(AtomicBool::new(false));
    let silent = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut held = Vec::new();
                for _ in 0..SILENT {
                    if let Ok(stream) = TcpStream::connect(addr).await {
                        held.push(stream);
                    }
                }
                let opened = held.len();
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..30 {
                        if let Ok(stream) = TcpStream::connect(addr).await {
                            held.push(stream);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                opened
            })
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut took = Vec::new();
    for _ in 0..10 {
        took.push(wss_echo(addr, Arc::clone(&client)).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let opened = silent.join().expect("silent connections");
    let metrics = https_get(addr, Arc::clone(&client), "/metrics").await;
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let made_room = metric(r#"echo_http_connections_closed_total{reason="made_room"}"#);
    let timed_out = metric(r#"echo_http_connections_closed_total{reason="head_timeout"}"#);
    println!(
        "TLS: {opened} silent connections opened then 300/s; real handshake + upgrade + echo \
         took {took:?}; of the silent ones {made_room} made room, {timed_out} timed out"
    );
    assert!(
        made_room + timed_out > 2_000.0,
        "the silent ones were not closed: {metrics}"
    );
    assert!(
        opened >= SILENT - 10,
        "only {opened} silent connections opened"
    );
    for (i, took) in took.iter().enumerate() {
        let took = took.unwrap_or_else(|| panic!("real client {i} failed"));
        assert!(
            took < Duration::from_secs(1),
            "real client {i} took {took:?}"
        );
    }
}

/// A FIFO whose read end the test holds without reading: the backend's stderr.
struct StuckReader {
    _dir: tempfile::TempDir,
    reader: File,
    writer: File,
}

fn stuck_fifo() -> StuckReader {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stderr.fifo");
    let made = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo");
    // Non-blocking, so that opening the read end does not wait for a writer.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .expect("fifo read end");
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("fifo write end");
    StuckReader {
        _dir: dir,
        reader,
        writer,
    }
}

/// Reads what is in the FIFO now, without waiting.
fn read_available(reader: &mut File) -> String {
    let mut text = Vec::new();
    let mut chunk = [0u8; 65536];
    while let Ok(n) = reader.read(&mut chunk) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test]
#[ignore = "release, tens of megabytes of log: run by the test command"]
async fn a_stuck_log_reader_never_stops_the_echo_healthz_or_the_shutdown() {
    const MESSAGES: usize = 40_000;
    let mut fifo = stuck_fifo();
    let mut child = command(None, &["--log-rate", "0", "--shutdown-grace", "2s"])
        .stderr(fifo.writer.try_clone().expect("fifo"))
        .spawn()
        .expect("backend starts");
    // Read just enough to learn the address, then stop reading for good.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = String::new();
    let addr = loop {
        log.push_str(&read_available(&mut fifo.reader));
        if let Some(addr) = log.lines().find_map(listening_addr) {
            break addr;
        }
        assert!(Instant::now() < deadline, "no address in {log}");
        thread::sleep(Duration::from_millis(20));
    };

    // 40,000 messages whose recv: lines are about 250 bytes: 10 MB of log into a 64 KiB pipe.
    let text = "x".repeat(300);
    let mut client = RawClient::connect(addr).await;
    let started = Instant::now();
    let mut echoed = 0;
    for batch in 0..MESSAGES / 100 {
        for _ in 0..100 {
            client.send(true, 0, TEXT, text.as_bytes(), true).await;
        }
        for _ in 0..100 {
            let frame = timeout(Duration::from_secs(5), client.read_frame())
                .await
                .unwrap_or_else(|_| panic!("echoes stopped after {echoed} (batch {batch})"))
                .expect("an echo");
            assert_eq!(frame.payload.len(), text.len());
            echoed += 1;
        }
    }
    let flood = started.elapsed();
    assert!(
        answered(addr, "/healthz", "200").await,
        "/healthz did not answer"
    );
    let metrics = http_get(addr, "/metrics").await;
    let dropped: f64 = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("echo_log_lines_dropped_total ")?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);

    let sent_term = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let exited = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if sent_term.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let exit_took = sent_term.elapsed();
    println!(
        "stuck log: {echoed} echoes in {flood:?}, {dropped} log lines dropped and counted, \
         SIGTERM exit in {exit_took:?} ({exited:?})"
    );
    assert_eq!(echoed, MESSAGES);
    assert!(dropped > 0.0, "nothing counted as dropped: {metrics}");
    let status = exited.expect("the backend did not exit on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        exit_took < Duration::from_secs(5),
        "exit took {exit_took:?} (grace 2 s)"
    );
}

#[tokio::test]
#[ignore = "release: run by the test command"]
async fn peer_text_forges_no_log_line_and_a_refusal_loop_writes_a_bounded_log() {
    for format in ["text", "json"] {
        let backend = Backend::start(&["--log-format", format]);
        let forged = "ok\n2026-12-06T03:00:00.000000Z  INFO backend::session: connection opened \
                      peer=10.6.6.6:31337\r\x07\x01 \u{202e}desrever";
        let mut client = RawClient::connect(backend.addr).await;
        client.send(true, 0, TEXT, forged.as_bytes(), true).await;
        client.read_frame().await.expect("echo");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let log = backend.log();
        let recv: Vec<&String> = log
            .iter()
            .filter(|line| line.contains("recv: ok"))
            .collect();
        assert_eq!(recv.len(), 1, "{format}: {log:#?}");
        assert!(
            !log.iter()
                .any(|line| line.contains("peer=10.6.6.6") && !line.contains("recv: ok")),
            "{format}: a forged line: {log:#?}"
        );
        assert!(
            !recv[0].chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{format}: raw controls in {:?}",
            recv[0]
        );
        if format == "json" {
            let value: serde_json::Value = serde_json::from_str(recv[0]).expect("JSON");
            assert_eq!(value["message"], format!("recv: {forged}"));
        }
    }

    // A 120 KB Origin, refused in a loop for 3 s: once 1 GB of log in 10 s.
    let backend = Backend::start(&["--quiet"]);
    let addr = backend.addr;
    let origin = format!("https://{}.example", "a".repeat(120_000));
    let request = support::raw_client::upgrade_request(addr, &format!("Origin: {origin}\r\n"));
    let started = Instant::now();
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        let _ = timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
        assert!(response.starts_with(b"HTTP/1.1 403"));
        refused += 1;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log_bytes: usize = backend.log().iter().map(|line| line.len() + 1).sum();
    println!("origin loop: {refused} refusals in 3 s wrote {log_bytes} bytes of log");
    assert!(refused > 100, "the loop ran: {refused}");
    // At most --log-rate (1,000) lines a second of about 400 bytes, and the summaries.
    assert!(log_bytes < 2_000_000, "{log_bytes} bytes of log");
}
