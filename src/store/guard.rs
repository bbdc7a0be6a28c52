//! A guard around whichever engine was opened, so that a failing or stuck disk fails
//! requests fast instead of hanging them: every call gets a deadline, engine failures
//! become [`StoreError::Unavailable`] (the API answers 503), and [`StoreFaults`] counts
//! them and says whether writes are failing now (`/readyz`, `/metrics`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    AgencyWrite, CheckKey, CheckSchedule, MetaKey, Result, ServiceWrite, SetupGuard, SharedStore,
    Store, StoreError, StoreStats,
};
use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeRecord};
use crate::model::feed::{FeedRecord, HarvestRun};
use crate::model::health::CheckRecord;
use crate::model::query::{Page, ServiceQuery};
use crate::model::{Agency, ServiceEntry};

/// What the store has failed at since the start, and whether writes fail now.
#[derive(Debug, Default)]
pub struct StoreFaults {
    read_errors: AtomicU64,
    write_errors: AtomicU64,
    flush_errors: AtomicU64,
    timeouts: AtomicU64,
    writes_failing: AtomicBool,
}

/// Counts of [`StoreFaults`], for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub read_errors: u64,
    pub write_errors: u64,
    /// Flushes the engine ran on its own (not for a request) that failed.
    pub flush_errors: u64,
    /// Calls that did not end within the deadline (counted in the errors too).
    pub timeouts: u64,
    /// Whether the last durable write failed.
    pub writes_failing: bool,
}

impl StoreFaults {
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            read_errors: self.read_errors.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            flush_errors: self.flush_errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            writes_failing: self.writes_failing(),
        }
    }

    /// Whether the engine failed since the last durable write that worked.
    pub fn writes_failing(&self) -> bool {
        self.writes_failing.load(Ordering::Relaxed)
    }

    /// A flush the engine ran in the background failed: what it covered is not durable.
    pub(crate) fn background_flush_failed(&self) {
        self.flush_errors.fetch_add(1, Ordering::Relaxed);
        self.writes_failing.store(true, Ordering::Relaxed);
    }

    fn record<T>(&self, operation: Operation, outcome: &Result<T>) {
        let engine_failed = matches!(
            outcome,
            Err(StoreError::Backend(_) | StoreError::Unavailable(_) | StoreError::TimedOut(_))
        );
        let fault = engine_failed || matches!(outcome, Err(StoreError::Corrupt { .. }));
        if fault {
            let count = match operation {
                Operation::Read => &self.read_errors,
                Operation::Write => &self.write_errors,
            };
            count.fetch_add(1, Ordering::Relaxed);
        }
        if engine_failed {
            // An engine failing a read will not make a write durable either.
            self.writes_failing.store(true, Ordering::Relaxed);
        } else if operation == Operation::Write {
            // A write refused for what it asked (a conflict, a version) still reached a
            // working engine.
            self.writes_failing.store(false, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Read,
    Write,
}

/// The guard; [`super::open`] wraps every engine in one.
pub struct Guarded {
    inner: SharedStore,
    deadline: Duration,
    faults: Arc<StoreFaults>,
}

impl Guarded {
    pub fn new(inner: SharedStore, deadline: Duration, faults: Arc<StoreFaults>) -> Self {
        Guarded {
            inner,
            deadline,
            faults,
        }
    }

    async fn run<T>(
        &self,
        operation: Operation,
        deadline: Duration,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let outcome = match tokio::time::timeout(deadline, call).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.faults.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::TimedOut(deadline))
            }
        };
        self.faults.record(operation, &outcome);
        outcome.map_err(|e| match e {
            // An engine's own failure (a disk error) is a passing condition to whoever
            // asked; what it was goes to the log.
            StoreError::Backend(reason) => {
                tracing::warn!(%reason, "storage failed");
                StoreError::Unavailable(reason)
            }
            e => e,
        })
    }

    async fn read<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.run(Operation::Read, self.deadline, call).await
    }

    async fn write<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.run(Operation::Write, self.deadline, call).await
    }
}

#[async_trait]
impl Store for Guarded {
    async fn service(&self, id: &str) -> Result<Option<ServiceEntry>> {
        self.read(self.inner.service(id)).await
    }

    async fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>> {
        self.read(self.inner.services(query)).await
    }

    async fn write_service(
        &self,
        write: ServiceWrite<'_>,
        by: &Attribution<'_>,
    ) -> Result<ChangeRecord> {
        self.write(self.inner.write_service(write, by)).await
    }

    async fn write_services(
        &self,
        writes: &[ServiceWrite<'_>],
        by: &Attribution<'_>,
    ) -> Result<Vec<Result<ChangeRecord>>> {
        // A batch is many writes: it gets a deadline for each, not one for all.
        let each = u32::try_from(writes.len().max(1)).unwrap_or(u32::MAX);
        let deadline = (self.deadline * each).min(Duration::from_secs(600));
        self.run(
            Operation::Write,
            deadline,
            self.inner.write_services(writes, by),
        )
        .await
    }

    async fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>> {
        self.read(self.inner.changes_since(since, limit)).await
    }

    async fn last_change_seq(&self) -> Result<u64> {
        self.read(self.inner.last_change_seq()).await
    }

    async fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read(self.inner.audit_since(after, limit)).await
    }

    async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64> {
        self.write(self.inner.apply_replicated(changes)).await
    }

    async fn mirror_position(&self) -> Result<u64> {
        self.read(self.inner.mirror_position()).await
    }

    async fn put_replicated_agency(&self, agency: &Agency) -> Result<()> {
        self.write(self.inner.put_replicated_agency(agency)).await
    }

    async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        self.read(self.inner.agency(id)).await
    }

    async fn agencies(&self) -> Result<Vec<AgencyRecord>> {
        self.read(self.inner.agencies()).await
    }

    async fn write_agency(&self, write: AgencyWrite<'_>, by: &Attribution<'_>) -> Result<()> {
        self.write(self.inner.write_agency(write, by)).await
    }

    async fn put_health(&self, key: &CheckKey, record: &CheckRecord) -> Result<()> {
        // Not durable on its own, so it says nothing about whether writes are durable.
        self.read(self.inner.put_health(key, record)).await
    }

    async fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>> {
        self.read(self.inner.health_records()).await
    }

    async fn health_record(&self, key: &CheckKey) -> Result<Option<CheckRecord>> {
        self.read(self.inner.health_record(key)).await
    }

    async fn forget_health(&self, service_id: &str) -> Result<()> {
        self.read(self.inner.forget_health(service_id)).await
    }

    async fn feed(&self, agency: &str) -> Result<Option<FeedRecord>> {
        self.read(self.inner.feed(agency)).await
    }

    async fn feeds(&self) -> Result<Vec<(String, FeedRecord)>> {
        self.read(self.inner.feeds()).await
    }

    async fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<()> {
        self.write(self.inner.put_feed(agency, record)).await
    }

    async fn append_harvest_run(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()> {
        self.write(self.inner.append_harvest_run(agency, run, keep))
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
        self.write(self.inner.finish_harvest(agency, url, record, run, keep))
            .await
    }

    async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        self.read(self.inner.harvest_runs(agency, limit)).await
    }

    async fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        self.read(self.inner.meta(key)).await
    }

    async fn set_meta(&self, key: MetaKey, value: &str) -> Result<()> {
        self.write(self.inner.set_meta(key, value)).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.read(self.inner.stats()).await
    }

    fn change_signal(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.inner.change_signal()
    }

    fn check_schedule(&self) -> Option<Arc<dyn CheckSchedule>> {
        self.inner.check_schedule()
    }

    async fn setup_lock(&self) -> Result<SetupGuard> {
        // Waiting for other instances to finish their setup may take as long as it takes.
        self.inner.setup_lock().await
    }

    fn faults(&self) -> Option<Arc<StoreFaults>> {
        Some(self.faults.clone())
    }
}
