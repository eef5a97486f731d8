//! `/`: the frontend bundle built by trunk, or, when it has not been built, a page saying how.

use std::path::Path;

use actix_files::Files;
use actix_web::{http::StatusCode, middleware::DefaultHeaders, web, HttpResponse};

/// True when `dist` holds a built bundle (trunk writes index.html last).
pub fn is_built(dist: &Path) -> bool {
    dist.join("index.html").is_file()
}

/// Static files from `dist`, `index.html` at `/`; hashed asset names make caching safe.
pub fn files(dist: &Path) -> Files {
    Files::new("/", dist).index_file("index.html")
}

/// Headers that make the page cross-origin isolated: the browser then times with 5 µs
/// resolution instead of 100 µs, so the round trips the page shows to 0.01 ms are true to
/// that. The page loads nothing from other origins, so requiring CORP costs it nothing.
pub fn cross_origin_isolation() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Embedder-Policy", "require-corp"))
}

/// Answers every request that reaches it with [`missing_bundle_page`].
pub fn missing_bundle_route() -> actix_web::Route {
    web::to(|| async { missing_bundle_page() })
}

/// 503 with a page that says what is missing and the commands that build it. It names no
/// server path (the log at start-up does): a visitor learns nothing of the server's disk.
pub fn missing_bundle_page() -> HttpResponse {
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
        .content_type("text/html; charset=utf-8")
        .body(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Frontend not built</title></head>
<body>
<h1>The tester page has not been built</h1>
<p>The backend found no <code>index.html</code> in the folder it serves (<code>--dist</code>;
by default the workspace's <code>dist/</code>).</p>
<p>Build it from the workspace root, then restart the backend:</p>
<pre>bash scripts/run.sh            # installs what is missing, builds, runs
# or, with trunk installed:
trunk build --release</pre>
<p>or start the backend with <code>--dist DIR</code> pointing at a built bundle.</p>
<p>The WebSocket echo on <code>/echo</code> works meanwhile.</p>
</body></html>
"#,
        )
}
