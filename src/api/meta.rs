//! Probes, the taxonomy, the published schemas and the audit log.

use warp::http::StatusCode;
use warp::reply::Response;

use super::error::ApiError;
use super::filters::Ctx;
use super::{json_response, parse_query, with_query_problems};
use crate::contract;
use crate::contract::views::{
    Alive, AuditPage, Liveness, MirrorReadiness, Readiness, Ready, StoreReadiness,
};
use crate::registry::RegistryError;
use crate::store::StoreError;

/// `GET /healthz`: the process is up.
pub async fn healthz(_: &Ctx) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &Liveness { status: Alive::Ok },
    ))
}

/// `GET /readyz`: the store answers, so requests can be served. A mirror is ready once it
/// has caught up with its primary and heard from it lately; it reports its lag either way.
pub async fn readyz(ctx: &Ctx) -> Result<Response, ApiError> {
    let registry = &ctx.state.registry;
    let (instance, engine) = &ctx.state.instance;
    // A store that does not answer makes the instance not ready, said in the same shape;
    // the cause goes to the log, not to whoever asks.
    let stored = match registry.store_stats().await {
        Ok(stats) => registry
            .last_change_seq()
            .await
            .map(|last| (stats.services, last)),
        Err(e) => Err(e),
    };
    let (services, last_change_seq, store) = match stored {
        Ok((services, last)) => {
            let writable = registry.writes_work().await;
            (
                services,
                last,
                StoreReadiness {
                    engine: engine.to_string(),
                    reachable: true,
                    writable,
                    error: (!writable).then(|| "writes to the store fail; see the log".to_string()),
                },
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            let error = match e {
                RegistryError::Store(StoreError::Unavailable(_) | StoreError::TimedOut(_)) => {
                    "the store cannot be reached"
                }
                _ => "the store failed; see the log",
            };
            (
                0,
                0,
                StoreReadiness {
                    engine: engine.to_string(),
                    reachable: false,
                    writable: false,
                    error: Some(error.to_string()),
                },
            )
        }
    };
    let mut body = Readiness {
        status: if store.reachable && store.writable {
            Ready::Ready
        } else {
            Ready::NotReady
        },
        services,
        last_change_seq,
        uptime_s: ctx.state.started_at.elapsed().as_secs(),
        instance: instance.clone(),
        store,
        mirror: None,
    };
    if let Some(mirror) = &ctx.state.mirror {
        let state = mirror.status();
        if !state.ready(chrono::Utc::now()) {
            body.status = Ready::NotReady;
        }
        let lag = mirror.lag_seconds();
        body.mirror = Some(MirrorReadiness {
            primary: state.primary.clone(),
            position: state.position,
            primary_last_seq: state.primary_last_seq,
            behind_changes: state.behind(),
            lag_seconds: lag.is_finite().then_some(lag),
            caught_up: state.caught_up,
            last_contact: state.last_contact,
            last_error: state.last_error.clone(),
        });
    }
    let status = match body.status {
        Ready::Ready => StatusCode::OK,
        Ready::NotReady => StatusCode::SERVICE_UNAVAILABLE,
    };
    Ok(json_response(status, &body))
}

/// `GET /v1/topics`: the routing taxonomy.
pub async fn topics(ctx: &Ctx) -> Result<Response, ApiError> {
    let taxonomy = &ctx.state.registry.validator().reference().taxonomy;
    Ok(json_response(StatusCode::OK, &taxonomy.document))
}

/// `GET /v1/schemas/{name}`: a published JSON Schema (`service-entry`, `agency`; a trailing
/// `.schema.json` is accepted).
pub async fn schema(_: &Ctx, name: String) -> Result<Response, ApiError> {
    let name = name.trim_end_matches(".schema.json");
    let schema = contract::by_name(name).ok_or_else(|| {
        let known: Vec<_> = contract::published().iter().map(|s| s.name).collect();
        ApiError::NotFound(format!(
            "no schema '{name}'; published: {}",
            known.join(", ")
        ))
    })?;
    Ok(json_response(StatusCode::OK, &schema))
}

/// `GET /v1/audit?after=N&limit=M` (operator): who changed what, when, which version.
pub async fn audit(ctx: &Ctx, query: Vec<(String, String)>) -> Result<Response, ApiError> {
    let principal = ctx.principal().await?;
    let (mut after, mut limit) = (0u64, 100usize);
    let bad = parse_query(&query, |key, value, bad| {
        match key {
            "after" => match value.parse() {
                Ok(n) => after = n,
                Err(_) => bad.push("/after", "after must be a sequence number"),
            },
            "limit" => match value.parse() {
                Ok(n) if (1..=1000).contains(&n) => limit = n,
                _ => bad.push("/limit", "limit must be from 1 to 1000"),
            },
            _ => return false,
        }
        true
    });
    let records = with_query_problems(
        bad,
        ctx.state.registry.audit(&principal, after, limit).await,
    )?;
    let next_after = records.last().map(|r| r.seq);
    Ok(json_response(
        StatusCode::OK,
        &AuditPage {
            items: records,
            next_after,
        },
    ))
}

/// `GET /openapi.json`: the API's OpenAPI 3.1 document (also `schemas/openapi.json`).
pub async fn openapi(_: &Ctx) -> Result<Response, ApiError> {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(contract::openapi::document);
    Ok(json_response(StatusCode::OK, document))
}
