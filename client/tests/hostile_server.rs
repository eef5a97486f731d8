//! The CLI tester and the load generator pointed at a hostile server: a small server in the
//! test that answers the handshake properly and then misbehaves (a 2^62-byte frame header, a
//! 2^64-1 length, endless fragments, a compressed bomb, invalid UTF-8, endless pings while never
//! reading), or misbehaves in the handshake itself (an endless head, silence, escape sequences
//! in a refusal or an extension answer). For each: the documented exit status, no panic,
//! memory bounded (peak RSS from /proc), and the server's text shown with its controls visible.

use std::{
    io::Read,
    net::SocketAddr,
    process::{Command, Stdio},
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

const MIB: u64 = 1024 * 1024;

/// What each misbehaviour may make the client hold at its peak. Without the bounds, the CLI
/// with `--compress` reached 4.2 GB before it aborted, and 350 MB under a ping flood.
const RSS_BOUND: u64 = 160 * MIB;

/// What the hostile server does once it has read the request head.
type Behaviour = Arc<dyn Fn(String) -> Script + Send + Sync>;

/// Bytes to send once, then (optionally) a chunk to repeat without end.
struct Script {
    first: Vec<u8>,
    then_forever: Option<Vec<u8>>,
    /// Read what the client sends (else never read: a server whose buffers fill).
    read: bool,
}

/// A 101 answering `request`'s key, with `extra` header lines (each ending in CRLF).
fn switching(request: &str, extra: &str) -> Vec<u8> {
    let key = request
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        derive_accept_key(key.as_bytes())
    )
    .into_bytes()
}

/// An unmasked server frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ws_wire::write_frame(&mut out, first, None, payload);
    out
}

/// A frame header announcing `len` bytes, with none of them.
fn announcing(first: u8, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    ws_wire::write_header(&mut out, first, None, len);
    out
}

/// Starts the hostile server on its own thread; every connection gets `behaviour`.
fn hostile(behaviour: Behaviour) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, Arc::clone(&behaviour)));
            }
        });
    });
    rx.recv().expect("the hostile server's address")
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read_exact(&mut byte).await.is_err() || head.len() > 64 * 1024 {
            return;
        }
        head.push(byte[0]);
    }
    let script = behaviour(String::from_utf8_lossy(&head).into_owned());
    let (mut reader, mut writer) = stream.into_split();
    if script.read {
        tokio::spawn(async move {
            let mut sink = vec![0u8; 64 * 1024];
            while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
        });
    } else {
        // Keep the read half open without reading: the client's writes back up.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(reader);
        });
    }
    if writer.write_all(&script.first).await.is_err() {
        return;
    }
    if let Some(chunk) = script.then_forever {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
    } else {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// How a run of a binary ended.
#[derive(Debug)]
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss: u64,
    took: Duration,
}

/// Runs `command` until it exits or `limit` passes (then kills it), watching its peak RSS.
/// The CLI gets one line on a stdin kept open (piped mode: it sends it and waits for its echo),
/// so it is still reading when the server misbehaves.
fn run(command: &mut Command, limit: Duration) -> Ended {
    run_with(command, limit, Some(b"hello\n"))
}

fn run_with(command: &mut Command, limit: Duration, input: Option<&[u8]>) -> Ended {
    use std::io::Write;
    let started = Instant::now();
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("starts");
    // Held open until the end: closing it would end the input.
    let mut stdin = child.stdin.take();
    if let (Some(pipe), Some(input)) = (stdin.as_mut(), input) {
        let _ = pipe.write_all(input);
    }
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
    let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
    let pid = child.id();
    let mut peak_rss = 0;
    let code = loop {
        let _ = &stdin;
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let hwm = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
            peak_rss = peak_rss.max(hwm.unwrap_or(0) * 1024);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ended {
        code,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
        peak_rss,
        took: started.elapsed(),
    }
}

fn client(addr: SocketAddr, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .args([
            "--url",
            &format!("ws://{addr}/echo"),
            "--connect-timeout",
            "2s",
        ])
        .args(extra);
    command
}

fn bench(addr: SocketAddr) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench"));
    command.args([
        "--addr",
        &addr.to_string(),
        "--connections",
        "1",
        "--duration",
        "2s",
        "--connect-timeout",
        "2s",
    ]);
    command
}

/// Runs the CLI (plain and with `--compress`) and the bench against `behaviour`, and checks
/// each against `expect`.
fn against(
    name: &str,
    behaviour: Behaviour,
    cli_code: i32,
    bench_too: bool,
    check: impl Fn(&Ended),
) {
    let addr = hostile(behaviour);
    for compress in [false, true] {
        let extra: &[&str] = if compress { &["--compress"] } else { &[] };
        let ended = run(&mut client(addr, extra), Duration::from_secs(20));
        println!(
            "{name}, CLI{}: exit {:?} in {:?}, peak RSS {} MiB",
            if compress { " --compress" } else { "" },
            ended.code,
            ended.took,
            ended.peak_rss / MIB
        );
        assert_eq!(ended.code, Some(cli_code), "{name} {compress}: {ended:?}");
        assert!(
            !ended.stderr.contains("panicked"),
            "{name}: {}",
            ended.stderr
        );
        assert!(
            ended.peak_rss < RSS_BOUND,
            "{name}: {} MiB",
            ended.peak_rss / MIB
        );
        check(&ended);
    }
    if bench_too {
        let ended = run(&mut bench(addr), Duration::from_secs(20));
        println!(
            "{name}, bench: exit {:?} in {:?}, peak RSS {} MiB",
            ended.code,
            ended.took,
            ended.peak_rss / MIB
        );
        assert_eq!(ended.code, Some(1), "{name}, bench: {ended:?}");
        assert!(
            !ended.stderr.contains("panicked"),
            "{name}: {}",
            ended.stderr
        );
        assert!(
            ended.peak_rss < RSS_BOUND,
            "{name}, bench: {} MiB",
            ended.peak_rss / MIB
        );
        assert!(
            ended.took < Duration::from_secs(15),
            "{name}, bench: {:?}",
            ended.took
        );
    }
}

fn no_raw_controls(text: &str) {
    let raw = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' || matches!(c, '\u{202e}' | '\u{9b}'));
    assert!(
        raw.is_none(),
        "a raw {raw:?} reached the terminal: {text:?}"
    );
}

#[test]
fn a_frame_header_announcing_2_to_the_62_is_refused_at_once() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82, 1 << 62)].concat(),
        then_forever: Some(vec![0u8; 1 << 20]),
        read: true,
    });
    against("2^62 header", behaviour, 4, true, |ended| {
        assert!(ended.stderr.contains("protocol error"), "{}", ended.stderr);
    });
}

#[test]
fn a_length_of_2_to_the_64_minus_1_is_refused_without_a_panic() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82 | 0x40, u64::MAX)].concat(),
        then_forever: None,
        read: true,
    });
    against("2^64-1 length", behaviour, 4, true, |_| {});
}

#[test]
fn endless_fragments_stop_at_the_message_limit() {
    let fragment = frame(0x00, &vec![b'x'; 1 << 20]);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [switching(&request, ""), frame(0x02, b"start")].concat(),
        then_forever: Some(fragment.clone()),
        read: true,
    });
    against("endless fragments", behaviour, 4, true, |_| {});
}

#[test]
fn endless_compressed_fragments_stop_at_the_message_limit() {
    // Stored deflate blocks would be valid; this is simply never-ending compressed input.
    let fragment = frame(0x00, &vec![0u8; 1 << 20]);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [
            switching(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            frame(0x02 | 0x40, &[0u8; 16]),
        ]
        .concat(),
        then_forever: Some(fragment.clone()),
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &["--compress"]), Duration::from_secs(20));
    println!(
        "endless compressed fragments, CLI --compress: exit {:?} in {:?}, peak RSS {} MiB",
        ended.code,
        ended.took,
        ended.peak_rss / MIB
    );
    assert_eq!(ended.code, Some(4), "{ended:?}");
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}

#[test]
fn a_compressed_bomb_is_refused_at_the_inflate_limit() {
    // 256 MiB of zeros, deflated (raw, with the permessage-deflate tail cut).
    let mut deflater = ws_deflate::Deflater::new(15, true, 9);
    let zeros = vec![0u8; 256 << 20];
    let bomb = deflater.compress(&zeros).expect("shrinks").to_vec();
    let message = frame(0x82 | 0x40, &bomb);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [
            switching(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            message.clone(),
        ]
        .concat(),
        then_forever: None,
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &["--compress"]), Duration::from_secs(20));
    println!(
        "compressed bomb ({} KiB on the wire), CLI --compress: exit {:?}, peak RSS {} MiB",
        bomb.len() / 1024,
        ended.code,
        ended.peak_rss / MIB
    );
    assert_eq!(ended.code, Some(4), "{ended:?}");
    assert!(ended.stderr.contains("inflates past"), "{}", ended.stderr);
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}

#[test]
fn an_endless_response_head_is_refused() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: b"HTTP/1.1 101 Switching Protocols\r\nX-Endless: ".to_vec(),
        then_forever: Some(vec![b'a'; 64 * 1024]),
        read: true,
    });
    against("endless head", behaviour, 1, true, |_| {});
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: Vec::new(),
        then_forever: None,
        read: true,
    });
    against("silent server", behaviour, 1, true, |ended| {
        assert!(ended.took < Duration::from_secs(6), "{:?}", ended.took);
        assert!(
            ended.stderr.contains("--connect-timeout"),
            "{}",
            ended.stderr
        );
    });
}

#[test]
fn invalid_utf8_in_a_text_message_is_a_protocol_error() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), frame(0x81, b"ok \xff\xfe")].concat(),
        then_forever: None,
        read: true,
    });
    against("invalid UTF-8", behaviour, 4, false, |_| {});
}

#[test]
fn escape_sequences_from_the_server_are_shown_visibly_everywhere() {
    // OSC 52 (set the clipboard), a title, clear screen, a carriage return, CSI as C1, bidi.
    let text =
        "\x1b]52;c;cm0gLXJmIH4gIyBwYXN0ZWQ=\x07\x1b]0;owned\x07\x1b[2Jhi\rX \u{9b}2J \u{202e}";
    let mut reason = 4000u16.to_be_bytes().to_vec();
    reason.extend_from_slice("bye\x1b[2J\r".as_bytes());
    let (text_frame, close) = (frame(0x81, text.as_bytes()), frame(0x88, &reason));
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [switching(&request, ""), text_frame.clone(), close.clone()].concat(),
        then_forever: None,
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &[]), Duration::from_secs(10));
    assert_eq!(ended.code, Some(5), "{ended:?}");
    no_raw_controls(&ended.stdout);
    no_raw_controls(&ended.stderr);
    assert!(
        ended.stdout.contains(r"recv: \x1b]52;c;"),
        "{}",
        ended.stdout
    );
    assert!(
        ended.stderr.contains(r"reason: bye\x1b[2J\r"),
        "{}",
        ended.stderr
    );

    // --raw: the bytes as they came, for people who pipe them on purpose.
    let ended = run(&mut client(addr, &["--raw"]), Duration::from_secs(10));
    assert!(ended.stdout.contains(text), "{:?}", ended.stdout);

    // A refusal's body and an extension answer are the server's text too.
    let refusal: Behaviour = Arc::new(|_| Script {
        first:
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 24\r\n\r\nno\x1b]0;owned\x07 \x1b[2J\rgone"
                .to_vec(),
        then_forever: None,
        read: true,
    });
    let ended = run(&mut client(hostile(refusal), &[]), Duration::from_secs(10));
    assert_eq!(ended.code, Some(1), "{ended:?}");
    no_raw_controls(&ended.stderr);
    assert!(
        ended.stderr.contains(r"no\x1b]0;owned\x07"),
        "{}",
        ended.stderr
    );

    let extension: Behaviour = Arc::new(|request| Script {
        first: switching(
            &request,
            "Sec-WebSocket-Extensions: permessage-deflate; x=\u{9b}2J\u{202e}\r\n",
        ),
        then_forever: None,
        read: true,
    });
    let ended = run(
        &mut client(hostile(extension), &["--compress"]),
        Duration::from_secs(10),
    );
    assert_ne!(ended.code, Some(0), "{ended:?}");
    no_raw_controls(&ended.stdout);
    no_raw_controls(&ended.stderr);
}

#[test]
fn a_ping_flood_from_a_server_that_never_reads_keeps_the_client_bounded() {
    let ping = frame(0x89, &[7u8; 125]);
    let burst = ping.repeat(512);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: switching(&request, ""),
        then_forever: Some(burst.clone()),
        read: false,
    });
    let addr = hostile(behaviour);
    // The ticker sends nothing the server reads; the client is killed after 8 s.
    let ended = run_with(
        &mut client(addr, &["--interval", "1h"]),
        Duration::from_secs(8),
        None,
    );
    println!(
        "ping flood, never read: peak RSS {} MiB after {:?}",
        ended.peak_rss / MIB,
        ended.took
    );
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}
