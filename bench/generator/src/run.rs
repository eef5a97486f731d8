//! The run as a whole: connections opened (all at once in batches, or by `--ramp`/`--stages`),
//! each driven on a task of its own, their tallies merged.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use crate::{
    dial::{Dialer, Opened},
    engine::{self, Until},
    idle,
    live::Live,
    load::{Mode, Plan, Tally},
    schedule::Schedule,
    wire::Framing,
};

/// Connections opened at once while connecting: a burst of 10,000 SYNs overflows the backlog.
pub const CONNECT_BATCH: usize = 200;

/// How often the conductor of a `--stages` run looks at the target.
const CONDUCTOR_TICK: Duration = Duration::from_millis(5);

/// Opens `count` connections, [`CONNECT_BATCH`] at a time; the failures are counted by kind in
/// the tally (the first one kept), not fatal.
pub async fn connect_all(dialer: &Dialer, count: u32, live: &Live) -> (Vec<Opened>, Tally) {
    let total = count as usize;
    let mut tally = Tally::new();
    let mut opened = Vec::with_capacity(total);
    let mut tried = 0;
    while tried < total {
        let batch = CONNECT_BATCH.min(total - tried);
        tried += batch;
        let attempts = futures_util::future::join_all((0..batch).map(|_| dialer.open())).await;
        for attempt in attempts {
            match attempt {
                Ok(connection) => {
                    live.opened(&connection.timing);
                    opened.push(connection);
                }
                Err(error) => tally.connect_failed(&error),
            }
        }
    }
    live.absorb(&mut tally);
    (opened, tally)
}

/// Runs the plan on every connection at once from `started` for the plan's duration: idle
/// mode holds them all, the others drive each on a task of its own (rate mode staggers their
/// sends by a phase each).
pub async fn run_load(
    opened: Vec<Opened>,
    framing: Framing,
    plan: &Arc<Plan>,
    live: &Arc<Live>,
    started: Instant,
) -> Tally {
    if plan.mode == Mode::Idle {
        return idle::hold(opened, framing, plan, started, live).await;
    }
    let count = opened.len() as f64;
    let deadline = started + plan.duration;
    let tasks: Vec<_> = opened
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            let plan = Arc::clone(plan);
            let live = Arc::clone(live);
            let phase = index as f64 / count;
            tokio::spawn(async move {
                let until = Until::deadline(deadline);
                let tally =
                    engine::drive(connection, framing, &plan, started, phase, until, &live).await;
                live.closed();
                tally
            })
        })
        .collect();
    join(tasks).await
}

/// A `--ramp`/`--stages` run: the conductor opens connections as the schedule's target rises
/// (at most [`CONNECT_BATCH`] opening at once) and stops the newest as it falls. Each opening is
/// tried once: a failure is counted by its kind and its place is not retried, so a refusing
/// server is not hammered. Rate mode sends `--rate` over the peak connection count per
/// connection, so the total rate follows the connections open.
pub async fn run_stages(
    dialer: &Arc<Dialer>,
    schedule: &Schedule,
    framing: Framing,
    plan: &Arc<Plan>,
    live: &Arc<Live>,
) -> Tally {
    let started = live.started();
    let end = started + schedule.total();
    let opening = Arc::new(tokio::sync::Semaphore::new(CONNECT_BATCH));
    // One place per connection asked for, newest last: its stop, and its task.
    let mut places: Vec<(oneshot::Sender<()>, tokio::task::JoinHandle<Tally>)> = Vec::new();
    let mut done = Vec::new();
    let mut ticks = tokio::time::interval(CONDUCTOR_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let target = schedule.target_at(now - started) as usize;
        while places.len() < target {
            let (stop, stopped) = oneshot::channel();
            let index = places.len() as u64;
            let task = tokio::spawn(one_connection(
                Arc::clone(dialer),
                framing,
                Arc::clone(plan),
                Arc::clone(live),
                Arc::clone(&opening),
                end,
                stopped,
                // Rate mode: spread the connections' sends over the period.
                (index.wrapping_mul(7919) % 1000) as f64 / 1000.0,
            ));
            places.push((stop, task));
        }
        while places.len() > target {
            if let Some((stop, task)) = places.pop() {
                let _ = stop.send(());
                done.push(task);
            }
        }
        ticks.tick().await;
    }
    for (stop, task) in places {
        let _ = stop.send(());
        done.push(task);
    }
    join(done).await
}

/// One place of a `--stages` run: open (waiting for a permit to), then drive or hold until
/// stopped or the end.
#[allow(clippy::too_many_arguments)] // a spawned task's whole context
async fn one_connection(
    dialer: Arc<Dialer>,
    framing: Framing,
    plan: Arc<Plan>,
    live: Arc<Live>,
    opening: Arc<tokio::sync::Semaphore>,
    end: Instant,
    mut stopped: oneshot::Receiver<()>,
    phase: f64,
) -> Tally {
    let mut tally = Tally::new();
    let opened = {
        let Ok(_permit) = opening.acquire().await else {
            return tally;
        };
        if stopped.try_recv().is_ok() {
            return tally; // no longer wanted before it opened
        }
        dialer.open().await
    };
    let connection = match opened {
        Ok(connection) => connection,
        Err(error) => {
            tally.connect_failed(&error);
            live.absorb(&mut tally);
            return tally;
        }
    };
    live.opened(&connection.timing);
    // This connection's clock starts when it opened: its rate schedule too (a connection that
    // joins late must not owe the sends due before it existed).
    let started = Instant::now();
    let tally = if plan.mode == Mode::Idle {
        idle::keep(connection, framing, &plan, started, end, stopped, &live).await
    } else {
        let until = Until {
            deadline: end,
            stop: Some(stopped),
        };
        engine::drive(connection, framing, &plan, started, phase, until, &live).await
    };
    live.closed();
    tally
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut tally = Tally::new();
    for task in tasks {
        match task.await {
            Ok(result) => tally.merge(result),
            Err(error) => tally.error(format!("a connection task failed: {error}")),
        }
    }
    tally
}
