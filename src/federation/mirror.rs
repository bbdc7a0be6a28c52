//! A read-only mirror: follows a primary Veiviser's change feed from its own persisted
//! position. Each page of changes is applied with the new position in one transaction, so
//! a mirror stopped at any point resumes with no loss and no duplicate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Client, Url};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::Agency;
use crate::model::change::ChangePage;
use crate::registry::Registry;

/// How a mirror follows its primary.
#[derive(Debug, Clone)]
pub struct MirrorSettings {
    /// The primary's base URL, e.g. `https://veiviser.example.no/`.
    pub primary: Url,
    /// Changes asked for at once.
    pub batch: usize,
    /// How long one long-poll waits for news when caught up.
    pub wait: Duration,
    /// How often agencies are copied again.
    pub agencies_every: Duration,
}

impl MirrorSettings {
    pub fn new(primary: Url) -> Self {
        MirrorSettings {
            primary,
            batch: 500,
            wait: Duration::from_secs(25),
            agencies_every: Duration::from_secs(60),
        }
    }
}

/// Where a mirror stands, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MirrorStatus {
    pub primary: String,
    /// The primary's last change applied here.
    pub position: u64,
    /// The primary's last change as it last said.
    pub primary_last_seq: Option<u64>,
    /// Whether the mirror had applied everything the primary had at the last contact.
    pub caught_up: bool,
    /// Whether it has caught up at least once since it started.
    pub synced: bool,
    /// Seconds from the primary's commit of the last applied change to its apply here.
    pub apply_lag_seconds: Option<f64>,
    pub last_contact: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Changes applied since this process started.
    pub applied: u64,
}

impl MirrorStatus {
    /// Changes the primary had that are not applied here yet.
    /// Ready to serve: caught up once since start, and heard from the primary within the
    /// last 90 seconds (a few long polls: each answers within its wait, 25 s by default).
    pub fn ready(&self, now: DateTime<Utc>) -> bool {
        let heard_lately = self
            .last_contact
            .is_some_and(|at| now - at < chrono::Duration::seconds(90));
        self.synced && heard_lately
    }

    pub fn behind(&self) -> u64 {
        self.primary_last_seq
            .map_or(0, |last| last.saturating_sub(self.position))
    }

    /// Seconds the mirror is behind: zero when caught up; otherwise how long ago the last
    /// applied change was committed on the primary (the oldest pending one came after it).
    pub fn lag_seconds(&self, now: DateTime<Utc>, last_applied_at: Option<DateTime<Utc>>) -> f64 {
        if self.caught_up {
            return 0.0;
        }
        last_applied_at.map_or(f64::INFINITY, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        })
    }
}

#[derive(Deserialize)]
struct AgencyPage {
    items: Vec<Agency>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Mirror {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    client: Client,
    settings: MirrorSettings,
    status: Mutex<MirrorStatus>,
    last_applied_at: Mutex<Option<DateTime<Utc>>>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Mirror {
    pub async fn new(registry: Registry, settings: MirrorSettings) -> reqwest::Result<Self> {
        crate::outbound::install_crypto_provider();
        // The primary is the operator's own choice, so no network policy applies; the
        // timeout leaves room for a long poll.
        let client = Client::builder()
            .user_agent(concat!("Veiviser-mirror/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(settings.wait + Duration::from_secs(15))
            .build()?;
        let position = registry.mirror_position().await.unwrap_or(0);
        let status = MirrorStatus {
            primary: settings.primary.to_string(),
            position,
            ..MirrorStatus::default()
        };
        Ok(Mirror {
            inner: Arc::new(Inner {
                registry,
                client,
                settings,
                status: Mutex::new(status),
                last_applied_at: Mutex::new(None),
                stop: watch::channel(false).0,
                task: Mutex::new(None),
            }),
        })
    }

    pub fn primary(&self) -> &Url {
        &self.inner.settings.primary
    }

    pub fn status(&self) -> MirrorStatus {
        self.inner.status.lock().expect("status lock").clone()
    }

    /// Seconds behind the primary (see [`MirrorStatus::lag_seconds`]).
    pub fn lag_seconds(&self) -> f64 {
        let last = *self.inner.last_applied_at.lock().expect("lag lock");
        self.status().lag_seconds(Utc::now(), last)
    }

    /// Starts following the primary in the background.
    pub fn start(&self) {
        let inner = self.inner.clone();
        let handle = tokio::spawn(async move { inner.follow().await });
        *self.inner.task.lock().expect("task lock") = Some(handle);
    }

    /// Stops following; a page being applied is finished first.
    pub async fn stop(&self) {
        let _ = self.inner.stop.send(true);
        let task = self.inner.task.lock().expect("task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Inner {
    async fn follow(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let mut backoff = Duration::from_millis(200);
        let mut agencies_due = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            if tokio::time::Instant::now() >= agencies_due {
                match self.copy_agencies().await {
                    Ok(()) => agencies_due += self.settings.agencies_every,
                    Err(e) => {
                        tracing::warn!(error = %e, "agencies could not be copied from the primary")
                    }
                }
            }
            let step = tokio::select! {
                step = self.step() => step,
                _ = stop.changed() => return,
            };
            match step {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => {
                    tracing::warn!(error = %e, primary = %self.settings.primary, "mirror could not follow the primary");
                    self.status.lock().expect("status lock").last_error = Some(e.to_string());
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Reads one page of changes after the persisted position and applies it.
    async fn step(&self) -> anyhow::Result<()> {
        let position = self.registry.mirror_position().await?;
        let caught_up = self.status.lock().expect("status lock").caught_up;
        let wait = if caught_up {
            self.settings.wait.as_secs()
        } else {
            0
        };
        let mut url = self.settings.primary.join("v1/changes")?;
        url.query_pairs_mut()
            .append_pair("since", &position.to_string())
            .append_pair("limit", &self.settings.batch.to_string())
            .append_pair("wait", &wait.to_string());
        let response = self.client.get(url).send().await?.error_for_status()?;
        let page: ChangePage = response.json().await?;
        let applied_at_primary = page.changes.last().map(|c| c.at);
        let position = if page.changes.is_empty() {
            position
        } else {
            self.registry.apply_replicated(&page.changes).await?
        };
        let now = Utc::now();
        let mut status = self.status.lock().expect("status lock");
        status.applied += page.changes.len() as u64;
        status.position = position;
        status.primary_last_seq = Some(page.last_seq);
        status.caught_up = position >= page.last_seq;
        status.synced |= status.caught_up;
        status.last_contact = Some(now);
        status.last_error = None;
        if let Some(at) = applied_at_primary {
            status.apply_lag_seconds = Some((now - at).num_milliseconds().max(0) as f64 / 1000.0);
            *self.last_applied_at.lock().expect("lag lock") = Some(at);
        }
        Ok(())
    }

    async fn copy_agencies(&self) -> anyhow::Result<()> {
        let url = self.settings.primary.join("v1/agencies")?;
        let page: AgencyPage = self
            .client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for agency in &page.items {
            self.registry.put_replicated_agency(agency).await?;
        }
        Ok(())
    }
}
