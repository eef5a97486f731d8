//! Origin checks, the connection limit, keepalive, idle timeout, handshake timeout and graceful
//! shutdown, over real sockets against the app on 127.0.0.1:0.

mod support {
    pub mod raw_client;
}

use std::time::{Duration, Instant};

use backend::{server, Config};
use futures_util::{SinkExt, StreamExt};
use support::raw_client::{http_request, upgrade_request, RawClient, CLOSE};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode, Error, Message},
};

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

/// The handshake's HTTP status with this `Origin` header (101 when upgraded).
async fn status_with_origin(server: &server::Background, origin: Option<&str>) -> u16 {
    let mut request = server.echo_url().into_client_request().expect("request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().expect("header value"));
    }
    match connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected handshake error: {other}"),
    }
}

#[tokio::test]
async fn same_origin_and_no_origin_pass_a_foreign_origin_gets_403() {
    let server = start(|_| {});
    let own = format!("http://{}", server.addr);
    assert_eq!(status_with_origin(&server, Some(&own)).await, 101);
    assert_eq!(
        status_with_origin(&server, None).await,
        101,
        "non-browser clients"
    );
    assert_eq!(
        status_with_origin(&server, Some("http://evil.example")).await,
        403
    );

    let head = http_request(
        server.addr,
        &upgrade_request(server.addr, "Origin: http://evil.example\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test]
async fn the_refusal_says_which_flag_opens_it() {
    let server = start(|_| {});
    let request = upgrade_request(server.addr, "Origin: http://evil.example\r\n");
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .expect("write");
    let mut response = String::new();
    let _ =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response)).await;
    assert!(
        response.contains("--allow-origin http://evil.example"),
        "{response}"
    );
}

#[tokio::test]
async fn allow_origin_opens_listed_origins_and_star_opens_all() {
    let server = start(|c| c.allowed_origins = vec!["https://app.example.com".into()]);
    assert_eq!(
        status_with_origin(&server, Some("https://app.example.com")).await,
        101
    );
    assert_eq!(
        status_with_origin(&server, Some("https://other.example.com")).await,
        403
    );
    let open = start(|c| c.allowed_origins = vec!["*".into()]);
    assert_eq!(
        status_with_origin(&open, Some("https://other.example.com")).await,
        101
    );
}

#[tokio::test]
async fn past_max_connections_upgrades_get_503_and_open_ones_keep_working() {
    let server = start(|c| c.max_connections = 2);
    let (mut first, _) = connect_async(server.echo_url()).await.expect("first");
    let (_second, _) = connect_async(server.echo_url()).await.expect("second");
    assert_eq!(
        status_with_origin(&server, None).await,
        503,
        "third is refused"
    );

    first.send(Message::text("still here")).await.expect("send");
    assert_eq!(
        first.next().await.expect("open").expect("frame"),
        Message::text("still here")
    );

    first.close(None).await.expect("close");
    while first.next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.open_connections() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status_with_origin(&server, None).await,
        101,
        "room again after one closed"
    );
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_a_silent_one_is_closed_with_1001() {
    let server = start(|c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_millis(700);
    });

    // tokio-tungstenite answers pings while it reads: alive although it sends no messages.
    let (mut alive, _) = connect_async(server.echo_url()).await.expect("connect");
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(frame)) = tokio::time::timeout_at(until.into(), alive.next()).await {
        match frame.expect("frame") {
            Message::Ping(_) => pings += 1,
            other => panic!("only pings expected, got {other:?}"),
        }
    }
    assert!(pings >= 4, "pinged every 200 ms, got {pings} in 1.5 s");

    // A raw client never answers: pings, then close 1001 at the idle timeout, then the TCP end.
    // Timed from before the handshake: the server's clock for this connection starts later, so
    // the close can never come sooner than this says, however slowly the 101 is read.
    let started = Instant::now();
    let mut silent = RawClient::connect(server.addr).await;
    let mut seen_pings = 0;
    loop {
        let frame = silent.read_frame().await.expect("a frame before the close");
        if frame.opcode == 0x9 {
            seen_pings += 1;
        } else {
            assert_eq!(frame.opcode, CLOSE);
            assert_eq!(frame.close_code(), Some(1001));
            assert_eq!(&frame.payload[2..], b"idle timeout");
            break;
        }
    }
    assert!(seen_pings >= 2, "{seen_pings}");
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "not before the idle timeout"
    );
    assert!(silent.sees_end_of_stream().await);
}

#[tokio::test]
async fn a_client_that_never_sends_its_handshake_is_dropped() {
    let server = start(|c| c.handshake_timeout = Duration::from_millis(300));
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let mut buffer = [0u8; 256];
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
    assert!(ended.is_ok(), "the server closed the silent connection");
}

#[tokio::test]
async fn graceful_shutdown_closes_every_connection_with_1001_then_stops() {
    let server = start(|_| {});
    let addr = server.addr;
    let health = http_request(
        addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // One client that answers the close, one raw client that never does.
    let (mut polite, _) = connect_async(server.echo_url()).await.expect("connect");
    let mut stubborn = RawClient::connect(addr).await;
    let started = Instant::now();
    let shutdown = tokio::spawn(server.shut_down(Duration::from_secs(10)));

    match polite.next().await.expect("a frame").expect("valid") {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    assert_eq!(stubborn.read_close().await, Some(1001));
    // The server waits a second for the answering close, then drops the connection: nobody
    // can hold the shutdown up to its grace by not answering.
    assert!(stubborn.sees_end_of_stream().await);
    shutdown.await.expect("shutdown task");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn shutdown_ends_as_soon_as_every_client_answered() {
    let server = start(|_| {});
    let (mut client, _) = connect_async(server.echo_url()).await.expect("connect");
    let started = Instant::now();
    let shutdown = tokio::spawn(server.shut_down(Duration::from_secs(10)));
    // Reading makes tungstenite answer the close frame.
    while client.next().await.is_some() {}
    shutdown.await.expect("shutdown task");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wait out the 10 s grace"
    );
}
