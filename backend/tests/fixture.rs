//! The echo as a test fixture, over real sockets against the app on 127.0.0.1:0: every fault
//! parameter of `/echo` checked against what it promises (delays measured, close codes and
//! reasons after exactly N echoes or a time, a reset without a close frame, pushes counted and
//! spaced, a ping without a pong, fragment sizes, refusals, subprotocol and compression
//! answers, the hello message), a 400 for each bad value, the memory budget held by a delayed
//! flood, `--fixture off`, `/request` and `X-Served-By`.

mod support {
    pub mod raw_client;
}

use std::time::{Duration, Instant};

use backend::{config::Switch, server, Config};
use support::raw_client::{
    http_request, upgrade_request_to, RawClient, StreamEnd, BINARY, CLOSE, CONTINUATION, PING, TEXT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PONG: u8 = 0xA;

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.instance_name = Some("fixture-test-1".into());
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

async fn connect(server: &server::Background, query: &str) -> RawClient {
    RawClient::connect_to(server.addr, &format!("/echo?{query}"), "")
        .await
        .0
}

/// The whole answer to a raw request (which must ask for `Connection: close`).
async fn whole_response(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// The upgrade's whole answer for `/echo?query` (a refusal's body included).
async fn upgrade_answer(server: &server::Background, query: &str, headers: &str) -> String {
    whole_response(
        server.addr,
        &upgrade_request_to(server.addr, &format!("/echo?{query}"), headers),
    )
    .await
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[tokio::test]
async fn delay_holds_each_echo_that_long_and_keeps_their_order() {
    let server = start(|_| {});
    let mut client = connect(&server, "delay=300ms").await;
    let sent = Instant::now();
    for text in ["one", "two", "three"] {
        client.send(true, 0, TEXT, text.as_bytes(), true).await;
    }
    for text in ["one", "two", "three"] {
        let frame = client.read_frame().await.expect("an echo");
        assert_eq!(
            (frame.opcode, frame.payload.as_slice()),
            (TEXT, text.as_bytes())
        );
    }
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1000),
        "{took:?}"
    );
    // Without the parameter, the echo is immediate.
    let mut plain = connect(&server, "").await;
    let sent = Instant::now();
    plain.send(true, 0, TEXT, b"now", true).await;
    plain.read_frame().await.expect("an echo");
    assert!(sent.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn close_after_n_echoes_closes_with_the_code_and_reason_asked() {
    let server = start(|_| {});
    let mut client = connect(
        &server,
        "close_after=3&close_code=4000&close_reason=bye+now",
    )
    .await;
    for n in 0..5u8 {
        client.send(true, 0, BINARY, &[n], true).await;
    }
    for n in 0..3u8 {
        let frame = client.read_frame().await.expect("an echo");
        assert_eq!((frame.opcode, frame.payload), (BINARY, vec![n]));
    }
    let close = client.read_frame().await.expect("a close frame");
    assert_eq!(close.opcode, CLOSE, "exactly three echoes, then the close");
    assert_eq!(close.close_code(), Some(4000));
    assert_eq!(&close.payload[2..], b"bye now");
}

#[tokio::test]
async fn close_after_a_duration_closes_then_with_1000() {
    let server = start(|_| {});
    let opened = Instant::now();
    let mut client = connect(&server, "close_after=400ms").await;
    let close = client.read_frame().await.expect("a close frame");
    let took = opened.elapsed();
    assert_eq!(close.close_code(), Some(1000));
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // close_after=0: at once.
    let mut client = connect(&server, "close_after=0&close_code=3001").await;
    assert_eq!(client.read_close().await, Some(3001));
}

#[tokio::test]
async fn reset_after_n_echoes_resets_the_connection_without_a_close_frame() {
    let server = start(|_| {});
    let mut client = connect(&server, "reset_after=2").await;
    for n in 0..2u8 {
        client.send(true, 0, BINARY, &[n], true).await;
        let frame = client.read_frame().await.expect("an echo");
        assert_eq!(frame.payload, vec![n]);
    }
    assert_eq!(client.ending().await, StreamEnd::Reset);
    assert!(
        !client.unread().contains(&0x88),
        "no close frame before the reset: {:?}",
        client.unread()
    );

    let opened = Instant::now();
    let mut client = connect(&server, "reset_after=300ms").await;
    assert_eq!(client.ending().await, StreamEnd::Reset);
    assert!(client.unread().is_empty(), "{:?}", client.unread());
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn push_every_sends_numbered_messages_of_the_size_asked_at_that_interval() {
    let server = start(|_| {});
    let mut client = connect(&server, "push_every=100ms&push_size=16").await;
    let opened = Instant::now();
    let mut arrivals = Vec::new();
    while opened.elapsed() < Duration::from_millis(1050) {
        let frame = client.read_frame().await.expect("a push");
        assert_eq!(frame.opcode, TEXT);
        assert_eq!(frame.payload.len(), 16, "{:?}", frame.payload);
        let text = String::from_utf8(frame.payload).expect("text");
        let n = arrivals.len() + 1;
        assert!(text.starts_with(&format!("push {n} ")), "{text:?}");
        arrivals.push(opened.elapsed());
    }
    assert!(
        (9..=11).contains(&arrivals.len()),
        "{} pushes in about a second: {arrivals:?}",
        arrivals.len()
    );
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(60) && gap <= Duration::from_millis(250),
            "{arrivals:?}"
        );
    }
    // Echoes still come between the pushes; binary pushes carry their number.
    let mut client = connect(&server, "push_every=50ms&push_type=binary&push_size=8").await;
    let frame = client.read_frame().await.expect("a push");
    assert_eq!(
        (frame.opcode, frame.payload),
        (BINARY, 1u64.to_be_bytes().to_vec())
    );
    client.send(true, 0, TEXT, b"echo me", true).await;
    loop {
        let frame = client.read_frame().await.expect("the echo");
        if frame.opcode == TEXT {
            assert_eq!(frame.payload, b"echo me");
            break;
        }
    }
}

#[tokio::test]
async fn pongs_off_leaves_pings_unanswered() {
    let server = start(|_| {});
    let mut client = connect(&server, "pongs=off").await;
    client.send(true, 0, PING, b"are you there", true).await;
    client.send(true, 0, TEXT, b"after the ping", true).await;
    let frame = client.read_frame().await.expect("the echo");
    assert_eq!(
        (frame.opcode, frame.payload.as_slice()),
        (TEXT, &b"after the ping"[..]),
        "no pong before the echo"
    );
    let mut plain = connect(&server, "").await;
    plain.send(true, 0, PING, b"are you there", true).await;
    let frame = plain.read_frame().await.expect("the pong");
    assert_eq!(frame.opcode, PONG);
}

#[tokio::test]
async fn fragment_cuts_each_echo_into_frames_of_at_most_n_bytes() {
    let server = start(|_| {});
    let mut client = connect(&server, "fragment=4").await;
    client
        .send(true, 0, TEXT, "héllo wörld".as_bytes(), true)
        .await;
    let mut frames = Vec::new();
    loop {
        let frame = client.read_frame().await.expect("a fragment");
        let fin = frame.fin;
        frames.push(frame);
        if fin {
            break;
        }
    }
    let sizes: Vec<usize> = frames.iter().map(|f| f.payload.len()).collect();
    assert_eq!(sizes, [4, 4, 4, 1]);
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [TEXT, CONTINUATION, CONTINUATION, CONTINUATION]);
    let whole: Vec<u8> = frames.into_iter().flat_map(|f| f.payload).collect();
    assert_eq!(whole, "héllo wörld".as_bytes());
    // A message that fits goes whole.
    client.send(true, 0, BINARY, &[1, 2, 3], true).await;
    let frame = client.read_frame().await.expect("the echo");
    assert!(frame.fin && frame.opcode == BINARY);
}

#[tokio::test]
async fn refuse_answers_the_upgrade_with_the_status_asked() {
    let server = start(|_| {});
    let answer = upgrade_answer(&server, "refuse=503", "").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("refuse=503"), "{answer}");
    assert_eq!(header(&answer, "x-served-by"), Some("fixture-test-1"));
    let answer = upgrade_answer(&server, "refuse=418", "").await;
    assert!(answer.starts_with("HTTP/1.1 418"), "{answer}");
}

#[tokio::test]
async fn subprotocol_none_or_name_overrides_what_is_agreed() {
    let server = start(|_| {});
    let offered = "Sec-WebSocket-Protocol: chat\r\n";
    let (_, head) = RawClient::connect_to(server.addr, "/echo", offered).await;
    assert_eq!(header(&head, "sec-websocket-protocol"), Some("chat"));
    let (_, head) = RawClient::connect_to(server.addr, "/echo?subprotocol=none", offered).await;
    assert_eq!(header(&head, "sec-websocket-protocol"), None, "{head}");
    let (_, head) = RawClient::connect_to(server.addr, "/echo?subprotocol=other.v2", offered).await;
    assert_eq!(header(&head, "sec-websocket-protocol"), Some("other.v2"));
}

#[tokio::test]
async fn compression_off_does_not_agree_permessage_deflate() {
    let server = start(|_| {});
    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (_, head) = RawClient::connect_to(server.addr, "/echo", offer).await;
    assert!(
        header(&head, "sec-websocket-extensions").is_some_and(|v| v.contains("permessage-deflate")),
        "{head}"
    );
    let (_, head) = RawClient::connect_to(server.addr, "/echo?compression=off", offer).await;
    assert_eq!(header(&head, "sec-websocket-extensions"), None, "{head}");
}

#[tokio::test]
async fn hello_request_describes_the_upgrade_request_as_received() {
    let server = start(|_| {});
    let (mut client, head) = RawClient::connect_to(
        server.addr,
        "/echo?hello=request&cachebuster=7",
        "X-Test: one\r\nX-Test: two\r\nSec-WebSocket-Protocol: chat\r\n",
    )
    .await;
    assert_eq!(header(&head, "x-served-by"), Some("fixture-test-1"));
    let hello = client.read_frame().await.expect("the hello");
    assert_eq!(hello.opcode, TEXT);
    let hello = String::from_utf8(hello.payload).expect("text");
    for part in [
        r#""method":"GET""#,
        r#""path":"/echo""#,
        r#""query":"hello=request&cachebuster=7""#,
        r#""http_version":"HTTP/1.1""#,
        r#"["x-test","one"],["x-test","two"]"#,
        r#"["sec-websocket-protocol","chat"]"#,
        r#""tls":null"#,
        r#""subprotocol":"chat""#,
        r#""instance":"fixture-test-1""#,
    ] {
        assert!(hello.contains(part), "{part} in {hello}");
    }
    assert!(hello.contains(r#""peer":"127.0.0.1:"#), "{hello}");
    // Every header, in the order it came, with the case of its name folded.
    let headers = format!(
        r#""headers":[["host","{}"],["upgrade","websocket"],["connection","Upgrade"],["sec-websocket-key","dGhlIHNhbXBsZSBub25jZQ=="],["sec-websocket-version","13"],["x-test","one"],["x-test","two"],["sec-websocket-protocol","chat"]]"#,
        server.addr
    );
    assert!(hello.contains(&headers), "{headers} in {hello}");
    // Then the echo as usual.
    client.send(true, 0, TEXT, b"hi", true).await;
    assert_eq!(client.read_frame().await.expect("echo").payload, b"hi");
}

#[tokio::test]
async fn request_route_answers_the_request_as_received_with_its_body() {
    let server = start(|_| {});
    let addr = server.addr;
    let answer = whole_response(
        addr,
        &format!(
            "POST /request?x=1 HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-For: 10.1.2.3\r\n\
             Content-Length: 5\r\nConnection: close\r\n\r\nhello"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(header(&answer, "x-served-by"), Some("fixture-test-1"));
    for part in [
        r#""method":"POST""#,
        r#""path":"/request""#,
        r#""query":"x=1""#,
        r#"["x-forwarded-for","10.1.2.3"],["content-length","5"],["connection","close"]]"#,
        r#""body_bytes":5,"body":"hello""#,
        r#""instance":"fixture-test-1""#,
    ] {
        assert!(answer.contains(part), "{part} in {answer}");
    }
    // Past its body limit: 413.
    let big = 65 * 1024;
    let answer = http_request(
        addr,
        &format!(
            "PUT /request HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {big}\r\n\
             Connection: close\r\n\r\n{}",
            "x".repeat(big)
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn every_response_names_the_instance() {
    let server = start(|_| {});
    let addr = server.addr;
    for path in ["/healthz", "/metrics", "/", "/echo"] {
        let head = http_request(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(
            header(&head, "x-served-by"),
            Some("fixture-test-1"),
            "{path}: {head}"
        );
    }
    let (_, head) = RawClient::connect_to(addr, "/echo", "").await;
    assert_eq!(header(&head, "x-served-by"), Some("fixture-test-1"));
    let head = http_request(addr, &upgrade_request_to(addr, "/nowhere", "")).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(header(&head, "x-served-by"), Some("fixture-test-1"));
}

#[tokio::test]
async fn a_bad_value_is_refused_with_400_naming_the_parameter() {
    let server = start(|_| {});
    for (query, name) in [
        ("delay=61s", "delay"),
        ("close_after=soon", "close_after"),
        ("close_after=1&close_code=1006", "close_code"),
        ("close_reason=%FF", "close_reason"),
        ("reset_after=-5", "reset_after"),
        ("push_every=1ms", "push_every"),
        ("push_every=1s&push_size=9999999", "push_size"),
        ("push_every=1s&push_type=xml", "push_type"),
        ("pongs=maybe", "pongs"),
        ("fragment=0", "fragment"),
        ("refuse=302", "refuse"),
        ("subprotocol=a,b", "subprotocol"),
        ("compression=gzip", "compression"),
        ("hello=world", "hello"),
    ] {
        let answer = upgrade_answer(&server, query, "").await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{query}: {answer}");
        assert!(
            answer.contains(&format!("query parameter {name}=")) && answer.contains("takes"),
            "{query}: {answer}"
        );
    }
    let metrics = support::raw_client::http_get(server.addr, "/metrics").await;
    assert!(
        metrics.contains(r#"echo_rejected_upgrades_total{reason="bad_fixture_parameter"} 14"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_delayed_flood_is_held_to_the_memory_budget() {
    let server = start(|config| config.memory_budget = Some(1 << 20));
    let mut client = connect(&server, "delay=10s").await;
    let chunk = vec![7u8; 64 * 1024];
    // 2 MiB waiting for their delay: past the 1 MiB budget.
    for _ in 0..32 {
        if !client
            .try_write(&support::raw_client::encode(true, 0, BINARY, &chunk, true))
            .await
        {
            break;
        }
    }
    let started = Instant::now();
    assert_eq!(client.read_close().await, Some(1013));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "before the delay"
    );
    let metrics = support::raw_client::http_get(server.addr, "/metrics").await;
    assert!(
        metrics.contains(r#"echo_fixture_connections_total{fault="delay"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn with_the_fixture_off_the_parameters_are_ignored() {
    let server = start(|config| config.fixture = Switch::Off);
    let answer = upgrade_answer(&server, "refuse=503&delay=bad", "").await;
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    let mut client = connect(&server, "delay=2s&close_after=0").await;
    let sent = Instant::now();
    client.send(true, 0, TEXT, b"now", true).await;
    assert_eq!(client.read_frame().await.expect("echo").payload, b"now");
    assert!(sent.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn the_raw_503_for_a_full_server_names_the_instance_too() {
    let server = start(|config| config.max_http_connections = Some(1));
    let addr = server.addr;
    // The one place is busy with a request whose body is still coming.
    let mut busy = tokio::net::TcpStream::connect(addr).await.expect("connect");
    busy.write_all(
        format!("POST /request HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\npart")
            .as_bytes(),
    )
    .await
    .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = whole_response(
        addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(header(&answer, "x-served-by"), Some("fixture-test-1"));
    assert!(answer.ends_with("try again shortly\n"), "{answer}");
    drop(busy);
}

/// `echo_memory_held_bytes` now.
async fn memory_held(addr: std::net::SocketAddr) -> u64 {
    let metrics = support::raw_client::http_get(addr, "/metrics").await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("echo_memory_held_bytes ")?.parse().ok())
        .unwrap_or_else(|| panic!("no echo_memory_held_bytes in {metrics}"))
}

#[tokio::test]
async fn pushes_obey_back_pressure_and_the_idle_timeout() {
    let server = start(|config| config.idle_timeout = Duration::from_secs(2));
    // A client that never reads while the server pushes a mebibyte every 10 ms: the server
    // waits for the socket instead of queueing (64 KiB of echoes plus one message at most).
    let _reader_who_never_reads = connect(&server, "push_every=10ms&push_size=1048576").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let held = memory_held(server.addr).await;
    assert!(
        held <= 1_200_000,
        "held {held} bytes for one client that does not read"
    );

    // Pushes are not signs of life from the client: a silent client is still closed.
    let opened = Instant::now();
    let mut silent = connect(&server, "push_every=100ms").await;
    let code = silent.read_close().await;
    assert_eq!(code, Some(1001), "closed for the idle timeout");
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
}
