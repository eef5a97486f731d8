//! How many `recv:` lines a second the log gets (`--log-rate`): every message up to the limit,
//! then, once a second, one line saying how many more arrived and were not shown. Lines for
//! refused upgrades, which a client can also cause in a loop, get the same limit.
//!
//! Why: a line per message, written to a file as a deployment does, costs about half of a
//! flood's throughput however cheaply it is formatted (bench/RESULTS.md: the bytes themselves,
//! 90 per message, 230 MB/s, are the cost). An operator watching a test endpoint sees every
//! message at human rates; a flood shows as a summary, and `/metrics` still counts everything.
//!
//! The check is made for every message on the echo path, so it touches no shared memory once a
//! thread knows the second's lines are spent: each thread counts what it did not show in
//! counters of its own, and a ticker thread adds them up once a second.

use std::{
    cell::RefCell,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock, PoisonError,
    },
    thread,
    time::Duration,
};

use crate::logging::MESSAGE_LOG;

/// The default `--log-rate`: `recv:` lines a second, all connections together.
pub const DEFAULT_LOG_RATE: u64 = 1000;

/// What one thread did not show, since it started; written only by that thread.
#[derive(Debug, Default)]
struct Unshown {
    messages: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Debug)]
struct LogRate {
    per_second: u64,
    /// Seconds since the limit was set; moved on by the ticker.
    second: AtomicU64,
    /// Lines shown in this second so far, all threads together.
    shown: AtomicU64,
    threads: Mutex<Vec<Arc<Unshown>>>,
    /// Refused-upgrade lines shown in this second (a budget of their own, so that a flood of
    /// messages does not hide refusals, nor a flood of refusals the messages).
    refusals_shown: AtomicU64,
    /// Refused upgrades not logged since the last summary.
    refusals_unshown: AtomicU64,
}

static LOG_RATE: OnceLock<LogRate> = OnceLock::new();

/// A thread's own view: its counters, and the second in which it found the lines spent.
struct Local {
    unshown: Arc<Unshown>,
    spent_in: u64,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Limits the `recv:` lines to `per_second` from now on (0: no limit). Starts the thread that
/// writes the summary lines. Once per process; later calls change nothing.
pub fn limit_recv_lines(per_second: u64) {
    if per_second == 0 {
        return;
    }
    let rate = LogRate {
        per_second,
        second: AtomicU64::new(0),
        shown: AtomicU64::new(0),
        threads: Mutex::new(Vec::new()),
        refusals_shown: AtomicU64::new(0),
        refusals_unshown: AtomicU64::new(0),
    };
    if LOG_RATE.set(rate).is_err() {
        return;
    }
    let spawned = thread::Builder::new()
        .name("log-rate".into())
        .spawn(summarize_each_second);
    if let Err(error) = spawned {
        tracing::warn!("no log-rate thread ({error}): summaries of unshown messages are off");
    }
}

/// Whether the `recv:` line of a message of `bytes` may be written; if not, it is counted for
/// the next summary line.
#[inline]
pub fn admit(bytes: usize) -> bool {
    let Some(rate) = LOG_RATE.get() else {
        return true;
    };
    let second = rate.second.load(Ordering::Relaxed);
    LOCAL.with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return true;
        };
        let local = local.get_or_insert_with(|| {
            let unshown = Arc::new(Unshown::default());
            rate.threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Arc::clone(&unshown));
            Local {
                unshown,
                spent_in: u64::MAX,
            }
        });
        if local.spent_in != second {
            if rate.shown.fetch_add(1, Ordering::Relaxed) < rate.per_second {
                return true;
            }
            local.spent_in = second;
        }
        // Only this thread writes its counters: no atomic read-modify-write needed.
        let add = |counter: &AtomicU64, n: u64| {
            counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        };
        add(&local.unshown.messages, 1);
        add(&local.unshown.bytes, bytes as u64);
        false
    })
}

/// Whether the line for a refused upgrade may be written (a client that is refused in a loop,
/// with a long `Origin`, once wrote a gigabyte of log in ten seconds); if not, it is counted.
pub fn admit_refusal() -> bool {
    let Some(rate) = LOG_RATE.get() else {
        return true;
    };
    if rate.refusals_shown.fetch_add(1, Ordering::Relaxed) < rate.per_second {
        return true;
    }
    rate.refusals_unshown.fetch_add(1, Ordering::Relaxed);
    false
}

/// The ticker: once a second, a line for what was not shown, then a fresh second's lines.
fn summarize_each_second() {
    let Some(rate) = LOG_RATE.get() else { return };
    let (mut reported_messages, mut reported_bytes) = (0u64, 0u64);
    loop {
        thread::sleep(Duration::from_secs(1));
        let (messages, bytes) = {
            let threads = rate.threads.lock().unwrap_or_else(PoisonError::into_inner);
            threads.iter().fold((0, 0), |(m, b), t| {
                (
                    m + t.messages.load(Ordering::Relaxed),
                    b + t.bytes.load(Ordering::Relaxed),
                )
            })
        };
        rate.shown.store(0, Ordering::Relaxed);
        rate.refusals_shown.store(0, Ordering::Relaxed);
        rate.second.fetch_add(1, Ordering::Relaxed);
        let refusals = rate.refusals_unshown.swap(0, Ordering::Relaxed);
        if refusals > 0 {
            tracing::info!(
                "{refusals} more refused upgrades not logged (over --log-rate {} lines/s)",
                rate.per_second
            );
        }
        let (new_messages, new_bytes) = (messages - reported_messages, bytes - reported_bytes);
        (reported_messages, reported_bytes) = (messages, bytes);
        if new_messages > 0 {
            tracing::info!(target: MESSAGE_LOG, "{}", summary(new_messages, new_bytes, rate.per_second));
        }
    }
}

/// The line for `messages` not shown in the last second.
pub fn summary(messages: u64, bytes: u64, per_second: u64) -> String {
    format!(
        "recv: {messages} more messages, {:.1} MB, not shown (over --log-rate {per_second} lines/s)",
        bytes as f64 / 1e6
    )
}
