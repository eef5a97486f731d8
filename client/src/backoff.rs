//! When to try again after a lost connection: exponential backoff with jitter, up to a limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First wait after a failure.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// Waits stop growing here.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// The delay before attempt `attempt` (1-based): 0.5 s, 1 s, 2 s, … capped at 30 s, each
/// scaled by a random factor in [0.5, 1.0] so many clients do not retry in step.
pub fn delay(attempt: u32, jitter: f64) -> Duration {
    let doubled = FIRST_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    doubled
        .min(MAX_DELAY)
        .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) that differs between calls and processes: enough for jitter.
pub fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_half_a_second_up_to_the_cap() {
        let full: Vec<Duration> = (1..=8).map(|n| delay(n, 1.0)).collect();
        assert_eq!(
            full[..4],
            [500, 1000, 2000, 4000].map(Duration::from_millis)
        );
        assert_eq!(delay(7, 1.0), MAX_DELAY);
        assert_eq!(delay(100, 1.0), MAX_DELAY);
    }

    #[test]
    fn jitter_scales_between_half_and_all_of_the_delay() {
        assert_eq!(delay(3, 0.0), Duration::from_secs(1));
        assert_eq!(delay(3, 1.0), Duration::from_secs(2));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
            let d = delay(3, j);
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(2));
        }
    }
}
