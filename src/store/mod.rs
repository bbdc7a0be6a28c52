//! The store: where the catalogue, its history and the rebuildable state live, behind one
//! engine-neutral trait. Operations are typed and one each: a write of an entry records
//! the entry, its audit record and the next number of the gap-free change sequence in one
//! transaction, and returns only once it is durable. Queries are data
//! ([`ServiceQuery`]), never closures, so that an engine can answer them natively.
//!
//! - [`sled`]: the embedded engine, the default (`--data DIR`).
//! - [`postgres`]: a database shared by several instances (`--store postgresql://…`).
//! - [`suite`]: the behaviour every engine must show, run against each.
//!
//! No engine's type crosses this module's boundary.

pub mod guard;
pub mod postgres;
pub mod sled;
#[cfg(test)]
mod suite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeKind, ChangeRecord};
use crate::model::feed::{FeedRecord, HarvestRun};
use crate::model::health::CheckRecord;
use crate::model::query::{Page, ServiceQuery};
use crate::model::{Agency, ServiceEntry};

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
    /// The engine cannot be reached now (a lost database connection, a failing disk); try
    /// again later.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// The engine did not answer in time; a write may still have been made.
    #[error("storage did not answer within {} s", .0.as_secs_f32())]
    TimedOut(Duration),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A shared handle to whichever engine was opened.
pub type SharedStore = Arc<dyn Store>;

/// Whether a change read from the primary's feed is the next one for a copy at `position`:
/// `Ok(false)` for one applied already (a page read twice applies once), `Ok(true)` for the
/// next, an error for one after a gap.
pub(crate) fn next_replicated(position: u64, change: &ChangeRecord) -> Result<bool> {
    if change.seq <= position {
        return Ok(false);
    }
    if change.seq != position + 1 {
        return Err(StoreError::Corrupt {
            key: format!("change {}", change.seq),
            reason: format!("the mirror is at {position}; changes in between are missing"),
        });
    }
    Ok(true)
}

/// Moves a change signal on to `seq`, never back, waking its watchers only when it moves.
pub fn advance_signal(signal: &tokio::sync::watch::Sender<u64>, seq: u64) {
    signal.send_if_modified(|seen| {
        let moved = seq > *seen;
        *seen = (*seen).max(seq);
        moved
    });
}

/// Where the store lives; [`open`] opens the engine it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// sled in a directory of this machine, with this much page cache.
    Embedded {
        dir: std::path::PathBuf,
        cache_bytes: u64,
    },
    /// A PostgreSQL database that several instances share (a libpq-style URL).
    Shared { url: String },
}

impl Location {
    /// The engine's name, for logs and `/metrics`.
    pub fn engine(&self) -> &'static str {
        match self {
            Location::Embedded { .. } => "sled",
            Location::Shared { .. } => "postgresql",
        }
    }

    /// Where it is, for messages: the directory, or the database URL without a password.
    pub fn describe(&self) -> String {
        match self {
            Location::Embedded { dir, .. } => dir.display().to_string(),
            Location::Shared { url } => match url::Url::parse(url) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                Ok(parsed) => parsed.to_string(),
                Err(_) => "a PostgreSQL database".into(),
            },
        }
    }

    /// Whether other processes may share this store (so setup must take its lock, and
    /// nothing may be kept on this machine).
    pub fn is_shared(&self) -> bool {
        matches!(self, Location::Shared { .. })
    }
}

/// How long a store call may take before it fails as unavailable, unless set otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Opens (or creates) the store at `location`, guarded (see [`guard`]): a call that takes
/// longer than `deadline` fails as unavailable.
pub async fn open(location: &Location, deadline: Duration) -> Result<SharedStore> {
    let faults = Arc::new(guard::StoreFaults::default());
    let engine: SharedStore = match location {
        Location::Embedded { dir, cache_bytes } => Arc::new(self::sled::SledStore::open(
            dir,
            *cache_bytes,
            faults.clone(),
        )?),
        Location::Shared { url } => Arc::new(self::postgres::PostgresStore::open(url).await?),
    };
    Ok(Arc::new(guard::Guarded::new(engine, deadline, faults)))
}

/// Held while one instance sets up a store that others may share (loads the default
/// catalogue, stores the operator token); dropping it lets the next one in.
pub struct SetupGuard {
    _holder: Option<Box<dyn Send + Sync>>,
}

impl SetupGuard {
    /// A guard for a store no other process can open meanwhile.
    pub fn alone() -> Self {
        SetupGuard { _holder: None }
    }

    /// A guard that holds the lock as long as it keeps `holder`.
    pub fn holding(holder: impl Send + Sync + 'static) -> Self {
        SetupGuard {
            _holder: Some(Box::new(holder)),
        }
    }
}

pub use crate::model::health::CheckKey;

/// A write of one service entry.
#[derive(Debug, Clone, Copy)]
pub enum ServiceWrite<'a> {
    /// A new entry (its version already set); fails if the id is taken.
    Create(&'a ServiceEntry),
    /// Replaces the entry whose stored version is `expected_version`.
    Replace {
        entry: &'a ServiceEntry,
        expected_version: u64,
        kind: ChangeKind,
    },
}

/// A write of one agency, recorded in the audit log.
#[derive(Debug, Clone, Copy)]
pub enum AgencyWrite<'a> {
    /// A new agency; fails if the id is taken.
    Create(&'a AgencyRecord),
    /// A new description, keeping the token.
    Describe(&'a Agency),
    /// A new token hash for the agency `id`: the previous token stops working at once.
    SetToken { id: &'a str, token_hash: &'a str },
}

/// The store's singletons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// SHA-256 (hex) of the operator token.
    AdminTokenHash,
    /// Set once the default catalogue was loaded, so entries retired since stay retired.
    Seeded,
    /// Written to find out whether durable writes work again after they failed.
    WriteProbe,
}

/// Health checks shared out between instances of a shared store, with no owner: whoever
/// has a free probe slot claims what is due.
#[async_trait]
pub trait CheckSchedule: Send + Sync {
    /// Makes the schedule hold exactly `checks` (each with its interval in seconds). A new
    /// check is due at once, or somewhere within its first interval when `spread`; a check
    /// kept keeps its due time.
    async fn plan(&self, checks: &[(CheckKey, u32)], spread: bool) -> Result<()>;

    /// Claims up to `limit` due checks for `instance`, moving each one interval on in the
    /// same statement, so that no other instance claims it again within the interval.
    async fn claim_due(&self, instance: &str, limit: usize) -> Result<Vec<CheckKey>>;
}

/// Sizes for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Entries stored, any status.
    pub services: usize,
    /// Bytes the engine holds on disk (0 where it cannot tell).
    pub bytes_on_disk: u64,
}

/// Everything Veiviser keeps. Every write returns once it is durable, except
/// [`Store::put_health`] (health is re-learned by probing, so probes never wait on a disk).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ----- the catalogue and its history -----

    async fn service(&self, id: &str) -> Result<Option<ServiceEntry>>;

    /// Entries matching `query`, in id order.
    async fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>>;

    /// Writes one entry with its audit record and change, in one transaction.
    async fn write_service(
        &self,
        write: ServiceWrite<'_>,
        by: &Attribution<'_>,
    ) -> Result<ChangeRecord>;

    /// Writes many entries, each in its own transaction as [`Store::write_service`] does,
    /// with one wait for durability at the end (a harvest or an import). One result per
    /// write, in order; the outer error is a failure to make the batch durable.
    async fn write_services(
        &self,
        writes: &[ServiceWrite<'_>],
        by: &Attribution<'_>,
    ) -> Result<Vec<Result<ChangeRecord>>>;

    /// Changes after `since`, in order, at most `limit`.
    async fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>>;

    /// The last change sequence number handed out (0 when none).
    async fn last_change_seq(&self) -> Result<u64>;

    /// Audit records after `after`, oldest first, at most `limit`.
    async fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>>;

    // ----- a mirror's copy of its primary -----

    /// Applies changes read from the primary's feed, in order, with the position they
    /// bring the mirror to, in one transaction. Changes at or before the position are
    /// skipped, so a page read twice applies once; a gap is refused. Returns the position.
    async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64>;

    /// The primary's last change applied here (0 when none).
    async fn mirror_position(&self) -> Result<u64>;

    /// Stores an agency as the primary describes it (tokens stay there; one held here is
    /// kept).
    async fn put_replicated_agency(&self, agency: &Agency) -> Result<()>;

    // ----- agencies -----

    async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>>;

    /// Every agency, in id order.
    async fn agencies(&self) -> Result<Vec<AgencyRecord>>;

    /// Writes one agency with its audit record, in one transaction.
    async fn write_agency(&self, write: AgencyWrite<'_>, by: &Attribution<'_>) -> Result<()>;

    // ----- health records (rebuildable) -----

    /// Stores a channel's health record. Not made durable on its own.
    async fn put_health(&self, key: &CheckKey, record: &CheckRecord) -> Result<()>;

    /// Every stored health record.
    async fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>>;

    /// One channel's stored health record.
    async fn health_record(&self, key: &CheckKey) -> Result<Option<CheckRecord>>;

    /// Forgets every health record of a service.
    async fn forget_health(&self, service_id: &str) -> Result<()>;

    // ----- feeds and harvests -----

    async fn feed(&self, agency: &str) -> Result<Option<FeedRecord>>;

    /// Every agency's feed record.
    async fn feeds(&self) -> Result<Vec<(String, FeedRecord)>>;

    async fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<()>;

    /// Records a harvest run, keeping the agency's newest `keep`.
    async fn append_harvest_run(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()>;

    /// Ends a harvest of the feed at `url`: stores what it learnt in `record` only if the
    /// agency's feed still points at `url` (keeping the configuration stored now), and
    /// appends its run, keeping the newest `keep`.
    async fn finish_harvest(
        &self,
        agency: &str,
        url: &str,
        record: &FeedRecord,
        run: &HarvestRun,
        keep: usize,
    ) -> Result<()>;

    /// An agency's harvest runs, newest first, at most `limit`.
    async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>>;

    // ----- singletons and sizes -----

    async fn meta(&self, key: MetaKey) -> Result<Option<String>>;

    async fn set_meta(&self, key: MetaKey, value: &str) -> Result<()>;

    async fn stats(&self) -> Result<StoreStats>;

    // ----- sharing -----

    /// The newest change number as other processes sharing this store move it, for an
    /// engine that can be shared; `None` where this process is the only writer.
    fn change_signal(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// The schedule that shares health checks out between the processes sharing this
    /// store; `None` where this process runs every check itself.
    fn check_schedule(&self) -> Option<Arc<dyn CheckSchedule>> {
        None
    }

    /// Waits until this process alone may set the store up (see [`SetupGuard`]).
    async fn setup_lock(&self) -> Result<SetupGuard> {
        Ok(SetupGuard::alone())
    }

    /// What the store has failed at, where it is guarded (see [`guard`]).
    fn faults(&self) -> Option<Arc<guard::StoreFaults>> {
        None
    }
}
