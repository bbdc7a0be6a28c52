//! The sled engine: Veiviser's embedded default, one directory on one machine. Each write
//! is one sled transaction, and it is acknowledged only after a flush covers it (group
//! commit, see [`flusher`]).
//!
//! sled's calls are synchronous and cannot be cancelled, so none runs on an async worker:
//! each goes to the blocking pool, a bounded number at a time, and the guard around the
//! store ([`super::guard`]) stops waiting for one that takes too long. After an I/O error
//! sled fails every later write until it is opened again, and what the failed write
//! changed stays in its memory; so the first error closes the database (reads and writes
//! answer 503, nothing unflushed is served), and the next call or the background flush
//! tries to open it again from disk.
//!
//! That reopening works only once every call into the failed database has returned. After
//! ENOSPC, sled 0.34 leaves a call blocked for good (`tests/api/storage_faults.rs`: still
//! blocked 15 s after space came back), and it keeps the database's file lock; then only
//! a restart heals, which loses nothing acknowledged and keeps nothing refused.
//!
//! No sled type crosses this module's boundary.

mod codec;
mod flusher;
mod keys;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::guard::StoreFaults;
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

/// sled calls running at once at most; more wait for a slot, so that a stuck disk holds a
/// bounded number of threads.
const SLOTS: usize = 16;
/// How often what is not flushed by a durable write (health records) is flushed.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How soon after a failed attempt the database is opened again.
const REOPEN_AFTER: Duration = Duration::from_millis(250);

/// The store; share it as a [`super::SharedStore`].
pub struct SledStore {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    cache_bytes: u64,
    /// The open database; `None` after an I/O error until it is opened again.
    open: RwLock<Option<Arc<Engine>>>,
    /// When the database was last opened or tried, so that a failing disk is not hammered.
    last_open: Mutex<Instant>,
    slots: tokio::sync::Semaphore,
    faults: Arc<StoreFaults>,
}

/// One opened database.
struct Engine {
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
    /// Opens (or creates) the database in `dir`, and flushes it in the background (call
    /// within a tokio runtime); background failures are counted in `faults`.
    pub fn open(dir: &Path, cache_bytes: u64, faults: Arc<StoreFaults>) -> Result<Self> {
        let engine = Engine::open(dir, cache_bytes)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            cache_bytes,
            open: RwLock::new(Some(Arc::new(engine))),
            last_open: Mutex::new(Instant::now()),
            slots: tokio::sync::Semaphore::new(SLOTS),
            faults,
        });
        tokio::spawn(flush_in_background(Arc::downgrade(&shared)));
        Ok(SledStore { shared })
    }

    /// Runs `call` on the open database in the blocking pool. An engine failure closes the
    /// database, to be opened again from disk.
    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Arc<Engine>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .shared
            .slots
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        let shared = self.shared.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let engine = shared.engine()?;
            let outcome = call(&engine);
            if let Err(StoreError::Backend(reason)) = &outcome {
                shared.close_after_failure(&engine, reason);
            }
            outcome
        })
        .await
        .map_err(|e| StoreError::Backend(format!("a storage call failed: {e}")))?;
        drop(permit);
        outcome
    }

    /// Runs a write with `call`, then waits until it is durable.
    async fn durable_call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Arc<Engine>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (outcome, engine) = self
            .call(move |engine| Ok((call(engine), Arc::clone(engine))))
            .await?;
        let value = outcome?;
        if let Err(reason) = engine.flusher.flush().await {
            self.shared.close_after_failure(&engine, &reason);
            return Err(StoreError::Backend(format!(
                "the write could not be made durable and was discarded: {reason}"
            )));
        }
        Ok(value)
    }
}

impl Shared {
    /// The open database, opening it again (at most every [`REOPEN_AFTER`]) if an error
    /// closed it. Blocks: call from the blocking pool.
    fn engine(&self) -> Result<Arc<Engine>> {
        if let Some(engine) = self.open.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(engine);
        }
        let mut last_open = self.last_open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(engine) = self.open.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(engine);
        }
        if last_open.elapsed() < REOPEN_AFTER {
            return Err(StoreError::Unavailable(
                "the data directory failed; it is being opened again".into(),
            ));
        }
        *last_open = Instant::now();
        // Fails while calls still hold the closed database (sled's file lock).
        let engine = Arc::new(Engine::open(&self.dir, self.cache_bytes).map_err(|e| {
            StoreError::Unavailable(format!("the data directory cannot be opened again: {e}"))
        })?);
        tracing::info!(dir = %self.dir.display(), "the data directory is open again");
        *self.open.write().unwrap_or_else(|e| e.into_inner()) = Some(engine.clone());
        Ok(engine)
    }

    /// Closes `engine` after it failed, unless it was closed already.
    fn close_after_failure(&self, engine: &Arc<Engine>, reason: &str) {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        if open
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, engine))
        {
            tracing::error!(
                dir = %self.dir.display(),
                %reason,
                "the data directory failed; it is closed and will be opened again from disk"
            );
            *open = None;
            *self.last_open.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
    }
}

/// Flushes what no durable write flushed, every [`FLUSH_EVERY`], and opens the database
/// again after a failure; ends when the store is dropped. A failure is logged and counted.
async fn flush_in_background(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let engine = tokio::task::spawn_blocking({
            let strong = strong.clone();
            move || strong.engine()
        })
        .await;
        let Ok(Ok(engine)) = engine else {
            continue;
        };
        if let Err(reason) = engine.flusher.flush().await {
            strong.faults.background_flush_failed();
            strong.close_after_failure(&engine, &reason);
        }
    }
}

impl Engine {
    fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        // sled flushes on its own only when told; here the store flushes (above), so that
        // no flush error goes unseen.
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(None)
            .open()?;
        Ok(Engine {
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
        MetaKey::WriteProbe => keys::WRITE_PROBE,
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

/// The reads and the parts of writes that need no flush, synchronous.
impl Engine {
    fn service(&self, id: &str) -> Result<Option<ServiceEntry>> {
        self.services
            .get(id)?
            .map(|v| codec::decode(id.as_bytes(), &v))
            .transpose()
    }

    fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>> {
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

    fn write_services_now(
        &self,
        writes: &[OwnedWrite],
        by: &Attribution,
    ) -> Vec<Result<ChangeRecord>> {
        writes
            .iter()
            .map(|(entry, expected, kind)| self.write_service_now(entry, *expected, *kind, by))
            .collect()
    }

    fn put_replicated_agency_now(&self, agency: &Agency) -> Result<()> {
        let token_hash = self.get_agency(&agency.id)?.and_then(|r| r.token_hash);
        let record = AgencyRecord {
            agency: agency.clone(),
            token_hash,
        };
        self.agencies
            .insert(agency.id.as_bytes(), codec::encode(&record))?;
        Ok(())
    }

    fn write_agency_now(&self, write: &OwnedAgencyWrite, by: &Attribution) -> Result<()> {
        match write {
            OwnedAgencyWrite::Create(record) => self.insert_agency(record, by),
            OwnedAgencyWrite::Describe(agency) => {
                self.update_agency(&agency.id, "agency.updated", by, |record| {
                    record.agency = agency.clone();
                })
            }
            OwnedAgencyWrite::SetToken { id, token_hash } => {
                self.update_agency(id, "agency.key_issued", by, |record| {
                    record.token_hash = Some(token_hash.clone());
                })
            }
        }
    }

    fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>> {
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

    fn forget_health(&self, service_id: &str) -> Result<()> {
        let mut batch = sled::Batch::default();
        for item in self.health.scan_prefix(keys::id_prefix(service_id)) {
            batch.remove(item?.0);
        }
        self.health.apply_batch(batch)?;
        Ok(())
    }

    fn feeds(&self) -> Result<Vec<(String, FeedRecord)>> {
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

    fn finish_harvest_now(
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
        self.append_harvest_run_now(agency, run, keep)
    }
}

/// A service write the blocking pool can own: the entry, the version it replaces, what
/// kind of change it is.
type OwnedWrite = (ServiceEntry, Option<u64>, ChangeKind);

fn owned(write: &ServiceWrite<'_>) -> OwnedWrite {
    match *write {
        ServiceWrite::Create(entry) => (entry.clone(), None, ChangeKind::Created),
        ServiceWrite::Replace {
            entry,
            expected_version,
            kind,
        } => (entry.clone(), Some(expected_version), kind),
    }
}

/// An [`AgencyWrite`] the blocking pool can own.
enum OwnedAgencyWrite {
    Create(AgencyRecord),
    Describe(Agency),
    SetToken { id: String, token_hash: String },
}

/// An [`Attribution`] the blocking pool can own.
struct OwnedBy {
    actor: String,
    at: chrono::DateTime<chrono::Utc>,
}

impl OwnedBy {
    fn of(by: &Attribution<'_>) -> Self {
        OwnedBy {
            actor: by.actor.to_string(),
            at: by.at,
        }
    }

    fn get(&self) -> Attribution<'_> {
        Attribution {
            actor: &self.actor,
            at: self.at,
        }
    }
}

#[async_trait]
impl Store for SledStore {
    async fn service(&self, id: &str) -> Result<Option<ServiceEntry>> {
        let id = id.to_string();
        self.call(move |e| e.service(&id)).await
    }

    async fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>> {
        let query = query.clone();
        self.call(move |e| e.services(&query)).await
    }

    async fn write_service(
        &self,
        write: ServiceWrite<'_>,
        by: &Attribution<'_>,
    ) -> Result<ChangeRecord> {
        let (entry, expected, kind) = owned(&write);
        let by = OwnedBy::of(by);
        self.durable_call(move |e| e.write_service_now(&entry, expected, kind, &by.get()))
            .await
    }

    async fn write_services(
        &self,
        writes: &[ServiceWrite<'_>],
        by: &Attribution<'_>,
    ) -> Result<Vec<Result<ChangeRecord>>> {
        let writes: Vec<OwnedWrite> = writes.iter().map(owned).collect();
        let by = OwnedBy::of(by);
        self.durable_call(move |e| Ok(e.write_services_now(&writes, &by.get())))
            .await
    }

    async fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>> {
        self.call(move |e| {
            decode_all(
                e.changes
                    .range(keys::seq(since.saturating_add(1))..)
                    .take(limit),
            )
        })
        .await
    }

    async fn last_change_seq(&self) -> Result<u64> {
        self.call(|e| e.counter(keys::CHANGE_SEQ)).await
    }

    async fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.call(move |e| {
            decode_all(
                e.audit
                    .range(keys::seq(after.saturating_add(1))..)
                    .take(limit),
            )
        })
        .await
    }

    async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64> {
        let changes = changes.to_vec();
        self.durable_call(move |e| e.apply_replicated_now(&changes))
            .await
    }

    async fn mirror_position(&self) -> Result<u64> {
        self.call(|e| e.counter(keys::MIRROR_POSITION)).await
    }

    async fn put_replicated_agency(&self, agency: &Agency) -> Result<()> {
        let agency = agency.clone();
        self.durable_call(move |e| e.put_replicated_agency_now(&agency))
            .await
    }

    async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        let id = id.to_string();
        self.call(move |e| e.get_agency(&id)).await
    }

    async fn agencies(&self) -> Result<Vec<AgencyRecord>> {
        self.call(|e| decode_all(e.agencies.iter())).await
    }

    async fn write_agency(&self, write: AgencyWrite<'_>, by: &Attribution<'_>) -> Result<()> {
        let write = match write {
            AgencyWrite::Create(record) => OwnedAgencyWrite::Create(record.clone()),
            AgencyWrite::Describe(agency) => OwnedAgencyWrite::Describe(agency.clone()),
            AgencyWrite::SetToken { id, token_hash } => OwnedAgencyWrite::SetToken {
                id: id.to_string(),
                token_hash: token_hash.to_string(),
            },
        };
        let by = OwnedBy::of(by);
        self.durable_call(move |e| e.write_agency_now(&write, &by.get()))
            .await
    }

    async fn put_health(&self, key: &CheckKey, record: &CheckRecord) -> Result<()> {
        // Not flushed: the background flush is durable enough for what probing re-learns.
        let (at, value) = (keys::health(&key.0, key.1), codec::encode(record));
        self.call(move |e| {
            e.health.insert(at, value)?;
            Ok(())
        })
        .await
    }

    async fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>> {
        self.call(|e| e.health_records()).await
    }

    async fn health_record(&self, key: &CheckKey) -> Result<Option<CheckRecord>> {
        let at = keys::health(&key.0, key.1);
        self.call(move |e| {
            e.health
                .get(&at)?
                .map(|v| codec::decode(&at, &v))
                .transpose()
        })
        .await
    }

    async fn forget_health(&self, service_id: &str) -> Result<()> {
        let service_id = service_id.to_string();
        self.call(move |e| e.forget_health(&service_id)).await
    }

    async fn feed(&self, agency: &str) -> Result<Option<FeedRecord>> {
        let agency = agency.to_string();
        self.call(move |e| {
            e.feeds
                .get(&agency)?
                .map(|v| codec::decode(agency.as_bytes(), &v))
                .transpose()
        })
        .await
    }

    async fn feeds(&self) -> Result<Vec<(String, FeedRecord)>> {
        self.call(|e| e.feeds()).await
    }

    async fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<()> {
        let (agency, value) = (agency.to_string(), codec::encode(record));
        self.durable_call(move |e| {
            e.feeds.insert(agency, value)?;
            Ok(())
        })
        .await
    }

    async fn append_harvest_run(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()> {
        let (agency, run) = (agency.to_string(), run.clone());
        self.durable_call(move |e| e.append_harvest_run_now(&agency, &run, keep))
            .await
    }

    async fn finish_harvest(
        &self,
        agency: &str,
        url: &str,
        record: &FeedRecord,
        run: &HarvestRun,
        keep: usize,
    ) -> Result<()> {
        let (agency, url) = (agency.to_string(), url.to_string());
        let (record, run) = (record.clone(), run.clone());
        self.durable_call(move |e| e.finish_harvest_now(&agency, &url, &record, &run, keep))
            .await
    }

    async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        let prefix = keys::id_prefix(agency);
        self.call(move |e| decode_all(e.harvests.scan_prefix(prefix).rev().take(limit)))
            .await
    }

    async fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        self.call(move |e| {
            Ok(e.meta
                .get(meta_key(key))?
                .map(|v| String::from_utf8_lossy(&v).into_owned()))
        })
        .await
    }

    async fn set_meta(&self, key: MetaKey, value: &str) -> Result<()> {
        let value = value.to_string();
        self.durable_call(move |e| {
            e.meta.insert(meta_key(key), value.as_bytes())?;
            Ok(())
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.call(|e| {
            Ok(StoreStats {
                services: e.services.len(),
                bytes_on_disk: e.db.size_on_disk().unwrap_or(0),
            })
        })
        .await
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
            match SledStore::open(dir, 8 << 20, Arc::default()) {
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
