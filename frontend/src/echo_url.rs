//! Where the page's WebSocket goes: the `/echo` endpoint of the server that served the page,
//! `wss://` when the page came over https (the original hard-coded `ws://`).

/// The echo URL for a page loaded with this `location.protocol` and `location.host`.
pub fn echo_url_for(protocol: &str, host: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/echo")
}

/// The echo URL for the current page; `ws://localhost:8080/echo` if the page has no location.
pub fn echo_url_of_page() -> String {
    web_sys::window()
        .map(|window| window.location())
        .and_then(|location| Some((location.protocol().ok()?, location.host().ok()?)))
        .map(|(protocol, host)| echo_url_for(&protocol, &host))
        .unwrap_or_else(|| "ws://localhost:8080/echo".to_owned())
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn follows_the_page_scheme_and_host() {
        assert_eq!(
            echo_url_for("http:", "localhost:8080"),
            "ws://localhost:8080/echo"
        );
        assert_eq!(
            echo_url_for("https:", "echo.example.org"),
            "wss://echo.example.org/echo"
        );
        assert_eq!(echo_url_for("http:", "[::1]:9000"), "ws://[::1]:9000/echo");
    }
}
