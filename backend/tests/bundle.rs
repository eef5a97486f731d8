//! `/` over a real socket: the built bundle with its content types, or the "not built" page.

use std::{fs, path::Path, time::Duration};

use backend::{server, Config};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A plain HTTP/1.1 GET; returns the status line, the headers (lower-cased names) and the body.
async fn get(server: &server::Background, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ASCII headers");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line").to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn start_with_dist(dist: &Path) -> server::Background {
    let mut config = Config::listening_on("127.0.0.1:0");
    config.dist = dist.to_path_buf();
    server::start_in_background(config).expect("server starts")
}

#[tokio::test]
async fn serves_the_bundle_with_its_content_types() {
    let dist = tempfile::tempdir().expect("temp dir");
    let index =
        "<!doctype html><title>echo</title><script type=module src=/frontend-1a2b.js></script>";
    fs::write(dist.path().join("index.html"), index).expect("write index");
    fs::write(dist.path().join("frontend-1a2b.js"), "export default 1;").expect("write js");
    let wasm = b"\0asm\x01\0\0\0";
    fs::write(dist.path().join("frontend-1a2b_bg.wasm"), wasm).expect("write wasm");
    let server = start_with_dist(dist.path());

    let (status, headers, body) = get(&server, "/").await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(body, index.as_bytes());
    // Cross-origin isolated, so the page's clock has 5 µs resolution.
    assert_eq!(
        header(&headers, "cross-origin-opener-policy"),
        "same-origin"
    );
    assert_eq!(
        header(&headers, "cross-origin-embedder-policy"),
        "require-corp"
    );

    let (status, headers, _) = get(&server, "/frontend-1a2b.js").await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(header(&headers, "content-type").contains("javascript"));

    let (status, headers, body) = get(&server, "/frontend-1a2b_bg.wasm").await;
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert_eq!(body, wasm);

    let (status, _, _) = get(&server, "/no-such-file.js").await;
    assert!(status.contains(" 404 "), "{status}");
    let (status, _, _) = get(&server, "/../Cargo.toml").await;
    assert!(
        !status.contains(" 200 "),
        "path traversal must not serve files: {status}"
    );
}

#[tokio::test]
async fn without_a_bundle_answers_how_to_build_it_and_still_echoes() {
    let empty = tempfile::tempdir().expect("temp dir");
    let server = start_with_dist(&empty.path().join("not-built"));

    let (status, headers, body) = get(&server, "/").await;
    assert!(status.contains(" 503 "), "{status}");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    let page = String::from_utf8(body).expect("UTF-8 page");
    assert!(page.contains("has not been built"), "{page}");
    assert!(page.contains("trunk build --release"), "{page}");
    // Which folder it looked in is the operator's business (the log says it), not a visitor's.
    assert!(
        page.contains("--dist"),
        "says which flag sets the folder: {page}"
    );
    let path = empty.path().to_string_lossy();
    assert!(
        !page.contains("not-built") && !page.contains(&*path),
        "shows a server path: {page}"
    );

    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut client, _) = tokio_tungstenite::connect_async(server.echo_url())
        .await
        .expect("upgrade");
    client
        .send(Message::text("still echoing"))
        .await
        .expect("send");
    let echoed = client.next().await.expect("open").expect("frame");
    assert_eq!(echoed, Message::text("still echoing"));
}

#[tokio::test]
async fn a_plain_get_on_echo_is_refused_with_400() {
    let server =
        server::start_in_background(Config::listening_on("127.0.0.1:0")).expect("server starts");
    let (status, _, _) = get(&server, "/echo").await;
    assert!(status.contains(" 400 "), "{status}");
}
