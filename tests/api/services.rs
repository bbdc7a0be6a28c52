use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, pointers, problem, sample_entry, spawn_app};

#[tokio::test]
async fn an_agency_registers_an_entry_it_then_owns() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let response = app
        .post_service(&token, &sample_entry("prove-tjeneste"))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        "/v1/services/prove-tjeneste"
    );
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["agency"], "kommune-a");
    assert_eq!(created["version"], 1);
    // Phone numbers are stored as digits; an agency's own write confirms the entry.
    assert_eq!(created["channels"][0]["address"], "22400040");
    assert!(created["last_verified_at"].is_string());
    assert_eq!(created["created_at"], created["updated_at"]);

    let response = app.get("/v1/services/prove-tjeneste").await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(response.json::<Value>().await.unwrap(), created);

    let again = app
        .post_service(&token, &sample_entry("prove-tjeneste"))
        .await;
    problem(again, StatusCode::CONFLICT).await;
    // The id of a seeded entry is taken too.
    let taken = app.post_service(&token, &sample_entry("kirkens-sos")).await;
    problem(taken, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn conditional_get_answers_304() {
    let app = spawn_app().await;
    let response = app.get("/v1/services/kirkens-sos").await;
    let tag = response.headers()["etag"].to_str().unwrap().to_string();
    let cached = app
        .request(Method::GET, "/v1/services/kirkens-sos", None)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()["etag"], tag.as_str());
    let stale = app
        .request(Method::GET, "/v1/services/kirkens-sos", None)
        .header("if-none-match", "\"999\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    problem(
        app.get("/v1/services/no-such-thing").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn an_agency_cannot_create_entries_for_another() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    app.create_agency("kommune-b").await;
    let mut entry = sample_entry("naboens-tjeneste");
    entry["agency"] = json!("kommune-b");
    problem(
        app.post_service(&token, &entry).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.get("/v1/services/naboens-tjeneste").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let anonymous = app
        .send_json(
            Method::POST,
            "/v1/services",
            None,
            &sample_entry("x-service"),
        )
        .await;
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    app.post_service(&token, &sample_entry("oppdatert")).await;
    let mut changed = sample_entry("oppdatert");
    changed["summary"] = json!({ "nb": "Ny tekst." });

    problem(
        app.put_service(&token, "oppdatert", None, &changed).await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    problem(
        app.put_service(&token, "oppdatert", Some("\"7\""), &changed)
            .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    problem(
        app.put_service(&token, "oppdatert", Some("garbage"), &changed)
            .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;

    let response = app
        .put_service(&token, "oppdatert", Some("\"1\""), &changed)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["summary"]["nb"], "Ny tekst.");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["agency"], "kommune-a");

    // The old ETag is stale now.
    problem(
        app.put_service(&token, "oppdatert", Some("\"1\""), &changed)
            .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    // The body's id must be the URL's.
    let mut renamed = changed.clone();
    renamed["id"] = json!("annet-navn");
    let p = problem(
        app.put_service(&token, "oppdatert", Some("\"2\""), &renamed)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/id"]);
    // `*` matches whatever the current version is.
    let response = app
        .put_service(&token, "oppdatert", Some("*"), &changed)
        .await;
    assert_eq!(response.headers()["etag"], "\"3\"");
    problem(
        app.put_service(&token, "finnes-ikke", Some("*"), &changed)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn an_agency_can_never_change_another_agencys_entry() {
    let app = spawn_app().await;
    let owner = app.create_agency("eier").await;
    let intruder = app.create_agency("inntrenger").await;
    app.post_service(&owner, &sample_entry("eiers-tjeneste"))
        .await;
    let before = app.get_json("/v1/services/eiers-tjeneste").await;

    let mut hijack = sample_entry("eiers-tjeneste");
    hijack["summary"] = json!({ "nb": "Kapret." });
    problem(
        app.put_service(&intruder, "eiers-tjeneste", Some("\"1\""), &hijack)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    hijack["agency"] = json!("inntrenger");
    problem(
        app.put_service(&intruder, "eiers-tjeneste", Some("*"), &hijack)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let delete = app
        .request(
            Method::DELETE,
            "/v1/services/eiers-tjeneste",
            Some(&intruder),
        )
        .send()
        .await
        .unwrap();
    problem(delete, StatusCode::FORBIDDEN).await;
    // Nor a seeded entry of another agency.
    problem(
        app.put_service(&intruder, "kirkens-sos", Some("*"), &hijack)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Nor can the owner hand its entry to someone else.
    let mut give_away = sample_entry("eiers-tjeneste");
    give_away["agency"] = json!("inntrenger");
    problem(
        app.put_service(&owner, "eiers-tjeneste", Some("\"1\""), &give_away)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    assert_eq!(app.get_json("/v1/services/eiers-tjeneste").await, before);
}

#[tokio::test]
async fn retiring_keeps_the_history_and_answers_410() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    app.post_service(&token, &sample_entry("kortvarig")).await;
    let stale = app
        .request(Method::DELETE, "/v1/services/kortvarig", Some(&token))
        .header("if-match", "\"5\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let response = app
        .request(Method::DELETE, "/v1/services/kortvarig", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["etag"], "\"2\"");

    problem(app.get("/v1/services/kortvarig").await, StatusCode::GONE).await;
    let again = app
        .request(Method::DELETE, "/v1/services/kortvarig", Some(&token))
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::GONE).await;
    problem(
        app.put_service(&token, "kortvarig", Some("*"), &sample_entry("kortvarig"))
            .await,
        StatusCode::GONE,
    )
    .await;
    // The id stays taken.
    problem(
        app.post_service(&token, &sample_entry("kortvarig")).await,
        StatusCode::CONFLICT,
    )
    .await;

    let listed = app.get_json("/v1/services?agency=kommune-a").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let retired = app
        .get_json("/v1/services?agency=kommune-a&status=retired")
        .await;
    assert_eq!(retired["items"][0]["id"], "kortvarig");

    let audit = app
        .request(Method::GET, "/v1/audit?limit=1000", Some(ADMIN))
        .send()
        .await
        .unwrap();
    let audit: Value = audit.json().await.unwrap();
    let mine: Vec<(String, u64)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == "kortvarig")
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            ("service.created".to_string(), 1),
            ("service.retired".to_string(), 2)
        ]
    );
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["target"] == "kortvarig" && r["actor"] == "agency:kommune-a")
    );
}

#[tokio::test]
async fn the_audit_log_is_for_the_operator() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    problem(app.get("/v1/audit").await, StatusCode::UNAUTHORIZED).await;
    let as_agency = app
        .request(Method::GET, "/v1/audit", Some(&token))
        .send()
        .await
        .unwrap();
    problem(as_agency, StatusCode::FORBIDDEN).await;
    let page = app
        .request(Method::GET, "/v1/audit?after=0&limit=5", Some(ADMIN))
        .send()
        .await
        .unwrap();
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["items"][0]["seq"], 1);
    assert_eq!(page["next_after"], 5);
    let bad = app
        .request(Method::GET, "/v1/audit?limit=0&x=1", Some(ADMIN))
        .send()
        .await
        .unwrap();
    let p = problem(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&p), ["/limit", "/x"]);
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/services?limit=10&cursor={c}"),
            None => "/v1/services?limit=10".to_string(),
        };
        let page = app.get_json(&path).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_string()),
                "no item twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let total = crate::helpers::catalogue_services();
    assert_eq!((seen.len(), pages), (total, total.div_ceil(10)));

    let ids = |v: Value| -> BTreeSet<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    // A category matches its subtopics.
    let violence = ids(app
        .get_json("/v1/services?topic=vold-og-overgrep&limit=200")
        .await);
    assert!(violence.contains("alarmtelefonen-116111") && violence.contains("krisesentre"));
    assert!(!violence.contains("vilbli"));
    // Bergen: national services plus Bergen's own, not Oslo's.
    let bergen = ids(app
        .get_json("/v1/services?municipality=4601&limit=200")
        .await);
    assert!(bergen.contains("jussformidlingen") && bergen.contains("kirkens-sos"));
    assert!(!bergen.contains("jussbuss") && !bergen.contains("hfu-nittedal"));
    let akershus = ids(app.get_json("/v1/services?county=32&limit=200").await);
    assert!(akershus.contains("hfu-nittedal") && !akershus.contains("jussbuss"));
    let kirkens = ids(app.get_json("/v1/services?agency=kirkens-sos").await);
    assert_eq!(kirkens, BTreeSet::from(["kirkens-sos".to_string()]));
    let text_phones = ids(app.get_json("/v1/services?channel=text_phone").await);
    assert_eq!(
        text_phones,
        BTreeSet::from(["nodnummer-112-politi".to_string()])
    );
    let combined = ids(app
        .get_json("/v1/services?topic=selvmordstanker&channel=chat")
        .await);
    assert!(combined.contains("kirkens-sos") && !combined.contains("nodnummer-113"));

    let bad = app.get("/v1/services?topic=nope&municipality=3031&county=99&channel=pigeon&status=sleeping&limit=500&colour=red").await;
    let p = problem(bad, StatusCode::BAD_REQUEST).await;
    let found = pointers(&p);
    for expected in [
        "/topic",
        "/municipality",
        "/county",
        "/channel",
        "/status",
        "/limit",
        "/colour",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
}

#[tokio::test]
async fn validate_is_a_dry_run() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let response = app
        .send_json(
            Method::POST,
            "/v1/validate",
            None,
            &sample_entry("bare-proving"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["valid"], true);
    assert_eq!(body["entry"]["channels"][0]["address"], "22400040");
    problem(
        app.get("/v1/services/bare-proving").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The same answers a create would give.
    let taken = app
        .send_json(
            Method::POST,
            "/v1/validate",
            Some(&token),
            &sample_entry("kirkens-sos"),
        )
        .await;
    problem(taken, StatusCode::CONFLICT).await;
    let mut foreign = sample_entry("bare-proving");
    foreign["agency"] = json!("bufdir");
    let forbidden = app
        .send_json(Method::POST, "/v1/validate", Some(&token), &foreign)
        .await;
    problem(forbidden, StatusCode::FORBIDDEN).await;
    let mut invalid = sample_entry("bare-proving");
    invalid["topics"] = json!(["mobing"]);
    let p = problem(
        app.send_json(Method::POST, "/v1/validate", None, &invalid)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean 'mobbing'")
    );
}

#[tokio::test]
async fn the_operator_can_act_for_an_agency() {
    let app = spawn_app().await;
    app.create_agency("kommune-a").await;
    let unnamed = app.post_service(ADMIN, &sample_entry("operatorens")).await;
    let p = problem(unnamed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/agency"]);
    let mut entry = sample_entry("operatorens");
    entry["agency"] = json!("kommune-a");
    let response = app.post_service(ADMIN, &entry).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["agency"], "kommune-a");
    // An operator's edit is not the owner's confirmation.
    assert!(created.get("last_verified_at").is_none());
    let response = app
        .put_service(
            ADMIN,
            "kirkens-sos",
            Some("*"),
            &app.get_json("/v1/services/kirkens-sos").await,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_updates_with_the_same_etag_let_exactly_one_win() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    app.post_service(&token, &sample_entry("omstridt")).await;
    for round in 0..5u64 {
        let tag = format!("\"{}\"", round + 1);
        let mut a = sample_entry("omstridt");
        a["summary"] = json!({ "nb": format!("A{round}") });
        let mut b = sample_entry("omstridt");
        b["summary"] = json!({ "nb": format!("B{round}") });
        let (ra, rb) = tokio::join!(
            app.put_service(&token, "omstridt", Some(&tag), &a),
            app.put_service(&token, "omstridt", Some(&tag), &b)
        );
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
            "round {round}"
        );
        let stored = app.get_json("/v1/services/omstridt").await;
        assert_eq!(stored["version"], round + 2);
        let winner = if ra.status() == StatusCode::OK {
            "A"
        } else {
            "B"
        };
        assert_eq!(stored["summary"]["nb"], format!("{winner}{round}"));
    }
}
