//! A bare actix-ws echo server: the baseline the backend is measured against (scripts/bench.sh).
//! No limits, origin checks, pings, metrics or logging; just the echo loop.
//!
//! ```text
//! cargo run --release -p backend --example bare_echo -- 127.0.0.1:9001
//! cargo run --release -p backend --example bare_echo -- 127.0.0.1:9443 --tls CERT KEY   # wss
//! ```
//! Over TLS it uses actix-web's own rustls listener (the certificate loaded as the backend
//! loads it), for the wss rows of `scripts/bench.sh tls`.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, Message};
use futures_util::{SinkExt, StreamExt};

async fn echo(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, mut session, stream) = actix_ws::handle(&req, body)?;
    let mut stream = stream
        .max_frame_size(16 << 20)
        .aggregate_continuations()
        .max_continuation_size(16 << 20);
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let reply = match message {
                AggregatedMessage::Text(text) => Message::Text(text),
                AggregatedMessage::Binary(bytes) => Message::Binary(bytes),
                AggregatedMessage::Ping(bytes) => Message::Pong(bytes),
                AggregatedMessage::Pong(_) => continue,
                AggregatedMessage::Close(reason) => Message::Close(reason),
            };
            if session.send(reply).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let server = HttpServer::new(|| App::new().route("/echo", web::get().to(echo)));
    match args.get(2).map(String::as_str) {
        Some("--tls") => {
            let (Some(cert), Some(key)) = (args.get(3), args.get(4)) else {
                return Err(std::io::Error::other("--tls needs CERT and KEY"));
            };
            let config = backend::http::tls::load(cert.as_ref(), key.as_ref())
                .map_err(std::io::Error::other)?;
            server.bind_rustls_0_23(addr, config)?.run().await
        }
        _ => server.bind(addr)?.run().await,
    }
}
