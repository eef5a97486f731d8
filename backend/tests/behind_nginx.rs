//! deploy/nginx.conf, for real: Debian's nginx on loopback in front of two backends.
//!
//! Needs the nginx binary (scripts/setup.sh test installs it), so plain `cargo test` skips it;
//! scripts/test.sh runs it with `cargo test -p backend --test behind_nginx -- --ignored`.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

mod support {
    pub mod raw_client;
}

use backend::{server, Config};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, Message},
};

const NGINX: &str = "/usr/sbin/nginx";

struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers; SIGKILL would orphan them.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts nginx with deploy/nginx.conf, its ports replaced by `listen` and the two backends'.
fn start_nginx(listen: u16, backends: [&str; 2]) -> Nginx {
    assert!(
        Path::new(NGINX).exists(),
        "{NGINX} not found: install it with `apt-get install nginx` (scripts/setup.sh test does)"
    );
    let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nginx.conf"));
    let original = std::fs::read_to_string(&source).expect("read deploy/nginx.conf");
    let config = original
        .replace("listen 8000;", &format!("listen 127.0.0.1:{listen};"))
        .replace(
            "server 127.0.0.1:9001 ",
            &format!("server {} ", backends[0]),
        )
        .replace(
            "server 127.0.0.1:9002 ",
            &format!("server {} ", backends[1]),
        );
    for (what, replaced) in [
        ("listen 8000", listen.to_string()),
        ("9001", backends[0].to_owned()),
        ("9002", backends[1].to_owned()),
    ] {
        assert!(
            config.contains(&replaced),
            "deploy/nginx.conf no longer has the `{what}` this test rewrites"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("logs")).expect("logs dir");
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, config).expect("write config");
    let pid = dir.path().join("nginx.pid");
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .arg("-g")
        .arg(format!(
            "daemon off; pid {}; error_log stderr warn;",
            pid.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not listen on {listen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, _dir: dir }
}

async fn http_get(port: u16, path: &str) -> String {
    support::raw_client::http_get(([127, 0, 0, 1], port).into(), path).await
}

/// A connection through nginx as the page served by nginx opens it: with that page's Origin.
async fn echo_through(
    port: u16,
    text: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://127.0.0.1:{port}/echo")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Origin",
        format!("http://127.0.0.1:{port}").parse().expect("origin"),
    );
    let (mut socket, _) = connect_async(request).await.expect("upgrade through nginx");
    socket.send(Message::text(text)).await.expect("send");
    assert_eq!(
        socket.next().await.expect("echo").expect("frame"),
        Message::text(text)
    );
    socket
}

fn open_connections(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("echo_connections_open ")?.parse().ok())
        .unwrap_or_else(|| panic!("no echo_connections_open in\n{metrics}"))
}

#[tokio::test]
#[ignore = "needs nginx; run by scripts/test.sh"]
async fn two_backends_behind_nginx_share_connections_and_survive_one_failing() {
    let dist = tempfile::tempdir().expect("dist");
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>echo behind nginx</title>",
    )
    .expect("index");
    let start = || {
        let mut config = Config::listening_on("127.0.0.1:0");
        config.dist = dist.path().to_path_buf();
        server::start_in_background(config).expect("backend starts")
    };
    let (first, second) = (start(), start());
    let listen = free_port();
    let _nginx = start_nginx(listen, [&first.addr.to_string(), &second.addr.to_string()]);

    let page = http_get(listen, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("echo behind nginx"), "{page}");

    let mut sockets = Vec::new();
    for i in 0..10 {
        sockets.push(echo_through(listen, &format!("message {i}")).await);
    }
    let (a, b) = (
        open_connections(&http_get(first.addr.port(), "/metrics").await),
        open_connections(&http_get(second.addr.port(), "/metrics").await),
    );
    assert_eq!(a + b, 10.0, "every connection reached a backend");
    assert!(
        a >= 3.0 && b >= 3.0,
        "spread over both backends: {a} and {b}"
    );

    // One backend dies: its connections end, new ones still work through the other.
    first.stop().await;
    for i in 0..5 {
        echo_through(listen, &format!("after failure {i}")).await;
    }
    let page = http_get(listen, "/").await;
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "the page still loads: {page}"
    );
}

#[tokio::test]
#[ignore = "needs nginx; run by scripts/test.sh"]
async fn behind_nginx_the_request_shows_what_nginx_added_and_which_backend_answered() {
    let start = |name: &str| {
        let mut config = Config::listening_on("127.0.0.1:0");
        config.instance_name = Some(name.to_owned());
        server::start_in_background(config).expect("backend starts")
    };
    let (first, second) = (start("backend-a"), start("backend-b"));
    let listen = free_port();
    let _nginx = start_nginx(listen, [&first.addr.to_string(), &second.addr.to_string()]);

    // hello=request through nginx: the headers nginx set, and the backend that answered, which
    // is also the one X-Served-By names on the 101.
    let mut served_by = std::collections::BTreeSet::new();
    let mut sockets = Vec::new();
    for _ in 0..6 {
        let mut request = format!("ws://127.0.0.1:{listen}/echo?hello=request")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Origin",
            format!("http://127.0.0.1:{listen}")
                .parse()
                .expect("origin"),
        );
        let (mut socket, response) = connect_async(request).await.expect("upgrade through nginx");
        let name = response
            .headers()
            .get("x-served-by")
            .and_then(|v| v.to_str().ok())
            .expect("X-Served-By on the 101")
            .to_owned();
        let hello = match socket.next().await.expect("hello").expect("frame") {
            Message::Text(text) => text.to_string(),
            other => panic!("the hello is text: {other:?}"),
        };
        for part in [
            r#"["x-forwarded-for","127.0.0.1"]"#.to_owned(),
            r#"["x-forwarded-proto","http"]"#.to_owned(),
            format!(r#"["host","127.0.0.1:{listen}"]"#),
            format!(r#""instance":"{name}""#),
        ] {
            assert!(hello.contains(&part), "{part} in {hello}");
        }
        served_by.insert(name);
        sockets.push(socket);
    }
    assert_eq!(
        served_by.into_iter().collect::<Vec<_>>(),
        ["backend-a", "backend-b"],
        "least_conn spreads the connections over both"
    );

    // /request through nginx, over plain HTTP.
    let answer = http_get(listen, "/request?via=nginx").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""query":"via=nginx""#), "{answer}");
    assert!(
        answer.contains(r#"["x-forwarded-for","127.0.0.1"]"#),
        "{answer}"
    );
    assert!(
        answer.contains("x-served-by: backend-") || answer.contains("X-Served-By: backend-"),
        "{answer}"
    );
}
