//! A raw TCP echo: every byte read is written back, no WebSocket framing at all. The physical
//! reference for scripts/bench.sh (what loopback and the kernel cost by themselves); the bench
//! talks to it with `--raw`.
//!
//! It makes the fewest system calls an echo can: one read and one write per burst. A short read
//! means the socket is drained, and tokio is told so without the `read` that would return
//! EAGAIN (`tokio::io::copy` makes that third call for every message, which let WebSocket servers
//! beat this "floor" in ping-pong).
//!
//! ```text
//! cargo run --release -p bench-peers --bin raw_tcp_echo -- 127.0.0.1:9003
//! ```

use std::io;

use tokio::{
    io::{AsyncWriteExt, Interest},
    net::{TcpListener, TcpStream},
};

/// Bytes read at once: as `tokio::io::copy` reads, so idle connections cost what they did.
const BUFFER_BYTES: usize = 8 * 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("raw TCP echo on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        // Ends when the peer closes; a reset is a normal end for a benchmark connection.
        tokio::spawn(async move { echo(stream).await });
    }
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buffer = vec![0u8; BUFFER_BYTES];
    loop {
        stream.readable().await?;
        let n = match stream.try_read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        };
        if n < buffer.len() {
            // Drained: say so without another read.
            let _ = stream.try_io(Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
        }
        stream.write_all(&buffer[..n]).await?;
    }
}
