//! Catalogue health: scheduled, SSRF-safe probes of every channel that has a health check,
//! a Consul-style state per check with capped history, staleness of entries nobody has
//! re-verified, alerts on transitions, and the summaries operators and the router read.
//!
//! - [`policy`]: which networks outbound requests may reach.
//! - [`outbound`]: the policy-bound HTTP client and one probe.
//! - [`state`]: a check's state machine, history and uptime (plain rules, no I/O).
//! - [`checker`]: the plan, the schedule, concurrency limits, persistence, the snapshot.
//! - [`alerts`]: webhook delivery with retries, off the checking path.
//! - [`report`]: the summaries served by the API.

mod alerts;
pub mod checker;
pub mod outbound;
pub mod policy;
pub mod protect;
pub mod report;
pub mod state;

use std::collections::HashMap;
use std::time::Duration;

pub use checker::Checker;
pub use policy::{Cidr, NetworkPolicy};
pub use state::{CheckRecord, CheckState, ProbeResult, Thresholds};

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
        }
    }
}

/// The state of every checked channel, published on each change of state. The router
/// reads it without I/O or locks held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSnapshot {
    /// Service id → state per channel index (`not_applicable` where a channel has no check).
    services: HashMap<String, Vec<CheckState>>,
}

impl HealthSnapshot {
    /// A channel's state; `not_applicable` for a channel without a check.
    pub fn state(&self, service_id: &str, channel: usize) -> CheckState {
        self.services
            .get(service_id)
            .and_then(|states| states.get(channel))
            .copied()
            .unwrap_or(CheckState::NotApplicable)
    }

    pub fn service(&self, service_id: &str) -> Option<&[CheckState]> {
        self.services.get(service_id).map(Vec::as_slice)
    }

    fn set(&mut self, service_id: &str, channel: usize, state: CheckState) {
        let states = self.services.entry(service_id.to_string()).or_default();
        if states.len() <= channel {
            states.resize(channel + 1, CheckState::NotApplicable);
        }
        states[channel] = state;
    }

    fn replace_service(&mut self, service_id: &str, states: Option<Vec<CheckState>>) {
        match states {
            Some(states) => self.services.insert(service_id.to_string(), states),
            None => self.services.remove(service_id),
        };
    }
}
