//! The report's charts, written as SVG by hand: a line chart over the run's seconds, a
//! percentile curve, grouped bars. Each draws its numbers and carries them (`data-*`), and
//! says so in words when it has nothing to draw.

use std::fmt::Write as _;

use super::escape;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

/// The plot's inner box.
fn inner() -> (f64, f64) {
    (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM)
}

/// A round number at or above `max` for the top of an axis (1, 2 or 5 times a power of ten).
pub fn nice_max(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 || max.is_infinite() {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * power >= max {
            return step * power;
        }
    }
    10.0 * power
}

fn number(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn open(id: &str, title: &str, legend: &[&str]) -> String {
    let mut svg = format!(
        "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{}</figcaption>",
        escape(title)
    );
    if legend.len() > 1 {
        svg.push_str("<div class=\"legend\">");
        for (i, name) in legend.iter().enumerate() {
            let _ = write!(svg, "<span><i class=\"s{i}\"></i>{}</span>", escape(name));
        }
        svg.push_str("</div>");
    }
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" data-chart=\"{id}\">",
        escape(title)
    );
    svg
}

fn empty(id: &str, title: &str, why: &str) -> String {
    format!(
        "<figure class=\"chart\" id=\"chart-{id}\"><figcaption>{}</figcaption><p class=\"empty\">{}</p></figure>",
        escape(title),
        escape(why)
    )
}

/// The y axis from 0 to `top` with four grid lines, and its unit.
fn y_axis(svg: &mut String, top: f64, unit: &str) {
    let (w, h) = inner();
    for i in 0..=4 {
        let value = top * f64::from(i) / 4.0;
        let y = TOP + h - h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + w,
            LEFT - 6.0,
            y + 4.0,
            number(value)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{}</text>",
        TOP + h / 2.0,
        TOP + h / 2.0,
        escape(unit)
    );
}

/// A line per series over `xs` (the run's seconds); a `None` is a second with no value, left out
/// of the line.
pub fn line_chart(
    id: &str,
    title: &str,
    x_unit: &str,
    y_unit: &str,
    xs: &[f64],
    series: &[(&str, Vec<Option<f64>>)],
) -> String {
    let max = series
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    if xs.is_empty() {
        return empty(
            id,
            title,
            "The run lasted less than a second of measurements.",
        );
    }
    let names: Vec<&str> = series.iter().map(|(name, _)| *name).collect();
    let mut svg = open(id, title, &names);
    let (w, h) = inner();
    let top = nice_max(max);
    let x_max = xs.iter().fold(1.0f64, |a, &b| a.max(b));
    y_axis(&mut svg, top, y_unit);
    let steps = 6.0f64.min(x_max).max(1.0);
    for i in 0..=(steps as u32) {
        let value = (x_max * f64::from(i) / steps).round();
        let x = LEFT + w * value / x_max;
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}{}</text>",
            TOP + h + 16.0,
            number(value),
            escape(x_unit)
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        LEFT + w,
        TOP + h,
        TOP + h
    );
    for (i, (name, values)) in series.iter().enumerate() {
        let mut points = String::new();
        for (x, value) in xs.iter().zip(values) {
            if let Some(value) = value {
                let _ = write!(
                    points,
                    "{:.1},{:.1} ",
                    LEFT + w * x / x_max,
                    TOP + h - h * value / top
                );
            }
        }
        let data: Vec<String> = values
            .iter()
            .map(|v| v.map_or_else(|| "null".to_owned(), |v| format!("{v}")))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"s{}\" data-series=\"{}\" data-values=\"[{}]\" points=\"{}\"/>",
            i % 4,
            escape(name),
            data.join(","),
            points.trim_end()
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Where a quantile sits on the curve's x axis: 0 at the median's left edge, one step per
/// "nine" (90 %, 99 %, 99.9 %...), the maximum one step past 99.99 %.
fn nines(quantile: f64) -> f64 {
    if quantile >= 1.0 {
        5.0
    } else {
        (-(1.0 - quantile).log10()).min(5.0)
    }
}

/// The latency at each quantile, on the HDR-style axis of nines.
pub fn percentile_curve(id: &str, title: &str, points: &[(f64, u64)]) -> String {
    if points.is_empty() {
        return empty(id, title, "No echo came back: nothing to plot.");
    }
    let mut svg = open(id, title, &[]);
    let (w, h) = inner();
    let top = nice_max(points.iter().map(|&(_, v)| v as f64).fold(0.0, f64::max));
    y_axis(&mut svg, top, "µs");
    for (label, at) in [
        ("0%", 0.0),
        ("90%", 1.0),
        ("99%", 2.0),
        ("99.9%", 3.0),
        ("99.99%", 4.0),
        ("max", 5.0),
    ] {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            LEFT + w * at / 5.0,
            TOP + h + 16.0
        );
    }
    let mut line = String::new();
    for &(quantile, value) in points {
        let x = LEFT + w * nines(quantile) / 5.0;
        let y = TOP + h - h * value as f64 / top;
        let _ = write!(line, "{x:.1},{y:.1} ");
        let _ = write!(
            svg,
            "<circle class=\"s0\" r=\"3\" cx=\"{x:.1}\" cy=\"{y:.1}\" data-quantile=\"{quantile}\" data-value=\"{value}\"><title>{} %: {value} µs</title></circle>",
            quantile * 100.0
        );
    }
    let _ = write!(
        svg,
        "<polyline class=\"s0\" data-series=\"latency\" points=\"{}\"/>",
        line.trim_end()
    );
    svg.push_str("</svg></figure>");
    svg
}

/// One group of bars per row (a handshake step), one bar per statistic.
pub fn grouped_bars(id: &str, title: &str, stats: &[&str], rows: &[(&str, [u64; 4])]) -> String {
    if rows.is_empty() {
        return empty(id, title, "No connection opened: nothing to plot.");
    }
    let mut svg = open(id, title, stats);
    let (w, h) = inner();
    let top = nice_max(
        rows.iter()
            .flat_map(|(_, values)| values.iter())
            .map(|&v| v as f64)
            .fold(0.0, f64::max),
    );
    y_axis(&mut svg, top, "µs");
    let group = w / rows.len() as f64;
    let bar = group * 0.8 / stats.len() as f64;
    for (g, (step, values)) in rows.iter().enumerate() {
        let left = LEFT + group * g as f64 + group * 0.1;
        for (i, (&stat, &value)) in stats.iter().zip(values).enumerate() {
            let height = h * value as f64 / top;
            let _ = write!(
                svg,
                "<rect class=\"s{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" data-step=\"{}\" data-stat=\"{stat}\" data-value=\"{value}\"><title>{} {stat}: {value} µs</title></rect>",
                i % 4,
                left + bar * i as f64,
                TOP + h - height,
                bar * 0.9,
                escape(step),
                escape(step)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            left + group * 0.4,
            TOP + h + 16.0,
            escape(step)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(4100.0), 5000.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
    }

    #[test]
    fn a_line_chart_carries_its_values_and_leaves_out_missing_seconds() {
        let svg = line_chart(
            "t",
            "T",
            "s",
            "x",
            &[0.0, 1.0, 2.0],
            &[("a", vec![Some(1.0), None, Some(4.0)])],
        );
        assert!(svg.contains("data-values=\"[1,null,4]\""), "{svg}");
        let points = svg.split("points=\"").nth(1).unwrap_or("");
        let points = &points[..points.find('"').unwrap_or(0)];
        assert_eq!(points.split(' ').count(), 2, "{points}");
    }

    #[test]
    fn charts_with_nothing_to_draw_say_so() {
        assert!(line_chart("t", "T", "s", "x", &[], &[]).contains("class=\"empty\""));
        assert!(percentile_curve("d", "D", &[]).contains("No echo"));
        assert!(grouped_bars("h", "H", &["p50"], &[]).contains("No connection"));
    }
}
