//! A raw TCP echo: every byte read is written back, no WebSocket framing at all. The physical
//! reference for scripts/bench.sh (what loopback and the kernel cost by themselves); the bench
//! talks to it with `--raw`.
//!
//! ```text
//! cargo run --release -p bench-peers --bin raw_tcp_echo -- 127.0.0.1:9003
//! ```

use tokio::{io::copy, net::TcpListener};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("raw TCP echo on {addr}");
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let (mut reader, mut writer) = stream.split();
            // Ends when the peer closes; a reset is a normal end for a benchmark connection.
            let _ = copy(&mut reader, &mut writer).await;
        });
    }
}
