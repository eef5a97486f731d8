//! `GET /echo`: the WebSocket upgrade, then the echo loop on its own task.

use actix_web::{dev, web, FromRequest, HttpRequest, HttpResponse};

use crate::{
    echo::{echo, Ending},
    frame_guard::GuardedPayload,
};

/// Per-connection limits, shared by every worker.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
}

/// Upgrades the request and echoes on the connection until either side closes it.
///
/// A request that is not a valid upgrade gets actix's 400 (or 426 for a wrong version) here.
pub async fn echo_route(
    req: HttpRequest,
    body: web::Payload,
    limits: web::Data<Limits>,
) -> actix_web::Result<HttpResponse> {
    let guarded = GuardedPayload::new(body, limits.max_frame_bytes);
    let body = web::Payload::from_request(
        &req,
        &mut dev::Payload::Stream {
            payload: Box::pin(guarded),
        },
    )
    .await?;
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    let messages = messages
        .max_frame_size(limits.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_message_bytes);
    let peer = req
        .peer_addr()
        .map_or_else(|| "unknown peer".to_owned(), |addr| addr.to_string());

    actix_web::rt::spawn(async move {
        match echo(messages, session).await {
            Ok(Ending::Closed(reason)) => {
                tracing::debug!(%peer, "closed by peer: {:?}", reason.map(|r| r.code))
            }
            Ok(Ending::ProtocolError(reason)) => {
                tracing::info!(%peer, "closed after a protocol error: {:?}", reason.code)
            }
            Ok(Ending::StreamEnded) => tracing::debug!(%peer, "connection dropped without close"),
            // The session refused a write: the connection is already gone. Nothing to do.
            Err(actix_ws::Closed) => tracing::debug!(%peer, "connection gone while writing"),
        }
    });
    Ok(response)
}
