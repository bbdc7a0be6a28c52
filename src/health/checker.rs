//! The checker: keeps a plan of every active entry's health checks in step with the
//! catalogue, runs the due ones on tokio-cron-scheduler's tick with bounded concurrency
//! (overall and per host), feeds results into each check's [`CheckRecord`], persists it,
//! and publishes a snapshot of every channel's state for the router. Only a change of
//! state republishes the snapshot or raises an alert.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_cron_scheduler::JobScheduler;

use super::alerts::{AlertEvent, AlertQueue};
use super::probe::probe;
use super::protect::{Protect, ProtectStatus};
use super::{HealthError, HealthSettings, HealthSnapshot};
use crate::metrics::Metrics;
use crate::model::entry::{ChannelKind, HealthCheck};
use crate::model::health::{CheckRecord, CheckState, ProbeResult, Transition};
use crate::model::query::ServiceQuery;
use crate::model::{ServiceEntry, Status};
use crate::outbound::{NetworkPolicy, Purpose, guarded_client};
use crate::store::{CheckSchedule, SharedStore};

pub use crate::model::health::CheckKey;

/// A stale entry's owner and when it was last verified (never, if `None`).
pub type Staleness = (String, Option<DateTime<Utc>>);

#[derive(Debug, Clone)]
struct Planned {
    check: HealthCheck,
    agency: String,
    kind: ChannelKind,
    host: String,
    next_due: Instant,
    in_flight: bool,
}

/// The health checker. Cheap to clone.
#[derive(Clone)]
pub struct Checker {
    inner: Arc<Inner>,
}

/// A checker that does not keep it alive: what scheduled jobs hold.
#[derive(Clone)]
pub struct WeakChecker(Weak<Inner>);

impl WeakChecker {
    pub fn upgrade(&self) -> Option<Checker> {
        self.0.upgrade().map(|inner| Checker { inner })
    }
}

struct Inner {
    /// Reads the catalogue; holds the checker's own records (it writes no entry).
    store: SharedStore,
    /// The last durable change sequence number of the catalogue.
    changes: watch::Receiver<u64>,
    settings: HealthSettings,
    policy: Arc<NetworkPolicy>,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    plan: Mutex<HashMap<CheckKey, Planned>>,
    records: Mutex<HashMap<CheckKey, CheckRecord>>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    global: Arc<Semaphore>,
    snapshot: watch::Sender<Arc<HealthSnapshot>>,
    /// Active entries' channels without a check: id → (agency, how many).
    unchecked: Mutex<HashMap<String, (String, usize)>>,
    /// Active entries not verified within `stale_after`: id → (agency, last verified).
    stale: Mutex<BTreeMap<String, Staleness>>,
    alerts: AlertQueue,
    /// Whether a mass failure makes the checker distrust itself.
    protect: Mutex<Protect>,
    probes: Mutex<JoinSet<()>>,
    background: Mutex<Background>,
    /// Set where the store shares checks out between instances: what is due is claimed
    /// there, not decided here.
    shared: Option<Shared>,
}

/// The state of a checker that shares its checks with other instances.
struct Shared {
    schedule: Arc<dyn CheckSchedule>,
    /// The plan changed since the schedule was last told.
    replan: AtomicBool,
    /// A claim is under way (ticks do not overlap).
    claiming: AtomicBool,
    /// When the others' records were last read.
    refreshed: Mutex<Instant>,
}

#[derive(Default)]
struct Background {
    scheduler: Option<JobScheduler>,
    sync: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent between statements; a panic elsewhere does not spoil them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Checker {
    /// Loads the plan and stored records. Nothing runs until [`Checker::start`].
    pub async fn new(
        store: SharedStore,
        changes: watch::Receiver<u64>,
        settings: HealthSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, HealthError> {
        let policy = Arc::new(settings.policy.clone());
        let client = guarded_client(policy.clone(), Purpose::HealthCheck)
            .map_err(|e| HealthError::Client(e.to_string()))?;
        let alerts = AlertQueue::start(
            client.clone(),
            policy.clone(),
            metrics.clone(),
            settings.alert_attempts,
            settings.alert_backoff,
        );
        let protect = Mutex::new(Protect::new(settings.protect));
        let store_schedule = store.check_schedule();
        let inner = Arc::new(Inner {
            global: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            store,
            changes,
            settings,
            policy,
            client,
            metrics,
            plan: Mutex::default(),
            records: Mutex::default(),
            hosts: Mutex::default(),
            snapshot: watch::channel(Arc::new(HealthSnapshot::default())).0,
            stale: Mutex::default(),
            unchecked: Mutex::default(),
            alerts,
            protect,
            probes: Mutex::new(JoinSet::new()),
            background: Mutex::default(),
            shared: store_schedule.map(|schedule| Shared {
                schedule,
                replan: AtomicBool::new(true),
                claiming: AtomicBool::new(false),
                refreshed: Mutex::new(Instant::now()),
            }),
        });
        let checker = Checker { inner };
        checker.load().await?;
        Ok(checker)
    }

    /// Starts following the catalogue and the schedule (see [`super::jobs`]).
    pub async fn start(&self) -> Result<(), HealthError> {
        let (tick, sweep) = (self.downgrade(), self.downgrade());
        let scheduler = super::jobs::schedule(
            move || {
                if let Some(checker) = tick.upgrade() {
                    checker.dispatch_due();
                }
            },
            move || {
                let sweep = sweep.clone();
                async move {
                    if let Some(checker) = sweep.upgrade() {
                        if let Err(e) = checker.refresh_stale().await {
                            tracing::error!(error = %e, "staleness sweep failed");
                        }
                    }
                }
            },
        )
        .await?;
        let sync = tokio::spawn(follow_catalogue(
            self.downgrade(),
            self.inner.changes.clone(),
            self.inner.store.last_change_seq().await?,
        ));
        let mut background = lock(&self.inner.background);
        background.scheduler = Some(scheduler);
        background.sync = Some(sync);
        Ok(())
    }

    pub fn downgrade(&self) -> WeakChecker {
        WeakChecker(Arc::downgrade(&self.inner))
    }

    /// Stops the schedule, the catalogue follower and probes in flight.
    pub async fn stop(&self) {
        let (scheduler, sync) = {
            let mut background = lock(&self.inner.background);
            (background.scheduler.take(), background.sync.take())
        };
        if let Some(sync) = sync {
            sync.abort();
        }
        if let Some(mut scheduler) = scheduler {
            let _ = scheduler.shutdown().await;
        }
        lock(&self.inner.probes).abort_all();
    }

    /// The state of every checked channel, for the router: a cheap clone of an `Arc`.
    pub fn snapshot(&self) -> Arc<HealthSnapshot> {
        self.inner.snapshot.borrow().clone()
    }

    /// Builds the plan from the catalogue and picks up stored records.
    async fn load(&self) -> Result<(), HealthError> {
        let store = &self.inner.store;
        let services = store.services(&ServiceQuery::everything()).await?.items;
        let mut stored: HashMap<CheckKey, CheckRecord> =
            store.health_records().await?.into_iter().collect();
        let now = Instant::now();
        {
            let mut plan = lock(&self.inner.plan);
            let mut records = lock(&self.inner.records);
            for entry in &services {
                self.note_unchecked(entry);
                for (key, planned) in self.plan_for(entry, now) {
                    let record = stored
                        .remove(&key)
                        .unwrap_or_else(|| CheckRecord::new(Utc::now()));
                    records.insert(key.clone(), record);
                    plan.insert(key, planned);
                }
            }
        }
        // Records of checks that no longer exist.
        let orphans: std::collections::BTreeSet<String> =
            stored.into_keys().map(|(id, _)| id).collect();
        for id in orphans {
            let planned = lock(&self.inner.plan)
                .keys()
                .any(|(planned, _)| *planned == id);
            if !planned {
                store.forget_health(&id).await?;
            }
        }
        self.refresh_stale_from(&services);
        self.publish_all();
        self.replan();
        Ok(())
    }

    /// Tells the shared schedule, at the next tick, that the plan changed.
    fn replan(&self) {
        if let Some(shared) = &self.inner.shared {
            shared.replan.store(true, Ordering::SeqCst);
        }
    }

    /// The checks of one entry, each first due at its place in the spread.
    fn plan_for(&self, entry: &ServiceEntry, now: Instant) -> Vec<(CheckKey, Planned)> {
        if entry.status != Status::Active {
            return Vec::new();
        }
        entry
            .channels
            .iter()
            .enumerate()
            .filter_map(|(index, channel)| {
                let check = channel.health_check.clone()?;
                let host = url::Url::parse(&check.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                let key = (entry.id.clone(), index);
                let offset = if self.inner.settings.spread_first_checks {
                    spread(&key, check.interval_s())
                } else {
                    Duration::ZERO
                };
                Some((
                    key,
                    Planned {
                        agency: entry.agency.clone(),
                        kind: channel.kind,
                        host,
                        next_due: now + offset,
                        in_flight: false,
                        check,
                    },
                ))
            })
            .collect()
    }

    /// Brings one entry's checks in line with its stored version: unchanged checks keep
    /// their record and schedule; changed or new ones start over as `unknown`.
    async fn resync_service(&self, id: &str) -> Result<(), HealthError> {
        let entry = self.inner.store.service(id).await?;
        let wanted: HashMap<CheckKey, Planned> = entry
            .as_ref()
            .map(|e| self.plan_for(e, Instant::now()))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut removed_any = false;
        {
            let mut plan = lock(&self.inner.plan);
            let mut records = lock(&self.inner.records);
            let existing: Vec<CheckKey> =
                plan.keys().filter(|(sid, _)| sid == id).cloned().collect();
            for key in existing {
                let keep = wanted
                    .get(&key)
                    .is_some_and(|w| w.check == plan[&key].check);
                if !keep {
                    lock(&self.inner.protect).forget(&key);
                    plan.remove(&key);
                    records.remove(&key);
                    removed_any = true;
                } else if let (Some(p), Some(w)) = (plan.get_mut(&key), wanted.get(&key)) {
                    // The check is the same, but the channel's kind or owner may have changed.
                    p.kind = w.kind;
                    p.agency = w.agency.clone();
                }
            }
            for (key, planned) in wanted {
                if let std::collections::hash_map::Entry::Vacant(slot) = plan.entry(key.clone()) {
                    records.insert(key, CheckRecord::new(Utc::now()));
                    slot.insert(planned);
                }
            }
        }
        if removed_any {
            self.inner.store.forget_health(id).await?;
            self.persist_service(id).await?;
        }
        match &entry {
            Some(entry) => {
                self.update_stale(entry, Utc::now());
                self.note_unchecked(entry);
            }
            None => {
                lock(&self.inner.unchecked).remove(id);
            }
        }
        self.publish_service(id, entry.as_ref());
        self.replan();
        Ok(())
    }

    fn note_unchecked(&self, entry: &ServiceEntry) {
        let count = entry
            .channels
            .iter()
            .filter(|c| c.health_check.is_none())
            .count();
        let mut unchecked = lock(&self.inner.unchecked);
        if entry.status == Status::Active && count > 0 {
            unchecked.insert(entry.id.clone(), (entry.agency.clone(), count));
        } else {
            unchecked.remove(&entry.id);
        }
    }

    async fn persist_service(&self, id: &str) -> Result<(), HealthError> {
        let records: Vec<(CheckKey, CheckRecord)> = lock(&self.inner.records)
            .iter()
            .filter(|((sid, _), _)| sid == id)
            .map(|(key, r)| (key.clone(), r.clone()))
            .collect();
        for (key, record) in records {
            self.inner.store.put_health(&key, &record).await?;
        }
        Ok(())
    }

    /// Starts every due check that is not already running. With a shared schedule the due
    /// checks are claimed from it, up to the free probe slots.
    pub fn dispatch_due(&self) {
        if let Some(shared) = &self.inner.shared {
            if !shared.claiming.swap(true, Ordering::SeqCst) {
                let checker = self.clone();
                tokio::spawn(async move {
                    checker.dispatch_shared().await;
                    if let Some(shared) = &checker.inner.shared {
                        shared.claiming.store(false, Ordering::SeqCst);
                    }
                });
            }
            return;
        }
        let now = Instant::now();
        let due: Vec<(CheckKey, HealthCheck, String)> = {
            let mut plan = lock(&self.inner.plan);
            plan.iter_mut()
                .filter(|(_, p)| !p.in_flight && p.next_due <= now)
                .map(|(key, p)| {
                    p.in_flight = true;
                    p.next_due = now + Duration::from_secs(u64::from(p.check.interval_s()));
                    (key.clone(), p.check.clone(), p.host.clone())
                })
                .collect()
        };
        self.spawn_probes(due);
    }

    /// One tick of a checker sharing its checks: tell the schedule a changed plan, read
    /// what the other instances learnt, claim what is due and probe it.
    async fn dispatch_shared(&self) {
        let Some(shared) = &self.inner.shared else {
            return;
        };
        if shared.replan.swap(false, Ordering::SeqCst) {
            let checks: Vec<(CheckKey, u32)> = lock(&self.inner.plan)
                .iter()
                .map(|(key, p)| (key.clone(), p.check.interval_s()))
                .collect();
            let spread = self.inner.settings.spread_first_checks;
            if let Err(e) = shared.schedule.plan(&checks, spread).await {
                tracing::warn!(error = %e, "cannot update the shared check schedule");
                shared.replan.store(true, Ordering::SeqCst);
                return;
            }
        }
        let refresh_due = lock(&shared.refreshed).elapsed() >= self.inner.settings.shared_refresh;
        if refresh_due {
            *lock(&shared.refreshed) = Instant::now();
            if let Err(e) = self.adopt_stored_records().await {
                tracing::warn!(error = %e, "cannot read the shared health records");
            }
        }
        let in_flight = lock(&self.inner.plan)
            .values()
            .filter(|p| p.in_flight)
            .count();
        let free = self.inner.settings.concurrency.saturating_sub(in_flight);
        if free == 0 {
            return;
        }
        let claimed = match shared
            .schedule
            .claim_due(&self.inner.settings.instance, free)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim due health checks");
                return;
            }
        };
        let due: Vec<(CheckKey, HealthCheck, String)> = {
            let mut plan = lock(&self.inner.plan);
            claimed
                .into_iter()
                .filter_map(|key| {
                    // A check this instance does not know yet (its catalogue is a moment
                    // behind) is due again next interval.
                    let p = plan.get_mut(&key).filter(|p| !p.in_flight)?;
                    p.in_flight = true;
                    Some((key, p.check.clone(), p.host.clone()))
                })
                .collect()
        };
        self.spawn_probes(due);
    }

    /// Takes the records other instances stored for the checks planned here, and
    /// republishes the snapshot if any changed.
    async fn adopt_stored_records(&self) -> Result<(), HealthError> {
        let stored = self.inner.store.health_records().await?;
        let changed = {
            let plan = lock(&self.inner.plan);
            let mut records = lock(&self.inner.records);
            let mut changed = false;
            for (key, record) in stored {
                if plan.get(&key).is_none_or(|p| p.in_flight) {
                    continue;
                }
                if records.get(&key) != Some(&record) {
                    records.insert(key, record);
                    changed = true;
                }
            }
            changed
        };
        if changed {
            self.publish_all();
        }
        Ok(())
    }

    fn spawn_probes(&self, due: Vec<(CheckKey, HealthCheck, String)>) {
        if due.is_empty() {
            return;
        }
        let mut probes = lock(&self.inner.probes);
        // Reap finished tasks so the set does not grow.
        while probes.try_join_next().is_some() {}
        for (key, check, host) in due {
            let checker = self.clone();
            probes.spawn(async move {
                let result = checker.run_probe(&check, &host).await;
                checker.take_result(&key, &check, result).await;
                if let Some(p) = lock(&checker.inner.plan).get_mut(&key) {
                    p.in_flight = false;
                }
            });
        }
    }

    /// One probe under the per-host and overall limits. The host permit comes first, so a
    /// slow host holds back only its own checks.
    async fn run_probe(&self, check: &HealthCheck, host: &str) -> ProbeResult {
        let host_limit = lock(&self.inner.hosts)
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.inner.settings.per_host.max(1))))
            .clone();
        let _host_permit = host_limit.acquire_owned().await;
        let _permit = self.inner.global.clone().acquire_owned().await;
        let result = probe(
            &self.inner.client,
            &self.inner.policy,
            check,
            self.inner.settings.slow_after,
        )
        .await;
        self.inner.metrics.check_ran(
            result.outcome.label(),
            f64::from(result.latency_ms) / 1000.0,
        );
        result
    }

    /// Feeds a result into its record, persists it, and on a change of state republishes
    /// the snapshot and raises an alert. A result for a check that was removed or changed
    /// while it ran is dropped.
    async fn take_result(&self, key: &CheckKey, check: &HealthCheck, result: ProbeResult) {
        let planned = lock(&self.inner.plan)
            .get(key)
            .filter(|p| p.check == *check)
            .cloned();
        let Some(planned) = planned else { return };
        // Sharing checks, the last probe may have been another instance's: its record is
        // the one to go on from.
        let stored = match &self.inner.shared {
            Some(_) => self.inner.store.health_record(key).await.ok().flatten(),
            None => None,
        };
        let (record, transition) = {
            let mut records = lock(&self.inner.records);
            if let Some(stored) = stored {
                records.insert(key.clone(), stored);
            }
            let record = records
                .entry(key.clone())
                .or_insert_with(|| CheckRecord::new(result.at));
            let transition = record.apply(result, &self.inner.settings.thresholds);
            (record.clone(), transition)
        };
        if let Err(e) = self.inner.store.put_health(key, &record).await {
            tracing::error!(error = %e, service.id = %key.0, "cannot store a health record");
        }
        if let Some(transition) = transition {
            self.on_transition(key, &planned, &record, transition).await;
        }
    }

    async fn on_transition(
        &self,
        key: &CheckKey,
        planned: &Planned,
        record: &CheckRecord,
        transition: Transition,
    ) {
        tracing::info!(
            service.id = %key.0, channel = key.1, from = transition.from.as_str(),
            to = transition.to.as_str(), "health state changed"
        );
        let total = lock(&self.inner.plan).len();
        let verdict = lock(&self.inner.protect).observe(
            Instant::now(),
            Utc::now(),
            key,
            transition.from,
            transition.to,
            total,
        );
        if let Some(held) = verdict.became_suspect {
            // Told once, to the operator's log and /metrics; no agency hears of it.
            tracing::error!(
                held = held.len(),
                checks = total,
                threshold = self.inner.settings.protect.threshold,
                "most checks turned critical at once: the checker takes it for its own fault, keeps routing on the last known states and sends no alerts until they recover"
            );
            self.inner.snapshot.send_modify(|snapshot| {
                let snapshot = Arc::make_mut(snapshot);
                for ((id, channel), before) in &held {
                    snapshot.set(id, *channel, *before);
                }
            });
            return;
        }
        if verdict.recovered {
            tracing::warn!(
                "checks recovered below the protect threshold: the checker trusts its results again"
            );
            self.publish_all();
            return;
        }
        if !verdict.publish {
            return;
        }
        self.inner.snapshot.send_modify(|snapshot| {
            Arc::make_mut(snapshot).set(&key.0, key.1, transition.to);
        });
        let alerting = matches!(
            (transition.from, transition.to),
            (_, CheckState::Critical) | (CheckState::Critical, CheckState::Passing)
        );
        if !alerting {
            return;
        }
        let notify_url = match self.inner.store.agency(&planned.agency).await {
            Ok(record) => record.and_then(|r| r.agency.notify_url),
            Err(e) => {
                tracing::error!(error = %e, agency = %planned.agency, "cannot read the agency to alert");
                None
            }
        };
        if let Some(url) = notify_url {
            self.inner.alerts.send(AlertEvent {
                url,
                event: if transition.to == CheckState::Critical {
                    "check.critical"
                } else {
                    "check.passing"
                },
                service_id: key.0.clone(),
                agency: planned.agency.clone(),
                channel: key.1,
                kind: planned.kind,
                check_url: planned.check.url.clone(),
                from: transition.from,
                to: transition.to,
                at: record.since,
                last_error: record.last_error.clone(),
            });
        }
    }

    /// Checks every checked channel of `id` now and waits for the results.
    pub async fn check_now(&self, id: &str) -> Vec<(usize, ProbeResult, CheckState)> {
        // The entry may have changed a moment ago: check what is stored now, not what the
        // change follower has caught up with.
        if let Err(e) = self.resync_service(id).await {
            tracing::error!(error = %e, service.id = id, "cannot update health checks");
        }
        let planned: Vec<(CheckKey, Planned)> = {
            let plan = lock(&self.inner.plan);
            let mut mine: Vec<_> = plan
                .iter()
                .filter(|((sid, _), _)| sid == id)
                .map(|(k, p)| (k.clone(), p.clone()))
                .collect();
            mine.sort_by_key(|((_, ch), _)| *ch);
            mine
        };
        let runs = planned.into_iter().map(|(key, p)| async move {
            let result = self.run_probe(&p.check, &p.host).await;
            self.take_result(&key, &p.check, result.clone()).await;
            let state = lock(&self.inner.records)
                .get(&key)
                .map_or(CheckState::Unknown, |r| r.state);
            (key.1, result, state)
        });
        futures_util::future::join_all(runs).await
    }

    /// Recomputes the stale set from the whole catalogue.
    pub async fn refresh_stale(&self) -> Result<(), HealthError> {
        let services = self
            .inner
            .store
            .services(&ServiceQuery::everything())
            .await?
            .items;
        self.refresh_stale_from(&services);
        Ok(())
    }

    fn refresh_stale_from(&self, services: &[ServiceEntry]) {
        let now = Utc::now();
        lock(&self.inner.stale).clear();
        for entry in services {
            self.update_stale(entry, now);
        }
    }

    fn update_stale(&self, entry: &ServiceEntry, now: DateTime<Utc>) {
        let stale = entry.status == Status::Active
            && entry
                .last_verified_at
                .is_none_or(|at| now - at > self.inner.settings.stale_after);
        let mut set = lock(&self.inner.stale);
        if stale {
            set.insert(
                entry.id.clone(),
                (entry.agency.clone(), entry.last_verified_at),
            );
        } else {
            set.remove(&entry.id);
        }
    }

    fn publish_all(&self) {
        let snapshot = {
            let plan = lock(&self.inner.plan);
            let records = lock(&self.inner.records);
            let protect = lock(&self.inner.protect);
            let mut snapshot = HealthSnapshot::default();
            for key in plan.keys() {
                let state = records.get(key).map_or(CheckState::Unknown, |r| r.state);
                snapshot.set(&key.0, key.1, protect.shown(key, state));
            }
            snapshot
        };
        self.inner.snapshot.send_replace(Arc::new(snapshot));
    }

    fn publish_service(&self, id: &str, entry: Option<&ServiceEntry>) {
        let states: Vec<(usize, CheckState)> = {
            let plan = lock(&self.inner.plan);
            let records = lock(&self.inner.records);
            let protect = lock(&self.inner.protect);
            plan.keys()
                .filter(|(sid, _)| sid == id)
                .map(|key| {
                    let state = records.get(key).map_or(CheckState::Unknown, |r| r.state);
                    (key.1, protect.shown(key, state))
                })
                .collect()
        };
        let channels = entry.map_or(0, |e| e.channels.len());
        self.inner.snapshot.send_if_modified(|snapshot| {
            let before = snapshot.service(id).map(<[CheckState]>::to_vec);
            let mut after = vec![CheckState::NotApplicable; channels];
            for (channel, state) in &states {
                if let Some(slot) = after.get_mut(*channel) {
                    *slot = *state;
                }
            }
            let after = (!states.is_empty()).then_some(after);
            if before == after {
                return false;
            }
            Arc::make_mut(snapshot).replace_service(id, after);
            true
        });
    }

    // ----- reading -----

    /// Whether the checker distrusts its own results (the protect threshold).
    pub fn protect_status(&self) -> ProtectStatus {
        lock(&self.inner.protect).status()
    }

    /// Every check's key, owner, channel kind and a copy of its record.
    pub fn checks(&self) -> Vec<(CheckKey, String, ChannelKind, CheckRecord)> {
        let plan = lock(&self.inner.plan);
        let records = lock(&self.inner.records);
        plan.iter()
            .map(|(key, p)| {
                let record = records
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| CheckRecord::new(Utc::now()));
                (key.clone(), p.agency.clone(), p.kind, record)
            })
            .collect()
    }

    /// The record of one check, if it exists.
    pub fn record(&self, key: &CheckKey) -> Option<CheckRecord> {
        lock(&self.inner.records).get(key).cloned()
    }

    /// How many channels are in each state, without copying any record: for `/metrics`,
    /// which is scraped often.
    pub fn state_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts: BTreeMap<&'static str, usize> =
            CheckState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        {
            let plan = lock(&self.inner.plan);
            let records = lock(&self.inner.records);
            for key in plan.keys() {
                let state = records.get(key).map_or(CheckState::Unknown, |r| r.state);
                *counts.entry(state.as_str()).or_default() += 1;
            }
        }
        let unchecked: usize = lock(&self.inner.unchecked).values().map(|(_, n)| n).sum();
        *counts
            .entry(CheckState::NotApplicable.as_str())
            .or_default() += unchecked;
        counts
    }

    /// How many active entries are stale.
    pub fn stale_count(&self) -> usize {
        lock(&self.inner.stale).len()
    }

    /// Channels without a check, per active entry: id → (agency, how many).
    pub fn unchecked(&self) -> HashMap<String, (String, usize)> {
        lock(&self.inner.unchecked).clone()
    }

    /// Stale entries: id → (agency, last verified).
    pub fn stale(&self) -> BTreeMap<String, Staleness> {
        lock(&self.inner.stale).clone()
    }
}

/// Follows the catalogue's changes and resyncs the entries they touch.
async fn follow_catalogue(
    checker: WeakChecker,
    mut changes: watch::Receiver<u64>,
    mut synced: u64,
) {
    loop {
        let Some(checker) = checker.upgrade() else {
            return;
        };
        loop {
            let batch = match checker.inner.store.changes_since(synced, 1000).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the change feed");
                    break;
                }
            };
            let Some(last) = batch.last().map(|c| c.seq) else {
                break;
            };
            let mut ids: Vec<&str> = batch.iter().map(|c| c.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Err(e) = checker.resync_service(id).await {
                    tracing::error!(error = %e, service.id = id, "cannot update health checks");
                }
            }
            synced = last;
        }
        drop(checker);
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Where in its interval a check first runs: a stable hash of its key, so that checks with
/// the same interval spread over it instead of firing in the same second.
fn spread(key: &CheckKey, interval_s: u32) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let millis = u64::from(interval_s) * 1000;
    Duration::from_millis(hasher.finish() % millis.max(1))
}
