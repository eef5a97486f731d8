//! The output log: one line per event, always rendered as text, never as HTML, with its time,
//! direction, type, size and (for echoes) round-trip time beside it.

use yew::{function_component, html, Callback, Html, Properties, UseReducerHandle};

use crate::state::{Direction, Entry, State};

/// Lines drawn at once; the newest are shown, older ones stay in memory up to the state's limit.
pub const RENDERED: usize = 1_000;

#[derive(Properties, PartialEq)]
pub struct OutputLogProps {
    pub state: UseReducerHandle<State>,
    pub on_clear: Callback<()>,
}

/// `HH:MM:SS.mmm`, local time.
pub fn clock(at: f64) -> String {
    let date = js_sys::Date::new(&at.into());
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

fn meta(entry: &Entry) -> String {
    match entry.data {
        Some((direction, binary, size)) => format!(
            "{} {} {} {size} B",
            clock(entry.at),
            if direction == Direction::Out {
                "↑"
            } else {
                "↓"
            },
            if binary { "binary" } else { "text" }
        ),
        None => clock(entry.at),
    }
}

#[function_component]
pub fn OutputLog(props: &OutputLogProps) -> Html {
    let log = &props.state.log;
    let hidden = props.state.dropped + log.len().saturating_sub(RENDERED);
    html! {
        <section class="log">
            <div class="log-bar">
                <h2>{"Output"}</h2>
                <button id="clear" type="button" onclick={props.on_clear.reform(|_| ())}>{"Clear"}</button>
            </div>
            if hidden > 0 {
                <p id="log-notice" class="notice">
                    {format!("Showing the newest {} of {} entries.", log.len().min(RENDERED), hidden + log.len().min(RENDERED))}
                </p>
            }
            <div id="output" class="output" role="log" aria-live="polite" aria-label="Output">
                { for log.iter().skip(log.len().saturating_sub(RENDERED)).map(|entry| html! {
                    <div class="line">
                        <span class="meta">{ meta(entry) }</span>
                        <span class="text">{ entry.line.text() }</span>
                        if let Some(rtt) = entry.rtt_ms {
                            <span class="rtt" title="round trip">{ format!("{rtt:.1} ms") }</span>
                        }
                    </div>
                }) }
            </div>
        </section>
    }
}
