//! One WebSocket at a time, driven by gloo-net, reported to the reducer as [`Action`]s.
//!
//! gloo-net's stream has no open event: its sink's `poll_ready` stays pending while the socket
//! is connecting and is woken by the open (or error) event, so OPEN is logged when that wait
//! ends with the socket really open. Closing goes through the `web_sys::WebSocket` kept beside
//! gloo's wrapper, because gloo's `close` consumes the wrapper and with it the close event that
//! carries the code, reason and `wasClean` shown on the CLOSE line.
//!
//! Round trips are timed where they happen, with the page's sub-millisecond clock: a message
//! is stamped as it is handed to the socket (not when it is queued), an echo when its `message`
//! event fires (a listener of our own on the socket), not when gloo's stream or the reducer
//! gets to it, which can be a frame later.

use std::{cell::RefCell, collections::VecDeque, future::poll_fn, rc::Rc};

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::{stream, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use yew::{hook, use_memo, use_mut_ref, Callback, UseReducerDispatcher};

use crate::{
    action_batcher::ActionBatcher,
    backoff,
    browser_io::js_error_text,
    fixture_query::Asked,
    payload::{binary_display, Outgoing},
    state::{Action, DataEvent, State},
};

/// Now, in milliseconds since the epoch, to the microsecond where the browser allows:
/// `performance.timeOrigin + performance.now()` (`Date.now()` has whole milliseconds).
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(js_sys::Date::now, |p| p.time_origin() + p.now())
}

fn failed(text: String) -> Action {
    Action::Failed { at: now(), text }
}

/// The live connection: the raw socket for state and close, a queue into gloo's sink for sends.
struct Connection {
    raw: web_sys::WebSocket,
    outgoing: UnboundedSender<Outgoing>,
}

/// Where Open connects, and the subprotocols it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRequest {
    pub url: String,
    pub protocols: Vec<String>,
    /// Reconnect after an unexpected close, at most this many attempts in a row.
    pub reconnect: Option<u32>,
}

/// What the callbacks and the session task share.
#[derive(Default)]
struct Shared {
    connection: Option<Connection>,
    /// Bumped by every Open and every user Close: a session that is no longer current does not
    /// reconnect.
    session: u64,
    /// A session is waiting before its next attempt (Close cancels it).
    waiting: bool,
}

/// What the page can do with the socket. Each call is a no-op in the wrong state, as on the
/// original page: Open while a socket exists, Send or Close while there is none.
#[derive(Clone, PartialEq)]
pub struct EchoSocket {
    pub open: Callback<OpenRequest>,
    pub send: Callback<Outgoing>,
    /// Close with this code and reason.
    pub close: Callback<(u16, String)>,
}

#[hook]
pub fn use_echo_socket(dispatch: UseReducerDispatcher<State>) -> EchoSocket {
    let shared = use_mut_ref(Shared::default);
    let dispatch = (*use_memo((), move |()| ActionBatcher::new(dispatch))).clone();

    let open = {
        let shared = shared.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |request: OpenRequest| {
            let id = {
                let mut shared = shared.borrow_mut();
                if shared.connection.is_some() {
                    return;
                }
                shared.session += 1;
                shared.waiting = false;
                shared.session
            };
            wasm_bindgen_futures::spawn_local(session(
                request,
                id,
                dispatch.clone(),
                shared.clone(),
            ));
        })
    };

    let send = {
        let shared = shared.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |message: Outgoing| {
            let shared = shared.borrow();
            let Some(open) = shared.connection.as_ref().filter(|c| is_open(&c.raw)) else {
                return;
            };
            // Logged (and timed) by the connection's loop when it hands the message over.
            if open.outgoing.unbounded_send(message).is_err() {
                dispatch.dispatch(failed("the connection is closing; nothing sent".into()));
            }
        })
    };

    let close = Callback::from(move |(code, reason): (u16, String)| {
        let mut shared = shared.borrow_mut();
        if shared.waiting {
            // Between reconnect attempts: Close cancels the next one.
            shared.session += 1;
            shared.waiting = false;
            dispatch.dispatch(Action::Reconnecting {
                at: now(),
                text: "cancelled".into(),
                waiting: false,
            });
            return;
        }
        let Some(live) = shared.connection.as_ref() else {
            return;
        };
        // The browser refuses codes other than 1000 and 3000-4999, and reasons over 123 bytes,
        // with an exception whose message ends up on an ERROR line.
        match live.raw.close_with_code_and_reason(code, &reason) {
            Ok(()) => {
                shared.session += 1; // closed on purpose: never reconnect
                dispatch.dispatch(Action::Closing);
            }
            Err(error) => dispatch.dispatch(failed(js_error_text(&error))),
        }
    });

    EchoSocket { open, send, close }
}

/// One Open: connects, runs the connection, and with `reconnect` set tries again after an
/// unexpected close, with backoff, until it opens again or the limit is reached.
async fn session(
    request: OpenRequest,
    id: u64,
    dispatch: ActionBatcher,
    shared: Rc<RefCell<Shared>>,
) {
    let mut failures = 0u32;
    loop {
        let opened = match connect(&request.url, &request.protocols) {
            Ok((raw, socket, arrivals)) => {
                let (outgoing, queued) = unbounded();
                shared.borrow_mut().connection = Some(Connection {
                    raw: raw.clone(),
                    outgoing,
                });
                dispatch.dispatch(Action::Connecting);
                let opened = run(raw, socket, arrivals, queued, &request.url, &dispatch).await;
                shared.borrow_mut().connection = None;
                opened
            }
            // A URL the browser refuses will not get better by retrying.
            Err(reason) => return dispatch.dispatch(failed(reason)),
        };
        let Some(limit) = request.reconnect else {
            return;
        };
        if shared.borrow().session != id {
            return;
        }
        failures = if opened { 1 } else { failures + 1 };
        if failures > limit {
            let text = format!("gave up after {limit} attempts");
            return dispatch.dispatch(Action::Reconnecting {
                at: now(),
                text,
                waiting: false,
            });
        }
        let wait = backoff::delay_ms(failures, js_sys::Math::random());
        let text = format!("in {:.1} s (attempt {failures} of {limit})", wait / 1000.0);
        dispatch.dispatch(Action::Reconnecting {
            at: now(),
            text,
            waiting: true,
        });
        shared.borrow_mut().waiting = true;
        gloo_timers::future::sleep(std::time::Duration::from_millis(wait as u64)).await;
        {
            let mut shared = shared.borrow_mut();
            if shared.session != id {
                return;
            }
            shared.waiting = false;
        }
    }
}

/// Creates the socket; an invalid URL or subprotocol fails here, synchronously, with the
/// browser's message.
fn connect(
    url: &str,
    protocols: &[String],
) -> Result<(web_sys::WebSocket, WebSocket, ArrivalClock), String> {
    let raw = if protocols.is_empty() {
        web_sys::WebSocket::new(url)
    } else {
        let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
        web_sys::WebSocket::new_with_str_sequence(url, &list)
    }
    .map_err(|error| js_error_text(&error))?;
    let arrivals = ArrivalClock::attach(&raw);
    let socket = WebSocket::try_from(raw.clone()).map_err(|error| error.to_string())?;
    Ok((raw, socket, arrivals))
}

fn is_open(raw: &web_sys::WebSocket) -> bool {
    raw.ready_state() == web_sys::WebSocket::OPEN
}

/// Sends in a row before the loop lets the browser draw a frame: Send × 10,000 would otherwise
/// hold the page for the whole burst.
const SENDS_PER_SLICE: usize = 256;

/// A send this long after the previous one is not part of a burst (Send × N).
const BURST_GAP_MS: f64 = 5.0;

/// Frames a lone send waits for (about 33 ms at 60 Hz). Measured with e2e/rtt.test.mjs against
/// a plain WebSocket in the same page: sent at once, the page's round trips read 5.2 ms against
/// the probe's 2.3 (the click's render and paint delayed the echo's event); after one paint,
/// 0.3 ms above the probe; after two, the same as the probe (a click's focus and :active styles
/// paint a second frame).
const PAINTS_BEFORE_A_LONE_SEND: usize = 2;

enum Input {
    Socket(Result<Message, WebSocketError>),
    Send(Outgoing),
}

/// Runs one connection from connecting to its close event; true if it opened.
async fn run(
    raw: web_sys::WebSocket,
    mut socket: WebSocket,
    arrivals: ArrivalClock,
    queued: UnboundedReceiver<Outgoing>,
    url: &str,
    dispatch: &ActionBatcher,
) -> bool {
    // On the whole socket, before splitting: a SplitSink is ready at once and would not wait.
    let opened = poll_fn(|cx| socket.poll_ready_unpin(cx)).await.is_ok() && is_open(&raw);
    if opened {
        dispatch.dispatch(Action::Opened {
            at: now(),
            protocol: raw.protocol(),
            extensions: raw.extensions(),
            asked: Asked::of_url(url),
        });
    }
    let (mut sink, incoming) = socket.split();

    let mut inputs = stream::select(incoming.map(Input::Socket), queued.map(Input::Send));
    let mut sends_in_slice = 0;
    let mut last_send_at = f64::NEG_INFINITY;
    while let Some(input) = inputs.next().await {
        match input {
            Input::Socket(Ok(message)) => {
                let at = arrivals.next().unwrap_or_else(now);
                dispatch.dispatch(Action::Received(received(message, at)));
            }
            Input::Socket(Err(WebSocketError::ConnectionError)) => {
                // Error events carry no detail (the original printed "ERROR: undefined"); the
                // close event that follows has the code.
                dispatch.dispatch(failed(format!(
                    "the connection to {url} failed; is the echo server running?"
                )))
            }
            Input::Socket(Err(WebSocketError::ConnectionClose(event))) => {
                dispatch.dispatch(Action::Closed {
                    at: now(),
                    code: event.code,
                    reason: event.reason,
                    was_clean: event.was_clean,
                });
                break;
            }
            Input::Socket(Err(error)) => dispatch.dispatch(failed(error.to_string())),
            Input::Send(outgoing) => {
                let mut event = DataEvent {
                    at: 0.0,
                    display: outgoing.display(),
                    binary: matches!(outgoing, Outgoing::Binary(_)),
                    size: outgoing.size(),
                };
                let message = match outgoing {
                    Outgoing::Text(text) => Message::Text(text),
                    Outgoing::Binary(bytes) => Message::Bytes(bytes),
                };
                if now() - last_send_at > BURST_GAP_MS {
                    // A send on its own (a click, a tick): sent once the paints the click caused
                    // are done, so the thread is free when the echo's event fires.
                    for _ in 0..PAINTS_BEFORE_A_LONE_SEND {
                        after_next_paint().await;
                    }
                }
                // gloo's sink is ready at once and hands the message to the socket in the same
                // call: this is the moment it leaves.
                event.at = now();
                last_send_at = event.at;
                match sink.send(message).await {
                    Ok(()) => dispatch.dispatch(Action::Sent(event)),
                    Err(error) => dispatch.dispatch(failed(format!("could not send: {error}"))),
                }
                sends_in_slice += 1;
                if sends_in_slice == SENDS_PER_SLICE {
                    sends_in_slice = 0;
                    gloo_timers::future::TimeoutFuture::new(0).await;
                }
            }
        }
    }
    arrivals.detach(&raw);
    opened
}

/// Resolves just after the browser's next paint: in a task queued from the frame's
/// requestAnimationFrame callback, which runs before that frame's style, layout and paint.
async fn after_next_paint() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window_for_timeout = window.clone();
        let on_frame = Closure::once_into_js(move || {
            let _ = window_for_timeout
                .set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), 0);
        });
        if window
            .request_animation_frame(on_frame.unchecked_ref())
            .is_err()
        {
            let _ = window.set_timeout_with_callback(on_frame.unchecked_ref());
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// When each message event of a socket fired, oldest first (the stream yields the messages in
/// the same order). Its listener must be on the socket before gloo's: the browser runs queued
/// futures between two listeners of one event, so a listener added after gloo's would fire only
/// once the page had already taken the message.
struct ArrivalClock {
    times: Rc<RefCell<VecDeque<f64>>>,
    listener: Closure<dyn FnMut()>,
}

impl ArrivalClock {
    fn attach(raw: &web_sys::WebSocket) -> ArrivalClock {
        let times = Rc::new(RefCell::new(VecDeque::new()));
        let listener = {
            let times = times.clone();
            Closure::<dyn FnMut()>::new(move || times.borrow_mut().push_back(now()))
        };
        let _ = raw.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        ArrivalClock { times, listener }
    }

    /// When the oldest message not yet taken arrived.
    fn next(&self) -> Option<f64> {
        self.times.borrow_mut().pop_front()
    }

    fn detach(self, raw: &web_sys::WebSocket) {
        let _ = raw
            .remove_event_listener_with_callback("message", self.listener.as_ref().unchecked_ref());
    }
}

/// A message that arrived at `at`, as the log shows it: text as is, binary as its size and hex
/// bytes.
fn received(message: Message, at: f64) -> DataEvent {
    match message {
        Message::Text(text) => DataEvent {
            at,
            size: text.len(),
            display: text,
            binary: false,
        },
        Message::Bytes(bytes) => DataEvent {
            at,
            size: bytes.len(),
            display: binary_display(&bytes),
            binary: true,
        },
    }
}
