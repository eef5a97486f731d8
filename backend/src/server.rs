//! Builds the app and binds it: one function for `main`, one for tests on port 0; and the
//! graceful shutdown both use.

use std::{io, net::SocketAddr, path::PathBuf, sync::Arc, thread, time::Duration};

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::{dev::Server, dev::ServerHandle, rt::net::TcpStream, web, App, HttpServer};

use crate::{
    bundle,
    connections::Connections,
    echo::Liveness,
    echo_route::{echo_route, healthz, EchoSettings},
    metrics::{metrics_route, Metrics},
    origin::OriginPolicy,
    Config,
};

/// How long a finished connection waits for the client to hang up before closing its side.
/// actix lingers this long whenever the request body was not read to the end, which is every
/// WebSocket after its close handshake; RFC 6455 §7.1.1 wants the server to close the TCP
/// connection first and at once, so: no lingering.
const LINGER_AFTER_CLOSE: Duration = Duration::ZERO;

/// Echoes go out at once: with Nagle's algorithm on, a small reply waits for the ACK of the
/// previous one, which costs tens of milliseconds per message under delayed ACKs.
pub fn disable_nagle(tcp: &TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!("could not set TCP_NODELAY: {error}");
    }
}

/// `/echo` with another method than GET: 405, whether or not the page is built.
async fn echo_wrong_method() -> actix_web::HttpResponse {
    actix_web::HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", "GET"))
        .body("/echo takes GET with a WebSocket upgrade\n")
}

/// A bound server, not yet running, the addresses it listens on (port 0 resolved), and what
/// [`shut_down`] needs.
pub struct Bound {
    pub server: Server,
    pub addrs: Vec<SocketAddr>,
    /// `https` with --tls-cert, else `http`.
    pub scheme: &'static str,
    pub connections: Arc<Connections>,
}

/// Binds every address `config.addr` resolves to and builds the app on it. The server does not
/// handle signals itself: `main` calls [`shut_down`] on SIGINT/SIGTERM.
pub fn bind(config: &Config) -> io::Result<Bound> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::load(cert, key).map_err(io::Error::other)?),
        _ => None,
    };
    let connections = Connections::new(config.max_connections);
    let metrics = Metrics::new();
    let settings = web::Data::new(EchoSettings {
        max_frame_bytes: config.max_frame_bytes,
        max_message_bytes: config.max_message_bytes,
        liveness: Liveness {
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
        },
        origins: OriginPolicy::new(&config.allowed_origins),
        connections: Arc::clone(&connections),
        metrics: Arc::clone(&metrics),
    });
    let metrics = web::Data::new(metrics);
    let dist: PathBuf = config
        .dist
        .canonicalize()
        .unwrap_or_else(|_| config.dist.clone());
    let built = bundle::is_built(&dist);
    if !built {
        tracing::warn!(
            "no frontend bundle in {}: / answers a page saying how to build it; /echo works",
            dist.display()
        );
    }

    let http = HttpServer::new(move || {
        let app = App::new()
            .app_data(settings.clone())
            .app_data(metrics.clone())
            .service(
                web::resource("/echo")
                    .route(web::get().to(echo_route))
                    .default_service(web::to(echo_wrong_method)),
            )
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics_route));
        if built {
            app.service(bundle::files(&dist))
        } else {
            app.default_service(bundle::missing_bundle_route(dist.clone()))
        }
    })
    .disable_signals()
    .client_request_timeout(config.handshake_timeout)
    .client_disconnect_timeout(LINGER_AFTER_CLOSE)
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<TcpStream>() {
            disable_nagle(tcp);
        } else if let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() {
            disable_nagle(tls.get_ref().0);
        }
    });
    let (http, scheme) = match tls {
        Some(tls) => (http.bind_rustls_0_23(config.addr.as_str(), tls)?, "https"),
        None => (http.bind(config.addr.as_str())?, "http"),
    };
    let addrs = http.addrs();
    Ok(Bound {
        server: http.run(),
        addrs,
        scheme,
        connections,
    })
}

/// Graceful shutdown: `/healthz` turns 503 and new upgrades are refused, every connection gets
/// close 1001, then the server stops once they are all closed or `grace` has passed.
pub async fn shut_down(connections: &Connections, server: &ServerHandle, grace: Duration) {
    let open = connections.open();
    tracing::info!("shutting down: closing {open} connection(s), waiting up to {grace:?}");
    connections.begin_shutdown();
    if !connections.drained(grace).await {
        tracing::warn!(
            "{} connection(s) did not close within {grace:?}; dropping them",
            connections.open()
        );
    }
    server.stop(true).await;
}

/// A server running on its own thread, for tests and tools that embed the echo server.
pub struct Background {
    pub addr: SocketAddr,
    handle: ServerHandle,
    connections: Arc<Connections>,
}

impl Background {
    /// `ws://ADDR/echo`
    pub fn echo_url(&self) -> String {
        format!("ws://{}/echo", self.addr)
    }

    /// Open WebSocket connections right now.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// Stops at once, dropping open connections; returns when the server has stopped.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    /// The graceful way, as on SIGTERM: close 1001 to everyone, wait up to `grace`, stop.
    pub async fn shut_down(self, grace: Duration) {
        shut_down(&self.connections, &self.handle, grace).await;
    }
}

/// Binds `config` and runs it on a new thread with its own actix system.
pub fn start_in_background(config: Config) -> io::Result<Background> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name("echo-server".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                match bind(&config) {
                    Ok(bound) => {
                        let handle = bound.server.handle();
                        let _ = ready_tx.send(Ok((bound.addrs[0], handle, bound.connections)));
                        let _ = bound.server.await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            })
        })?;
    let (addr, handle, connections) = ready_rx
        .recv()
        .map_err(|_| io::Error::other("the server thread ended before binding"))??;
    Ok(Background {
        addr,
        handle,
        connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn accepted_sockets_get_nodelay() {
        let listener = actix_web::rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _client = actix_web::rt::net::TcpStream::connect(addr)
            .await
            .expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        assert!(
            !accepted.nodelay().expect("read option"),
            "Nagle is on by default"
        );
        disable_nagle(&accepted);
        assert!(accepted.nodelay().expect("read option"));
    }
}
