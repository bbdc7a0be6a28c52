use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN, pointers, problem, sample_entry, spawn_app};

async fn service_count(app: &crate::helpers::TestApp) -> u64 {
    app.get_json("/readyz").await["services"].as_u64().unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let response = app
        .request(Method::POST, "/v1/services", Some(&token))
        .header("content-type", "application/json")
        .body("{\n  \"id\": \"x\",\n  oops\n}")
        .send()
        .await
        .unwrap();
    let p = problem(response, StatusCode::BAD_REQUEST).await;
    assert!(
        p["detail"].as_str().unwrap().contains("line 3, column 3"),
        "{p}"
    );
    let empty = app
        .request(Method::POST, "/v1/services", Some(&token))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    problem(empty, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn bodies_that_are_not_json_are_415() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app
            .request(Method::POST, "/v1/services", Some(&token))
            .body(sample_entry("x-y").to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
    let ok = app
        .request(Method::POST, "/v1/validate", None)
        .header("content-type", "application/json; charset=utf-8")
        .body(sample_entry("x-y").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn bodies_over_256_kib_are_413_with_or_without_a_length() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let mut entry = sample_entry("stor");
    entry["keywords"] = json!(["x".repeat(300 * 1024)]);
    problem(
        app.post_service(&token, &entry).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    // Chunked, so no Content-Length: counted as it arrives.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/services HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..5 {
        let _ = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await;
        let _ = stream.write_all(&chunk).await;
        let _ = stream.write_all(b"\r\n").await;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"));
}

#[tokio::test]
async fn every_problem_is_reported_and_nothing_is_written() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let before = service_count(&app).await;
    let bad = json!({
        "id": "Ugyldig Id",
        "name": { "en": "no nb" },
        "summary": { "nb": "ok" },
        "topics": ["mobing", "selvmordstanker", "selvmordstanker"],
        "audience": { "min_age": 20, "max_age": 12 },
        "coverage": { "scope": "areas", "municipalities": ["3031"] },
        "channels": [
            { "kind": "phone", "address": "12345" },
            { "kind": "chat", "address": "http://chat.example.no",
              "hours": { "weekly": [ { "days": ["mon"], "opens": "09:00", "closes": "15:00" },
                                     { "days": ["mon"], "opens": "14:00", "closes": "16:00" } ],
                         "exceptions": [ { "from": "2026-02-30", "closed": true } ] } },
            { "kind": "email", "address": "not-an-address" },
            { "kind": "web", "address": "https://x.no", "health_check": { "url": "ftp://x.no", "timeout_ms": 60000 } }
        ],
        "urgency": "urgent",
        "colour": "red"
    });
    let p = problem(
        app.post_service(&token, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found = pointers(&p);
    for expected in [
        "/colour",
        "/id",
        "/name/nb",
        "/topics/0",
        "/topics/2",
        "/audience/max_age",
        "/coverage/municipalities/0",
        "/channels/0/address",
        "/channels/1/address",
        "/channels/1/hours/weekly/1",
        "/channels/1/hours/exceptions/0/from",
        "/channels/2/address",
        "/channels/3/health_check/url",
        "/channels/3/health_check/timeout_ms",
        "/urgency",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected:?} missing from {found:#?}"
        );
    }
    assert_eq!(service_count(&app).await, before);
    problem(
        app.get("/v1/services/ugyldig-id").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn odd_documents_get_answers_not_panics() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for body in [
        "[]",
        "null",
        "42",
        "\"text\"",
        "{}",
        deep.as_str(),
        "{\"id\": \"\\ud800\"}",
    ] {
        let response = app
            .request(Method::POST, "/v1/services", Some(&token))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            matches!(
                response.status(),
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{body}: {}",
            response.status()
        );
    }
    // Path segments that are no slug simply do not exist.
    for path in [
        "/v1/services/%00",
        "/v1/services/..%2F..",
        "/v1/services/%F0%9F%98%80",
    ] {
        problem(app.get(path).await, StatusCode::NOT_FOUND).await;
    }
    let response = app
        .request(Method::GET, "/v1/audit", None)
        .header("authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    let _ = ADMIN;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.limits.header_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    // The server closes the connection; without the timeout this read would never end.
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server kept a connection with unfinished headers open"
    );
    let value: Value = app.get_json("/healthz").await;
    assert_eq!(value["status"], "ok");
}

#[tokio::test]
async fn a_missing_field_points_at_itself() {
    let app = spawn_app().await;
    let mut entry = sample_entry("missing-fields");
    let object = entry.as_object_mut().unwrap();
    object.remove("name");
    entry["channels"][0].as_object_mut().unwrap().remove("kind");
    let response = app
        .request(Method::POST, "/v1/validate", None)
        .json(&entry)
        .send()
        .await
        .unwrap();
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let found = pointers(&p);
    assert!(found.contains(&"/name".to_string()), "{p}");
    assert!(found.contains(&"/channels/0/kind".to_string()), "{p}");
    assert!(!found.contains(&String::new()), "{p}");
}

#[tokio::test]
async fn control_characters_in_text_are_refused_with_their_pointer() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let mut entry = sample_entry("kontrolltegn");
    entry["name"]["nb"] = json!("Hjelp\u{0}linja");
    entry["keywords"] = json!(["ok", "bjelle\u{7}"]);
    let before = service_count(&app).await;
    let p = problem(
        app.post_service(&token, &entry).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found = pointers(&p);
    assert!(found.contains(&"/name/nb".to_string()), "{p}");
    assert!(found.contains(&"/keywords/1".to_string()), "{p}");
    assert_eq!(service_count(&app).await, before);
    // Line breaks in a description stay allowed.
    entry["name"]["nb"] = json!("Hjelpelinja");
    entry["keywords"] = json!(["ok"]);
    entry["description"] = json!({ "nb": "Første linje.\nAndre linje." });
    let response = app.post_service(&token, &entry).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn head_answers_as_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/services", "/v1/route?q=mobbing"] {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let mut server = crate::helpers::ServerProcess::start(&data, "info");
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    server.terminate();
    assert_eq!(
        mode & 0o777,
        0o700,
        "data directory mode {:o}",
        mode & 0o777
    );
}

#[tokio::test]
async fn a_long_value_is_not_repeated_in_its_problem() {
    let app = spawn_app().await;
    let mut entry = sample_entry("mange-ord");
    // About 200 KB of keywords, far more than the 50 allowed.
    entry["keywords"] = json!(vec!["nokkelord-som-er-langt"; 8000]);
    let sent = serde_json::to_vec(&entry).unwrap().len();
    let response = app
        .send_json(Method::POST, "/v1/validate", None, &entry)
        .await;
    let body = response.bytes().await.unwrap();
    let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(pointers(&p).contains(&"/keywords".to_string()), "{p}");
    assert!(
        body.len() < 4096,
        "{sent} bytes sent gave a {} byte answer",
        body.len()
    );
}
