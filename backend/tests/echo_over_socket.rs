//! The echo endpoint over real sockets: the app on 127.0.0.1:0, a tokio-tungstenite client.

use std::time::Duration;

use backend::{server, Config};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{
        protocol::{frame::coding::CloseCode, CloseFrame},
        Message,
    },
    MaybeTlsStream, WebSocketStream,
};

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Every test gives up after this long instead of hanging CI.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

async fn connect() -> (server::Background, Client) {
    let server = server::start_in_background(Config::listening_on("127.0.0.1:0"))
        .expect("server starts on port 0");
    let (client, response) = connect_async(server.echo_url())
        .await
        .expect("upgrade succeeds");
    assert_eq!(response.status(), 101);
    (server, client)
}

/// The next data or close frame, skipping nothing: pings and pongs are returned too.
async fn next(client: &mut Client) -> Message {
    client
        .next()
        .await
        .expect("connection still open")
        .expect("a valid frame")
}

async fn round_trip(message: Message) {
    let (_server, mut client) = connect().await;
    client.send(message.clone()).await.expect("send");
    assert_eq!(next(&mut client).await, message);
}

macro_rules! timed_test {
    ($name:ident, $body:expr) => {
        #[tokio::test]
        async fn $name() {
            tokio::time::timeout(TEST_TIMEOUT, $body)
                .await
                .expect("test finished in time");
        }
    };
}

timed_test!(echoes_text, round_trip(Message::text("Hello world!")));

timed_test!(
    echoes_utf8_text_unchanged,
    round_trip(Message::text("héllo wörld ✓ 𝄞 日本語 🦀"))
);

timed_test!(
    echoes_binary_with_every_byte_value,
    round_trip(Message::binary((0..=255u8).collect::<Vec<u8>>()))
);

timed_test!(echoes_an_empty_text_message, round_trip(Message::text("")));

timed_test!(
    echoes_an_empty_binary_message,
    round_trip(Message::binary(Vec::new()))
);

timed_test!(
    echoes_a_one_mebibyte_message_whole,
    round_trip(Message::binary(
        (0..1024 * 1024)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
    ))
);

timed_test!(echoes_a_thousand_messages_in_order, async {
    let (_server, mut client) = connect().await;
    for i in 0..1000 {
        client
            .feed(Message::text(format!("message {i}")))
            .await
            .expect("queue");
    }
    client.flush().await.expect("flush");
    for i in 0..1000 {
        assert_eq!(
            next(&mut client).await,
            Message::text(format!("message {i}"))
        );
    }
});

timed_test!(answers_ping_with_the_same_payload, async {
    let (_server, mut client) = connect().await;
    client
        .send(Message::Ping(b"still there?"[..].into()))
        .await
        .expect("ping");
    assert_eq!(
        next(&mut client).await,
        Message::Pong(b"still there?"[..].into())
    );
});

timed_test!(echoes_the_close_code_and_ends_the_connection, async {
    let (_server, mut client) = connect().await;
    client
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(4000),
            reason: "done testing".into(),
        })))
        .await
        .expect("close");
    match next(&mut client).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::from(4000));
            assert_eq!(
                frame.reason.as_str(),
                "done testing",
                "the reason is echoed too"
            );
        }
        other => panic!("expected the close code echoed, got {other:?}"),
    }
    // After the close handshake the server ends the connection: the stream finishes.
    assert!(
        client.next().await.is_none(),
        "stream ends after the close handshake"
    );
});

timed_test!(closes_with_1009_when_a_message_is_over_the_limit, async {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.max_frame_bytes = 1024;
    config.max_message_bytes = 1024;
    let server = server::start_in_background(config).expect("server starts");
    let (mut client, _) = connect_async(server.echo_url()).await.expect("upgrade");
    client
        .send(Message::binary(vec![7u8; 4096]))
        .await
        .expect("send");
    match next(&mut client).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected close 1009, got {other:?}"),
    }
});

timed_test!(many_clients_are_echoed_independently, async {
    let server =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(connect_async(server.echo_url()).await.expect("upgrade").0);
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .send(Message::text(format!("from client {i}")))
            .await
            .expect("send");
    }
    for (i, client) in clients.iter_mut().enumerate() {
        assert_eq!(
            next(client).await,
            Message::text(format!("from client {i}"))
        );
    }
    for client in &mut clients {
        client.close(None).await.expect("close");
    }
    server.stop().await;
});

timed_test!(the_first_offered_subprotocol_is_agreed_to, async {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let mut request = server.echo_url().into_client_request().expect("a request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "chat.v2, echo".parse().expect("a header value"),
    );
    // tungstenite, like browsers, fails the handshake if the answer ignores its offer.
    let (mut client, response) = connect_async(request).await.expect("upgrade");
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok()),
        Some("chat.v2")
    );
    client.send(Message::text("hi")).await.expect("send");
    assert_eq!(next(&mut client).await, Message::text("hi"));

    let (_, plain) = connect_async(server.echo_url()).await.expect("upgrade");
    assert!(
        plain.headers().get("Sec-WebSocket-Protocol").is_none(),
        "none offered, none agreed"
    );
});
