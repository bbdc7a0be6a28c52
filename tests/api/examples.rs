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
