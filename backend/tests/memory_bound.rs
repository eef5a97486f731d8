//! Hostile clients against the release backend, as a separate process whose memory is read from
//! /proc: messages that never complete, endless fragments, clients that send and never read.
//! The server's resident memory must stay under the bound the README gives, a fresh client must
//! still get its echo within a second, and the closes must show in the metrics.
//!
//! Ignored by plain `cargo test` (it moves gigabytes; a debug build unmasks too slowly). The test
//! command runs it as `cargo test --release -p backend --test memory_bound -- --ignored
//! --test-threads 1 --nocapture`, which prints the figures.

mod support {
    pub mod backend_process;
    pub mod client_deflate;
    pub mod raw_client;
}

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use support::{
    backend_process::{status_bytes, Backend},
    client_deflate::deflate,
    raw_client::*,
};
use tokio::{io::AsyncWriteExt, net::TcpStream, task::JoinSet};

const MIB: u64 = 1024 * 1024;

/// The default `--memory-budget` with the default 16 MiB message limit.
const BUDGET: u64 = 256 * MIB;

/// What the README promises: resident memory stays under the budget plus this (the process
/// itself, its runtime, allocator slack, read chunks in flight).
const BUDGET_SLACK: u64 = 48 * MIB;

/// Attacking connections per shape.
const ATTACKERS: usize = 200;

/// How long a fresh client may wait for its echo during an attack.
const FRESH_ECHO_WITHIN: Duration = Duration::from_secs(1);

/// `echo_memory_held_bytes` from /metrics, with a blocking request (for the sampler thread).
fn held_now(addr: SocketAddr) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut text).is_err() {
        return 0;
    }
    text.lines()
        .find_map(|line| line.strip_prefix("echo_memory_held_bytes ")?.parse().ok())
        .unwrap_or(0)
}

/// A fresh client's round trip, which must come back within [`FRESH_ECHO_WITHIN`].
async fn fresh_echo(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let attempt = async {
        let mut client = RawClient::connect(addr).await;
        client.send(true, 0, TEXT, b"still there?", true).await;
        client.read_frame().await
    };
    let echo = tokio::time::timeout(FRESH_ECHO_WITHIN, attempt)
        .await
        .expect("a fresh client got its echo within a second during the attack")
        .expect("an echo");
    assert_eq!(echo.payload, b"still there?");
    started.elapsed()
}

/// Opens a WebSocket and writes `bytes` until the server stops taking them; returns how many it
/// took. The connection is then held open until `hold` ends.
async fn attacker(addr: SocketAddr, bytes: Vec<u8>, hold: Duration) -> u64 {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return 0;
    };
    if stream
        .write_all(upgrade_request(addr, "").as_bytes())
        .await
        .is_err()
    {
        return 0;
    }
    let mut sent = 0;
    for chunk in bytes.chunks(256 * 1024) {
        match tokio::time::timeout(Duration::from_secs(5), stream.write_all(chunk)).await {
            Ok(Ok(())) => sent += chunk.len() as u64,
            _ => break,
        }
    }
    tokio::time::sleep(hold).await;
    sent
}

/// `count` attackers sending `bytes` each, on a thread and runtime of their own; the thread
/// returns the bytes the server took in all.
fn run_attackers(
    addr: SocketAddr,
    bytes: Vec<u8>,
    count: usize,
    hold: Duration,
) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let bytes = Arc::new(bytes);
            let mut attackers = JoinSet::new();
            for _ in 0..count {
                attackers.spawn(attacker(addr, Vec::clone(&bytes), hold));
            }
            let mut sent = 0;
            while let Some(taken) = attackers.join_next().await {
                sent += taken.expect("attacker task");
            }
            sent
        })
    })
}

/// Runs `ATTACKERS` connections each sending `bytes`, checks a fresh client meanwhile, and
/// reports the figures.
async fn attack(shape: &str, bytes: Vec<u8>) {
    let backend = Backend::start(&[]);
    let baseline = backend.status_bytes("VmRSS");
    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(baseline));
    let peak_held = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (running, peak, pid) = (Arc::clone(&running), Arc::clone(&peak), backend.child.id());
        let (peak_held, addr) = (Arc::clone(&peak_held), backend.addr);
        thread::spawn(move || {
            while running.load(Ordering::Acquire) {
                peak.fetch_max(status_bytes(pid, "VmRSS"), Ordering::AcqRel);
                peak_held.fetch_max(held_now(addr), Ordering::AcqRel);
                thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let started = Instant::now();
    // The attackers run on a thread of their own, so a fresh client's wait measures the server.
    let attackers = run_attackers(backend.addr, bytes, ATTACKERS, Duration::from_secs(3));
    // While they stream: fresh clients, one after another.
    let mut fresh = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        fresh.push(fresh_echo(backend.addr).await);
    }
    let sent = tokio::task::spawn_blocking(move || attackers.join().expect("attackers"))
        .await
        .expect("join");
    let attack_took = started.elapsed();
    // Once they have gone, how soon the server is back to normal.
    let recovered_in = fresh_echo(backend.addr).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Release);
    sampler.join().expect("sampler");

    let peak = peak
        .load(Ordering::Acquire)
        .max(backend.status_bytes("VmHWM"));
    let after = backend.status_bytes("VmRSS");
    let closes = backend.metric("echo_memory_budget_closes_total").await;
    let held = backend.metric("echo_memory_held_bytes").await;
    let logged = backend.logged("memory budget reached");
    println!(
        "memory bound, {shape}: {ATTACKERS} attackers sent {:.0} MiB in {:.1} s; server RSS \
         {:.0} MiB before, {:.0} MiB peak ({:.2} MiB per attacker), {:.0} MiB after; {closes} \
         closed for the budget ({logged} log lines); fresh echoes {:?}; after the attack {:?}; \
         held now {held}, at most {:.0} MiB",
        sent as f64 / MIB as f64,
        attack_took.as_secs_f64(),
        baseline as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        peak.saturating_sub(baseline) as f64 / MIB as f64 / ATTACKERS as f64,
        after as f64 / MIB as f64,
        fresh,
        recovered_in,
        peak_held.load(Ordering::Acquire) as f64 / MIB as f64,
    );
    assert!(
        peak <= BUDGET + BUDGET_SLACK,
        "{shape}: RSS peaked at {} MiB, over the {} MiB budget plus {} MiB",
        peak / MIB,
        BUDGET / MIB,
        BUDGET_SLACK / MIB
    );
    assert!(
        sent > 2 * BUDGET,
        "{shape}: the attack must offer more than the budget ({} MiB sent)",
        sent / MIB
    );
    assert!(closes >= 1.0, "{shape}: connections closed for the budget");
    assert!(logged >= 1, "{shape}: the budget's closes are logged");
    assert_eq!(held, 0.0, "{shape}: everything given back once they left");
}

/// A masked binary frame header announcing `len` bytes, then `sent` bytes of its payload.
fn incomplete_frame(len: u64, sent: usize) -> Vec<u8> {
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    bytes.resize(bytes.len() + sent, 0x5a);
    bytes
}

#[tokio::test]
#[ignore = "release build; run by scripts/test.sh"]
async fn messages_that_never_complete_keep_memory_within_the_budget() {
    // 15 MiB announced, all but the last byte sent.
    let announced = 15 * MIB;
    attack(
        "15 MiB frames missing their last byte",
        incomplete_frame(announced, announced as usize - 1),
    )
    .await;
}

#[tokio::test]
#[ignore = "release build; run by scripts/test.sh"]
async fn endless_fragments_keep_memory_within_the_budget() {
    // A fragmented message of 1 MiB fragments that never ends, up to 15 MiB.
    let fragment = vec![0x5a; MIB as usize];
    let mut bytes = encode(false, 0, BINARY, &fragment, true);
    for _ in 0..14 {
        bytes.extend(encode(false, 0, CONTINUATION, &fragment, true));
    }
    attack("1 MiB fragments never finished", bytes).await;
}

#[tokio::test]
#[ignore = "release build; run by scripts/test.sh"]
async fn clients_that_send_and_never_read_hold_little() {
    const READERS: usize = 50;
    const MESSAGE: usize = 64 * 1024;
    let backend = Backend::start(&["--quiet"]);
    let baseline = backend.status_bytes("VmRSS");
    let frame = encode(true, 0, BINARY, &[0x33; MESSAGE], true);
    // 64 MiB each if the server kept taking them; it must stop reading instead.
    let flooders = run_attackers(
        backend.addr,
        frame.repeat(1024),
        READERS,
        Duration::from_secs(1),
    );
    let sent = tokio::task::spawn_blocking(move || flooders.join().expect("flooders"))
        .await
        .expect("join");
    let peak = backend.status_bytes("VmHWM");
    let growth = peak.saturating_sub(baseline);
    let held = backend.metric("echo_memory_held_bytes").await;
    println!(
        "memory bound, {READERS} clients sending {} KiB messages and never reading: each got \
         {:.1} MiB in before the server stopped reading; server RSS {:.0} MiB before, {:.0} \
         MiB peak ({:.0} KiB per client)",
        MESSAGE / 1024,
        sent as f64 / READERS as f64 / MIB as f64,
        baseline as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        growth as f64 / 1024.0 / READERS as f64
    );
    assert!(
        sent < (READERS as u64) * 16 * MIB,
        "the server stopped reading from clients that do not read ({} MiB taken)",
        sent / MIB
    );
    // Per client: 64 KiB of echoes waiting, the message in hand, one being read, socket slack.
    let per_client_bound = 4 * MESSAGE as u64 + 128 * 1024;
    assert!(
        growth <= READERS as u64 * per_client_bound + 16 * MIB,
        "RSS grew {} MiB for {READERS} clients",
        growth / MIB
    );
    assert_eq!(held, 0.0, "all given back once they left");
    fresh_echo(backend.addr).await;
}

/// What each bomb would inflate to: 16 times the message limit.
const BOMB_INFLATED: usize = 256 << 20;

/// Compressed bombs from 200 connections at once, each in one frame or in fragments of
/// `fragment_bytes`; returns the close code each got and the server's RSS growth, and prints
/// the figures.
async fn bombard(shape: &str, fragment_bytes: Option<usize>) -> (Vec<Option<u16>>, u64) {
    const BOMBERS: usize = 200;
    let backend = Backend::start(&["--quiet"]);
    let baseline = backend.status_bytes("VmRSS");
    let compressed = deflate(&vec![0; BOMB_INFLATED]);
    let wire_kib = compressed.len() / 1024;
    let bomb = match fragment_bytes {
        None => encode(true, 0b100, BINARY, &compressed, true),
        Some(size) => {
            let mut pieces = compressed.chunks(size);
            let mut bytes = encode(false, 0b100, TEXT, pieces.next().expect("a piece"), true);
            for piece in pieces {
                bytes.extend(encode(false, 0, CONTINUATION, piece, true));
            }
            bytes
        }
    };
    let addr = backend.addr;
    let started = Instant::now();
    let bombers = thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let bomb = Arc::new(bomb);
            let mut set = JoinSet::new();
            for _ in 0..BOMBERS {
                let bomb = Arc::clone(&bomb);
                set.spawn(async move {
                    let (mut client, head) = RawClient::connect_with(
                        addr,
                        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
                    )
                    .await;
                    assert!(head.contains("permessage-deflate"), "{head}");
                    // The server may close before all of it is written.
                    client.try_write(&bomb).await;
                    client.read_close().await
                });
            }
            let mut codes = Vec::new();
            while let Some(code) = set.join_next().await {
                codes.push(code.expect("bomber task"));
            }
            codes
        })
    });
    let fresh = fresh_echo(addr).await;
    let codes = tokio::task::spawn_blocking(move || bombers.join().expect("bombers"))
        .await
        .expect("join");
    let took = started.elapsed();
    let peak = backend.status_bytes("VmHWM");
    let growth = peak.saturating_sub(baseline);
    let tally = |code| codes.iter().filter(|c| **c == Some(code)).count();
    println!(
        "memory bound, {BOMBERS} compressed bombs at once, {shape} ({} KiB on the wire, {} MiB \
         inflated each): {} got 1009, {} got 1013, in {:.1} s; server RSS {:.0} MiB before, {:.0} \
         MiB peak (+{:.0} MiB); a fresh echo meanwhile in {fresh:?}",
        wire_kib,
        BOMB_INFLATED >> 20,
        tally(1009),
        tally(1013),
        took.as_secs_f64(),
        baseline as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        growth as f64 / MIB as f64,
    );
    assert_eq!(backend.metric("echo_memory_held_bytes").await, 0.0);
    (codes, growth)
}

#[tokio::test]
#[ignore = "release build; run by scripts/test.sh"]
async fn compressed_bombs_are_refused_with_1009_and_never_inflated_whole() {
    let (codes, growth) = bombard("one frame each", None).await;
    assert!(
        codes.iter().all(|code| *code == Some(1009)),
        "every bomb gets 1009: {codes:?}"
    );
    // Were any inflated whole, one alone would add 256 MiB.
    assert!(
        growth < 128 * MIB,
        "RSS grew by {} MiB: bombs must stop at the message limit",
        growth / MIB
    );
}

#[tokio::test]
#[ignore = "release build; run by scripts/test.sh"]
async fn fragmented_compressed_bombs_stay_within_the_memory_budget() {
    // Each connection's message inflates fragment by fragment towards the 16 MiB limit and is
    // held between fragments: 200 of them could hold 3.2 GiB, so if they arrive together the
    // budget closes the biggest holders (1013) before the limit is reached (1009).
    let (codes, growth) = bombard("in 4 KiB fragments", Some(4096)).await;
    assert!(
        codes.iter().all(|code| matches!(code, Some(1009 | 1013))),
        "1009 at the message limit, or 1013 from the budget: {codes:?}"
    );
    assert!(codes.contains(&Some(1009)), "{codes:?}");
    assert!(
        growth <= BUDGET + BUDGET_SLACK,
        "RSS grew by {} MiB, over the {} MiB budget plus {} MiB",
        growth / MIB,
        BUDGET / MIB,
        BUDGET_SLACK / MIB
    );
}
