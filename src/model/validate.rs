//! Validation of incoming documents: the published JSON Schema first (compiled once), then
//! the rules a schema cannot express, all reported together as [`Violations`].
//!
//! Semantic rules walk the raw JSON rather than the typed entry, so that a document with a
//! schema error elsewhere still gets every other problem reported in the same answer.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Agency;
use super::entry::{AddressKind, ChannelKind, ServiceEntry};
use super::hours::{OpeningHours, WeeklyHours, check_weekly};
use super::ids::{check_email, check_probe_url, check_public_url, parse_org_number, parse_phone};
use super::reference::Reference;
use super::schema::schema_for;
use super::violations::Violations;

/// Validates service entries and agencies. Build once, share (it is `Send + Sync`).
pub struct Validator {
    entry_schema: jsonschema::Validator,
    agency_schema: jsonschema::Validator,
    reference: Arc<Reference>,
}

impl Validator {
    /// Compiles the published schemas.
    pub fn new(reference: Arc<Reference>) -> Self {
        let compile = |schema: Value| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .expect("the generated schemas are valid JSON Schema 2020-12")
        };
        Validator {
            entry_schema: compile(schema_for::<ServiceEntry>()),
            agency_schema: compile(schema_for::<Agency>()),
            reference,
        }
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Checks a submitted service entry and returns it in stored form (phone numbers and
    /// organisation numbers as digits).
    pub fn validate_entry(&self, doc: &Value) -> Result<ServiceEntry, Violations> {
        let mut out = schema_violations(&self.entry_schema, doc);
        self.entry_rules(doc, &mut out);
        let mut entry: ServiceEntry = typed(doc, out)?;
        normalise_entry(&mut entry);
        Ok(entry)
    }

    /// Checks a submitted agency and returns it with its organisation number as digits.
    pub fn validate_agency(&self, doc: &Value) -> Result<Agency, Violations> {
        let mut out = schema_violations(&self.agency_schema, doc);
        check_no_control_characters(doc, &mut String::new(), &mut out);
        if let Some(org) = doc.get("org_number").and_then(Value::as_str) {
            if let Err(e) = parse_org_number(org) {
                out.push("/org_number", e);
            }
        }
        if let Some(url) = doc.get("website").and_then(Value::as_str) {
            if let Err(e) = check_public_url(url) {
                out.push("/website", e);
            }
        }
        if let Some(url) = doc.get("notify_url").and_then(Value::as_str) {
            if let Err(e) = check_probe_url(url) {
                out.push("/notify_url", e);
            }
        }
        let mut agency: Agency = typed(doc, out)?;
        agency.org_number = parse_org_number(&agency.org_number).expect("checked above");
        Ok(agency)
    }

    fn entry_rules(&self, doc: &Value, out: &mut Violations) {
        check_no_control_characters(doc, &mut String::new(), out);
        self.check_topics(doc, out);
        if let Some(audience) = doc.get("audience") {
            let age = |k| audience.get(k).and_then(Value::as_u64);
            if let (Some(min), Some(max)) = (age("min_age"), age("max_age")) {
                if min > max {
                    out.push(
                        "/audience/max_age",
                        format!("max_age {max} is below min_age {min}"),
                    );
                }
            }
        }
        if let Some(org) = doc.pointer("/provider/org_number").and_then(Value::as_str) {
            if let Err(e) = parse_org_number(org) {
                out.push("/provider/org_number", e);
            }
        }
        self.check_coverage(doc, out);
        for (i, channel) in items(doc, "channels") {
            check_channel(channel, &format!("/channels/{i}"), out);
        }
        for (i, source) in items(doc, "sources") {
            if let Some(Err(e)) = source.as_str().map(check_probe_url) {
                out.push(
                    format!("/sources/{i}"),
                    e.replace("a health-check URL", "a source"),
                );
            }
        }
    }

    fn check_topics(&self, doc: &Value, out: &mut Violations) {
        let taxonomy = &self.reference.taxonomy;
        let mut seen = HashSet::new();
        for (i, topic) in items(doc, "topics") {
            let Some(id) = topic.as_str() else { continue };
            if !seen.insert(id) {
                out.push(
                    format!("/topics/{i}"),
                    format!("the topic '{id}' is listed twice"),
                );
            } else if !taxonomy.contains(id) {
                let hint = taxonomy
                    .suggest(id)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_else(|| "; see GET /v1/topics".into());
                out.push(
                    format!("/topics/{i}"),
                    format!("unknown topic '{id}'{hint}"),
                );
            }
        }
    }

    fn check_coverage(&self, doc: &Value, out: &mut Violations) {
        let Some(coverage) = doc.get("coverage") else {
            return;
        };
        let places = &self.reference.places;
        let counties: Vec<_> = items(coverage, "counties").collect();
        let municipalities: Vec<_> = items(coverage, "municipalities").collect();
        match coverage.get("scope").and_then(Value::as_str) {
            Some("national") if !counties.is_empty() || !municipalities.is_empty() => out.push(
                "/coverage/scope",
                "a national service lists no counties or municipalities; use scope 'areas' to limit it",
            ),
            Some("areas") if counties.is_empty() && municipalities.is_empty() => out.push(
                "/coverage",
                "scope 'areas' needs at least one county or municipality code",
            ),
            _ => {}
        }
        for (i, code) in counties {
            if let Some(code) = code.as_str().filter(|c| c.len() == 2) {
                if places.county_name(code).is_none() {
                    out.push(
                        format!("/coverage/counties/{i}"),
                        format!("'{code}' is not a county code of 2024 (SSB KLASS 131)"),
                    );
                }
            }
        }
        for (i, code) in municipalities {
            if let Some(code) = code.as_str().filter(|c| c.len() == 4) {
                if places.municipality(code).is_none() {
                    out.push(
                        format!("/coverage/municipalities/{i}"),
                        format!(
                            "'{code}' is not a municipality code of 2024 (SSB KLASS 131); codes from before the 2024 reform must be translated"
                        ),
                    );
                }
            }
        }
    }
}

/// The JSON Schema's findings, each with the instance path as pointer. A missing or unknown
/// property points at itself (`/name`), not at its parent, so a form can mark the field.
pub(crate) fn schema_violations(schema: &jsonschema::Validator, doc: &Value) -> Violations {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut out = Violations::default();
    // Most documents are valid, and the yes/no check is much cheaper than collecting errors.
    if schema.is_valid(doc) {
        return out;
    }
    for error in schema.iter_errors(doc) {
        let parent = error.instance_path().as_str();
        let child = |name: &str| format!("{parent}/{}", name.replace('~', "~0").replace('/', "~1"));
        match error.kind() {
            Kind::Required {
                property: Value::String(name),
            } => out.push(child(name), "is required"),
            Kind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    out.push(child(name), "is not a known field");
                }
            }
            _ => out.push(parent, bounded_message(&error)),
        }
    }
    out
}

/// The validator's message without a long value repeated in it: a 200 KB array that is too
/// long is "the value has more than 30 items", not the array again.
fn bounded_message(error: &jsonschema::ValidationError) -> String {
    const LONGEST_QUOTED: usize = 80;
    let message = error.to_string();
    let instance = error.instance().to_string();
    if instance.len() > LONGEST_QUOTED && message.contains(&instance) {
        return message.replacen(&instance, "the value", 1);
    }
    message
}

/// The typed document, once nothing is wrong with it.
fn typed<T: DeserializeOwned>(doc: &Value, mut out: Violations) -> Result<T, Violations> {
    if !out.is_empty() {
        return Err(out);
    }
    T::deserialize(doc).map_err(|e| {
        // The schema mirrors the types, so this is a gap in the schema; still say what it is.
        out.push("", e.to_string());
        out
    })
}

fn items<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    doc.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Text holds no NUL or other control characters (line breaks and tabs aside): they are
/// invisible on every page that shows the entry and break the exports that carry it.
fn check_no_control_characters(doc: &Value, at: &mut String, out: &mut Violations) {
    let len = at.len();
    match doc {
        Value::String(text) => {
            if let Some(c) = text
                .chars()
                .find(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                out.push(
                    at.clone(),
                    format!(
                        "text may not hold control characters (found U+{:04X})",
                        c as u32
                    ),
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push_str(&format!("/{i}"));
                check_no_control_characters(item, at, out);
                at.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields {
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_no_control_characters(value, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

fn check_channel(channel: &Value, at: &str, out: &mut Violations) {
    let kind = channel
        .get("kind")
        .and_then(Value::as_str)
        .and_then(ChannelKind::parse);
    if let (Some(kind), Some(address)) = (kind, channel.get("address").and_then(Value::as_str)) {
        let checked = match kind.address_kind() {
            AddressKind::Url => check_public_url(address).map(drop),
            AddressKind::Phone => parse_phone(address).map(drop),
            AddressKind::Email => check_email(address),
            AddressKind::Street => Ok(()),
        };
        if let Err(e) = checked {
            out.push(
                format!("{at}/address"),
                format!("{} address: {e}", kind.as_str()),
            );
        }
    }
    if let Some(hours) = channel.get("hours") {
        // Shape errors were reported by the schema; only what can be read gets these checks.
        let at = format!("{at}/hours");
        match OpeningHours::deserialize(hours) {
            Ok(hours) => hours.check(&at, out),
            Err(_) => {
                if let Some(Ok(weekly)) = hours.get("weekly").map(Vec::<WeeklyHours>::deserialize) {
                    check_weekly(&weekly, &at, out);
                }
            }
        }
    }
    if let Some(url) = channel.pointer("/health_check/url").and_then(Value::as_str) {
        if let Err(e) = check_probe_url(url) {
            out.push(format!("{at}/health_check/url"), e);
        }
    }
}

fn normalise_entry(entry: &mut ServiceEntry) {
    for channel in &mut entry.channels {
        if channel.kind.address_kind() == AddressKind::Phone {
            if let Some(address) = &mut channel.address {
                *address = parse_phone(address).expect("checked by the rules");
            }
        }
    }
    if let Some(org) = entry.provider.as_mut().and_then(|p| p.org_number.as_mut()) {
        *org = parse_org_number(org).expect("checked by the rules");
    }
}
