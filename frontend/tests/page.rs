//! The page in a real browser (wasm-pack test --headless --chrome), against a real backend
//! whose echo URL the test script passes in at build time as `ECHO_TEST_URL`.

use std::time::Duration;

use frontend::app::{App, AppProps};
use gloo_timers::future::sleep;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    Element, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement,
};

wasm_bindgen_test_configure!(run_in_browser);

/// The backend the test script started; scripts/test.sh sets it.
const ECHO_URL: &str = match option_env!("ECHO_TEST_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:8080/echo",
};

/// How long a test waits for the log to show a line before failing.
const WAIT: Duration = Duration::from_secs(10);

/// Mounts the app on a fresh element of the test page, connecting to `url`, and lets it render.
/// What an earlier test left in localStorage (its format, its reconnect option) is forgotten
/// first: each test starts as a first visit.
async fn mount(url: &str) -> Element {
    frontend::saved::forget();
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let root = document.create_element("div").expect("create div");
    document
        .body()
        .expect("a body")
        .append_child(&root)
        .expect("append");
    yew::Renderer::<App>::with_root_and_props(
        root.clone(),
        AppProps {
            url: Some(url.to_owned().into()),
        },
    )
    .render();
    settle().await;
    root
}

fn find<T: JsCast>(root: &Element, selector: &str) -> T {
    root.query_selector(selector)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no {selector} on the page"))
        .dyn_into::<T>()
        .unwrap_or_else(|_| panic!("{selector} has the wrong element type"))
}

fn click(root: &Element, id: &str) {
    find::<HtmlButtonElement>(root, id).click();
}

fn log(root: &Element) -> Vec<String> {
    let lines = root
        .query_selector_all("#output .line .text")
        .expect("query lines");
    (0..lines.length())
        .filter_map(|i| lines.item(i))
        .filter_map(|node| node.text_content())
        .collect()
}

/// Waits until the log has `line`, then returns the whole log.
async fn wait_for_line(root: &Element, line: &str) -> Vec<String> {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        let lines = log(root);
        if lines.iter().any(|l| l == line) {
            return lines;
        }
        assert!(
            waited < WAIT,
            "no line {line:?} after {WAIT:?}; the log is {lines:?}"
        );
        sleep(step).await;
        waited += step;
    }
}

/// Lets the browser run pending events and Yew render.
async fn settle() {
    sleep(Duration::from_millis(100)).await;
}

#[wasm_bindgen_test]
async fn open_send_close_against_the_backend() {
    let root = mount(ECHO_URL).await;
    assert_eq!(
        find::<HtmlTextAreaElement>(&root, "#input").value(),
        "Hello world!"
    );

    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: Hello world!").await;

    find::<HtmlTextAreaElement>(&root, "#input").set_value("second ✓");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: second ✓").await;

    click(&root, "#close");
    let lines = wait_for_line(&root, "CLOSE (code 1000)").await;
    assert_eq!(
        lines,
        [
            "OPEN",
            "SEND: Hello world!",
            "RESPONSE: Hello world!",
            "SEND: second ✓",
            "RESPONSE: second ✓",
            "CLOSE (code 1000)"
        ]
    );
}

#[wasm_bindgen_test]
async fn buttons_do_nothing_in_the_wrong_state() {
    let root = mount(ECHO_URL).await;
    // Closed: Send and Close are disabled and a click changes nothing.
    assert!(find::<HtmlButtonElement>(&root, "#send").disabled());
    assert!(find::<HtmlButtonElement>(&root, "#close").disabled());
    click(&root, "#send");
    click(&root, "#close");
    settle().await;
    assert!(log(&root).is_empty(), "nothing logged: {:?}", log(&root));

    // Open: a second Open does nothing, so there is exactly one OPEN.
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    assert!(find::<HtmlButtonElement>(&root, "#open").disabled());
    click(&root, "#open");
    settle().await;
    assert_eq!(log(&root), ["OPEN"]);

    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
    // Closed again: Open works again.
    assert!(!find::<HtmlButtonElement>(&root, "#open").disabled());
}

#[wasm_bindgen_test]
async fn enter_in_the_input_sends() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    let input = find::<HtmlTextAreaElement>(&root, "#input");
    input.set_value("by keyboard");
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_bubbles(true);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init)
        .expect("keyboard event");
    input.dispatch_event(&event).expect("dispatch");
    wait_for_line(&root, "RESPONSE: by keyboard").await;
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn markup_is_shown_as_text() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    let payload = "<img src=x onerror=alert(1)><b>bold</b>";
    find::<HtmlTextAreaElement>(&root, "#input").set_value(payload);
    click(&root, "#send");
    wait_for_line(&root, &format!("RESPONSE: {payload}")).await;
    let output = find::<HtmlElement>(&root, "#output");
    assert!(
        output.query_selector("img").expect("query").is_none(),
        "no <img> created"
    );
    assert!(
        output.query_selector("b").expect("query").is_none(),
        "no <b> created"
    );
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn a_refused_connection_logs_an_error_and_the_close_code() {
    // Port 9 (discard) on loopback: nothing listens there in the test machine.
    let root = mount("ws://127.0.0.1:9/echo").await;
    click(&root, "#open");
    let lines = wait_for_line(&root, "CLOSE (code 1006, not clean)").await;
    assert_eq!(
        lines,
        [
            "ERROR: the connection to ws://127.0.0.1:9/echo failed; is the echo server running?",
            "CLOSE (code 1006, not clean)"
        ]
    );
    // The failed socket is gone: Open can be clicked again.
    assert!(!find::<HtmlButtonElement>(&root, "#open").disabled());
}

#[wasm_bindgen_test]
async fn an_invalid_url_logs_the_browser_error() {
    // The WebSocket constructor throws a SyntaxError for a scheme other than ws/wss/http/https.
    let root = mount("ftp://127.0.0.1/echo").await;
    click(&root, "#open");
    settle().await;
    let lines = log(&root);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("ERROR: "), "{lines:?}");
    assert!(
        lines[0].contains("scheme"),
        "the browser says what is wrong: {lines:?}"
    );
    assert!(!find::<HtmlButtonElement>(&root, "#open").disabled());
}

/// Types `text` into the message box as `format` (text, hex, base64).
fn compose(root: &Element, text: &str, format: &str) {
    find::<HtmlTextAreaElement>(root, "#input").set_value(text);
    find::<HtmlSelectElement>(root, "#format").set_value(format);
}

fn press_enter(root: &Element, shift: bool) -> bool {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
    find::<HtmlTextAreaElement>(root, "#input")
        .dispatch_event(&event)
        .expect("dispatch")
}

#[wasm_bindgen_test]
async fn binary_as_hex_and_base64_round_trips_and_shows_as_hex() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    compose(&root, "00 01 fe ff", "hex");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: <binary, 4 bytes> 00 01 fe ff").await;
    compose(&root, "aGk=", "base64");
    find::<HtmlInputElement>(&root, "#close-code").set_value("4321");
    click(&root, "#send");
    let lines = wait_for_line(&root, "RESPONSE: <binary, 2 bytes> 68 69").await;
    // What was typed survives the page re-rendering for the new log lines.
    assert_eq!(find::<HtmlTextAreaElement>(&root, "#input").value(), "aGk=");
    assert_eq!(
        find::<HtmlSelectElement>(&root, "#format").value(),
        "base64"
    );
    assert_eq!(
        find::<HtmlInputElement>(&root, "#close-code").value(),
        "4321"
    );
    find::<HtmlInputElement>(&root, "#close-code").set_value("1000");
    assert!(
        lines.contains(&"SEND: <binary, 4 bytes> 00 01 fe ff".to_owned()),
        "{lines:?}"
    );
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn bad_hex_is_explained_inline_and_nothing_is_sent() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    compose(&root, "00 zz", "hex");
    click(&root, "#send");
    settle().await;
    let error = find::<HtmlElement>(&root, "#input-error")
        .text_content()
        .unwrap_or_default();
    assert!(error.contains("“z” is not a hex digit"), "{error}");
    assert_eq!(log(&root), ["OPEN"], "nothing sent");
    compose(&root, "0a", "hex");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: <binary, 1 bytes> 0a").await;
    assert!(
        root.query_selector("#input-error")
            .expect("query")
            .is_none(),
        "the error went away"
    );
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn close_with_a_chosen_code_and_reason() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    find::<HtmlInputElement>(&root, "#close-code").set_value("4000");
    find::<HtmlInputElement>(&root, "#close-reason").set_value("done testing");
    click(&root, "#close");
    // The backend echoes the code and the reason.
    let lines = wait_for_line(&root, "CLOSE (code 4000, reason: done testing)").await;
    assert_eq!(lines, ["OPEN", "CLOSE (code 4000, reason: done testing)"]);
}

#[wasm_bindgen_test]
async fn a_close_code_the_browser_refuses_is_an_error_and_the_socket_stays_open() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    find::<HtmlInputElement>(&root, "#close-code").set_value("1005");
    click(&root, "#close");
    settle().await;
    let lines = log(&root);
    assert!(
        lines.len() == 2 && lines[1].starts_with("ERROR: "),
        "{lines:?}"
    );
    assert_eq!(
        find::<HtmlElement>(&root, "#phase")
            .text_content()
            .as_deref(),
        Some("open")
    );
    find::<HtmlInputElement>(&root, "#close-code").set_value("1000");
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn shift_enter_adds_a_line_and_clear_empties_the_log() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    compose(&root, "two\nlines", "text");
    assert!(
        press_enter(&root, true),
        "Shift+Enter is left to the text box (not cancelled)"
    );
    settle().await;
    assert_eq!(log(&root), ["OPEN"], "Shift+Enter does not send");
    assert!(!press_enter(&root, false), "Enter is taken over");
    wait_for_line(&root, "RESPONSE: two\nlines").await;
    click(&root, "#clear");
    settle().await;
    assert!(log(&root).is_empty(), "{:?}", log(&root));
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn the_url_field_decides_where_open_connects() {
    let root = mount("ws://127.0.0.1:9/echo").await;
    find::<HtmlInputElement>(&root, "#url").set_value(ECHO_URL);
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    assert!(
        find::<HtmlInputElement>(&root, "#url").disabled(),
        "fixed while connected"
    );
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

#[wasm_bindgen_test]
async fn echoes_show_their_round_trip_and_the_stats_add_up() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    compose(&root, "12345", "text");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: 12345").await;
    compose(&root, "00 ff", "hex");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: <binary, 2 bytes> 00 ff").await;
    settle().await;

    let rtts = root
        .query_selector_all("#output .line .rtt")
        .expect("query");
    assert_eq!(rtts.length(), 2, "one round trip per echo");
    let metas: Vec<String> = {
        let nodes = root
            .query_selector_all("#output .line .meta")
            .expect("query");
        (0..nodes.length())
            .filter_map(|i| nodes.item(i))
            .filter_map(|n| n.text_content())
            .collect()
    };
    assert!(metas[1].ends_with("↑ text 5 B"), "{metas:?}");
    assert!(metas[4].ends_with("↓ binary 2 B"), "{metas:?}");
    let text = |id: &str| {
        find::<HtmlElement>(&root, id)
            .text_content()
            .unwrap_or_default()
    };
    // The figures follow at most four times a second (and within a second after the last echo).
    let started = js_sys::Date::now();
    while text("#stat-received") != "2 msgs, 7 B"
        && js_sys::Date::now() - started < WAIT.as_millis() as f64
    {
        settle().await;
    }
    assert_eq!(text("#stat-sent"), "2 msgs, 7 B");
    assert_eq!(text("#stat-received"), "2 msgs, 7 B");
    assert!(text("#stat-rtt").ends_with(" ms"), "{}", text("#stat-rtt"));
    assert!(
        text("#stat-uptime").starts_with("0:00:0"),
        "{}",
        text("#stat-uptime")
    );
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
    assert_eq!(text("#stat-uptime"), "–", "no uptime once closed");
}

#[wasm_bindgen_test]
async fn the_ticker_sends_the_time_until_stopped() {
    let root = mount(ECHO_URL).await;
    assert!(
        find::<HtmlButtonElement>(&root, "#ticker-start").disabled(),
        "needs an open connection"
    );
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    find::<HtmlInputElement>(&root, "#ticker-ms").set_value("5");
    click(&root, "#ticker-start");
    settle().await;
    let error = find::<HtmlElement>(&root, "#ticker-error")
        .text_content()
        .unwrap_or_default();
    assert!(error.contains("at least 10"), "{error}");

    find::<HtmlInputElement>(&root, "#ticker-ms").set_value("50");
    click(&root, "#ticker-start");
    sleep(Duration::from_millis(400)).await;
    click(&root, "#ticker-stop");
    settle().await;
    let responses = log(&root)
        .iter()
        .filter(|l| l.starts_with("RESPONSE: 20"))
        .count();
    assert!(responses >= 3, "several ticks echoed: {:?}", log(&root));
    let settled = log(&root).len();
    sleep(Duration::from_millis(300)).await;
    assert_eq!(log(&root).len(), settled, "nothing more after Stop");
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
}

fn enable_reconnect(root: &Element, attempts: &str) {
    find::<HtmlInputElement>(root, "#reconnect").set_checked(true);
    find::<HtmlInputElement>(root, "#reconnect-limit").set_value(attempts);
}

#[wasm_bindgen_test]
async fn reconnect_backs_off_and_gives_up_at_the_limit() {
    let root = mount("ws://127.0.0.1:9/echo").await;
    enable_reconnect(&root, "2");
    click(&root, "#open");
    let lines = wait_for_line(&root, "RECONNECT: gave up after 2 attempts").await;
    let attempts: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("RECONNECT: in "))
        .collect();
    assert_eq!(attempts.len(), 2, "{lines:?}");
    assert!(attempts[0].ends_with("(attempt 1 of 2)") && attempts[1].ends_with("(attempt 2 of 2)"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("CLOSE (code 1006"))
            .count(),
        3,
        "{lines:?}"
    );
    assert!(
        !find::<HtmlButtonElement>(&root, "#open").disabled(),
        "Open works again"
    );
}

#[wasm_bindgen_test]
async fn close_cancels_a_pending_reconnect() {
    let root = mount("ws://127.0.0.1:9/echo").await;
    enable_reconnect(&root, "5");
    click(&root, "#open");
    let waiting = |lines: &[String]| lines.iter().any(|l| l.starts_with("RECONNECT: in "));
    for _ in 0..250 {
        if waiting(&log(&root)) {
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !find::<HtmlButtonElement>(&root, "#close").disabled(),
        "Close is there while waiting"
    );
    click(&root, "#close");
    let lines = wait_for_line(&root, "RECONNECT: cancelled").await;
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(log(&root), lines, "no further attempt after Close");
    assert_eq!(
        find::<HtmlElement>(&root, "#phase")
            .text_content()
            .as_deref(),
        Some("closed")
    );
}

#[wasm_bindgen_test]
async fn a_user_close_never_reconnects() {
    let root = mount(ECHO_URL).await;
    enable_reconnect(&root, "5");
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    click(&root, "#close");
    wait_for_line(&root, "CLOSE (code 1000)").await;
    sleep(Duration::from_millis(1200)).await;
    assert!(
        !log(&root).iter().any(|l| l.starts_with("RECONNECT")),
        "{:?}",
        log(&root)
    );
}

/// Sets a field's value and tells Yew, as typing or choosing would.
fn change(root: &Element, selector: &str, value: &str, event: &str) {
    let field = find::<HtmlElement>(root, selector);
    if let Some(select) = field.dyn_ref::<HtmlSelectElement>() {
        select.set_value(value);
    } else if let Some(input) = field.dyn_ref::<HtmlInputElement>() {
        input.set_value(value);
    }
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(event, &init).expect("an event");
    field.dispatch_event(&event).expect("dispatched");
}

#[wasm_bindgen_test]
async fn send_many_times_then_filter_and_search_the_log() {
    let root = mount(ECHO_URL).await;
    click(&root, "#open");
    wait_for_line(&root, "OPEN").await;
    compose(&root, "{\"n\":1}", "text");
    find::<HtmlInputElement>(&root, "#repeat").set_value("3");
    click(&root, "#send");
    compose(&root, "other", "text");
    find::<HtmlInputElement>(&root, "#repeat").set_value("1");
    click(&root, "#send");
    wait_for_line(&root, "RESPONSE: other").await;
    let pretty = "{\n  \"n\": 1\n}";
    assert_eq!(
        log(&root)
            .iter()
            .filter(|l| **l == format!("RESPONSE: {pretty}"))
            .count(),
        3,
        "three echoes, pretty-printed: {:?}",
        log(&root)
    );

    change(&root, "#log-filter", "received", "change");
    settle().await;
    assert_eq!(log(&root).len(), 4, "{:?}", log(&root));
    assert!(log(&root).iter().all(|l| l.starts_with("RESPONSE: ")));
    change(&root, "#log-search", "OTHER", "input");
    settle().await;
    assert_eq!(log(&root), ["RESPONSE: other"]);
    change(&root, "#log-filter", "events", "change");
    settle().await;
    assert!(log(&root).is_empty());
    assert_eq!(
        find::<HtmlElement>(&root, "#log-notice")
            .text_content()
            .as_deref(),
        Some("No entries match.")
    );

    find::<HtmlInputElement>(&root, "#repeat").set_value("10001");
    click(&root, "#send");
    settle().await;
    let error = find::<HtmlElement>(&root, "#input-error").text_content();
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("from 1 to 10000")),
        "{error:?}"
    );
    click(&root, "#close");
    settle().await;
}
