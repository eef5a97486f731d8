//! The bar across the top of the page: the brand, the URL with Open and Close, the state as a
//! pill with what the server agreed, and the errors Open and Close raise (next to the buttons
//! that raise them: on a phone the options are off screen). Drawn by
//! [`super::connection_panel::ConnectionPanel`], which holds the fields and the callbacks.

use yew::{html, Callback, Html, KeyboardEvent, NodeRef};

use crate::{
    components::icon::{Icon, IconName},
    state::Phase,
};

/// What the bar shows and does.
pub struct Bar<'a> {
    pub phase: Phase,
    /// The subprotocol the server agreed to, shown while open.
    pub protocol: &'a str,
    /// The extensions agreed, shown while open.
    pub extensions: &'a str,
    pub url: NodeRef,
    pub on_open: Callback<()>,
    pub on_close: Callback<yew::MouseEvent>,
    pub on_enter: Callback<KeyboardEvent>,
    pub error: Option<String>,
}

pub fn view(bar: &Bar<'_>) -> Html {
    let phase = bar.phase;
    let extensions = if bar.extensions.is_empty() {
        "none agreed"
    } else {
        bar.extensions
    };
    html! {
        <header class="topbar">
            <h1 class="brand"><Icon name={IconName::Logo} /><span>{"WebSocket echo"}</span></h1>
            <div class="address">
                <label for="url" class="visually-hidden">{"URL"}</label>
                <input id="url" type="url" ref={bar.url.clone()} disabled={phase != Phase::Closed}
                    placeholder="ws://host:port/echo" spellcheck="false" onkeydown={bar.on_enter.clone()} />
                <button id="open" type="button" class="primary" disabled={phase != Phase::Closed}
                    onclick={bar.on_open.reform(|_| ())}>
                    <Icon name={IconName::Open} />{"Open"}
                </button>
                <button id="close" type="button"
                    disabled={!matches!(phase, Phase::Connecting | Phase::Open)} onclick={bar.on_close.clone()}>
                    <Icon name={IconName::Close} />{"Close"}
                </button>
            </div>
            <p class="state" role="status">
                <span class="visually-hidden">{"Connection: "}</span>
                <span id="phase" class={format!("pill phase-{}", phase_name(phase))}>{phase_name(phase)}</span>
                if phase == Phase::Open && !bar.protocol.is_empty() {
                    <span class="chip" title={format!("The subprotocol the server agreed to: {}", bar.protocol)}>
                        {"subprotocol "}<b id="protocol">{bar.protocol}</b>
                    </span>
                }
                if phase == Phase::Open {
                    <span class="chip" title={format!("The extensions the browser and the server agreed: {extensions}")}>
                        {"compression "}<b id="extensions">{extensions}</b>
                    </span>
                }
            </p>
            if let Some(error) = bar.error.clone() {
                <p id="close-error" class="error" role="alert">{error}</p>
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
