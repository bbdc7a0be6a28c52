//! The catalogue's history: the global change sequence followers read, the audit log of who
//! changed what, and an agency as stored with its token hash.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Agency, ServiceEntry};

/// What a change did to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Created,
    Updated,
    Retired,
}

impl ChangeKind {
    /// The audit log's name for a change of this kind.
    pub fn audit_action(self) -> &'static str {
        match self {
            ChangeKind::Created => "service.created",
            ChangeKind::Updated => "service.updated",
            ChangeKind::Retired => "service.retired",
        }
    }
}

/// One entry of the global change sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeRecord {
    pub seq: u64,
    pub id: String,
    pub kind: ChangeKind,
    pub version: u64,
    pub at: DateTime<Utc>,
    /// The entry as this change left it; `None` for a retirement (a retired entry is not
    /// republished to followers).
    #[serde(default)]
    pub entry: Option<ServiceEntry>,
}

impl ChangeRecord {
    /// The change numbered `seq` that writing `entry` makes.
    pub fn of(seq: u64, entry: &ServiceEntry, kind: ChangeKind, by: &Attribution) -> Self {
        ChangeRecord {
            seq,
            id: entry.id.clone(),
            kind,
            version: entry.version.unwrap_or(1),
            at: by.at,
            entry: (kind != ChangeKind::Retired).then(|| entry.clone()),
        }
    }

    /// The entry a copy holds after applying this change to `current`, its copy of the
    /// entry (`None` when it has none): a retirement carries no entry, so it retires the
    /// copy held.
    pub fn applied_to(&self, current: Option<ServiceEntry>) -> Option<ServiceEntry> {
        match &self.entry {
            Some(entry) => Some(entry.clone()),
            None => current.map(|mut entry| {
                entry.status = super::Status::Retired;
                entry.version = Some(self.version);
                entry.updated_at = Some(self.at);
                entry
            }),
        }
    }
}

/// Who changed what, when, to which version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// `operator`, `agency:<id>`, or `import`.
    pub actor: String,
    /// `service.created`, `service.updated`, `service.retired`, `agency.created`, `agency.key_issued`.
    pub action: String,
    /// The service or agency id.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl AuditRecord {
    /// The record of `action` on `target` by `by`, numbered `seq`.
    pub fn new(
        seq: u64,
        by: &Attribution,
        action: &str,
        target: &str,
        version: Option<u64>,
    ) -> Self {
        AuditRecord {
            seq,
            at: by.at,
            actor: by.actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            version,
        }
    }
}

/// An agency with the hash of its current token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyRecord {
    pub agency: Agency,
    /// SHA-256 (hex) of the agency's current token; `None` until one is issued.
    #[serde(default)]
    pub token_hash: Option<String>,
}

/// A write to record in the audit log next to the entry itself.
pub struct Attribution<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// Changes after a sequence number, with the last durable sequence number: what
/// `GET /v1/changes` answers and what a mirror reads.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ChangePage {
    pub changes: Vec<ChangeRecord>,
    pub last_seq: u64,
}
