//! Federation: the change feed followers read, agencies' harvested feeds, and the exports
//! national catalogues harvest.

use std::time::Duration;

use serde_json::Value;
use warp::http::{Method, StatusCode};
use warp::reply::Response;

use super::error::ApiError;
use super::filters::Ctx;
use super::{json_response, parse_query};
use crate::contract::views::HarvestRuns;
use crate::export::ExportFormat;
use crate::federation::{HarvestTrigger, Harvester};
use crate::model::feed::RUNS_KEPT;
use crate::registry::{MAX_CHANGES, MAX_WAIT};

/// `GET /v1/changes?since=N&limit=M&wait=S`: the changes after N in order; with `wait`,
/// holds the request up to S seconds until one arrives.
pub async fn changes(ctx: &Ctx, query: Vec<(String, String)>) -> Result<Response, ApiError> {
    let (mut since, mut limit, mut wait) = (0u64, 100usize, 0u64);
    let bad = parse_query(&query, |key, value, bad| {
        match key {
            "since" => match value.parse() {
                Ok(n) => since = n,
                Err(_) => bad.push("/since", "since must be a sequence number (0 or more)"),
            },
            "limit" => match value.parse() {
                Ok(n) if (1..=MAX_CHANGES).contains(&n) => limit = n,
                _ => bad.push(
                    "/limit",
                    format!("limit must be a number from 1 to {MAX_CHANGES}"),
                ),
            },
            "wait" => match value.parse() {
                Ok(n) if n <= MAX_WAIT.as_secs() => wait = n,
                _ => bad.push(
                    "/wait",
                    format!(
                        "wait must be a number of seconds from 0 to {}",
                        MAX_WAIT.as_secs()
                    ),
                ),
            },
            _ => return false,
        }
        true
    });
    if !bad.is_empty() {
        return Err(ApiError::BadRequest(bad));
    }
    let page = ctx
        .state
        .registry
        .changes(
            since,
            limit,
            Duration::from_secs(wait).min(ctx.state.changes_max_wait),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &page))
}

/// `PUT /v1/agencies/{id}/feed` (that agency or the operator): where and when to harvest.
pub async fn put_feed(
    ctx: &Ctx,
    agency: String,
    body: Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let harvester = harvester(ctx)?;
    let config = ctx
        .state
        .registry
        .set_feed(&principal, &agency, &body?)
        .await?;
    harvester.schedule(&agency, &config).await?;
    tracing::info!(agency, "feed registered");
    Ok(json_response(StatusCode::OK, &config))
}

/// `DELETE /v1/agencies/{id}/feed` (that agency or the operator): stop harvesting; the
/// entries stay.
pub async fn delete_feed(ctx: &Ctx, agency: String) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let harvester = harvester(ctx)?;
    ctx.state.registry.remove_feed(&principal, &agency).await?;
    harvester.unschedule(&agency).await?;
    tracing::info!(agency, "feed removed");
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `GET /v1/agencies/{id}/feed` (that agency or the operator).
pub async fn get_feed(ctx: &Ctx, agency: String) -> Result<Response, ApiError> {
    let registry = &ctx.state.registry;
    registry
        .feed_access(&ctx.principal().await?, &agency)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &registry.feed(&agency).await?,
    ))
}

/// `GET /v1/agencies/{id}/harvest?limit=N` (that agency or the operator): the last runs,
/// newest first.
pub async fn harvest_runs(
    ctx: &Ctx,
    agency: String,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let registry = &ctx.state.registry;
    registry
        .feed_access(&ctx.principal().await?, &agency)
        .await?;
    let mut limit = RUNS_KEPT;
    let bad = parse_query(&query, |key, value, bad| {
        if key != "limit" {
            return false;
        }
        match value.parse() {
            Ok(n) if (1..=RUNS_KEPT).contains(&n) => limit = n,
            _ => bad.push(
                "/limit",
                format!("limit must be a number from 1 to {RUNS_KEPT}"),
            ),
        }
        true
    });
    if !bad.is_empty() {
        return Err(ApiError::BadRequest(bad));
    }
    let feed = registry.feed(&agency).await.ok();
    let runs = registry.harvest_runs(&agency, limit).await?;
    Ok(json_response(
        StatusCode::OK,
        &HarvestRuns { agency, feed, runs },
    ))
}

/// `POST /v1/agencies/{id}/harvest` (that agency or the operator): harvest now; answers
/// with the run.
pub async fn harvest_now(ctx: &Ctx, agency: String) -> Result<Response, ApiError> {
    ctx.state
        .registry
        .feed_access(&ctx.principal().await?, &agency)
        .await?;
    let run = harvester(ctx)?
        .harvest(&agency, HarvestTrigger::Manual)
        .await?;
    Ok(json_response(StatusCode::OK, &run))
}

fn harvester(ctx: &Ctx) -> Result<&Harvester, ApiError> {
    ctx.state.harvester.as_ref().ok_or_else(|| read_only(ctx))
}

/// The refusal a mirror gives a write.
pub fn read_only(ctx: &Ctx) -> ApiError {
    let primary = ctx
        .state
        .mirror
        .as_ref()
        .map_or_else(String::new, |m| m.primary().to_string());
    ApiError::ReadOnlyMirror { primary }
}

/// Whether a request changes the catalogue (and so belongs on the primary, not a mirror).
/// Routing and validation are questions, though they are POSTed.
pub fn is_write(method: &Method, path: &str) -> bool {
    let reads_by_post = ["/v1/route", "/v1/validate"];
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !reads_by_post.contains(&path.trim_end_matches('/'))
}

/// `GET /v1/export/hsds?lang=nb` and `GET /v1/export/cpsv-ap-no`: the catalogue for
/// national catalogues to harvest.
pub async fn export(
    ctx: &Ctx,
    format: String,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let (format, content_type) = match ExportFormat::parse(&format) {
        Some(ExportFormat::Hsds) => (ExportFormat::Hsds, "application/json"),
        Some(ExportFormat::CpsvApNo) => (ExportFormat::CpsvApNo, "application/ld+json"),
        _ => {
            let other = format.as_str();
            return Err(ApiError::NotFound(format!(
                "no export '{other}'; there are 'hsds' and 'cpsv-ap-no'"
            )));
        }
    };
    let mut lang = "nb".to_string();
    let bad = parse_query(&query, |key, value, bad| {
        if key != "lang" {
            return false;
        }
        match value {
            "nb" | "nn" | "en" => lang = value.to_string(),
            _ => bad.push("/lang", "lang must be nb, nn or en"),
        }
        true
    });
    if !bad.is_empty() {
        return Err(ApiError::BadRequest(bad));
    }
    let doc = ctx
        .state
        .registry
        .export(format, &lang, &ctx.state.public_url, chrono::Utc::now())
        .await?;
    let mut response = json_response(StatusCode::OK, &doc);
    response.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static(content_type),
    );
    Ok(response)
}
