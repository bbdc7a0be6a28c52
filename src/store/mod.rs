//! The store: Veiviser's only door to sled. Typed reads and writes; every accepted change
//! writes the entry, its audit record and the global change sequence in one transaction,
//! and a write is acknowledged only after a flush covers it (see [`flusher`]).
//!
//! No sled type crosses this module's boundary.

mod codec;
mod flusher;
mod keys;

use std::path::Path;
use std::sync::Arc;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeKind, ChangeRecord};
use crate::model::feed::{FeedRecord, HarvestRun};
use crate::model::health::CheckRecord;
use crate::model::{Agency, ServiceEntry};
use flusher::Flusher;

/// The store layer's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("'{0}' already exists")]
    AlreadyExists(String),
    #[error("'{0}' does not exist")]
    Missing(String),
    #[error("'{id}' is at version {current}")]
    VersionMismatch { id: String, current: u64 },
    #[error("stored record '{key}' cannot be read: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("storage failed: {0}")]
    Backend(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// A health record's service id and channel index.
pub type HealthKey = (String, usize);

/// Handle to the open database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    services: sled::Tree,
    agencies: sled::Tree,
    audit: sled::Tree,
    changes: sled::Tree,
    meta: sled::Tree,
    health: sled::Tree,
    feeds: sled::Tree,
    harvests: sled::Tree,
    flusher: Arc<Flusher>,
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()?;
        Ok(Store {
            services: db.open_tree(keys::SERVICES)?,
            agencies: db.open_tree(keys::AGENCIES)?,
            audit: db.open_tree(keys::AUDIT)?,
            changes: db.open_tree(keys::CHANGES)?,
            meta: db.open_tree(keys::META)?,
            health: db.open_tree(keys::HEALTH)?,
            feeds: db.open_tree(keys::FEEDS)?,
            harvests: db.open_tree(keys::HARVESTS)?,
            flusher: Arc::new(Flusher::new(db.clone())),
            db,
        })
    }

    /// Waits until every write made so far is on disk. Call before acknowledging a write.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.flusher.flush().await.map_err(StoreError::Backend)
    }

    // ----- services -----

    pub fn get_service(&self, id: &str) -> Result<Option<ServiceEntry>, StoreError> {
        self.services
            .get(id)?
            .map(|v| codec::decode(id.as_bytes(), &v))
            .transpose()
    }

    /// Entries in id order after `after`, keeping those `keep` accepts, at most `limit`;
    /// also says whether more would follow.
    pub fn scan_services(
        &self,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&ServiceEntry) -> bool,
    ) -> Result<(Vec<ServiceEntry>, bool), StoreError> {
        let range = match after {
            Some(after) => self.services.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.services.iter(),
        };
        let mut found = Vec::new();
        for item in range {
            let (key, value) = item?;
            let entry: ServiceEntry = codec::decode(&key, &value)?;
            if keep(&entry) {
                if found.len() == limit {
                    return Ok((found, true));
                }
                found.push(entry);
            }
        }
        Ok((found, false))
    }

    /// Every entry, in id order.
    pub fn all_services(&self) -> Result<Vec<ServiceEntry>, StoreError> {
        Ok(self.scan_services(None, usize::MAX, |_| true)?.0)
    }

    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// Stores a new entry (its version already set), failing if the id is taken.
    pub fn insert_service(
        &self,
        entry: &ServiceEntry,
        by: &Attribution,
    ) -> Result<ChangeRecord, StoreError> {
        self.write_service(entry, None, ChangeKind::Created, by)
    }

    /// Replaces an entry whose stored version is `expected_version`.
    pub fn replace_service(
        &self,
        entry: &ServiceEntry,
        expected_version: u64,
        kind: ChangeKind,
        by: &Attribution,
    ) -> Result<ChangeRecord, StoreError> {
        self.write_service(entry, Some(expected_version), kind, by)
    }

    fn write_service(
        &self,
        entry: &ServiceEntry,
        expected_version: Option<u64>,
        kind: ChangeKind,
        by: &Attribution,
    ) -> Result<ChangeRecord, StoreError> {
        let key = entry.id.as_bytes();
        let value = codec::encode(entry);
        let version = entry.version.unwrap_or(1);
        let trees = (&self.services, &self.audit, &self.changes, &self.meta);
        let result = trees.transaction(|(services, audit, changes, meta)| {
            let current = services
                .get(key)?
                .map(|v| codec::decode::<ServiceEntry>(key, &v))
                .transpose()
                .map_err(ConflictableTransactionError::Abort)?;
            match (expected_version, current) {
                (None, Some(_)) => return abort(StoreError::AlreadyExists(entry.id.clone())),
                (Some(_), None) => return abort(StoreError::Missing(entry.id.clone())),
                (Some(expected), Some(current)) if current.version != Some(expected) => {
                    return abort(StoreError::VersionMismatch {
                        id: entry.id.clone(),
                        current: current.version.unwrap_or(0),
                    });
                }
                _ => {}
            }
            services.insert(key, value.as_slice())?;
            let action = match kind {
                ChangeKind::Created => "service.created",
                ChangeKind::Updated => "service.updated",
                ChangeKind::Retired => "service.retired",
            };
            append_audit(audit, meta, by, action, &entry.id, Some(version))?;
            let seq = next_seq(meta, keys::CHANGE_SEQ)?;
            let change = ChangeRecord {
                seq,
                id: entry.id.clone(),
                kind,
                version,
                at: by.at,
                entry: (kind != ChangeKind::Retired).then(|| entry.clone()),
            };
            changes.insert(&keys::seq(seq), codec::encode(&change))?;
            Ok(change)
        });
        unwrap_tx(result)
    }

    /// Changes after `since`, in order, at most `limit`.
    pub fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        self.changes
            .range(keys::seq(since.saturating_add(1))..)
            .take(limit)
            .map(|item| {
                let (k, v) = item?;
                codec::decode(&k, &v)
            })
            .collect()
    }

    /// On a mirror: applies changes read from the primary's feed, in order, together with
    /// the position they bring the mirror to, in one transaction. Changes at or before the
    /// position are skipped, so a page read twice applies once. Returns the new position.
    pub fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64, StoreError> {
        let trees = (&self.services, &self.changes, &self.meta);
        let result = trees.transaction(|(services, change_log, meta)| {
            let mut position = meta
                .get(keys::MIRROR_POSITION)?
                .and_then(|v| keys::decode_seq(&v))
                .unwrap_or(0);
            for change in changes {
                if change.seq <= position {
                    continue;
                }
                if change.seq != position + 1 {
                    return abort(StoreError::Corrupt {
                        key: format!("change {}", change.seq),
                        reason: format!(
                            "the mirror is at {position}; changes in between are missing"
                        ),
                    });
                }
                let key = change.id.as_bytes();
                let entry = match &change.entry {
                    Some(entry) => Some(entry.clone()),
                    // A retirement carries no entry: retire the copy held here.
                    None => services
                        .get(key)?
                        .map(|v| codec::decode::<ServiceEntry>(key, &v))
                        .transpose()
                        .map_err(ConflictableTransactionError::Abort)?
                        .map(|mut entry| {
                            entry.status = crate::model::Status::Retired;
                            entry.version = Some(change.version);
                            entry.updated_at = Some(change.at);
                            entry
                        }),
                };
                if let Some(entry) = entry {
                    services.insert(key, codec::encode(&entry))?;
                }
                change_log.insert(&keys::seq(change.seq), codec::encode(change))?;
                position = change.seq;
            }
            meta.insert(keys::MIRROR_POSITION, &keys::seq(position))?;
            meta.insert(keys::CHANGE_SEQ, &keys::seq(position))?;
            Ok(position)
        });
        unwrap_tx(result)
    }

    /// On a mirror: the primary's last change applied here (0 when none).
    pub fn mirror_position(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(keys::MIRROR_POSITION)?
            .and_then(|v| keys::decode_seq(&v))
            .unwrap_or(0))
    }

    /// On a mirror: stores an agency as the primary describes it (tokens stay there).
    pub fn put_replicated_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        let key = agency.id.as_bytes();
        let token_hash = self.get_agency(&agency.id)?.and_then(|r| r.token_hash);
        let record = AgencyRecord {
            agency: agency.clone(),
            token_hash,
        };
        self.agencies.insert(key, codec::encode(&record))?;
        Ok(())
    }

    /// The last change sequence number handed out (0 when none).
    pub fn last_change_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(keys::CHANGE_SEQ)?
            .and_then(|v| keys::decode_seq(&v))
            .unwrap_or(0))
    }

    // ----- agencies -----

    pub fn get_agency(&self, id: &str) -> Result<Option<AgencyRecord>, StoreError> {
        self.agencies
            .get(id)?
            .map(|v| codec::decode(id.as_bytes(), &v))
            .transpose()
    }

    pub fn list_agencies(&self) -> Result<Vec<AgencyRecord>, StoreError> {
        self.agencies
            .iter()
            .map(|item| {
                let (k, v) = item?;
                codec::decode(&k, &v)
            })
            .collect()
    }

    /// Stores a new agency, failing if the id is taken.
    pub fn insert_agency(&self, record: &AgencyRecord, by: &Attribution) -> Result<(), StoreError> {
        let key = record.agency.id.as_bytes();
        let value = codec::encode(record);
        let result =
            (&self.agencies, &self.audit, &self.meta).transaction(|(agencies, audit, meta)| {
                if agencies.get(key)?.is_some() {
                    return abort(StoreError::AlreadyExists(record.agency.id.clone()));
                }
                agencies.insert(key, value.as_slice())?;
                append_audit(audit, meta, by, "agency.created", &record.agency.id, None)
            });
        unwrap_tx(result)
    }

    /// Replaces an agency's token hash; the previous token stops working at once.
    pub fn set_agency_token(
        &self,
        id: &str,
        token_hash: &str,
        by: &Attribution,
    ) -> Result<(), StoreError> {
        self.update_agency(id, "agency.key_issued", by, |record| {
            record.token_hash = Some(token_hash.to_string());
        })
    }

    /// Replaces an agency's description, keeping its token.
    pub fn replace_agency(&self, agency: &Agency, by: &Attribution) -> Result<(), StoreError> {
        self.update_agency(&agency.id, "agency.updated", by, |record| {
            record.agency = agency.clone();
        })
    }

    fn update_agency(
        &self,
        id: &str,
        action: &str,
        by: &Attribution,
        change: impl Fn(&mut AgencyRecord),
    ) -> Result<(), StoreError> {
        let key = id.as_bytes();
        let result =
            (&self.agencies, &self.audit, &self.meta).transaction(|(agencies, audit, meta)| {
                let Some(bytes) = agencies.get(key)? else {
                    return abort(StoreError::Missing(id.to_string()));
                };
                let mut record: AgencyRecord =
                    codec::decode(key, &bytes).map_err(ConflictableTransactionError::Abort)?;
                change(&mut record);
                agencies.insert(key, codec::encode(&record))?;
                append_audit(audit, meta, by, action, id, None)
            });
        unwrap_tx(result)
    }

    // ----- audit, operator token, seeding -----

    /// Audit records after `after`, oldest first, at most `limit`.
    pub fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit
            .range(keys::seq(after.saturating_add(1))..)
            .take(limit)
            .map(|item| {
                let (k, v) = item?;
                codec::decode(&k, &v)
            })
            .collect()
    }

    pub fn admin_token_hash(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get(keys::ADMIN_TOKEN_HASH)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn set_admin_token_hash(&self, hash: &str) -> Result<(), StoreError> {
        self.meta.insert(keys::ADMIN_TOKEN_HASH, hash.as_bytes())?;
        Ok(())
    }

    /// Whether the default catalogue was loaded into this data directory once already
    /// (so that entries retired since are not brought back at the next start).
    pub fn is_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.meta.get(keys::SEEDED)?.is_some())
    }

    pub fn mark_seeded(&self) -> Result<(), StoreError> {
        self.meta.insert(keys::SEEDED, &b"1"[..])?;
        Ok(())
    }

    // ----- health -----

    /// Stores a channel's health record. Not flushed on its own: health is re-learned by
    /// probing, so the periodic flush is durable enough and probes never wait on the disk.
    pub fn put_health(
        &self,
        service_id: &str,
        channel: usize,
        record: &CheckRecord,
    ) -> Result<(), StoreError> {
        self.health
            .insert(keys::health(service_id, channel), codec::encode(record))?;
        Ok(())
    }

    /// Forgets every health record of a service.
    pub fn remove_health(&self, service_id: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for item in self.health.scan_prefix(keys::id_prefix(service_id)) {
            batch.remove(item?.0);
        }
        self.health.apply_batch(batch)?;
        Ok(())
    }

    /// Every stored health record with its service id and channel index.
    pub fn all_health(&self) -> Result<Vec<(HealthKey, CheckRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.health.iter() {
            let (key, value) = item?;
            let Some(at) = keys::decode_health(&key) else {
                continue;
            };
            out.push((at, codec::decode(&key, &value)?));
        }
        Ok(out)
    }

    // ----- feeds and harvests -----

    pub fn get_feed(&self, agency: &str) -> Result<Option<FeedRecord>, StoreError> {
        self.feeds
            .get(agency)?
            .map(|v| codec::decode(agency.as_bytes(), &v))
            .transpose()
    }

    pub fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<(), StoreError> {
        self.feeds.insert(agency, codec::encode(record))?;
        Ok(())
    }

    /// Every agency's feed record.
    pub fn all_feeds(&self) -> Result<Vec<(String, FeedRecord)>, StoreError> {
        self.feeds
            .iter()
            .map(|item| {
                let (k, v) = item?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    codec::decode(&k, &v)?,
                ))
            })
            .collect()
    }

    /// Records a harvest run, keeping the agency's newest `keep`.
    pub fn append_harvest_run(
        &self,
        agency: &str,
        run: &HarvestRun,
        keep: usize,
    ) -> Result<(), StoreError> {
        let number = self.db.generate_id()?;
        self.harvests
            .insert(keys::harvest(agency, number), codec::encode(run))?;
        let mut batch = sled::Batch::default();
        for item in self
            .harvests
            .scan_prefix(keys::id_prefix(agency))
            .keys()
            .rev()
            .skip(keep)
        {
            batch.remove(item?);
        }
        self.harvests.apply_batch(batch)?;
        Ok(())
    }

    /// An agency's harvest runs, newest first.
    pub fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>, StoreError> {
        self.harvests
            .scan_prefix(keys::id_prefix(agency))
            .rev()
            .take(limit)
            .map(|item| {
                let (k, v) = item?;
                codec::decode(&k, &v)
            })
            .collect()
    }

    /// Bytes on disk, for metrics.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unwrap_tx<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    })
}

/// Hands out the next number of a counter in `meta`, inside the caller's transaction, so the
/// sequence has no gaps: a number is used exactly when the transaction commits.
fn next_seq(meta: &TransactionalTree, counter: &[u8]) -> TxResult<u64> {
    let last = meta
        .get(counter)?
        .and_then(|v| keys::decode_seq(&v))
        .unwrap_or(0);
    let next = last + 1;
    meta.insert(counter, &keys::seq(next))?;
    Ok(next)
}

fn append_audit(
    audit: &TransactionalTree,
    meta: &TransactionalTree,
    by: &Attribution,
    action: &str,
    target: &str,
    version: Option<u64>,
) -> TxResult<()> {
    let seq = next_seq(meta, keys::AUDIT_SEQ)?;
    let record = AuditRecord {
        seq,
        at: by.at,
        actor: by.actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        version,
    };
    audit.insert(&keys::seq(seq), codec::encode(&record))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn entry(id: &str, version: u64) -> ServiceEntry {
        serde_json::from_value(serde_json::json!({
            "id": id, "agency": "bufdir", "name": {"nb": "Navn"}, "summary": {"nb": "Kort"},
            "topics": ["mobbing"], "coverage": {"scope": "national"},
            "channels": [{"kind": "phone", "address": "116111"}], "urgency": "crisis",
            "version": version
        }))
        .unwrap()
    }

    fn by() -> Attribution<'static> {
        Attribution {
            actor: "agency:bufdir",
            at: Utc::now(),
        }
    }

    /// Opens the store again in the same process. sled lets go of its file lock only when
    /// its own I/O threads have dropped the file, which can trail the drop of the store on
    /// a loaded machine (seen once in a full `cargo test`): wait for it, up to five seconds.
    async fn reopen(dir: &Path) -> Store {
        let mut tries = 0;
        loop {
            match Store::open(dir, 8 << 20) {
                Ok(store) => return store,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("reopen failed ({e}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the store does not open again: {e}"),
            }
        }
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), 8 << 20).unwrap();
            store.insert_service(&entry("a-service", 1), &by()).unwrap();
            store
                .replace_service(&entry("a-service", 2), 1, ChangeKind::Updated, &by())
                .unwrap();
            store.durable().await.unwrap();
        }
        let store = reopen(dir.path()).await;
        assert_eq!(
            store.get_service("a-service").unwrap().unwrap().version,
            Some(2)
        );
        let changes = store.changes_since(0, 10).unwrap();
        assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(store.audit_since(0, 10).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn conflicts_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        store.insert_service(&entry("a-service", 1), &by()).unwrap();
        assert!(matches!(
            store.insert_service(&entry("a-service", 1), &by()),
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(matches!(
            store.replace_service(&entry("a-service", 3), 2, ChangeKind::Updated, &by()),
            Err(StoreError::VersionMismatch { current: 1, .. })
        ));
        assert!(matches!(
            store.replace_service(&entry("other", 2), 1, ChangeKind::Updated, &by()),
            Err(StoreError::Missing(_))
        ));
        // Only the first write reached the audit log and the change feed: no gaps, no extras.
        assert_eq!(store.changes_since(0, 10).unwrap().len(), 1);
        assert_eq!(store.audit_since(0, 10).unwrap().len(), 1);
        assert_eq!(store.last_change_seq().unwrap(), 1);
    }

    #[tokio::test]
    async fn scans_page_in_id_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        for id in ["cc", "aa", "bb", "dd"] {
            store.insert_service(&entry(id, 1), &by()).unwrap();
        }
        let (page, more) = store.scan_services(None, 2, |_| true).unwrap();
        assert_eq!(
            page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["aa", "bb"]
        );
        assert!(more);
        let (page, more) = store.scan_services(Some("bb"), 2, |_| true).unwrap();
        assert_eq!(
            page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["cc", "dd"]
        );
        assert!(!more);
    }
}
