//! The load each connection puts on the server (modes, the plan), and what it measures (the
//! tally).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use hdrhistogram::Histogram;

use crate::dial::ConnectError;

/// After the writers stop, how long readers wait for the last echoes before counting them lost.
pub const DRAIN: Duration = Duration::from_secs(5);

/// tokio's timer wheel has 1 ms ticks, so a rate-mode send fires up to about 1 ms after it was
/// due; a send later than this is counted in `late_sends`, the generator's own lateness.
pub const TIMER_SLACK: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Each connection writes as fast as it can while reading the echoes, with at most
    /// --window messages in flight.
    Flood,
    /// One message in flight per connection.
    PingPong,
    /// A fixed total rate (--rate msgs/s) spread over the connections.
    Rate,
    /// Open the connections and hold them; check a sample still echoes.
    Idle,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub size: usize,
    pub text: bool,
    pub duration: Duration,
    /// Rate mode: messages per second per connection.
    pub per_connection_rate: f64,
    /// Flood mode: messages sent and not yet echoed, at most, per connection.
    pub window: u64,
    /// `--compress`: the messages sent, precompressed, instead of self-describing ones.
    pub corpus: Option<Arc<crate::compressed::Corpus>>,
}

/// What one connection (or all, merged) saw.
pub struct Tally {
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Round trips in microseconds.
    pub latency: Histogram<u64>,
    /// Rate mode: messages the generator itself sent more than [`TIMER_SLACK`] after they were
    /// due (its thread or the machine stalled), not held up by the server. Their latency counts
    /// from the actual send; a message the server held up (its socket full) counts from when it
    /// was due, so a server's queue is never hidden.
    pub late_sends: u64,
    /// Openings that failed, by kind ([`crate::dial::FailureKind::label`]); also in `errors`.
    pub failures: BTreeMap<String, u64>,
    /// Round trips recorded since the live figures last took them ([`crate::live::Live`]).
    pub recent: Vec<u64>,
    /// What the live figures have already taken: sent, received, errors.
    pub(crate) reported: (u64, u64, u64),
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            sent: 0,
            received: 0,
            errors: 0,
            first_error: None,
            // 1 µs to 100 s, 3 significant figures.
            latency: Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds"),
            late_sends: 0,
            failures: BTreeMap::new(),
            recent: Vec::new(),
            reported: (0, 0, 0),
        }
    }

    /// An opening failed: an error, counted by its kind.
    pub fn connect_failed(&mut self, error: &ConnectError) {
        *self.failures.entry(error.kind.label()).or_default() += 1;
        self.error(error.to_string());
    }

    pub fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    pub fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.received += other.received;
        self.errors += other.errors;
        self.late_sends += other.late_sends;
        for (kind, count) in other.failures {
            *self.failures.entry(kind).or_default() += count;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        let _ = self.latency.add(other.latency);
    }

    /// An echo of a message sent at `sent_nanos` arrived at `now` (both since the start).
    #[inline]
    pub fn record(&mut self, now: u64, sent_nanos: u64) {
        let micros = (now.saturating_sub(sent_nanos) / 1000).max(1);
        let _ = self.latency.record(micros);
        self.recent.push(micros);
        self.received += 1;
    }
}
