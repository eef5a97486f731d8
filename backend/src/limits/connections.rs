//! Counts open WebSocket connections against `--max-connections` and carries the shutdown
//! signal every echo loop listens to.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::Notify;

/// Shared by every worker: the open-connection count, its limit, and whether we are stopping.
#[derive(Debug)]
pub struct Connections {
    open: AtomicUsize,
    max: usize,
    stopping: AtomicBool,
    all_closed: Notify,
}

/// Held by one connection's echo task; the count goes down when it is dropped.
#[derive(Debug)]
pub struct Permit {
    connections: Arc<Connections>,
}

impl Connections {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Connections {
            open: AtomicUsize::new(0),
            max,
            stopping: AtomicBool::new(false),
            all_closed: Notify::new(),
        })
    }

    /// A permit for one more connection, unless the server is full or stopping.
    pub fn try_open(self: &Arc<Self>) -> Option<Permit> {
        if self.is_stopping() {
            return None;
        }
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max {
                return None;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Permit {
                        connections: Arc::clone(self),
                    })
                }
                Err(now) => open = now,
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// New upgrades are refused and `/healthz` says 503 from now on. The open connections are
    /// told through the memory budget, which has a waker for each
    /// ([`crate::limits::memory_budget::MemoryBudget::stop_all`], called by `server::shut_down`).
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Waits until every connection has closed, at most `grace`; true if they all did.
    pub async fn drained(&self, grace: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.all_closed.notified();
                if self.open() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, wait).await.is_ok()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.connections.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.connections.all_closed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_stop_at_the_limit_and_come_back_when_dropped() {
        let connections = Connections::new(2);
        let first = connections.try_open().expect("first");
        let _second = connections.try_open().expect("second");
        assert!(connections.try_open().is_none(), "third is over the limit");
        assert_eq!(connections.open(), 2);
        drop(first);
        assert_eq!(connections.open(), 1);
        assert!(
            connections.try_open().is_some(),
            "room again after one closed"
        );
    }

    #[test]
    fn no_permits_once_stopping() {
        let connections = Connections::new(10);
        connections.begin_shutdown();
        assert!(connections.try_open().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn drained_waits_for_the_last_permit_or_the_grace() {
        let connections = Connections::new(10);
        let permit = connections.try_open().expect("permit");
        assert!(
            !connections.drained(Duration::from_secs(1)).await,
            "still open after the grace"
        );

        connections.begin_shutdown();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(permit);
        });
        assert!(
            connections.drained(Duration::from_secs(5)).await,
            "drained when the permit dropped"
        );
    }
}
