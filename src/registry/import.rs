//! Bulk loading of agencies and entries: the default catalogue on first start, and
//! `veiviser import`. Each document is judged on its own; invalid ones are reported and
//! change nothing.

use chrono::Utc;
use serde_json::Value;

use super::{Registry, RegistryError};
use crate::model::change::{AgencyRecord, Attribution, ChangeKind};
use crate::model::{ServiceEntry, Violations};
use crate::store::{AgencyWrite, ServiceWrite, StoreError};

/// One document to import and where it came from (a file path, for messages).
#[derive(Debug, Clone)]
pub struct SourceDocument {
    pub origin: String,
    pub value: Value,
}

/// Documents to import.
#[derive(Debug, Clone, Default)]
pub struct ImportSource {
    pub agencies: Vec<SourceDocument>,
    pub services: Vec<SourceDocument>,
}

impl ImportSource {
    /// Agency id → name, for the agencies documents that give both (unvalidated: for
    /// display only).
    pub fn agency_names(&self) -> std::collections::BTreeMap<String, String> {
        self.agencies
            .iter()
            .filter_map(|doc| {
                let text = |key: &str| Some(doc.value.get(key)?.as_str()?.to_string());
                Some((text("id")?, text("name")?))
            })
            .collect()
    }
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub agencies_created: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Documents that were refused, with every problem.
    pub invalid: Vec<(String, Violations)>,
}

const IMPORT_ACTOR: &str = "import";

impl Registry {
    /// Imports agencies first (existing ones are kept as they are), then entries: new ones are
    /// created, changed ones updated to a new version, identical ones left alone. The entries
    /// are written as one batch, durable when this returns.
    pub async fn import(&self, source: &ImportSource) -> Result<ImportReport, RegistryError> {
        let mut report = ImportReport::default();
        let by = Attribution {
            actor: IMPORT_ACTOR,
            at: Utc::now(),
        };
        for doc in &source.agencies {
            match self.validator().validate_agency(&doc.value) {
                Err(v) => report.invalid.push((doc.origin.clone(), v)),
                Ok(mut agency) => {
                    if self.store.agency(&agency.id).await?.is_some() {
                        continue;
                    }
                    agency.created_at = Some(by.at);
                    let record = AgencyRecord {
                        agency,
                        token_hash: None,
                    };
                    self.store
                        .write_agency(AgencyWrite::Create(&record), &by)
                        .await?;
                    report.agencies_created += 1;
                }
            }
        }
        let mut planned = Vec::new();
        for doc in &source.services {
            match self.validate_for_import(&doc.value).await {
                Err(v) => report.invalid.push((doc.origin.clone(), v)),
                Ok(entry) => {
                    if let Some(plan) = self.plan_import(entry, &by, &mut report).await? {
                        planned.push(plan);
                    }
                }
            }
        }
        let writes: Vec<_> = planned
            .iter()
            .map(|(entry, expected)| match expected {
                None => ServiceWrite::Create(entry),
                Some(expected_version) => ServiceWrite::Replace {
                    entry,
                    expected_version: *expected_version,
                    kind: ChangeKind::Updated,
                },
            })
            .collect();
        for (result, (_, expected)) in self
            .store
            .write_services(&writes, &by)
            .await?
            .into_iter()
            .zip(&planned)
        {
            result?;
            match expected {
                None => report.created += 1,
                Some(_) => report.updated += 1,
            }
        }
        self.commit().await?;
        Ok(report)
    }

    async fn validate_for_import(&self, doc: &Value) -> Result<ServiceEntry, Violations> {
        let entry = self.validator().validate_entry(doc)?;
        let agency_known = self
            .store
            .agency(&entry.agency)
            .await
            .map_err(|e| Violations::single("", e.to_string()))?
            .is_some();
        if !agency_known {
            return Err(Violations::single(
                "/agency",
                format!(
                    "no agency '{}' is registered (import it in agencies.json)",
                    entry.agency
                ),
            ));
        }
        Ok(entry)
    }

    /// The write an imported entry needs: a creation (`None`), an update from the stored
    /// version, or nothing when it is unchanged.
    async fn plan_import(
        &self,
        mut entry: ServiceEntry,
        by: &Attribution<'_>,
        report: &mut ImportReport,
    ) -> Result<Option<(ServiceEntry, Option<u64>)>, StoreError> {
        entry.updated_at = Some(by.at);
        Ok(match self.store.service(&entry.id).await? {
            None => {
                entry.version = Some(1);
                entry.created_at = Some(by.at);
                Some((entry, None))
            }
            Some(current) if current.content() == entry.content() => {
                report.unchanged += 1;
                None
            }
            Some(current) => {
                let version = current.version.unwrap_or(0);
                entry.version = Some(version + 1);
                entry.created_at = current.created_at;
                Some((entry, Some(version)))
            }
        })
    }
}
