//! `/v1/route` over HTTP: validation, GET and POST alike, opening hours and health in the
//! answer, fallback, following catalogue changes, metrics, and privacy of the question.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ServerProcess, TestApp, pointers, problem, spawn_app, walk};
use crate::targets::{Behaviour, Target};

/// Tuesday 24 November 2026, 14:00 in Oslo.
const TUESDAY_AFTERNOON: &str = "2026-11-24T13:00:00Z";

async fn route(app: &TestApp, body: &Value) -> Value {
    let response = app.send_json(Method::POST, "/v1/route", None, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

fn ids(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_id"].as_str().unwrap().to_string())
        .collect()
}

/// The result for `service` in `answer`, if it is there.
fn find_result<'a>(answer: &'a Value, service: &str) -> Option<&'a Value> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_id"] == service)
}

/// A result of `answer` and its first channel of `kind`.
fn result_and_channel<'a>(answer: &'a Value, service: &str, kind: &str) -> (&'a Value, &'a Value) {
    let result =
        find_result(answer, service).unwrap_or_else(|| panic!("{service} missing from {answer:#}"));
    let channel = result["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap();
    (result, channel)
}

#[tokio::test]
async fn bad_requests_get_every_problem_with_its_pointer() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::POST,
            "/v1/route",
            None,
            &json!({
                "q": "x".repeat(501), "topics": ["mobing"], "age": 31, "municipality": "9999",
                "county": "99", "channels": ["pigeon"], "lang": "Norsk", "at": "yesterday",
                "limit": 0, "colour": "red"
            }),
        )
        .await;
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let found = pointers(&p);
    for expected in [
        "/q",
        "/topics/0",
        "/age",
        "/municipality",
        "/county",
        "/channels/0",
        "/lang",
        "/at",
        "/limit",
        "/colour",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} missing from {found:?}"
        );
    }
    assert!(p.to_string().contains("did you mean 'mobbing'"), "{p}");

    // Neither a question nor topics.
    let response = app
        .send_json(Method::POST, "/v1/route", None, &json!({ "age": 15 }))
        .await;
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/q"]);

    // The GET form is validated the same way.
    let p = problem(
        app.get("/v1/route?q=hei&age=old&channels=chat,pigeon&municipality=12")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found = pointers(&p);
    for expected in ["/age", "/channels/1", "/municipality"] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} missing from {found:?}"
        );
    }
    // Malformed JSON is a 400, not a 500.
    let response = app
        .request(Method::POST, "/v1/route", None)
        .header("content-type", "application/json")
        .body("{\"q\": ")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn get_and_post_give_the_same_answer_every_time() {
    let app = spawn_app().await;
    let body = json!({ "q": "jeg blir mobbet", "age": 14, "municipality": "4601",
                       "channels": ["phone", "chat"], "at": TUESDAY_AFTERNOON });
    let posted = route(&app, &body).await;
    let again = route(&app, &body).await;
    assert_eq!(posted, again, "deterministic");
    let got = app
        .get_json(&format!(
            "/v1/route?q=jeg%20blir%20mobbet&age=14&municipality=4601&channels=phone&channels=chat&at={TUESDAY_AFTERNOON}"
        ))
        .await;
    assert_eq!(posted, got);
    assert_eq!(posted["topics"][0]["id"], "mobbing");
    for result in posted["results"].as_array().unwrap() {
        for channel in result["channels"].as_array().unwrap() {
            assert!(
                ["phone", "chat"].contains(&channel["kind"].as_str().unwrap()),
                "{result}"
            );
        }
        assert!(
            result["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.as_str().unwrap().starts_with("topic"))
        );
    }
}

#[tokio::test]
async fn opening_hours_answer_when_a_channel_closes_or_opens() {
    let app = spawn_app().await;
    // Kors på halsen's phone opens at 14:00 on weekdays (13:00 UTC in November).
    let before = route(
        &app,
        &json!({ "topics": ["mobbing"], "at": "2026-11-24T10:00:00Z", "limit": 20 }),
    )
    .await;
    let (_, phone) = result_and_channel(&before, "kors-pa-halsen", "phone");
    assert_eq!(phone["open_now"], false);
    assert_eq!(phone["next_open"], "2026-11-24T13:00:00Z");
    let evening = route(
        &app,
        &json!({ "topics": ["mobbing"], "at": "2026-11-24T17:00:00Z", "limit": 20 }),
    )
    .await;
    let (kph, phone) = result_and_channel(&evening, "kors-pa-halsen", "phone");
    assert_eq!(phone["open_now"], true);
    assert!(phone["closes_at"].is_string());
    assert!(
        kph["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("open_now:phone"))
    );
}

#[tokio::test]
async fn a_failing_check_closes_its_channel_but_never_drops_a_crisis_line() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let down = Target::spawn(Behaviour::Status).await;
    down.set_status(500);
    // A crisis line whose chat is checked (and failing) and whose phone has no check.
    let entry = json!({
        "id": "krisechat-test",
        "name": { "nb": "Krisechat for test", "en": "Test crisis chat" },
        "summary": { "nb": "Snakk med noen om selvmordstanker." },
        "topics": ["selvmordstanker"],
        "coverage": { "scope": "national" },
        "channels": [
            { "kind": "chat", "address": "https://chat.example.no", "hours": { "always_open": true },
              "health_check": { "url": down.url("/"), "timeout_ms": 1000 } },
            { "kind": "phone", "address": "22 40 00 40", "hours": { "always_open": true } }
        ],
        "urgency": "crisis"
    });
    assert_eq!(
        app.post_service(&token, &entry).await.status(),
        StatusCode::CREATED
    );
    for _ in 0..3 {
        app.request(
            Method::POST,
            "/v1/services/krisechat-test/health/check",
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    }
    let ask = json!({ "q": "jeg vil ta livet mitt", "limit": 20, "lang": "en" });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let result = loop {
        let answer = route(&app, &ask).await;
        assert_eq!(answer["crisis"], true);
        let found = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_id"] == "krisechat-test")
            .cloned();
        if let Some(result) = found.filter(|r| r["channels"][0]["health"] == "critical") {
            break result;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answer:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(result["name"], "Test crisis chat", "the requested language");
    assert_eq!(result["channels"][0]["open_now"], false);
    assert_eq!(
        result["channels"][1]["open_now"], true,
        "the phone is still offered"
    );
    let reasons = result["reasons"].as_array().unwrap();
    assert!(
        reasons.contains(&json!("health_critical:chat")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&json!("crisis")),
        "still reachable by phone: {reasons:?}"
    );

    // Only the chat is asked for: with it failing, the service has nothing reachable and
    // ranks after those that do.
    let chat_only = route(
        &app,
        &json!({ "q": "jeg vil ta livet mitt", "channels": ["chat"], "limit": 20 }),
    )
    .await;
    let ranked = ids(&chat_only);
    let position = ranked.iter().position(|id| id == "krisechat-test").unwrap();
    let closed = |i: usize| {
        chat_only["results"][i]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("closed_now"))
    };
    assert!(closed(position));
    let first_closed = (0..ranked.len()).find(|i| closed(*i)).unwrap();
    assert!(first_closed > 0, "some chat is reachable: {ranked:?}");
    assert!(
        (first_closed..ranked.len()).all(closed),
        "reachable services rank first: {chat_only:#}"
    );
}

#[tokio::test]
async fn nothing_matching_falls_back_to_the_question_service() {
    let app = spawn_app().await;
    let answer = route(&app, &json!({ "q": "blåbærsyltetøy og romskip" })).await;
    assert_eq!(answer["results"], json!([]));
    assert_eq!(answer["crisis"], false);
    assert_eq!(answer["fallback"]["service_id"], "ung-no-spor-oss");
    assert_eq!(answer["fallback"]["reasons"], json!(["fallback"]));
    // Filters that leave nothing also fall back.
    let answer = route(
        &app,
        &json!({ "topics": ["mobbing"], "age": 30, "channels": ["video"] }),
    )
    .await;
    assert_eq!(answer["fallback"]["service_id"], "ung-no-spor-oss");
}

#[tokio::test]
async fn the_index_follows_the_catalogue() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let entry = json!({
        "id": "sjakkhjelpen",
        "name": { "nb": "Sjakkhjelpen" },
        "summary": { "nb": "Hjelp med sjakkåpninger." },
        "keywords": ["sjakkåpning"],
        "topics": ["fritid-og-aktiviteter"],
        "coverage": { "scope": "areas", "counties": ["46"] },
        "channels": [{ "kind": "web", "address": "https://sjakk.example.no" }],
        "urgency": "ordinary"
    });
    assert_eq!(
        app.post_service(&token, &entry).await.status(),
        StatusCode::CREATED
    );
    let ask = json!({ "q": "sjakkåpning", "county": "46" });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = route(&app, &ask).await;
        if ids(&answer).first().map(String::as_str) == Some("sjakkhjelpen") {
            assert!(
                answer["results"][0]["reasons"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("local:46"))
            );
            // No provider named in the entry: its agency's registered name.
            assert_eq!(answer["results"][0]["agency"], "kommune-a");
            assert_eq!(answer["results"][0]["provider"], "Agency kommune-a");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answer:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Outside its county it is not offered.
    let elsewhere = route(&app, &json!({ "q": "sjakkåpning", "municipality": "0301" })).await;
    assert!(!ids(&elsewhere).contains(&"sjakkhjelpen".to_string()));
    let response = app
        .request(Method::DELETE, "/v1/services/sjakkhjelpen", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ids(&route(&app, &ask).await).contains(&"sjakkhjelpen".to_string()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a retired entry is still routed to"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn routing_is_counted_only_in_aggregate() {
    let app = spawn_app().await;
    route(&app, &json!({ "q": "jeg vil ta livet mitt" })).await;
    route(&app, &json!({ "q": "blåbærsyltetøy" })).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("veiviser_route_requests_total{crisis=\"true\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("veiviser_route_requests_total{crisis=\"false\"} 1"));
    assert!(metrics.contains("veiviser_route_topics_total{topic=\"selvmordstanker\"} 1"));
    assert!(metrics.contains("veiviser_route_outcomes_total{outcome=\"no_match\"} 1"));
    assert!(!metrics.contains("ta livet") && !metrics.contains("syltet"));
}

/// The question never reaches the disk or any log, at any level: a real server process
/// logging everything (`RUST_LOG=trace`) is asked with a unique marker in every way a
/// question can arrive, including invalid ones.
#[tokio::test]
async fn the_question_is_never_written_to_disk_or_logs() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), "trace");
    let addr = server.addr.clone();
    let base = format!("http://{addr}");
    let marker = "zqxmarker7731";
    veiviser::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let question = format!("jeg vil ta livet mitt {marker}");
    let posts = [
        json!({ "q": question }),
        json!({ "q": question, "age": "not a number" }),
        json!({ "q": question, "municipality": "9999", "topics": ["nope"] }),
        json!({ "q": format!("{marker}{}", "x".repeat(600)) }),
    ];
    for body in &posts {
        client
            .post(format!("{base}/v1/route"))
            .json(body)
            .send()
            .await
            .unwrap();
    }
    client
        .post(format!("{base}/v1/route"))
        .header("content-type", "application/json")
        .body(format!("{{\"q\": \"{marker}\" oops"))
        .send()
        .await
        .unwrap();
    for query in [
        format!("q={marker}"),
        format!("q={marker}&age=99"),
        format!("q=hei&{marker}=1"),
    ] {
        client
            .get(format!("{base}/v1/route?{query}"))
            .send()
            .await
            .unwrap();
    }
    // Let the server write whatever it would write, then stop it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("request"), "the access log was captured");
    assert!(!log.contains(marker), "the question reached the log");
    for file in walk(data.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "the question reached {}",
            file.display()
        );
    }
}

#[tokio::test]
async fn answers_match_the_published_response_schema() {
    // Found while writing the OpenAPI document: the published schema had lost the `null`
    // that `fallback`, `open_now` and others really are when absent.
    let schema = veiviser::contract::by_name("route-response").unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let app = crate::helpers::spawn_app().await;
    for body in [
        serde_json::json!({ "q": "jeg blir mobbet på skolen", "age": 14, "municipality": "4601" }),
        serde_json::json!({ "q": "qwxzv plonk", "age": 14 }),
        serde_json::json!({ "topics": ["selvmordstanker"], "channels": ["sms"] }),
    ] {
        let answer: serde_json::Value = app
            .send_json(reqwest::Method::POST, "/v1/route", None, &body)
            .await
            .json()
            .await
            .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&answer)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{body}: {errors:?}");
    }
}

/// Whether `reasons` of the result for `service` include `reason`.
fn has_reason(answer: &Value, service: &str, reason: &str) -> bool {
    find_result(answer, service)
        .is_some_and(|r| r["reasons"].as_array().unwrap().iter().any(|x| x == reason))
}

#[tokio::test]
async fn without_a_place_a_local_service_comes_after_the_national_ones() {
    let app = spawn_app().await;
    let question = json!({ "q": "jeg er gravid", "age": 16, "at": TUESDAY_AFTERNOON, "limit": 20 });
    let answer = route(&app, &question).await;
    let order = ids(&answer);
    let local = order
        .iter()
        .position(|id| id == "hfu-nittedal")
        .unwrap_or_else(|| panic!("the Nittedal clinic is still offered: {order:?}"));
    let national: Vec<usize> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "national")
        })
        .map(|(i, _)| i)
        .collect();
    assert!(!national.is_empty(), "{order:?}");
    assert!(
        national.iter().all(|&i| i < local),
        "a clinic for Nittedal only ranks above a national service for someone who could live anywhere: {order:?}"
    );
    assert!(
        has_reason(&answer, "hfu-nittedal", "place_unknown"),
        "{answer:#}"
    );

    // In Nittedal (3232) the same clinic is the first answer, and says why.
    let mut in_nittedal = question.clone();
    in_nittedal["municipality"] = json!("3232");
    let answer = route(&app, &in_nittedal).await;
    assert_eq!(ids(&answer)[0], "hfu-nittedal", "{:?}", ids(&answer));
    assert!(has_reason(&answer, "hfu-nittedal", "local:3232"));
    assert!(!has_reason(&answer, "hfu-nittedal", "place_unknown"));
}

#[tokio::test]
async fn a_crisis_question_puts_the_services_for_its_crisis_first() {
    let app = spawn_app().await;
    // Two topics: a boyfriend (love, not a crisis) and shared nudes (a crisis). The crisis
    // decides who comes first, not the louder word.
    let answer = route(
        &app,
        &json!({ "q": "kjæresten min deler nakenbilder av meg", "age": 15, "at": TUESDAY_AFTERNOON }),
    )
    .await;
    assert_eq!(answer["crisis"], true);
    let first = &answer["results"][0];
    let reasons: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        matches!(first["urgency"].as_str(), Some("emergency" | "crisis")),
        "{first:#}"
    );
    assert!(reasons.contains(&"crisis"), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with(":deling-av-bilder-og-nakenbilder")),
        "the first service is not there for the shared images: {:?} {reasons:?}",
        first["service_id"]
    );
}

#[tokio::test]
async fn each_result_names_who_provides_the_service() {
    let app = spawn_app().await;
    let answer = route(
        &app,
        &json!({ "q": "jeg vil ikke leve lenger", "age": 16, "at": TUESDAY_AFTERNOON, "limit": 20 }),
    )
    .await;
    let provider = |service: &str| {
        find_result(&answer, service).unwrap_or_else(|| panic!("{service} missing from {answer:#}"))
            ["provider"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Bufdir keeps the entry for 113; the AMK centres answer it.
    assert_eq!(
        provider("nodnummer-113"),
        "AMK – akuttmedisinsk kommunikasjonssentral"
    );
    // Kirkens SOS keeps its own entry: its registered name.
    assert_eq!(provider("kirkens-sos"), "Kirkens SOS i Norge");
}

#[tokio::test]
async fn a_shorter_answer_is_the_head_of_a_longer_one() {
    let app = spawn_app().await;
    for q in [
        "jeg blir mobbet på skolen",
        "jeg vil ikke leve lenger",
        "jeg er gravid",
        "får ikke jobb og trenger penger",
        "someone shares nudes of me",
    ] {
        let ask = |limit: u8| json!({ "q": q, "at": TUESDAY_AFTERNOON, "limit": limit });
        let long = ids(&route(&app, &ask(20)).await);
        for limit in [1u8, 3, 5] {
            let short = ids(&route(&app, &ask(limit)).await);
            let head = &long[..long.len().min(usize::from(limit))];
            assert_eq!(short, head, "{q:?} with limit {limit}");
        }
    }
}

/// A danger only asked about (a school task) raises no crisis, and the emergency numbers
/// step back for the services that answer questions.
#[tokio::test]
async fn a_question_about_a_danger_goes_to_who_answers_questions() {
    let app = spawn_app().await;
    let answer = route(
        &app,
        &json!({
            "q": "hvor mange dør av overdose i norge hvert år? trenger det til samfunnsfag oppgaven",
            "age": 15,
            "at": TUESDAY_AFTERNOON
        }),
    )
    .await;
    assert_eq!(answer["crisis"], false, "{answer}");
    assert_ne!(
        ids(&answer).first().map(String::as_str),
        Some("nodnummer-113")
    );
    let emergency = find_result(&answer, "nodnummer-113").expect("113 is still listed");
    assert!(
        emergency["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("question_not_emergency")),
        "{emergency}"
    );
}

#[tokio::test]
async fn a_language_is_preferred_never_required() {
    let app = spawn_app().await;
    // Kors på halsen and the ombud answer in Norwegian; an English question still gets them,
    // named in English.
    let answer = route(
        &app,
        &json!({ "q": "i am being bullied at school", "lang": "en", "age": 14, "at": TUESDAY_AFTERNOON }),
    )
    .await;
    let found = ids(&answer);
    assert!(found.contains(&"mobbeombud".to_string()), "{found:?}");
    let ombud = find_result(&answer, "mobbeombud").unwrap();
    assert!(
        ombud["name"].as_str().unwrap().contains("anti-bullying"),
        "{ombud}"
    );
}

#[tokio::test]
async fn invisible_characters_inside_words_do_not_hide_danger() {
    let app = spawn_app().await;
    // A zero-width space in "livet" and a soft hyphen in "tabletter", as pasted text carries.
    for q in [
        "jeg vil ta li\u{200b}vet mitt i kveld",
        "jeg har tatt alle tab\u{ad}lettene til mamma",
    ] {
        let answer = route(&app, &json!({ "q": q, "age": 16, "at": TUESDAY_AFTERNOON })).await;
        assert_eq!(answer["crisis"], true, "{q:?}: {answer}");
        assert_eq!(ids(&answer)[0], "nodnummer-113", "{q:?}: {answer}");
    }
}
