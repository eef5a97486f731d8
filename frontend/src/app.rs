//! The page: state in one reducer, the socket in its hook, components to show and drive them;
//! what is remembered across reloads (and a share link's URL and message) decides what the
//! fields start with.

use std::rc::Rc;

use yew::{
    function_component, html, use_memo, use_reducer, use_state, AttrValue, Callback, Html,
    Properties,
};

use crate::{
    browser_io::copy_to_clipboard,
    components::{
        ConnectionPanel, HistoryPanel, MessagePanel, OutputLog, StatsPanel, TickerPanel,
        DEFAULT_MESSAGE,
    },
    echo_url::echo_url_of_page,
    hooks::{use_echo_socket, OpenRequest},
    payload::{parse, Format},
    saved::{self, RecentConnection, RecentMessage, Saved},
    state::{Action, State},
};

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// What the URL field starts with; by default a share link's URL, the last one used, or
    /// the `/echo` of the server that served this page.
    #[prop_or_default]
    pub url: Option<AttrValue>,
}

/// What the fields start with, decided once.
struct Start {
    url: String,
    protocols: String,
    reconnect: Option<u32>,
    message: String,
    format: String,
}

fn starting_fields(props_url: Option<&AttrValue>, saved: &Saved) -> Start {
    let prefill = saved::page_prefill();
    let url = props_url
        .map(|url| url.to_string())
        .or_else(|| prefill.url.clone())
        .or_else(|| saved.url.clone())
        .unwrap_or_else(echo_url_of_page);
    Start {
        // The saved subprotocols belong to the saved URL, not to a shared one.
        protocols: if prefill.url.is_some() {
            String::new()
        } else {
            saved.protocols.clone()
        },
        url,
        reconnect: saved.reconnect,
        // A share link's message, else the last one sent, else the original page's greeting.
        message: prefill
            .message
            .clone()
            .or_else(|| saved.messages.first().map(|m| m.text.clone()))
            .unwrap_or_else(|| DEFAULT_MESSAGE.to_owned()),
        format: match prefill.message {
            Some(_) => prefill.format.unwrap_or_else(|| "text".to_owned()),
            None => saved
                .messages
                .first()
                .map_or_else(|| "text".to_owned(), |m| m.format.clone()),
        },
    }
}

/// The value of the page's field with this id (for the share link).
fn field(id: &str) -> String {
    use wasm_bindgen::JsCast;
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    let Some(element) = element else {
        return String::new();
    };
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        input.value()
    } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.value()
    } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.value()
    } else {
        String::new()
    }
}

#[function_component]
pub fn App(props: &AppProps) -> Html {
    let state = use_reducer(State::default);
    let socket = use_echo_socket(state.dispatcher());
    let saved = use_state(|| Rc::new(saved::load()));
    let start = use_memo((), |()| starting_fields(props.url.as_ref(), &saved));
    let refill = use_state(|| None::<(u64, RecentConnection)>);
    let share_link = use_state(|| None::<String>);
    let note = use_state(|| None::<String>);

    // Changes the saved history and keeps it; a failure to keep it is shown, not fatal.
    let update = {
        let (saved, note) = (saved.clone(), note.clone());
        move |change: &dyn Fn(&mut Saved)| {
            let mut next = (**saved).clone();
            change(&mut next);
            if let Err(problem) = saved::store(&next) {
                note.set(Some(problem));
            }
            saved.set(Rc::new(next));
        }
    };
    let on_open = {
        let (open, update) = (socket.open.clone(), update.clone());
        Callback::from(move |request: OpenRequest| {
            update(&|saved: &mut Saved| {
                saved.opened(
                    &request.url,
                    &request.protocols.join(", "),
                    request.reconnect,
                )
            });
            open.emit(request);
        })
    };
    let on_sent_text = {
        let update = update.clone();
        Callback::from(move |(text, format): (String, String)| {
            update(&|saved: &mut Saved| saved.sent(&text, &format))
        })
    };
    let on_resend = {
        let (send, note, update) = (socket.send.clone(), note.clone(), update.clone());
        Callback::from(move |recent: RecentMessage| {
            match parse(&recent.text, Format::from_name(&recent.format)) {
                Ok(message) => {
                    send.emit(message);
                    update(&|saved: &mut Saved| saved.sent(&recent.text, &recent.format));
                }
                Err(problem) => note.set(Some(problem)),
            }
        })
    };
    let on_reuse = {
        let refill = refill.clone();
        Callback::from(move |recent: RecentConnection| {
            let next = refill.as_ref().map_or(1, |(n, _)| n + 1);
            refill.set(Some((next, recent)));
        })
    };
    let on_share = {
        let (share_link, note) = (share_link.clone(), note.clone());
        Callback::from(move |()| {
            let link = saved::share_link(
                &saved::page_address(),
                &field("url"),
                &field("input"),
                &field("format"),
            );
            share_link.set(Some(link.clone()));
            let note = note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                note.set(Some(match copy_to_clipboard(&link).await {
                    Ok(()) => "Link copied: it opens this page with the URL and message filled in.".into(),
                    Err(_) => "Copy the link below: it opens this page with the URL and message filled in.".into(),
                }));
            });
        })
    };
    let on_forget = {
        let (saved, note, share_link) = (saved.clone(), note.clone(), share_link.clone());
        Callback::from(move |()| {
            saved::forget();
            saved.set(Rc::new(Saved::default()));
            share_link.set(None);
            note.set(Some("History cleared from this browser.".into()));
        })
    };
    let on_clear = {
        let dispatch = state.dispatcher();
        Callback::from(move |()| dispatch.dispatch(Action::Cleared))
    };

    html! {
        <main class="page">
            // The bar across the top and the options panel (grid areas "top" and "options").
            <ConnectionPanel phase={state.phase} protocol={state.protocol.clone()}
                extensions={state.extensions.clone()} default_url={start.url.clone()}
                default_protocols={start.protocols.clone()} default_reconnect={start.reconnect}
                refill={(*refill).clone()} {on_open} on_close={socket.close.clone()} />
            <div class="controls">
                <MessagePanel phase={state.phase} on_send={socket.send.clone()}
                    default_message={start.message.clone()} default_format={start.format.clone()}
                    {on_sent_text} />
                <TickerPanel phase={state.phase} on_send={socket.send.clone()} />
                <HistoryPanel phase={state.phase} saved={(*saved).clone()} {on_reuse} {on_resend}
                    {on_share} {on_forget} share_link={(*share_link).clone()} note={(*note).clone()} />
            </div>
            // The figures above the log, so both are in the first screen.
            <div class="main-column">
                <StatsPanel state={state.clone()} />
                <OutputLog state={state.clone()} {on_clear} />
            </div>
        </main>
    }
}
