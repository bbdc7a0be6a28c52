//! One probe of one channel's health check, through the policy-bound client.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{Client, Url};

use crate::model::entry::{HealthCheck, ProbeMethod};
use crate::model::health::{FailureKind, Outcome, ProbeResult, WarningKind};
use crate::outbound::{NetworkPolicy, send_checked};

/// Probes one channel's health check: one request, the status judged, the body left unread.
pub async fn probe(
    client: &Client,
    policy: &NetworkPolicy,
    check: &HealthCheck,
    slow_after: Duration,
) -> ProbeResult {
    let at = Utc::now();
    let started = Instant::now();
    let url = match Url::parse(&check.url) {
        Ok(url) => url,
        Err(e) => {
            return ProbeResult {
                at,
                latency_ms: 0,
                status_code: None,
                outcome: Outcome::Blocked,
                detail: Some(format!("the URL cannot be parsed: {e}")),
            };
        }
    };
    let method = match check.method() {
        ProbeMethod::Get => reqwest::Method::GET,
        ProbeMethod::Head => reqwest::Method::HEAD,
    };
    let request = client
        .request(method, url.clone())
        .timeout(Duration::from_millis(u64::from(check.timeout_ms())));
    let answer = send_checked(policy, &url, request).await;
    let latency = started.elapsed();
    let latency_ms = u32::try_from(latency.as_millis()).unwrap_or(u32::MAX);
    match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            // Dropping the response closes the connection without reading the body.
            drop(response);
            let outcome = if !check.expects(status) {
                if status == 429 {
                    Outcome::Warn {
                        warning: WarningKind::RateLimited,
                    }
                } else {
                    Outcome::Fail {
                        error: FailureKind::BadStatus,
                    }
                }
            } else if latency > slow_after {
                Outcome::Warn {
                    warning: WarningKind::Slow,
                }
            } else {
                Outcome::Pass
            };
            let detail = match &outcome {
                Outcome::Fail { .. } => Some(format!("unexpected status {status}")),
                Outcome::Warn {
                    warning: WarningKind::RateLimited,
                } => Some("rate limited (429)".to_string()),
                Outcome::Warn { .. } => Some(format!("slow answer: {latency_ms} ms")),
                _ => None,
            };
            ProbeResult {
                at,
                latency_ms,
                status_code: Some(status),
                outcome,
                detail,
            }
        }
        Err(error) => {
            let (outcome, detail) = error.classify();
            ProbeResult {
                at,
                latency_ms,
                status_code: None,
                outcome,
                detail: Some(detail),
            }
        }
    }
}
