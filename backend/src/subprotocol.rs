//! Which subprotocol the echo agrees to: the first one the client offers. An echo speaks every
//! protocol, and browsers (and tungstenite) fail a handshake whose response ignores the
//! subprotocols they offered, so agreeing is what lets a tester try its protocol names here.

use actix_web::{
    http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_PROTOCOL},
    HttpResponse,
};

/// The first subprotocol offered over all `Sec-WebSocket-Protocol` headers, if any.
pub fn first_offered(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .find(|name| !name.is_empty())
        .and_then(|name| HeaderValue::from_str(name).ok())
}

/// Adds the agreed subprotocol, if the client offered one, to the handshake response.
pub fn agree(request: &HeaderMap, response: &mut HttpResponse) {
    if let Some(protocol) = first_offered(request) {
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderName;

    use super::*;

    fn offered(values: &[&str]) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static("sec-websocket-protocol"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        first_offered(&headers).map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn the_first_offer_wins() {
        assert_eq!(offered(&["chat.v2, echo"]), Some("chat.v2".into()));
        assert_eq!(offered(&[" , mqtt", "echo"]), Some("mqtt".into()));
        assert_eq!(offered(&["", "echo"]), Some("echo".into()));
        assert_eq!(offered(&[]), None);
        assert_eq!(offered(&[" , "]), None);
    }
}
