//! The answers the API gives that are not documents of their own: typed views, so that
//! the OpenAPI document's schemas are generated from the very types the handlers write.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::change::AuditRecord;
use crate::model::entry::ChannelKind;
use crate::model::feed::{FeedConfig, HarvestRun};
use crate::model::health::{CheckState, ProbeResult};
use crate::model::{Agency, ServiceEntry, Violation};

/// RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Problem<'a> {
    /// A URI naming the kind of problem.
    #[schemars(extend("format" = "uri"))]
    pub r#type: String,
    pub title: Cow<'a, str>,
    pub status: u16,
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<Cow<'a, str>>,
    /// Every violation with its JSON Pointer, for 400 and 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Cow<'a, [Violation]>>,
    /// On a mirror: where writes go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<Cow<'a, str>>,
}

/// `GET /v1/agencies`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AgencyList {
    pub items: Vec<Agency>,
}

/// `POST /v1/agencies`: the agency and its first token (shown once).
#[derive(Debug, Serialize, JsonSchema)]
pub struct AgencyWithToken {
    pub agency: Agency,
    pub token: String,
}

/// A new token (shown once).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Token {
    pub token: String,
}

/// `POST /v1/validate`: the entry as a create would store it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Validated {
    /// Always `true`: an invalid document is answered with a problem.
    #[schemars(extend("const" = true))]
    pub valid: bool,
    pub entry: ServiceEntry,
}

/// `GET /v1/agencies/{id}/harvest`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HarvestRuns {
    pub agency: String,
    pub feed: Option<FeedConfig>,
    /// Newest first.
    pub runs: Vec<HarvestRun>,
}

/// `GET /v1/services/{id}/availability`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Availability {
    pub service_id: String,
    pub at: DateTime<Utc>,
    pub channels: Vec<ChannelAvailability>,
}

/// Whether one channel is open at the asked time.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChannelAvailability {
    pub index: usize,
    pub kind: ChannelKind,
    /// `null` when the entry gives no opening hours.
    pub open_now: Option<bool>,
    pub closes_at: Option<DateTime<Utc>>,
    pub next_open: Option<DateTime<Utc>>,
}

/// `POST /v1/services/{id}/health/check`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckResults {
    pub checks: Vec<CheckResult>,
}

/// One channel probed now: the probe and the state it left the check in.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckResult {
    pub channel: usize,
    pub state: CheckState,
    pub result: ProbeResult,
}

/// `GET /v1/audit`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `after` for the next page; `null` when this page is empty.
    pub next_after: Option<u64>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Liveness {
    pub status: Alive,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Alive {
    Ok,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Readiness {
    pub status: Ready,
    /// Entries stored, any status.
    pub services: usize,
    pub last_change_seq: u64,
    pub uptime_s: u64,
    /// This instance (`--instance-id`) and its store.
    pub instance: String,
    pub store: StoreReadiness,
    /// On a mirror: how far it is behind its primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<MirrorReadiness>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    Ready,
    NotReady,
}

/// Whether the store answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreReadiness {
    /// `sled` or `postgresql`.
    pub engine: String,
    pub reachable: bool,
    /// Whether writes are made durable now (false after a write failed, until one works).
    pub writable: bool,
    /// Why it does not answer or take writes, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A mirror's position against its primary.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MirrorReadiness {
    pub primary: String,
    pub position: u64,
    pub primary_last_seq: Option<u64>,
    pub behind_changes: u64,
    /// `null` before the first change is applied.
    pub lag_seconds: Option<f64>,
    pub caught_up: bool,
    pub last_contact: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
