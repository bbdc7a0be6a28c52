//! Agency feeds: where an agency publishes its own entries for Veiviser to harvest, what a
//! feed document looks like, and what each harvest did.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{ServiceEntry, Violations};

/// Harvests after which an entry missing from its feed is retired, unless configured.
pub const DEFAULT_RETIRE_AFTER: u32 = 2;
/// Harvest runs kept per agency.
pub const RUNS_KEPT: usize = 20;

/// Where and when to harvest an agency's feed (`PUT /v1/agencies/{id}/feed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The feed document's address: https, or http. Fetched under the same network policy
    /// as health checks.
    #[schemars(length(min = 1, max = 2000))]
    pub url: String,
    /// When to harvest, as a cron expression in UTC with a seconds field
    /// (`sec min hour day-of-month month day-of-week`), e.g. `0 15 * * * *` for a quarter
    /// past every hour. Scheduled harvests closer together than the server's minimum
    /// interval (a minute by default) are skipped.
    #[schemars(length(min = 1, max = 200))]
    pub schedule: String,
}

/// The document an agency publishes at its feed URL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AgencyFeed {
    /// The publishing agency's id; must be the agency the feed is registered for.
    pub agency: String,
    /// The agency's entries, each as accepted by `POST /v1/services`.
    pub services: Vec<ServiceEntry>,
}

/// A registered feed with what the harvester remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedRecord {
    pub config: Option<FeedConfig>,
    /// Validators from the last answer, for a conditional request next time.
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    /// Entry ids this feed has published: only these can be retired by their absence.
    #[serde(default)]
    pub published: BTreeSet<String>,
    /// Consecutive successful harvests each published id has been missing from.
    #[serde(default)]
    pub missing: BTreeMap<String, u32>,
}

/// What started a harvest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HarvestTrigger {
    Schedule,
    Manual,
}

/// How a harvest ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HarvestOutcome {
    /// The feed was read and every entry judged.
    Harvested,
    /// The feed answered 304: nothing changed since the last harvest.
    NotModified,
    /// Nothing could be read (network, status, size, not a feed document); nothing changed
    /// in the catalogue and no entry came closer to retirement.
    Failed,
}

/// Entries by what the harvest did with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HarvestCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Entries that failed validation; their last good version stays.
    pub invalid: usize,
    /// Entries owned by another agency.
    pub refused: usize,
    /// Entries retired after missing from enough consecutive harvests.
    pub retired: usize,
    /// Published entries missing from this harvest but not (yet) retired.
    pub missing: usize,
}

/// What was wrong with one entry of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntryProblem {
    /// The entry's position in the feed's `services`; none for an entry missing from it.
    pub index: Option<usize>,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// Every problem, with JSON Pointers into the feed document.
    pub errors: Vec<ProblemDetail>,
}

/// One problem, with its JSON Pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProblemDetail {
    pub pointer: String,
    pub message: String,
}

impl EntryProblem {
    /// `violations` of the entry at `index`, their pointers made relative to the feed.
    pub fn new(index: usize, id: Option<String>, violations: Violations) -> Self {
        let errors = violations
            .0
            .into_iter()
            .map(|v| ProblemDetail {
                pointer: format!("/services/{index}{}", v.pointer),
                message: v.message,
            })
            .collect();
        EntryProblem {
            index: Some(index),
            id,
            errors,
        }
    }
}

/// One harvest of one feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HarvestRun {
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub trigger: HarvestTrigger,
    pub outcome: HarvestOutcome,
    /// The feed's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why the harvest failed, when it did.
    pub error: Option<String>,
    pub counts: HarvestCounts,
    /// Every entry that was not taken, with its problems.
    pub problems: Vec<EntryProblem>,
}

/// Checks a feed's configuration; every problem has its pointer.
pub fn check_config(config: &FeedConfig) -> Violations {
    let mut problems = Violations::default();
    match url::Url::parse(&config.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        Ok(_) => problems.push("/url", "the feed URL must be http or https with a host"),
        Err(e) => problems.push("/url", format!("not a URL: {e}")),
    }
    let parses =
        tokio_cron_scheduler::Job::new_async(config.schedule.as_str(), |_, _| Box::pin(async {}))
            .is_ok();
    if !parses {
        problems.push(
            "/schedule",
            "not a cron expression with a seconds field (sec min hour day-of-month month \
             day-of-week), e.g. '0 15 * * * *'",
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, schedule: &str) -> FeedConfig {
        FeedConfig {
            url: url.into(),
            schedule: schedule.into(),
        }
    }

    #[test]
    fn a_good_config_passes() {
        assert!(check_config(&config("https://example.no/feed.json", "0 15 * * * *")).is_empty());
    }

    #[test]
    fn bad_urls_and_schedules_are_pointed_at() {
        let pointers = |c: &FeedConfig| -> Vec<String> {
            check_config(c).0.into_iter().map(|v| v.pointer).collect()
        };
        assert_eq!(
            pointers(&config("ftp://example.no/f", "0 * * * * *")),
            ["/url"]
        );
        assert_eq!(pointers(&config("not a url", "0 * * * * *")), ["/url"]);
        // Five fields lack the seconds; the rest is not cron.
        for schedule in ["15 * * * *", "0 61 * * * *", "every hour", ""] {
            assert_eq!(
                pointers(&config("https://example.no/f", schedule)),
                ["/schedule"],
                "{schedule}"
            );
        }
    }
}
