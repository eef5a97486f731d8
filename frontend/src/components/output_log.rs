//! The output log: one line per event, always rendered as text, never as HTML.

use yew::{function_component, html, Callback, Html, Properties};

use crate::state::Line;

#[derive(Properties, PartialEq)]
pub struct OutputLogProps {
    pub lines: Vec<Line>,
    pub on_clear: Callback<()>,
}

#[function_component]
pub fn OutputLog(props: &OutputLogProps) -> Html {
    html! {
        <section class="log">
            <div class="log-bar">
                <h2>{"Output"}</h2>
                <button id="clear" type="button" onclick={props.on_clear.reform(|_| ())}>{"Clear"}</button>
            </div>
            <div id="output" class="output" role="log" aria-live="polite" aria-label="Output">
                { for props.lines.iter().map(|line| html! { <div class="line">{ line.text() }</div> }) }
            </div>
        </section>
    }
}
