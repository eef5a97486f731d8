//! Memory per idle WebSocket connection, measured where it is spent: a counting allocator (every
//! block this process allocates, live bytes and live blocks by size) around the server running
//! in this process, a few thousand idle connections opened from the test's thread, whose own
//! blocks are not counted (its TLS clients' included), and the difference per connection,
//! plain and over TLS. It prints the
//! breakdown by block size, so each block can be matched to what holds it, and asserts the
//! upper bound the README gives, so a regression shows; every connection must still echo and
//! answer a ping. Plain connections are measured once the server says all of them are
//! parked (connection/parking/: a quiet second after their last message); TLS ones never park.
//!
//! Ignored by plain `cargo test` (a debug build's futures are larger than a release build's);
//! the test command runs it with the release suites:
//! `cargo test --release -p backend --test idle_memory -- --ignored --nocapture`.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicIsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use backend::{config::ParkAfter, server, Config};

mod support {
    pub mod certificate;
}

/// Connections held while measuring.
const CONNECTIONS: usize = 4000;

/// Live heap bytes per idle connection the README promises at most: measured 230 on 2026-12-06
/// once parked (its entry in its worker's parking lot, a 224-byte slot of one slab, and the slab's
/// room to grow; no block of its own), 1,248 before parking (a 896-byte task, tokio's 256-byte I/O
/// registration, the 96-byte memory charge; bench/RESULTS.md). With headroom for a slab that
/// just doubled on one worker.
const MAX_HEAP_BYTES_PER_CONNECTION: isize = 400;

/// The same over TLS: measured 8,800 on 2026-12-06 (8,672 before parking grew every task by 80
/// bytes; TLS connections do not park) (rustls's 4 KiB read buffer, which it keeps
/// at 4 KiB between reads, its record keys and state, a 2 KiB task holding the TLS stream;
/// bench/RESULTS.md). It was 18,928 while a waker kept actix's 10 KB HTTP task alive.
const MAX_TLS_HEAP_BYTES_PER_CONNECTION: isize = 10_000;

/// Blocks are counted by their exact size up to this; larger ones by power of two.
const EXACT_LIMIT: usize = 4096;
const CLASSES: usize = EXACT_LIMIT + 1 + 52;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: [AtomicIsize; CLASSES] = [const { AtomicIsize::new(0) }; CLASSES];

/// The class of a block of `size` bytes: its size up to 4 KiB, then its power of two.
fn class(size: usize) -> usize {
    if size <= EXACT_LIMIT {
        size
    } else {
        EXACT_LIMIT + 1 + (usize::BITS - (size - 1).leading_zeros()) as usize - 12
    }
}

/// How a class is shown.
fn class_name(class: usize) -> String {
    if class <= EXACT_LIMIT {
        format!("{class:>6} bytes")
    } else {
        format!("<= {} bytes", 1usize << (class - EXACT_LIMIT - 1 + 12))
    }
}

thread_local! {
    /// Set on the test's own thread: its blocks (the clients') are not the server's.
    static NOT_COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// The tests measure one at a time: the server's blocks are counted process-wide.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn count(size: usize, sign: isize) {
    if NOT_COUNTED.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    LIVE_BYTES.fetch_add(sign * size as isize, Ordering::Relaxed);
    LIVE_BLOCKS[class(size).min(CLASSES - 1)].fetch_add(sign, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            count(layout.size(), 1);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = unsafe { System.alloc_zeroed(layout) };
        if !block.is_null() {
            count(layout.size(), 1);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        unsafe { System.dealloc(block, layout) };
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(block, layout, new_size) };
        if !moved.is_null() {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live bytes, and live blocks by class, now.
fn snapshot() -> (isize, Vec<isize>) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS
            .iter()
            .map(|blocks| blocks.load(Ordering::Relaxed))
            .collect(),
    )
}

const UPGRADE_TAIL: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

type TlsClient = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A connection upgraded with blocking I/O; its 101 read into a stack buffer.
fn open(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    upgrade(stream, request)
}

/// The same over TLS (the client's blocks are the test thread's, not counted).
fn open_tls(addr: SocketAddr, request: &[u8], config: &Arc<rustls::ClientConfig>) -> TlsClient {
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let client = rustls::ClientConnection::new(Arc::clone(config), name).expect("client");
    upgrade(rustls::StreamOwned::new(client, tcp), request)
}

fn upgrade<S: Read + Write>(mut stream: S, request: &[u8]) -> S {
    stream.write_all(request).expect("handshake");
    let mut head = [0u8; 1024];
    let mut filled = 0;
    while !head[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut head[filled..]).expect("response");
        assert!(n > 0, "closed during the handshake");
        filled += n;
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "upgraded");
    stream
}

/// Sends one masked frame with `opcode` and `payload`; returns the opcode and payload of the
/// answer.
fn round_trip(stream: &mut impl ReadWrite, opcode: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    let mask = [1, 2, 3, 4];
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).expect("write");
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).expect("answer");
    let mut answer = vec![0u8; usize::from(header[1] & 0x7f)];
    stream.read_exact(&mut answer).expect("payload");
    (header[0] & 0x0f, answer)
}

fn wait_for_open(server: &server::Background, wanted: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.open_connections() != wanted {
        assert!(
            Instant::now() < deadline,
            "{} open, not {wanted}",
            server.open_connections()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The last tasks settle (their first poll, the upgrade's leftovers freed).
    std::thread::sleep(Duration::from_millis(300));
}

/// Waits until `wanted` connections are parked: a second after they were last heard from.
fn wait_for_parked(server: &server::Background, wanted: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.parked_connections() != wanted as i64 {
        assert!(
            Instant::now() < deadline,
            "{} parked, not {wanted}",
            server.parked_connections()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// Opens `CONNECTIONS` connections with `open` (once to warm up, once measured) and prints the
/// heap per connection with its blocks by size; every connection must still echo and
/// answer a ping. Returns the heap bytes per connection.
fn heap_per_idle_connection<S: ReadWrite>(
    what: &str,
    server: &server::Background,
    parks: bool,
    open: impl Fn() -> S,
) -> isize {
    // Warm up: whatever the server allocates once (pools, maps grown to size) is there before
    // the first snapshot.
    let warm: Vec<S> = (0..CONNECTIONS).map(|_| open()).collect();
    wait_for_open(server, CONNECTIONS);
    drop(warm);
    wait_for_open(server, 0);

    let mut held = Vec::with_capacity(CONNECTIONS);
    let (bytes_before, blocks_before) = snapshot();
    for _ in 0..CONNECTIONS {
        held.push(open());
    }
    wait_for_open(server, CONNECTIONS);
    if parks {
        wait_for_parked(server, CONNECTIONS);
    }
    let (bytes_after, blocks_after) = snapshot();

    let n = CONNECTIONS as isize;
    let per_connection = (bytes_after - bytes_before) / n;
    println!("{what}: heap per idle connection: {per_connection} bytes ({CONNECTIONS} held)");
    println!("blocks per connection, by size (only classes with at least one per 4 connections):");
    for (class, (after, before)) in blocks_after.iter().zip(&blocks_before).enumerate() {
        let per = (after - before) as f64 / n as f64;
        if per.abs() >= 0.25 {
            println!("  {}: {per:+.2}", class_name(class));
        }
    }

    // Every connection still echoes and answers a ping (a parked one is taken up again for it).
    for stream in held.iter_mut() {
        assert_eq!(
            round_trip(stream, 0x1, b"still here"),
            (0x1, b"still here".to_vec())
        );
        assert_eq!(round_trip(stream, 0x9, b"ping"), (0xA, b"ping".to_vec()));
    }
    per_connection
}

#[test]
#[ignore = "release build: run by scripts/test.sh"]
fn an_idle_connection_costs_at_most_the_documented_heap_bytes() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    NOT_COUNTED.with(|c| c.set(true));
    let mut config = Config::listening_on("127.0.0.1:0");
    // Parked a second after their last message instead of five: the same parked connections,
    // sooner.
    config.park_after = ParkAfter(Some(Duration::from_secs(1)));
    let server = server::start_in_background(config).expect("server starts");
    let addr = server.addr;
    let request = format!("GET /echo HTTP/1.1\r\nHost: {addr}\r\n{UPGRADE_TAIL}").into_bytes();
    let per_connection = heap_per_idle_connection("ws://", &server, true, || open(addr, &request));
    assert!(
        per_connection <= MAX_HEAP_BYTES_PER_CONNECTION,
        "{per_connection} heap bytes per idle connection, over the {MAX_HEAP_BYTES_PER_CONNECTION} \
         the README promises"
    );
}

#[test]
#[ignore = "release build: run by scripts/test.sh"]
fn an_idle_tls_connection_costs_at_most_the_documented_heap_bytes() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    NOT_COUNTED.with(|c| c.set(true));
    let certificate = support::certificate::self_signed();
    let client = certificate.trusting();
    let mut config = Config::listening_on("127.0.0.1:0");
    config.tls_cert = Some(certificate.cert.clone());
    config.tls_key = Some(certificate.key.clone());
    let server = server::start_in_background(config).expect("server starts");
    let addr = server.addr;
    let request = format!("GET /echo HTTP/1.1\r\nHost: {addr}\r\n{UPGRADE_TAIL}").into_bytes();
    let per_connection = heap_per_idle_connection("wss://", &server, false, || {
        open_tls(addr, &request, &client)
    });
    assert!(
        per_connection <= MAX_TLS_HEAP_BYTES_PER_CONNECTION,
        "{per_connection} heap bytes per idle TLS connection, over the \
         {MAX_TLS_HEAP_BYTES_PER_CONNECTION} the README promises"
    );
}
