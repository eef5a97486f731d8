//! Plain HTTP connections under peers that park them, and what peers can put into the log and
//! the metrics, over real sockets against the app on 127.0.0.1:0. The heavy versions (a
//! thousand sockets under a 1,024 descriptor limit, 3,000 silent TLS connections, a stuck log
//! reader) are in hostile_peers.rs, against the release binary.

mod support {
    pub mod raw_client;
}

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use backend::{server, Config};
use support::raw_client::{http_get, http_request, upgrade_request, RawClient, CLOSE, TEXT};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

/// Reads one whole `Content-Length` response from `stream`; returns its head.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end + 4]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return head;
            }
        }
        let n = timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(n > 0, "closed before a whole response");
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// How long until the server ends the connection (EOF or reset), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    loop {
        match timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut chunk),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {} // a 408 before the close
        }
    }
}

fn healthz(addr: SocketAddr) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

#[tokio::test]
async fn a_second_request_head_sent_slowly_is_closed_within_the_handshake_timeout() {
    let server = start(|c| {
        c.handshake_timeout = Duration::from_millis(400);
        c.keep_alive = Duration::from_secs(10);
    });
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(healthz(server.addr).as_bytes())
        .await
        .expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // The slowloris: one byte of the next request, then silence. Before, nothing closed it.
    stream.write_all(b"G").await.expect("write");
    let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
    let closed = closed.expect("the parked connection was never closed");
    assert!(
        closed >= Duration::from_millis(300),
        "too early: {closed:?}"
    );
    assert!(closed < Duration::from_millis(1500), "too late: {closed:?}");

    let metrics = http_get(server.addr, "/metrics").await;
    assert!(
        metrics.contains(r#"echo_http_connections_closed_total{reason="head_timeout"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_head_that_trickles_in_a_byte_at_a_time_is_closed_on_time() {
    let server = start(|c| c.handshake_timeout = Duration::from_millis(400));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    let mut closed = false;
    for byte in healthz(server.addr).bytes().cycle().take(100) {
        if stream.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut probe = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) = timeout(Duration::from_millis(1), stream.read(&mut probe)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_keep_alive() {
    let server = start(|c| c.keep_alive = Duration::from_millis(300));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(healthz(server.addr).as_bytes())
        .await
        .expect("write");
    read_response(&mut stream).await;
    let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
    let closed = closed.expect("the idle connection was never closed");
    assert!(closed >= Duration::from_millis(200), "{closed:?}");
}

#[tokio::test]
async fn a_keep_alive_connection_serves_requests_one_after_another() {
    let server = start(|c| c.handshake_timeout = Duration::from_millis(300));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // Longer in all than the head timeout: each head has its own clock.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream
            .write_all(healthz(server.addr).as_bytes())
            .await
            .expect("write");
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    }
    // Two pipelined in one write: both answered, in one or more reads.
    let two = healthz(server.addr).repeat(2);
    stream.write_all(two.as_bytes()).await.expect("write");
    let mut answers = String::new();
    let mut chunk = [0u8; 4096];
    while answers.matches("HTTP/1.1 200").count() < 2 {
        let n = timeout(Duration::from_secs(2), stream.read(&mut chunk))
            .await
            .expect("both answers in time")
            .expect("read");
        assert!(n > 0, "closed after {answers:?}");
        answers.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[tokio::test]
async fn past_the_bound_the_oldest_silent_connection_makes_room_for_a_new_client() {
    let server = start(|c| c.max_http_connections = Some(3));
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The fourth gets its answer, and a WebSocket too: the oldest silent ones made room.
    let health = http_request(server.addr, &healthz(server.addr)).await;
    let metrics = http_get(server.addr, "/metrics").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health:?} {metrics}");
    let mut client = RawClient::connect(server.addr).await;
    client.send(true, 0, TEXT, b"still here", true).await;
    assert_eq!(
        client.read_frame().await.expect("echo").payload,
        b"still here"
    );
    assert!(
        closed_within(&mut silent[0], Duration::from_secs(2))
            .await
            .is_some(),
        "the oldest silent connection is closed"
    );
    let metrics = http_get(server.addr, "/metrics").await;
    assert!(
        metrics.contains(r#"echo_http_connections_closed_total{reason="made_room"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_websocket_does_not_count_among_plain_http_connections() {
    let server = start(|c| {
        c.max_http_connections = Some(2);
        c.handshake_timeout = Duration::from_millis(300);
    });
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(RawClient::connect(server.addr).await);
    }
    // Longer than the head timeout: the WebSockets have no HTTP deadline any more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for (i, client) in clients.iter_mut().enumerate() {
        let text = format!("client {i}");
        client.send(true, 0, TEXT, text.as_bytes(), true).await;
        assert_eq!(
            client.read_frame().await.expect("echo").payload,
            text.as_bytes()
        );
    }
    let metrics = http_get(server.addr, "/metrics").await;
    assert!(metrics.contains("echo_connections_open 5"), "{metrics}");
}

#[tokio::test]
async fn a_long_origin_is_cut_in_the_refusal_and_a_long_subprotocol_is_not_agreed() {
    let server = start(|_| {});
    let origin = format!("https://{}.example", "a".repeat(120_000));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = upgrade_request(server.addr, &format!("Origin: {origin}\r\n"));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 403"),
        "{}",
        &response[..200.min(response.len())]
    );
    assert!(
        response.len() < 2048,
        "the refusal is {} bytes",
        response.len()
    );
    assert!(response.contains("bytes in all"), "{response}");

    let long = "p".repeat(100_000);
    let (_, head) = RawClient::connect_with(
        server.addr,
        &format!("Sec-WebSocket-Protocol: {long}, echo\r\n"),
    )
    .await;
    assert!(head.len() < 1024, "the answer is {} bytes", head.len());
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-protocol: echo"),
        "{head}"
    );
}

#[tokio::test]
async fn close_codes_a_client_chooses_make_a_bounded_set_of_metric_series() {
    let server = start(|_| {});
    for code in (3000u16..3040).chain(4000..4040).chain([1000, 1001]) {
        let mut client = RawClient::connect(server.addr).await;
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        client.send(true, 0, CLOSE, &payload, true).await;
        let _ = client.read_frame().await;
    }
    // The server counts the close after its task ends: give the last ones a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let metrics = http_get(server.addr, "/metrics").await;
        if metrics.contains(r#"echo_closes_total{code="1001"} 1"#) || Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let series: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("echo_closes_total{"))
        .collect();
    assert_eq!(series.len(), 4, "{series:?}");
    assert!(
        metrics.contains(r#"echo_closes_total{code="3000-3999"} 40"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"echo_closes_total{code="4000-4999"} 40"#),
        "{metrics}"
    );
}
