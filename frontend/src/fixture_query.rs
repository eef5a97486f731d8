//! The echo server's fault parameters (`delay=`, `close_after=`, … in the `/echo` URL's query)
//! as the "Server behaviour" panel edits them: read from a URL and written back into it, so the
//! URL field, a recent connection and a share link all carry them.

use web_sys::Url;

/// Every parameter the panel sets, in the order it shows them (shared with the server).
pub use ws_fixture::PARAMETERS as NAMES;

/// Each parameter's value ("" when not set), indexed like [`NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Faults(pub [String; NAMES.len()]);

/// What the page needs to know of a connection's parameters once it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asked {
    /// `hello=request`: the first message describes the request; it is not an echo.
    pub hello: bool,
    /// `push_every=`: the server sends messages of its own, so arrivals are not echoes.
    pub pushes: bool,
}

impl Faults {
    /// The parameters in `url`'s query (none if it is not a URL).
    pub fn of_url(url: &str) -> Faults {
        let mut faults = Faults::default();
        if let Ok(url) = Url::new(url) {
            let query = url.search_params();
            for (value, name) in faults.0.iter_mut().zip(NAMES) {
                *value = query.get(name).unwrap_or_default();
            }
        }
        faults
    }

    /// The value of parameter `name` ("" when not set).
    pub fn get(&self, name: &str) -> &str {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map_or("", |at| self.0[at].as_str())
    }

    /// `url` with these parameters in its query instead of the ones it had (other parameters
    /// kept, in their order); `None` if `url` is not a URL.
    pub fn apply(&self, url: &str) -> Option<String> {
        let url = Url::new(url).ok()?;
        let query = url.search_params();
        for (name, value) in NAMES.iter().zip(&self.0) {
            query.delete(name);
            if !value.trim().is_empty() {
                query.append(name, value.trim());
            }
        }
        let search = String::from(query.to_string());
        url.set_search(&search);
        Some(url.href())
    }
}

impl Asked {
    pub fn of_url(url: &str) -> Asked {
        let faults = Faults::of_url(url);
        Asked {
            hello: faults.get("hello") == "request",
            pushes: !faults.get("push_every").is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn parameters_round_trip_through_the_url_and_others_are_kept() {
        let url = "ws://localhost:8080/echo?token=abc&delay=100ms&pongs=off";
        let mut faults = Faults::of_url(url);
        assert_eq!(faults.get("delay"), "100ms");
        assert_eq!(faults.get("pongs"), "off");
        assert_eq!(faults.get("hello"), "");
        faults.0[0] = String::new();
        faults.0[1] = "5".into();
        faults.0[3] = "bye now".into();
        assert_eq!(
            faults.apply(url).as_deref(),
            Some("ws://localhost:8080/echo?token=abc&close_after=5&close_reason=bye+now&pongs=off")
        );
        assert_eq!(
            Faults::default().apply(url).as_deref(),
            Some("ws://localhost:8080/echo?token=abc")
        );
        assert_eq!(Faults::default().apply("not a url"), None);
        let asked = Asked::of_url("ws://h/echo?hello=request&push_every=1s");
        assert!(asked.hello && asked.pushes);
        assert_eq!(Asked::of_url("ws://h/echo"), Asked::default());
    }
}
