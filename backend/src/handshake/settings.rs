//! What the upgrade needs to admit a connection and the session to run it: one copy shared by
//! every worker.

use std::sync::Arc;

use crate::{
    connection::echo::Liveness, connection::ws_connection::Limits, handshake::origin::OriginPolicy,
    limits::connections::Connections, limits::memory_budget::MemoryBudget, metrics::Metrics,
    protocol::permessage_deflate::DeflatePolicy,
};

/// Where the echo listens.
pub const ECHO_PATH: &str = "/echo";

/// What every connection is held to; one copy shared by all workers.
#[derive(Debug, Clone)]
pub struct EchoSettings {
    pub limits: Limits,
    pub liveness: Liveness,
    pub memory: Arc<MemoryBudget>,
    pub origins: OriginPolicy,
    pub connections: Arc<Connections>,
    pub metrics: Arc<Metrics>,
    pub deflate: DeflatePolicy,
    /// Whether clients may ask for faults in the URL (`--fixture`).
    pub fixture: bool,
    /// `--instance-name`: sent as `X-Served-By`, shown by `hello=request`.
    pub instance: String,
}

#[cfg(test)]
impl EchoSettings {
    /// 1 KiB limits, default liveness and origin policy, fresh metrics.
    pub fn for_tests(connections: Arc<Connections>) -> Self {
        let metrics = Metrics::new();
        EchoSettings {
            limits: Limits {
                max_frame_bytes: 1024,
                max_message_bytes: 1024,
            },
            memory: MemoryBudget::new(1 << 20, metrics.budget_gauges()),
            liveness: Liveness {
                ping_interval: std::time::Duration::from_secs(30),
                idle_timeout: std::time::Duration::from_secs(75),
                park_after: None,
            },
            origins: OriginPolicy::default(),
            connections,
            metrics,
            deflate: DeflatePolicy::default(),
            fixture: true,
            instance: "test-instance".into(),
        }
    }
}
