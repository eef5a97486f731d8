//! `GET /echo`: origin and capacity checks, the WebSocket upgrade, then the echo loop on its
//! own task.

use std::{sync::Arc, time::Instant};

use actix_web::{
    dev,
    http::{header, StatusCode},
    web, FromRequest, HttpRequest, HttpResponse,
};

use crate::{
    connections::Connections,
    echo::{echo, Ending, Liveness},
    frame_guard::GuardedPayload,
    metrics::{Metrics, Rejection},
    origin::OriginPolicy,
    subprotocol,
};

/// What every connection is held to; one copy shared by all workers.
#[derive(Debug, Clone)]
pub struct EchoSettings {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    pub liveness: Liveness,
    pub origins: OriginPolicy,
    pub connections: Arc<Connections>,
    pub metrics: Arc<Metrics>,
}

/// Upgrades the request and echoes on the connection until either side closes it.
///
/// Refused before the upgrade: a foreign `Origin` (403), a full or stopping server (503), and
/// anything that is not a valid upgrade (actix's 400, or 426 for a wrong version).
pub async fn echo_route(
    req: HttpRequest,
    body: web::Payload,
    settings: web::Data<EchoSettings>,
) -> actix_web::Result<HttpResponse> {
    let started = Instant::now();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !settings.origins.allows(origin, host) {
        let origin = origin.unwrap_or_default();
        tracing::info!("refused a WebSocket from origin {origin}");
        settings.metrics.rejected(Rejection::Origin);
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            format!(
                "cross-origin WebSocket from {origin} refused; start the backend with \
                 --allow-origin {origin} to accept it\n"
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
        return Ok(refusal(StatusCode::SERVICE_UNAVAILABLE, why));
    };

    let guarded = GuardedPayload::new(body, settings.max_frame_bytes);
    let body = web::Payload::from_request(
        &req,
        &mut dev::Payload::Stream {
            payload: Box::pin(guarded),
        },
    )
    .await?;
    let (mut response, session, messages) = actix_ws::handle(&req, body).inspect_err(|_| {
        settings.metrics.rejected(Rejection::BadHandshake);
    })?;
    subprotocol::agree(req.headers(), &mut response);
    let messages = messages
        .max_frame_size(settings.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(settings.max_message_bytes);
    let peer = req
        .peer_addr()
        .map_or_else(|| "unknown peer".to_owned(), |addr| addr.to_string());
    let stop = settings.connections.stopped();
    let liveness = settings.liveness;
    let mut record = settings.metrics.connection_opened();
    settings.metrics.handshake_took(started.elapsed());
    tracing::info!(%peer, "connection opened");

    actix_web::rt::spawn(async move {
        let _permit = permit;
        let ending = echo(messages, session, liveness, stop, &mut record).await;
        let (code, how) = match &ending {
            // A close frame without a code is 1005, "no status received" (RFC 6455 §7.1.5).
            Ok(Ending::Closed(reason)) => (
                Some(reason.as_ref().map_or(1005, |r| u16::from(r.code))),
                "closed by peer",
            ),
            Ok(Ending::ProtocolError(reason)) => (Some(u16::from(reason.code)), "protocol error"),
            Ok(Ending::IdleTimeout) => (Some(1001), "idle timeout"),
            Ok(Ending::ShutDown) => (Some(1001), "server shutting down"),
            Ok(Ending::StreamEnded) => (None, "dropped without a close frame"),
            // The session refused a write: the peer is already gone. Nothing to answer.
            Err(actix_ws::Closed) => (None, "gone while we were writing"),
        };
        let (lasted, tally) = record.closed(code);
        tracing::info!(
            %peer,
            duration_ms = lasted.as_millis() as u64,
            messages_in = tally.messages_in,
            bytes_in = tally.bytes_in,
            messages_out = tally.messages_out,
            bytes_out = tally.bytes_out,
            close_code = code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
            "connection closed: {how}"
        );
    });
    Ok(response)
}

fn refusal(status: StatusCode, text: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header((header::RETRY_AFTER, "5"));
    }
    response
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

/// `GET /healthz`: 200 while serving, 503 once shutdown has begun (so a proxy stops sending).
pub async fn healthz(settings: web::Data<EchoSettings>) -> HttpResponse {
    if settings.connections.is_stopping() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else {
        HttpResponse::Ok().body("ok\n")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::{test, App};

    use super::*;

    fn settings(connections: Arc<Connections>) -> web::Data<EchoSettings> {
        web::Data::new(EchoSettings {
            max_frame_bytes: 1024,
            max_message_bytes: 1024,
            liveness: Liveness {
                ping_interval: Duration::from_secs(30),
                idle_timeout: Duration::from_secs(75),
            },
            origins: OriginPolicy::default(),
            connections,
            metrics: Metrics::new(),
        })
    }

    #[actix_rt::test]
    async fn healthz_is_200_while_serving_and_503_once_stopping() {
        let connections = Connections::new(10);
        let app = test::init_service(
            App::new()
                .app_data(settings(Arc::clone(&connections)))
                .route("/healthz", web::get().to(healthz))
                .route("/echo", web::get().to(echo_route)),
        )
        .await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);

        connections.begin_shutdown();
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

        let upgrade = test::TestRequest::get()
            .uri("/echo")
            .insert_header(("upgrade", "websocket"))
            .insert_header(("connection", "upgrade"))
            .insert_header(("sec-websocket-version", "13"))
            .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
            .to_request();
        let response = test::call_service(&app, upgrade).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "no upgrades while stopping"
        );
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
