//! The original client's behaviour in the page: send the current time every N ms.

use gloo_timers::callback::Interval;
use web_sys::HtmlInputElement;
use yew::{
    function_component, html, use_effect_with, use_mut_ref, use_node_ref, use_state, Callback,
    Html, Properties,
};

use crate::{
    components::icon::{Icon, IconName},
    payload::Outgoing,
    state::Phase,
};

/// Shortest interval accepted: faster would flood the log rather than test anything.
pub const MIN_INTERVAL_MS: u32 = 10;

#[derive(Properties, PartialEq)]
pub struct TickerPanelProps {
    pub phase: Phase,
    pub on_send: Callback<Outgoing>,
}

#[function_component]
pub fn TickerPanel(props: &TickerPanelProps) -> Html {
    let every = use_node_ref();
    let running = use_mut_ref(|| None::<Interval>);
    let is_running = use_state(|| false);
    let error = use_state(|| None::<String>);
    {
        // Set once, like the other fields, so re-renders never overwrite what was typed.
        let every = every.clone();
        use_effect_with((), move |()| {
            if let Some(input) = every.cast::<HtmlInputElement>() {
                input.set_value("1000");
            }
        });
    }

    // Stops by itself when the connection is no longer open.
    {
        let (running, is_running) = (running.clone(), is_running.clone());
        use_effect_with(props.phase, move |phase| {
            if *phase != Phase::Open {
                running.borrow_mut().take();
                is_running.set(false);
            }
        });
    }
    let start = {
        let (every, running, is_running, error, on_send) = (
            every.clone(),
            running.clone(),
            is_running.clone(),
            error.clone(),
            props.on_send.clone(),
        );
        Callback::from(move |_| {
            let text = every
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            match text.trim().parse::<u32>() {
                Ok(ms) if ms >= MIN_INTERVAL_MS => {
                    error.set(None);
                    let on_send = on_send.clone();
                    let tick = move || {
                        let now = js_sys::Date::new_0().to_iso_string();
                        on_send.emit(Outgoing::Text(now.into()));
                    };
                    *running.borrow_mut() = Some(Interval::new(ms, tick));
                    is_running.set(true);
                }
                _ => error.set(Some(format!(
                    "Every how many ms? A whole number, at least {MIN_INTERVAL_MS}."
                ))),
            }
        })
    };
    let stop = {
        let (running, is_running) = (running.clone(), is_running.clone());
        Callback::from(move |_| {
            running.borrow_mut().take();
            is_running.set(false);
        })
    };
    let open = props.phase == Phase::Open;
    html! {
        <fieldset class="panel ticker">
            <legend>{"Ticker"}</legend>
            <div class="send-row">
                <label for="ticker-ms">{"Send the time every"}</label>
                <input id="ticker-ms" type="number" ref={every} min={MIN_INTERVAL_MS.to_string()} placeholder="1000" />
                <span>{"ms"}</span>
                <button id="ticker-start" type="button" disabled={!open || *is_running} onclick={start}>
                    <Icon name={IconName::Ticker} />{"Start"}
                </button>
                <button id="ticker-stop" type="button" disabled={!*is_running} onclick={stop}>
                    <Icon name={IconName::Stop} />{"Stop"}
                </button>
            </div>
            if let Some(problem) = (*error).clone() {
                <p id="ticker-error" class="error" role="alert">{problem}</p>
            }
        </fieldset>
    }
}
