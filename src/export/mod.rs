//! The catalogue in the formats national catalogues read: Open Referral HSDS 3 and
//! CPSV-AP-NO (JSON-LD). Pure functions from entries, agencies and the reference data.

pub mod cpsv;
pub mod hsds;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{Agency, Reference, ServiceEntry};

/// Everything an export is made from.
pub struct ExportInput<'a> {
    pub entries: &'a [ServiceEntry],
    pub agencies: &'a [Agency],
    pub reference: &'a Reference,
    /// Where this Veiviser is published, for IRIs (no trailing slash).
    pub base_url: &'a str,
    /// The language of HSDS's untagged text (`nb`, `nn` or `en`).
    pub lang: &'a str,
    /// Schedules are exported for the year from this instant.
    pub now: DateTime<Utc>,
}

impl ExportInput<'_> {
    pub fn agency(&self, id: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == id)
    }
}

/// Veiviser's namespace for UUIDv5 ids: the same slug gives the same UUID in every export.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_5c1e_8a4b_4e0f_9d3a_2b7c_1e5f_0a93);

/// A stable UUID for `kind` (service, organization, phone…) and `key`.
pub fn stable_id(kind: &str, key: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes()).to_string()
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Veiviser's own documents: agencies and entries.
    Veiviser,
    /// Open Referral HSDS 3 (a page of fully nested services).
    Hsds,
    /// CPSV-AP-NO public service descriptions as JSON-LD.
    CpsvApNo,
}

impl ExportFormat {
    pub const NAMES: [&'static str; 3] = ["veiviser", "hsds", "cpsv-ap-no"];

    /// The format a name (`veiviser`, `hsds`, `cpsv-ap-no`) stands for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "veiviser" => Some(ExportFormat::Veiviser),
            "hsds" => Some(ExportFormat::Hsds),
            "cpsv-ap-no" => Some(ExportFormat::CpsvApNo),
            _ => None,
        }
    }
}
