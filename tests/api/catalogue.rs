//! Contract tests: the checked-in schemas are what the code generates, every catalogue file
//! is valid, and every entry comes back from the API as it is in its file.

use std::sync::Arc;

use serde_json::Value;
use veiviser::model::Validator;
use veiviser::seed::CatalogueSource;

use crate::helpers::{repo_path, spawn_app};

#[test]
fn checked_in_schemas_are_what_the_code_generates() {
    for published in veiviser::contract::published() {
        let path = repo_path("schemas").join(published.file_name());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run `cargo run -- schema`", path.display()));
        let on_disk: Value = serde_json::from_str(&text).unwrap();
        assert!(
            on_disk == published.schema,
            "{} drifted from the code: run `cargo run -- schema` and commit",
            path.display()
        );
    }
}

/// A default is a value the schema promises to accept: each must pass its own subschema (an
/// empty `agency` default once failed the agency pattern beside it).
#[test]
fn every_default_in_the_published_schemas_passes_its_own_schema() {
    fn walk(value: &Value, at: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(default) = object.get("default") {
                    let mut own = object.clone();
                    own.remove("default");
                    // References need the whole document; the rest is checked alone.
                    if !own.contains_key("$ref") {
                        let schema = Value::Object(own);
                        if let Ok(validator) = jsonschema::validator_for(&schema) {
                            if !validator.is_valid(default) {
                                found.push(format!("{at}: default {default}"));
                            }
                        }
                    }
                }
                for (key, inner) in object {
                    walk(inner, &format!("{at}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    walk(inner, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for published in veiviser::contract::published() {
        walk(&published.schema, published.name, &mut found);
    }
    let openapi: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("schemas/openapi.json")).unwrap())
            .unwrap();
    walk(&openapi, "openapi", &mut found);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_catalogue_file_is_valid() {
    let source = CatalogueSource::Dir(repo_path("catalog"));
    let validator = Validator::new(Arc::new(source.reference().unwrap()));
    let reference = validator.reference();
    assert_eq!(reference.places.municipality_count(), 357);
    assert_eq!(reference.places.county_count(), 15);
    let loaded = source.documents().unwrap();
    assert!(loaded.unreadable.is_empty(), "{:?}", loaded.unreadable);
    assert_eq!(loaded.documents.agencies.len(), 32);
    assert_eq!(loaded.documents.services.len(), 104);
    for doc in &loaded.documents.agencies {
        validator
            .validate_agency(&doc.value)
            .unwrap_or_else(|v| panic!("{}: {v}", doc.origin));
    }
    let agencies: Vec<&str> = loaded
        .documents
        .agencies
        .iter()
        .map(|d| d.value["id"].as_str().unwrap())
        .collect();
    for doc in &loaded.documents.services {
        let entry = validator
            .validate_entry(&doc.value)
            .unwrap_or_else(|v| panic!("{}: {v}", doc.origin));
        assert!(
            doc.origin.ends_with(&format!("services/{}.json", entry.id)),
            "{} holds {}",
            doc.origin,
            entry.id
        );
        assert!(
            agencies.contains(&entry.agency.as_str()),
            "{}: unknown agency",
            doc.origin
        );
    }
    // Every service a topic routes to first exists.
    let ids: Vec<&str> = loaded
        .documents
        .services
        .iter()
        .map(|d| d.value["id"].as_str().unwrap())
        .collect();
    for topic in reference.taxonomy.topics() {
        for id in &topic.route_first {
            assert!(
                ids.contains(&id.as_str()),
                "{} routes to unknown {id}",
                topic.id
            );
        }
    }
}

#[test]
fn the_embedded_catalogue_is_the_catalog_folder() {
    let embedded = CatalogueSource::Embedded.documents().unwrap().documents;
    let on_disk = CatalogueSource::Dir(repo_path("catalog"))
        .documents()
        .unwrap()
        .documents;
    let values = |docs: &[veiviser::registry::SourceDocument]| {
        docs.iter().map(|d| d.value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(values(&embedded.services), values(&on_disk.services));
    assert_eq!(values(&embedded.agencies), values(&on_disk.agencies));
}

#[tokio::test]
async fn every_catalogue_entry_round_trips_through_the_api() {
    let app = spawn_app().await;
    let mut checked = 0;
    for file in std::fs::read_dir(repo_path("catalog/services")).unwrap() {
        let path = file.unwrap().path();
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = on_disk["id"].as_str().unwrap();
        let mut served = app.get_json(&format!("/v1/services/{id}")).await;
        assert_eq!(served["version"], 1);
        for server_managed in ["version", "created_at", "updated_at"] {
            served.as_object_mut().unwrap().remove(server_managed);
        }
        assert_eq!(
            served,
            on_disk,
            "{} changed on its way through the API",
            path.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 104);
}

#[test]
fn the_checked_in_openapi_document_is_what_the_code_generates() {
    let path = repo_path("schemas/openapi.json");
    let text =
        std::fs::read_to_string(&path).expect("schemas/openapi.json: run `cargo run -- schema`");
    let on_disk: Value = serde_json::from_str(&text).unwrap();
    assert!(
        on_disk == veiviser::contract::openapi::document(),
        "schemas/openapi.json drifted from the code: run `cargo run -- schema` and commit"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_reference_resolves() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc, veiviser::contract::openapi::document());
    // Every $ref points at a component that exists.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50);
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{target} resolves"
        );
    }
    // The component schemas are the published ones.
    assert_eq!(
        doc["components"]["schemas"]["ServiceEntry"]["properties"]["id"],
        veiviser::contract::by_name("service-entry").unwrap()["properties"]["id"]
    );
    // Every route the server answers is documented.
    for path in [
        "/v1/services/{id}",
        "/v1/route",
        "/v1/changes",
        "/v1/agencies/{id}/harvest",
        "/v1/export/{format}",
        "/try",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

/// The default catalogue's entries as JSON, and the taxonomy's subtopic ids.
fn catalogue_entries() -> Vec<Value> {
    let source = CatalogueSource::Dir(repo_path("catalog"));
    let loaded = source.documents().unwrap();
    loaded
        .documents
        .services
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn channels(entry: &Value) -> impl Iterator<Item = &Value> {
    entry["channels"].as_array().unwrap().iter()
}

#[test]
fn every_entry_speaks_bokmal_nynorsk_and_english() {
    for entry in catalogue_entries() {
        for field in ["name", "summary", "description"] {
            if field == "description" && entry.get(field).is_none() {
                continue;
            }
            for lang in ["nb", "nn", "en"] {
                let text = entry[field][lang].as_str().unwrap_or_default();
                assert!(!text.trim().is_empty(), "{}: {field}.{lang}", entry["id"]);
            }
        }
    }
}

#[test]
fn every_web_address_is_health_checked_at_a_pace_a_small_site_bears() {
    for entry in catalogue_entries() {
        for channel in channels(&entry) {
            let address = channel["address"].as_str().unwrap_or_default();
            let check = channel.get("health_check");
            if address.starts_with("https://") || address.starts_with("http://") {
                let check = check.unwrap_or_else(|| panic!("{}: {address} unchecked", entry["id"]));
                let url = check["url"].as_str().unwrap();
                // Hosts in their ASCII form: exports and probes take URIs, not IRIs.
                assert!(
                    url.is_ascii() && address.is_ascii(),
                    "{}: {url}",
                    entry["id"]
                );
                let interval = check["interval_s"].as_u64().unwrap_or(60);
                assert!(
                    (300..=86_400).contains(&interval),
                    "{}: checks every {interval} s",
                    entry["id"]
                );
            } else {
                // A phone number is never dropped for a web check.
                assert!(
                    check.is_none(),
                    "{}: {} checked",
                    entry["id"],
                    channel["kind"]
                );
            }
        }
    }
}

#[test]
fn emergency_and_crisis_lines_say_when_they_answer() {
    for entry in catalogue_entries() {
        let urgency = entry["urgency"].as_str().unwrap_or("ordinary");
        if urgency == "ordinary" {
            continue;
        }
        for channel in channels(&entry) {
            let kind = channel["kind"].as_str().unwrap();
            if ["phone", "sms", "chat"].contains(&kind) {
                assert!(
                    channel.get("hours").is_some(),
                    "{}: {kind} without hours",
                    entry["id"]
                );
            }
            if urgency == "emergency" && kind == "phone" {
                assert_eq!(channel["hours"]["always_open"], true, "{}", entry["id"]);
            }
        }
    }
}

#[test]
fn phone_numbers_are_norwegian_numbers_as_digits() {
    for entry in catalogue_entries() {
        for channel in channels(&entry) {
            let kind = channel["kind"].as_str().unwrap();
            let Some(number) = channel["address"].as_str() else {
                continue;
            };
            if ["phone", "sms", "text_phone"].contains(&kind) {
                // 110, 1412, 02800, 116 111, or eight digits.
                assert!(
                    number.bytes().all(|b| b.is_ascii_digit())
                        && [3, 4, 5, 6, 8].contains(&number.len()),
                    "{}: {number}",
                    entry["id"]
                );
            }
        }
    }
}

#[test]
fn every_topic_is_served_and_every_entry_names_its_sources() {
    let entries = catalogue_entries();
    let taxonomy: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("catalog/topics.json")).unwrap())
            .unwrap();
    for category in taxonomy["categories"].as_array().unwrap() {
        for topic in category["subtopics"].as_array().unwrap() {
            let id = &topic["id"];
            assert!(
                entries
                    .iter()
                    .any(|e| e["topics"].as_array().unwrap().contains(id)),
                "no service serves {id}"
            );
        }
    }
    for entry in &entries {
        let sources = entry["sources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(
            sources
                .iter()
                .any(|s| s.as_str().unwrap().starts_with("https://")
                    || s.as_str().unwrap().starts_with("http://")),
            "{}: no source",
            entry["id"]
        );
    }
}

#[test]
fn public_texts_carry_no_maintainers_words() {
    const MAINTAINERS: [&str; 8] = [
        "unconfirmed",
        "not confirmed",
        "ikke bekreftet",
        "ikkje stadfesta",
        "research",
        "todo",
        "source:",
        "kilde:",
    ];
    for entry in catalogue_entries() {
        let mut public: Vec<&str> = Vec::new();
        for field in ["name", "summary", "description"] {
            for lang in ["nb", "nn", "en"] {
                public.extend(entry[field][lang].as_str());
            }
        }
        public.extend(channels(&entry).filter_map(|c| c["hours"]["note"].as_str()));
        for text in public {
            let lower = text.to_lowercase();
            for word in MAINTAINERS {
                assert!(
                    !lower.contains(word),
                    "{}: {word:?} in {text:?}",
                    entry["id"]
                );
            }
        }
    }
}
