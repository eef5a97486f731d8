//! How often, and for how long, this machine takes the CPU away from a thread that never
//! sleeps: it reads the clock in a tight loop for --duration and reports every gap between two
//! readings over 100 µs. On a quiet machine the gaps are a few µs (a timer interrupt); on a
//! virtual machine whose host deschedules it they reach milliseconds, and any latency measured
//! there (a p99 at a fixed rate) has them in it.
//!
//! ```text
//! taskset -c 1 cargo run --release -p bench --bin stall_meter -- --duration 2s
//! ```
//! `scripts/bench.sh` runs it on both CPUs after each rate round and prints what it found beside
//! the round's p99.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use clap::Parser;

/// Measures the stalls a busy thread sees on this machine.
#[derive(Debug, Parser)]
#[command(name = "stall_meter", version)]
struct Args {
    /// How long to spin (one CPU stays busy all that time).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// One JSON object on one line instead of the text.
    #[arg(long)]
    json: bool,
}

/// A gap this long between two clock readings counts as a stall.
const STALL: Duration = Duration::from_micros(100);
/// Above this too: the scale of the p99 the benchmark measures.
const LONG_STALL: Duration = Duration::from_millis(1);
/// The longest run accepted: it keeps a CPU fully busy.
const MAX_DURATION: Duration = Duration::from_secs(600);

#[derive(Debug, Default, PartialEq)]
struct Stalls {
    over_100us: u64,
    over_1ms: u64,
    longest: Duration,
    lost: Duration,
}

impl Stalls {
    fn add(&mut self, gap: Duration) {
        if gap > STALL {
            self.over_100us += 1;
            self.lost += gap;
        }
        if gap > LONG_STALL {
            self.over_1ms += 1;
        }
        self.longest = self.longest.max(gap);
    }
}

/// Reads the clock in a loop for `duration`; `between` runs between two readings (nothing, but
/// for the test that makes a stall of its own).
fn spin(duration: Duration, mut between: impl FnMut(Duration)) -> Stalls {
    let start = Instant::now();
    let mut last = start;
    let mut stalls = Stalls::default();
    loop {
        between(last - start);
        let now = Instant::now();
        stalls.add(now - last);
        last = now;
        if now - start >= duration {
            return stalls;
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.duration.is_zero() || args.duration > MAX_DURATION {
        eprintln!("error: --duration must be above 0 and at most 10m (it keeps a CPU busy)");
        return ExitCode::from(2);
    }
    let stalls = spin(args.duration, |_| {});
    // Milliseconds to the microsecond.
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    if args.json {
        let line = serde_json::json!({
            "duration_s": args.duration.as_secs_f64(),
            "stalls_over_100us": stalls.over_100us,
            "stalls_over_1ms": stalls.over_1ms,
            "longest_ms": ms(stalls.longest),
            "lost_ms": ms(stalls.lost),
        });
        println!("{line}");
    } else {
        println!(
            "in {:.1} s: {} stalls over 100 µs, {} over 1 ms, the longest {:.2} ms, {:.2} ms lost in all",
            args.duration.as_secs_f64(),
            stalls.over_100us,
            stalls.over_1ms,
            ms(stalls.longest),
            ms(stalls.lost)
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_sorted_into_stalls() {
        let mut stalls = Stalls::default();
        for micros in [3, 99, 100, 101, 999, 1_000, 1_001, 4_000] {
            stalls.add(Duration::from_micros(micros));
        }
        assert_eq!(
            stalls,
            Stalls {
                over_100us: 5,
                over_1ms: 2,
                longest: Duration::from_micros(4_000),
                lost: Duration::from_micros(101 + 999 + 1_000 + 1_001 + 4_000),
            }
        );
    }

    #[test]
    fn a_stall_caused_on_purpose_is_seen() {
        // A thread put to sleep for 5 ms is what a stall looks like to the loop.
        let mut slept = false;
        let stalls = spin(Duration::from_millis(30), |elapsed| {
            if !slept && elapsed >= Duration::from_millis(10) {
                slept = true;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        assert!(slept);
        assert!(stalls.over_1ms >= 1, "{stalls:?}");
        assert!(stalls.longest >= Duration::from_millis(5), "{stalls:?}");
    }
}
