//! The sled engine: Veiviser's embedded default, one directory on one machine. Each write
//! is one sled transaction, and it is acknowledged only after a flush covers it (group
//! commit, see [`flusher`]).
//!
//! No sled type crosses this module's boundary.

mod codec;
mod flusher;
mod keys;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::{AgencyWrite, CheckKey, MetaKey, Result, ServiceWrite, Store, StoreError, StoreStats};

use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeKind, ChangeRecord};
use crate::model::feed::{FeedRecord, HarvestRun};
use crate::model::health::CheckRecord;
use crate::model::query::{Page, ServiceQuery};
use crate::model::{Agency, ServiceEntry};
use flusher::Flusher;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The open database; share it as a [`super::SharedStore`]. Cloning shares the same one.
#[derive(Clone)]
pub struct SledStore {
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

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()?;
        Ok(SledStore {
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

    /// Waits until every write made so far is on disk: the end of every durable write.
    async fn durable(&self) -> Result<()> {
        self.flusher.flush().await.map_err(StoreError::Backend)
    }

    fn counter(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .meta
            .get(key)?
            .and_then(|v| keys::decode_seq(&v))
            .unwrap_or(0))
    }

    fn write_service_now(
        &self,
        entry: &ServiceEntry,
        expected_version: Option<u64>,
        kind: ChangeKind,
        by: &Attribution,
    ) -> Result<ChangeRecord> {
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
            append_audit(
                audit,
                meta,
                by,
                kind.audit_action(),
                &entry.id,
                Some(version),
            )?;
            let seq = next_seq(meta, keys::CHANGE_SEQ)?;
            let change = ChangeRecord::of(seq, entry, kind, by);
            changes.insert(&keys::seq(seq), codec::encode(&change))?;
            Ok(change)
        });
        unwrap_tx(result)
    }

    fn apply_replicated_now(&self, changes: &[ChangeRecord]) -> Result<u64> {
        let trees = (&self.services, &self.changes, &self.meta);
        let result = trees.transaction(|(services, change_log, meta)| {
            let mut position = meta
                .get(keys::MIRROR_POSITION)?
                .and_then(|v| keys::decode_seq(&v))
                .unwrap_or(0);
            for change in changes {
                if !super::next_replicated(position, change)
                    .map_err(ConflictableTransactionError::Abort)?
                {
                    continue;
                }
                let key = change.id.as_bytes();
                let current = services
                    .get(key)?
                    .map(|v| codec::decode::<ServiceEntry>(key, &v))
                    .transpose()
                    .map_err(ConflictableTransactionError::Abort)?;
                let entry = change.applied_to(current);
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

    fn insert_agency(&self, record: &AgencyRecord, by: &Attribution) -> Result<()> {
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

    fn update_agency(
        &self,
        id: &str,
        action: &str,
        by: &Attribution,
        change: impl Fn(&mut AgencyRecord),
    ) -> Result<()> {
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

    fn get_agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        self.agencies
            .get(id)?
            .map(|v| codec::decode(id.as_bytes(), &v))
            .transpose()
    }

    fn append_harvest_run_now(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()> {
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
}

fn meta_key(key: MetaKey) -> &'static [u8] {
    match key {
        MetaKey::AdminTokenHash => keys::ADMIN_TOKEN_HASH,
        MetaKey::Seeded => keys::SEEDED,
    }
}

fn decode_all<T: serde::de::DeserializeOwned>(
    items: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
) -> Result<Vec<T>> {
    items
        .map(|item| {
            let (k, v) = item?;
            codec::decode(&k, &v)
        })
        .collect()
}

// sled's calls are synchronous and quick (its cache holds the catalogue); only the flush
// that ends a durable write waits, and it waits without holding a worker thread.
#[async_trait]
impl Store for SledStore {
    async fn service(&self, id: &str) -> Result<Option<ServiceEntry>> {
        self.services
            .get(id)?
            .map(|v| codec::decode(id.as_bytes(), &v))
            .transpose()
    }

    async fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>> {
        let range = match &query.after {
            Some(after) => self.services.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.services.iter(),
        };
        let mut items = Vec::new();
        for item in range {
            let (key, value) = item?;
            let entry: ServiceEntry = codec::decode(&key, &value)?;
            if query.matches(&entry) {
                if items.len() == query.limit {
                    return Ok(Page { items, more: true });
                }
                items.push(entry);
            }
        }
        Ok(Page { items, more: false })
    }

    async fn write_service(
        &self,
        write: ServiceWrite<'_>,
        by: &Attribution<'_>,
    ) -> Result<ChangeRecord> {
        let change = match write {
            ServiceWrite::Create(entry) => {
                self.write_service_now(entry, None, ChangeKind::Created, by)?
            }
            ServiceWrite::Replace {
                entry,
                expected_version,
                kind,
            } => self.write_service_now(entry, Some(expected_version), kind, by)?,
        };
        self.durable().await?;
        Ok(change)
    }

    async fn write_services(
        &self,
        writes: &[ServiceWrite<'_>],
        by: &Attribution<'_>,
    ) -> Result<Vec<Result<ChangeRecord>>> {
        let owned: Vec<(ServiceEntry, Option<u64>, ChangeKind)> = writes
            .iter()
            .map(|write| match *write {
                ServiceWrite::Create(entry) => (entry.clone(), None, ChangeKind::Created),
                ServiceWrite::Replace {
                    entry,
                    expected_version,
                    kind,
                } => (entry.clone(), Some(expected_version), kind),
            })
            .collect();
        let (actor, at) = (by.actor.to_string(), by.at);
        let store = self.clone();
        // Thousands of transactions are kept off the async workers, so that routing and
        // reads go on while a harvest writes.
        let results = tokio::task::spawn_blocking(move || {
            let by = Attribution { actor: &actor, at };
            owned
                .iter()
                .map(|(entry, expected, kind)| {
                    store.write_service_now(entry, *expected, *kind, &by)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the batch write failed: {e}")))?;
        self.durable().await?;
        Ok(results)
    }

    async fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>> {
        decode_all(
            self.changes
                .range(keys::seq(since.saturating_add(1))..)
                .take(limit),
        )
    }

    async fn last_change_seq(&self) -> Result<u64> {
        self.counter(keys::CHANGE_SEQ)
    }

    async fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        decode_all(
            self.audit
                .range(keys::seq(after.saturating_add(1))..)
                .take(limit),
        )
    }

    async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64> {
        let position = self.apply_replicated_now(changes)?;
        self.durable().await?;
        Ok(position)
    }

    async fn mirror_position(&self) -> Result<u64> {
        self.counter(keys::MIRROR_POSITION)
    }

    async fn put_replicated_agency(&self, agency: &Agency) -> Result<()> {
        let token_hash = self.get_agency(&agency.id)?.and_then(|r| r.token_hash);
        let record = AgencyRecord {
            agency: agency.clone(),
            token_hash,
        };
        self.agencies
            .insert(agency.id.as_bytes(), codec::encode(&record))?;
        self.durable().await
    }

    async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        self.get_agency(id)
    }

    async fn agencies(&self) -> Result<Vec<AgencyRecord>> {
        decode_all(self.agencies.iter())
    }

    async fn write_agency(&self, write: AgencyWrite<'_>, by: &Attribution<'_>) -> Result<()> {
        match write {
            AgencyWrite::Create(record) => self.insert_agency(record, by)?,
            AgencyWrite::Describe(agency) => {
                self.update_agency(&agency.id, "agency.updated", by, |record| {
                    record.agency = agency.clone();
                })?
            }
            AgencyWrite::SetToken { id, token_hash } => {
                self.update_agency(id, "agency.key_issued", by, |record| {
                    record.token_hash = Some(token_hash.to_string());
                })?
            }
        }
        self.durable().await
    }

    async fn put_health(&self, key: &CheckKey, record: &CheckRecord) -> Result<()> {
        // Not flushed: the periodic flush is durable enough for what probing re-learns.
        self.health
            .insert(keys::health(&key.0, key.1), codec::encode(record))?;
        Ok(())
    }

    async fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>> {
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

    async fn health_record(&self, key: &CheckKey) -> Result<Option<CheckRecord>> {
        let at = keys::health(&key.0, key.1);
        self.health
            .get(&at)?
            .map(|v| codec::decode(&at, &v))
            .transpose()
    }

    async fn forget_health(&self, service_id: &str) -> Result<()> {
        let mut batch = sled::Batch::default();
        for item in self.health.scan_prefix(keys::id_prefix(service_id)) {
            batch.remove(item?.0);
        }
        self.health.apply_batch(batch)?;
        Ok(())
    }

    async fn feed(&self, agency: &str) -> Result<Option<FeedRecord>> {
        self.feeds
            .get(agency)?
            .map(|v| codec::decode(agency.as_bytes(), &v))
            .transpose()
    }

    async fn feeds(&self) -> Result<Vec<(String, FeedRecord)>> {
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

    async fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<()> {
        self.feeds.insert(agency, codec::encode(record))?;
        self.durable().await
    }

    async fn append_harvest_run(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()> {
        self.append_harvest_run_now(agency, run, keep)?;
        self.durable().await
    }

    async fn finish_harvest(
        &self,
        agency: &str,
        url: &str,
        record: &FeedRecord,
        run: &HarvestRun,
        keep: usize,
    ) -> Result<()> {
        // Compare-and-swap, so that a feed replaced while the harvest ran keeps its new
        // configuration and forgets nothing the harvest learnt of the old one.
        loop {
            let current = self.feeds.get(agency)?;
            let Some(bytes) = &current else { break };
            let stored: FeedRecord = codec::decode(agency.as_bytes(), bytes)?;
            if stored.config.as_ref().map(|c| c.url.as_str()) != Some(url) {
                break;
            }
            let updated = FeedRecord {
                config: stored.config,
                ..record.clone()
            };
            let swapped = self.feeds.compare_and_swap(
                agency,
                current.as_ref(),
                Some(codec::encode(&updated)),
            )?;
            if swapped.is_ok() {
                break;
            }
        }
        self.append_harvest_run_now(agency, run, keep)?;
        self.durable().await
    }

    async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        decode_all(
            self.harvests
                .scan_prefix(keys::id_prefix(agency))
                .rev()
                .take(limit),
        )
    }

    async fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        Ok(self
            .meta
            .get(meta_key(key))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    async fn set_meta(&self, key: MetaKey, value: &str) -> Result<()> {
        self.meta.insert(meta_key(key), value.as_bytes())?;
        self.durable().await
    }

    async fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            services: self.services.len(),
            bytes_on_disk: self.db.size_on_disk().unwrap_or(0),
        })
    }
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unwrap_tx<T>(result: std::result::Result<T, TransactionError<StoreError>>) -> Result<T> {
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
    let record = AuditRecord::new(seq, by, action, target, version);
    audit.insert(&keys::seq(seq), codec::encode(&record))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    use super::*;
    use crate::store::{SharedStore, suite};

    /// Where the killed writer's child process writes.
    const PLACE: &str = "VEIVISER_SUITE_PLACE";

    /// Opens the store at `dir`. A reopen in the same process waits for sled to let go of
    /// its file lock: its own I/O threads drop the file after the store, which can trail on
    /// a loaded machine (seen once in a full `cargo test`).
    async fn open(dir: &Path) -> SharedStore {
        let mut tries = 0;
        loop {
            match SledStore::open(dir, 8 << 20) {
                Ok(store) => return Arc::new(store),
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("open failed ({e}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the store does not open: {e}"),
            }
        }
    }

    /// The engine-neutral suite, against sled in a temporary directory, on several
    /// threads so that concurrent writers really run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sled_passes_the_store_suite() {
        suite::run(|dir| {
            let dir = dir.to_path_buf();
            async move { open(&dir).await }
        })
        .await;
    }

    /// A child process writes until it is killed with SIGKILL; every write it had
    /// acknowledged is there when the store is opened again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_keeps_every_acknowledged_write_across_kill_9() {
        let place = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::sled::tests::killed_writer", "--ignored"])
            .args(["--nocapture", "--test-threads", "1"])
            .env(PLACE, place.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acknowledged = Vec::new();
        for line in lines {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix(suite::ACKNOWLEDGED) {
                acknowledged.push(id.to_string());
                if acknowledged.len() == 300 {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        suite::check_after_kill(&open(place.path()).await, &acknowledged).await;
    }

    /// The child side of the test above; does nothing unless that test runs it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run as a child process by sled_keeps_every_acknowledged_write_across_kill_9"]
    async fn killed_writer() {
        let Some(place) = std::env::var_os(PLACE) else {
            return;
        };
        suite::write_until_killed(open(Path::new(&place)).await).await;
    }
}
