//! The health state of one check, Consul-style: probe results move a check between states
//! only after enough of them agree, so one blip does not flap it. Plain data and rules; the
//! checker feeds results in and persists the record.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A check's state. `not_applicable` is for channels without a check (a phone line).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    // Ordered by how urgently an operator should look: the worst first.
    Critical,
    Warning,
    Blocked,
    Unknown,
    Passing,
    NotApplicable,
}

impl CheckState {
    pub const ALL: [CheckState; 6] = [
        CheckState::Passing,
        CheckState::Warning,
        CheckState::Critical,
        CheckState::Unknown,
        CheckState::Blocked,
        CheckState::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Unknown => "unknown",
            CheckState::Passing => "passing",
            CheckState::Warning => "warning",
            CheckState::Critical => "critical",
            CheckState::Blocked => "blocked",
            CheckState::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// Why a probe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Timeout,
    ConnectRefused,
    ConnectionReset,
    Dns,
    Tls,
    BadStatus,
    TooManyRedirects,
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::ConnectRefused => "connect_refused",
            FailureKind::ConnectionReset => "connection_reset",
            FailureKind::Dns => "dns",
            FailureKind::Tls => "tls",
            FailureKind::BadStatus => "bad_status",
            FailureKind::TooManyRedirects => "too_many_redirects",
            FailureKind::Other => "other",
        }
    }
}

/// Why a probe that got an acceptable answer still warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    Slow,
    RateLimited,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Warn {
        warning: WarningKind,
    },
    Fail {
        error: FailureKind,
    },
    /// The network policy refused the target; nothing was sent.
    Blocked,
}

impl Outcome {
    /// The label used in metrics: pass, warn, fail, blocked.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn { .. } => "warn",
            Outcome::Fail { .. } => "fail",
            Outcome::Blocked => "blocked",
        }
    }

    fn is_up(&self) -> bool {
        matches!(self, Outcome::Pass | Outcome::Warn { .. })
    }
}

/// One probe's result, as kept in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    pub at: DateTime<Utc>,
    pub latency_ms: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// A human-readable account of a failure or refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How many agreeing results move a check, and how much history it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub failures_before_critical: u32,
    pub successes_before_passing: u32,
    pub history_len: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            failures_before_critical: 3,
            successes_before_passing: 2,
            history_len: 50,
        }
    }
}

/// Probes counted in one hour, for uptime over a day and a week with bounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourBucket {
    /// Hours since the Unix epoch.
    pub hour: i64,
    pub up: u32,
    pub total: u32,
}

const WEEK_HOURS: usize = 24 * 7;

/// A state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: CheckState,
    pub to: CheckState,
}

/// Everything known about one check: its state and since when, the counters that move it,
/// the last results and hourly uptime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub state: CheckState,
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub successes: u32,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Newest last.
    #[serde(default)]
    pub history: VecDeque<ProbeResult>,
    #[serde(default)]
    pub hourly: VecDeque<HourBucket>,
}

impl CheckRecord {
    pub fn new(now: DateTime<Utc>) -> Self {
        CheckRecord {
            state: CheckState::Unknown,
            since: now,
            successes: 0,
            failures: 0,
            last_error: None,
            history: VecDeque::new(),
            hourly: VecDeque::new(),
        }
    }

    /// Takes in a probe's result; returns the transition if the state changed.
    ///
    /// A check leaves `critical` only after `successes_before_passing` good results and
    /// enters it only after `failures_before_critical` failures; from `unknown` one good
    /// result is enough, as there is no state to flap from. A refusal by the network policy
    /// is a fact about the configuration, not a blip: `blocked` at once.
    pub fn apply(&mut self, result: ProbeResult, thresholds: &Thresholds) -> Option<Transition> {
        let target = match &result.outcome {
            Outcome::Pass => CheckState::Passing,
            Outcome::Warn { .. } => CheckState::Warning,
            Outcome::Fail { .. } => CheckState::Critical,
            Outcome::Blocked => CheckState::Blocked,
        };
        if result.outcome.is_up() {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        self.last_error = match (&result.outcome, &result.detail) {
            (Outcome::Pass | Outcome::Warn { .. }, _) => self.last_error.take(),
            (_, Some(detail)) => Some(detail.clone()),
            (Outcome::Fail { error }, None) => Some(error.as_str().to_string()),
            (_, None) => Some("blocked".to_string()),
        };
        let moves = match (self.state, target) {
            (from, to) if from == to => false,
            (_, CheckState::Blocked) => true,
            (_, CheckState::Critical) => self.failures >= thresholds.failures_before_critical,
            (CheckState::Critical, _) => self.successes >= thresholds.successes_before_passing,
            // From unknown, blocked, passing or warning, a good result settles at once.
            _ => true,
        };
        self.count_hourly(&result);
        let at = result.at;
        self.history.push_back(result);
        while self.history.len() > thresholds.history_len {
            self.history.pop_front();
        }
        if !moves {
            return None;
        }
        let transition = Transition {
            from: self.state,
            to: target,
        };
        self.state = target;
        self.since = at;
        Some(transition)
    }

    fn count_hourly(&mut self, result: &ProbeResult) {
        if matches!(result.outcome, Outcome::Blocked) {
            // A refused probe says nothing about the service.
            return;
        }
        let hour = result.at.timestamp().div_euclid(3600);
        match self.hourly.back_mut() {
            Some(bucket) if bucket.hour == hour => {
                bucket.total += 1;
                bucket.up += u32::from(result.outcome.is_up());
            }
            _ => self.hourly.push_back(HourBucket {
                hour,
                up: u32::from(result.outcome.is_up()),
                total: 1,
            }),
        }
        while self.hourly.len() > WEEK_HOURS {
            self.hourly.pop_front();
        }
    }

    /// Share of probes that found the service up in the last `hours` before `now`, or `None`
    /// when there were none.
    pub fn uptime(&self, now: DateTime<Utc>, hours: i64) -> Option<f64> {
        let first = now.timestamp().div_euclid(3600) - hours + 1;
        let (up, total) = self
            .hourly
            .iter()
            .filter(|b| b.hour >= first)
            .fold((0u64, 0u64), |(u, t), b| {
                (u + u64::from(b.up), t + u64::from(b.total))
            });
        (total > 0).then(|| up as f64 / total as f64)
    }

    /// The `q` quantile (0..=1) of the latency of answered probes in the history.
    pub fn latency_ms_quantile(&self, q: f64) -> Option<u32> {
        let mut latencies: Vec<u32> = self
            .history
            .iter()
            .filter(|r| r.status_code.is_some())
            .map(|r| r.latency_ms)
            .collect();
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        let rank = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len());
        Some(latencies[rank - 1])
    }
}

/// A check is one channel of one entry: (service id, channel index).
pub type CheckKey = (String, usize);

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

    pub fn set(&mut self, service_id: &str, channel: usize, state: CheckState) {
        let states = self.services.entry(service_id.to_string()).or_default();
        if states.len() <= channel {
            states.resize(channel + 1, CheckState::NotApplicable);
        }
        states[channel] = state;
    }

    pub fn replace_service(&mut self, service_id: &str, states: Option<Vec<CheckState>>) {
        match states {
            Some(states) => self.services.insert(service_id.to_string(), states),
            None => self.services.remove(service_id),
        };
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn result(minute: i64, outcome: Outcome) -> ProbeResult {
        let status_code = match outcome {
            Outcome::Pass | Outcome::Warn { .. } => Some(200),
            Outcome::Fail {
                error: FailureKind::BadStatus,
            } => Some(500),
            _ => None,
        };
        ProbeResult {
            at: at(minute),
            latency_ms: 10 + minute as u32,
            status_code,
            outcome,
            detail: None,
        }
    }

    const FAIL: Outcome = Outcome::Fail {
        error: FailureKind::BadStatus,
    };

    #[test]
    fn thresholds_keep_one_blip_from_flapping() {
        let t = Thresholds::default();
        let mut r = CheckRecord::new(at(0));
        let first = r.apply(result(1, Outcome::Pass), &t).unwrap();
        assert_eq!(
            (first.from, first.to),
            (CheckState::Unknown, CheckState::Passing)
        );
        assert_eq!(r.apply(result(2, FAIL), &t), None);
        assert_eq!(r.apply(result(3, FAIL), &t), None);
        assert_eq!(
            r.apply(result(4, Outcome::Pass), &t),
            None,
            "the blip is forgotten"
        );
        assert_eq!(r.apply(result(5, FAIL), &t), None);
        assert_eq!(r.apply(result(6, FAIL), &t), None);
        let down = r.apply(result(7, FAIL), &t).unwrap();
        assert_eq!(
            (down.from, down.to),
            (CheckState::Passing, CheckState::Critical)
        );
        assert_eq!(r.since, at(7));
        assert_eq!(r.last_error.as_deref(), Some("bad_status"));
        assert_eq!(
            r.apply(result(8, Outcome::Pass), &t),
            None,
            "one success is not enough"
        );
        let up = r.apply(result(9, Outcome::Pass), &t).unwrap();
        assert_eq!(
            (up.from, up.to),
            (CheckState::Critical, CheckState::Passing)
        );
    }

    #[test]
    fn slow_answers_warn_and_refusals_block_at_once() {
        let t = Thresholds::default();
        let mut r = CheckRecord::new(at(0));
        let slow = Outcome::Warn {
            warning: WarningKind::Slow,
        };
        assert_eq!(
            r.apply(result(1, slow.clone()), &t).unwrap().to,
            CheckState::Warning
        );
        assert_eq!(r.apply(result(2, slow), &t), None);
        assert_eq!(
            r.apply(result(3, Outcome::Pass), &t).unwrap().to,
            CheckState::Passing
        );
        assert_eq!(
            r.apply(result(4, Outcome::Blocked), &t).unwrap().to,
            CheckState::Blocked
        );
        assert_eq!(r.apply(result(5, Outcome::Blocked), &t), None);
    }

    #[test]
    fn history_and_hourly_buckets_are_capped() {
        let t = Thresholds {
            history_len: 5,
            ..Thresholds::default()
        };
        let mut r = CheckRecord::new(at(0));
        for minute in 0..(60 * 24 * 10) {
            r.apply(result(minute, Outcome::Pass), &t);
        }
        assert_eq!(r.history.len(), 5);
        assert_eq!(r.history.back().unwrap().at, at(60 * 24 * 10 - 1));
        assert_eq!(r.hourly.len(), WEEK_HOURS);
    }

    #[test]
    fn uptime_and_latency_quantiles() {
        let t = Thresholds::default();
        let mut r = CheckRecord::new(at(0));
        for minute in 0..4 {
            r.apply(result(minute, Outcome::Pass), &t);
        }
        r.apply(result(4, FAIL), &t);
        r.apply(result(5, Outcome::Blocked), &t);
        assert_eq!(r.uptime(at(5), 24), Some(0.8));
        assert_eq!(r.uptime(at(60 * 48), 24), None);
        // Latencies 10..=14 (the blocked probe got no answer).
        assert_eq!(r.latency_ms_quantile(0.5), Some(12));
        assert_eq!(r.latency_ms_quantile(0.95), Some(14));
    }

    #[test]
    fn states_order_worst_first() {
        let mut states = CheckState::ALL.to_vec();
        states.sort();
        assert_eq!(states[0], CheckState::Critical);
        assert_eq!(
            CheckState::parse("not_applicable"),
            Some(CheckState::NotApplicable)
        );
        assert_eq!(CheckState::parse("nope"), None);
    }
}
