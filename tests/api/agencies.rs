use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, pointers, problem, spawn_app};

#[tokio::test]
async fn the_operator_registers_an_agency_and_its_token_is_shown_once() {
    let app = spawn_app().await;
    let body = json!({ "id": "ung-test", "name": "Ung test", "org_number": "986 128 433" });
    let response = app
        .send_json(Method::POST, "/v1/agencies", Some(ADMIN), &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/v1/agencies/ung-test");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["agency"]["org_number"], "986128433");
    assert!(created["token"].as_str().unwrap().len() >= 64);

    let fetched = app.get_json("/v1/agencies/ung-test").await;
    assert_eq!(fetched["name"], "Ung test");
    assert!(fetched.get("token").is_none() && fetched.get("token_hash").is_none());
    let all = app.get_json("/v1/agencies").await;
    let ids: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert!(ids.contains(&json!("ung-test")) && ids.contains(&json!("bufdir")));

    let again = app
        .send_json(Method::POST, "/v1/agencies", Some(ADMIN), &body)
        .await;
    problem(again, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn only_the_operator_registers_agencies() {
    let app = spawn_app().await;
    let agency_token = app.create_agency("first").await;
    let body = json!({ "id": "second", "name": "Second", "org_number": "986128433" });
    let no_token = app
        .send_json(Method::POST, "/v1/agencies", None, &body)
        .await;
    // RFC 6750 §3: a challenge always; `invalid_token` only when a token was sent.
    let challenge = |r: &reqwest::Response| {
        r.headers()[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_string()
    };
    let missing = challenge(&no_token);
    assert!(
        missing.starts_with("Bearer") && !missing.contains("error="),
        "{missing}"
    );
    let p = problem(no_token, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("Bearer"));
    let bad_token = app
        .send_json(Method::POST, "/v1/agencies", Some("nonsense"), &body)
        .await;
    let wrong = challenge(&bad_token);
    assert!(
        wrong.starts_with("Bearer") && wrong.contains(r#"error="invalid_token""#),
        "{wrong}"
    );
    problem(bad_token, StatusCode::UNAUTHORIZED).await;
    let as_agency = app
        .send_json(Method::POST, "/v1/agencies", Some(&agency_token), &body)
        .await;
    problem(as_agency, StatusCode::FORBIDDEN).await;
    problem(app.get("/v1/agencies/second").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn organisation_numbers_must_pass_mod_11() {
    let app = spawn_app().await;
    let body = json!({ "id": "Bad", "name": "", "org_number": "986128434" });
    let response = app
        .send_json(Method::POST, "/v1/agencies", Some(ADMIN), &body)
        .await;
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let found = pointers(&p);
    for expected in ["/id", "/name", "/org_number"] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
    let message = &p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pointer"] == "/org_number")
        .unwrap()["message"];
    assert!(message.as_str().unwrap().contains("mod 11"), "{message}");
}

#[tokio::test]
async fn a_new_key_replaces_the_old_one() {
    let app = spawn_app().await;
    let old = app.create_agency("rotating").await;
    let other = app.create_agency("other").await;

    let response = app
        .request(Method::POST, "/v1/agencies/rotating/keys", Some(&other))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN).await;

    let response = app
        .request(Method::POST, "/v1/agencies/rotating/keys", Some(&old))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let new = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);

    let with_old = app
        .post_service(&old, &crate::helpers::sample_entry("rotating-service"))
        .await;
    problem(with_old, StatusCode::UNAUTHORIZED).await;
    let with_new = app
        .post_service(&new, &crate::helpers::sample_entry("rotating-service"))
        .await;
    assert_eq!(with_new.status(), StatusCode::CREATED);

    // The operator can issue a key for any agency, for example a seeded one.
    let response = app
        .request(Method::POST, "/v1/agencies/kirkens-sos/keys", Some(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .request(Method::POST, "/v1/agencies/nobody/keys", Some(ADMIN))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;
}
