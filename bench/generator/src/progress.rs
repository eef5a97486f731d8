//! The live line on a terminal while the run goes: elapsed / total, connections open, echoes
//! per second now, p99 so far, errors. Drawn by indicatif a few times a second on stdout, and
//! only when stdout is a terminal and the output is not `--json`; cleared before the table.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::live::Live;

/// How often the line is redrawn.
const EVERY: Duration = Duration::from_millis(250);

/// The live line while it is shown.
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts the line for a run of `total`, or nothing when `shown` is false.
    pub fn start(live: Arc<Live>, total: Duration, shown: bool) -> Option<Progress> {
        if !shown {
            return None;
        }
        live.showing_progress();
        let bar = ProgressBar::with_draw_target(
            Some(total.as_millis() as u64),
            ProgressDrawTarget::stdout_with_hz(8),
        );
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:20}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let line = bar.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            let mut last = (Instant::now(), 0u64);
            loop {
                ticks.tick().await;
                let now = Instant::now();
                let elapsed = now.duration_since(live.started());
                let state = live.snapshot();
                let rate = (state.received - last.1) as f64
                    / now.duration_since(last.0).as_secs_f64().max(1e-3);
                last = (now, state.received);
                let p99 = match &state.latency {
                    Some(latency) if !latency.is_empty() => {
                        format!("{} µs", latency.value_at_quantile(0.99))
                    }
                    _ => "-".to_owned(),
                };
                line.set_prefix(format!(
                    "{:>5.1}s / {:.0}s",
                    elapsed.as_secs_f64(),
                    total.as_secs_f64()
                ));
                line.set_message(format!(
                    "{} open  {:.0} msgs/s  p99 {p99}  errors {}",
                    state.open, rate, state.errors
                ));
                drop(state);
                line.set_position(elapsed.as_millis().min(total.as_millis()) as u64);
            }
        });
        Some(Progress { bar, task })
    }

    /// Stops and clears the line.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
