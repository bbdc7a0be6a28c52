//! Alert webhooks: on a transition to `critical` and back to `passing`, a JSON event is
//! POSTed to the owning agency's `notify_url`. Events go through a bounded queue to a
//! delivery task, so checks never wait on a webhook; a full queue drops (and counts) the
//! event rather than block. Deliveries retry with doubling backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};

use crate::metrics::Metrics;
use crate::model::entry::ChannelKind;
use crate::model::health::CheckState;
use crate::outbound::{NetworkPolicy, send_checked};

/// Events waiting for delivery, at most.
const QUEUE: usize = 1024;
/// Deliveries in progress, at most.
const DELIVERING: usize = 16;
/// Time allowed for one delivery attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What is sent to the agency.
#[derive(Debug, Clone, Serialize)]
pub struct AlertEvent {
    #[serde(skip)]
    pub url: String,
    /// `check.critical` or `check.passing`.
    pub event: &'static str,
    pub service_id: String,
    pub agency: String,
    /// The channel's index in the entry.
    pub channel: usize,
    pub kind: ChannelKind,
    pub check_url: String,
    pub from: CheckState,
    pub to: CheckState,
    pub at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// The sending side of the alert queue.
pub struct AlertQueue {
    sender: mpsc::Sender<AlertEvent>,
    metrics: Arc<Metrics>,
}

impl AlertQueue {
    /// Starts the delivery task.
    pub fn start(
        client: reqwest::Client,
        policy: Arc<NetworkPolicy>,
        metrics: Arc<Metrics>,
        attempts: u32,
        backoff: Duration,
    ) -> Self {
        let (sender, mut receiver) = mpsc::channel::<AlertEvent>(QUEUE);
        let delivery_metrics = metrics.clone();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(DELIVERING));
            while let Some(event) = receiver.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (client, policy, metrics) =
                    (client.clone(), policy.clone(), delivery_metrics.clone());
                tokio::spawn(async move {
                    let delivered = deliver(&client, &policy, &event, attempts, backoff).await;
                    metrics.alert(if delivered { "delivered" } else { "failed" });
                    drop(slot);
                });
            }
        });
        AlertQueue { sender, metrics }
    }

    /// Queues an event without waiting.
    pub fn send(&self, event: AlertEvent) {
        if self.sender.try_send(event).is_err() {
            tracing::warn!("alert queue full; an alert was dropped");
            self.metrics.alert("dropped");
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    policy: &NetworkPolicy,
    event: &AlertEvent,
    attempts: u32,
    backoff: Duration,
) -> bool {
    let Ok(url) = reqwest::Url::parse(&event.url) else {
        tracing::warn!(agency = %event.agency, "the notify URL cannot be parsed");
        return false;
    };
    let mut wait = backoff;
    for attempt in 1..=attempts.max(1) {
        let request = client
            .post(url.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .json(event);
        match send_checked(policy, &url, request).await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::warn!(agency = %event.agency, attempt, status = response.status().as_u16(), "alert refused");
            }
            Err(crate::outbound::SendError::Refused(refusal)) => {
                tracing::warn!(agency = %event.agency, reason = %refusal, "alert blocked by the network policy");
                return false;
            }
            Err(e) => {
                tracing::warn!(agency = %event.agency, attempt, error = %e, "alert not delivered")
            }
        }
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    false
}
