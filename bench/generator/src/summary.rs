//! The run's figures, once it is over: what the table, the JSON line and the HTML report show,
//! computed in one place so that the three agree.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::{
    cpu::Spent,
    live::{Second, State},
    load::Tally,
    thresholds::Broken,
};

/// Above this share of its one core the generator, not the server, may be the limit.
pub const GENERATOR_BOUND_PCT: f64 = 90.0;

/// Percentiles of a histogram in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    /// `None` for an empty histogram.
    pub fn of(histogram: &Histogram<u64>) -> Option<Percentiles> {
        (!histogram.is_empty()).then(|| Percentiles {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.5),
            p90: histogram.value_at_quantile(0.9),
            p99: histogram.value_at_quantile(0.99),
            max: histogram.max(),
        })
    }

    fn json(self) -> Value {
        json!({"count": self.count, "p50_us": self.p50, "p90_us": self.p90, "p99_us": self.p99, "max_us": self.max})
    }
}

/// What the run is, for the header of the report and the JSON.
#[derive(Debug, Clone)]
pub struct Described {
    pub mode: String,
    pub target: String,
    pub connections: u32,
    pub size: usize,
    pub binary: bool,
    pub compress: bool,
    pub command_line: String,
}

/// Everything the run measured.
pub struct Summary {
    pub described: Described,
    pub seconds: f64,
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub rate: f64,
    /// The round trip over the whole run (3 significant figures), and its percentile curve.
    pub latency: Histogram<u64>,
    pub late_sends: u64,
    pub cpu_pct: f64,
    pub cpu_ns_per_msg: f64,
    pub generator_bound: bool,
    pub sent_ratio: Option<f64>,
    /// The whole opening, then TCP connect, TLS and upgrade (those measured).
    pub handshake: Vec<(&'static str, Percentiles)>,
    pub failures: BTreeMap<String, u64>,
    /// Second by second, from the start: index t is the run's second t.
    pub per_second: Vec<Second>,
    pub broken: Vec<Broken>,
}

impl Summary {
    pub fn new(
        described: Described,
        tally: Tally,
        live: &State,
        seconds: f64,
        usage: &Spent,
        sent_ratio: Option<f64>,
    ) -> Summary {
        let cpu_pct = usage.percent_of_one_core();
        let mut handshake = Vec::new();
        for (step, histogram) in [
            ("total", &live.handshakes.total),
            ("connect", &live.handshakes.connect),
            ("tls", &live.handshakes.tls),
            ("upgrade", &live.handshakes.upgrade),
        ] {
            if let Some(figures) = Percentiles::of(histogram) {
                handshake.push((step, figures));
            }
        }
        let per_second = live.seconds.clone();
        Summary {
            described,
            seconds,
            sent: tally.sent,
            received: tally.received,
            errors: tally.errors,
            first_error: tally.first_error,
            rate: tally.received as f64 / seconds.max(1e-9),
            latency: tally.latency,
            late_sends: tally.late_sends,
            cpu_pct,
            cpu_ns_per_msg: usage.cpu_seconds * 1e9 / tally.received.max(1) as f64,
            // Only a run that moved messages can have been held back by its generator.
            generator_bound: cpu_pct > GENERATOR_BOUND_PCT && tally.received > 0,
            sent_ratio,
            handshake,
            failures: tally.failures,
            per_second,
            broken: Vec::new(),
        }
    }

    pub fn quantile(&self, quantile: f64) -> u64 {
        self.latency.value_at_quantile(quantile)
    }

    /// The one JSON line of `--json` (also embedded in the report).
    pub fn json(&self) -> Value {
        let d = &self.described;
        let q = |quantile| self.quantile(quantile);
        let handshake: serde_json::Map<String, Value> = self
            .handshake
            .iter()
            .map(|(step, figures)| ((*step).to_owned(), figures.json()))
            .collect();
        let per_second: Vec<Value> = self
            .per_second
            .iter()
            .enumerate()
            .map(|(t, s)| {
                json!({"t": t, "sent": s.sent, "received": s.received, "errors": s.errors,
                       "open": s.open, "p50_us": s.p50_us, "p99_us": s.p99_us})
            })
            .collect();
        json!({
            "mode": d.mode, "target": d.target, "connections": d.connections, "size": d.size,
            "type": if d.binary { "binary" } else { "text" }, "duration_s": self.seconds,
            "sent": self.sent, "received": self.received, "errors": self.errors,
            "first_error": self.first_error, "msgs_per_s": self.rate.round(),
            "p50_us": q(0.5), "p90_us": q(0.9), "p99_us": q(0.99), "p999_us": q(0.999),
            "max_us": self.latency.max(),
            "generator_cpu_pct": (self.cpu_pct * 10.0).round() / 10.0,
            "generator_cpu_ns_per_msg": self.cpu_ns_per_msg.round(),
            "generator_bound": self.generator_bound,
            "late_sends": self.late_sends,
            "compress": d.compress,
            "sent_wire_ratio": self.sent_ratio.map(|r| (r * 1000.0).round() / 1000.0),
            "handshake": handshake,
            "connect_failures": self.failures,
            "thresholds_broken": self.broken.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "per_second": per_second,
        })
    }

    /// The table on stdout, and the first error on stderr.
    pub fn print_table(&self) {
        use std::io::Write as _;
        // A closed stdout (`bench | head`) must not panic the run: written at once, errors
        // ignored.
        let _ = std::io::stdout().write_all(self.table().as_bytes());
        if let Some(error) = &self.first_error {
            eprintln!("first error: {}", ws_peer_text::visible(error));
        }
    }

    /// The table's text.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let d = &self.described;
        let q = |quantile| self.quantile(quantile);
        let _ = writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>9} {:>10} {:>10} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "mode",
            "conns",
            "size",
            "duration",
            "sent",
            "received",
            "errors",
            "msgs/s",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs"
        );
        let _ = writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>8.1}s {:>10} {:>10} {:>7} {:>11.0} {:>8} {:>8} {:>8} {:>8} {:>8}",
            d.mode,
            d.connections,
            d.size,
            self.seconds,
            self.sent,
            self.received,
            self.errors,
            self.rate,
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            self.latency.max()
        );
        for (step, f) in &self.handshake {
            let _ = writeln!(
            out,
                "handshake {step:<8} p50 {:>7} µs  p90 {:>7} µs  p99 {:>7} µs  max {:>7} µs  ({} connections)",
                f.p50, f.p90, f.p99, f.max, f.count
            );
        }
        if !self.failures.is_empty() {
            let kinds: Vec<String> = self
                .failures
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            let _ = writeln!(out, "connections that failed to open: {}", kinds.join(", "));
        }
        let _ = writeln!(
            out,
            "generator: {:.0} % of one core ({:.0} ns per message){}",
            self.cpu_pct,
            self.cpu_ns_per_msg,
            if self.generator_bound {
                " -- GENERATOR-BOUND: the figure measures the generator, not the server"
            } else {
                ""
            }
        );
        if let Some(ratio) = self.sent_ratio {
            let _ = writeln!(
                out,
                "compressed: JSON-like text, sent at {:.0} % of its size on the wire",
                ratio * 100.0
            );
        }
        out
    }
}
