//! The request as the echo server saw it: the JSON of its `hello=request` message (see the
//! backend's `handshake/request_info.rs`) read into what the page shows, parsed by the
//! browser's own `JSON.parse`.

use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::JsValue;

/// What the hello message says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestSeen {
    /// `GET /echo?hello=request HTTP/1.1`.
    pub request_line: String,
    pub instance: String,
    pub peer: String,
    /// `TLSv1_3, SNI localhost, ALPN http/1.1`, or `none`.
    pub tls: String,
    pub subprotocol: String,
    pub extensions: String,
    /// Every header as the server received it, in its order.
    pub headers: Vec<(String, String)>,
}

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::NULL)
}

/// A string field, or "" when missing or null.
fn text(object: &JsValue, name: &str) -> String {
    field(object, name).as_string().unwrap_or_default()
}

impl RequestSeen {
    /// The hello's description, or `None` if `json` is not one.
    pub fn parse(json: &str) -> Option<RequestSeen> {
        let value = JSON::parse(json).ok()?;
        let headers = field(&value, "headers");
        if !value.is_object() || !Array::is_array(&headers) {
            return None;
        }
        let headers = Array::from(&headers)
            .iter()
            .map(|pair| {
                let pair = Array::from(&pair);
                (
                    pair.get(0).as_string().unwrap_or_default(),
                    pair.get(1).as_string().unwrap_or_default(),
                )
            })
            .collect();
        let query = text(&value, "query");
        let request_line = format!(
            "{} {}{}{} {}",
            text(&value, "method"),
            text(&value, "path"),
            if query.is_empty() { "" } else { "?" },
            query,
            text(&value, "http_version")
        );
        let tls = field(&value, "tls");
        let tls = if tls.is_object() {
            let mut shown = text(&tls, "version");
            for (label, name) in [("SNI", "sni"), ("ALPN", "alpn")] {
                let part = text(&tls, name);
                if !part.is_empty() {
                    shown.push_str(&format!(", {label} {part}"));
                }
            }
            shown
        } else {
            "none".to_owned()
        };
        let or_none = |name| {
            let shown = text(&value, name);
            if shown.is_empty() {
                "none".to_owned()
            } else {
                shown
            }
        };
        Some(RequestSeen {
            request_line,
            instance: text(&value, "instance"),
            peer: text(&value, "peer"),
            tls,
            subprotocol: or_none("subprotocol"),
            extensions: or_none("extensions"),
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn a_hello_is_read_into_its_parts() {
        let hello = r#"{"method":"GET","path":"/echo","query":"hello=request","http_version":"HTTP/1.1","headers":[["host","h:1"],["x-a","1"],["x-a","2"]],"peer":"127.0.0.1:5","tls":{"version":"TLSv1_3","sni":"h","alpn":null},"subprotocol":"chat","extensions":null,"instance":"one"}"#;
        let seen = RequestSeen::parse(hello).expect("a hello");
        assert_eq!(seen.request_line, "GET /echo?hello=request HTTP/1.1");
        assert_eq!(seen.instance, "one");
        assert_eq!(seen.tls, "TLSv1_3, SNI h");
        assert_eq!(
            (seen.subprotocol.as_str(), seen.extensions.as_str()),
            ("chat", "none")
        );
        assert_eq!(
            seen.headers,
            [
                ("host".to_owned(), "h:1".to_owned()),
                ("x-a".into(), "1".into()),
                ("x-a".into(), "2".into())
            ]
        );
        assert_eq!(RequestSeen::parse("not json"), None);
        assert_eq!(RequestSeen::parse(r#"{"method":"GET"}"#), None);
    }
}
