//! What the page keeps across a reload, in localStorage under one key: the URL, subprotocols and
//! reconnect option last used, and the recent connections and sent messages (the last one goes
//! back in the message box), so that a tester can open or resend them with one click. Written and read with the browser's
//! own JSON (no serializer in the bundle); anything unreadable counts as nothing saved.
//!
//! Also the share link: the page's address with a URL and a message in its query string, so a
//! bug report can carry a reproduction.

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// The localStorage key; the version lets a later format start afresh.
pub const STORAGE_KEY: &str = "ws-echo.saved.v1";

/// Recent connections kept, newest first.
pub const MAX_CONNECTIONS: usize = 8;

/// Recent sent messages kept, newest first.
pub const MAX_MESSAGES: usize = 20;

/// Longest message kept in the history: localStorage holds about 5 MB per site, and one 16 MiB
/// message would not fit (it is still sent, only not remembered).
pub const MAX_SAVED_MESSAGE_BYTES: usize = 4096;

/// A connection opened before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentConnection {
    pub url: String,
    pub protocols: String,
}

/// A message sent before, as typed, with its format (`text`, `hex`, `base64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentMessage {
    pub text: String,
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Saved {
    pub url: Option<String>,
    pub protocols: String,
    /// The reconnect option: its attempt limit when it was on.
    pub reconnect: Option<u32>,
    pub connections: Vec<RecentConnection>,
    pub messages: Vec<RecentMessage>,
}

impl Saved {
    /// A connection was opened with these settings.
    pub fn opened(&mut self, url: &str, protocols: &str, reconnect: Option<u32>) {
        self.url = Some(url.to_owned());
        self.protocols = protocols.to_owned();
        self.reconnect = reconnect;
        let recent = RecentConnection {
            url: url.to_owned(),
            protocols: protocols.to_owned(),
        };
        self.connections.retain(|c| *c != recent);
        self.connections.insert(0, recent);
        self.connections.truncate(MAX_CONNECTIONS);
    }

    /// A message was sent as typed in `format`.
    pub fn sent(&mut self, text: &str, format: &str) {
        if text.len() > MAX_SAVED_MESSAGE_BYTES {
            return;
        }
        let recent = RecentMessage {
            text: text.to_owned(),
            format: format.to_owned(),
        };
        self.messages.retain(|m| *m != recent);
        self.messages.insert(0, recent);
        self.messages.truncate(MAX_MESSAGES);
    }

    pub fn to_json(&self) -> String {
        let object = Object::new();
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&object, &key.into(), &value);
        };
        set(
            "url",
            self.url.as_deref().map_or(JsValue::NULL, JsValue::from),
        );
        set("protocols", self.protocols.as_str().into());
        set(
            "reconnect",
            self.reconnect.map_or(JsValue::NULL, JsValue::from),
        );
        let pairs = |items: Vec<(&str, &str, &str, &str)>| {
            items
                .into_iter()
                .map(|(k1, v1, k2, v2)| {
                    let item = Object::new();
                    let _ = Reflect::set(&item, &k1.into(), &v1.into());
                    let _ = Reflect::set(&item, &k2.into(), &v2.into());
                    JsValue::from(item)
                })
                .collect::<Array>()
        };
        set(
            "connections",
            pairs(
                self.connections
                    .iter()
                    .map(|c| ("url", c.url.as_str(), "protocols", c.protocols.as_str()))
                    .collect(),
            )
            .into(),
        );
        set(
            "messages",
            pairs(
                self.messages
                    .iter()
                    .map(|m| ("text", m.text.as_str(), "format", m.format.as_str()))
                    .collect(),
            )
            .into(),
        );
        JSON::stringify(&object)
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default()
    }

    /// What `text` holds; whatever is missing or malformed is left out.
    pub fn from_json(text: &str) -> Saved {
        let Ok(value) = JSON::parse(text) else {
            return Saved::default();
        };
        if !value.is_object() {
            return Saved::default();
        }
        let string = |from: &JsValue, key: &str| {
            Reflect::get(from, &key.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        let list = |key: &str| -> Vec<JsValue> {
            Reflect::get(&value, &key.into())
                .ok()
                .and_then(|v| v.dyn_into::<Array>().ok())
                .map(|array| array.iter().collect())
                .unwrap_or_default()
        };
        let reconnect = Reflect::get(&value, &"reconnect".into())
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(u32::MAX))
            .map(|n| n as u32);
        Saved {
            url: string(&value, "url"),
            protocols: string(&value, "protocols").unwrap_or_default(),
            reconnect,
            connections: list("connections")
                .iter()
                .filter_map(|item| {
                    Some(RecentConnection {
                        url: string(item, "url")?,
                        protocols: string(item, "protocols").unwrap_or_default(),
                    })
                })
                .take(MAX_CONNECTIONS)
                .collect(),
            messages: list("messages")
                .iter()
                .filter_map(|item| {
                    Some(RecentMessage {
                        text: string(item, "text")?,
                        format: string(item, "format").unwrap_or_else(|| "text".into()),
                    })
                })
                .take(MAX_MESSAGES)
                .collect(),
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// What was saved on this browser, or nothing (storage off, or unreadable).
pub fn load() -> Saved {
    storage()
        .and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten())
        .map(|text| Saved::from_json(&text))
        .unwrap_or_default()
}

/// Saves `saved`; the error says why it could not (storage off, or full).
pub fn store(saved: &Saved) -> Result<(), String> {
    let storage = storage().ok_or("this browser keeps no local storage for the page")?;
    storage
        .set_item(STORAGE_KEY, &saved.to_json())
        .map_err(|error| {
            format!(
                "could not save the history ({})",
                crate::browser_io::js_error_text(&error)
            )
        })
}

/// Forgets everything saved.
pub fn forget() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

/// What a share link asks the page to start with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefill {
    pub url: Option<String>,
    pub message: Option<String>,
    pub format: Option<String>,
}

/// The page's query string (`?url=…&message=…&format=hex`), read.
pub fn prefill_from(search: &str) -> Prefill {
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(search) else {
        return Prefill::default();
    };
    Prefill {
        url: params.get("url").filter(|u| !u.is_empty()),
        message: params.get("message"),
        format: params
            .get("format")
            .filter(|f| matches!(f.as_str(), "text" | "hex" | "base64")),
    }
}

/// The query string of the page this was loaded with.
pub fn page_prefill() -> Prefill {
    web_sys::window()
        .and_then(|window| window.location().search().ok())
        .map(|search| prefill_from(&search))
        .unwrap_or_default()
}

/// A link to `page` (its address without a query) that opens it with `url` and `message`
/// filled in.
pub fn share_link(page: &str, url: &str, message: &str, format: &str) -> String {
    let Ok(params) = web_sys::UrlSearchParams::new() else {
        return page.to_owned();
    };
    params.append("url", url);
    params.append("message", message);
    if format != "text" {
        params.append("format", format);
    }
    format!("{page}?{}", String::from(params.to_string()))
}

/// This page's address without its query string or fragment.
pub fn page_address() -> String {
    web_sys::window()
        .and_then(|window| {
            let location = window.location();
            Some(format!(
                "{}{}",
                location.origin().ok()?,
                location.pathname().ok()?
            ))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn connections_and_messages_are_kept_newest_first_without_repeats() {
        let mut saved = Saved::default();
        saved.opened("ws://a/echo", "chat", None);
        saved.opened("ws://b/echo", "", Some(5));
        saved.opened("ws://a/echo", "chat", None);
        assert_eq!(
            saved
                .connections
                .iter()
                .map(|c| c.url.as_str())
                .collect::<Vec<_>>(),
            ["ws://a/echo", "ws://b/echo"]
        );
        assert_eq!(saved.url.as_deref(), Some("ws://a/echo"));
        assert_eq!(saved.reconnect, None);
        for i in 0..30 {
            saved.sent(&format!("message {i}"), "text");
        }
        saved.sent("message 29", "text");
        saved.sent("00ff", "hex");
        assert_eq!(saved.messages.len(), MAX_MESSAGES);
        assert_eq!(saved.messages[0].text, "00ff");
        assert_eq!(saved.messages[1].text, "message 29");
        assert_eq!(saved.messages[0].format, "hex");
        saved.sent(&"x".repeat(MAX_SAVED_MESSAGE_BYTES + 1), "text");
        assert_eq!(saved.messages[0].text, "00ff", "too long to keep");
        for i in 0..20 {
            saved.opened(&format!("ws://host{i}/echo"), "", None);
        }
        assert_eq!(saved.connections.len(), MAX_CONNECTIONS);
    }

    #[wasm_bindgen_test]
    fn json_round_trips_and_garbage_is_nothing() {
        let mut saved = Saved::default();
        saved.opened("ws://a/echo", "chat, v2", Some(7));
        saved.sent("héllo \"quoted\"\nline", "text");
        saved.sent("aGk=", "base64");
        assert_eq!(Saved::from_json(&saved.to_json()), saved);
        for garbage in [
            "",
            "null",
            "42",
            "{",
            "[1,2]",
            r#"{"url": 3, "messages": "no"}"#,
        ] {
            let read = Saved::from_json(garbage);
            assert_eq!(read.url, None, "{garbage}");
            assert!(read.messages.is_empty(), "{garbage}");
        }
        let partial =
            Saved::from_json(r#"{"reconnect": -1, "messages": [{"text": "a"}, {"x": 1}]}"#);
        assert_eq!(partial.reconnect, None);
        assert_eq!(
            partial.messages,
            [RecentMessage {
                text: "a".into(),
                format: "text".into()
            }]
        );
    }

    #[wasm_bindgen_test]
    fn storage_keeps_it_until_forgotten() {
        forget();
        assert_eq!(load(), Saved::default());
        let mut saved = Saved::default();
        saved.sent("kept", "text");
        store(&saved).expect("stored");
        assert_eq!(load(), saved);
        forget();
        assert_eq!(load(), Saved::default());
    }

    #[wasm_bindgen_test]
    fn share_links_carry_the_url_and_message_and_read_back() {
        let link = share_link(
            "http://localhost:8080/",
            "ws://localhost:8080/echo",
            "a & b = c?\nnext",
            "text",
        );
        assert!(link.starts_with("http://localhost:8080/?url="), "{link}");
        let search = &link[link.find('?').expect("a query")..];
        assert_eq!(
            prefill_from(search),
            Prefill {
                url: Some("ws://localhost:8080/echo".into()),
                message: Some("a & b = c?\nnext".into()),
                format: None,
            }
        );
        let hex = share_link("http://h/", "ws://h/echo", "00ff", "hex");
        assert_eq!(
            prefill_from(&hex[hex.find('?').expect("q")..])
                .format
                .as_deref(),
            Some("hex")
        );
        assert_eq!(prefill_from("?format=evil").format, None);
        assert_eq!(prefill_from(""), Prefill::default());
    }
}
