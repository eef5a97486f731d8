//! The output log: one line per event, always rendered as text, never as HTML.

use yew::{function_component, html, Html, Properties};

use crate::state::Line;

#[derive(Properties, PartialEq)]
pub struct OutputLogProps {
    pub lines: Vec<Line>,
}

#[function_component]
pub fn OutputLog(props: &OutputLogProps) -> Html {
    html! {
        <div id="output" class="output" role="log" aria-live="polite" aria-label="Output">
            { for props.lines.iter().map(|line| html! { <div class="line">{ line.text() }</div> }) }
        </div>
    }
}
