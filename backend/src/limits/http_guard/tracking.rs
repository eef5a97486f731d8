//! The app's middleware that tells a plain HTTP connection's [`Slot`] when a request starts
//! and when its response has been sent (its body dropped by the dispatcher), so that every
//! request on a keep-alive connection gets its own head deadline, not only the first.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use actix_web::{
    body::{BodySize, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web::Bytes,
    Error,
};

use super::registry::Slot;

/// `App::wrap(actix_web::middleware::from_fn(track_requests))`.
pub async fn track_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let sent = Sent(request.conn_data::<Arc<Slot>>().cloned());
    if let Some(slot) = &sent.0 {
        slot.request_started();
    }
    // On an error `sent` is dropped here: the connection waits for its next request again.
    let response = next.call(request).await?;
    Ok(response.map_body(move |_, body| UntilSent {
        body: body.boxed(),
        _sent: sent,
    }))
}

/// Marks the response sent when dropped.
struct Sent(Option<Arc<Slot>>);

impl Drop for Sent {
    fn drop(&mut self) {
        if let Some(slot) = &self.0 {
            slot.response_finished();
        }
    }
}

/// A response body that marks its connection's response sent once the dispatcher is done
/// with it.
struct UntilSent {
    body: BoxBody,
    _sent: Sent,
}

impl MessageBody for UntilSent {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
