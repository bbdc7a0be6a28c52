//! Catalogue health for operators and agencies, and `/metrics`.

use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use super::filters::Ctx;
use super::{json_response, parse_query, with_query_problems};
use crate::contract::views::{CheckResult, CheckResults};
use crate::health::report::{self, HealthFilter};
use crate::metrics::CatalogueGauges;
use crate::model::Status;
use crate::model::health::CheckState;

/// `GET /v1/health?state=&agency=` (public): counts per state, stale entries, failing
/// checks first.
pub async fn summary(ctx: &Ctx, query: Vec<(String, String)>) -> Result<Response, ApiError> {
    let mut filter = HealthFilter::default();
    let bad = parse_query(&query, |key, value, bad| {
        match key {
            "state" => match CheckState::parse(value) {
                Some(state) => filter.state = Some(state),
                None => bad.push(
                    "/state",
                    format!(
                        "unknown state '{value}'; use one of {}",
                        CheckState::ALL.map(CheckState::as_str).join(", ")
                    ),
                ),
            },
            "agency" => filter.agency = Some(value.to_string()),
            _ => return false,
        }
        true
    });
    with_query_problems(bad, Ok(()))?;
    let summary = report::summary(&ctx.state.checker, &filter);
    Ok(json_response(StatusCode::OK, &summary))
}

/// `GET /v1/services/{id}/health` (public): each channel's state and history.
pub async fn service(ctx: &Ctx, id: String) -> Result<Response, ApiError> {
    let entry = ctx.state.registry.get_service(&id).await?;
    let health = report::service_health(&ctx.state.checker, &entry);
    Ok(json_response(StatusCode::OK, &health))
}

/// `POST /v1/services/{id}/health/check` (owner or operator): probe every checked channel
/// now and answer with the results.
pub async fn check_now(ctx: &Ctx, id: String) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    ctx.state.registry.owned_service(&principal, &id).await?;
    let results = ctx.state.checker.check_now(&id).await;
    let checks = results
        .into_iter()
        .map(|(channel, result, state)| CheckResult {
            channel,
            state,
            result,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &CheckResults { checks }))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(ctx: &Ctx) -> Result<Response, ApiError> {
    let registry = &ctx.state.registry;
    let mut by_status = [
        (Status::Active, 0usize),
        (Status::Paused, 0),
        (Status::Retired, 0),
    ];
    // A failing store must not hide its own failure: what it cannot answer is left out.
    let mut extra = Vec::new();
    match registry.all_services().await {
        Ok(entries) => {
            for entry in entries {
                if let Some(slot) = by_status.iter_mut().find(|(s, _)| *s == entry.status) {
                    slot.1 += 1;
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the store does not answer"),
    }
    let checker = &ctx.state.checker;
    if let Ok(stats) = registry.store_stats().await {
        extra.push((
            "veiviser_store_bytes",
            "Size of the database on disk.",
            stats.bytes_on_disk as f64,
        ));
    }
    let mut counters = Vec::new();
    if let Some(faults) = registry.store_faults() {
        extra.push((
            "veiviser_store_writes_failing",
            "1 while durable writes fail (since the last failed, until one works).",
            f64::from(u8::from(faults.writes_failing)),
        ));
        counters.push((
            "veiviser_store_errors_total",
            "Store calls that failed or did not end within --store-timeout-s, by operation (flush: the engine's own background flush).",
            "operation",
            vec![
                ("read", faults.read_errors),
                ("write", faults.write_errors),
                ("flush", faults.flush_errors),
            ],
        ));
    }
    if let Some(mirror) = &ctx.state.mirror {
        let status = mirror.status();
        extra.extend([
            (
                "veiviser_mirror_lag_seconds",
                "How far the mirror is behind its primary: 0 when caught up.",
                mirror.lag_seconds(),
            ),
            (
                "veiviser_mirror_behind_changes",
                "Changes the primary had at the last contact that are not applied here.",
                status.behind() as f64,
            ),
            (
                "veiviser_mirror_position",
                "The primary's last change applied here.",
                status.position as f64,
            ),
            (
                "veiviser_mirror_apply_lag_seconds",
                "From the primary's commit of the last applied change to its apply here.",
                status.apply_lag_seconds.unwrap_or(0.0),
            ),
            (
                "veiviser_mirror_last_contact_age_seconds",
                "Seconds since the primary last answered.",
                status.last_contact.map_or(f64::INFINITY, |at| {
                    (chrono::Utc::now() - at).num_milliseconds() as f64 / 1000.0
                }),
            ),
        ]);
    }
    let protect = checker.protect_status();
    extra.extend([
        (
            "veiviser_health_checker_suspect",
            "1 while most checks turned critical at once and the checker takes it for its own fault (routing keeps the last known states, agencies get no alerts).",
            f64::from(u8::from(protect.suspect)),
        ),
        (
            "veiviser_health_checks_held",
            "Checks whose critical state routing does not see while the checker is suspect.",
            protect.held as f64,
        ),
    ]);
    let gauges = CatalogueGauges {
        services_by_status: by_status.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
        checks_by_state: checker.state_counts().into_iter().collect(),
        stale: checker.stale_count(),
        extra,
        counters,
        instance: ctx.state.instance.clone(),
    };
    let mut response = Response::new(ctx.state.metrics.render(&gauges).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
