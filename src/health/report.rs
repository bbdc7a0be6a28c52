//! The health summaries served to operators and agencies, computed from the checker's
//! in-memory records.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::checker::Checker;
use super::protect::ProtectStatus;
use crate::model::ServiceEntry;
use crate::model::entry::ChannelKind;
use crate::model::health::{CheckRecord, CheckState, ProbeResult};

/// `GET /v1/health`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthSummary {
    /// Whether the checker takes a mass failure for its own fault (the protect threshold).
    pub checker: ProtectStatus,
    pub counts: BTreeMap<&'static str, usize>,
    pub stale: Vec<String>,
    pub checks: Vec<CheckSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckSummary {
    pub service_id: String,
    pub agency: String,
    pub channel: usize,
    pub kind: ChannelKind,
    pub state: CheckState,
    pub since: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub latency_ms_p50: Option<u32>,
    pub latency_ms_p95: Option<u32>,
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    /// The last probes, oldest first, for a small chart.
    pub recent: Vec<RecentProbe>,
}

/// One probe, as a point on a chart.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecentProbe {
    pub at: DateTime<Utc>,
    pub latency_ms: u32,
    /// pass, warn, fail or blocked.
    pub outcome: &'static str,
}

/// Probes a summary shows per check.
const RECENT_PROBES: usize = 20;

/// Filters for the summary.
#[derive(Debug, Default, Clone)]
pub struct HealthFilter {
    pub state: Option<CheckState>,
    pub agency: Option<String>,
}

/// The catalogue's health: counts per state (over the agency filter), stale entries, and
/// the checks, worst first (critical, warning, blocked, unknown, passing), the longest in
/// their state first.
pub fn summary(checker: &Checker, filter: &HealthFilter) -> HealthSummary {
    let now = Utc::now();
    let of_agency = |agency: &str| filter.agency.as_deref().is_none_or(|a| a == agency);
    let mut counts: BTreeMap<&'static str, usize> =
        CheckState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut checks = Vec::new();
    for ((service_id, channel), agency, kind, record) in checker.checks() {
        if !of_agency(&agency) {
            continue;
        }
        *counts.entry(record.state.as_str()).or_default() += 1;
        if filter.state.is_some_and(|s| s != record.state) {
            continue;
        }
        checks.push(CheckSummary {
            service_id,
            agency,
            channel,
            kind,
            state: record.state,
            since: record.since,
            last_error: (record.state != CheckState::Passing)
                .then(|| record.last_error.clone())
                .flatten(),
            last_checked_at: record.history.back().map(|r| r.at),
            latency_ms_p50: record.latency_ms_quantile(0.5),
            latency_ms_p95: record.latency_ms_quantile(0.95),
            uptime_24h: record.uptime(now, 24),
            uptime_7d: record.uptime(now, 24 * 7),
            recent: record
                .history
                .iter()
                .skip(record.history.len().saturating_sub(RECENT_PROBES))
                .map(|probe| RecentProbe {
                    at: probe.at,
                    latency_ms: probe.latency_ms,
                    outcome: probe.outcome.label(),
                })
                .collect(),
        });
    }
    for (agency, n) in checker.unchecked().into_values() {
        if of_agency(&agency) {
            *counts
                .entry(CheckState::NotApplicable.as_str())
                .or_default() += n;
        }
    }
    checks.sort_by(|a, b| {
        (a.state, a.since, &a.service_id, a.channel).cmp(&(
            b.state,
            b.since,
            &b.service_id,
            b.channel,
        ))
    });
    let stale = checker
        .stale()
        .into_iter()
        .filter(|(_, (agency, _))| of_agency(agency))
        .map(|(id, _)| id)
        .collect();
    HealthSummary {
        checker: checker.protect_status(),
        counts,
        stale,
        checks,
    }
}

/// `GET /v1/services/{id}/health`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceHealth {
    pub service_id: String,
    pub stale: bool,
    pub last_verified_at: Option<DateTime<Utc>>,
    pub checks: Vec<ChannelHealth>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChannelHealth {
    pub channel: usize,
    pub kind: ChannelKind,
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms_p50: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms_p95: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_24h: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_7d: Option<f64>,
    /// Newest first.
    pub history: Vec<ProbeResult>,
}

/// Every channel of an entry with its state and history.
pub fn service_health(checker: &Checker, entry: &ServiceEntry) -> ServiceHealth {
    let now = Utc::now();
    let checks = entry
        .channels
        .iter()
        .enumerate()
        .map(|(index, channel)| {
            let record = channel.health_check.as_ref().map(|_| {
                checker
                    .record(&(entry.id.clone(), index))
                    .unwrap_or_else(|| CheckRecord::new(now))
            });
            match record {
                None => ChannelHealth {
                    channel: index,
                    kind: channel.kind,
                    state: CheckState::NotApplicable,
                    url: None,
                    since: None,
                    last_error: None,
                    latency_ms_p50: None,
                    latency_ms_p95: None,
                    uptime_24h: None,
                    uptime_7d: None,
                    history: Vec::new(),
                },
                Some(record) => ChannelHealth {
                    channel: index,
                    kind: channel.kind,
                    state: record.state,
                    url: channel.health_check.as_ref().map(|c| c.url.clone()),
                    since: Some(record.since),
                    last_error: record.last_error.clone(),
                    latency_ms_p50: record.latency_ms_quantile(0.5),
                    latency_ms_p95: record.latency_ms_quantile(0.95),
                    uptime_24h: record.uptime(now, 24),
                    uptime_7d: record.uptime(now, 24 * 7),
                    history: record.history.iter().rev().cloned().collect(),
                },
            }
        })
        .collect();
    ServiceHealth {
        service_id: entry.id.clone(),
        stale: checker.stale().contains_key(&entry.id),
        last_verified_at: entry.last_verified_at,
        checks,
    }
}
