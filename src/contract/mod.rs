//! The published contract: every JSON Schema Veiviser publishes in `schemas/` and under
//! `/v1/schemas/{name}`, generated from the Rust types.

pub mod openapi;
pub mod views;

use serde_json::Value;

use crate::model::feed::{AgencyFeed, FeedConfig};
use crate::model::schema::{NamedSchema, response_schema_for, schema_for};
use crate::model::{Agency, ServiceEntry};
use crate::routing::{RouteRequest, RouteResponse};

/// Every schema Veiviser publishes.
pub fn published() -> Vec<NamedSchema> {
    vec![
        NamedSchema {
            name: "service-entry",
            schema: schema_for::<ServiceEntry>(),
        },
        NamedSchema {
            name: "agency",
            schema: schema_for::<Agency>(),
        },
        NamedSchema {
            name: "agency-feed",
            schema: schema_for::<AgencyFeed>(),
        },
        NamedSchema {
            name: "feed-config",
            schema: schema_for::<FeedConfig>(),
        },
        NamedSchema {
            name: "route-request",
            schema: schema_for::<RouteRequest>(),
        },
        NamedSchema {
            name: "route-response",
            schema: response_schema_for::<RouteResponse>(),
        },
    ]
}

/// The schema published under `name`, if any.
pub fn by_name(name: &str) -> Option<Value> {
    published()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.schema)
}
