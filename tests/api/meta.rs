use reqwest::{Method, StatusCode};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["services"], crate::helpers::catalogue_services());
}

#[tokio::test]
async fn topics_are_published() {
    let app = spawn_app().await;
    let topics = app.get_json("/v1/topics").await;
    let categories = topics["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 12);
    assert!(categories.iter().any(|c| c["id"] == "akutt-hjelp"));
}

#[tokio::test]
async fn schemas_are_served_as_generated() {
    let app = spawn_app().await;
    for name in ["service-entry", "agency", "service-entry.schema.json"] {
        let schema = app.get_json(&format!("/v1/schemas/{name}")).await;
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
    let served = app.get_json("/v1/schemas/service-entry").await;
    assert_eq!(
        served,
        veiviser::contract::by_name("service-entry").unwrap()
    );
    let missing = problem(app.get("/v1/schemas/nope").await, StatusCode::NOT_FOUND).await;
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("service-entry")
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let app = spawn_app().await;
    problem(app.get("/v2/nothing").await, StatusCode::NOT_FOUND).await;
    let response = app
        .request(Method::PATCH, "/v1/services", None)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    let response = app
        .request(Method::DELETE, "/v1/topics", None)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}
