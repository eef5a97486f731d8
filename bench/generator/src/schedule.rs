//! How many connections the run wants open over time: `--ramp DURATION` (opened evenly over
//! that time, then held for `--duration`) or `--stages 30s:100,1m:1000,30s:0` (k6's stages:
//! each moves the target in a straight line from where the last one ended, starting from 0).

use std::{fmt, time::Duration};

/// One stage: over `duration`, the target moves to `target` connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub duration: Duration,
    pub target: u32,
}

/// The stages of a run, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    stages: Vec<Stage>,
}

/// Most stages in `--stages`, and most connections a stage may ask for.
pub const MAX_STAGES: usize = 100;
pub const MAX_TARGET: u32 = 1_000_000;

/// Why `--stages` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagesError(String);

impl fmt::Display for StagesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (--stages takes DURATION:CONNECTIONS,... like 30s:100,1m:1000,30s:0)",
            self.0
        )
    }
}

impl std::error::Error for StagesError {}

impl Schedule {
    /// `--stages`: `DURATION:CONNECTIONS` separated by commas.
    pub fn parse(text: &str) -> Result<Schedule, StagesError> {
        let mut stages = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (duration, target) = part
                .split_once(':')
                .ok_or_else(|| StagesError(format!("`{part}` is not DURATION:CONNECTIONS")))?;
            let duration = humantime::parse_duration(duration.trim())
                .map_err(|e| StagesError(format!("`{duration}` is not a duration: {e}")))?;
            let target: u32 = target
                .trim()
                .parse()
                .map_err(|_| StagesError(format!("`{target}` is not a number of connections")))?;
            if target > MAX_TARGET {
                return Err(StagesError(format!(
                    "{target} connections is more than {MAX_TARGET}"
                )));
            }
            stages.push(Stage { duration, target });
            if stages.len() > MAX_STAGES {
                return Err(StagesError(format!("more than {MAX_STAGES} stages")));
            }
        }
        let schedule = Schedule { stages };
        if schedule.total().is_zero() {
            return Err(StagesError("the stages last no time".into()));
        }
        if schedule.peak() == 0 {
            return Err(StagesError("no stage asks for a connection".into()));
        }
        Ok(schedule)
    }

    /// `--ramp`: `connections` opened evenly over `ramp`, then held for `hold`.
    pub fn ramp(ramp: Duration, connections: u32, hold: Duration) -> Schedule {
        Schedule {
            stages: vec![
                Stage {
                    duration: ramp,
                    target: connections,
                },
                Stage {
                    duration: hold,
                    target: connections,
                },
            ],
        }
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// How long the stages last together.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|stage| stage.duration).sum()
    }

    /// The most connections any stage asks for.
    pub fn peak(&self) -> u32 {
        self.stages.iter().map(|s| s.target).max().unwrap_or(0)
    }

    /// The connections wanted `at` into the run: on the line from the last stage's target to
    /// this one's, rounded down (so a ramp of N over T opens connection k at k·T/N).
    pub fn target_at(&self, at: Duration) -> u32 {
        let mut from = 0u32;
        let mut start = Duration::ZERO;
        for stage in &self.stages {
            let end = start + stage.duration;
            if at < end {
                let done = (at - start).as_secs_f64() / stage.duration.as_secs_f64();
                let value = f64::from(from) + (f64::from(stage.target) - f64::from(from)) * done;
                return value.floor().clamp(0.0, f64::from(MAX_TARGET)) as u32;
            }
            from = stage.target;
            start = end;
        }
        from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn stages_move_in_straight_lines_from_zero() {
        let schedule = Schedule::parse("10s:100, 5s:100,10s:0").expect("parses");
        assert_eq!(schedule.total(), s(25.0));
        assert_eq!(schedule.peak(), 100);
        assert_eq!(schedule.target_at(s(0.0)), 0);
        assert_eq!(schedule.target_at(s(0.1)), 1);
        assert_eq!(schedule.target_at(s(5.0)), 50);
        assert_eq!(schedule.target_at(s(12.0)), 100);
        assert_eq!(schedule.target_at(s(20.0)), 50);
        assert_eq!(schedule.target_at(s(30.0)), 0);
    }

    #[test]
    fn a_zero_length_stage_jumps() {
        let schedule = Schedule::parse("0s:20,1s:20").expect("parses");
        assert_eq!(schedule.target_at(s(0.0)), 20);
    }

    #[test]
    fn a_ramp_opens_evenly_then_holds() {
        let schedule = Schedule::ramp(s(2.0), 10, s(3.0));
        assert_eq!(schedule.target_at(s(0.19)), 0);
        assert_eq!(schedule.target_at(s(0.2)), 1);
        assert_eq!(schedule.target_at(s(1.0)), 5);
        assert_eq!(schedule.target_at(s(4.0)), 10);
        assert_eq!(schedule.total(), s(5.0));
    }

    #[test]
    fn bad_stages_are_refused_with_the_reason() {
        for (text, says) in [
            ("30s", "DURATION:CONNECTIONS"),
            ("x:1", "not a duration"),
            ("1s:-3", "not a number"),
            ("1s:2000000", "more than"),
            ("0s:5", "no time"),
            ("1s:0", "no stage asks"),
        ] {
            let error = Schedule::parse(text).expect_err(text).to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
