//! One entry of the output log: its time, direction, type and size, the text (JSON messages
//! pretty-printed), and for an echo its round-trip time. Always text, never HTML.

use std::rc::Rc;

use yew::{function_component, html, Html, Properties};

use crate::{
    log_view::pretty_json,
    state::{Direction, Entry, Line},
};

#[derive(Properties)]
pub struct LogLineProps {
    pub entry: Rc<Entry>,
}

/// Entries never change once logged: the same entry needs no new render.
impl PartialEq for LogLineProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.entry, &other.entry)
    }
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

/// The line's text, with a JSON text message indented.
fn text(entry: &Entry) -> String {
    let pretty = match (&entry.line, entry.data) {
        (Line::Send(text), Some((_, false, _))) => pretty_json(text).map(|json| ("SEND", json)),
        (Line::Response(text), Some((_, false, _))) => {
            pretty_json(text).map(|json| ("RESPONSE", json))
        }
        _ => None,
    };
    pretty.map_or_else(
        || entry.line.text(),
        |(label, json)| format!("{label}: {json}"),
    )
}

/// The line's kind, for its colour (its words say the same).
fn kind(line: &Line) -> &'static str {
    match line {
        Line::Send(_) => "line sent",
        Line::Response(_) => "line echoed",
        Line::Error(_) => "line failed",
        Line::Open | Line::Close { .. } | Line::Reconnect(_) => "line event",
    }
}

#[function_component]
pub fn LogLine(props: &LogLineProps) -> Html {
    let entry = &props.entry;
    html! {
        <div class={kind(&entry.line)}>
            <span class="meta">{ meta(entry) }</span>
            <span class="text">{ text(entry) }</span>
            if let Some(rtt) = entry.rtt_ms {
                <span class="rtt" title="round trip">{ crate::rtt_stats::format_ms(rtt) }</span>
            }
        </div>
    }
}
