//! Entry point of the wasm bundle that trunk builds: mounts the app on `<body>`.
//!
//! ```text
//! trunk serve            # dev loop on http://127.0.0.1:8081, /echo proxied to the backend
//! trunk build --release  # the bundle in dist/, served by `cargo run -p backend`
//! ```

fn main() {
    yew::Renderer::<frontend::app::App>::new().render();
}
