//! The live chart: the last round trips as a line, echoes per second as bars behind it, drawn
//! on a canvas whenever they change, with a caption that says the same in words.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::{function_component, html, use_effect_with, use_node_ref, Html, NodeRef, Properties};

use crate::{
    rtt_series::{RttSeries, SAMPLES, SECONDS},
    rtt_stats::format_ms,
};

/// The canvas's height in CSS pixels.
const HEIGHT: f64 = 110.0;

#[derive(Properties, PartialEq)]
pub struct RttChartProps {
    pub series: RttSeries,
}

#[function_component]
pub fn RttChart(props: &RttChartProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.series.clone(), move |series| draw(&canvas, series));
    }
    let series = &props.series;
    let caption = if series.samples.is_empty() {
        "Round trips appear here as echoes come back.".to_owned()
    } else {
        let last = series.samples.back().map_or(0.0, |s| s.1);
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "Last {}: latest {}, highest {}; up to {} a second",
            plural(series.samples.len(), "round trip", "round trips"),
            format_ms(last),
            format_ms(series.max_rtt()),
            plural(series.max_per_second() as usize, "echo", "echoes")
        )
    };
    html! {
        <figure class="chart">
            <canvas id="rtt-chart" ref={canvas} height={HEIGHT.to_string()} role="img"
                aria-label={caption.clone()} />
            <figcaption id="rtt-chart-caption">{caption}</figcaption>
        </figure>
    }
}

fn draw(canvas: &NodeRef, series: &RttSeries) {
    let Some(canvas) = canvas.cast::<HtmlCanvasElement>() else {
        return;
    };
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let width = f64::from(canvas.client_width().max(100));
    canvas.set_width((width * ratio) as u32);
    canvas.set_height((HEIGHT * ratio) as u32);
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = context.scale(ratio, ratio);
    // The page's theme colours (light or dark), from its CSS variables.
    let style = web_sys::window().and_then(|w| w.get_computed_style(&canvas).ok().flatten());
    let colour = |name: &str, fallback: &str| {
        style
            .as_ref()
            .and_then(|s| s.get_property_value(name).ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    };
    context.clear_rect(0.0, 0.0, width, HEIGHT);
    // Echoes per second: one bar per second, the newest on the right.
    let peak = f64::from(series.max_per_second().max(1));
    let bar = width / SECONDS as f64;
    context.set_fill_style_str(&colour("--bar", "rgba(40, 87, 197, .22)"));
    let newest = series.per_second.back().map_or(0, |s| s.0);
    for &(second, count) in &series.per_second {
        let age = (newest - second) as f64;
        let height = (HEIGHT - 4.0) * f64::from(count) / peak;
        context.fill_rect(
            width - (age + 1.0) * bar,
            HEIGHT - height,
            bar - 1.0,
            height,
        );
    }
    // Round trips: a line over the last samples, scaled to the highest.
    let top = series.max_rtt().max(0.01) * 1.1;
    let step = width / (SAMPLES - 1) as f64;
    let start = SAMPLES - series.samples.len();
    context.set_stroke_style_str(&colour("--ok", "#1b7a36"));
    context.set_line_width(1.5);
    context.begin_path();
    for (i, &(_, rtt)) in series.samples.iter().enumerate() {
        let x = (start + i) as f64 * step;
        let y = HEIGHT - 2.0 - (HEIGHT - 4.0) * rtt / top;
        if i == 0 {
            context.move_to(x, y);
        } else {
            context.line_to(x, y);
        }
    }
    context.stroke();
}
