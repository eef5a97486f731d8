//! The bar across the top of the page: the brand, the URL with Open and Close, the state as a
//! pill with what the server agreed, and the problem Open or Close found in the fields (shown
//! here, next to the buttons: on a phone the options panel is off screen).

use yew::{function_component, html, Callback, Html, KeyboardEvent, NodeRef, Properties};

use crate::{
    components::icon::{Icon, IconName},
    state::Phase,
};

#[derive(Properties, PartialEq)]
pub struct ConnectionBarProps {
    pub phase: Phase,
    /// The subprotocol the server agreed to, shown while open.
    pub protocol: String,
    /// The extensions the browser and server agreed, shown while open.
    pub extensions: String,
    /// The URL field (its value is read on Open by the connection form).
    pub url: NodeRef,
    pub on_open: Callback<()>,
    pub on_close: Callback<()>,
    /// Why the last Open or Close did nothing.
    pub problem: Option<String>,
    /// The server instance that answered, when it said (`hello=request`).
    #[prop_or_default]
    pub served_by: Option<String>,
}

/// Enter in a field opens, as in an address bar.
pub fn open_on_enter(on_open: &Callback<()>) -> Callback<KeyboardEvent> {
    let on_open = on_open.clone();
    Callback::from(move |event: KeyboardEvent| {
        if event.key() == "Enter" {
            event.prevent_default();
            on_open.emit(());
        }
    })
}

#[function_component]
pub fn ConnectionBar(props: &ConnectionBarProps) -> Html {
    let phase = props.phase;
    let name = phase_name(phase);
    let extensions = if props.extensions.is_empty() {
        "none agreed"
    } else {
        &props.extensions
    };
    html! {
        <header class="topbar">
            <h1 class="brand"><Icon name={IconName::Logo} /><span>{"WebSocket echo"}</span></h1>
            <div class="address">
                <label for="url" class="visually-hidden">{"URL"}</label>
                <input id="url" type="url" ref={props.url.clone()} disabled={phase != Phase::Closed}
                    placeholder="ws://host:port/echo" spellcheck="false"
                    onkeydown={open_on_enter(&props.on_open)} />
                <button id="open" type="button" class="primary" disabled={phase != Phase::Closed}
                    onclick={props.on_open.reform(|_| ())}>
                    <Icon name={IconName::Open} />{"Open"}
                </button>
                <button id="close" type="button"
                    disabled={!matches!(phase, Phase::Connecting | Phase::Open)}
                    onclick={props.on_close.reform(|_| ())}>
                    <Icon name={IconName::Close} />{"Close"}
                </button>
            </div>
            <p class="state" role="status">
                <span class="visually-hidden">{"Connection: "}</span>
                <span id="phase" class={format!("pill phase-{name}")}>{name}</span>
                if phase == Phase::Open && !props.protocol.is_empty() {
                    <span class="chip" title={format!("The subprotocol the server agreed to: {}", props.protocol)}>
                        {"subprotocol "}<b id="protocol">{props.protocol.clone()}</b>
                    </span>
                }
                if phase == Phase::Open {
                    <span class="chip" title={format!("The extensions the browser and the server agreed: {extensions}")}>
                        {"compression "}<b id="extensions">{extensions.to_owned()}</b>
                    </span>
                }
                if let Some(instance) = props.served_by.clone() {
                    <span class="chip" title={format!("The server instance that answered: {instance}")}>
                        {"served by "}<b id="served-by">{instance}</b>
                    </span>
                }
            </p>
            if let Some(problem) = props.problem.clone() {
                <p id="close-error" class="error" role="alert">{problem}</p>
            }
        </header>
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Closed => "closed",
        Phase::Connecting => "connecting",
        Phase::Open => "open",
        Phase::Closing => "closing",
    }
}
