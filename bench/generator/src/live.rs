//! The run's figures as it goes, second by second: what the progress line shows, the HTML
//! report plots, and `--stages` steers by (connections open). Every connection hands its
//! tally's news over ([`Live::absorb`]) after each read, under one lock, so a flood's hundreds
//! of echoes per read cost one lock; the runtime is single-threaded, so the lock is never
//! contended.

use std::{
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;

use crate::{dial::Timing, load::Tally};

/// The run's live figures.
pub struct Live {
    started: Instant,
    state: Mutex<State>,
}

/// One second of the run.
#[derive(Clone, Debug, Default)]
pub struct Second {
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    /// Connections open at the end of the second (at its last change).
    pub open: u64,
    /// The p50 and p99 round trip, in µs, of the echoes that came back in this second (2
    /// significant figures); `None` while the second runs, or when none came back.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

/// Handshake times in µs, by step, and the whole opening (TCP, TLS, upgrade).
#[derive(Clone)]
pub struct Handshakes {
    pub total: Histogram<u64>,
    pub connect: Histogram<u64>,
    pub tls: Histogram<u64>,
    pub upgrade: Histogram<u64>,
}

/// What [`Live::snapshot`] gives: the figures so far.
pub struct State {
    pub seconds: Vec<Second>,
    /// The round trips of the second now running: only its percentiles are kept once it is
    /// over, so an hour's run keeps 3,600 small records, not 3,600 histograms.
    this_second: Histogram<u64>,
    pub open: u64,
    pub sent: u64,
    pub received: u64,
    pub errors: u64,
    /// Every round trip so far, in µs (2 significant figures): the progress line's p99, kept
    /// only while that line is shown (`Live::showing_progress`; a record per echo is not free).
    pub latency: Option<Histogram<u64>>,
    pub handshakes: Handshakes,
}

/// Round trips from 1 µs to 100 s, 2 significant figures (about 20 KB).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 2).expect("valid histogram bounds")
}

impl Default for Live {
    fn default() -> Self {
        Live::new()
    }
}

impl Live {
    pub fn new() -> Live {
        Live {
            started: Instant::now(),
            state: Mutex::new(State {
                seconds: Vec::new(),
                this_second: histogram(),
                open: 0,
                sent: 0,
                received: 0,
                errors: 0,
                latency: None,
                handshakes: Handshakes {
                    total: histogram(),
                    connect: histogram(),
                    tls: histogram(),
                    upgrade: histogram(),
                },
            }),
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The progress line is shown: keep every round trip for its p99 so far.
    pub fn showing_progress(&self) {
        self.lock().latency.get_or_insert_with(histogram);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere under the lock leaves figures that are still worth showing.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The figures so far, for the progress line and the report.
    pub fn snapshot(&self) -> MutexGuard<'_, State> {
        self.lock()
    }

    /// Takes what `tally` saw since the last call: counts and round trips, into this second.
    pub fn absorb(&self, tally: &mut Tally) {
        let (sent, received, errors) = tally.reported;
        if (sent, received, errors) == (tally.sent, tally.received, tally.errors) {
            return;
        }
        let at = self.started.elapsed();
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(latency) = &mut state.latency {
            for &micros in &tally.recent {
                let _ = latency.record(micros);
            }
        }
        let second = state.second(at);
        second.sent += tally.sent - sent;
        second.received += tally.received - received;
        second.errors += tally.errors - errors;
        for &micros in &tally.recent {
            let _ = state.this_second.record(micros);
        }
        state.sent += tally.sent - sent;
        state.received += tally.received - received;
        state.errors += tally.errors - errors;
        tally.recent.clear();
        tally.reported = (tally.sent, tally.received, tally.errors);
    }

    /// A connection opened, its steps taking `timing`.
    pub fn opened(&self, timing: &Timing) {
        let at = self.started.elapsed();
        let mut state = self.lock();
        let micros = |d: Duration| (d.as_micros() as u64).max(1);
        let total =
            timing.connect + timing.tls.unwrap_or_default() + timing.upgrade.unwrap_or_default();
        let _ = state.handshakes.total.record(micros(total));
        let _ = state.handshakes.connect.record(micros(timing.connect));
        if let Some(tls) = timing.tls {
            let _ = state.handshakes.tls.record(micros(tls));
        }
        if let Some(upgrade) = timing.upgrade {
            let _ = state.handshakes.upgrade.record(micros(upgrade));
        }
        state.open += 1;
        let open = state.open;
        state.second(at).open = open;
    }

    /// An open connection ended.
    pub fn closed(&self) {
        let at = self.started.elapsed();
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        let open = state.open;
        state.second(at).open = open;
    }

    /// The run is over: the last second's percentiles are taken.
    pub fn finish(&self) {
        self.lock().close_second();
    }
}

impl State {
    /// The record of the second `at` falls in, with those before it filled in. Figures come in
    /// as they happen, so `at` never goes back: a new second closes the last one.
    fn second(&mut self, at: Duration) -> &mut Second {
        let index = at.as_secs() as usize;
        if self.seconds.len() <= index {
            self.close_second();
        }
        while self.seconds.len() <= index {
            let open = self.open;
            self.seconds.push(Second {
                open,
                ..Second::default()
            });
        }
        let last = self.seconds.len() - 1;
        &mut self.seconds[index.min(last)]
    }

    /// The running second's percentiles into its record; its histogram emptied for the next.
    fn close_second(&mut self) {
        if let Some(last) = self.seconds.last_mut() {
            if !self.this_second.is_empty() {
                last.p50_us = Some(self.this_second.value_at_quantile(0.5));
                last.p99_us = Some(self.this_second.value_at_quantile(0.99));
            }
        }
        self.this_second.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbed_tallies_land_in_their_second_and_count_once() {
        let live = Live::new();
        let mut tally = Tally::new();
        tally.sent = 3;
        tally.record(2_000_000, 1_000_000);
        tally.record(3_000_000, 1_000_000);
        live.absorb(&mut tally);
        live.absorb(&mut tally); // nothing new: nothing counted twice
        live.finish();
        let state = live.snapshot();
        assert_eq!((state.sent, state.received), (3, 2));
        assert_eq!(state.seconds[0].received, 2);
        // 1 ms and 2 ms, at 2 significant figures.
        assert_eq!(state.seconds[0].p50_us.map(|us| us / 100), Some(10));
        assert_eq!(state.seconds[0].p99_us.map(|us| us / 100), Some(20));
        assert!(tally.recent.is_empty());
    }
}
