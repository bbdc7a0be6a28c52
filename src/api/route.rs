//! `/v1/route`: the front door asks where to send a young person. The question is never
//! logged: it travels in the body (or the query string, which the access log leaves out),
//! and only aggregate counts are kept.

use chrono::Utc;
use serde_json::{Map, Value};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use super::filters::Ctx;
use super::json_bytes_response;

/// `POST /v1/route` with a JSON body.
pub async fn post(ctx: &Ctx, body: Result<Value, ApiError>) -> Result<Response, ApiError> {
    answer(ctx, &body?)
}

/// `GET /v1/route` with the same fields as query parameters; `topics` and `channels` may be
/// repeated or comma-separated.
pub async fn get(ctx: &Ctx, query: Vec<(String, String)>) -> Result<Response, ApiError> {
    answer(ctx, &query_document(query))
}

fn answer(ctx: &Ctx, doc: &Value) -> Result<Response, ApiError> {
    let router = &ctx.state.router;
    let request = router.parse_request(doc).map_err(ApiError::Invalid)?;
    let index = router.index();
    let response = index.route(&request, &ctx.state.checker.snapshot(), Utc::now());
    ctx.state.metrics.route_answered(
        response.crisis,
        response.topics.iter().map(|t| t.id.as_ref()),
        !response.results.is_empty(),
    );
    let mut reply = json_bytes_response(StatusCode::OK, response.to_json());
    // An answer about a young person's question is nobody else's to keep.
    reply
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(reply)
}

/// The query parameters as the JSON document the POST form takes, so both are validated
/// alike. Values that do not parse as their type stay strings and fail the schema.
fn query_document(query: Vec<(String, String)>) -> Value {
    let mut doc = Map::new();
    for (key, value) in query {
        match key.as_str() {
            "topics" | "channels" => {
                let list = doc.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    items.extend(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| Value::String(v.to_string())),
                    );
                }
            }
            "age" | "limit" => {
                let parsed = value
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(value));
                doc.insert(key, parsed);
            }
            "anonymous" => {
                let parsed = match value.as_str() {
                    "true" | "1" => Value::Bool(true),
                    "false" | "0" => Value::Bool(false),
                    _ => Value::String(value),
                };
                doc.insert(key, parsed);
            }
            _ => {
                doc.insert(key, Value::String(value));
            }
        }
    }
    Value::Object(doc)
}
