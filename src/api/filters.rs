//! Request plumbing shared by the handlers: state, the caller, the JSON body with its
//! limits, query pairs and conditional-request headers. Errors come back as values, so a
//! handler decides their order (authentication before the body, for one).

use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use warp::Filter;
use warp::filters::path::FullPath;

use super::error::ApiError;
use crate::auth::Principal;
use crate::federation::{Harvester, Mirror};
use crate::health::Checker;
use crate::metrics::Metrics;
use crate::model::Violations;
use crate::registry::{Precondition, Registry};
use crate::routing::Router;

/// Largest request body, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// What every handler can reach. One `Arc`, so that handing it to a request is a single
/// reference-count increment rather than one per shared part (measurable under load).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// The parts of the application the handlers use.
pub struct Services {
    pub registry: Registry,
    pub checker: Checker,
    pub router: Router,
    /// None on a mirror: a mirror harvests nothing itself.
    pub harvester: Option<Harvester>,
    /// Set on a mirror.
    pub mirror: Option<Mirror>,
    pub metrics: Arc<Metrics>,
    /// Base of the exports' links and IRIs.
    pub public_url: String,
    /// The longest a change-feed long poll is held.
    pub changes_max_wait: std::time::Duration,
    pub started_at: Instant,
    /// This instance's name and its store's engine.
    pub instance: (String, &'static str),
}

impl AppState {
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// One request's context: state, the `Authorization` header and the path (for `instance`).
pub struct Ctx {
    pub state: AppState,
    authorization: Option<String>,
    pub path: String,
}

impl Ctx {
    /// The caller, who must have sent a valid bearer token.
    pub async fn principal(&self) -> Result<Principal, ApiError> {
        self.optional_principal()
            .await?
            .ok_or(ApiError::Unauthorized("send Authorization: Bearer <token>"))
    }

    /// The caller if a token was sent; a token that belongs to nobody is still refused.
    pub async fn optional_principal(&self) -> Result<Option<Principal>, ApiError> {
        let Some(header) = &self.authorization else {
            return Ok(None);
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(ApiError::Unauthorized("use the Bearer scheme"))?;
        self.state
            .registry
            .authenticate(token)
            .await?
            .map(Some)
            .ok_or(ApiError::InvalidToken)
    }
}

/// Extracts the request context.
pub fn ctx(state: AppState) -> impl Filter<Extract = (Ctx,), Error = warp::Rejection> + Clone {
    warp::any()
        .map(move || state.clone())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::path::full())
        .map(|state, authorization, path: FullPath| Ctx {
            state,
            authorization,
            path: path.as_str().to_string(),
        })
}

/// The request body as JSON: `application/json` (or `+json`), at most [`BODY_LIMIT`] bytes
/// whether or not a `Content-Length` was sent (chunked bodies are counted as they arrive).
pub fn json_body()
-> impl Filter<Extract = (Result<Value, ApiError>,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .then(read_json)
}

async fn read_json<S, B>(
    content_type: Option<String>,
    length: Option<u64>,
    body: S,
) -> Result<Value, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let is_json = content_type.as_deref().is_some_and(|ct| {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json (got {})",
            content_type.as_deref().unwrap_or("no Content-Type")
        )));
    }
    if length.is_some_and(|l| l > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    // The buffer grows with what has arrived: a Content-Length is a claim, not bytes, and
    // reserving it up front let slow clients hold memory they never sent.
    let mut bytes = Vec::with_capacity((length.unwrap_or(0) as usize).min(FIRST_BUFFER));
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(body_error)?;
        if bytes.len() + chunk.remaining() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            bytes.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson {
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })
}

/// The most of a body's announced length reserved before it arrives.
const FIRST_BUFFER: usize = 16 * 1024;

fn body_error(e: warp::Error) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if c.is::<super::server::BodyTimedOut>() {
            return ApiError::RequestTimeout;
        }
        cause = c.source();
    }
    ApiError::BadRequest(Violations::single("", e.to_string()))
}

/// Query parameters as pairs, decoded without logging them anywhere.
pub fn query_pairs()
-> impl Filter<Extract = (Vec<(String, String)>,), Error = std::convert::Infallible> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .map(|raw: String| {
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        })
}

/// The strong ETag of an entry version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Reads `If-Match`: `*` or one strong ETag; anything else matches no version.
pub fn parse_if_match(header: Option<&str>) -> Option<Precondition> {
    let value = header?.trim();
    if value == "*" {
        return Some(Precondition::Any);
    }
    let version = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok());
    Some(version.map_or(Precondition::Unparseable, Precondition::Version))
}

/// Whether `If-None-Match` names `etag` (or `*`).
pub fn if_none_match_hits(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag)
    })
}
