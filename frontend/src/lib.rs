//! The browser tester: a Yew page that opens a WebSocket to the echo server, sends what you
//! type and logs every event, like the original gorilla/websocket echo page.
//!
//! `main.rs` mounts [`app::App`] on the page; tests mount it on their own element.

pub mod action_batcher;
pub mod app;
pub mod backoff;
pub mod browser_io;
pub mod components;
pub mod echo_url;
pub mod fixture_query;
pub mod hooks;
pub mod log_view;
pub mod payload;
pub mod request_seen;
pub mod rtt_series;
pub mod rtt_stats;
pub mod saved;
pub mod state;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
