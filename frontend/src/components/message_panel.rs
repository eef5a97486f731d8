//! The message box: text, hex or base64; Enter sends, Shift+Enter starts a new line; a message
//! that does not parse is explained under the box and nothing is sent.

use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::{
    function_component, html, use_effect_with, use_node_ref, use_state, Callback, Html, Properties,
};

use crate::{
    payload::{parse, Format, Outgoing},
    state::Phase,
};

/// The message the box starts with, as on the original page.
pub const DEFAULT_MESSAGE: &str = "Hello world!";

#[derive(Properties, PartialEq)]
pub struct MessagePanelProps {
    pub phase: Phase,
    pub on_send: Callback<Outgoing>,
}

#[function_component]
pub fn MessagePanel(props: &MessagePanelProps) -> Html {
    let (input, format) = (use_node_ref(), use_node_ref());
    let error = use_state(|| None::<String>);
    // Set once: a `value` attribute would put it back on every render, over what was typed.
    {
        let input = input.clone();
        use_effect_with((), move |()| {
            if let Some(input) = input.cast::<HtmlTextAreaElement>() {
                input.set_value(DEFAULT_MESSAGE);
            }
        });
    }
    let send = {
        let (input, format, error, on_send) = (
            input.clone(),
            format.clone(),
            error.clone(),
            props.on_send.clone(),
        );
        move || {
            let text = input
                .cast::<HtmlTextAreaElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            let chosen = format
                .cast::<HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            match parse(&text, Format::from_name(&chosen)) {
                Ok(message) => {
                    error.set(None);
                    on_send.emit(message);
                }
                Err(problem) => error.set(Some(problem)),
            }
        }
    };
    let on_click = {
        let send = send.clone();
        Callback::from(move |_| send())
    };
    let phase = props.phase;
    let on_keydown = Callback::from(move |event: yew::KeyboardEvent| {
        if event.key() == "Enter" && !event.shift_key() {
            event.prevent_default();
            if phase == Phase::Open {
                send();
            }
        }
    });

    html! {
        <fieldset class="panel">
            <legend>{"Message"}</legend>
            <label for="input">{"Message (Enter sends, Shift+Enter adds a line)"}</label>
            <textarea id="input" ref={input} rows="3" onkeydown={on_keydown}
                aria-invalid={error.is_some().to_string()} aria-describedby="input-error" />
            <div class="send-row">
                <label for="format">{"as"}</label>
                <select id="format" ref={format}>
                    <option value="text" selected=true>{"text"}</option>
                    <option value="hex">{"binary, hex"}</option>
                    <option value="base64">{"binary, base64"}</option>
                </select>
                <button id="send" type="button" disabled={phase != Phase::Open} onclick={on_click}>
                    {"Send"}
                </button>
            </div>
            if let Some(problem) = (*error).clone() {
                <p id="input-error" class="error" role="alert">{problem}</p>
            }
        </fieldset>
    }
}
