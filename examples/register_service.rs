//! An agency's client: registers a service in Veiviser, then updates it with `If-Match`.
//!
//! Run against a server (`cargo run --release -- serve`) with an agency token:
//!
//! ```sh
//! VEIVISER_URL=http://127.0.0.1:8080 VEIVISER_TOKEN=vva.my-agency.… \
//!     cargo run --example register_service
//! ```
//!
//! The operator creates the agency and its first token with `POST /v1/agencies`.

use serde_json::{Value, json};

/// The entry this example registers: a municipal youth health clinic in Bergen.
pub fn example_entry(id: &str) -> Value {
    json!({
        "id": id,
        "name": { "nb": "Helsestasjon for ungdom, eksempel", "en": "Youth health clinic, example" },
        "summary": { "nb": "Gratis helsestasjon for ungdom med drop-in." },
        "topics": ["prevensjon", "kjonnssykdommer-og-testing", "psykisk-helse"],
        "audience": { "min_age": 13, "max_age": 24, "groups": ["young_people"] },
        "coverage": { "scope": "areas", "municipalities": ["4601"] },
        "channels": [
            {
                "kind": "in_person",
                "address": "Eksempelgata 1, 5003 Bergen",
                "free": true,
                "hours": {
                    "weekly": [{ "days": ["mon", "wed"], "opens": "14:00", "closes": "18:00" }],
                    "holidays": "closed",
                    "exceptions": [{ "from": "2026-12-24", "closed": true, "note": "Stengt julaften." }]
                }
            },
            { "kind": "phone", "address": "55 55 55 55" }
        ],
        "urgency": "ordinary"
    })
}

/// Registers the entry, then changes its summary. Returns the updated entry.
pub async fn register_and_update(base: &str, token: &str, id: &str) -> Result<Value, String> {
    // reqwest is built with rustls and no default crypto provider: install ring's.
    veiviser::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/v1/services"))
        .bearer_auth(token)
        .json(&example_entry(id))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if created.status() != reqwest::StatusCode::CREATED {
        return Err(format!(
            "create: {} {}",
            created.status(),
            created.text().await.unwrap_or_default()
        ));
    }
    let etag = created.headers()["etag"]
        .to_str()
        .map_err(|e| e.to_string())?
        .to_string();
    let mut entry: Value = created.json().await.map_err(|e| e.to_string())?;
    println!("created {} at version {}", entry["id"], entry["version"]);

    entry["summary"]["nb"] = json!("Gratis helsestasjon for ungdom med drop-in mandag og onsdag.");
    let updated = client
        .put(format!("{base}/v1/services/{id}"))
        .bearer_auth(token)
        .header("if-match", etag)
        .json(&entry)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if updated.status() != reqwest::StatusCode::OK {
        return Err(format!(
            "update: {} {}",
            updated.status(),
            updated.text().await.unwrap_or_default()
        ));
    }
    let entry: Value = updated.json().await.map_err(|e| e.to_string())?;
    println!("updated {} to version {}", entry["id"], entry["version"]);
    Ok(entry)
}

#[allow(dead_code)] // Tests include this file for the functions above.
#[tokio::main]
async fn main() {
    let base = std::env::var("VEIVISER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let Ok(token) = std::env::var("VEIVISER_TOKEN") else {
        eprintln!("set VEIVISER_TOKEN to your agency's token");
        std::process::exit(2);
    };
    if let Err(e) = register_and_update(&base, &token, "hfu-eksempel").await {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
