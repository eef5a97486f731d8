//! The "Server behaviour" panel (collapsed at first): the echo server's faults (a delay, a close
//! or reset after N echoes or a time, pushes, no pongs, fragments, a refusal, the subprotocol
//! and compression answers, the hello) set with controls and written into the URL field's query
//! as they change, so Open, the history and the share link all carry them; a URL with them
//! (a share link, a recent connection) fills the controls, and opens the panel.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::{
    function_component, html, use_effect_with, use_state, Callback, Event, Html, InputEvent,
    NodeRef, Properties, TargetCast,
};

use crate::{
    fixture_query::{Faults, NAMES},
    saved::RecentConnection,
    state::Phase,
};

#[derive(Properties, PartialEq)]
pub struct ServerBehaviourProps {
    pub phase: Phase,
    /// The URL field, read and rewritten as the controls change.
    pub url: NodeRef,
    /// What the URL field starts with.
    pub initial_url: String,
    /// A recent connection put back in the fields.
    #[prop_or_default]
    pub refill: Option<(u64, RecentConnection)>,
}

/// A text field: (parameter, label, placeholder).
const FIELDS: [(&str, &str, &str); 9] = [
    ("delay", "Delay each echo by", "e.g. 250ms"),
    ("close_after", "Close after", "N echoes or a time, e.g. 10s"),
    ("close_code", "with code", "1000"),
    ("close_reason", "and reason", "optional"),
    (
        "reset_after",
        "Reset the TCP connection after",
        "N echoes or a time",
    ),
    (
        "push_every",
        "Push a message every",
        "e.g. 1s (10ms at least)",
    ),
    ("push_size", "of bytes", "32"),
    (
        "fragment",
        "Fragment echoes into frames of at most (bytes)",
        "e.g. 16",
    ),
    ("refuse", "Refuse the upgrade with HTTP status", "400-599"),
];

/// A checkbox: (parameter, value when checked, label).
const SWITCHES: [(&str, &str, &str); 3] = [
    ("pongs", "off", "Answer no pings (pongs=off)"),
    ("compression", "off", "No compression (compression=off)"),
    (
        "hello",
        "request",
        "First send my request as the server saw it (hello=request)",
    ),
];

fn index_of(name: &str) -> usize {
    NAMES.iter().position(|n| *n == name).unwrap_or(0)
}

#[function_component]
pub fn ServerBehaviour(props: &ServerBehaviourProps) -> Html {
    let faults = use_state(|| Faults::of_url(&props.initial_url));
    // Open from the start when the URL already asks for faults (a share link), so nobody is
    // surprised by a server that misbehaves; the user may fold it after.
    let open_at_first = use_state(|| *faults != Faults::default());
    {
        let faults = faults.clone();
        use_effect_with(props.refill.clone(), move |refill| {
            if let Some((_, recent)) = refill {
                faults.set(Faults::of_url(&recent.url));
            }
        });
    }
    // One parameter changed: the state, and the URL field's query with it.
    let change = {
        let (faults, url) = (faults.clone(), props.url.clone());
        Callback::from(move |(name, value): (&'static str, String)| {
            let mut next = (*faults).clone();
            next.0[index_of(name)] = value;
            if let Some(input) = url.cast::<HtmlInputElement>() {
                if let Some(href) = next.apply(&input.value()) {
                    input.set_value(&href);
                }
            }
            faults.set(next);
        })
    };
    let disabled = props.phase != Phase::Closed;
    let fields = FIELDS.iter().map(|&(name, label, placeholder)| {
        let id = format!("fx-{name}");
        let oninput = change.reform(move |event: InputEvent| {
            (
                name,
                event.target_unchecked_into::<HtmlInputElement>().value(),
            )
        });
        html! {
            <div class="option-row">
                <label for={id.clone()}>{label}</label>
                <input id={id} type="text" value={faults.get(name).to_owned()} {placeholder}
                    {disabled} {oninput} spellcheck="false" />
            </div>
        }
    });
    let switches = SWITCHES.iter().map(|&(name, on, label)| {
        let id = format!("fx-{name}");
        let onchange = change.reform(move |event: Event| {
            let checked = event.target_unchecked_into::<HtmlInputElement>().checked();
            (name, if checked { on.to_owned() } else { String::new() })
        });
        html! {
            <div class="option-row">
                <input id={id.clone()} type="checkbox" checked={faults.get(name) == on} {disabled} {onchange} />
                <label for={id}>{label}</label>
            </div>
        }
    });
    let on_push_type = change.reform(|event: Event| {
        (
            "push_type",
            event.target_unchecked_into::<HtmlSelectElement>().value(),
        )
    });
    let on_subprotocol = change.reform(|event: InputEvent| {
        (
            "subprotocol",
            event.target_unchecked_into::<HtmlInputElement>().value(),
        )
    });
    let push_type = faults.get("push_type");
    html! {
        <details id="behaviour" class="panel behaviour" open={*open_at_first}>
            <summary>{"Server behaviour"}</summary>
            <p class="hint">{"Faults on demand, sent in the URL's query on Open (a share link keeps them)."}</p>
            { for fields }
            <div class="option-row">
                <label for="fx-push_type">{"Pushed messages are"}</label>
                <select id="fx-push_type" {disabled} onchange={on_push_type}>
                    <option value="" selected={push_type.is_empty()}>{"text (default)"}</option>
                    <option value="text" selected={push_type == "text"}>{"text"}</option>
                    <option value="binary" selected={push_type == "binary"}>{"binary"}</option>
                </select>
            </div>
            <div class="option-row">
                <label for="fx-subprotocol">{"Subprotocol answer"}</label>
                <input id="fx-subprotocol" type="text" value={faults.get("subprotocol").to_owned()}
                    placeholder="as offered; none, or a name" {disabled} oninput={on_subprotocol} />
            </div>
            { for switches }
        </details>
    }
}
