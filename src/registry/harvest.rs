//! Harvest: an agency's feed document applied to the catalogue. Each entry is judged on its
//! own; nothing is retired because a feed failed, only after an entry has been missing from
//! enough consecutive successful harvests.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Registry, RegistryError, Result};
use crate::auth::Principal;
use crate::model::change::{Attribution, ChangeKind};
use crate::model::feed::{
    EntryProblem, FeedConfig, FeedRecord, HarvestCounts, HarvestRun, ProblemDetail, check_config,
};
use crate::model::{ServiceEntry, Status, Violations};
use crate::store::StoreError;

/// What applying a feed document did.
#[derive(Debug, Default)]
pub struct Applied {
    pub counts: HarvestCounts,
    pub problems: Vec<EntryProblem>,
}

impl Registry {
    /// Registers or replaces `agency`'s feed; only the agency itself or the operator may.
    pub async fn set_feed(
        &self,
        principal: &Principal,
        agency: &str,
        doc: &Value,
    ) -> Result<FeedConfig> {
        self.feed_access(principal, agency)?;
        let config: FeedConfig = serde_json::from_value(doc.clone()).map_err(|e| {
            RegistryError::Invalid(Violations::single(
                "",
                format!("not a feed configuration: {e}"),
            ))
        })?;
        let problems = check_config(&config);
        if !problems.is_empty() {
            return Err(RegistryError::Invalid(problems));
        }
        let mut record = self.store.get_feed(agency)?.unwrap_or_default();
        if record.config.as_ref().map(|c| &c.url) != Some(&config.url) {
            // Another document: forget what the old one published and its validators.
            record = FeedRecord::default();
        }
        record.config = Some(config.clone());
        self.store.put_feed(agency, &record)?;
        self.store.durable().await?;
        Ok(config)
    }

    /// Stops harvesting `agency`'s feed. Its entries stay as they are, and the runs stay
    /// for the record; a feed registered later starts afresh.
    pub async fn remove_feed(&self, principal: &Principal, agency: &str) -> Result<()> {
        self.feed_access(principal, agency)?;
        self.feed(agency)?;
        self.store.put_feed(agency, &FeedRecord::default())?;
        self.store.durable().await?;
        Ok(())
    }

    /// `agency`'s feed configuration.
    pub fn feed(&self, agency: &str) -> Result<FeedConfig> {
        self.require_agency_exists(agency)?;
        self.store
            .get_feed(agency)?
            .and_then(|r| r.config)
            .ok_or_else(|| RegistryError::NotFound(format!("agency '{agency}' has no feed")))
    }

    /// `agency`'s last harvest runs, newest first.
    pub fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        self.require_agency_exists(agency)?;
        Ok(self.store.harvest_runs(agency, limit)?)
    }

    /// Refuses a caller who is neither the agency nor the operator.
    pub fn feed_access(&self, principal: &Principal, agency: &str) -> Result<()> {
        self.require_agency_exists(agency)?;
        if principal.may_change(agency) {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "only agency '{agency}' or the operator may manage its feed"
            )))
        }
    }

    fn require_agency_exists(&self, agency: &str) -> Result<()> {
        match self.store.get_agency(agency)? {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound(format!("no agency '{agency}'"))),
        }
    }

    /// Applies a feed document that was read successfully (`services` is its array), updates
    /// the feed's memory in `record`, and waits until everything is durable. The entries are
    /// judged and written on a blocking thread: thousands of validations and sled writes
    /// would otherwise hold up a request worker.
    pub async fn apply_feed(
        &self,
        agency: &str,
        services: Vec<Value>,
        record: FeedRecord,
        retire_after: u32,
    ) -> (Applied, FeedRecord) {
        let registry = self.clone();
        let owner = agency.to_string();
        let work = tokio::task::spawn_blocking(move || {
            let mut record = record;
            let applied = registry.apply_feed_now(&owner, &services, &mut record, retire_after);
            (applied, record)
        });
        let (applied, record) = match work.await {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if let Err(e) = self.commit().await {
            tracing::error!(error = %e, agency, "harvested changes could not be made durable");
        }
        (applied, record)
    }

    fn apply_feed_now(
        &self,
        agency: &str,
        services: &[Value],
        record: &mut FeedRecord,
        retire_after: u32,
    ) -> Applied {
        let mut applied = Applied::default();
        let actor = format!("harvest:{agency}");
        let by = Attribution {
            actor: &actor,
            at: Utc::now(),
        };
        let mut present = BTreeSet::new();
        for (index, doc) in services.iter().enumerate() {
            let id = doc.get("id").and_then(Value::as_str).map(str::to_string);
            if let Some(id) = &id {
                if !present.insert(id.clone()) {
                    applied.counts.invalid += 1;
                    applied.problems.push(EntryProblem::new(
                        index,
                        Some(id.clone()),
                        Violations::single("/id", format!("'{id}' appears earlier in the feed")),
                    ));
                    continue;
                }
            }
            if let Err(problem) = self.apply_feed_entry(agency, doc, &by, &mut applied.counts) {
                applied.problems.push(EntryProblem::new(index, id, problem));
            }
        }
        self.settle_absences(agency, present, record, retire_after, &by, &mut applied);
        applied
    }

    /// A feed that answered "not modified": its entries are as last time, and those missing
    /// then are missing again.
    pub async fn apply_unchanged_feed(
        &self,
        agency: &str,
        record: &mut FeedRecord,
        retire_after: u32,
    ) -> Applied {
        let mut applied = Applied::default();
        let actor = format!("harvest:{agency}");
        let by = Attribution {
            actor: &actor,
            at: Utc::now(),
        };
        let present: BTreeSet<String> = record
            .published
            .iter()
            .filter(|id| !record.missing.contains_key(*id))
            .cloned()
            .collect();
        applied.counts.unchanged = present.len();
        self.settle_absences(agency, present, record, retire_after, &by, &mut applied);
        if let Err(e) = self.commit().await {
            tracing::error!(error = %e, agency, "harvested changes could not be made durable");
        }
        applied
    }

    /// Published entries absent from this harvest come one harvest closer to retirement;
    /// those present start over.
    fn settle_absences(
        &self,
        agency: &str,
        present: BTreeSet<String>,
        record: &mut FeedRecord,
        retire_after: u32,
        by: &Attribution<'_>,
        applied: &mut Applied,
    ) {
        for id in record
            .published
            .difference(&present)
            .cloned()
            .collect::<Vec<_>>()
        {
            let misses = record.missing.entry(id.clone()).or_insert(0);
            *misses += 1;
            if *misses < retire_after {
                applied.counts.missing += 1;
                continue;
            }
            record.missing.remove(&id);
            record.published.remove(&id);
            match self.retire_harvested(agency, &id, by) {
                Ok(true) => applied.counts.retired += 1,
                Ok(false) => {}
                Err(e) => applied.problems.push(EntryProblem {
                    index: None,
                    id: Some(id.clone()),
                    errors: vec![ProblemDetail {
                        pointer: String::new(),
                        message: format!("could not retire the missing entry: {e}"),
                    }],
                }),
            }
        }
        for id in &present {
            record.missing.remove(id);
        }
        record.published.extend(present);
    }

    /// One entry of a feed: created, updated, left alone, or refused with its problems.
    fn apply_feed_entry(
        &self,
        agency: &str,
        doc: &Value,
        by: &Attribution<'_>,
        counts: &mut HarvestCounts,
    ) -> std::result::Result<(), Violations> {
        if let Some(named) = doc.get("agency").and_then(Value::as_str) {
            if !named.is_empty() && named != agency {
                counts.refused += 1;
                return Err(Violations::single(
                    "/agency",
                    format!("agency '{agency}''s feed cannot publish entries for '{named}'"),
                ));
            }
        }
        let mut entry = match self.validator.validate_entry(doc) {
            Ok(entry) => entry,
            Err(problems) => {
                counts.invalid += 1;
                return Err(problems);
            }
        };
        entry.agency = agency.to_string();
        let stored = self.store.get_service(&entry.id).map_err(store_problem)?;
        let result = match stored {
            None => {
                entry.version = Some(1);
                entry.created_at = Some(by.at);
                entry.updated_at = Some(by.at);
                entry.last_verified_at = entry.last_verified_at.or(Some(by.at));
                self.store
                    .insert_service(&entry, by)
                    .map(|_| counts.created += 1)
            }
            Some(current) if current.agency != agency => {
                counts.refused += 1;
                return Err(Violations::single(
                    "/id",
                    format!("'{}' belongs to agency '{}'", current.id, current.agency),
                ));
            }
            Some(current) if same_content(&current, &entry) => {
                counts.unchanged += 1;
                return Ok(());
            }
            Some(current) => {
                let expected = current.version.unwrap_or(0);
                entry.version = Some(expected + 1);
                entry.created_at = current.created_at;
                entry.updated_at = Some(by.at);
                entry.last_verified_at = entry.last_verified_at.or(Some(by.at));
                let kind = if entry.status == Status::Retired {
                    ChangeKind::Retired
                } else {
                    ChangeKind::Updated
                };
                self.store
                    .replace_service(&entry, expected, kind, by)
                    .map(|_| counts.updated += 1)
            }
        };
        result.map_err(|e| {
            counts.invalid += 1;
            store_problem(e)
        })
    }

    /// Retires an entry its feed stopped publishing; false when there was nothing to do.
    fn retire_harvested(&self, agency: &str, id: &str, by: &Attribution<'_>) -> Result<bool> {
        let Some(current) = self.store.get_service(id)? else {
            return Ok(false);
        };
        if current.agency != agency || current.status == Status::Retired {
            return Ok(false);
        }
        let mut entry = current.clone();
        entry.status = Status::Retired;
        entry.version = Some(current.version.unwrap_or(0) + 1);
        entry.updated_at = Some(by.at);
        self.store.replace_service(
            &entry,
            current.version.unwrap_or(0),
            ChangeKind::Retired,
            by,
        )?;
        Ok(true)
    }
}

/// Whether two versions say the same thing, leaving out what the server manages.
fn same_content(stored: &ServiceEntry, harvested: &ServiceEntry) -> bool {
    let strip = |entry: &ServiceEntry, verified: Option<DateTime<Utc>>| {
        let mut entry = entry.clone();
        entry.version = None;
        entry.created_at = None;
        entry.updated_at = None;
        entry.last_verified_at = verified;
        entry
    };
    // A feed that names no verification date does not un-verify the entry.
    let verified = harvested.last_verified_at.or(stored.last_verified_at);
    strip(stored, stored.last_verified_at) == strip(harvested, verified)
}

fn store_problem(e: StoreError) -> Violations {
    let message = match e {
        StoreError::VersionMismatch { .. } | StoreError::AlreadyExists(_) => {
            "the entry changed while it was harvested; the next harvest tries again".to_string()
        }
        e => format!("the entry could not be stored: {e}"),
    };
    Violations::single("", message)
}
