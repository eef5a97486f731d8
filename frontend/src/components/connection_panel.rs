//! Where to connect and with which subprotocols; Open; Close with a chosen code and reason;
//! the connection's state and what the server agreed.

use web_sys::HtmlInputElement;
use yew::{
    function_component, html, use_effect_with, use_node_ref, use_state, Callback, Html, NodeRef,
    Properties,
};

use crate::{
    components::icon::{Icon, IconName},
    hooks::OpenRequest,
    saved::RecentConnection,
    state::Phase,
};

#[derive(Properties, PartialEq)]
pub struct ConnectionPanelProps {
    pub phase: Phase,
    /// The subprotocol the server agreed to, shown while open.
    pub protocol: String,
    /// The extensions the browser and server agreed, shown while open.
    pub extensions: String,
    /// What the URL field starts with: a share link's, the last one used, or the page's own
    /// `/echo`.
    pub default_url: String,
    /// What the subprotocols field starts with.
    #[prop_or_default]
    pub default_protocols: String,
    /// The reconnect option's starting state: its attempt limit if on.
    #[prop_or_default]
    pub default_reconnect: Option<u32>,
    /// A recent connection to put back in the fields; the number makes each request new.
    #[prop_or_default]
    pub refill: Option<(u64, RecentConnection)>,
    pub on_open: Callback<OpenRequest>,
    pub on_close: Callback<(u16, String)>,
}

fn value(input: &NodeRef) -> String {
    input
        .cast::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

#[function_component]
pub fn ConnectionPanel(props: &ConnectionPanelProps) -> Html {
    let (url, protocols, code, reason) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );
    let (reconnect, limit) = (use_node_ref(), use_node_ref());
    let close_error = use_state(|| None::<String>);
    // Set once: a `value` attribute would put them back on every render, over what was typed.
    {
        let (url, protocols, code, limit, reconnect) = (
            url.clone(),
            protocols.clone(),
            code.clone(),
            limit.clone(),
            reconnect.clone(),
        );
        let (default_url, default_protocols, default_reconnect) = (
            props.default_url.clone(),
            props.default_protocols.clone(),
            props.default_reconnect,
        );
        use_effect_with((), move |()| {
            let attempts = default_reconnect.unwrap_or(5).to_string();
            for (field, initial) in [
                (&url, default_url.as_str()),
                (&protocols, default_protocols.as_str()),
                (&code, "1000"),
                (&limit, attempts.as_str()),
            ] {
                if let Some(input) = field.cast::<HtmlInputElement>() {
                    input.set_value(initial);
                }
            }
            if let Some(checkbox) = reconnect.cast::<HtmlInputElement>() {
                checkbox.set_checked(default_reconnect.is_some());
            }
        });
    }
    {
        let (url, protocols) = (url.clone(), protocols.clone());
        use_effect_with(props.refill.clone(), move |refill| {
            if let Some((_, recent)) = refill {
                for (field, value) in [(&url, &recent.url), (&protocols, &recent.protocols)] {
                    if let Some(input) = field.cast::<HtmlInputElement>() {
                        input.set_value(value);
                    }
                }
            }
        });
    }

    let on_open = {
        let (url, protocols, on_open) = (url.clone(), protocols.clone(), props.on_open.clone());
        let (reconnect, limit, close_error) =
            (reconnect.clone(), limit.clone(), close_error.clone());
        Callback::from(move |()| {
            let reconnect = if reconnect
                .cast::<HtmlInputElement>()
                .is_some_and(|b| b.checked())
            {
                match value(&limit).trim().parse::<u32>() {
                    Ok(attempts) if attempts >= 1 => Some(attempts),
                    _ => {
                        close_error.set(Some(
                            "Reconnect attempts: a whole number, at least 1.".into(),
                        ));
                        return;
                    }
                }
            } else {
                None
            };
            close_error.set(None);
            let protocols = value(&protocols)
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            on_open.emit(OpenRequest {
                url: value(&url).trim().to_owned(),
                protocols,
                reconnect,
            });
        })
    };
    // Enter in the URL or subprotocols field opens, as in an address bar.
    let on_enter = {
        let on_open = on_open.clone();
        Callback::from(move |event: yew::KeyboardEvent| {
            if event.key() == "Enter" {
                event.prevent_default();
                on_open.emit(());
            }
        })
    };
    let on_close = {
        let (code, reason, on_close, close_error) = (
            code.clone(),
            reason.clone(),
            props.on_close.clone(),
            close_error.clone(),
        );
        Callback::from(move |_| match value(&code).trim().parse::<u16>() {
            Ok(number) => {
                close_error.set(None);
                on_close.emit((number, value(&reason)));
            }
            Err(_) => close_error.set(Some(
                "The close code must be a number, e.g. 1000 or 4000.".into(),
            )),
        })
    };
    let phase = props.phase;
    let extensions = if props.extensions.is_empty() {
        "none agreed".to_owned()
    } else {
        props.extensions.clone()
    };

    // Two parts: the bar across the top (where to connect, Open / Close, the state) and the
    // options, which sit with the other controls.
    html! {
        <>
        <header class="topbar">
            <h1 class="brand"><Icon name={IconName::Logo} /><span>{"WebSocket echo"}</span></h1>
            <div class="address">
                <label for="url" class="visually-hidden">{"URL"}</label>
                <input id="url" type="url" ref={url} disabled={phase != Phase::Closed}
                    placeholder="ws://host:port/echo" spellcheck="false" onkeydown={on_enter.clone()} />
                <button id="open" type="button" class="primary" disabled={phase != Phase::Closed}
                    onclick={on_open.reform(|_| ())}>
                    <Icon name={IconName::Open} />{"Open"}
                </button>
                <button id="close" type="button"
                    disabled={!matches!(phase, Phase::Connecting | Phase::Open)} onclick={on_close}>
                    <Icon name={IconName::Close} />{"Close"}
                </button>
            </div>
            <p class="state" role="status">
                <span class="visually-hidden">{"Connection: "}</span>
                <span id="phase" class={format!("pill phase-{}", phase_name(phase))}>{phase_name(phase)}</span>
                if phase == Phase::Open && !props.protocol.is_empty() {
                    <span class="chip" title={format!("The subprotocol the server agreed to: {}", props.protocol)}>
                        {"subprotocol "}<b id="protocol">{props.protocol.clone()}</b>
                    </span>
                }
                if phase == Phase::Open {
                    <span class="chip" title={format!("The extensions the browser and the server agreed: {extensions}")}>
                        {"compression "}<b id="extensions">{extensions.clone()}</b>
                    </span>
                }
            </p>
            // In the bar, next to the buttons that raise them (the options may be off screen).
            if let Some(error) = (*close_error).clone() {
                <p id="close-error" class="error" role="alert">{error}</p>
            }
        </header>
        <fieldset class="panel options">
            <legend>{"Connection options"}</legend>
            <div class="option-row">
                <label for="protocols">{"Subprotocols"}</label>
                <input id="protocols" type="text" ref={protocols} disabled={phase != Phase::Closed}
                    placeholder="optional, comma-separated" onkeydown={on_enter} />
            </div>
            <div class="option-row">
                <input id="reconnect" type="checkbox" ref={reconnect} disabled={phase != Phase::Closed} />
                <label for="reconnect">{"Auto-reconnect, up to"}</label>
                <input id="reconnect-limit" type="number" ref={limit} min="1" disabled={phase != Phase::Closed}
                    aria-label="Reconnect attempts at most" />
                <span aria-hidden="true">{"tries"}</span>
            </div>
            <div class="option-row">
                <label for="close-code">{"Close with code"}</label>
                <input id="close-code" type="number" ref={code} min="1000" max="4999" />
                <input id="close-reason" type="text" ref={reason} maxlength="123" placeholder="reason"
                    aria-label="Close reason" />
            </div>
        </fieldset>
        </>
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
