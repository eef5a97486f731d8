//! A bare actix-ws echo server: the baseline the backend is measured against (scripts/bench.sh).
//! No limits, origin checks, pings, metrics or logging; just the echo loop.
//!
//! ```text
//! cargo run --release -p backend --example bare_echo -- 127.0.0.1:9001
//! ```

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
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    HttpServer::new(|| App::new().route("/echo", web::get().to(echo)))
        .bind(addr)?
        .run()
        .await
}
