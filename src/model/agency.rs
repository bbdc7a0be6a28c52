//! Agencies: the public bodies and organisations that own entries.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An agency that registers and maintains its own services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Agency")]
pub struct Agency {
    /// Stable id, lowercase kebab-case.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]{1,62}$"))]
    pub id: String,
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Norwegian organisation number (organisasjonsnummer, 9 digits with a mod-11 check digit);
    /// spaces are accepted on input and removed.
    #[schemars(pattern(r"^[0-9]{3} ?[0-9]{3} ?[0-9]{3}$"))]
    pub org_number: String,
    /// The agency's public website (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub website: Option<String>,
    /// Where Veiviser POSTs an alert when one of the agency's services goes down (critical)
    /// or comes back (passing). http or https; reached under the same network policy as
    /// health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub notify_url: Option<String>,
    /// Server-managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("readOnly" = true))]
    pub created_at: Option<DateTime<Utc>>,
}
