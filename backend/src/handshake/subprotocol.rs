//! Which subprotocol the echo agrees to: the first one the client offers that is a valid name.
//! An echo speaks every protocol, and browsers (and tungstenite) fail a handshake whose response
//! ignores the subprotocols they offered, so agreeing is what lets a tester try its protocol
//! names here. A valid name is an RFC 7230 token (RFC 6455 §4.1) of at most
//! [`MAX_SUBPROTOCOL_BYTES`]: anything else would be reflected into the response as is.

/// Longest subprotocol name agreed. Registered names are a few bytes; without a limit a client
/// had a 100 KB header reflected whole.
pub const MAX_SUBPROTOCOL_BYTES: usize = 128;

/// An RFC 7230 token: one or more of `!#$%&'*+-.^_`|~`, digits and letters.
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

use actix_web::{
    http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_PROTOCOL},
    HttpResponse,
};

/// The first valid subprotocol offered over all `Sec-WebSocket-Protocol` headers, if any.
pub fn first_offered(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .find(|name| is_token(name) && name.len() <= MAX_SUBPROTOCOL_BYTES)
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

    #[test]
    fn names_that_are_not_tokens_or_too_long_are_passed_over() {
        assert_eq!(offered(&["a b, echo"]), Some("echo".into()));
        assert_eq!(
            offered(&["chat/v2; x=1, \"quoted\", mqtt"]),
            Some("mqtt".into())
        );
        let long = "p".repeat(MAX_SUBPROTOCOL_BYTES + 1);
        assert_eq!(offered(&[&format!("{long}, echo")]), Some("echo".into()));
        let longest = "p".repeat(MAX_SUBPROTOCOL_BYTES);
        assert_eq!(offered(&[&longest]), Some(longest.clone()));
        assert_eq!(offered(&["(), <>, @"]), None);
    }
}
