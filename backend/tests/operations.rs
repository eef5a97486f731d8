//! What an operator relies on: /metrics after real traffic, https + wss with a certificate made
//! here, /healthz.

mod support {
    pub mod certificate;
    pub mod raw_client;
}

use std::time::Duration;

use backend::{server, Config};
use futures_util::{SinkExt, StreamExt};
use support::{
    certificate::self_signed,
    raw_client::{http_get, http_request, upgrade_request},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::{
    connect_async, connect_async_tls_with_config,
    tungstenite::{protocol::frame::coding::CloseCode, protocol::CloseFrame, Message},
    Connector,
};

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

async fn scrape(server: &server::Background) -> String {
    let response = http_get(server.addr, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response
        .to_ascii_lowercase()
        .contains("content-type: application/openmetrics-text"));
    response
}

fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

#[tokio::test]
async fn metrics_count_connections_messages_bytes_closes_and_rejections() {
    let server = start(|_| {});
    let (mut a, _) = connect_async(server.echo_url()).await.expect("a");
    let (mut b, _) = connect_async(server.echo_url()).await.expect("b");
    a.send(Message::text("hello")).await.expect("send");
    a.send(Message::binary(vec![0u8; 1000]))
        .await
        .expect("send");
    b.send(Message::text("hi")).await.expect("send");
    for _ in 0..2 {
        a.next().await.expect("echo").expect("frame");
    }
    b.next().await.expect("echo").expect("frame");
    let live = scrape(&server).await;
    assert_eq!(value(&live, "echo_connections_open"), 2.0);

    a.send(Message::Close(Some(CloseFrame {
        code: CloseCode::from(4000),
        reason: "".into(),
    })))
    .await
    .expect("close");
    while a.next().await.is_some() {}
    let refused = http_request(
        server.addr,
        &upgrade_request(server.addr, "Origin: http://evil.example\r\n"),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"));

    let mut metrics = scrape(&server).await;
    for _ in 0..50 {
        if value(&metrics, "echo_connections_open") == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        metrics = scrape(&server).await;
    }
    assert_eq!(value(&metrics, "echo_connections_open"), 1.0);
    assert_eq!(value(&metrics, "echo_connections_total"), 2.0);
    assert_eq!(
        value(
            &metrics,
            r#"echo_messages_total{direction="in",type="text"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &metrics,
            r#"echo_messages_total{direction="out",type="text"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &metrics,
            r#"echo_messages_total{direction="in",type="binary"}"#
        ),
        1.0
    );
    assert_eq!(
        value(&metrics, r#"echo_bytes_total{direction="in",type="text"}"#),
        7.0
    );
    assert_eq!(
        value(
            &metrics,
            r#"echo_bytes_total{direction="out",type="binary"}"#
        ),
        1000.0
    );
    assert_eq!(
        value(&metrics, r#"echo_closes_total{code="4000-4999"}"#),
        1.0
    );
    assert_eq!(
        value(&metrics, r#"echo_rejected_upgrades_total{reason="origin"}"#),
        1.0
    );
    assert_eq!(value(&metrics, "echo_handshake_seconds_count"), 2.0);
    assert_eq!(value(&metrics, "echo_echo_latency_seconds_count"), 3.0);
}

#[tokio::test]
async fn tls_serves_wss_and_https() {
    let certificate = self_signed();
    let server = start(|c| {
        c.tls_cert = Some(certificate.cert.clone());
        c.tls_key = Some(certificate.key.clone());
    });
    let client_config = certificate.trusting();

    let url = format!("wss://127.0.0.1:{}/echo", server.addr.port());
    let (mut socket, _) = connect_async_tls_with_config(
        url,
        None,
        false,
        Some(Connector::Rustls(client_config.clone())),
    )
    .await
    .expect("wss handshake");
    socket.send(Message::text("over TLS")).await.expect("send");
    assert_eq!(
        socket.next().await.expect("echo").expect("frame"),
        Message::text("over TLS")
    );

    let connector = tokio_rustls::TlsConnector::from(client_config);
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Plain ws:// to the TLS port does not get an echo.
    assert!(connect_async(server.echo_url()).await.is_err());
}

#[tokio::test]
async fn over_tls_the_request_shows_the_tls_version_and_server_name() {
    let certificate = self_signed();
    let server = start(|c| {
        c.tls_cert = Some(certificate.cert.clone());
        c.tls_key = Some(certificate.key.clone());
    });
    let connector = tokio_rustls::TlsConnector::from(certificate.trusting());
    let exchange = |request: String| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(server.addr)
                .await
                .expect("connect");
            let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
            let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
            tls.write_all(request.as_bytes()).await.expect("write");
            let mut answer = vec![0u8; 16 * 1024];
            let mut filled = 0;
            // The 101 and the hello come together or one after the other: read for a moment.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while let Ok(Ok(n)) =
                tokio::time::timeout_at(deadline, tls.read(&mut answer[filled..])).await
            {
                if n == 0 {
                    break;
                }
                filled += n;
                if String::from_utf8_lossy(&answer[..filled]).contains("\"instance\"") {
                    break;
                }
            }
            String::from_utf8_lossy(&answer[..filled]).into_owned()
        }
    };
    let upgrade = exchange(
        "GET /echo?hello=request HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
            .to_owned(),
    )
    .await;
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    assert!(
        upgrade.contains(r#""tls":{"version":"TLSv1_3","sni":"localhost""#),
        "{upgrade}"
    );
    let request = exchange(
        "GET /request HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_owned(),
    )
    .await;
    assert!(request.starts_with("HTTP/1.1 200"), "{request}");
    assert!(
        request.contains(r#""tls":{"version":"TLSv1_3","sni":"localhost""#),
        "{request}"
    );
    // Read above TLS, the head keeps its order.
    assert!(
        request.contains(r#""headers":[["host","localhost"],["connection","close"]]"#),
        "{request}"
    );
}
