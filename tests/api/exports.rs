//! Exports for national catalogues: Open Referral HSDS 3 and CPSV-AP-NO.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{pointers, problem, repo_path, spawn_app};

fn hsds_validator() -> jsonschema::Validator {
    let path = repo_path("tests/fixtures/hsds-3.0-service-list.strict.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// The organisation number's mod-11 check digit.
fn mod11_ok(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = [3, 2, 7, 6, 5, 4, 3, 2]
        .iter()
        .zip(&digits)
        .map(|(w, d)| w * d)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    digits.len() == 9 && digits[8] == check
}

/// Every value of `key` anywhere in `doc`.
fn all_values<'a>(doc: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    out.push(v);
                }
                all_values(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_values(v, key, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_hsds_export_follows_hsds_3() {
    let app = spawn_app().await;
    let response = app.get("/v1/export/hsds").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    let validator = hsds_validator();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .take(10)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let services = doc["contents"].as_array().unwrap();
    let catalogue = app.get_json("/v1/services?limit=200").await;
    assert_eq!(services.len(), catalogue["items"].as_array().unwrap().len());

    // Every service has its organisation with a valid organisation number as NO-BRC.
    for service in services {
        let identifier = &service["organization"]["organization_identifiers"][0];
        assert_eq!(identifier["identifier_scheme"], "NO-BRC");
        let number = identifier["identifier"].as_str().unwrap();
        assert!(number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()));
        assert!(mod11_ok(number), "{number}");
    }

    // Ids are unique wherever the same object is not repeated on purpose.
    let mut ids = Vec::new();
    for service in services {
        ids.push(service["id"].as_str().unwrap());
        for at in service["service_at_locations"].as_array().unwrap() {
            ids.push(at["id"].as_str().unwrap());
            for schedule in at["schedules"].as_array().into_iter().flatten() {
                ids.push(schedule["id"].as_str().unwrap());
            }
        }
    }
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());

    // Weekly hours become schedules per daylight-saving period, in Oslo's offsets.
    let mut offsets = Vec::new();
    all_values(&doc, "timezone", &mut offsets);
    let offsets: HashSet<i64> = offsets.iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(offsets, HashSet::from([1, 2]));

    // The same ids in every export, and text in the language asked for.
    let again: Value = app.get_json("/v1/export/hsds?lang=en").await;
    assert_eq!(again["contents"][0]["id"], services[0]["id"]);
    let sos = |doc: &Value| {
        doc["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["url"].as_str().unwrap().ends_with("/kirkens-sos"))
            .unwrap()["name"]
            .clone()
    };
    let (nb, en) = (sos(&doc), sos(&again));
    assert!(nb.is_string() && en.is_string());

    let response = app.get("/v1/export/hsds?lang=de").await;
    assert_eq!(
        pointers(&problem(response, StatusCode::BAD_REQUEST).await),
        ["/lang"]
    );
    let response = app.get("/v1/export/dcat").await;
    problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_mistake_in_the_export_would_fail_the_hsds_check() {
    // The strict copy catches what HSDS's loose schemas let through.
    let validator = hsds_validator();
    let app = spawn_app().await;
    let mut doc: Value = app.get_json("/v1/export/hsds").await;
    doc["contents"][0]["minimum_age"] = Value::from("13");
    assert!(!validator.is_valid(&doc));
    let mut doc: Value = app.get_json("/v1/export/hsds").await;
    doc["contents"][0]["organisation"] = Value::from("typo");
    assert!(!validator.is_valid(&doc));
    let mut doc: Value = app.get_json("/v1/export/hsds").await;
    doc["contents"][0]["id"] = Value::from("kirkens-sos");
    assert!(!validator.is_valid(&doc));
}

#[tokio::test]
async fn the_cpsv_ap_no_export_describes_every_service_with_its_mandatory_properties() {
    let app = spawn_app().await;
    let response = app.get("/v1/export/cpsv-ap-no").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/ld+json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["@context"]["cv"], "http://data.europa.eu/m8g/");
    assert_eq!(
        doc["@context"]["cpsvno"],
        "https://data.norge.no/vocabulary/cpsvno#"
    );
    let graph = doc["@graph"].as_array().unwrap();
    let of_type = |t: &'static str| graph.iter().filter(move |n| n["@type"] == t);
    let services: Vec<&Value> = of_type("cpsv:PublicService").collect();
    assert_eq!(services.len(), crate::helpers::catalogue_services());
    let authorities: HashSet<&str> = of_type("cv:PublicOrganisation")
        .map(|n| n["@id"].as_str().unwrap())
        .collect();
    let channel_types = [
        "assistant",
        "client-location",
        "digital-tv",
        "e-mail",
        "fax",
        "homepage",
        "mail",
        "mobile-app",
        "online-service",
        "service-bureau",
        "telephone",
    ];
    for service in &services {
        let iri = service["@id"].as_str().unwrap();
        assert!(
            iri.starts_with("https://") && iri.contains("/v1/services/"),
            "{iri}"
        );
        for key in [
            "dct:identifier",
            "cv:contactPoint",
            "cpsvno:hasPossibleOutput",
        ] {
            assert!(!service[key].is_null(), "{iri} lacks {key}");
        }
        for key in ["dct:title", "dct:description"] {
            let literals = service[key].as_array().unwrap();
            assert!(!literals.is_empty());
            let languages: Vec<&str> = literals
                .iter()
                .map(|l| l["@language"].as_str().unwrap())
                .collect();
            let unique: HashSet<_> = languages.iter().collect();
            assert_eq!(
                unique.len(),
                languages.len(),
                "one literal per language in {key}"
            );
        }
        let authority = service["cv:hasCompetentAuthority"]["@id"].as_str().unwrap();
        let number = authority
            .strip_prefix("https://organization-catalog.fellesdatakatalog.digdir.no/organizations/")
            .unwrap();
        assert!(number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()));
        assert!(
            authorities.contains(authority),
            "{authority} is described in the graph"
        );
        for channel in service["cv:hasChannel"].as_array().unwrap() {
            assert!(
                channel["@id"].as_str().unwrap().starts_with(iri),
                "channels have IRIs"
            );
            let kind = channel["dct:type"]["@id"].as_str().unwrap();
            let kind = kind
                .strip_prefix("https://data.norge.no/vocabulary/service-channel-type#")
                .unwrap();
            assert!(channel_types.contains(&kind), "{kind}");
        }
    }
    // Crisis lines are "akutt hjelp" in LOS.
    let sos = services
        .iter()
        .find(|s| s["dct:identifier"] == "kirkens-sos")
        .unwrap();
    let themes: Vec<&str> = sos["cv:thematicArea"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["@id"].as_str().unwrap())
        .collect();
    assert!(
        themes.contains(&"https://psi.norge.no/los/tema/akutt-hjelp"),
        "{themes:?}"
    );
    // The catalogue lists every service.
    let catalogue = of_type("dcat:Catalog").next().unwrap();
    assert_eq!(
        catalogue["dcatno:containsService"]
            .as_array()
            .unwrap()
            .len(),
        crate::helpers::catalogue_services()
    );
}

#[tokio::test]
async fn maintainers_notes_never_leave_in_an_export() {
    let app = spawn_app().await;
    let mut notes: Vec<String> = Vec::new();
    for path in crate::helpers::walk(&crate::helpers::repo_path("catalog/services")) {
        let entry: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        notes.extend(entry["editorial_note"].as_str().map(str::to_string));
        notes.extend(entry["audience"]["note"].as_str().map(str::to_string));
        for channel in entry["channels"].as_array().unwrap() {
            notes.extend(channel["note"].as_str().map(str::to_string));
        }
    }
    // Short ones ("national") could turn up by chance in any text.
    notes.retain(|n| n.chars().count() >= 40);
    assert!(notes.len() > 100, "{}", notes.len());
    for path in [
        "/v1/export/hsds",
        "/v1/export/hsds?lang=en",
        "/v1/export/cpsv-ap-no",
    ] {
        let text = app.get(path).await.text().await.unwrap();
        // As JSON writes them: a note with quotes or newlines is escaped in the export.
        for note in &notes {
            let written = serde_json::to_string(note).unwrap();
            let inner = &written[1..written.len() - 1];
            assert!(
                !text.contains(inner),
                "{path} shows a maintainer's note: {note}"
            );
        }
    }
}
