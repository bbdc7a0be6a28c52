//! The OpenAPI 3.1 document of the HTTP API (`GET /openapi.json`, `schemas/openapi.json`).
//! Its component schemas are the published schemars-generated schemas, with their `$defs`
//! lifted into `components/schemas` so that every `$ref` resolves inside the document.

use serde_json::{Map, Value, json};

use super::published;
use crate::model::feed::HarvestRun;
use crate::model::schema::response_schema_for;

/// Component names of the published schemas.
const COMPONENTS: [(&str, &str); 6] = [
    ("service-entry", "ServiceEntry"),
    ("agency", "Agency"),
    ("agency-feed", "AgencyFeed"),
    ("feed-config", "FeedConfig"),
    ("route-request", "RouteRequest"),
    ("route-response", "RouteResponse"),
];

/// The whole document.
pub fn document() -> Value {
    let mut schemas = Map::new();
    for named in published() {
        let name = COMPONENTS
            .iter()
            .find(|(file, _)| *file == named.name)
            .map(|(_, component)| *component)
            .expect("every published schema has a component name");
        let mut schema = named.schema;
        lift_keeping(&mut schemas, name, &mut schema, &[]);
    }
    for (name, schema) in view_schemas() {
        lift(&mut schemas, name, schema);
    }
    // Documents whose shape is another standard's (OpenAPI itself, HSDS, JSON-LD, schemas).
    schemas.insert("AnyObject".into(), json!({ "type": "object" }));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Veiviser",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "The registry and router behind the national front door for young people in Norway.",
            "description": "Agencies register their services; the ung.no front end asks where to send a young person. Errors are application/problem+json (RFC 9457) with every validation problem and its JSON Pointer.",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "tags": [
            { "name": "services", "description": "Service entries" },
            { "name": "agencies", "description": "Agencies and their keys" },
            { "name": "routing", "description": "Where to send a young person" },
            { "name": "health", "description": "Catalogue health" },
            { "name": "federation", "description": "Feeds, the change feed and exports" },
            { "name": "meta", "description": "Probes, taxonomy, schemas, audit" },
        ],
        "paths": paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An agency's token (`vva.<agency>.…`) or the operator's.",
                },
            },
        },
    })
}

/// Adds `schema` as component `name`, its `$defs` as components of their own. An answer
/// that embeds a published document (an entry, an agency) refers to the published schema:
/// a def already lifted from [`published`] is kept.
fn lift(components: &mut Map<String, Value>, name: &str, mut schema: Value) {
    let published_defs: Vec<String> = components.keys().cloned().collect();
    lift_keeping(components, name, &mut schema, &published_defs);
}

fn lift_keeping(
    components: &mut Map<String, Value>,
    name: &str,
    schema: &mut Value,
    keep: &[String],
) {
    if let Some(Value::Object(defs)) = schema.as_object_mut().and_then(|s| s.remove("$defs")) {
        for (def_name, mut def) in defs {
            rewrite_refs(&mut def);
            if keep.contains(&def_name) {
                continue;
            }
            if let Some(existing) = components.get(&def_name) {
                assert_eq!(existing, &def, "two different schemas are named {def_name}");
            }
            components.insert(def_name, def);
        }
    }
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    rewrite_refs(schema);
    components.insert(name.to_string(), schema.take());
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                if let Some(rest) = target.strip_prefix("#/$defs/") {
                    *target = format!("#/components/schemas/{rest}");
                }
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The answers' schemas, generated from the types the handlers write.
fn view_schemas() -> Vec<(&'static str, Value)> {
    use super::views::*;
    use crate::health::report::{HealthSummary, ServiceHealth};
    use crate::model::change::ChangePage;
    use crate::registry::ServicePage;
    vec![
        ("HarvestRun", response_schema_for::<HarvestRun>()),
        ("Problem", response_schema_for::<Problem>()),
        ("ServicePage", response_schema_for::<ServicePage>()),
        ("AgencyList", response_schema_for::<AgencyList>()),
        ("AgencyWithToken", response_schema_for::<AgencyWithToken>()),
        ("Token", response_schema_for::<Token>()),
        ("Validated", response_schema_for::<Validated>()),
        ("ChangePage", response_schema_for::<ChangePage>()),
        ("HarvestRuns", response_schema_for::<HarvestRuns>()),
        ("Availability", response_schema_for::<Availability>()),
        ("HealthSummary", response_schema_for::<HealthSummary>()),
        ("ServiceHealth", response_schema_for::<ServiceHealth>()),
        ("CheckResults", response_schema_for::<CheckResults>()),
        ("AuditPage", response_schema_for::<AuditPage>()),
        ("Readiness", response_schema_for::<Readiness>()),
        ("Liveness", response_schema_for::<Liveness>()),
    ]
}

/// How an operation is reached and what it answers.
struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    /// `None`: public; `Some(true)`: a token is required; `Some(false)`: optional.
    auth: Option<bool>,
    params: Vec<Value>,
    body: Option<&'static str>,
    /// Status, description, schema component (None: no body), media type.
    ok: Vec<(
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    )>,
    /// Error statuses besides those implied by the rest.
    errors: Vec<&'static str>,
}

fn path_param(name: &str, description: &str, example: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string", "minLength": 1 }, "example": example })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn header(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "header", "required": false, "description": description,
            "schema": { "type": "string" } })
}

const JSON: &str = "application/json";

fn operations() -> Vec<Op> {
    let id = || path_param("id", "A service id (lowercase kebab-case).", "kirkens-sos");
    let agency = || path_param("id", "An agency id.", "bufdir");
    let string = || json!({ "type": "string" });
    vec![
        Op {
            method: "get",
            path: "/healthz",
            tag: "meta",
            summary: "Liveness",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "Up", Some("Liveness"), JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/readyz",
            tag: "meta",
            summary: "Readiness (on a mirror: caught up with its primary)",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![
                ("200", "Ready", Some("Readiness"), JSON),
                ("503", "A mirror not caught up", Some("Readiness"), JSON),
            ],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/metrics",
            tag: "health",
            summary: "Prometheus metrics",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "Text exposition format", None, "text/plain")],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/openapi.json",
            tag: "meta",
            summary: "This document",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "OpenAPI 3.1", Some("AnyObject"), JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/topics",
            tag: "meta",
            summary: "The topic taxonomy",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "Topics", Some("AnyObject"), JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/schemas/{name}",
            tag: "meta",
            summary: "A published JSON Schema",
            auth: None,
            params: vec![json!({ "name": "name", "in": "path", "required": true,
                "description": "The schema's name",
                "schema": { "enum": COMPONENTS.map(|(file, _)| file) } })],
            body: None,
            ok: vec![("200", "The schema", Some("AnyObject"), JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/audit",
            tag: "meta",
            summary: "Who changed what, when",
            auth: Some(true),
            params: vec![
                query(
                    "after",
                    json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX }),
                    "Records after this sequence number",
                ),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
                    "At most this many",
                ),
            ],
            body: None,
            ok: vec![("200", "Audit records", Some("AuditPage"), JSON)],
            errors: vec!["400"],
        },
        Op {
            method: "get",
            path: "/v1/services",
            tag: "services",
            summary: "List entries",
            auth: None,
            params: vec![
                query("topic", string(), "Topic id"),
                query("municipality", string(), "Municipality code"),
                query("county", string(), "County code"),
                query("agency", string(), "Agency id"),
                query("channel", string(), "Channel kind"),
                query(
                    "status",
                    json!({ "enum": ["active", "paused", "retired"] }),
                    "Status (default: all but retired)",
                ),
                query("cursor", string(), "From a previous page's next_cursor"),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 200 }),
                    "Page size",
                ),
            ],
            body: None,
            ok: vec![("200", "A page", Some("ServicePage"), JSON)],
            errors: vec!["400"],
        },
        Op {
            method: "post",
            path: "/v1/services",
            tag: "services",
            summary: "Register an entry",
            auth: Some(true),
            params: vec![],
            body: Some("ServiceEntry"),
            ok: vec![("201", "Created", Some("ServiceEntry"), JSON)],
            errors: vec!["409"],
        },
        Op {
            method: "get",
            path: "/v1/services/{id}",
            tag: "services",
            summary: "One entry",
            auth: None,
            params: vec![id(), header("If-None-Match", "An ETag from before")],
            body: None,
            ok: vec![
                (
                    "200",
                    "The entry, with its ETag",
                    Some("ServiceEntry"),
                    JSON,
                ),
                ("304", "Not modified", None, JSON),
            ],
            errors: vec!["410"],
        },
        Op {
            method: "put",
            path: "/v1/services/{id}",
            tag: "services",
            summary: "Replace an entry (its owner)",
            auth: Some(true),
            params: vec![
                id(),
                header("If-Match", "The ETag of the version replaced (required)"),
            ],
            body: Some("ServiceEntry"),
            ok: vec![("200", "Replaced", Some("ServiceEntry"), JSON)],
            errors: vec!["410", "412", "428"],
        },
        Op {
            method: "delete",
            path: "/v1/services/{id}",
            tag: "services",
            summary: "Retire an entry (its owner)",
            auth: Some(true),
            params: vec![id(), header("If-Match", "The ETag of the version retired")],
            body: None,
            ok: vec![("204", "Retired", None, JSON)],
            errors: vec!["410", "412"],
        },
        Op {
            method: "post",
            path: "/v1/services/{id}/verify",
            tag: "services",
            summary: "Confirm an entry is correct",
            auth: Some(true),
            params: vec![id()],
            body: None,
            ok: vec![("200", "Confirmed", Some("ServiceEntry"), JSON)],
            errors: vec!["410"],
        },
        Op {
            method: "get",
            path: "/v1/services/{id}/availability",
            tag: "services",
            summary: "Whether each channel is open",
            auth: None,
            params: vec![
                id(),
                query(
                    "at",
                    json!({ "type": "string", "format": "date-time" }),
                    "RFC 3339 time (default now)",
                ),
            ],
            body: None,
            ok: vec![("200", "Open state per channel", Some("Availability"), JSON)],
            errors: vec!["400", "410"],
        },
        Op {
            method: "post",
            path: "/v1/validate",
            tag: "services",
            summary: "Dry run of a create",
            auth: Some(false),
            params: vec![],
            body: Some("ServiceEntry"),
            ok: vec![("200", "Valid", Some("Validated"), JSON)],
            errors: vec!["409"],
        },
        Op {
            method: "post",
            path: "/v1/route",
            tag: "routing",
            summary: "Where to send a young person",
            auth: None,
            params: vec![],
            body: Some("RouteRequest"),
            ok: vec![(
                "200",
                "Ranked services with reasons",
                Some("RouteResponse"),
                JSON,
            )],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/route",
            tag: "routing",
            summary: "The same, with query parameters",
            auth: None,
            params: vec![
                query(
                    "q",
                    json!({ "type": "string", "maxLength": 500 }),
                    "The question",
                ),
                query("topics", string(), "Topic ids, comma-separated"),
                query(
                    "age",
                    json!({ "type": "integer", "minimum": 0, "maximum": 30 }),
                    "Age",
                ),
                query("municipality", string(), "Municipality code"),
                query("county", string(), "County code"),
                query("channels", string(), "Channel kinds, comma-separated"),
                query("lang", string(), "nb, nn, en …"),
                query(
                    "anonymous",
                    json!({ "type": "boolean" }),
                    "Only anonymous channels",
                ),
                query(
                    "at",
                    json!({ "type": "string", "format": "date-time" }),
                    "Answer for this time",
                ),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 20 }),
                    "Results",
                ),
            ],
            body: None,
            ok: vec![(
                "200",
                "Ranked services with reasons",
                Some("RouteResponse"),
                JSON,
            )],
            errors: vec!["422"],
        },
        Op {
            method: "get",
            path: "/v1/health",
            tag: "health",
            summary: "Catalogue health",
            auth: None,
            params: vec![
                query(
                    "state",
                    json!({ "enum": ["critical", "warning", "blocked", "unknown", "passing", "not_applicable"] }),
                    "Only checks in this state",
                ),
                query("agency", string(), "Only this agency's"),
            ],
            body: None,
            ok: vec![(
                "200",
                "Counts, stale entries, checks worst first",
                Some("HealthSummary"),
                JSON,
            )],
            errors: vec!["400"],
        },
        Op {
            method: "get",
            path: "/v1/services/{id}/health",
            tag: "health",
            summary: "One entry's checks and history",
            auth: None,
            params: vec![id()],
            body: None,
            ok: vec![("200", "Checks", Some("ServiceHealth"), JSON)],
            errors: vec!["410"],
        },
        Op {
            method: "post",
            path: "/v1/services/{id}/health/check",
            tag: "health",
            summary: "Probe an entry's checks now",
            auth: Some(true),
            params: vec![id()],
            body: None,
            ok: vec![("200", "Results", Some("CheckResults"), JSON)],
            errors: vec!["410"],
        },
        Op {
            method: "get",
            path: "/v1/agencies",
            tag: "agencies",
            summary: "Agencies",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "Agencies", Some("AgencyList"), JSON)],
            errors: vec![],
        },
        Op {
            method: "post",
            path: "/v1/agencies",
            tag: "agencies",
            summary: "Register an agency (operator)",
            auth: Some(true),
            params: vec![],
            body: Some("Agency"),
            ok: vec![(
                "201",
                "The agency and its first token",
                Some("AgencyWithToken"),
                JSON,
            )],
            errors: vec!["409"],
        },
        Op {
            method: "get",
            path: "/v1/agencies/{id}",
            tag: "agencies",
            summary: "One agency",
            auth: None,
            params: vec![agency()],
            body: None,
            ok: vec![("200", "The agency", Some("Agency"), JSON)],
            errors: vec![],
        },
        Op {
            method: "put",
            path: "/v1/agencies/{id}",
            tag: "agencies",
            summary: "Replace an agency's description",
            auth: Some(true),
            params: vec![agency()],
            body: Some("Agency"),
            ok: vec![("200", "Replaced", Some("Agency"), JSON)],
            errors: vec![],
        },
        Op {
            method: "post",
            path: "/v1/agencies/{id}/keys",
            tag: "agencies",
            summary: "A new token; the old one stops working",
            auth: Some(true),
            params: vec![agency()],
            body: None,
            ok: vec![("201", "The token, shown once", Some("Token"), JSON)],
            errors: vec![],
        },
        Op {
            method: "put",
            path: "/v1/agencies/{id}/feed",
            tag: "federation",
            summary: "Harvest the agency's feed",
            auth: Some(true),
            params: vec![agency()],
            body: Some("FeedConfig"),
            ok: vec![("200", "Registered", Some("FeedConfig"), JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/agencies/{id}/feed",
            tag: "federation",
            summary: "The feed's configuration",
            auth: Some(true),
            params: vec![agency()],
            body: None,
            ok: vec![("200", "The configuration", Some("FeedConfig"), JSON)],
            errors: vec![],
        },
        Op {
            method: "delete",
            path: "/v1/agencies/{id}/feed",
            tag: "federation",
            summary: "Stop harvesting the agency's feed (its entries stay)",
            auth: Some(true),
            params: vec![agency()],
            body: None,
            ok: vec![("204", "Removed", None, JSON)],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/v1/agencies/{id}/harvest",
            tag: "federation",
            summary: "The last harvests",
            auth: Some(true),
            params: vec![
                agency(),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 20 }),
                    "At most this many",
                ),
            ],
            body: None,
            ok: vec![("200", "Runs, newest first", Some("HarvestRuns"), JSON)],
            errors: vec!["400"],
        },
        Op {
            method: "post",
            path: "/v1/agencies/{id}/harvest",
            tag: "federation",
            summary: "Harvest now",
            auth: Some(true),
            params: vec![agency()],
            body: None,
            ok: vec![("200", "The run", Some("HarvestRun"), JSON)],
            errors: vec!["409"],
        },
        Op {
            method: "get",
            path: "/v1/changes",
            tag: "federation",
            summary: "Every accepted change in order",
            auth: None,
            params: vec![
                query(
                    "since",
                    json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX }),
                    "Changes after this sequence number",
                ),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
                    "At most this many",
                ),
                query(
                    "wait",
                    json!({ "type": "integer", "minimum": 0, "maximum": 60 }),
                    "Seconds to wait for a change",
                ),
            ],
            body: None,
            ok: vec![("200", "Changes", Some("ChangePage"), JSON)],
            errors: vec!["400"],
        },
        Op {
            method: "get",
            path: "/v1/export/{format}",
            tag: "federation",
            summary: "The catalogue as HSDS 3 or CPSV-AP-NO",
            auth: None,
            params: vec![
                json!({ "name": "format", "in": "path", "required": true, "schema": { "enum": ["hsds", "cpsv-ap-no"] } }),
                query(
                    "lang",
                    json!({ "enum": ["nb", "nn", "en"] }),
                    "HSDS text language",
                ),
            ],
            body: None,
            ok: vec![
                ("200", "HSDS page", Some("AnyObject"), JSON),
                ("200", "JSON-LD", Some("AnyObject"), "application/ld+json"),
            ],
            errors: vec!["400"],
        },
        Op {
            method: "get",
            path: "/",
            tag: "health",
            summary: "Operator dashboard (HTML)",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "HTML page", None, "text/html")],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/services/{id}",
            tag: "services",
            summary: "One entry as a person reads it (HTML)",
            auth: None,
            params: vec![id()],
            body: None,
            ok: vec![("200", "HTML page", None, "text/html")],
            errors: vec![],
        },
        Op {
            method: "get",
            path: "/try",
            tag: "routing",
            summary: "The front door to try (HTML)",
            auth: None,
            params: vec![],
            body: None,
            ok: vec![("200", "HTML page", None, "text/html")],
            errors: vec![],
        },
    ]
}

fn paths() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let mut responses = Map::new();
        for (status, description, schema, media) in &op.ok {
            let entry = responses
                .entry(status.to_string())
                .or_insert_with(|| json!({ "description": description }));
            if let Some(schema) = schema {
                entry
                    .as_object_mut()
                    .expect("a response object")
                    .entry("content")
                    .or_insert_with(|| json!({}))[*media] = json!({ "schema": schema_ref(schema) });
            } else if *media != JSON {
                entry["content"] = json!({ *media: { "schema": { "type": "string" } } });
            }
        }
        let mut errors: Vec<&str> = op.errors.clone();
        if op.body.is_some() {
            errors.extend(["400", "413", "415", "422"]);
        }
        if op.auth == Some(true) {
            errors.extend(["401", "403"]);
        }
        if op.auth == Some(false) {
            errors.push("401");
        }
        if op.path.contains('{') {
            errors.push("404");
        }
        if op.method != "get" {
            errors.push("405");
        }
        errors.sort_unstable();
        errors.dedup();
        let problem = json!({ "application/problem+json": { "schema": schema_ref("Problem") } });
        for status in errors {
            responses.insert(
                status.to_string(),
                json!({ "description": describe_status(status), "content": problem }),
            );
        }
        responses.insert(
            "default".into(),
            json!({ "description": "Another problem", "content": problem }),
        );
        let mut operation = json!({
            "tags": [op.tag],
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": op.params,
            "responses": responses,
        });
        match op.auth {
            Some(true) => operation["security"] = json!([{ "bearer": [] }]),
            Some(false) => operation["security"] = json!([{}, { "bearer": [] }]),
            None => operation["security"] = json!([]),
        }
        if let Some(body) = op.body {
            let mut media = json!({ "schema": schema_ref(body) });
            if let Some(example) = example_of(body) {
                media["example"] = example;
            }
            operation["requestBody"] = json!({ "required": true, "content": { JSON: media } });
        }
        paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}))[op.method] = operation;
    }
    Value::Object(paths)
}

/// A valid request body, to show and to start testing from.
fn example_of(component: &str) -> Option<Value> {
    Some(match component {
        "ServiceEntry" => json!({
            "id": "hfu-eksempel",
            "agency": "bufdir",
            "name": { "nb": "Helsestasjon for ungdom, eksempel", "en": "Youth health clinic, example" },
            "summary": { "nb": "Gratis helsehjelp for ungdom, uten timebestilling." },
            "topics": ["psykisk-helse", "prevensjon"],
            "audience": { "min_age": 13, "max_age": 24 },
            "coverage": { "scope": "areas", "municipalities": ["4601"] },
            "channels": [{ "kind": "phone", "address": "55 56 11 11",
                           "hours": { "weekly": [{ "days": ["mon", "wed"], "opens": "14:00", "closes": "18:00" }] } }],
            "urgency": "ordinary"
        }),
        "RouteRequest" => {
            json!({ "q": "jeg blir mobbet på skolen", "age": 14, "municipality": "4601" })
        }
        "Agency" => {
            json!({ "id": "eksempel-kommune", "name": "Eksempel kommune", "org_number": "986128433" })
        }
        "FeedConfig" => {
            json!({ "url": "https://eksempel.kommune.no/veiviser-feed.json", "schedule": "0 15 * * * *" })
        }
        _ => return None,
    })
}

fn describe_status(status: &str) -> &'static str {
    match status {
        "400" => "Malformed JSON or bad query parameters, each with its pointer",
        "401" => "Missing or unknown token",
        "403" => "Not this caller's to change",
        "404" => "No such resource",
        "405" => "Method not allowed (on a mirror: writes go to the primary)",
        "409" => "Conflict (the id is taken, or a harvest is running)",
        "410" => "Retired",
        "412" => "If-Match names another version",
        "413" => "Body over 256 KiB",
        "415" => "Not JSON",
        "422" => "Invalid: every problem with its JSON Pointer",
        "428" => "If-Match required",
        _ => "Problem",
    }
}
