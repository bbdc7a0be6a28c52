//! Harvest: an agency's feed document applied to the catalogue. Each entry is judged on its
//! own; nothing is retired because a feed failed, only after an entry has been missing from
//! enough consecutive successful harvests.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Registry, RegistryError, Result};
use crate::auth::Principal;
use crate::model::change::{Attribution, ChangeKind};
use crate::model::feed::RUNS_KEPT;
use crate::model::feed::{
    EntryProblem, FeedConfig, FeedRecord, HarvestCounts, HarvestRun, ProblemDetail, check_config,
};
use crate::model::{ServiceEntry, Status, Validator, Violations};
use crate::store::{ServiceWrite, StoreError};

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
        self.feed_access(principal, agency).await?;
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
        let mut record = self.store.feed(agency).await?.unwrap_or_default();
        if record.config.as_ref().map(|c| &c.url) != Some(&config.url) {
            // Another document: forget what the old one published and its validators.
            record = FeedRecord::default();
        }
        record.config = Some(config.clone());
        self.store.put_feed(agency, &record).await?;
        Ok(config)
    }

    /// Stops harvesting `agency`'s feed. Its entries stay as they are, and the runs stay
    /// for the record; a feed registered later starts afresh.
    pub async fn remove_feed(&self, principal: &Principal, agency: &str) -> Result<()> {
        self.feed_access(principal, agency).await?;
        self.feed(agency).await?;
        self.store.put_feed(agency, &FeedRecord::default()).await?;
        Ok(())
    }

    /// `agency`'s feed configuration.
    pub async fn feed(&self, agency: &str) -> Result<FeedConfig> {
        self.require_agency_exists(agency).await?;
        self.store
            .feed(agency)
            .await?
            .and_then(|r| r.config)
            .ok_or_else(|| RegistryError::NotFound(format!("agency '{agency}' has no feed")))
    }

    /// `agency`'s last harvest runs, newest first.
    pub async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        self.require_agency_exists(agency).await?;
        Ok(self.store.harvest_runs(agency, limit).await?)
    }

    /// What the harvester remembers of `agency`'s feed (validators, published ids).
    pub async fn feed_record(&self, agency: &str) -> Result<FeedRecord> {
        Ok(self.store.feed(agency).await?.unwrap_or_default())
    }

    /// Every agency with a registered feed, and its configuration.
    pub async fn registered_feeds(&self) -> Result<Vec<(String, FeedConfig)>> {
        Ok(self
            .store
            .feeds()
            .await?
            .into_iter()
            .filter_map(|(agency, record)| Some((agency, record.config?)))
            .collect())
    }

    /// Records a finished harvest of the feed at `url`: its run always, and what it learnt
    /// only if the feed still points there (it may have been replaced meanwhile).
    pub async fn finish_harvest(
        &self,
        agency: &str,
        url: &str,
        record: &FeedRecord,
        run: &HarvestRun,
    ) -> Result<()> {
        self.store
            .finish_harvest(agency, url, record, run, RUNS_KEPT)
            .await?;
        Ok(())
    }

    /// Refuses a caller who is neither the agency nor the operator.
    pub async fn feed_access(&self, principal: &Principal, agency: &str) -> Result<()> {
        self.require_agency_exists(agency).await?;
        if principal.may_change(agency) {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "only agency '{agency}' or the operator may manage its feed"
            )))
        }
    }

    async fn require_agency_exists(&self, agency: &str) -> Result<()> {
        match self.store.agency(agency).await? {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound(format!("no agency '{agency}'"))),
        }
    }

    /// Applies a feed document that was read successfully (`services` is its array) and
    /// updates the feed's memory in `record`. The entries are judged on a blocking thread
    /// (thousands of validations would otherwise hold up a request worker), then written
    /// as one batch that is durable when this returns.
    pub async fn apply_feed(
        &self,
        agency: &str,
        services: Vec<Value>,
        mut record: FeedRecord,
        retire_after: u32,
    ) -> (Applied, FeedRecord) {
        let validator = self.validator.clone();
        let owner = agency.to_string();
        let judging =
            tokio::task::spawn_blocking(move || judge_feed(&validator, &owner, &services));
        let verdicts = match judging.await {
            Ok(verdicts) => verdicts,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let mut applied = Applied::default();
        let actor = format!("harvest:{agency}");
        let by = Attribution {
            actor: &actor,
            at: Utc::now(),
        };
        let mut present = BTreeSet::new();
        let mut planned = Vec::new();
        for (index, id, verdict) in verdicts {
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
            let entry = match verdict {
                Verdict::Valid(entry) => *entry,
                Verdict::Refused(problem) => {
                    applied.counts.refused += 1;
                    applied.problems.push(EntryProblem::new(index, id, problem));
                    continue;
                }
                Verdict::Invalid(problem) => {
                    applied.counts.invalid += 1;
                    applied.problems.push(EntryProblem::new(index, id, problem));
                    continue;
                }
            };
            match self
                .plan_feed_entry(agency, entry, &by, &mut applied.counts)
                .await
            {
                Ok(Some(plan)) => planned.push((index, plan)),
                Ok(None) => {}
                Err(problem) => applied.problems.push(EntryProblem::new(index, id, problem)),
            }
        }
        self.write_planned(planned, &by, &mut applied).await;
        self.settle_absences(
            agency,
            present,
            &mut record,
            retire_after,
            &by,
            &mut applied,
        )
        .await;
        if let Err(e) = self.commit().await {
            tracing::error!(error = %e, agency, "harvested changes could not be announced");
        }
        (applied, record)
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
        self.settle_absences(agency, present, record, retire_after, &by, &mut applied)
            .await;
        if let Err(e) = self.commit().await {
            tracing::error!(error = %e, agency, "harvested changes could not be announced");
        }
        applied
    }

    /// Published entries absent from this harvest come one harvest closer to retirement;
    /// those present start over.
    async fn settle_absences(
        &self,
        agency: &str,
        present: BTreeSet<String>,
        record: &mut FeedRecord,
        retire_after: u32,
        by: &Attribution<'_>,
        applied: &mut Applied,
    ) {
        let mut retirements = Vec::new();
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
            match self.store.service(&id).await {
                Ok(Some(current))
                    if current.agency == agency && current.status != Status::Retired =>
                {
                    let mut entry = current.clone();
                    entry.status = Status::Retired;
                    entry.version = Some(current.version.unwrap_or(0) + 1);
                    entry.updated_at = Some(by.at);
                    let expected = current.version.unwrap_or(0);
                    retirements.push((entry, expected));
                }
                Ok(_) => {}
                Err(e) => applied.problems.push(retire_problem(&id, &e)),
            }
        }
        if !retirements.is_empty() {
            let writes: Vec<_> = retirements
                .iter()
                .map(|(entry, expected)| ServiceWrite::Replace {
                    entry,
                    expected_version: *expected,
                    kind: ChangeKind::Retired,
                })
                .collect();
            match self.store.write_services(&writes, by).await {
                Ok(results) => {
                    for ((entry, _), result) in retirements.iter().zip(results) {
                        match result {
                            Ok(_) => applied.counts.retired += 1,
                            Err(e) => applied.problems.push(retire_problem(&entry.id, &e)),
                        }
                    }
                }
                Err(e) => {
                    for (entry, _) in &retirements {
                        applied.problems.push(retire_problem(&entry.id, &e));
                    }
                }
            }
        }
        for id in &present {
            record.missing.remove(id);
        }
        record.published.extend(present);
    }

    /// What to write for one valid entry of a feed: a creation, an update, nothing (it is
    /// unchanged), or a refusal with its problem.
    async fn plan_feed_entry(
        &self,
        agency: &str,
        mut entry: ServiceEntry,
        by: &Attribution<'_>,
        counts: &mut HarvestCounts,
    ) -> std::result::Result<Option<Planned>, Violations> {
        let stored = self.store.service(&entry.id).await.map_err(|e| {
            counts.invalid += 1;
            store_problem(e)
        })?;
        match stored {
            None => {
                entry.version = Some(1);
                entry.created_at = Some(by.at);
                entry.updated_at = Some(by.at);
                entry.last_verified_at = entry.last_verified_at.or(Some(by.at));
                Ok(Some(Planned {
                    entry,
                    expected_version: None,
                    kind: ChangeKind::Created,
                }))
            }
            Some(current) if current.agency != agency => {
                counts.refused += 1;
                Err(Violations::single(
                    "/id",
                    format!("'{}' belongs to agency '{}'", current.id, current.agency),
                ))
            }
            Some(current) if same_content(&current, &entry) => {
                counts.unchanged += 1;
                Ok(None)
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
                Ok(Some(Planned {
                    entry,
                    expected_version: Some(expected),
                    kind,
                }))
            }
        }
    }

    /// Writes the planned entries as one batch and counts what each write did.
    async fn write_planned(
        &self,
        planned: Vec<(usize, Planned)>,
        by: &Attribution<'_>,
        applied: &mut Applied,
    ) {
        if planned.is_empty() {
            return;
        }
        let writes: Vec<_> = planned.iter().map(|(_, plan)| plan.write()).collect();
        let results = match self.store.write_services(&writes, by).await {
            Ok(results) => results.into_iter().map(|r| r.map(|_| ())).collect(),
            Err(e) => {
                let message = e.to_string();
                planned
                    .iter()
                    .map(|_| Err(StoreError::Backend(message.clone())))
                    .collect::<Vec<_>>()
            }
        };
        for ((index, plan), result) in planned.iter().zip(results) {
            match result {
                Ok(()) => match plan.kind {
                    ChangeKind::Created => applied.counts.created += 1,
                    ChangeKind::Updated | ChangeKind::Retired => applied.counts.updated += 1,
                },
                Err(e) => {
                    applied.counts.invalid += 1;
                    let id = Some(plan.entry.id.clone());
                    applied
                        .problems
                        .push(EntryProblem::new(*index, id, store_problem(e)));
                }
            }
        }
    }
}

/// A write decided for one harvested entry.
struct Planned {
    entry: ServiceEntry,
    /// `None` for a new entry.
    expected_version: Option<u64>,
    kind: ChangeKind,
}

impl Planned {
    fn write(&self) -> ServiceWrite<'_> {
        match self.expected_version {
            None => ServiceWrite::Create(&self.entry),
            Some(expected_version) => ServiceWrite::Replace {
                entry: &self.entry,
                expected_version,
                kind: self.kind,
            },
        }
    }
}

/// What the feed's own document says of one entry, before the catalogue is consulted.
enum Verdict {
    Valid(Box<ServiceEntry>),
    /// It names another agency.
    Refused(Violations),
    Invalid(Violations),
}

/// Judges every entry of `agency`'s feed document: (index, id, verdict) in document order.
fn judge_feed(
    validator: &Validator,
    agency: &str,
    services: &[Value],
) -> Vec<(usize, Option<String>, Verdict)> {
    services
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            let id = doc.get("id").and_then(Value::as_str).map(str::to_string);
            let named = doc.get("agency").and_then(Value::as_str);
            let verdict = match named {
                Some(named) if !named.is_empty() && named != agency => {
                    Verdict::Refused(Violations::single(
                        "/agency",
                        format!("agency '{agency}''s feed cannot publish entries for '{named}'"),
                    ))
                }
                _ => match validator.validate_entry(doc) {
                    Ok(mut entry) => {
                        entry.agency = agency.to_string();
                        Verdict::Valid(Box::new(entry))
                    }
                    Err(problems) => Verdict::Invalid(problems),
                },
            };
            (index, id, verdict)
        })
        .collect()
}

fn retire_problem(id: &str, e: &StoreError) -> EntryProblem {
    EntryProblem {
        index: None,
        id: Some(id.to_string()),
        errors: vec![ProblemDetail {
            pointer: String::new(),
            message: format!("could not retire the missing entry: {e}"),
        }],
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
