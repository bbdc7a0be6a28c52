//! The shipped example clients run against a real server.

#[path = "../../examples/register_service.rs"]
mod register_service;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_agency_example_registers_and_updates_an_entry() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-bergen").await;
    let entry = register_service::register_and_update(&app.url(""), &token, "hfu-eksempel")
        .await
        .unwrap();
    assert_eq!(entry["version"], 2);
    assert_eq!(entry["agency"], "kommune-bergen");
    assert_eq!(app.get_json("/v1/services/hfu-eksempel").await, entry);
}

#[path = "../../examples/front_door.rs"]
mod front_door;

#[tokio::test]
async fn the_front_door_example_asks_the_router() {
    let app = spawn_app().await;
    let answer = front_door::ask(
        &app.url(""),
        "jeg vil ta livet mitt",
        Some(16),
        Some("0301"),
    )
    .await
    .unwrap();
    assert_eq!(answer["crisis"], true);
    let text = front_door::render(&answer);
    assert!(text.starts_with("Trenger du hjelp nå?"), "{text}");
    assert!(text.contains("113"), "{text}");
    let error = front_door::ask(&app.url(""), "hei", Some(99), None)
        .await
        .unwrap_err();
    assert!(error.contains("422"), "{error}");
}
