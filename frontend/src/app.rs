//! The page: state in one reducer, the socket in its hook, components to show and drive them;
//! what is remembered across reloads (and a share link's URL and message) decides what the
//! fields start with.

use std::rc::Rc;

use yew::{function_component, html, use_memo, use_reducer, AttrValue, Callback, Html, Properties};

use crate::{
    components::{
        ConnectionBar, ConnectionOptions, HistoryPanel, MessagePanel, OutputLog, RequestPanel,
        ServerBehaviour, StatsPanel, TickerPanel, DEFAULT_MESSAGE,
    },
    echo_url::echo_url_of_page,
    hooks::{use_connection_form, use_echo_socket, use_history, FormStart},
    request_seen::RequestSeen,
    saved::{self, Saved},
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
    connection: FormStart,
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
        connection: FormStart {
            // The saved subprotocols belong to the saved URL, not to a shared one.
            protocols: if prefill.url.is_some() {
                String::new()
            } else {
                saved.protocols.clone()
            },
            url,
            reconnect: saved.reconnect,
        },
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

#[function_component]
pub fn App(props: &AppProps) -> Html {
    let state = use_reducer(State::default);
    let socket = use_echo_socket(state.dispatcher());
    let history = use_history(&socket);
    let start = use_memo((), |()| starting_fields(props.url.as_ref(), &history.saved));
    let form = use_connection_form(
        &start.connection,
        history.refill.clone(),
        history.open.clone(),
        socket.close.clone(),
    );
    // The request as the server saw it, read once per hello.
    let seen = use_memo(state.hello.clone(), |hello| {
        hello.as_deref().and_then(RequestSeen::parse).map(Rc::new)
    });
    let on_clear = {
        let dispatch = state.dispatcher();
        Callback::from(move |()| dispatch.dispatch(Action::Cleared))
    };

    html! {
        <main class="page">
            // The bar across the top and the options panel (grid areas "top" and "options").
            <ConnectionBar phase={state.phase} protocol={state.protocol.clone()}
                extensions={state.extensions.clone()} url={form.fields.url.clone()}
                on_open={form.open.clone()} on_close={form.close} problem={form.problem}
                served_by={seen.as_ref().as_ref().map(|seen| seen.instance.clone())} />
            <ConnectionOptions phase={state.phase} fields={form.fields.clone()} on_open={form.open} />
            <div class="controls">
                <MessagePanel phase={state.phase} on_send={socket.send.clone()}
                    default_message={start.message.clone()} default_format={start.format.clone()}
                    on_sent_text={history.sent_text} />
                <TickerPanel phase={state.phase} on_send={socket.send.clone()} />
                <HistoryPanel phase={state.phase} saved={history.saved} on_reuse={history.reuse}
                    on_resend={history.resend} on_share={history.share} on_forget={history.forget}
                    share_link={history.share_link} note={history.note} />
                <ServerBehaviour phase={state.phase} url={form.fields.url.clone()}
                    initial_url={start.connection.url.clone()} refill={history.refill} />
                if let Some(seen) = (*seen).clone() {
                    <RequestPanel {seen} />
                }
            </div>
            // The figures above the log, so both are in the first screen.
            <div class="main-column">
                <StatsPanel state={state.clone()} />
                <OutputLog state={state.clone()} {on_clear} />
            </div>
        </main>
    }
}
