//! Parking (backend/src/connection/parking/): an idle plain connection leaves its task for its
//! worker's lot after a quiet second, and must behave exactly as before while parked and after:
//! it echoes, answers pings, is pinged, is closed for silence, hears the shutdown, and a frame
//! that arrives in pieces across the park is read whole. Real sockets against the server on
//! 127.0.0.1:0 with `--park-after 1s`; the server's own gauge (`echo_connections_parked`) says
//! when it is parked.

mod support {
    pub mod client_deflate;
    pub mod raw_client;
}

use std::time::{Duration, Instant};

use backend::{config::ParkAfter, server, Config};
use support::{
    client_deflate::{deflate, inflate},
    raw_client::{encode, RawClient, BINARY, CLOSE, PING, TEXT},
};

const PONG: u8 = 0xA;

fn start(configure: impl FnOnce(&mut Config)) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.park_after = ParkAfter(Some(Duration::from_secs(1)));
    configure(&mut config);
    server::start_in_background(config).expect("server starts")
}

/// Waits (at most 5 s) until `wanted` connections are parked.
async fn parked(server: &server::Background, wanted: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.parked_connections() != wanted {
        assert!(
            Instant::now() < deadline,
            "{} parked, not {wanted}",
            server.parked_connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn round_trip(client: &mut RawClient, opcode: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    client.send(true, 0, opcode, payload, true).await;
    let frame = client.read_frame().await.expect("an answer");
    (frame.opcode, frame.payload)
}

#[tokio::test]
async fn a_parked_connection_echoes_every_kind_and_parks_again() {
    let server = start(|_| {});
    let mut client = RawClient::connect(server.addr).await;
    parked(&server, 1).await;
    assert_eq!(
        round_trip(&mut client, TEXT, b"woken").await,
        (TEXT, b"woken".to_vec())
    );
    assert_eq!(server.parked_connections(), 0, "back on a task to answer");
    parked(&server, 1).await;
    assert_eq!(
        round_trip(&mut client, BINARY, &[0, 255]).await,
        (BINARY, vec![0, 255])
    );
    parked(&server, 1).await;
    assert_eq!(
        round_trip(&mut client, PING, b"there?").await,
        (PONG, b"there?".to_vec())
    );
    parked(&server, 1).await;
    client
        .send(true, 0, CLOSE, &1000u16.to_be_bytes(), true)
        .await;
    assert_eq!(client.read_close().await, Some(1000));
    assert!(client.sees_end_of_stream().await);
    assert_eq!(server.parked_connections(), 0);
}

#[tokio::test]
async fn a_frame_split_across_the_park_is_read_whole_and_holds_the_connection_meanwhile() {
    let server = start(|_| {});
    let mut client = RawClient::connect(server.addr).await;
    parked(&server, 1).await;
    let frame = encode(true, 0, TEXT, b"in two pieces", true);
    client.write(&frame[..5]).await;
    // The first piece wakes it; half a frame in hand, it does not park again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.parked_connections(), 0, "holding half a frame");
    client.write(&frame[5..]).await;
    let echo = client.read_frame().await.expect("the echo");
    assert_eq!(
        (echo.opcode, echo.payload),
        (TEXT, b"in two pieces".to_vec())
    );
    parked(&server, 1).await;
}

#[tokio::test]
async fn a_parked_connection_is_pinged_and_its_pongs_keep_it_open() {
    let server = start(|c| {
        c.ping_interval = Duration::from_millis(1500);
        c.idle_timeout = Duration::from_millis(3500);
    });
    let mut client = RawClient::connect(server.addr).await;
    parked(&server, 1).await;
    // Twice the idle timeout, answering every ping: pinged from the lot each time.
    let until = Instant::now() + Duration::from_secs(7);
    let mut pings = 0;
    while Instant::now() < until {
        let frame = client.read_frame().await.expect("a ping");
        assert_eq!(frame.opcode, PING, "only pings: {frame:?}");
        pings += 1;
        client.send(true, 0, PONG, &frame.payload, true).await;
    }
    assert!(pings >= 4, "pinged every 1.5 s, got {pings}");
    assert_eq!(
        round_trip(&mut client, TEXT, b"still open").await,
        (TEXT, b"still open".to_vec())
    );
}

#[tokio::test]
async fn a_silent_parked_connection_is_closed_for_idleness_with_1001_on_time() {
    let server = start(|c| {
        c.ping_interval = Duration::from_millis(1500);
        c.idle_timeout = Duration::from_millis(3000);
    });
    let started = Instant::now();
    let mut client = RawClient::connect(server.addr).await;
    parked(&server, 1).await;
    let mut pings = 0;
    loop {
        let frame = client.read_frame().await.expect("a frame before the close");
        if frame.opcode == PING {
            pings += 1;
            continue;
        }
        assert_eq!(frame.close_code(), Some(1001), "{frame:?}");
        assert_eq!(&frame.payload[2..], b"idle timeout");
        break;
    }
    let took = started.elapsed();
    assert!(pings >= 1, "pinged while parked");
    // Timed from before the handshake: never sooner than the timeout; the lot's sweep
    // (100 ms) and the wake-up add little.
    assert!(took >= Duration::from_millis(3000), "{took:?}");
    assert!(took < Duration::from_millis(4000), "{took:?}");
    assert!(client.sees_end_of_stream().await);
}

#[tokio::test]
async fn shutdown_closes_parked_connections_with_1001() {
    let server = start(|_| {});
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(RawClient::connect(server.addr).await);
    }
    parked(&server, 20).await;
    let started = Instant::now();
    let shutdown = tokio::spawn(server.shut_down(Duration::from_secs(10)));
    for client in &mut clients {
        assert_eq!(client.read_close().await, Some(1001));
        client
            .send(true, 0, CLOSE, &1001u16.to_be_bytes(), true)
            .await;
        assert!(client.sees_end_of_stream().await);
    }
    shutdown.await.expect("shutdown task");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_peer_that_leaves_while_parked_frees_its_place() {
    let server = start(|_| {});
    let client = RawClient::connect(server.addr).await;
    parked(&server, 1).await;
    assert_eq!(server.open_connections(), 1);
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.open_connections() != 0 {
        assert!(Instant::now() < deadline, "still counted open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.parked_connections(), 0);
}

#[tokio::test]
async fn park_after_off_keeps_every_connection_on_its_task() {
    let server = start(|c| c.park_after = ParkAfter(None));
    let mut client = RawClient::connect(server.addr).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.parked_connections(), 0);
    assert_eq!(
        round_trip(&mut client, TEXT, b"x").await,
        (TEXT, b"x".to_vec())
    );
}

#[tokio::test]
async fn a_fixture_connection_keeps_its_task() {
    let server = start(|_| {});
    // Its faults run on its own timers.
    let (mut faulty, _) = RawClient::connect_to(server.addr, "/echo?delay=1ms", "").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.parked_connections(), 0);
    assert_eq!(
        round_trip(&mut faulty, TEXT, b"x").await,
        (TEXT, b"x".to_vec())
    );
}

/// A compressed echo of `payload` (long enough to go out compressed) round trip.
async fn compressed_round_trip(client: &mut RawClient, payload: &[u8]) {
    client.send(true, 4, TEXT, &deflate(payload), true).await;
    let echo = client.read_frame().await.expect("the echo");
    assert!(echo.rsv1, "compressed: {echo:?}");
    assert_eq!(inflate(&echo.payload), payload);
}

#[tokio::test]
async fn a_compressed_connection_parks_between_messages_and_still_inflates_and_compresses() {
    // No context takeover (the default): nothing of the codec is kept between messages.
    let server = start(|_| {});
    let (mut client, response) = RawClient::connect_with(
        server.addr,
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    )
    .await;
    assert!(response.contains("permessage-deflate"), "{response}");
    let payload = "parked and compressed ".repeat(20);
    parked(&server, 1).await;
    compressed_round_trip(&mut client, payload.as_bytes()).await;
    parked(&server, 1).await;
    compressed_round_trip(&mut client, payload.as_bytes()).await;
    // Small messages go out as they are, compressed or not on the way in.
    assert_eq!(
        round_trip(&mut client, TEXT, b"small").await,
        (TEXT, b"small".to_vec())
    );
}

#[tokio::test]
async fn with_context_takeover_a_compressed_connection_keeps_its_task_once_it_has_state() {
    let server = start(|c| c.deflate_context_takeover = true);
    let (mut client, response) = RawClient::connect_with(
        server.addr,
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    )
    .await;
    assert!(
        !response.contains("client_no_context_takeover"),
        "{response}"
    );
    // Before any message its codec holds nothing yet: it may park.
    parked(&server, 1).await;
    compressed_round_trip(&mut client, "kept state ".repeat(30).as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        server.parked_connections(),
        0,
        "its codec's state is its own"
    );
    // (A second compressed echo would refer back to the first: this client keeps no inflater.)
    assert_eq!(
        round_trip(&mut client, TEXT, b"small").await,
        (TEXT, b"small".to_vec())
    );
}
