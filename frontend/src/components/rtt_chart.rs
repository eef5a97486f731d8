//! The live chart: the last round trips as a line, echoes per second as bars behind it, in SVG
//! (its colours come from the page's CSS, so it follows the theme), with a caption that says the
//! same in words.

use std::fmt::Write;

use yew::{function_component, html, Html, Properties};

use crate::{
    rtt_series::{RttSeries, SAMPLES, SECONDS},
    rtt_stats::format_ms,
};

/// The drawing's own units: the SVG stretches them over the panel's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 110.0;

#[derive(Properties, PartialEq)]
pub struct RttChartProps {
    pub series: RttSeries,
}

#[function_component]
pub fn RttChart(props: &RttChartProps) -> Html {
    let series = &props.series;
    let caption = caption(series);
    let peak = f64::from(series.max_per_second().max(1));
    let bar = WIDTH / SECONDS as f64;
    let newest = series.per_second.back().map_or(0, |s| s.0);
    let bars = series.per_second.iter().map(|&(second, count)| {
        let age = (newest - second) as f64;
        let height = (HEIGHT - 4.0) * f64::from(count) / peak;
        html! {
            <rect class="rate" x={format!("{:.1}", WIDTH - (age + 1.0) * bar)}
                y={format!("{:.1}", HEIGHT - height)} width={format!("{:.1}", bar - 1.0)}
                height={format!("{height:.1}")} />
        }
    });
    html! {
        <figure class="chart">
            <svg id="rtt-chart" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} preserveAspectRatio="none"
                role="img" aria-label={caption.clone()}>
                {for bars}
                <polyline class="rtt" points={line(series)} />
            </svg>
            <figcaption id="rtt-chart-caption">{caption}</figcaption>
        </figure>
    }
}

/// The round trips as polyline points, scaled to the highest, the newest on the right.
fn line(series: &RttSeries) -> String {
    let top = series.max_rtt().max(0.01) * 1.1;
    let step = WIDTH / (SAMPLES - 1) as f64;
    let start = SAMPLES - series.samples.len();
    let mut points = String::with_capacity(series.samples.len() * 12);
    for (i, &(_, rtt)) in series.samples.iter().enumerate() {
        let x = (start + i) as f64 * step;
        let y = HEIGHT - 2.0 - (HEIGHT - 4.0) * rtt / top;
        let _ = write!(points, "{x:.1},{y:.1} ");
    }
    points
}

fn caption(series: &RttSeries) -> String {
    if series.samples.is_empty() {
        return "Round trips appear here as echoes come back.".to_owned();
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let last = series.samples.back().map_or(0.0, |s| s.1);
    format!(
        "Last {}: latest {}, highest {}; up to {} a second",
        plural(series.samples.len(), "round trip", "round trips"),
        format_ms(last),
        format_ms(series.max_rtt()),
        plural(series.max_per_second() as usize, "echo", "echoes")
    )
}
