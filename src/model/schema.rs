//! JSON Schemas (2020-12) generated from the model types. `veiviser schema` writes them to
//! `schemas/`; the validator compiles the same values, so published and enforced schemas
//! cannot differ.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::{Agency, ServiceEntry};

/// A published schema: its name in `GET /v1/schemas/{name}` and its file in `schemas/`.
pub struct NamedSchema {
    pub name: &'static str,
    pub schema: Value,
}

impl NamedSchema {
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.name)
    }
}

/// The JSON Schema 2020-12 of `T`.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

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
    ]
}

/// The schema published under `name`, if any.
pub fn by_name(name: &str) -> Option<Value> {
    published()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.schema)
}
