//! Every HTTP/1.1 request that asks for `Upgrade: websocket`, whatever its path: refused with a
//! status that says why, or answered with 101 and handed to its own [`Session`].
//!
//! actix-http calls this with the connection itself (`Framed<T, h1::Codec>`) instead of running
//! it through the app, so the server owns the socket after the handshake and no HTTP machinery
//! or buffer stays behind for the life of the WebSocket.

use std::{io, os::fd::AsRawFd, sync::Arc, time::Instant};

use actix_codec::{AsyncRead, AsyncWrite, Framed};
use actix_http::{
    body::BodySize,
    h1,
    header::{self, HeaderValue},
    ws, ConnectionType, Method, Request, Response, StatusCode,
};
use actix_service::{fn_service, ServiceFactory};
use actix_web::web::Bytes;
use futures_util::SinkExt;
use ws_peer_text::escaped_cut;

use crate::{
    connection::parking::Parkable, connection::session::Fixture, connection::session::Session,
    handshake::fixture, handshake::fixture::Asked, handshake::fixture::SubprotocolChoice,
    handshake::request_info::Agreed, handshake::request_info::Seen,
    handshake::request_info::TlsInfo, handshake::request_info::SERVED_BY,
    handshake::settings::EchoSettings, handshake::settings::ECHO_PATH, handshake::subprotocol,
    limits::http_guard::Slot, logging::log_rate, logging::peer_text, metrics::Rejection,
    protocol::permessage_deflate, protocol::permessage_deflate::Negotiated,
};

/// Longest peer-supplied value shown in a log line or a refusal's text, in characters.
const MAX_SHOWN_CHARS: usize = 200;

/// The upgrade service for one worker.
pub fn upgrade_service<T>(
    settings: Arc<EchoSettings>,
) -> impl ServiceFactory<
    (Request, Framed<T, h1::Codec>),
    Config = (),
    Response = (),
    Error = actix_http::Error,
    InitError = (),
>
where
    T: AsyncRead + AsyncWrite + AsRawFd + Parkable + Unpin + 'static,
{
    fn_service(move |(request, framed): (Request, Framed<T, h1::Codec>)| {
        let settings = Arc::clone(&settings);
        async move {
            if let Err(error) = upgrade(request, framed, &settings).await {
                tracing::debug!("a client went away during its handshake: {error}");
            }
            Ok(())
        }
    })
}

/// Checks the request, answers it, and starts the echo on success. An error means the client
/// went away during the handshake: nobody is left to answer.
async fn upgrade<T>(
    request: Request,
    mut framed: Framed<T, h1::Codec>,
    settings: &EchoSettings,
) -> io::Result<()>
where
    T: AsyncRead + AsyncWrite + AsRawFd + Parkable + Unpin + 'static,
{
    let started = Instant::now();
    let (response, mut session) = match admit(&request, settings) {
        Ok(admitted) => admitted,
        Err(mut refusal) => {
            refusal.header(served_by_name(), served_by(settings));
            return refusal.send(&mut framed).await;
        }
    };
    framed
        .send(h1::Message::Item((response, BodySize::None)))
        .await?;
    settings.metrics.handshake_took(started.elapsed());
    // A WebSocket now: its place among plain HTTP connections is free, its deadlines end.
    if let Some(slot) = request.conn_data::<Arc<Slot>>() {
        slot.upgraded();
    }
    tracing::info!(peer = %peer_text(request.peer_addr()), "connection opened");
    if let Some(fixture) = session.fixture.as_mut() {
        fixture.fd = Some(framed.io_ref().as_raw_fd());
    }
    let parts = framed.into_parts();
    session.spawn(parts.io, &parts.read_buf);
    Ok(())
}

/// The 101 response and the session to run, or the refusal to send.
fn admit(request: &Request, settings: &EchoSettings) -> Result<(Response<()>, Session), Refusal> {
    let head = request.head();
    if head.uri.path() != ECHO_PATH {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!(
                "no WebSocket endpoint at {}; connect to {ECHO_PATH}\n",
                escaped_cut(head.uri.path(), MAX_SHOWN_CHARS)
            ),
        ));
    }
    if head.method != Method::GET {
        let mut refusal = Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{ECHO_PATH} takes GET with a WebSocket upgrade\n"),
        );
        refusal.header(header::ALLOW, HeaderValue::from_static("GET"));
        return Err(refusal);
    }
    let origin = header_text(request, &header::ORIGIN);
    if !settings
        .origins
        .allows(origin, header_text(request, &header::HOST))
    {
        // A peer's value: escaped and cut, in the log and in the answer alike.
        let origin = escaped_cut(origin.unwrap_or_default(), MAX_SHOWN_CHARS);
        if log_rate::admit_refusal() {
            tracing::info!("refused a WebSocket from origin {origin}");
        }
        settings.metrics.rejected(Rejection::Origin);
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "cross-origin WebSocket from {origin} refused; start the backend with \
                 --allow-origin {origin} to accept it\n"
            ),
        ));
    }
    let asked = match head.uri.query() {
        Some(query) if settings.fixture => fixture::parse(query).map_err(|bad| {
            settings.metrics.rejected(Rejection::BadFixtureParameter);
            Refusal::new(StatusCode::BAD_REQUEST, format!("{bad}\n"))
        })?,
        _ => Asked::default(),
    };
    if let Some(status) = asked.refuse {
        settings.metrics.rejected(Rejection::AskedToRefuse);
        settings.metrics.fixture_used(&asked.faults());
        return Err(Refusal::new(
            status,
            format!(
                "refused with {} as the URL asked (refuse={})\n",
                status,
                status.as_u16()
            ),
        ));
    }
    let Some(permit) = settings.connections.try_open() else {
        let why = if settings.connections.is_stopping() {
            settings.metrics.rejected(Rejection::ShuttingDown);
            "the server is shutting down; connect again shortly\n".to_owned()
        } else {
            settings.metrics.rejected(Rejection::Capacity);
            format!(
                "the server is at its limit of {} connections (--max-connections); try again later\n",
                settings.connections.max()
            )
        };
        let mut refusal = Refusal::new(StatusCode::SERVICE_UNAVAILABLE, why);
        refusal.header(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Err(refusal);
    };
    let mut response = match ws::handshake(head) {
        Ok(mut builder) => builder.finish().drop_body(),
        Err(error) => {
            settings.metrics.rejected(Rejection::BadHandshake);
            return Err(Refusal::handshake(error));
        }
    };
    response
        .headers_mut()
        .insert(served_by_name(), served_by(settings));
    let protocol = match &asked.subprotocol {
        SubprotocolChoice::FirstOffered => subprotocol::first_offered(&head.headers),
        SubprotocolChoice::Refuse => None,
        SubprotocolChoice::Exactly(name) => HeaderValue::from_str(name).ok(),
    };
    if let Some(protocol) = protocol {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    let offers = if asked.compression {
        head.headers.get_all(header::SEC_WEBSOCKET_EXTENSIONS)
    } else {
        // compression=off: as if nothing was offered.
        head.headers
            .get_all(header::HeaderName::from_static("x-no-such-header"))
    };
    let deflate = permessage_deflate::negotiate(
        offers.filter_map(|value| value.to_str().ok()),
        &settings.deflate,
    )
    .and_then(|agreed| {
        let value = HeaderValue::from_str(&agreed.response_header()).ok()?;
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
        Some(Negotiated {
            agreed,
            threshold_bytes: settings.deflate.threshold_bytes,
            counters: settings.metrics.deflate_agreed(),
        })
    });
    let fixture = fixture_of(asked, request, &response, settings);
    let session = Session {
        liveness: settings.liveness,
        limits: settings.limits,
        charge: settings.memory.open(request.peer_addr()),
        permit,
        record: settings.metrics.connection_opened(),
        deflate,
        fixture,
    };
    Ok((response, session))
}

/// What the connection runs besides the echo, if it asked for anything: its hello (the
/// request as received, with what the 101 agreed) and a charge for what it holds back.
fn fixture_of(
    mut asked: Asked,
    request: &Request,
    response: &Response<()>,
    settings: &EchoSettings,
) -> Option<Box<Fixture>> {
    let faults = asked.faults();
    if faults.is_empty() {
        return None;
    }
    settings.metrics.fixture_used(&faults);
    if asked.hello {
        let head = request.head();
        let agreed_text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
        };
        let raw_head = request
            .conn_data::<Arc<Slot>>()
            .and_then(|slot| slot.recorded_head());
        let seen = Seen {
            method: &head.method,
            uri: &head.uri,
            version: head.version,
            headers: &head.headers,
            peer: request.peer_addr(),
            tls: request.conn_data::<TlsInfo>(),
            instance: &settings.instance,
            raw_head: raw_head.as_deref(),
        };
        let agreed = Agreed {
            subprotocol: agreed_text(header::SEC_WEBSOCKET_PROTOCOL),
            extensions: agreed_text(header::SEC_WEBSOCKET_EXTENSIONS),
        };
        asked.behaviour.hello = Some(crate::handshake::request_info::describe(
            &seen,
            Some(&agreed),
            None,
        ));
    }
    if !asked.behaviour.asks_anything() {
        return None;
    }
    Some(Box::new(Fixture {
        behaviour: asked.behaviour,
        charge: settings.memory.open(request.peer_addr()),
        fd: None,
    }))
}

fn served_by_name() -> header::HeaderName {
    header::HeaderName::from_static(SERVED_BY)
}

/// `X-Served-By: <instance>`; the name was checked to be header text when the flags were read.
fn served_by(settings: &EchoSettings) -> HeaderValue {
    HeaderValue::from_str(&settings.instance)
        .unwrap_or_else(|_| HeaderValue::from_static("ws-echo"))
}

fn header_text<'r>(request: &'r Request, name: &header::HeaderName) -> Option<&'r str> {
    request
        .head()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

/// A refused upgrade: a status, a line of text saying why and what to do, then the connection
/// closes.
struct Refusal {
    head: Response<()>,
    text: String,
}

impl Refusal {
    fn new(status: StatusCode, text: String) -> Self {
        Refusal {
            head: Response::with_body(status, ()),
            text,
        }
    }

    /// actix-http's answer to a broken handshake (400, or 426 naming the version we speak).
    fn handshake(error: ws::HandshakeError) -> Self {
        let text = match error {
            ws::HandshakeError::UnsupportedVersion => {
                "this server speaks WebSocket version 13 (RFC 6455) only\n"
            }
            ws::HandshakeError::BadWebsocketKey => {
                "the Sec-WebSocket-Key header is missing or is not 16 bytes in base64\n"
            }
            ws::HandshakeError::NoVersionHeader => "the Sec-WebSocket-Version header is missing\n",
            ws::HandshakeError::NoConnectionUpgrade => {
                "the Connection header must include Upgrade\n"
            }
            _ => "not a valid WebSocket handshake\n",
        };
        Refusal {
            head: Response::from(error).drop_body(),
            text: text.to_owned(),
        }
    }

    fn header(&mut self, name: header::HeaderName, value: HeaderValue) {
        self.head.headers_mut().insert(name, value);
    }

    async fn send<T>(mut self, framed: &mut Framed<T, h1::Codec>) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        self.head
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        self.header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let body = Bytes::from(self.text);
        let size = BodySize::Sized(body.len() as u64);
        framed.feed(h1::Message::Item((self.head, size))).await?;
        framed.feed(h1::Message::Chunk(Some(body))).await?;
        framed.send(h1::Message::Chunk(None)).await
    }
}

#[cfg(test)]
mod tests {
    use actix_http::test::TestRequest;

    use super::*;
    use crate::limits::connections::Connections;

    fn settings(max_connections: usize) -> EchoSettings {
        EchoSettings::for_tests(Connections::new(max_connections))
    }

    fn handshake() -> TestRequest {
        let mut request = TestRequest::with_uri(ECHO_PATH);
        request
            .insert_header(("host", "localhost:8080"))
            .insert_header(("upgrade", "websocket"))
            .insert_header(("connection", "Upgrade"))
            .insert_header(("sec-websocket-version", "13"))
            .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="));
        request
    }

    fn refused(request: &Request, settings: &EchoSettings) -> Refusal {
        match admit(request, settings) {
            Ok(_) => panic!("admitted"),
            Err(refusal) => refusal,
        }
    }

    #[test]
    fn a_valid_handshake_gets_101_with_the_accept_key_and_the_first_subprotocol() {
        let settings = settings(10);
        let request = handshake()
            .insert_header(("sec-websocket-protocol", "chat.v2, echo"))
            .finish();
        let Ok((response, _session)) = admit(&request, &settings) else {
            panic!("refused");
        };
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let headers = response.headers();
        // The accept key for the RFC 6455 sample nonce (§1.3).
        assert_eq!(
            headers.get(header::SEC_WEBSOCKET_ACCEPT).expect("accept"),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            headers
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .expect("protocol"),
            "chat.v2"
        );
        assert_eq!(settings.connections.open(), 1, "the session holds a permit");
    }

    #[test]
    fn refusals_say_why_with_the_right_status() {
        let settings = settings(10);
        let other_path = handshake().uri("/chat").finish();
        let refusal = refused(&other_path, &settings);
        assert_eq!(refusal.head.status(), StatusCode::NOT_FOUND);
        assert!(
            refusal.text.contains("connect to /echo"),
            "{}",
            refusal.text
        );

        let post = handshake().method(Method::POST).finish();
        let refusal = refused(&post, &settings);
        assert_eq!(refusal.head.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            refusal.head.headers().get(header::ALLOW).expect("allow"),
            "GET"
        );

        let foreign = handshake()
            .insert_header(("origin", "https://evil.example"))
            .finish();
        let refusal = refused(&foreign, &settings);
        assert_eq!(refusal.head.status(), StatusCode::FORBIDDEN);
        assert!(refusal.text.contains("--allow-origin https://evil.example"));

        let old_version = handshake()
            .insert_header(("sec-websocket-version", "8"))
            .finish();
        let refusal = refused(&old_version, &settings);
        assert_eq!(refusal.head.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            refusal
                .head
                .headers()
                .get(header::SEC_WEBSOCKET_VERSION)
                .expect("version"),
            "13"
        );

        let no_key = {
            let mut request = TestRequest::with_uri(ECHO_PATH);
            request
                .insert_header(("upgrade", "websocket"))
                .insert_header(("connection", "Upgrade"))
                .insert_header(("sec-websocket-version", "13"));
            request.finish()
        };
        let refusal = refused(&no_key, &settings);
        assert_eq!(refusal.head.status(), StatusCode::BAD_REQUEST);
        assert!(refusal.text.contains("Sec-WebSocket-Key"));
        assert_eq!(
            settings.connections.open(),
            0,
            "no permit kept by a refusal"
        );
    }

    #[test]
    fn a_full_or_stopping_server_answers_503_with_retry_after() {
        let settings = settings(1);
        let first = admit(&handshake().finish(), &settings);
        assert!(first.is_ok());
        let refusal = refused(&handshake().finish(), &settings);
        assert_eq!(refusal.head.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            refusal.text.contains("--max-connections"),
            "{}",
            refusal.text
        );
        assert!(refusal.head.headers().contains_key(header::RETRY_AFTER));

        drop(first);
        settings.connections.begin_shutdown();
        let refusal = refused(&handshake().finish(), &settings);
        assert_eq!(refusal.head.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refusal.text.contains("shutting down"), "{}", refusal.text);
    }
}
