//! `/v1/services` and `/v1/validate`: agencies register and maintain their entries.

use serde_json::Value;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use super::filters::{Ctx, etag, if_none_match_hits, parse_if_match};
use super::{json_response, parse_query, with_query_problems};
use crate::contract::views::{Availability, ChannelAvailability, Validated};
use crate::model::ServiceEntry;
use crate::model::hours::OpenState;
use crate::registry::{MAX_PAGE, ServiceFilter};

/// `GET /v1/services`: filter by topic, municipality, county, agency, channel, status; cursor pages.
pub async fn list(ctx: &Ctx, query: Vec<(String, String)>) -> Result<Response, ApiError> {
    let mut filter = ServiceFilter::default();
    let bad = parse_query(&query, |key, value, bad| {
        let slot = match key {
            "topic" => &mut filter.topic,
            "municipality" => &mut filter.municipality,
            "county" => &mut filter.county,
            "agency" => &mut filter.agency,
            "channel" => &mut filter.channel,
            "status" => &mut filter.status,
            "cursor" => &mut filter.cursor,
            "limit" => {
                match value.parse() {
                    Ok(n) => filter.limit = Some(n),
                    Err(_) => bad.push(
                        "/limit",
                        format!("limit must be a number from 1 to {MAX_PAGE}"),
                    ),
                }
                return true;
            }
            _ => return false,
        };
        *slot = Some(value.to_string());
        true
    });
    let page = with_query_problems(bad, ctx.state.registry.list_services(&filter).await)?;
    Ok(json_response(StatusCode::OK, &page))
}

/// `GET /v1/services/{id}`, with `ETag` and `304` on a matching `If-None-Match`.
pub async fn get(
    ctx: &Ctx,
    id: String,
    if_none_match: Option<String>,
) -> Result<Response, ApiError> {
    let entry = ctx.state.registry.get_service(&id).await?;
    let tag = etag(entry.version.unwrap_or(0));
    if if_none_match_hits(if_none_match.as_deref(), &tag) {
        let mut response = Response::new(Default::default());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        set_etag(&mut response, &tag);
        return Ok(response);
    }
    Ok(entry_response(StatusCode::OK, &entry))
}

/// `POST /v1/services` (agency): `201` with `Location` and `ETag`.
pub async fn create(ctx: &Ctx, body: Result<Value, ApiError>) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let entry = ctx
        .state
        .registry
        .create_service(&principal, &body?)
        .await?;
    let mut response = entry_response(StatusCode::CREATED, &entry);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/services/{}", entry.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    tracing::info!(entry.id = %entry.id, agency.id = %entry.agency, "service created");
    Ok(response)
}

/// `PUT /v1/services/{id}` (owner): requires `If-Match`.
pub async fn replace(
    ctx: &Ctx,
    id: String,
    if_match: Option<String>,
    body: Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let entry = ctx
        .state
        .registry
        .replace_service(&principal, &id, parse_if_match(if_match.as_deref()), &body?)
        .await?;
    tracing::info!(entry.id = %entry.id, entry.version = entry.version, "service updated");
    Ok(entry_response(StatusCode::OK, &entry))
}

/// `DELETE /v1/services/{id}` (owner): retires the entry; `If-Match` optional.
pub async fn retire(ctx: &Ctx, id: String, if_match: Option<String>) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let entry = ctx
        .state
        .registry
        .retire_service(&principal, &id, parse_if_match(if_match.as_deref()))
        .await?;
    tracing::info!(entry.id = %entry.id, "service retired");
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    set_etag(&mut response, &etag(entry.version.unwrap_or(0)));
    Ok(response)
}

/// `POST /v1/validate`: the answer a create would give, storing nothing. Without a token only
/// the document is checked; with one, ownership too.
pub async fn validate(ctx: &Ctx, body: Result<Value, ApiError>) -> Result<Response, ApiError> {
    let principal = ctx.optional_principal().await?;
    let entry = ctx
        .state
        .registry
        .check_new_service(principal.as_ref(), &body?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Validated { valid: true, entry },
    ))
}

fn entry_response(status: StatusCode, entry: &ServiceEntry) -> Response {
    let mut response = json_response(status, entry);
    set_etag(&mut response, &etag(entry.version.unwrap_or(0)));
    response
}

fn set_etag(response: &mut Response, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// `POST /v1/services/{id}/verify` (owner or operator): confirms the entry is correct now.
pub async fn verify(ctx: &Ctx, id: String) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let entry = ctx.state.registry.verify_service(&principal, &id).await?;
    Ok(entry_response(StatusCode::OK, &entry))
}

/// `GET /v1/services/{id}/availability?at=RFC3339`: whether each channel is open at `at`
/// (default now), and when it closes or opens next, in Europe/Oslo's rules.
pub async fn availability(
    ctx: &Ctx,
    id: String,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let mut at = chrono::Utc::now();
    let bad = parse_query(&query, |key, value, bad| {
        if key != "at" {
            return false;
        }
        match chrono::DateTime::parse_from_rfc3339(value) {
            Ok(time) => at = time.with_timezone(&chrono::Utc),
            Err(_) => bad.push("/at", "at must be an RFC 3339 time"),
        }
        true
    });
    if !bad.is_empty() {
        return Err(ApiError::BadRequest(bad));
    }
    let entry = ctx.state.registry.get_service(&id).await?;
    let channels: Vec<ChannelAvailability> = entry
        .channels
        .iter()
        .enumerate()
        .map(|(index, channel)| {
            let state = channel.hours.as_ref().map(|hours| hours.state_at(at));
            let (open_now, closes_at, next_open) = OpenState::fields(state);
            ChannelAvailability {
                index,
                kind: channel.kind,
                open_now,
                closes_at,
                next_open,
            }
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &Availability {
            service_id: entry.id,
            at,
            channels,
        },
    ))
}
