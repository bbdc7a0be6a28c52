//! The harvester: fetches agencies' feeds on their cron schedules (UTC) under the network
//! policy, with conditional requests, a size cap and a timeout, and hands what it read to
//! the registry. One harvest per agency at a time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use crate::model::feed::{
    FeedConfig, FeedRecord, HarvestCounts, HarvestOutcome, HarvestRun, HarvestTrigger,
};
use crate::outbound::{NetworkPolicy, Purpose, guarded_client, send_checked};
use crate::registry::{Registry, RegistryError};

/// How harvests behave.
#[derive(Debug, Clone)]
pub struct HarvestSettings {
    pub policy: NetworkPolicy,
    /// A feed document larger than this is refused.
    pub max_bytes: usize,
    /// The whole fetch, from connect to the last byte.
    pub timeout: Duration,
    /// Consecutive successful harvests an entry may be missing from before it is retired.
    pub retire_after: u32,
    /// Scheduled harvests of one feed closer together than this are skipped, whatever the
    /// cron says, so no schedule can make Veiviser hammer an agency's server.
    pub min_interval: Duration,
}

impl Default for HarvestSettings {
    fn default() -> Self {
        HarvestSettings {
            policy: NetworkPolicy::default(),
            max_bytes: 32 << 20,
            timeout: Duration::from_secs(60),
            retire_after: crate::model::feed::DEFAULT_RETIRE_AFTER,
            min_interval: Duration::from_secs(60),
        }
    }
}

/// Why a harvest did not run.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("a harvest of agency '{0}' is running already")]
    Busy(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the harvest scheduler failed: {0}")]
    Scheduler(String),
}

impl From<tokio_cron_scheduler::JobSchedulerError> for HarvestError {
    fn from(e: tokio_cron_scheduler::JobSchedulerError) -> Self {
        HarvestError::Scheduler(e.to_string())
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Harvester {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    client: Client,
    policy: Arc<NetworkPolicy>,
    settings: HarvestSettings,
    running: Mutex<HashSet<String>>,
    scheduler: tokio::sync::Mutex<Option<JobScheduler>>,
    jobs: Mutex<HashMap<String, Uuid>>,
    last_scheduled: Mutex<HashMap<String, Instant>>,
}

/// What fetching a feed gave.
enum Fetched {
    NotModified,
    Document {
        services: Vec<Value>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

struct FetchFailure {
    status: Option<u16>,
    error: String,
}

impl Harvester {
    pub fn new(registry: Registry, settings: HarvestSettings) -> reqwest::Result<Self> {
        let policy = Arc::new(settings.policy.clone());
        Ok(Harvester {
            inner: Arc::new(Inner {
                registry,
                client: guarded_client(policy.clone(), Purpose::Harvest)?,
                policy,
                settings,
                running: Mutex::new(HashSet::new()),
                scheduler: tokio::sync::Mutex::new(None),
                jobs: Mutex::new(HashMap::new()),
                last_scheduled: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Schedules every registered feed.
    pub async fn start(&self) -> Result<(), HarvestError> {
        let scheduler = JobScheduler::new().await?;
        scheduler.start().await?;
        *self.inner.scheduler.lock().await = Some(scheduler);
        for (agency, config) in self.inner.registry.registered_feeds().await? {
            self.schedule(&agency, &config).await?;
        }
        Ok(())
    }

    pub async fn stop(&self) {
        if let Some(mut scheduler) = self.inner.scheduler.lock().await.take() {
            let _ = scheduler.shutdown().await;
        }
    }

    /// (Re)plans `agency`'s harvests on `config.schedule`.
    pub async fn schedule(&self, agency: &str, config: &FeedConfig) -> Result<(), HarvestError> {
        let guard = self.inner.scheduler.lock().await;
        let Some(scheduler) = guard.as_ref() else {
            return Ok(());
        };
        let previous = self.inner.jobs.lock().expect("jobs lock").remove(agency);
        if let Some(previous) = previous {
            scheduler.remove(&previous).await?;
        }
        let harvester = self.clone();
        let owner = agency.to_string();
        let job = Job::new_async(config.schedule.as_str(), move |_, _| {
            let harvester = harvester.clone();
            let agency = owner.clone();
            Box::pin(async move {
                if !harvester.due(&agency) {
                    return;
                }
                match harvester.harvest(&agency, HarvestTrigger::Schedule).await {
                    Ok(_) | Err(HarvestError::Busy(_)) => {}
                    Err(e) => tracing::warn!(agency, error = %e, "scheduled harvest did not run"),
                }
            })
        })?;
        let id = scheduler.add(job).await?;
        self.inner
            .jobs
            .lock()
            .expect("jobs lock")
            .insert(agency.to_string(), id);
        Ok(())
    }

    /// Stops `agency`'s scheduled harvests.
    pub async fn unschedule(&self, agency: &str) -> Result<(), HarvestError> {
        let guard = self.inner.scheduler.lock().await;
        let job = self.inner.jobs.lock().expect("jobs lock").remove(agency);
        if let (Some(scheduler), Some(job)) = (guard.as_ref(), job) {
            scheduler.remove(&job).await?;
        }
        Ok(())
    }

    /// Whether a scheduled harvest of `agency` may run now (and if so, notes that it does).
    fn due(&self, agency: &str) -> bool {
        let mut last = self.inner.last_scheduled.lock().expect("schedule lock");
        let now = Instant::now();
        match last.get(agency) {
            Some(at) if now.duration_since(*at) < self.inner.settings.min_interval => false,
            _ => {
                last.insert(agency.to_string(), now);
                true
            }
        }
    }

    /// Harvests `agency`'s feed now and records the run.
    pub async fn harvest(
        &self,
        agency: &str,
        trigger: HarvestTrigger,
    ) -> Result<HarvestRun, HarvestError> {
        let _running = RunningGuard::enter(&self.inner.running, agency)?;
        let registry = &self.inner.registry;
        let config = registry.feed(agency).await?;
        let mut record = registry.feed_record(agency).await?;
        let at = Utc::now();
        let started = Instant::now();
        let mut run = HarvestRun {
            at,
            duration_ms: 0,
            trigger,
            outcome: HarvestOutcome::Failed,
            http_status: None,
            error: None,
            counts: HarvestCounts::default(),
            problems: Vec::new(),
        };
        let retire_after = self.inner.settings.retire_after;
        match self.fetch(agency, &config, &record).await {
            Err(failure) => {
                run.http_status = failure.status;
                run.error = Some(failure.error);
            }
            Ok((status, Fetched::NotModified)) => {
                run.http_status = Some(status);
                run.outcome = HarvestOutcome::NotModified;
                // The feed confirmed its last content: what was missing is missing again.
                let applied = registry
                    .apply_unchanged_feed(agency, &mut record, retire_after)
                    .await;
                run.counts = applied.counts;
                run.problems = applied.problems;
            }
            Ok((
                status,
                Fetched::Document {
                    services,
                    etag,
                    last_modified,
                },
            )) => {
                run.http_status = Some(status);
                run.outcome = HarvestOutcome::Harvested;
                let (applied, updated) = registry
                    .apply_feed(agency, services, record, retire_after)
                    .await;
                record = updated;
                run.counts = applied.counts;
                run.problems = applied.problems;
                record.etag = etag;
                record.last_modified = last_modified;
            }
        }
        run.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        registry
            .finish_harvest(agency, &config.url, &record, &run)
            .await?;
        tracing::info!(
            agency,
            outcome = ?run.outcome,
            created = run.counts.created,
            updated = run.counts.updated,
            unchanged = run.counts.unchanged,
            invalid = run.counts.invalid,
            refused = run.counts.refused,
            retired = run.counts.retired,
            duration_ms = run.duration_ms,
            error = run.error.as_deref().unwrap_or(""),
            "harvest"
        );
        Ok(run)
    }

    async fn fetch(
        &self,
        agency: &str,
        config: &FeedConfig,
        record: &FeedRecord,
    ) -> Result<(u16, Fetched), FetchFailure> {
        let fail = |status: Option<u16>, error: String| FetchFailure { status, error };
        let url = Url::parse(&config.url).map_err(|e| fail(None, format!("bad feed URL: {e}")))?;
        let mut request = self
            .inner
            .client
            .get(url.clone())
            .timeout(self.inner.settings.timeout)
            .header(ACCEPT, "application/json");
        if let Some(etag) = &record.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &record.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = send_checked(&self.inner.policy, &url, request)
            .await
            .map_err(|e| fail(None, e.classify().1))?;
        let status = response.status();
        let code = Some(status.as_u16());
        if status == StatusCode::NOT_MODIFIED {
            return Ok((status.as_u16(), Fetched::NotModified));
        }
        if !status.is_success() {
            return Err(fail(code, format!("the feed answered {status}")));
        }
        let max = self.inner.settings.max_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(fail(code, format!("the feed is larger than {max} bytes")));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        return Err(fail(code, format!("the feed is larger than {max} bytes")));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let error = crate::outbound::SendError::Http(e).classify().1;
                    return Err(fail(code, format!("reading the feed failed: {error}")));
                }
            }
        }
        let services = read_feed_document(&body, agency).map_err(|e| fail(code, e))?;
        Ok((
            status.as_u16(),
            Fetched::Document {
                services,
                etag,
                last_modified,
            },
        ))
    }
}

/// The `services` of a feed document published by `agency`, or why it is not one.
fn read_feed_document(body: &[u8], agency: &str) -> Result<Vec<Value>, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the feed is not JSON: {e}"))?;
    let Value::Object(mut doc) = doc else {
        return Err("the feed is not a JSON object with 'agency' and 'services'".into());
    };
    match doc.get("agency").and_then(Value::as_str) {
        Some(named) if named == agency => {}
        Some(named) => {
            return Err(format!(
                "the feed names agency '{named}', but it is registered for '{agency}'"
            ));
        }
        None => return Err("the feed has no 'agency'".into()),
    }
    match doc.remove("services") {
        Some(Value::Array(services)) => Ok(services),
        _ => Err("the feed has no 'services' array".into()),
    }
}

/// Marks an agency's harvest as running for as long as it lives.
struct RunningGuard<'a> {
    running: &'a Mutex<HashSet<String>>,
    agency: String,
}

impl<'a> RunningGuard<'a> {
    fn enter(running: &'a Mutex<HashSet<String>>, agency: &str) -> Result<Self, HarvestError> {
        if !running
            .lock()
            .expect("running lock")
            .insert(agency.to_string())
        {
            return Err(HarvestError::Busy(agency.to_string()));
        }
        Ok(RunningGuard {
            running,
            agency: agency.to_string(),
        })
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .expect("running lock")
            .remove(&self.agency);
    }
}
