//! One session: connect, tick, print echoes, close on Ctrl-C.

use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval_at, timeout, Instant};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{
        protocol::{frame::coding::CloseCode, CloseFrame},
        Message,
    },
};
use url::Url;

/// How often the current time is sent, as in the original.
pub const SEND_INTERVAL: Duration = Duration::from_secs(1);

/// After Ctrl-C, how long to wait for the server to answer the close frame before exiting.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub const EXIT_OK: u8 = 0;
pub const EXIT_CONNECT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONNECTION_ENDED: u8 = 3;

/// Runs until Ctrl-C or until the connection ends; returns the process exit status.
pub async fn run(url: &Url) -> u8 {
    println!("connecting to {url}");
    let (socket, _response) = match connect_async(url.as_str()).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("error: could not connect to {url}: {error}. Is the echo server running? (cargo run -p backend)");
            return EXIT_CONNECT_FAILED;
        }
    };
    let (mut outgoing, mut incoming) = socket.split();
    let mut ticker = interval_at(Instant::now() + SEND_INTERVAL, SEND_INTERVAL);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);

    loop {
        tokio::select! {
            received = incoming.next() => match received {
                Some(Ok(Message::Text(text))) => println!("recv: {}", text.as_str()),
                Some(Ok(Message::Binary(bytes))) => println!("recv: <binary, {} bytes>", bytes.len()),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or_else(|| "no code".to_owned(), |f| format!("code {}", u16::from(f.code)));
                    eprintln!("the server closed the connection ({code})");
                    return EXIT_CONNECTION_ENDED;
                }
                Some(Ok(_ping_pong_or_frame)) => {}
                Some(Err(error)) => {
                    eprintln!("error: the connection to {url} was lost: {error}");
                    return EXIT_CONNECTION_ENDED;
                }
                None => {
                    eprintln!("error: the connection to {url} ended without a close frame");
                    return EXIT_CONNECTION_ENDED;
                }
            },
            _ = ticker.tick() => {
                let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
                if let Err(error) = outgoing.send(Message::text(now)).await {
                    eprintln!("error: could not send to {url}: {error}");
                    return EXIT_CONNECTION_ENDED;
                }
            }
            _ = &mut interrupted => {
                println!("interrupt");
                let close = Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }));
                if outgoing.send(close).await.is_err() {
                    return EXIT_OK; // already gone: nothing left to close
                }
                // Wait for the server's close (the stream ends after it), at most CLOSE_TIMEOUT.
                let drained = timeout(CLOSE_TIMEOUT, async {
                    while let Some(Ok(message)) = incoming.next().await {
                        if let Message::Text(text) = message {
                            println!("recv: {}", text.as_str());
                        }
                    }
                })
                .await;
                if drained.is_err() {
                    eprintln!("the server did not answer the close within {CLOSE_TIMEOUT:?}; exiting anyway");
                }
                return EXIT_OK;
            }
        }
    }
}
