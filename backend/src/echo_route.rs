//! `GET /echo`: origin and capacity checks, the WebSocket upgrade, then the echo loop on its
//! own task.

use std::sync::Arc;

use actix_web::{
    dev,
    http::{header, StatusCode},
    web, FromRequest, HttpRequest, HttpResponse,
};

use crate::{
    connections::Connections,
    echo::{echo, Ending, Liveness},
    frame_guard::GuardedPayload,
    origin::OriginPolicy,
};

/// What every connection is held to; one copy shared by all workers.
#[derive(Debug, Clone)]
pub struct EchoSettings {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    pub liveness: Liveness,
    pub origins: OriginPolicy,
    pub connections: Arc<Connections>,
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
            "the server is shutting down; connect again shortly\n".to_owned()
        } else {
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
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    let messages = messages
        .max_frame_size(settings.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(settings.max_message_bytes);
    let peer = req
        .peer_addr()
        .map_or_else(|| "unknown peer".to_owned(), |addr| addr.to_string());
    let stop = settings.connections.stopped();
    let liveness = settings.liveness;

    actix_web::rt::spawn(async move {
        let _permit = permit;
        match echo(messages, session, liveness, stop).await {
            Ok(Ending::Closed(reason)) => {
                tracing::debug!(%peer, "closed by peer: {:?}", reason.map(|r| r.code))
            }
            Ok(Ending::ProtocolError(reason)) => {
                tracing::info!(%peer, "closed after a protocol error: {:?}", reason.code)
            }
            Ok(Ending::IdleTimeout) => tracing::info!(%peer, "closed: idle timeout"),
            Ok(Ending::ShutDown) => tracing::debug!(%peer, "closed for shutdown"),
            Ok(Ending::StreamEnded) => tracing::debug!(%peer, "connection dropped without close"),
            // The session refused a write: the connection is already gone. Nothing to do.
            Err(actix_ws::Closed) => tracing::debug!(%peer, "connection gone while writing"),
        }
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
