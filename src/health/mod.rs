//! Catalogue health: scheduled, SSRF-safe probes of every channel that has a health check,
//! a Consul-style state per check with capped history, staleness of entries nobody has
//! re-verified, alerts on transitions, and the summaries operators and the router read.
//!
//! - [`probe`]: one probe, through the policy-bound client of [`crate::outbound`].
//! The state machine of one check and the snapshot the router reads are plain rules in
//! [`crate::model::health`].
//! - [`checker`]: the plan, concurrency limits, persistence, the snapshot.
//! - `jobs`: the checker's schedule (the dispatch tick and the staleness sweep).
//! - [`alerts`]: webhook delivery with retries, off the checking path.
//! - [`report`]: the summaries served by the API.

mod alerts;
pub mod checker;
mod jobs;
pub mod probe;
pub mod protect;
pub mod report;

use std::time::Duration;

pub use crate::model::health::{CheckRecord, CheckState, HealthSnapshot, ProbeResult, Thresholds};
use crate::outbound::NetworkPolicy;
pub use checker::Checker;

use crate::store::StoreError;

/// The health layer's error.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the scheduler failed: {0}")]
    Scheduler(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl From<tokio_cron_scheduler::JobSchedulerError> for HealthError {
    fn from(e: tokio_cron_scheduler::JobSchedulerError) -> Self {
        HealthError::Scheduler(e.to_string())
    }
}

/// How the checker behaves.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub policy: NetworkPolicy,
    /// Probes at once, overall.
    pub concurrency: usize,
    /// Probes at once to one host.
    pub per_host: usize,
    pub thresholds: Thresholds,
    /// An acceptable answer slower than this is a warning.
    pub slow_after: Duration,
    /// An active entry not verified for longer than this is stale.
    pub stale_after: chrono::Duration,
    /// Spread each check's first run over its interval. Off in tests, for prompt checks.
    pub spread_first_checks: bool,
    /// Alert deliveries tried at most, and the first wait between tries (doubling).
    pub alert_attempts: u32,
    pub alert_backoff: Duration,
    /// When a mass failure is taken for the checker's own.
    pub protect: protect::ProtectSettings,
    /// This instance's name, in the claims of a shared check schedule.
    pub instance: String,
    /// How often an instance sharing its checks reads the records the others wrote.
    pub shared_refresh: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            policy: NetworkPolicy::default(),
            concurrency: 64,
            per_host: 4,
            thresholds: Thresholds::default(),
            slow_after: Duration::from_millis(2000),
            stale_after: chrono::Duration::days(180),
            spread_first_checks: true,
            alert_attempts: 6,
            alert_backoff: Duration::from_secs(2),
            protect: protect::ProtectSettings::default(),
            instance: "veiviser".into(),
            shared_refresh: Duration::from_secs(5),
        }
    }
}
