//! When to reconnect after an unexpected close: exponential backoff with jitter.

/// First wait after a drop, in milliseconds.
pub const FIRST_DELAY_MS: f64 = 500.0;
/// Waits stop growing here.
pub const MAX_DELAY_MS: f64 = 30_000.0;

/// The wait before attempt `attempt` (1-based): 0.5 s, 1 s, 2 s … capped at 30 s, each scaled by
/// a factor in [0.5, 1] from `jitter` in [0, 1), so many pages do not reconnect in step.
pub fn delay_ms(attempt: u32, jitter: f64) -> f64 {
    let doubled = FIRST_DELAY_MS * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    doubled.min(MAX_DELAY_MS) * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn doubles_up_to_the_cap_and_jitter_halves_at_most() {
        let full: Vec<f64> = (1..=8).map(|n| delay_ms(n, 1.0)).collect();
        assert_eq!(
            full,
            [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0]
        );
        assert_eq!(delay_ms(3, 0.0), 1000.0);
        assert_eq!(delay_ms(100, 0.0), 15000.0);
        for jitter in [0.0, 0.25, 0.999] {
            let d = delay_ms(2, jitter);
            assert!((500.0..=1000.0).contains(&d), "{d}");
        }
    }
}
