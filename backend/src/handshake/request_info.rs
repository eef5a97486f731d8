//! A request as the server saw it, as JSON: what `hello=request` sends as a connection's first
//! message and `/request` answers, so a user can see what a proxy or a CDN added, removed or
//! rewrote on the way, and which instance answered.
//!
//! Header values are shown as text (bytes that are not UTF-8 as U+FFFD), escaped as JSON
//! strings with controls and bidi characters as `\uXXXX` ([`ws_peer_text::push_json_string`]).
//! Headers are listed as they came, in order, duplicates kept, from the raw head the HTTP guard
//! kept ([`crate::limits::http_guard::head_record`]); when it has none (a pipelined request, a
//! head over 32 KiB), grouped by name in the order actix-http's header map gives them, every
//! value of a name in the order it came.

use std::{fmt::Write as _, net::SocketAddr};

use actix_http::{header::HeaderMap, Method, Uri, Version};
use ws_peer_text::push_json_string;

use crate::limits::http_guard::head_record::header_lines;

/// The header that names the instance on every HTTP response (`--instance-name`).
pub const SERVED_BY: &str = "x-served-by";

/// What the TLS handshake agreed, for a connection over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1_3` and so on.
    pub version: String,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The application protocol agreed (ALPN).
    pub alpn: Option<String>,
}

/// The request's parts that are described.
pub struct Seen<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub peer: Option<SocketAddr>,
    pub tls: Option<&'a TlsInfo>,
    pub instance: &'a str,
    /// The head as it came, if the HTTP guard kept it.
    pub raw_head: Option<&'a [u8]>,
}

/// The headers in the order they came if the raw head is this request's, else from the map.
fn headers_of(seen: &Seen<'_>) -> Vec<(String, String)> {
    let target = seen.uri.path_and_query().map_or("/", |p| p.as_str());
    let request_line = format!("{} {target} ", seen.method);
    if let Some(headers) = seen
        .raw_head
        .filter(|head| head.starts_with(request_line.as_bytes()))
        .and_then(header_lines)
    {
        return headers;
    }
    seen.headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// What the upgrade agreed, for `hello=request`.
pub struct Agreed<'a> {
    pub subprotocol: Option<&'a str>,
    pub extensions: Option<&'a str>,
}

/// Most body bytes shown as text in `/request`'s answer; a longer body, or one that is not
/// UTF-8, is described by its size alone.
pub const MAX_SHOWN_BODY_BYTES: usize = 4096;

/// The JSON object describing `seen`, with what the upgrade agreed or the body `/request` read.
pub fn describe(seen: &Seen<'_>, agreed: Option<&Agreed<'_>>, body: Option<&[u8]>) -> String {
    let mut json = String::with_capacity(512);
    json.push_str("{\"method\":");
    push_json_string(&mut json, seen.method.as_str());
    json.push_str(",\"path\":");
    push_json_string(&mut json, seen.uri.path());
    json.push_str(",\"query\":");
    push_json_string(&mut json, seen.uri.query().unwrap_or(""));
    json.push_str(",\"http_version\":");
    push_json_string(&mut json, &format!("{:?}", seen.version));
    json.push_str(",\"headers\":[");
    for (index, (name, value)) in headers_of(seen).iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push('[');
        push_json_string(&mut json, name);
        json.push(',');
        push_json_string(&mut json, value);
        json.push(']');
    }
    json.push_str("],\"peer\":");
    match seen.peer {
        Some(peer) => push_json_string(&mut json, &peer.to_string()),
        None => json.push_str("null"),
    }
    json.push_str(",\"tls\":");
    match seen.tls {
        Some(tls) => {
            json.push_str("{\"version\":");
            push_json_string(&mut json, &tls.version);
            json.push_str(",\"sni\":");
            push_optional(&mut json, tls.sni.as_deref());
            json.push_str(",\"alpn\":");
            push_optional(&mut json, tls.alpn.as_deref());
            json.push('}');
        }
        None => json.push_str("null"),
    }
    if let Some(agreed) = agreed {
        json.push_str(",\"subprotocol\":");
        push_optional(&mut json, agreed.subprotocol);
        json.push_str(",\"extensions\":");
        push_optional(&mut json, agreed.extensions);
    }
    if let Some(body) = body {
        let _ = write!(json, ",\"body_bytes\":{},\"body\":", body.len());
        match std::str::from_utf8(body) {
            Ok(text) if body.len() <= MAX_SHOWN_BODY_BYTES => push_json_string(&mut json, text),
            _ => json.push_str("null"),
        }
    }
    json.push_str(",\"instance\":");
    push_json_string(&mut json, seen.instance);
    json.push('}');
    json
}

fn push_optional(json: &mut String, text: Option<&str>) {
    match text {
        Some(text) => push_json_string(json, text),
        None => json.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use actix_http::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn a_request_is_described_with_every_value_of_every_header() {
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static("x-forwarded-for");
        headers.append(name.clone(), HeaderValue::from_static("10.0.0.1"));
        headers.append(name, HeaderValue::from_static("10.0.0.2"));
        headers.insert(
            HeaderName::from_static("x-evil"),
            HeaderValue::from_bytes(b"a\"b\\c\t\xe2\x80\xae\xff").expect("obs-text is allowed"),
        );
        let uri: Uri = "/echo?hello=request&x=1".parse().expect("uri");
        let tls = TlsInfo {
            version: "TLSv1_3".into(),
            sni: Some("localhost".into()),
            alpn: None,
        };
        let seen = Seen {
            method: &Method::GET,
            uri: &uri,
            version: Version::HTTP_11,
            headers: &headers,
            peer: Some("127.0.0.1:5000".parse().expect("addr")),
            tls: Some(&tls),
            instance: "one",
            raw_head: None,
        };
        let agreed = Agreed {
            subprotocol: Some("chat"),
            extensions: None,
        };
        let json = describe(&seen, Some(&agreed), None);
        assert!(json.starts_with(
            r#"{"method":"GET","path":"/echo","query":"hello=request&x=1","http_version":"HTTP/1.1","headers":["#
        ), "{json}");
        assert!(
            json.contains(r#"["x-forwarded-for","10.0.0.1"],["x-forwarded-for","10.0.0.2"]"#),
            "{json}"
        );
        assert!(json.contains(r#"["x-evil","a\"b\\c\t\u202e�"]"#), "{json}");
        assert!(json.ends_with(
            r#""peer":"127.0.0.1:5000","tls":{"version":"TLSv1_3","sni":"localhost","alpn":null},"subprotocol":"chat","extensions":null,"instance":"one"}"#
        ), "{json}");
        let with_body = describe(&seen, None, Some(b"hi"));
        assert!(
            with_body.contains(r#""body_bytes":2,"body":"hi""#),
            "{with_body}"
        );
        let binary = describe(&seen, None, Some(&[0xff, 0]));
        assert!(binary.contains(r#""body_bytes":2,"body":null"#), "{binary}");
        // With the raw head, its order; a raw head of another request is not used.
        let raw = b"GET /echo?hello=request&x=1 HTTP/1.1\r\nX-Z: 1\r\nHost: h\r\nX-Z: 2\r\n\r\n";
        let ordered = describe(
            &Seen {
                raw_head: Some(raw),
                ..seen
            },
            None,
            None,
        );
        assert!(
            ordered.contains(r#""headers":[["x-z","1"],["host","h"],["x-z","2"]]"#),
            "{ordered}"
        );
        let other = b"GET /other HTTP/1.1\r\nX-Z: 1\r\n\r\n";
        let fallback = describe(
            &Seen {
                raw_head: Some(other),
                ..seen
            },
            None,
            None,
        );
        assert!(
            fallback.contains(r#"["x-forwarded-for","10.0.0.1"]"#),
            "{fallback}"
        );
    }
}
