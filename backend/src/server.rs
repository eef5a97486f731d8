//! Binds the server: one function for `main`, one for tests on port 0; and the graceful
//! shutdown both use.
//!
//! The server is actix-http's `HttpService` with the actix-web app for pages, `/healthz` and
//! `/metrics`, and an upgrade service that takes every WebSocket handshake with its connection
//! ([`crate::handshake::upgrade`]). actix-web's `HttpServer` has no place for the latter.

use std::{
    io,
    net::{SocketAddr, TcpListener, ToSocketAddrs},
    path::PathBuf,
    sync::Arc,
    thread,
    time::Duration,
};

use actix_http::{error::DispatchError, Extensions, HttpService, KeepAlive, Protocol};
use actix_service::{fn_service, map_config, ServiceFactoryExt};
use actix_web::{
    dev::{AppConfig, Server, ServerHandle},
    middleware::{from_fn, DefaultHeaders},
    web, App,
};
use socket2::{Domain, Socket, Type};
use tokio::net::TcpStream;
use tokio_rustls::{server::TlsStream, TlsAcceptor};

use crate::{
    config::Switch, connection::echo::Liveness, connection::parking::Parkable,
    connection::ws_connection::Limits, handshake::origin::OriginPolicy,
    handshake::request_info::TlsInfo, handshake::request_info::SERVED_BY,
    handshake::settings::EchoSettings, handshake::settings::ECHO_PATH,
    handshake::upgrade::upgrade_service, http::bundle, http::routes::healthz,
    http::routes::metrics_route, http::routes::not_an_upgrade, http::routes::request_route,
    http::routes::wrong_method, http::routes::MAX_REQUEST_BODY_BYTES,
    limits::connections::Connections, limits::http_guard::registry::Full,
    limits::http_guard::tracking::track_requests, limits::http_guard::Guarded,
    limits::http_guard::HeadTap, limits::http_guard::HttpConnections,
    limits::http_guard::HttpTimeouts, limits::http_guard::Watched,
    limits::memory_budget::MemoryBudget, metrics::Metrics, Config,
};

/// How long a finished connection waits for the client to hang up before closing its side.
/// actix lingers this long whenever a request body was not read to the end; RFC 6455 §7.1.1
/// wants the server to close the TCP connection first and at once, so: no lingering.
const LINGER_AFTER_CLOSE: Duration = Duration::ZERO;

/// Connections waiting to be accepted, per listener: a burst of thousands of clients
/// connecting at once must not find the queue full (the kernel caps it at somaxconn).
const LISTEN_BACKLOG: i32 = 4096;

/// A bound server, not yet running, the addresses it listens on (port 0 resolved), and what
/// [`shut_down`] needs.
pub struct Bound {
    pub server: Server,
    pub addrs: Vec<SocketAddr>,
    /// `https` with --tls-cert, else `http`.
    pub scheme: &'static str,
    pub connections: Arc<Connections>,
    /// The memory budget, through which every connection hears the shutdown.
    pub memory: Arc<MemoryBudget>,
    pub metrics: Arc<Metrics>,
}

/// What the TLS handshake agreed, if the connection is over TLS.
trait TlsDetails {
    fn tls_info(&self) -> Option<TlsInfo>;
}

impl TlsDetails for Guarded<TcpStream> {
    fn tls_info(&self) -> Option<TlsInfo> {
        None
    }
}

/// A plain connection parks as its TCP socket, once its guard let go (the upgrade is done).
impl Parkable for Guarded<TcpStream> {
    fn parkable(&self) -> bool {
        true
    }

    fn at_rest(&self) -> bool {
        self.let_go()
    }

    fn into_std(self) -> std::io::Result<std::net::TcpStream> {
        self.into_inner().into_std()
    }
}

/// A TLS connection never parks: rustls's state is the connection's.
impl Parkable for HeadTap<TlsStream<Guarded<TcpStream>>> {
    fn parkable(&self) -> bool {
        false
    }

    fn into_std(self) -> std::io::Result<std::net::TcpStream> {
        Err(std::io::Error::other("a TLS connection does not park"))
    }
}

impl TlsDetails for HeadTap<TlsStream<Guarded<TcpStream>>> {
    fn tls_info(&self) -> Option<TlsInfo> {
        let (_, tls) = self.get_ref().get_ref();
        Some(TlsInfo {
            version: tls
                .protocol_version()
                .map_or_else(|| "unknown".to_owned(), |version| format!("{version:?}")),
            sni: tls.server_name().map(str::to_owned),
            alpn: tls
                .alpn_protocol()
                .map(|alpn| String::from_utf8_lossy(alpn).into_owned()),
        })
    }
}

/// Puts the connection's slot (`conn_data::<Arc<Slot>>()`) and, over TLS, what its handshake
/// agreed (`conn_data::<TlsInfo>()`) where the app and the upgrade service find them.
fn remember_slot<T: Watched + TlsDetails>(io: &T, data: &mut Extensions) {
    if let Some(slot) = io.slot() {
        data.insert(slot);
    }
    if let Some(tls) = io.tls_info() {
        data.insert(tls);
    }
}

/// A place among the plain HTTP connections for a new one, and its peer's address; if every
/// place is busy, a 503 written as is and the connection dropped.
fn admit(
    http: &Arc<HttpConnections>,
    io: TcpStream,
    full: &[u8],
) -> Result<(Guarded<TcpStream>, Option<SocketAddr>), DispatchError> {
    // Echoes go out at once: with Nagle's algorithm on, a small reply waits for the ACK of the
    // previous one, tens of milliseconds under delayed ACKs.
    let _ = io.set_nodelay(true);
    let peer = io.peer_addr().ok();
    match http.admit() {
        Ok(slot) => Ok((Guarded::new(io, slot), peer)),
        Err(Full) => {
            // Best effort, never waiting: a peer that cannot take these bytes gets a close.
            // A plain send(2): tokio's `try_write` on a socket the reactor has not polled yet
            // always says WouldBlock, and the answer was never written.
            let _ = socket2::SockRef::from(&io).send(full);
            Err(DispatchError::Io(io::Error::other(
                "refused: every HTTP connection place is busy",
            )))
        }
    }
}

/// What a connection gets when every place for plain HTTP connections is busy with a request,
/// written as is by this instance (`X-Served-By`, checked to be header text).
fn full_response(instance: &str) -> Arc<[u8]> {
    const BODY: &str = "the server is at its limit of plain HTTP connections \
                        (--max-http-connections); try again shortly\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         {SERVED_BY}: {instance}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    Arc::from(response.into_bytes())
}

/// Binds every address `config.addr` resolves to and builds the server on it. The server does
/// not handle signals itself: `main` calls [`shut_down`] on SIGINT/SIGTERM.
pub fn bind(config: &Config) -> io::Result<Bound> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(crate::http::tls::load(cert, key).map_err(io::Error::other)?)
        }
        _ => None,
    };
    let connections = Connections::new(config.max_connections);
    let metrics = Metrics::new();
    let memory = MemoryBudget::new(config.memory_budget(), metrics.budget_gauges());
    let settings = Arc::new(EchoSettings {
        limits: Limits {
            max_frame_bytes: config.max_frame_bytes,
            max_message_bytes: config.max_message_bytes,
        },
        memory,
        liveness: Liveness {
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            park_after: config.park_after.0,
        },
        origins: OriginPolicy::new(&config.allowed_origins),
        connections: Arc::clone(&connections),
        metrics: Arc::clone(&metrics),
        deflate: config.deflate_policy(),
        fixture: config.fixture == Switch::On,
        instance: config.instance_name(),
    });
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
    let app_settings = web::Data::from(Arc::clone(&settings));
    let metrics_for_http = Arc::clone(&metrics);
    let app_metrics = web::Data::new(metrics);
    let served_by = settings.instance.clone();
    let app = move || {
        let app = App::new()
            .wrap(DefaultHeaders::new().add((SERVED_BY, served_by.clone())))
            .wrap(bundle::cross_origin_isolation())
            .wrap(from_fn(track_requests))
            .app_data(app_settings.clone())
            .app_data(app_metrics.clone())
            .service(
                web::resource(ECHO_PATH)
                    .route(web::get().to(not_an_upgrade))
                    .default_service(web::to(wrong_method)),
            )
            .route("/healthz", web::get().to(healthz))
            .service(
                web::resource("/request")
                    .app_data(web::PayloadConfig::new(MAX_REQUEST_BODY_BYTES))
                    .route(web::route().to(request_route)),
            )
            .route("/metrics", web::get().to(metrics_route));
        if built {
            app.service(bundle::files(&dist))
        } else {
            app.default_service(bundle::missing_bundle_route())
        }
    };

    let http = HttpConnections::new(
        config.http_connection_bound(),
        HttpTimeouts {
            head: config.handshake_timeout,
            keep_alive: config.keep_alive,
            request: config.request_timeout,
        },
        metrics_for_http.http_counters(),
    );

    // The same service over plain TCP or TLS: `$io` is the socket type it runs on.
    macro_rules! http_service {
        ($app:expr, $settings:expr, $io:ty) => {
            // actix-http's own head and keep-alive timers are off: they run from a clock it
            // updates every 500 ms (a 400 ms timeout fired at once) and time only the first
            // request; crate::limits::http_guard times every one.
            HttpService::<$io, _, _, _, _>::build()
                .keep_alive(KeepAlive::Os)
                .client_request_timeout(Duration::ZERO)
                .client_disconnect_timeout(LINGER_AFTER_CLOSE)
                .on_connect_ext(remember_slot::<$io>)
                .upgrade(upgrade_service(Arc::clone(&$settings)))
                .finish(map_config($app(), |_| AppConfig::default()))
        };
    }

    let mut builder = Server::build()
        .disable_signals()
        // Connections still open when the grace has passed are dropped, not waited for.
        .shutdown_timeout(config.shutdown_grace.as_secs().max(1));
    let mut addrs = Vec::new();
    for listener in listen(&config.addr)? {
        let addr = listener.local_addr()?;
        addrs.push(addr);
        let name = format!("echo-{addr}");
        let (app, settings, http) = (app.clone(), Arc::clone(&settings), Arc::clone(&http));
        let full = full_response(&settings.instance);
        builder = match &tls {
            None => builder.listen(name, listener, move || {
                let (http, full) = (Arc::clone(&http), Arc::clone(&full));
                fn_service(move |io: TcpStream| {
                    let admitted = admit(&http, io, &full);
                    async move { admitted.map(|(io, peer)| (io, Protocol::Http1, peer)) }
                })
                .and_then(http_service!(app, settings, Guarded<TcpStream>))
            })?,
            Some(tls) => {
                let acceptor = TlsAcceptor::from(Arc::new(tls.clone()));
                builder.listen(name, listener, move || {
                    let (http, acceptor) = (Arc::clone(&http), acceptor.clone());
                    let full = Arc::clone(&full);
                    fn_service(move |io: TcpStream| {
                        let admitted = admit(&http, io, &full);
                        let acceptor = acceptor.clone();
                        async move {
                            let (io, peer) = admitted?;
                            // Request heads are read above TLS (`HeadTap`), never from the
                            // ciphertext under it: said before the handshake's first byte.
                            if let Some(slot) = io.slot() {
                                slot.heads_over_tls();
                            }
                            // The guard's head deadline covers the TLS handshake too.
                            let io = acceptor.accept(io).await.map_err(DispatchError::Io)?;
                            Ok((HeadTap::new(io), Protocol::Http1, peer))
                        }
                    })
                    .and_then(http_service!(
                        app,
                        settings,
                        HeadTap<TlsStream<Guarded<TcpStream>>>
                    ))
                })?
            }
        };
    }
    Ok(Bound {
        server: builder.run(),
        addrs,
        scheme: if tls.is_some() { "https" } else { "http" },
        connections,
        memory: Arc::clone(&settings.memory),
        metrics: Arc::clone(&settings.metrics),
    })
}

/// A listening socket on every address `addr` resolves to (at least one, or the error of the
/// last that failed).
fn listen(addr: &str) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut last_error = None;
    let resolved = addr.to_socket_addrs().map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot resolve {addr:?} (expected HOST:PORT): {error}"),
        )
    })?;
    for addr in resolved {
        match listen_on(addr) {
            Ok(listener) => listeners.push(listener),
            Err(error) => last_error = Some(error),
        }
    }
    match (listeners.is_empty(), last_error) {
        (false, _) => Ok(listeners),
        (true, Some(error)) => Err(error),
        (true, None) => Err(io::Error::other(format!("{addr:?} resolves to no address"))),
    }
}

fn listen_on(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // A restart can bind at once, while the last run's connections are still in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Graceful shutdown: `/healthz` turns 503 and new upgrades are refused, every connection gets
/// close 1001, then the server stops once they are all closed or `grace` has passed.
pub async fn shut_down(
    connections: &Connections,
    memory: &MemoryBudget,
    server: &ServerHandle,
    grace: Duration,
) {
    let open = connections.open();
    tracing::info!("shutting down: closing {open} connection(s), waiting up to {grace:?}");
    connections.begin_shutdown();
    // Each connection hears it through its charge, and closes with 1001.
    memory.stop_all();
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
    memory: Arc<MemoryBudget>,
    metrics: Arc<Metrics>,
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

    /// Open WebSocket connections parked right now (idle, without a task of their own).
    pub fn parked_connections(&self) -> i64 {
        self.metrics.parked()
    }

    /// Stops at once, dropping open connections; returns when the server has stopped.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    /// The graceful way, as on SIGTERM: close 1001 to everyone, wait up to `grace`, stop.
    pub async fn shut_down(self, grace: Duration) {
        shut_down(&self.connections, &self.memory, &self.handle, grace).await;
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
                        let _ = ready_tx.send(Ok((
                            bound.addrs[0],
                            handle,
                            bound.connections,
                            bound.memory,
                            bound.metrics,
                        )));
                        let _ = bound.server.await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            })
        })?;
    let (addr, handle, connections, memory, metrics) = ready_rx
        .recv()
        .map_err(|_| io::Error::other("the server thread ended before binding"))??;
    Ok(Background {
        addr,
        handle,
        connections,
        memory,
        metrics,
    })
}
