//! The message box: text, hex or base64, sent once or many times; Enter sends, Shift+Enter
//! starts a new line; a message or count that does not parse is explained under the box and
//! nothing is sent.

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::{
    function_component, html, use_effect_with, use_node_ref, use_state, Callback, Html, Properties,
};

use crate::{
    components::icon::{Icon, IconName},
    payload::{parse, parse_repeat, Format, Outgoing, MAX_REPEAT},
    state::Phase,
};

/// The message the box starts with, as on the original page.
pub const DEFAULT_MESSAGE: &str = "Hello world!";

#[derive(Properties, PartialEq)]
pub struct MessagePanelProps {
    pub phase: Phase,
    pub on_send: Callback<Outgoing>,
    /// What the box starts with (a share link's message, or [`DEFAULT_MESSAGE`]).
    #[prop_or_else(|| DEFAULT_MESSAGE.to_owned())]
    pub default_message: String,
    /// The format it starts in: `text`, `hex` or `base64`.
    #[prop_or_else(|| "text".to_owned())]
    pub default_format: String,
    /// Told once per Send (however many times it sends) with the text and format, for the history.
    #[prop_or_default]
    pub on_sent_text: Callback<(String, String)>,
}

#[function_component]
pub fn MessagePanel(props: &MessagePanelProps) -> Html {
    let (input, format, repeat) = (use_node_ref(), use_node_ref(), use_node_ref());
    let error = use_state(|| None::<String>);
    // Set once: a `value` attribute would put it back on every render, over what was typed.
    {
        let (input, repeat, format) = (input.clone(), repeat.clone(), format.clone());
        let (message, chosen) = (props.default_message.clone(), props.default_format.clone());
        use_effect_with((), move |()| {
            if let Some(input) = input.cast::<HtmlTextAreaElement>() {
                input.set_value(&message);
            }
            if let Some(repeat) = repeat.cast::<HtmlInputElement>() {
                repeat.set_value("1");
            }
            if let Some(format) = format.cast::<HtmlSelectElement>() {
                format.set_value(&chosen);
            }
        });
    }
    let send = {
        let (input, format, repeat, error, on_send, on_sent_text) = (
            input.clone(),
            format.clone(),
            repeat.clone(),
            error.clone(),
            props.on_send.clone(),
            props.on_sent_text.clone(),
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
            let times = repeat
                .cast::<HtmlInputElement>()
                .map(|r| r.value())
                .unwrap_or_default();
            match parse_repeat(&times).and_then(|times| {
                parse(&text, Format::from_name(&chosen)).map(|message| (times, message))
            }) {
                Ok((times, message)) => {
                    error.set(None);
                    for _ in 1..times {
                        on_send.emit(message.clone());
                    }
                    on_send.emit(message);
                    on_sent_text.emit((text, chosen));
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
        <fieldset class="panel message">
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
                <label for="repeat">{"×"}</label>
                <input id="repeat" ref={repeat} type="number" min="1" max={MAX_REPEAT.to_string()}
                    inputmode="numeric" aria-label="Send how many times" title="How many times Send sends it" />
                <button id="send" type="button" class="primary" disabled={phase != Phase::Open} onclick={on_click}>
                    <Icon name={IconName::Send} />{"Send"}
                </button>
            </div>
            if let Some(problem) = (*error).clone() {
                <p id="input-error" class="error" role="alert">{problem}</p>
            }
        </fieldset>
    }
}
