//! Frames and handshakes that break RFC 6455 each get the right answer, over a real socket.

mod support {
    pub mod raw_client;
}

use std::time::Duration;

use backend::{server, Config};
use support::raw_client::*;

const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn start() -> server::Background {
    server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts")
}

/// Sends `frames` on a fresh connection and returns the close code the server answers with.
async fn close_code_after(frames: &[Vec<u8>]) -> Option<u16> {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    for frame in frames {
        client.write(frame).await;
    }
    let code = client.read_close().await;
    assert!(
        client.sees_end_of_stream().await,
        "the server ends the connection after closing"
    );
    code
}

macro_rules! closes_with {
    ($name:ident, $code:expr, [$($frame:expr),* $(,)?]) => {
        #[tokio::test]
        async fn $name() {
            let code = tokio::time::timeout(TEST_TIMEOUT, close_code_after(&[$($frame),*]))
                .await
                .expect("answered in time");
            assert_eq!(code, Some($code));
        }
    };
}

closes_with!(
    invalid_utf8_text_gets_1007,
    1007,
    [encode(true, 0, TEXT, b"caf\xc3", true)]
);

closes_with!(
    invalid_utf8_split_across_fragments_gets_1007,
    1007,
    [
        encode(false, 0, TEXT, b"ok \xe2\x82", true),
        encode(true, 0, CONTINUATION, b"\xffend", true)
    ]
);

closes_with!(
    unmasked_client_frame_gets_1002,
    1002,
    [encode(true, 0, TEXT, b"hi", false)]
);

closes_with!(
    reserved_bits_get_1002,
    1002,
    [encode(true, 0b100, TEXT, b"hi", true)]
);

closes_with!(
    reserved_opcode_gets_1002,
    1002,
    [encode(true, 0, 0x3, b"", true)]
);

closes_with!(
    reserved_control_opcode_gets_1002,
    1002,
    [encode(true, 0, 0xB, b"", true)]
);

closes_with!(
    continuation_without_a_start_gets_1002,
    1002,
    [encode(true, 0, CONTINUATION, b"orphan", true)]
);

closes_with!(
    new_message_inside_a_fragmented_one_gets_1002,
    1002,
    [
        encode(false, 0, TEXT, b"first", true),
        encode(true, 0, TEXT, b"second", true)
    ]
);

closes_with!(
    fragmented_ping_gets_1002,
    1002,
    [encode(false, 0, PING, b"x", true)]
);

closes_with!(
    control_frame_over_125_bytes_gets_1002,
    1002,
    [encode(true, 0, PING, &[b'x'; 126], true)]
);

closes_with!(
    reserved_close_code_gets_1002,
    1002,
    [encode(true, 0, CLOSE, &1005u16.to_be_bytes(), true)]
);

closes_with!(
    out_of_range_close_code_gets_1002,
    1002,
    [encode(true, 0, CLOSE, &5000u16.to_be_bytes(), true)]
);

closes_with!(
    one_byte_close_payload_gets_1002,
    1002,
    [encode(true, 0, CLOSE, &[0x03], true)]
);

closes_with!(
    close_reason_with_bad_utf8_is_refused,
    1002,
    [encode(true, 0, CLOSE, &[0x03, 0xe8, 0xff, 0xfe], true)]
);

#[tokio::test]
async fn a_valid_close_is_echoed_with_its_code() {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    let mut payload = 4001u16.to_be_bytes().to_vec();
    payload.extend_from_slice("done ✓".as_bytes());
    client.send(true, 0, CLOSE, &payload, true).await;
    assert_eq!(client.read_close().await, Some(4001));
    assert!(
        client.sees_end_of_stream().await,
        "TCP closed right after the handshake"
    );
}

#[tokio::test]
async fn fragments_are_echoed_as_one_message_with_pings_between() {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    client.send(false, 0, TEXT, "héllo ".as_bytes(), true).await;
    client.send(true, 0, PING, b"mid", true).await;
    client
        .send(true, 0, CONTINUATION, "wörld".as_bytes(), true)
        .await;
    let pong = client.read_frame().await.expect("pong");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (0xA, &b"mid"[..]));
    let echo = client.read_frame().await.expect("echo");
    assert_eq!(
        echo,
        Frame {
            rsv1: false,
            fin: true,
            opcode: TEXT,
            payload: "héllo wörld".as_bytes().to_vec()
        }
    );
}

#[tokio::test]
async fn malformed_handshakes_are_refused() {
    let server = start();
    let addr = server.addr;
    let no_key = format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    let head = http_request(addr, &no_key).await;
    assert!(head.starts_with("HTTP/1.1 400"), "no key: {head}");

    let wrong_version = upgrade_request(addr, "").replace("Version: 13", "Version: 8");
    let head = http_request(addr, &wrong_version).await;
    assert!(head.starts_with("HTTP/1.1 426"), "wrong version: {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "says which: {head}"
    );

    let no_upgrade = format!("GET /echo HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let head = http_request(addr, &no_upgrade).await;
    assert!(head.starts_with("HTTP/1.1 400"), "plain GET: {head}");

    let post = upgrade_request(addr, "").replacen("GET", "POST", 1);
    let head = http_request(addr, &post).await;
    assert!(head.starts_with("HTTP/1.1 405"), "POST: {head}");
    assert!(
        head.to_ascii_lowercase().contains("allow: get"),
        "POST: {head}"
    );
}

#[tokio::test]
async fn binary_messages_are_not_checked_for_utf8() {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    client.send(false, 0, BINARY, b"\xff\xfe", true).await;
    client.send(true, 0, CONTINUATION, b"\xc3", true).await;
    let echo = client.read_frame().await.expect("echo");
    assert_eq!(
        echo,
        Frame {
            rsv1: false,
            fin: true,
            opcode: BINARY,
            payload: b"\xff\xfe\xc3".to_vec()
        }
    );
}

/// A masked binary frame header announcing `len` payload bytes, with no payload.
fn header_announcing(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[9, 9, 9, 9]);
    header
}

#[tokio::test]
async fn a_huge_frame_header_is_refused_before_its_payload_arrives() {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    client.write(&header_announcing(1 << 62)).await;
    assert_eq!(client.read_close().await, Some(1009));
    assert!(client.sees_end_of_stream().await);
}

#[tokio::test]
async fn frames_before_an_oversized_header_are_echoed_first() {
    let server = start();
    let mut client = RawClient::connect(server.addr).await;
    let mut bytes = encode(true, 0, TEXT, b"first", true);
    bytes.extend(encode(true, 0, TEXT, b"second", true));
    bytes.extend(header_announcing(u64::MAX >> 1));
    client.write(&bytes).await;
    for expected in [&b"first"[..], b"second"] {
        let echo = client.read_frame().await.expect("echo");
        assert_eq!((echo.opcode, echo.payload.as_slice()), (TEXT, expected));
    }
    assert_eq!(client.read_close().await, Some(1009));
}

#[tokio::test]
async fn streaming_into_an_oversized_frame_is_cut_off() {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.max_frame_bytes = 64 * 1024;
    let server = server::start_in_background(config).expect("server starts");
    let mut client = RawClient::connect(server.addr).await;
    client.write(&header_announcing(1 << 40)).await;
    // Keep streaming the announced payload: the server must not wait for it or buffer it.
    let chunk = vec![0u8; 64 * 1024];
    let mut refused = false;
    for _ in 0..128 {
        if tokio::time::timeout(Duration::from_secs(5), client.try_write(&chunk))
            .await
            .map_or(true, |ok| !ok)
        {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "the server stopped reading and closed before 8 MiB of an oversized frame"
    );
}

#[tokio::test]
async fn an_upgrade_on_another_path_gets_404_with_a_hint_and_the_connection_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = start();
    let request = upgrade_request(server.addr, "").replacen("/echo", "/chat", 1);
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("the server closes the connection after its answer")
        .expect("read");
    let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 404"), "{response}");
    assert!(response.contains("connection: close"), "{response}");
    assert!(response.contains("connect to /echo"), "{response}");
}

/// A server whose message limit (1 MiB) is below its frame limit (16 MiB): the message limit
/// must still hold for a message sent as one frame.
fn start_with_message_limit() -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.max_message_bytes = 1 << 20;
    server::start_in_background(config).expect("server starts")
}

#[tokio::test]
async fn a_single_frame_one_byte_over_the_message_limit_gets_1009_text_or_binary() {
    let server = start_with_message_limit();
    for opcode in [TEXT, BINARY] {
        // Whole, as in the report: 1,048,577 bytes in one frame.
        let mut client = RawClient::connect(server.addr).await;
        let sent = client
            .try_write(&encode(true, 0, opcode, &[b'a'; (1 << 20) + 1], true))
            .await;
        let _ = sent; // the server may close before it has read it all
        assert_eq!(client.read_close().await, Some(1009), "opcode {opcode}");

        // Only the header: refused before any payload arrives.
        let mut client = RawClient::connect(server.addr).await;
        let mut header = vec![0x80 | opcode, 0x80 | 127];
        header.extend_from_slice(&((1u64 << 20) + 1).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        client.write(&header).await;
        assert_eq!(client.read_close().await, Some(1009), "opcode {opcode}");
        assert!(client.sees_end_of_stream().await);
    }
    // At the limit it is echoed.
    let mut client = RawClient::connect(server.addr).await;
    client.send(true, 0, BINARY, &[7; 1 << 20], true).await;
    let echo = client.read_frame().await.expect("echo");
    assert_eq!((echo.opcode, echo.payload.len()), (BINARY, 1 << 20));
}

#[tokio::test]
async fn a_fragment_that_takes_its_message_over_the_limit_gets_1009_at_its_header() {
    let server = start_with_message_limit();
    for opcode in [TEXT, BINARY] {
        let mut client = RawClient::connect(server.addr).await;
        client.send(false, 0, opcode, &[b'a'; 600_000], true).await;
        let mut header = vec![CONTINUATION, 0x80 | 127];
        header.extend_from_slice(&500_000u64.to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        client.write(&header).await;
        assert_eq!(client.read_close().await, Some(1009), "opcode {opcode}");
    }
}

#[tokio::test]
async fn many_small_fragments_over_the_limit_get_1009() {
    let server = start_with_message_limit();
    let mut client = RawClient::connect(server.addr).await;
    client.send(false, 0, TEXT, b"", true).await;
    let fragment = encode(false, 0, CONTINUATION, &[b'x'; 1000], true);
    let mut all = Vec::new();
    for _ in 0..1100 {
        all.extend_from_slice(&fragment);
    }
    let _ = client.try_write(&all).await;
    assert_eq!(client.read_close().await, Some(1009));
}
