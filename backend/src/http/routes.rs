//! The app's own routes: `/echo` answered over plain HTTP (WebSocket upgrades are taken before
//! the app sees them, in [`crate::handshake::upgrade`], so what reaches it is a request without
//! one), `/healthz`, which reports shutdown the same way upgrades do, `/metrics`, and
//! `/request`, the request as the server saw it.

use std::sync::Arc;

use actix_web::{http::header, web, HttpRequest, HttpResponse};

use crate::{
    handshake::request_info::{describe, Seen, TlsInfo},
    handshake::settings::EchoSettings,
    limits::http_guard::Slot,
    metrics::Metrics,
};

/// Largest body `/request` reads; a larger one is answered 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// `GET /echo` without `Upgrade: websocket`: 400, saying what the endpoint wants.
pub async fn not_an_upgrade() -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(
            "/echo is a WebSocket endpoint: connect with a WebSocket client \
             (Upgrade: websocket), e.g. `cargo run -p client -- ws://HOST/echo`\n",
        )
}

/// `/echo` with another method than GET: 405, whether or not the page is built.
pub async fn wrong_method() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET"))
        .content_type("text/plain; charset=utf-8")
        .body("/echo takes GET with a WebSocket upgrade\n")
}

/// `GET /healthz`: 200 while serving, 503 once shutdown has begun (so a proxy stops sending).
pub async fn healthz(settings: web::Data<EchoSettings>) -> HttpResponse {
    if settings.connections.is_stopping() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else {
        HttpResponse::Ok().body("ok\n")
    }
}

/// `GET /metrics`.
pub async fn metrics_route(metrics: web::Data<Arc<Metrics>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.render())
}

/// `/request`, any method: the request as JSON (method, path, query, version, every header,
/// the peer, TLS, this instance), the body's size and, if it is short UTF-8 text, the body.
pub async fn request_route(
    request: HttpRequest,
    body: web::Bytes,
    settings: web::Data<EchoSettings>,
) -> HttpResponse {
    let tls = request.conn_data::<TlsInfo>();
    let raw_head = request
        .conn_data::<Arc<Slot>>()
        .and_then(|slot| slot.recorded_head());
    let seen = Seen {
        method: request.method(),
        uri: request.uri(),
        version: request.version(),
        headers: request.headers(),
        peer: request.peer_addr(),
        tls,
        instance: &settings.instance,
        raw_head: raw_head.as_deref(),
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(describe(&seen, None, Some(&body)))
}

#[cfg(test)]
mod tests {
    use actix_web::{http::StatusCode, test, App};

    use super::*;
    use crate::limits::connections::Connections;

    #[actix_rt::test]
    async fn healthz_reports_shutdown_and_a_plain_get_on_echo_is_400() {
        let connections = Connections::new(10);
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(EchoSettings::for_tests(Arc::clone(
                    &connections,
                ))))
                .route("/healthz", web::get().to(healthz))
                .route("/echo", web::get().to(not_an_upgrade)),
        )
        .await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);

        connections.begin_shutdown();
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

        let plain = test::TestRequest::get().uri("/echo").to_request();
        let response = test::call_service(&app, plain).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
