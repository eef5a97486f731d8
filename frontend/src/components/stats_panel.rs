//! Messages and bytes each way, round-trip min/avg/p99, and how long the connection has been up;
//! the live chart and the round-trip histogram, redrawn at most [`REDRAWS_PER_SECOND`] times a
//! second (during a flood the panel renders every frame; drawing them as often made appending
//! 10,000 echoes a quarter slower).

use std::time::Duration;

use gloo_timers::callback::Interval;
use std::rc::Rc;

use yew::{
    function_component, html, use_effect_with, use_mut_ref, use_state, Html, Properties,
    UseReducerHandle,
};

use crate::{components::RttChart, rtt_series::RttSeries, rtt_stats::format_ms, state::State};

/// The figures as shown: taken from the state at most [`REDRAWS_PER_SECOND`] times a second.
#[derive(Default)]
struct Shown {
    series: RttSeries,
    bins: Vec<(f64, f64, u64)>,
    round_trips: u64,
    sent: String,
    received: String,
    rtt: String,
}

/// The figures shown, when they were taken (ms since the epoch), and from which counts.
type Drawing = (f64, (u64, u64), Rc<Shown>);

/// How often the chart and histogram follow the figures; the uptime's once-a-second render
/// brings them up to date after the last echo.
const REDRAWS_PER_SECOND: f64 = 4.0;

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
    let up = stats
        .opened_at
        .map_or_else(|| "–".to_owned(), |at| uptime(*now - at));
    // Taken anew when the figures changed, at most REDRAWS_PER_SECOND times a second while the
    // connection is open (the uptime's render each second catches up); at once when closed.
    // During a flood the panel renders every frame, and redrawing it as often (it sits above the
    // log, in view) cost the log frames over 50 ms.
    let drawing =
        use_mut_ref(|| -> Drawing { (f64::NEG_INFINITY, (u64::MAX, u64::MAX), Rc::default()) });
    let shown = {
        let mut drawing = drawing.borrow_mut();
        let (now, counts) = (js_sys::Date::now(), (stats.sent, stats.received));
        let due = now - drawing.0 >= 1000.0 / REDRAWS_PER_SECOND || stats.opened_at.is_none();
        if counts != drawing.1 && due {
            let rtt = stats.rtt.summary().map_or_else(
                || "–".to_owned(),
                |(min, avg, p99)| {
                    let [min, avg, p99] = [min, avg, p99].map(format_ms);
                    format!("{min} / {avg} / {p99}")
                },
            );
            *drawing = (
                now,
                counts,
                Rc::new(Shown {
                    series: stats.series.clone(),
                    bins: stats.rtt.histogram(HISTOGRAM_BINS),
                    round_trips: stats.rtt.count(),
                    sent: format!("{} msgs, {} B", stats.sent, stats.sent_bytes),
                    received: format!("{} msgs, {} B", stats.received, stats.received_bytes),
                    rtt,
                }),
            );
        }
        Rc::clone(&drawing.2)
    };
    let (series, bins) = (&shown.series, &shown.bins);
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
            shown.round_trips
        ),
        _ => "Round-trip histogram: no round trips yet".to_owned(),
    };
    html! {
        <fieldset class="panel stats">
            <legend>{"Stats"}</legend>
            <RttChart series={series.clone()} />
            <dl>
                <dt>{"Sent"}</dt><dd id="stat-sent">{shown.sent.clone()}</dd>
                <dt>{"Received"}</dt><dd id="stat-received">{shown.received.clone()}</dd>
                <dt>{"RTT min / avg / p99"}</dt><dd id="stat-rtt">{shown.rtt.clone()}</dd>
                <dt>{"Uptime"}</dt><dd id="stat-uptime">{up}</dd>
            </dl>
            <div id="rtt-histogram" class="histogram" role="img" aria-label={described.clone()} title={described}>
                {for histogram}
            </div>
        </fieldset>
    }
}
