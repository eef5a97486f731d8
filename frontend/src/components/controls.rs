//! Open, Close, Send and the message input, enabled by what the connection can do now.

use web_sys::HtmlInputElement;
use yew::{function_component, html, use_node_ref, Callback, Html, Properties};

use crate::state::Phase;

/// The message the input starts with, as on the original page.
pub const DEFAULT_MESSAGE: &str = "Hello world!";

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub phase: Phase,
    pub on_open: Callback<()>,
    pub on_close: Callback<()>,
    pub on_send: Callback<String>,
}

#[function_component]
pub fn Controls(props: &ControlsProps) -> Html {
    let input = use_node_ref();
    let send = {
        let input = input.clone();
        let on_send = props.on_send.clone();
        move || {
            if let Some(input) = input.cast::<HtmlInputElement>() {
                on_send.emit(input.value());
            }
        }
    };
    let on_send_click = {
        let send = send.clone();
        Callback::from(move |_| send())
    };
    let on_keydown = Callback::from(move |event: yew::KeyboardEvent| {
        if event.key() == "Enter" {
            event.prevent_default();
            send();
        }
    });
    let phase = props.phase;

    html! {
        <form class="controls" onsubmit={Callback::from(|event: yew::SubmitEvent| event.prevent_default())}>
            <p class="hint">
                {"Click \"Open\" to create a connection to the server, \"Send\" to send a message \
                  to the server and \"Close\" to close the connection. You can change the message \
                  and send multiple times."}
            </p>
            <div class="buttons">
                <button id="open" type="button" disabled={phase != Phase::Closed}
                    onclick={props.on_open.reform(|_| ())}>{"Open"}</button>
                <button id="close" type="button"
                    disabled={!matches!(phase, Phase::Connecting | Phase::Open)}
                    onclick={props.on_close.reform(|_| ())}>{"Close"}</button>
            </div>
            <label for="input">{"Message"}</label>
            <div class="send-row">
                <input id="input" type="text" ref={input} value={DEFAULT_MESSAGE}
                    onkeydown={on_keydown} />
                <button id="send" type="button" disabled={phase != Phase::Open}
                    onclick={on_send_click}>{"Send"}</button>
            </div>
            <p class="phase">{"Connection: "}<span id="phase">{phase_name(phase)}</span></p>
        </form>
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
