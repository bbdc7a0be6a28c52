//! Multilingual text: a map from language tag to text, Bokmål (`nb`) required.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::ids::LANG_PATTERN;

/// Longest service name, in characters.
pub const NAME_MAX: usize = 120;
/// Longest one-line summary, in characters.
pub const SUMMARY_MAX: usize = 300;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 5000;

/// Text in several languages, keyed by BCP 47 tag (`nb`, `nn`, `en`, `se`, …), at most `MAX`
/// characters each. `nb` is required: it is the fallback every front door can show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText<const MAX: usize>(pub BTreeMap<String, String>);

impl<const MAX: usize> LocalizedText<MAX> {
    /// The text in `lang`, falling back to Bokmål.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get("nb"))
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Every text, whatever its language.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }
}

impl<const MAX: usize> JsonSchema for LocalizedText<MAX> {
    fn schema_name() -> Cow<'static, str> {
        format!("LocalizedText{MAX}").into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": format!(
                "Text by language tag (BCP 47: nb, nn, en, se, …). `nb` is required; each text is 1 to {MAX} characters."
            ),
            "required": ["nb"],
            "propertyNames": { "pattern": LANG_PATTERN },
            "additionalProperties": { "type": "string", "minLength": 1, "maxLength": MAX },
        })
    }
}

/// A service's name.
pub type Name = LocalizedText<NAME_MAX>;
/// A one-line summary shown in result lists.
pub type Summary = LocalizedText<SUMMARY_MAX>;
/// A longer description.
pub type Description = LocalizedText<DESCRIPTION_MAX>;
