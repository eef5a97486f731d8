//! Thresholds for CI: `--max-p99`, `--min-rate`, `--max-errors` (0 unless given) and
//! `--max-handshake-p99`. A run that breaks one ends with [`EXIT_THRESHOLD`] and a line per
//! broken threshold naming it with its figure.

use std::{fmt, time::Duration};

/// The exit status of a run that broke a threshold (documented in `--help` and the README).
pub const EXIT_THRESHOLD: u8 = 3;

/// The limits asked for.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub max_p99: Option<Duration>,
    pub min_rate: Option<f64>,
    pub max_errors: u64,
    pub max_handshake_p99: Option<Duration>,
}

/// The run's figures the thresholds are held against.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub p99: Duration,
    pub rate: f64,
    pub errors: u64,
    /// `None` when no connection opened.
    pub handshake_p99: Option<Duration>,
}

/// One threshold the run broke: its flag, the limit and the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub flag: &'static str,
    pub limit: String,
    pub figure: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "threshold broken: {} {} (the run's figure: {})",
            self.flag, self.limit, self.figure
        )
    }
}

fn shown(duration: Duration) -> String {
    if duration < Duration::from_millis(1) {
        format!("{}µs", duration.as_micros())
    } else {
        format!("{:.3}ms", duration.as_secs_f64() * 1e3)
    }
}

impl Thresholds {
    /// Every threshold `figures` break, in the order of the flags.
    pub fn check(&self, figures: &Figures) -> Vec<Broken> {
        let mut broken = Vec::new();
        if let Some(max) = self.max_p99 {
            if figures.p99 > max {
                broken.push(Broken {
                    flag: "--max-p99",
                    limit: shown(max),
                    figure: format!("p99 {}", shown(figures.p99)),
                });
            }
        }
        if let Some(min) = self.min_rate {
            if figures.rate < min {
                broken.push(Broken {
                    flag: "--min-rate",
                    limit: format!("{min}"),
                    figure: format!("{:.0} msgs/s", figures.rate),
                });
            }
        }
        if figures.errors > self.max_errors {
            broken.push(Broken {
                flag: "--max-errors",
                limit: self.max_errors.to_string(),
                figure: format!("{} errors", figures.errors),
            });
        }
        if let Some(max) = self.max_handshake_p99 {
            match figures.handshake_p99 {
                Some(p99) if p99 <= max => {}
                Some(p99) => broken.push(Broken {
                    flag: "--max-handshake-p99",
                    limit: shown(max),
                    figure: format!("handshake p99 {}", shown(p99)),
                }),
                None => broken.push(Broken {
                    flag: "--max-handshake-p99",
                    limit: shown(max),
                    figure: "no connection opened".into(),
                }),
            }
        }
        broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Figures {
        Figures {
            p99: Duration::from_micros(900),
            rate: 5000.0,
            errors: 0,
            handshake_p99: Some(Duration::from_millis(2)),
        }
    }

    #[test]
    fn thresholds_met_break_nothing() {
        let thresholds = Thresholds {
            max_p99: Some(Duration::from_millis(1)),
            min_rate: Some(4000.0),
            max_errors: 0,
            max_handshake_p99: Some(Duration::from_millis(3)),
        };
        assert_eq!(thresholds.check(&figures()), vec![]);
    }

    #[test]
    fn each_broken_threshold_is_named_with_its_figure() {
        let thresholds = Thresholds {
            max_p99: Some(Duration::from_micros(1)),
            min_rate: Some(10_000.0),
            max_errors: 0,
            max_handshake_p99: Some(Duration::from_millis(1)),
        };
        let broken = thresholds.check(&Figures {
            errors: 2,
            ..figures()
        });
        let lines: Vec<String> = broken.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].contains("--max-p99 1µs") && lines[0].contains("p99 900µs"));
        assert!(lines[1].contains("--min-rate 10000") && lines[1].contains("5000 msgs/s"));
        assert!(lines[2].contains("--max-errors 0") && lines[2].contains("2 errors"));
        assert!(lines[3].contains("--max-handshake-p99") && lines[3].contains("2.000ms"));
    }
}
