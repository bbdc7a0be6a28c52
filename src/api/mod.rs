//! The HTTP API (warp): routes are declared here, implemented in one file per resource.
//! Handlers parse, call the registry and map errors; they hold no catalogue rules.
//!
//! Filter order is path, then method, then the rest, so an unknown path answers 404 and a
//! known path with the wrong method 405. Handlers reply with their errors themselves;
//! [`error::handle_rejection`] only covers warp's own rejections.

/// Agencies and their keys.
mod agencies;
/// `ApiError` and problem+json.
pub mod error;
/// Change feed, harvested feeds, exports.
mod federation;
/// State, caller, body and header plumbing.
pub mod filters;
/// Catalogue health and metrics.
mod health;
/// Probes, topics, schemas, audit.
mod meta;
/// The router.
mod route;
/// The HTTP server: accept loop, timeouts, graceful shutdown.
pub mod server;
/// Service entries.
mod services;
/// The dashboard and the pages to try the front door.
mod web;

use serde::Serialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::metrics::{Metrics, route_of};
use crate::model::Violations;
use crate::registry::RegistryError;
use error::ApiError;
pub use filters::AppState;
use filters::{Ctx, ctx, json_body, query_pairs};

/// Every route of the API, with access logging and problem+json for warp's rejections.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let metrics = state.metrics.clone();
    let is_mirror = state.mirror.is_some();
    let c = move || ctx(state.clone());

    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(meta::healthz(&ctx).await) });
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(meta::readyz(&ctx).await) });
    let topics = warp::path!("v1" / "topics")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(meta::topics(&ctx).await) });
    let schema = warp::path!("v1" / "schemas" / String)
        .and(warp::get())
        .and(c())
        .then(|name, ctx: Ctx| async move { ctx.respond(meta::schema(&ctx, name).await) });
    let audit = warp::path!("v1" / "audit")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|ctx: Ctx, q| async move { ctx.respond(meta::audit(&ctx, q).await) });
    let metrics_route = warp::path!("metrics")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(health::metrics(&ctx).await) });
    let health_summary = warp::path!("v1" / "health")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|ctx: Ctx, q| async move { ctx.respond(health::summary(&ctx, q).await) });
    let service_health = warp::path!("v1" / "services" / String / "health")
        .and(warp::get())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(health::service(&ctx, id).await) });
    let check_now = warp::path!("v1" / "services" / String / "health" / "check")
        .and(warp::post())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(health::check_now(&ctx, id).await) });
    let verify = warp::path!("v1" / "services" / String / "verify")
        .and(warp::post())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(services::verify(&ctx, id).await) });
    let route_post = warp::path!("v1" / "route")
        .and(warp::post())
        .and(c())
        .and(json_body())
        .then(|ctx: Ctx, body| async move { ctx.respond(route::post(&ctx, body).await) });
    let route_get = warp::path!("v1" / "route")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|ctx: Ctx, q| async move { ctx.respond(route::get(&ctx, q).await) });
    let health_routes = route_post
        .or(route_get)
        .unify()
        .or(metrics_route)
        .unify()
        .or(health_summary)
        .unify()
        .or(service_health)
        .unify()
        .or(check_now)
        .unify()
        .or(verify)
        .unify()
        .boxed();
    let changes = warp::path!("v1" / "changes")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|ctx: Ctx, q| async move { ctx.respond(federation::changes(&ctx, q).await) });
    let export = warp::path!("v1" / "export" / String)
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|format, ctx: Ctx, q| async move {
            ctx.respond(federation::export(&ctx, format, q).await)
        });
    let openapi = warp::path!("openapi.json")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(meta::openapi(&ctx).await) });
    let meta_routes = healthz
        .or(readyz)
        .unify()
        .or(topics)
        .unify()
        .or(schema)
        .unify()
        .or(audit)
        .unify()
        .or(changes)
        .unify()
        .or(export)
        .unify()
        .or(openapi)
        .unify()
        .boxed();

    let service_list = warp::path!("v1" / "services")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(|ctx: Ctx, q| async move { ctx.respond(services::list(&ctx, q).await) });
    let service_create = warp::path!("v1" / "services")
        .and(warp::post())
        .and(c())
        .and(json_body())
        .then(|ctx: Ctx, body| async move { ctx.respond(services::create(&ctx, body).await) });
    let service_get = warp::path!("v1" / "services" / String)
        .and(warp::get())
        .and(c())
        .and(warp::header::optional::<String>("if-none-match"))
        .then(|id, ctx: Ctx, inm| async move { ctx.respond(services::get(&ctx, id, inm).await) });
    let service_put = warp::path!("v1" / "services" / String)
        .and(warp::put())
        .and(c())
        .and(warp::header::optional::<String>("if-match"))
        .and(json_body())
        .then(|id, ctx: Ctx, im, body| async move {
            ctx.respond(services::replace(&ctx, id, im, body).await)
        });
    let service_delete = warp::path!("v1" / "services" / String)
        .and(warp::delete())
        .and(c())
        .and(warp::header::optional::<String>("if-match"))
        .then(|id, ctx: Ctx, im| async move { ctx.respond(services::retire(&ctx, id, im).await) });
    let validate = warp::path!("v1" / "validate")
        .and(warp::post())
        .and(c())
        .and(json_body())
        .then(|ctx: Ctx, body| async move { ctx.respond(services::validate(&ctx, body).await) });
    let service_routes = service_list
        .or(service_create)
        .unify()
        .or(service_get)
        .unify()
        .or(service_put)
        .unify()
        .or(service_delete)
        .unify()
        .or(validate)
        .unify()
        .boxed();

    let agency_list = warp::path!("v1" / "agencies")
        .and(warp::get())
        .and(c())
        .then(|ctx: Ctx| async move { ctx.respond(agencies::list(&ctx).await) });
    let agency_create = warp::path!("v1" / "agencies")
        .and(warp::post())
        .and(c())
        .and(json_body())
        .then(|ctx: Ctx, body| async move { ctx.respond(agencies::create(&ctx, body).await) });
    let agency_get = warp::path!("v1" / "agencies" / String)
        .and(warp::get())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(agencies::get(&ctx, id).await) });
    let agency_put =
        warp::path!("v1" / "agencies" / String)
            .and(warp::put())
            .and(c())
            .and(json_body())
            .then(|id, ctx: Ctx, body| async move {
                ctx.respond(agencies::replace(&ctx, id, body).await)
            });
    let agency_keys = warp::path!("v1" / "agencies" / String / "keys")
        .and(warp::post())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(agencies::issue_key(&ctx, id).await) });
    let feed_put = warp::path!("v1" / "agencies" / String / "feed")
        .and(warp::put())
        .and(c())
        .and(json_body())
        .then(|id, ctx: Ctx, body| async move {
            ctx.respond(federation::put_feed(&ctx, id, body).await)
        });
    let feed_get = warp::path!("v1" / "agencies" / String / "feed")
        .and(warp::get())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(federation::get_feed(&ctx, id).await) });
    let feed_delete = warp::path!("v1" / "agencies" / String / "feed")
        .and(warp::delete())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(federation::delete_feed(&ctx, id).await) });
    let harvest_get =
        warp::path!("v1" / "agencies" / String / "harvest")
            .and(warp::get())
            .and(c())
            .and(query_pairs())
            .then(|id, ctx: Ctx, q| async move {
                ctx.respond(federation::harvest_runs(&ctx, id, q).await)
            });
    let harvest_post = warp::path!("v1" / "agencies" / String / "harvest")
        .and(warp::post())
        .and(c())
        .then(|id, ctx: Ctx| async move { ctx.respond(federation::harvest_now(&ctx, id).await) });
    let feed_routes = feed_put
        .or(feed_get)
        .unify()
        .or(feed_delete)
        .unify()
        .or(harvest_get)
        .unify()
        .or(harvest_post)
        .unify()
        .boxed();
    // On a mirror, every write is refused before it reaches a handler.
    let read_only_guard = warp::method()
        .and(warp::path::full())
        .and(c())
        .and_then(|method, path: warp::path::FullPath, ctx: Ctx| async move {
            if ctx.state.mirror.is_some() && federation::is_write(&method, path.as_str()) {
                Ok(federation::read_only(&ctx).into_response(Some(path.as_str())))
            } else {
                Err(warp::reject::not_found())
            }
        })
        .boxed();
    let dashboard = warp::path::end()
        .and(warp::get())
        .map(|| web::page("index.html"));
    let service_page = warp::path!("services" / String)
        .and(warp::get())
        .map(|_id: String| web::page("service.html"));
    let try_page = warp::path!("try")
        .and(warp::get())
        .map(|| web::page("try.html"));
    let asset = warp::path!("assets" / String)
        .and(warp::get())
        .and(c())
        .map(|name: String, ctx: Ctx| ctx.respond(web::asset(&name)));
    let availability = warp::path!("v1" / "services" / String / "availability")
        .and(warp::get())
        .and(c())
        .and(query_pairs())
        .then(
            |id, ctx: Ctx, q| async move { ctx.respond(services::availability(&ctx, id, q).await) },
        );
    let web_routes = dashboard
        .or(service_page)
        .unify()
        .or(try_page)
        .unify()
        .or(asset)
        .unify()
        .or(availability)
        .unify()
        .boxed();
    let agency_routes = agency_list
        .or(agency_create)
        .unify()
        .or(agency_get)
        .unify()
        .or(agency_put)
        .unify()
        .or(agency_keys)
        .unify()
        .boxed();

    // The front door's route first: it is the one asked most.
    let api = health_routes
        .or(meta_routes)
        .unify()
        .or(service_routes)
        .unify()
        .or(agency_routes)
        .unify()
        .or(feed_routes)
        .unify()
        .or(web_routes)
        .unify()
        .boxed();
    let api = if is_mirror {
        read_only_guard.or(api).unify().boxed()
    } else {
        api
    };
    api.recover(error::handle_rejection)
        .unify()
        .with(warp::log::custom(move |info| access_log(&metrics, info)))
        .map(warp::Reply::into_response)
        .boxed()
}

/// One line per request: method, path, status, duration, and the same counted in the
/// metrics per route template. Never the query string, the client's address or any header:
/// a young person's question must not reach the logs.
fn access_log(metrics: &Metrics, info: warp::log::Info<'_>) {
    let status = info.status().as_u16();
    metrics.http_request(
        route_of(info.path()),
        info.method().as_str(),
        status,
        info.elapsed().as_secs_f64(),
    );
    // Successes are counted in the metrics and logged only at debug: a line per request
    // at the front door's rate would cost more than the answer. Failures stay visible.
    macro_rules! log_request {
        ($level:ident) => {
            tracing::$level!(
                http.method = %info.method(),
                http.path = info.path(),
                http.status = status,
                duration_ms = info.elapsed().as_secs_f64() * 1000.0,
                "request"
            )
        };
    }
    match status {
        500.. => log_request!(error),
        400..=499 => log_request!(info),
        _ => log_request!(debug),
    }
}

impl Ctx {
    /// The handler's outcome as a response; an error becomes problem+json naming this path.
    fn respond(&self, result: Result<Response, ApiError>) -> Response {
        result.unwrap_or_else(|e| e.into_response(Some(&self.path)))
    }
}

/// A JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    use warp::Reply;
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

/// A JSON response with `status`, from a body already written.
pub fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Hands each query pair to `accept`, which returns false for an unknown key, and returns
/// every unknown or unreadable parameter, so that they can be reported in one 400 together
/// with what the registry finds wrong with the rest.
pub fn parse_query(
    pairs: &[(String, String)],
    mut accept: impl FnMut(&str, &str, &mut Violations) -> bool,
) -> Violations {
    let mut bad = Violations::default();
    for (key, value) in pairs {
        if !accept(key, value, &mut bad) {
            bad.push(
                format!("/{key}"),
                format!("unknown query parameter '{key}'"),
            );
        }
    }
    bad
}

/// The outcome of a query, with the `bad` parameters reported together with any it found.
pub fn with_query_problems<T>(
    mut bad: Violations,
    query: Result<T, RegistryError>,
) -> Result<T, ApiError> {
    match query {
        Ok(value) => bad.into_result(value).map_err(ApiError::BadRequest),
        Err(RegistryError::BadQuery(mut more)) => {
            bad.0.append(&mut more.0);
            Err(ApiError::BadRequest(bad))
        }
        Err(e) => Err(e.into()),
    }
}
