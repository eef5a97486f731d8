//! A hostile WebSocket server for tests, and a way to run a binary against it while watching
//! its memory: a small server that answers the handshake properly and then misbehaves as a
//! test scripts it, or misbehaves in the handshake itself. Shared by the CLI's tests
//! (client/tests/hostile_server.rs) and the load generator's (bench/generator/tests/), which
//! take this file in with `#[path]`.
// Each test crate uses part of it.
#![allow(dead_code)]

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

pub const MIB: u64 = 1024 * 1024;

/// What each misbehaviour may make the client hold at its peak. Without the bounds, the CLI
/// with `--compress` reached 4.2 GB before it aborted, and 350 MB under a ping flood.
pub const RSS_BOUND: u64 = 160 * MIB;

/// What the hostile server does once it has read the request head.
pub type Behaviour = Arc<dyn Fn(String) -> Script + Send + Sync>;

/// Bytes to send once, then (optionally) a chunk to repeat without end.
pub struct Script {
    pub first: Vec<u8>,
    pub then_forever: Option<Vec<u8>>,
    /// Read what the client sends (else never read: a server whose buffers fill).
    pub read: bool,
}

/// A 101 answering `request`'s key, with `extra` header lines (each ending in CRLF).
pub fn switching(request: &str, extra: &str) -> Vec<u8> {
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
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ws_wire::write_frame(&mut out, first, None, payload);
    out
}

/// A frame header announcing `len` bytes, with none of them.
pub fn announcing(first: u8, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    ws_wire::write_header(&mut out, first, None, len);
    out
}

/// Starts the hostile server on its own thread; every connection gets `behaviour`.
pub fn hostile(behaviour: Behaviour) -> SocketAddr {
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
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub peak_rss: u64,
    pub took: Duration,
}

/// Runs `command` until it exits or `limit` passes (then kills it), watching its peak RSS.
/// The CLI gets one line on a stdin kept open (piped mode: it sends it and waits for its echo),
/// so it is still reading when the server misbehaves.
pub fn run(command: &mut Command, limit: Duration) -> Ended {
    run_with(command, limit, Some(b"hello\n"))
}

pub fn run_with(command: &mut Command, limit: Duration, input: Option<&[u8]>) -> Ended {
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
