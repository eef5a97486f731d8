//! Messages and bytes each way, round-trip min/avg/p99, and how long the connection has been up.

use std::time::Duration;

use gloo_timers::callback::Interval;
use yew::{
    function_component, html, use_effect_with, use_state, Html, Properties, UseReducerHandle,
};

use crate::{components::RttChart, rtt_stats::format_ms, state::State};

/// Bars in the round-trip histogram.
const HISTOGRAM_BINS: usize = 24;

#[derive(Properties, PartialEq)]
pub struct StatsPanelProps {
    /// The whole state: compared by pointer, so nothing is copied per render.
    pub state: UseReducerHandle<State>,
}

fn uptime(ms: f64) -> String {
    let seconds = Duration::from_millis(ms.max(0.0) as u64).as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[function_component]
pub fn StatsPanel(props: &StatsPanelProps) -> Html {
    // Redraw each second while open, so the uptime moves.
    let now = use_state(js_sys::Date::now);
    {
        let now = now.clone();
        use_effect_with(props.state.stats.opened_at.is_some(), move |open| {
            let ticking = open.then(|| Interval::new(1_000, move || now.set(js_sys::Date::now())));
            move || drop(ticking)
        });
    }
    let stats = &props.state.stats;
    let rtt = stats.rtt.summary().map_or_else(
        || "–".to_owned(),
        |(min, avg, p99)| {
            let [min, avg, p99] = [min, avg, p99].map(crate::rtt_stats::format_ms);
            format!("{min} / {avg} / {p99}")
        },
    );
    let up = stats
        .opened_at
        .map_or_else(|| "–".to_owned(), |at| uptime(*now - at));
    let bins = stats.rtt.histogram(HISTOGRAM_BINS);
    let tallest = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1);
    let histogram = bins.iter().map(|&(low, high, count)| {
        let height = format!(
            "height: {}%",
            (100 * count / tallest).max(u64::from(count > 0))
        );
        let label = format!("{} – {}: {count}", format_ms(low), format_ms(high));
        html! { <span class="bin" style={height} title={label} /> }
    });
    let described = match (bins.first(), bins.last()) {
        (Some(first), Some(last)) => format!(
            "Round-trip histogram from {} to {}, {} round trips",
            format_ms(first.0),
            format_ms(last.1),
            stats.rtt.count()
        ),
        _ => "Round-trip histogram: no round trips yet".to_owned(),
    };
    html! {
        <fieldset class="panel stats">
            <legend>{"Stats"}</legend>
            <RttChart series={stats.series.clone()} />
            <dl>
                <dt>{"Sent"}</dt><dd id="stat-sent">{format!("{} msgs, {} B", stats.sent, stats.sent_bytes)}</dd>
                <dt>{"Received"}</dt><dd id="stat-received">{format!("{} msgs, {} B", stats.received, stats.received_bytes)}</dd>
                <dt>{"RTT min / avg / p99"}</dt><dd id="stat-rtt">{rtt}</dd>
                <dt>{"Uptime"}</dt><dd id="stat-uptime">{up}</dd>
            </dl>
            <div id="rtt-histogram" class="histogram" role="img" aria-label={described.clone()} title={described}>
                {for histogram}
            </div>
        </fieldset>
    }
}
