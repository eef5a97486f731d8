//! permessage-deflate over a real socket: what the handshake agrees for each offer, compressed
//! messages both ways, the threshold, the off switch, bombs, corrupt data and the metrics.
//! The client side is written by hand here (flate2 for the deflate streams), so every byte on
//! the wire is the test's own.

mod support {
    pub mod client_deflate;
    pub mod raw_client;
}

use std::time::Duration;

use backend::{config::Switch, server, Config};
use support::{
    client_deflate::{deflate, inflate},
    raw_client::*,
};

const TEST_TIMEOUT: Duration = Duration::from_secs(30);

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

/// The `Sec-WebSocket-Extensions` line of a response head, if any.
fn extensions(head: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-extensions")
            .then(|| value.trim().to_owned())
    })
}

/// What the server answers to `offer`.
async fn agreed(server: &server::Background, offer: &str) -> Option<String> {
    let (_, head) = RawClient::connect_with(
        server.addr,
        &format!("Sec-WebSocket-Extensions: {offer}\r\n"),
    )
    .await;
    extensions(&head)
}

async fn compressing_client(server: &server::Background) -> RawClient {
    let (client, head) = RawClient::connect_with(
        server.addr,
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    )
    .await;
    assert!(extensions(&head).is_some(), "agreed: {head}");
    client
}

fn json_like(records: usize) -> String {
    (0..records)
        .map(|i| format!("{{\"id\":{i},\"user\":\"user-{}\",\"ok\":true}}\n", i % 7))
        .collect()
}

#[tokio::test]
async fn each_offer_gets_the_answer_rfc_7692_asks_for() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start(|_| {});
        for (offer, answer) in [
            // Chromium's and Firefox's offer.
            (
                "permessage-deflate; client_max_window_bits",
                Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                Some(
                    "permessage-deflate; server_no_context_takeover; \
                     client_no_context_takeover; server_max_window_bits=10",
                ),
            ),
            // A malformed first offer is passed over for the second.
            (
                "permessage-deflate; server_max_window_bits=20, permessage-deflate",
                Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            ),
            ("permessage-deflate; unknown_parameter", None),
            ("x-webkit-deflate-frame", None),
        ] {
            assert_eq!(agreed(&server, offer).await.as_deref(), answer, "{offer}");
        }

        let takeover = start(|config| {
            config.deflate_context_takeover = true;
            config.deflate_window_bits = 11;
        });
        for (offer, answer) in [
            (
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits=11",
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            ),
            (
                "permessage-deflate; client_no_context_takeover",
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=11",
            ),
            (
                "permessage-deflate; server_max_window_bits=9",
                "permessage-deflate; server_max_window_bits=9",
            ),
            (
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate; server_max_window_bits=11; client_max_window_bits=11",
            ),
            (
                "permessage-deflate; client_max_window_bits=9",
                "permessage-deflate; server_max_window_bits=11; client_max_window_bits=9",
            ),
        ] {
            assert_eq!(
                agreed(&takeover, offer).await.as_deref(),
                Some(answer),
                "{offer}"
            );
        }

        let off = start(|config| config.permessage_deflate = Switch::Off);
        assert_eq!(agreed(&off, "permessage-deflate").await, None);
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn compressed_messages_come_back_compressed_and_small_ones_plain() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start(|_| {});
        let mut client = compressing_client(&server).await;
        let text = json_like(300);

        // Compressed, in one frame and in three fragments.
        let wire = deflate(text.as_bytes());
        client.send(true, 0b100, TEXT, &wire, true).await;
        let (a, b) = wire.split_at(wire.len() / 3);
        let (b, c) = b.split_at(b.len() / 2);
        client.send(false, 0b100, TEXT, a, true).await;
        client.send(false, 0, CONTINUATION, b, true).await;
        client.send(true, 0, CONTINUATION, c, true).await;
        // Uncompressed from the client: the echo is compressed all the same.
        client.send(true, 0, BINARY, text.as_bytes(), true).await;
        for opcode in [TEXT, TEXT, BINARY] {
            let echo = client.read_frame().await.expect("an echo");
            assert_eq!((echo.opcode, echo.rsv1, echo.fin), (opcode, true, true));
            assert!(
                echo.payload.len() * 4 < text.len(),
                "{}",
                echo.payload.len()
            );
            assert_eq!(inflate(&echo.payload), text.as_bytes());
        }

        // Below the 128-byte threshold: sent as it is, whichever way it came.
        client
            .send(true, 0b100, TEXT, &deflate(b"hi there"), true)
            .await;
        let echo = client.read_frame().await.expect("an echo");
        assert_eq!(
            (echo.rsv1, echo.payload.as_slice()),
            (false, &b"hi there"[..])
        );

        let metrics = http_get(server.addr, "/metrics").await;
        for line in [
            "echo_deflate_connections_total 1",
            r#"echo_deflate_bytes_total{direction="in",stage="payload"}"#,
            r#"echo_deflate_bytes_total{direction="out",stage="wire"}"#,
        ] {
            assert!(metrics.contains(line), "{line} in\n{metrics}");
        }
        let counted = |direction: &str, stage: &str| -> u64 {
            let name =
                format!(r#"echo_deflate_bytes_total{{direction="{direction}",stage="{stage}"}} "#);
            metrics
                .lines()
                .find_map(|line| line.strip_prefix(&name)?.parse().ok())
                .expect("a counter")
        };
        assert_eq!(counted("in", "payload"), 2 * text.len() as u64 + 8);
        assert_eq!(counted("out", "payload"), 3 * text.len() as u64);
        assert!(counted("out", "wire") * 4 < counted("out", "payload"));
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn a_bomb_is_refused_with_1009_in_one_frame_or_in_fragments() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start(|config| {
            config.max_message_bytes = 1 << 20;
            config.max_frame_bytes = 1 << 20;
        });
        // 64 MiB of zeros in about 64 KB.
        let bomb = deflate(&vec![0; 64 << 20]);
        assert!(bomb.len() < 100_000, "{}", bomb.len());

        let mut client = compressing_client(&server).await;
        client.send(true, 0b100, BINARY, &bomb, true).await;
        assert_eq!(client.read_close().await, Some(1009));

        let mut client = compressing_client(&server).await;
        let mut pieces = bomb.chunks(4096);
        client
            .send(false, 0b100, TEXT, pieces.next().expect("a piece"), true)
            .await;
        for piece in pieces {
            if !client
                .try_write(&encode(false, 0, CONTINUATION, piece, true))
                .await
            {
                break;
            }
        }
        assert_eq!(client.read_close().await, Some(1009));
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn rsv1_without_agreement_is_1002_and_corrupt_data_is_1007() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start(|_| {});
        let mut plain = RawClient::connect(server.addr).await;
        plain
            .send(true, 0b100, TEXT, &deflate(b"hello hello"), true)
            .await;
        assert_eq!(plain.read_close().await, Some(1002));

        let mut client = compressing_client(&server).await;
        client.send(true, 0b100, TEXT, &[0xff; 40], true).await;
        assert_eq!(client.read_close().await, Some(1007));

        let mut client = compressing_client(&server).await;
        client.send(false, 0, TEXT, b"plain start", true).await;
        client.send(true, 0b100, CONTINUATION, b"", true).await;
        assert_eq!(
            client.read_close().await,
            Some(1002),
            "RSV1 on a continuation"
        );
    })
    .await
    .expect("in time");
}
