//! `--report FILE.html`: one self-contained HTML file of the run (no network needed to open
//! it): throughput, latency percentiles and connections over time, the latency distribution,
//! handshake times, errors, the generator's own CPU, and what was run where. Hand-written SVG
//! ([`svg`]); the page's colours are the tester page's, light and dark.
//!
//! Every plotted series also carries its numbers (`data-values`), and the run's JSON line is
//! embedded (`<script type="application/json" id="run">`), so that a test can hold the drawing
//! against the figures.

pub mod svg;

use std::{fmt::Write as _, path::Path};

use crate::summary::Summary;

/// The quantiles of the latency distribution curve.
const CURVE: [f64; 9] = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0];

/// Where and when the run was made, for the report's header.
pub struct Provenance {
    pub version: &'static str,
    pub date: String,
    pub machine: String,
}

impl Provenance {
    /// This machine: its host name, CPU model and core count; the date in UTC.
    pub fn here() -> Provenance {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown host".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        Provenance {
            version: env!("CARGO_PKG_VERSION"),
            date: utc_now(),
            machine: format!("{host}, {cpu}, {cores} cores"),
        }
    }
}

/// Now as `YYYY-MM-DD HH:MM:SS UTC`, from the system clock (civil-from-days, no time crate).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Writes the report of `summary` to `path`.
pub fn write(path: &Path, summary: &Summary, provenance: &Provenance) -> std::io::Result<()> {
    std::fs::write(path, html(summary, provenance))
}

/// The report's text.
pub fn html(summary: &Summary, provenance: &Provenance) -> String {
    let d = &summary.described;
    let seconds: Vec<f64> = (0..summary.per_second.len()).map(|t| t as f64).collect();
    let series = |f: &dyn Fn(&crate::live::Second) -> Option<u64>| -> Vec<Option<f64>> {
        summary
            .per_second
            .iter()
            .map(|s| f(s).map(|v| v as f64))
            .collect()
    };
    let throughput = svg::line_chart(
        "throughput",
        "Echoes per second",
        "s",
        "msgs/s",
        &seconds,
        &[
            ("received", series(&|s| Some(s.received))),
            ("sent", series(&|s| Some(s.sent))),
        ],
    );
    let latency = svg::line_chart(
        "latency",
        "Round trip per second: p50 and p99",
        "s",
        "µs",
        &seconds,
        &[
            ("p50", series(&|s| s.p50_us)),
            ("p99", series(&|s| s.p99_us)),
        ],
    );
    let connections = svg::line_chart(
        "connections",
        "Connections open",
        "s",
        "connections",
        &seconds,
        &[("open", series(&|s| Some(s.open)))],
    );
    let errors = svg::line_chart(
        "errors",
        "Errors per second",
        "s",
        "errors",
        &seconds,
        &[("errors", series(&|s| Some(s.errors)))],
    );
    let curve: Vec<(f64, u64)> = if summary.latency.is_empty() {
        Vec::new()
    } else {
        CURVE
            .iter()
            .map(|&q| {
                let value = if q >= 1.0 {
                    summary.latency.max()
                } else {
                    summary.quantile(q)
                };
                (q, value)
            })
            .collect()
    };
    let distribution = svg::percentile_curve("distribution", "Round-trip distribution", &curve);
    let handshakes: Vec<(&str, [u64; 4])> = summary
        .handshake
        .iter()
        .map(|(step, f)| (*step, [f.p50, f.p90, f.p99, f.max]))
        .collect();
    let handshake = svg::grouped_bars(
        "handshake",
        "Opening a connection (µs)",
        &["p50", "p90", "p99", "max"],
        &handshakes,
    );

    let mut page = String::with_capacity(64 * 1024);
    page.push_str(HEAD);
    let _ = write!(
        page,
        "<h1>ws-echo bench: {} against {}</h1>\n<p class=\"muted\">{} &middot; bench {} &middot; {}</p>\n",
        escape(&d.mode),
        escape(&d.target),
        escape(&provenance.date),
        escape(provenance.version),
        escape(&provenance.machine)
    );
    let _ = writeln!(
        page,
        "<pre class=\"command\">{}</pre>",
        escape(&d.command_line)
    );
    if !summary.broken.is_empty() {
        page.push_str("<div class=\"broken\"><strong>Thresholds broken</strong><ul>");
        for broken in &summary.broken {
            let _ = write!(page, "<li>{}</li>", escape(&broken.to_string()));
        }
        page.push_str("</ul></div>\n");
    }
    page.push_str("<section class=\"figures\">");
    let q = |quantile| summary.quantile(quantile);
    for (label, value) in [
        ("connections", d.connections.to_string()),
        ("duration", format!("{:.1} s", summary.seconds)),
        ("sent", summary.sent.to_string()),
        ("received", summary.received.to_string()),
        ("msgs/s", format!("{:.0}", summary.rate)),
        ("p50", format!("{} µs", q(0.5))),
        ("p99", format!("{} µs", q(0.99))),
        ("max", format!("{} µs", summary.latency.max())),
        ("errors", summary.errors.to_string()),
    ] {
        let _ = write!(
            page,
            "<div class=\"figure\"><span>{label}</span><b data-figure=\"{label}\">{}</b></div>",
            escape(&value)
        );
    }
    page.push_str("</section>\n");
    let _ = writeln!(
        page,
        "<p class=\"{}\" id=\"generator\">The generator used {:.0} % of its one core ({:.0} ns per message){}</p>",
        if summary.generator_bound { "warn" } else { "muted" },
        summary.cpu_pct,
        summary.cpu_ns_per_msg,
        if summary.generator_bound {
            ": GENERATOR-BOUND, these figures measure the generator, not the server. Run it on \
             another core or machine, or with fewer connections."
        } else {
            ": not the bottleneck."
        }
    );
    if let Some(error) = &summary.first_error {
        let _ = writeln!(
            page,
            "<p class=\"warn\">First error: {}</p>",
            escape(&ws_peer_text::escaped_cut(error, 500))
        );
    }
    if !summary.failures.is_empty() {
        page.push_str("<p>Connections that failed to open: ");
        let kinds: Vec<String> = summary
            .failures
            .iter()
            .map(|(kind, count)| format!("{} {count}", escape(kind)))
            .collect();
        page.push_str(&kinds.join(", "));
        page.push_str("</p>\n");
    }
    page.push_str("<div class=\"charts\">\n");
    for chart in [
        throughput,
        latency,
        distribution,
        handshake,
        connections,
        errors,
    ] {
        page.push_str(&chart);
        page.push('\n');
    }
    page.push_str("</div>\n");
    let json = summary.json().to_string().replace("</", "<\\/");
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"run\">{json}</script>\n</body>\n</html>\n"
    );
    page
}

/// Text for HTML: `&`, `<`, `>`, quotes escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ws-echo bench report</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px;
          line-height: 1.4; color-scheme: light dark;
          --mono: ui-monospace, "SF Mono", "DejaVu Sans Mono", Menlo, monospace;
          --bg: #f6f7f9; --panel: #ffffff; --fg: #1d2330; --muted: #5a6575; --border: #d5dae1;
          --rule: #eef0f3; --accent: #2857c5; --second: #8a5700; --err: #b3261e; --warn: #8a5700; }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #14171c; --panel: #1c2027; --fg: #e6e9ee; --muted: #a2adbb; --border: #343b46;
            --rule: #272c34; --accent: #8fb2ff; --second: #f0b453; --err: #ff8a80; --warn: #f0b453; }
  }
  body { margin: 0 auto; padding: 1.5rem; max-width: 76rem; background: var(--bg); color: var(--fg); }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .muted { color: var(--muted); }
  .warn { color: var(--warn); font-weight: 600; }
  .command { font-family: var(--mono); background: var(--panel); border: 1px solid var(--border);
             border-radius: .4rem; padding: .5rem .75rem; white-space: pre-wrap; word-break: break-all; }
  .broken { border: 1px solid var(--err); color: var(--err); border-radius: .4rem; padding: .5rem .75rem; }
  .figures { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; }
  .figure { background: var(--panel); border: 1px solid var(--border); border-radius: .4rem;
            padding: .4rem .7rem; display: flex; flex-direction: column; min-width: 6rem; }
  .figure span { color: var(--muted); font-size: .85rem; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(32rem, 1fr)); gap: 1rem; }
  figure.chart { margin: 0; background: var(--panel); border: 1px solid var(--border);
                 border-radius: .55rem; padding: .75rem; }
  figure.chart figcaption { font-weight: 600; margin-bottom: .25rem; }
  svg { width: 100%; height: auto; font-size: 11px; }
  svg .axis { stroke: var(--border); }
  svg .grid { stroke: var(--rule); }
  svg text { fill: var(--muted); }
  svg .s0 { stroke: var(--accent); fill: var(--accent); }
  svg .s1 { stroke: var(--second); fill: var(--second); }
  svg .s2 { stroke: var(--err); fill: var(--err); }
  svg .s3 { stroke: var(--muted); fill: var(--muted); }
  svg polyline[class] { fill: none; stroke-width: 2; }
  .legend span { margin-right: 1rem; font-size: .85rem; }
  .legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: .2rem; margin-right: .3rem;
              vertical-align: -1px; }
  .legend .s0 { background: var(--accent); } .legend .s1 { background: var(--second); }
  .legend .s2 { background: var(--err); } .legend .s3 { background: var(--muted); }
  .empty { color: var(--muted); font-style: italic; }
</style>
</head>
<body>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_for_html_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn the_date_is_a_calendar_date() {
        let now = utc_now();
        assert_eq!(now.len(), "2026-12-06 10:00:00 UTC".len(), "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
