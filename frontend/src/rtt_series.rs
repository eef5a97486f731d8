//! The session's recent round trips and messages per second, for the live chart: the last
//! [`SAMPLES`] round trips and the last [`SECONDS`] seconds' echo counts, in fixed space.

use std::collections::VecDeque;

/// Round trips kept for the chart.
pub const SAMPLES: usize = 300;

/// Seconds of messages-per-second kept for the chart.
pub const SECONDS: usize = 60;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RttSeries {
    /// (arrival time in ms since the epoch, round trip in ms), oldest first.
    pub samples: VecDeque<(f64, f64)>,
    /// (whole second since the epoch, echoes that arrived in it), oldest first.
    pub per_second: VecDeque<(i64, u32)>,
}

impl RttSeries {
    /// An echo arrived at `at`; `rtt_ms` if it was matched to its send.
    pub fn record(&mut self, at: f64, rtt_ms: Option<f64>) {
        if let Some(rtt) = rtt_ms {
            if self.samples.len() == SAMPLES {
                self.samples.pop_front();
            }
            self.samples.push_back((at, rtt));
        }
        let second = (at / 1000.0).floor() as i64;
        match self.per_second.back_mut() {
            Some((last, count)) if *last == second => *count += 1,
            _ => {
                self.per_second.push_back((second, 1));
                while self.per_second.len() > SECONDS {
                    self.per_second.pop_front();
                }
            }
        }
    }

    /// The largest round trip kept, for the chart's scale.
    pub fn max_rtt(&self) -> f64 {
        self.samples.iter().map(|s| s.1).fold(0.0, f64::max)
    }

    /// The most echoes in one second kept.
    pub fn max_per_second(&self) -> u32 {
        self.per_second.iter().map(|s| s.1).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn keeps_the_newest_samples_and_counts_each_second() {
        let mut series = RttSeries::default();
        for i in 0..(SAMPLES + 50) {
            series.record(1_000_000.0 + i as f64 * 10.0, Some(i as f64));
        }
        assert_eq!(series.samples.len(), SAMPLES);
        assert_eq!(series.samples.front().map(|s| s.1), Some(50.0));
        assert_eq!(series.max_rtt(), (SAMPLES + 49) as f64);
        // 350 echoes 10 ms apart from a whole second: 100, 100, 100, 50.
        assert_eq!(
            series.per_second.iter().map(|s| s.1).collect::<Vec<_>>(),
            [100, 100, 100, 50]
        );
        assert_eq!(series.max_per_second(), 100);
        series.record(1_003_600.0, None);
        assert_eq!(
            series.per_second.back(),
            Some(&(1_003, 51)),
            "unmatched echoes count too"
        );
        for second in 0..100 {
            series.record(2_000_000.0 + f64::from(second) * 1000.0, None);
        }
        assert_eq!(series.per_second.len(), SECONDS);
    }
}
