//! `GET /metrics` in the Prometheus/OpenMetrics text format, one registry per server.
//!
//! The per-message counters are resolved once, so the echo loop only bumps atomics.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::{Metric, Registry},
};

use crate::{
    limits::{http_guard::HttpCounters, memory_budget::BudgetGauges},
    protocol::permessage_deflate::DeflateCounters,
};

type Labels = Vec<(&'static str, String)>;

/// Text or binary: how metrics label a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Binary,
}

/// Hears about each message as the loop handles it: the server counts them into its metrics
/// and the connection's log line; tests pass `()`.
pub trait Observer {
    /// A data message arrived.
    fn received(&mut self, kind: Kind, bytes: usize);
    /// Its echo was handed to the connection, `took` after it arrived.
    fn echoed(&mut self, kind: Kind, bytes: usize, took: Duration);
}

/// Why an upgrade was refused, as the `reason` label says it.
#[derive(Debug, Clone, Copy)]
pub enum Rejection {
    Origin,
    Capacity,
    ShuttingDown,
    BadHandshake,
    /// A fault parameter in the URL with a value it does not take.
    BadFixtureParameter,
    /// `refuse=STATUS` in the URL.
    AskedToRefuse,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::Origin => "origin",
            Rejection::Capacity => "capacity",
            Rejection::ShuttingDown => "shutting_down",
            Rejection::BadHandshake => "bad_handshake",
            Rejection::BadFixtureParameter => "bad_fixture_parameter",
            Rejection::AskedToRefuse => "refuse_asked",
        }
    }
}

/// Registers `metric` under `name` and gives it back: a metric is a handle, and the one kept
/// counts into the one registered.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// `echo_messages_total` and `echo_bytes_total` by direction and type, each series resolved once
/// so the echo loop only bumps atomics.
fn register_flows(registry: &mut Registry) -> [Flow; 4] {
    let messages = registered(
        registry,
        "messages",
        "Data messages by direction and type",
        Family::<Labels, Counter>::default(),
    );
    let bytes = registered(
        registry,
        "bytes",
        "Payload bytes of data messages by direction and type",
        Family::<Labels, Counter>::default(),
    );
    [
        (false, Kind::Text),
        (false, Kind::Binary),
        (true, Kind::Text),
        (true, Kind::Binary),
    ]
    .map(|(incoming, kind)| {
        let labels = vec![
            ("direction", if incoming { "in" } else { "out" }.to_owned()),
            (
                "type",
                if kind == Kind::Text { "text" } else { "binary" }.to_owned(),
            ),
        ];
        Flow {
            messages: messages.get_or_create(&labels).clone(),
            bytes: bytes.get_or_create(&labels).clone(),
        }
    })
}

/// The memory budget's gauges (limits/memory_budget.rs keeps them up to date).
fn register_budget(registry: &mut Registry) -> BudgetGauges {
    let budget = BudgetGauges::default();
    registry.register(
        "memory_held_bytes",
        "Bytes held for connections' data not yet echoed or written, all together",
        budget.held.clone(),
    );
    registry.register(
        "memory_budget_bytes",
        "The most memory_held_bytes may reach (--memory-budget)",
        budget.budget.clone(),
    );
    registry.register(
        "memory_budget_closes",
        "Connections closed (1013) because the memory budget was reached",
        budget.closed.clone(),
    );
    budget
}

/// `echo_deflate_bytes_total` by direction and stage (wire, payload).
fn register_deflate(registry: &mut Registry) -> DeflateCounters {
    let deflate_bytes = registered(
        registry,
        "deflate_bytes",
        "Compressed (permessage-deflate) messages' bytes, by direction, on the wire and as \
         payload; payload / wire is the compression ratio",
        Family::<Labels, Counter>::default(),
    );
    let stage = |direction: &str, stage: &str| {
        deflate_bytes
            .get_or_create(&vec![
                ("direction", direction.to_owned()),
                ("stage", stage.to_owned()),
            ])
            .clone()
    };
    DeflateCounters {
        in_wire: stage("in", "wire"),
        in_payload: stage("in", "payload"),
        out_payload: stage("out", "payload"),
        out_wire: stage("out", "wire"),
    }
}

/// The `echo_http_*` metrics of plain HTTP connections (backend/src/limits/http_guard).
fn register_http(registry: &mut Registry) -> HttpCounters {
    let http = HttpCounters::default();
    registry.register(
        "http_connections_open",
        "Plain HTTP connections open now (not WebSockets; TLS handshakes included)",
        http.open.clone(),
    );
    registry.register(
        "http_connections_closed",
        "Plain HTTP connections the server closed, by reason: keep_alive_timeout, \
         head_timeout, request_timeout, made_room (--max-http-connections reached)",
        http.closed.clone(),
    );
    registry.register(
        "http_connections_refused",
        "New connections refused (503) because every plain HTTP connection was busy",
        http.refused.clone(),
    );
    http
}

/// One direction and kind of message: its message and byte counters.
#[derive(Debug, Clone, Default)]
struct Flow {
    messages: Counter,
    bytes: Counter,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    open: Gauge,
    parked: Gauge,
    opened: Counter,
    flows: [Flow; 4],
    closes: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    handshake: Histogram,
    echo_latency: Histogram,
    budget: BudgetGauges,
    http: HttpCounters,
    deflate: DeflateCounters,
    deflate_connections: Counter,
    fixture: Family<Labels, Counter>,
}

fn flow_index(incoming: bool, kind: Kind) -> usize {
    usize::from(incoming) * 2 + usize::from(kind == Kind::Binary)
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("echo");
        let r = &mut registry;
        let open = registered(
            r,
            "connections_open",
            "WebSocket connections open now",
            Gauge::default(),
        );
        let parked = registered(
            r,
            "connections_parked",
            "Open WebSocket connections parked while idle (no task of their own)",
            Gauge::default(),
        );
        let opened = registered(
            r,
            "connections",
            "WebSocket connections opened",
            Counter::default(),
        );
        let flows = register_flows(r);
        let closes = registered(
            r,
            "closes",
            "Connections ended, by close code (1006: no close frame)",
            Family::default(),
        );
        let rejected = registered(
            r,
            "rejected_upgrades",
            "Upgrades refused, by reason",
            Family::default(),
        );
        // 10 µs to about 2.6 s.
        let handshake = registered(
            r,
            "handshake_seconds",
            "Time to answer an upgrade request",
            Histogram::new(exponential_buckets(0.000_01, 4.0, 10)),
        );
        let echo_latency = registered(
            r,
            "echo_latency_seconds",
            "From a message's arrival to its echo being handed to the connection",
            Histogram::new(exponential_buckets(0.000_01, 4.0, 10)),
        );
        let budget = register_budget(r);
        let http = register_http(r);
        registered(
            r,
            "log_lines_dropped",
            "Log lines dropped because the log output (stderr) did not keep up",
            crate::logging::log_writer::DROPPED_LINES.clone(),
        );
        let deflate = register_deflate(r);
        let deflate_connections = registered(
            r,
            "deflate_connections",
            "WebSocket connections that agreed permessage-deflate",
            Counter::default(),
        );
        let fixture = registered(
            r,
            "fixture_connections",
            "Upgrades that asked for a fault in the URL, by fault (one count per fault used)",
            Family::default(),
        );
        Arc::new(Metrics {
            fixture,
            registry,
            open,
            parked,
            opened,
            flows,
            closes,
            rejected,
            handshake,
            echo_latency,
            budget,
            http,
            deflate,
            deflate_connections,
        })
    }

    /// Counts a connection that agreed permessage-deflate; its counters for the bytes.
    pub fn deflate_agreed(&self) -> DeflateCounters {
        self.deflate_connections.inc();
        self.deflate.clone()
    }

    /// The counters the server's plain HTTP connections keep up to date.
    pub fn http_counters(&self) -> HttpCounters {
        self.http.clone()
    }

    /// The gauges the server's [`crate::limits::memory_budget::MemoryBudget`] keeps up to date.
    pub fn budget_gauges(&self) -> BudgetGauges {
        self.budget.clone()
    }

    pub fn rejected(&self, why: Rejection) {
        self.rejected
            .get_or_create(&vec![("reason", why.label().to_owned())])
            .inc();
    }

    /// Counts an upgrade that asked for these faults (their names are ours, a bounded set).
    pub fn fixture_used(&self, faults: &[&'static str]) {
        for fault in faults {
            self.fixture
                .get_or_create(&vec![("fault", (*fault).to_owned())])
                .inc();
        }
    }

    pub fn handshake_took(&self, took: Duration) {
        self.handshake.observe(took.as_secs_f64());
    }

    /// Connections parked now.
    pub fn parked(&self) -> i64 {
        self.parked.get()
    }

    /// Counts a new connection; the record counts its messages and reports its end.
    pub fn connection_opened(self: &Arc<Self>) -> ConnectionRecord {
        self.opened.inc();
        self.open.inc();
        ConnectionRecord {
            metrics: Arc::clone(self),
            opened_at: Instant::now(),
            tally: Tally::default(),
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// The `code` label of a close code. Clients choose their codes, and a series per code would
/// let one client grow `/metrics` by thousands of series: registered codes keep their own
/// label, the ranges for libraries and applications (RFC 6455 §7.4.2) one each.
pub fn close_code_label(code: u16) -> &'static str {
    match code {
        1000 => "1000",
        1001 => "1001",
        1002 => "1002",
        1003 => "1003",
        1005 => "1005",
        1006 => "1006",
        1007 => "1007",
        1008 => "1008",
        1009 => "1009",
        1010 => "1010",
        1011 => "1011",
        1012 => "1012",
        1013 => "1013",
        1014 => "1014",
        1015 => "1015",
        3000..=3999 => "3000-3999",
        4000..=4999 => "4000-4999",
        _ => "other",
    }
}

/// Messages and bytes of one connection, for its closing log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
}

/// One connection's view of the metrics, alive while the connection is.
#[derive(Debug)]
pub struct ConnectionRecord {
    metrics: Arc<Metrics>,
    opened_at: Instant,
    tally: Tally,
}

impl ConnectionRecord {
    /// Counts the close code (`None`: the connection ended without a close frame) and returns
    /// how long it lasted and what it carried.
    pub fn closed(self, code: Option<u16>) -> (Duration, Tally) {
        self.metrics
            .closes
            .get_or_create(&vec![(
                "code",
                close_code_label(code.unwrap_or(1006)).to_owned(),
            )])
            .inc();
        (self.opened_at.elapsed(), self.tally)
    }
}

impl ConnectionRecord {
    /// The server's permessage-deflate counters, for a connection taken up again after parking
    /// (not counted as a new agreement).
    pub fn deflate_counters(&self) -> DeflateCounters {
        self.metrics.deflate.clone()
    }

    /// The connection left its task to wait parked (`true`), or came back to one (`false`).
    pub fn set_parked(&self, parked: bool) {
        if parked {
            self.metrics.parked.inc();
        } else {
            self.metrics.parked.dec();
        }
    }
}

impl Drop for ConnectionRecord {
    fn drop(&mut self) {
        self.metrics.open.dec();
    }
}

impl Observer for ConnectionRecord {
    fn received(&mut self, kind: Kind, bytes: usize) {
        let flow = &self.metrics.flows[flow_index(true, kind)];
        flow.messages.inc();
        flow.bytes.inc_by(bytes as u64);
        self.tally.messages_in += 1;
        self.tally.bytes_in += bytes as u64;
    }

    fn echoed(&mut self, kind: Kind, bytes: usize, took: Duration) {
        let flow = &self.metrics.flows[flow_index(false, kind)];
        flow.messages.inc();
        flow.bytes.inc_by(bytes as u64);
        self.metrics.echo_latency.observe(took.as_secs_f64());
        self.tally.messages_out += 1;
        self.tally.bytes_out += bytes as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_bytes_closes_and_rejections() {
        let metrics = Metrics::new();
        let mut record = metrics.connection_opened();
        record.received(Kind::Text, 5);
        record.echoed(Kind::Text, 5, Duration::from_micros(40));
        record.received(Kind::Binary, 1000);
        metrics.rejected(Rejection::Origin);
        let text = metrics.render();
        assert!(text.contains("echo_connections_open 1"), "{text}");
        let (_, tally) = record.closed(Some(1000));
        assert_eq!(
            tally,
            Tally {
                messages_in: 2,
                bytes_in: 1005,
                messages_out: 1,
                bytes_out: 5
            }
        );

        let text = metrics.render();
        for line in [
            "echo_connections_open 0",
            "echo_connections_total 1",
            r#"echo_messages_total{direction="in",type="text"} 1"#,
            r#"echo_messages_total{direction="in",type="binary"} 1"#,
            r#"echo_messages_total{direction="out",type="text"} 1"#,
            r#"echo_bytes_total{direction="in",type="binary"} 1000"#,
            r#"echo_closes_total{code="1000"} 1"#,
            r#"echo_rejected_upgrades_total{reason="origin"} 1"#,
            "echo_echo_latency_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }
}
