//! Round-trip times summarised in constant space: exact count, minimum, maximum and mean, and
//! percentiles from log-spaced buckets 2 % wide. The state is copied on every action, so a
//! list of every round trip (a long ticker run has millions) would make each echo slower.

/// The smallest time told apart, in ms; anything faster counts as this.
const FLOOR_MS: f64 = 0.01;
/// Each bucket's upper bound is this much above the previous one's: percentiles are at most
/// 2 % above the true value.
const GROWTH: f64 = 1.02;
/// Buckets from 0.01 ms up to 0.01 × 1.02^900 ≈ 5.5 × 10^5 ms (9 minutes); slower is clamped.
const BUCKETS: usize = 900;

#[derive(Debug, Clone, PartialEq)]
pub struct RttStats {
    counts: Vec<u32>,
    count: u64,
    sum_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

impl Default for RttStats {
    fn default() -> Self {
        RttStats {
            counts: vec![0; BUCKETS],
            count: 0,
            sum_ms: 0.0,
            min_ms: f64::INFINITY,
            max_ms: 0.0,
        }
    }
}

fn bucket_of(ms: f64) -> usize {
    if ms <= FLOOR_MS {
        return 0;
    }
    ((ms / FLOOR_MS).ln() / GROWTH.ln())
        .ceil()
        .min((BUCKETS - 1) as f64) as usize
}

fn upper_bound_of(bucket: usize) -> f64 {
    FLOOR_MS * GROWTH.powi(bucket as i32)
}

/// A round trip as the page shows it, with the precision it has: 0.01 ms below 10 ms, 0.1 ms
/// below 100 ms, whole milliseconds above.
pub fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

impl RttStats {
    pub fn record(&mut self, ms: f64) {
        let ms = ms.max(0.0);
        self.counts[bucket_of(ms)] += 1;
        self.count += 1;
        self.sum_ms += ms;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The time at or under which `fraction` of the round trips fall (never above the maximum).
    pub fn percentile(&self, fraction: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((self.count as f64 * fraction).ceil() as u64).clamp(1, self.count);
        // The ends are known exactly.
        if rank == 1 {
            return Some(self.min_ms);
        }
        if rank == self.count {
            return Some(self.max_ms);
        }
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some(upper_bound_of(bucket).clamp(self.min_ms, self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// The round trips in `bins` groups of equal width on a log scale, from the fastest to the
    /// slowest seen: each group's lower and upper bound in ms and how many fell in it.
    pub fn histogram(&self, bins: usize) -> Vec<(f64, f64, u64)> {
        if self.count == 0 || bins == 0 {
            return Vec::new();
        }
        let (first, last) = (bucket_of(self.min_ms), bucket_of(self.max_ms));
        let span = last - first + 1;
        let bins = bins.min(span);
        (0..bins)
            .map(|bin| {
                let from = first + bin * span / bins;
                let to = first + (bin + 1) * span / bins;
                let count = self.counts[from..to].iter().map(|&n| u64::from(n)).sum();
                let low = if from == 0 {
                    0.0
                } else {
                    upper_bound_of(from - 1)
                };
                (
                    low.max(self.min_ms),
                    upper_bound_of(to - 1).min(self.max_ms),
                    count,
                )
            })
            .collect()
    }

    /// Minimum, mean and 99th percentile, in ms.
    pub fn summary(&self) -> Option<(f64, f64, f64)> {
        let p99 = self.percentile(0.99)?;
        Some((self.min_ms, self.sum_ms / self.count as f64, p99))
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn of(times: impl IntoIterator<Item = f64>) -> RttStats {
        let mut stats = RttStats::default();
        times.into_iter().for_each(|ms| stats.record(ms));
        stats
    }

    #[wasm_bindgen_test]
    fn times_are_shown_with_the_precision_they_have() {
        assert_eq!(format_ms(0.734), "0.73 ms");
        assert_eq!(format_ms(9.996), "10.00 ms");
        assert_eq!(format_ms(12.34), "12.3 ms");
        assert_eq!(format_ms(1234.4), "1234 ms");
    }

    #[wasm_bindgen_test]
    fn empty_has_no_summary() {
        assert_eq!(RttStats::default().summary(), None);
    }

    #[wasm_bindgen_test]
    fn min_and_mean_are_exact_and_p99_within_two_percent() {
        let stats = of((1..=200).map(f64::from));
        let (min, mean, p99) = stats.summary().expect("a summary");
        assert_eq!((min, mean), (1.0, 100.5));
        assert!((198.0..=198.0 * GROWTH).contains(&p99), "p99 {p99}");
        assert_eq!(stats.count(), 200);
    }

    #[wasm_bindgen_test]
    fn percentiles_never_leave_the_range_seen() {
        let stats = of([2.5, 9.0]);
        assert_eq!(stats.summary(), Some((2.5, 5.75, 9.0)));
        assert_eq!(stats.percentile(0.0), Some(2.5));
        let one = of([0.0]);
        assert_eq!(one.summary(), Some((0.0, 0.0, 0.0)));
    }

    #[wasm_bindgen_test]
    fn the_histogram_spans_what_was_seen_and_counts_every_round_trip() {
        assert!(RttStats::default().histogram(20).is_empty());
        let stats = of((1..=1000).map(|i| f64::from(i) / 10.0));
        let bins = stats.histogram(20);
        assert_eq!(bins.len(), 20);
        assert_eq!(bins.iter().map(|b| b.2).sum::<u64>(), 1000);
        assert_eq!(bins[0].0, 0.1);
        assert_eq!(bins[19].1, 100.0);
        assert!(bins.windows(2).all(|w| w[0].1 <= w[1].0 + 1e-9), "in order");
        // Log scale: the slow half of the range gets few bins of many round trips.
        assert!(bins[19].2 > bins[0].2);
        let one = of([3.0, 3.0]);
        assert_eq!(one.histogram(20), vec![(3.0, 3.0, 2)]);
    }

    #[wasm_bindgen_test]
    fn extreme_times_are_clamped_not_lost() {
        let stats = of([1e9, 1.0]);
        assert_eq!(stats.count(), 2);
        assert_eq!(stats.percentile(1.0), Some(1e9));
        assert_eq!(stats.percentile(0.5), Some(1.0));
    }
}
