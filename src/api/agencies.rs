//! `/v1/agencies`: the operator registers agencies; agencies rotate their own keys.

use serde_json::Value;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use super::filters::Ctx;
use super::json_response;
use crate::contract::views::{AgencyList, AgencyWithToken, Token};

/// `POST /v1/agencies` (operator): `201` with the agency and its first token, shown once.
pub async fn create(ctx: &Ctx, body: Result<Value, ApiError>) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let (agency, token) = ctx.state.registry.create_agency(&principal, &body?).await?;
    tracing::info!(agency.id = %agency.id, "agency registered");
    let location = HeaderValue::from_str(&format!("/v1/agencies/{}", agency.id));
    let mut response = json_response(StatusCode::CREATED, &AgencyWithToken { agency, token });
    if let Ok(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1/agencies` (public).
pub async fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let agencies = ctx.state.registry.list_agencies().await?;
    Ok(json_response(
        StatusCode::OK,
        &AgencyList { items: agencies },
    ))
}

/// `GET /v1/agencies/{id}` (public).
pub async fn get(ctx: &Ctx, id: String) -> Result<Response, ApiError> {
    let agency = ctx.state.registry.get_agency(&id).await?;
    Ok(json_response(StatusCode::OK, &agency))
}

/// `POST /v1/agencies/{id}/keys` (operator or that agency): a new token; the old one stops working.
pub async fn issue_key(ctx: &Ctx, id: String) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let token = ctx.state.registry.issue_agency_key(&principal, &id).await?;
    tracing::info!(agency.id = %id, "agency key issued");
    Ok(json_response(StatusCode::CREATED, &Token { token }))
}

/// `PUT /v1/agencies/{id}` (operator or that agency): replaces its name, website and
/// `notify_url`; only the operator can change the organisation number.
pub async fn replace(
    ctx: &Ctx,
    id: String,
    body: Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let agency = ctx
        .state
        .registry
        .replace_agency(&principal, &id, &body?)
        .await?;
    Ok(json_response(StatusCode::OK, &agency))
}
