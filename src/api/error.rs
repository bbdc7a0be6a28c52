//! The API's error type and its mapping to RFC 9457 `application/problem+json`: the only
//! place that names a status code for an error. Every `type` is a stable URI from one table.

use std::borrow::Cow;
use std::convert::Infallible;

use warp::http::{HeaderValue, StatusCode, header};
use warp::reject::Rejection;
use warp::reply::Response;

use crate::contract::views::Problem;
use crate::federation::HarvestError;
use crate::model::Violations;
use crate::registry::RegistryError;
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON.
    #[error("the body is not valid JSON: {message} (line {line}, column {column})")]
    MalformedJson {
        message: String,
        line: usize,
        column: usize,
    },
    /// 400: bad query parameters or headers, each with a pointer.
    #[error("the request's parameters are invalid")]
    BadRequest(Violations),
    /// 401: no token, or not a Bearer one.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 401: a Bearer token that belongs to nobody (RFC 6750's `invalid_token`).
    #[error("the token is not valid")]
    InvalidToken,
    /// 403: a valid caller without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("this method is not allowed on this resource")]
    MethodNotAllowed,
    /// 408: the body did not arrive in time.
    #[error("the request body did not arrive within the time allowed; the connection is closed")]
    RequestTimeout,
    /// 409: the id is taken.
    #[error("{0}")]
    Conflict(String),
    /// 410: retired.
    #[error("{0}")]
    Gone(String),
    /// 412: `If-Match` names another version than the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the document breaks the schema or the catalogue's rules; every problem listed.
    #[error("the document is invalid")]
    Invalid(Violations),
    /// 428: an update without `If-Match`.
    #[error("send If-Match with the ETag of the version you changed")]
    PreconditionRequired,
    /// 405 on a mirror: writes go to the primary.
    #[error("this is a read-only mirror; send writes to the primary at {primary}")]
    ReadOnlyMirror { primary: String },
    /// 409: the resource is busy (a harvest of this feed is running already); try again.
    #[error("{0}")]
    Busy(String),
    /// 503: the store cannot be reached now (a lost database); try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// 500: logged with its cause here; the client sees an opaque message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Stable problem types: (variant's status, type URI suffix, title).
fn problem_kind(e: &ApiError) -> (StatusCode, &'static str, &'static str) {
    use ApiError::*;
    match e {
        MalformedJson { .. } => (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON"),
        BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
        Unauthorized(_) | InvalidToken => {
            (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
        }
        Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        ),
        RequestTimeout => (
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request timeout",
        ),
        Conflict(_) => (StatusCode::CONFLICT, "conflict", "Already exists"),
        Gone(_) => (StatusCode::GONE, "gone", "Retired"),
        PreconditionFailed(_) => (
            StatusCode::PRECONDITION_FAILED,
            "stale-version",
            "Precondition failed",
        ),
        PayloadTooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
        ),
        UnsupportedMediaType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-json",
            "Unsupported media type",
        ),
        Invalid(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Validation failed",
        ),
        PreconditionRequired => (
            StatusCode::PRECONDITION_REQUIRED,
            "if-match-required",
            "Precondition required",
        ),
        ReadOnlyMirror { .. } => (
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only-mirror",
            "Read-only mirror",
        ),
        Busy(_) => (StatusCode::CONFLICT, "busy", "Busy"),
        Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        ),
        Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        ),
    }
}

/// Prefix of every problem `type`.
pub const PROBLEM_BASE: &str = "https://veiviser.ung.no/problems/";

impl ApiError {
    pub fn status(&self) -> StatusCode {
        problem_kind(self).0
    }

    /// The problem+json response; `instance` is the request path when known.
    pub fn into_response(self, instance: Option<&str>) -> Response {
        let (status, slug, title) = problem_kind(&self);
        let detail = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error.cause = %cause, "request failed");
                "something went wrong on our side; it has been logged".to_string()
            }
            ApiError::Invalid(v) => format!("{} problem(s) found; see errors", v.len()),
            other => other.to_string(),
        };
        let errors = match &self {
            ApiError::Invalid(v) | ApiError::BadRequest(v) => Some(v.0.as_slice()),
            _ => None,
        };
        let body = Problem {
            r#type: format!("{PROBLEM_BASE}{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            instance: instance.map(Cow::Borrowed),
            errors: errors.map(Cow::Borrowed),
            primary: match &self {
                ApiError::ReadOnlyMirror { primary } => Some(Cow::Borrowed(primary.as_str())),
                _ => None,
            },
        };
        let mut response = super::json_response(status, &body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::ReadOnlyMirror { primary } = &self {
            let headers = response.headers_mut();
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            if let Ok(link) = HeaderValue::from_str(&format!("<{primary}>; rel=\"primary\"")) {
                headers.insert(header::LINK, link);
            }
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // What is left of the body is not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a token was sent and is wrong, or no usable one was sent.
            let challenge = if matches!(self, ApiError::InvalidToken) {
                r#"Bearer realm="veiviser", error="invalid_token""#
            } else {
                r#"Bearer realm="veiviser""#
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(v) => ApiError::Invalid(v),
            RegistryError::BadQuery(v) => ApiError::BadRequest(v),
            RegistryError::NotFound(m) => ApiError::NotFound(m),
            RegistryError::Gone(m) => ApiError::Gone(m),
            RegistryError::Forbidden(m) => ApiError::Forbidden(m),
            RegistryError::Conflict(m) => ApiError::Conflict(m),
            e @ RegistryError::VersionMismatch { .. } => {
                ApiError::PreconditionFailed(e.to_string())
            }
            RegistryError::PreconditionRequired => ApiError::PreconditionRequired,
            RegistryError::Store(e) => e.into(),
        }
    }
}

impl From<HarvestError> for ApiError {
    fn from(e: HarvestError) -> Self {
        match e {
            HarvestError::Busy(m) => ApiError::Busy(m),
            HarvestError::Registry(e) => e.into(),
            e @ HarvestError::Scheduler(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "storage unavailable");
                ApiError::Unavailable(
                    "the catalogue's database cannot be used now; try again shortly".into(),
                )
            }
            StoreError::TimedOut(after) => {
                tracing::warn!(error = %e, "storage timed out");
                ApiError::Unavailable(format!(
                    "the catalogue's storage did not answer within {} s; a change you sent may \
                     still be stored, so read it back before you send it again",
                    after.as_secs()
                ))
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

/// Turns warp's own rejections (no route matched, wrong method, bad query…) into problems.
/// Application errors never get here: handlers reply with them directly.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if rejection.is_not_found() {
        ApiError::NotFound("no such resource".into())
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::MethodNotAllowed
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::UnsupportedMediaType("send application/json".into())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        ApiError::BadRequest(Violations::single("", e.to_string()))
    } else if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        ApiError::BadRequest(Violations::single("", e.to_string()))
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        ApiError::BadRequest(Violations::single("", "the query string cannot be read"))
    } else {
        ApiError::Internal(format!("unhandled rejection: {rejection:?}"))
    };
    Ok(error.into_response(None))
}
