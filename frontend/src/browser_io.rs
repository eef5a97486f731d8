//! The browser's side of things that can fail: the clipboard and a downloaded file (each
//! failure comes back as a sentence for the log's status line), and the text of a JS exception.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The message of a JS exception (e.g. the SyntaxError for a bad URL), or its debug text.
pub fn js_error_text(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Puts `text` on the clipboard. Browsers allow it on pages served over https or from
/// localhost, in answer to a click.
pub async fn copy_to_clipboard(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    JsFuture::from(window.navigator().clipboard().write_text(text))
        .await
        .map(drop)
        .map_err(|error| {
            format!(
                "could not copy to the clipboard ({}); select the log's text and copy it by hand, or use Export",
                js_error_text(&error)
            )
        })
}

/// Offers `text` as a file named `name` for the browser to save.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let failed = |error: JsValue| format!("could not export the log: {}", js_error_text(&error));
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(failed)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)?;
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or("could not export the log: no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(failed)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The browser reads the blob after this task; free it once the download surely started.
    gloo_timers::callback::Timeout::new(REVOKE_AFTER_MS, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

/// How long an exported file's blob URL lives.
const REVOKE_AFTER_MS: u32 = 60_000;
