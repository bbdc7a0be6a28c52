//! JSON Schemas (2020-12) generated from the model types. `veiviser schema` writes them to
//! `schemas/`; the validator compiles the same values, so published and enforced schemas
//! cannot differ.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

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

/// The JSON Schema 2020-12 of `T` as a document sent to Veiviser (see [`tidy`]).
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(tidy))
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// The JSON Schema 2020-12 of `T` as Veiviser answers it: an absent value may be `null`
/// there, so the `null` alternatives stay.
pub fn response_schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(plain_enums))
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// Shapes that make a validator's messages precise:
/// - an optional field is left out, never `null`, so `Option<T>` is just `T` (a `null`
///   alternative would turn every error inside `T` into one vague `anyOf` failure);
/// - an enum whose variants are documented becomes a plain `enum` (one clear "is not one of"
///   message instead of a `oneOf` failure), with the variants' docs in its description.
fn tidy(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    let null = json!({ "type": "null" });
    if let Some(Value::Array(alternatives)) = object.get("anyOf") {
        if alternatives.len() == 2 && alternatives[1] == null {
            let Value::Object(inner) = alternatives[0].clone() else {
                return;
            };
            object.remove("anyOf");
            for (key, value) in inner {
                object.entry(key).or_insert(value);
            }
        }
    }
    plain_enums(schema);
}

/// A `oneOf` of documented constants becomes a plain `enum`. An empty-string default
/// (what `#[serde(default)]` gives a `String`) is dropped where a pattern stands beside it:
/// every pattern here requires a character, so the default would fail its own schema.
fn plain_enums(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("default") == Some(&json!("")) && object.contains_key("pattern") {
        object.remove("default");
    }
    if let Some(Value::Array(variants)) = object.get("oneOf") {
        if variants.iter().all(|v| v.get("const").is_some()) {
            let values: Vec<Value> = variants.iter().map(|v| v["const"].clone()).collect();
            let docs: Vec<String> = variants
                .iter()
                .filter_map(|v| {
                    Some(format!(
                        "`{}`: {}",
                        v["const"].as_str()?,
                        v.get("description")?.as_str()?
                    ))
                })
                .collect();
            describe_variants(object, &docs);
            object.remove("oneOf");
            object.insert("enum".into(), Value::Array(values));
        }
    }
}

fn describe_variants(object: &mut Map<String, Value>, docs: &[String]) {
    if docs.is_empty() {
        return;
    }
    let mut text = object
        .get("description")
        .and_then(Value::as_str)
        .map(|d| format!("{d}\n"))
        .unwrap_or_default();
    text.push_str(&docs.join("\n"));
    object.insert("description".into(), Value::String(text));
}
