//! The browser tester: a Yew page that opens a WebSocket to the echo server, sends what you
//! type and logs every event, like the original gorilla/websocket echo page.
//!
//! `main.rs` mounts [`app::App`] on the page; tests mount it on their own element.

pub mod app;
pub mod backoff;
pub mod components;
pub mod echo_url;
pub mod hooks;
pub mod payload;
pub mod state;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
