//! Health checks against real HTTP targets on loopback: states and thresholds, failure
//! kinds, scheduling without head-of-line blocking, the SSRF policy, persistence across a
//! restart, alerts, staleness and metrics.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, TestApp, problem, spawn_app, spawn_app_in, spawn_app_with};
use crate::targets::{Behaviour, Target, closed_port};

/// An entry whose channels are web links checked at `urls`, each with `timeout_ms`.
fn checked_entry(id: &str, urls: &[String], timeout_ms: u32) -> Value {
    let channels: Vec<Value> = urls
        .iter()
        .map(|url| {
            json!({
                "kind": "web", "address": "https://example.no",
                "health_check": { "url": url, "timeout_ms": timeout_ms, "interval_s": 10 }
            })
        })
        .collect();
    json!({
        "id": id,
        "name": { "nb": "Sjekket tjeneste" },
        "summary": { "nb": "En tjeneste med helsesjekk." },
        "topics": ["mobbing"],
        "coverage": { "scope": "national" },
        "channels": channels,
        "urgency": "ordinary"
    })
}

async fn register(app: &TestApp, token: &str, entry: &Value) {
    let response = app.post_service(token, entry).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
}

async fn check_now(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let response = app
        .request(
            Method::POST,
            &format!("/v1/services/{id}/health/check"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["checks"].as_array().unwrap().clone()
}

async fn state_after_check(app: &TestApp, token: &str, id: &str) -> String {
    check_now(app, token, id).await[0]["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls `GET path` until `done` accepts the body, for at most `seconds`.
async fn eventually(
    app: &TestApp,
    path: &str,
    seconds: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let body = app.get_json(path).await;
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn states_move_only_after_their_thresholds() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let target = Target::spawn(Behaviour::Status).await;
    register(
        &app,
        &token,
        &checked_entry("flaky", &[target.url("/")], 2000),
    )
    .await;

    assert_eq!(state_after_check(&app, &token, "flaky").await, "passing");
    target.set_status(500);
    assert_eq!(state_after_check(&app, &token, "flaky").await, "passing");
    assert_eq!(state_after_check(&app, &token, "flaky").await, "passing");
    assert_eq!(state_after_check(&app, &token, "flaky").await, "critical");
    target.set_status(200);
    assert_eq!(state_after_check(&app, &token, "flaky").await, "critical");
    assert_eq!(state_after_check(&app, &token, "flaky").await, "passing");

    let health = app.get_json("/v1/services/flaky/health").await;
    let check = &health["checks"][0];
    assert_eq!(check["state"], "passing");
    let history = check["history"].as_array().unwrap();
    assert!(history.len() >= 6, "{health:#}");
    // Newest first.
    assert_eq!(history[0]["result"], "pass");
    assert!(
        history
            .iter()
            .any(|r| r["error"] == "bad_status" && r["status_code"] == 500)
    );
    let uptime = check["uptime_24h"].as_f64().unwrap();
    assert!(uptime > 0.0 && uptime < 1.0, "{uptime}");
}

#[tokio::test]
async fn every_failure_is_classified() {
    let app = spawn_app_with(|c| c.health.slow_after = Duration::from_millis(300)).await;
    let token = app.create_agency("kommune-a").await;
    let ok = Target::spawn(Behaviour::Status).await;
    let broken = Target::spawn(Behaviour::Status).await;
    broken.set_status(500);
    let limited = Target::spawn(Behaviour::Status).await;
    limited.set_status(429);
    let hanging = Target::spawn(Behaviour::Hang).await;
    let slow = Target::spawn(Behaviour::Slow(Duration::from_millis(600))).await;
    let to_metadata =
        Target::spawn(Behaviour::Redirect("http://169.254.169.254/latest/".into())).await;
    let huge = Target::spawn(Behaviour::HugeBody).await;
    let reset = Target::spawn(Behaviour::Reset).await;
    let refused = format!("http://127.0.0.1:{}/", closed_port().await);
    let urls = [
        ok.url("/"),
        broken.url("/"),
        limited.url("/"),
        hanging.url("/"),
        slow.url("/"),
        to_metadata.url("/"),
        huge.url("/"),
        reset.url("/"),
        refused,
    ];
    register(&app, &token, &checked_entry("many", &urls, 1500)).await;
    let started = std::time::Instant::now();
    let checks = check_now(&app, &token, "many").await;
    let result = |i: usize| checks[i]["result"].clone();
    assert_eq!(result(0)["result"], "pass", "{checks:#?}");
    assert_eq!(result(1)["error"], "bad_status");
    assert_eq!(result(2)["warning"], "rate_limited");
    assert_eq!(result(3)["error"], "timeout");
    assert_eq!(result(4)["warning"], "slow");
    assert_eq!(result(5)["result"], "blocked");
    assert!(
        result(5)["detail"]
            .as_str()
            .unwrap()
            .contains("169.254.169.254"),
        "{checks:#?}"
    );
    assert_eq!(
        result(6)["result"],
        "pass",
        "the body is not read: {checks:#?}"
    );
    assert_eq!(result(7)["error"], "connection_reset", "{checks:#?}");
    assert_eq!(result(8)["error"], "connect_refused", "{checks:#?}");
    assert_eq!(checks[5]["state"], "blocked");
    assert_eq!(checks[2]["state"], "warning");
    // The checks ran side by side: the hanging one's timeout bounds the whole call.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let summary = app.get_json("/v1/health").await;
    let first = &summary["checks"][0];
    assert_eq!(first["service_id"], "many");
    assert!(
        ["warning", "blocked"].contains(&first["state"].as_str().unwrap()),
        "{summary:#}"
    );
    // The default catalogue's checks are blocked in tests too (no public networks).
    let blocked = app
        .get_json("/v1/health?state=blocked&agency=kommune-a")
        .await;
    assert_eq!(blocked["checks"].as_array().unwrap().len(), 1);
    assert!(
        blocked["checks"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("link-local")
    );
}

#[tokio::test]
async fn a_hanging_target_does_not_hold_up_the_schedule() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let hanging = Target::spawn(Behaviour::Hang).await;
    let healthy = Target::spawn(Behaviour::Status).await;
    let hangs: Vec<String> = (0..3).map(|i| hanging.url(&format!("/{i}"))).collect();
    register(&app, &token, &checked_entry("hangs", &hangs, 10_000)).await;
    register(
        &app,
        &token,
        &checked_entry("healthy", &[healthy.url("/")], 2000),
    )
    .await;
    // The scheduler picks both up on its own; the healthy one passes while the others hang.
    eventually(&app, "/v1/services/healthy/health", 5, |h| {
        h["checks"][0]["state"] == "passing"
    })
    .await;
    let hangs = app.get_json("/v1/services/hangs/health").await;
    assert_eq!(hangs["checks"][0]["state"], "unknown", "{hangs:#}");
    assert!(hanging.connections() >= 3);
}

#[tokio::test]
async fn the_default_policy_never_connects_to_loopback_in_any_spelling() {
    let app = spawn_app_with(|c| c.health.policy = Default::default()).await;
    let token = app.create_agency("kommune-a").await;
    let listener = Target::spawn(Behaviour::Status).await;
    let port = listener.port;
    let urls: Vec<String> = [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "localhost",
    ]
    .iter()
    .map(|host| format!("http://{host}:{port}/"))
    .collect();
    register(&app, &token, &checked_entry("sneaky", &urls, 1000)).await;
    let checks = check_now(&app, &token, "sneaky").await;
    for (check, url) in checks.iter().zip(&urls) {
        assert_eq!(check["result"]["result"], "blocked", "{url}: {check:#}");
        assert_eq!(check["state"], "blocked", "{url}");
    }
    // The scheduler's own runs are refused the same way.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(listener.connections(), 0);
    let summary = app.get_json("/v1/health?state=blocked").await;
    assert_eq!(summary["checks"].as_array().unwrap().len(), urls.len());
    assert_eq!(summary["counts"]["blocked"], urls.len());
}

#[tokio::test]
async fn state_and_history_survive_a_restart() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let target = Target::spawn(Behaviour::Status).await;
    target.set_status(503);
    register(
        &app,
        &token,
        &checked_entry("down", &[target.url("/")], 2000),
    )
    .await;
    for _ in 0..3 {
        check_now(&app, &token, "down").await;
    }
    let before = app.get_json("/v1/services/down/health").await;
    assert_eq!(before["checks"][0]["state"], "critical");

    let app = spawn_app_in(app.stop().await).await;
    let after = app.get_json("/v1/services/down/health").await;
    assert_eq!(after["checks"][0]["state"], "critical");
    assert_eq!(after["checks"][0]["since"], before["checks"][0]["since"]);
    let kept = after["checks"][0]["history"].as_array().unwrap().len();
    assert!(kept >= 3, "{after:#}");
}

#[tokio::test]
async fn webhooks_arrive_on_transitions_with_retries() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let webhook = Target::spawn(Behaviour::Status).await;
    // The first delivery is refused; the retry gets through.
    webhook.script.lock().unwrap().push(500);
    let agency = app.get_json("/v1/agencies/kommune-a").await;
    let mut changed = agency.clone();
    changed["notify_url"] = json!(webhook.url("/alerts"));
    let response = app
        .send_json(
            Method::PUT,
            "/v1/agencies/kommune-a",
            Some(&token),
            &changed,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let target = Target::spawn(Behaviour::Status).await;
    register(
        &app,
        &token,
        &checked_entry("alerting", &[target.url("/")], 2000),
    )
    .await;
    check_now(&app, &token, "alerting").await;
    target.set_status(500);
    for _ in 0..3 {
        check_now(&app, &token, "alerting").await;
    }
    target.set_status(200);
    for _ in 0..2 {
        check_now(&app, &token, "alerting").await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while webhook.bodies().len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events: Vec<(String, String)> = webhook
        .bodies()
        .iter()
        .map(|b| {
            (
                b["event"].as_str().unwrap().into(),
                b["service_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let critical = ("check.critical".to_string(), "alerting".to_string());
    let passing = ("check.passing".to_string(), "alerting".to_string());
    assert_eq!(
        events.iter().filter(|e| **e == critical).count(),
        2,
        "refused, then retried: {events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| **e == passing).count(),
        1,
        "{events:?}"
    );
    let first = &webhook.bodies()[0];
    assert_eq!(first["to"], "critical");
    assert_eq!(first["agency"], "kommune-a");
    assert!(first["last_error"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn a_notify_url_on_a_blocked_network_is_never_called() {
    // Probes may reach 127.0.0.1 only; the webhook listens on 127.0.0.2.
    let app = spawn_app_with(|c| {
        c.health.policy =
            veiviser::outbound::NetworkPolicy::allowing(vec!["127.0.0.1/32".parse().unwrap()]);
        c.health.thresholds.failures_before_critical = 1;
    })
    .await;
    let token = app.create_agency("kommune-a").await;
    let webhook = Target::spawn_at("127.0.0.2", Behaviour::Status).await;
    let mut agency = app.get_json("/v1/agencies/kommune-a").await;
    agency["notify_url"] = json!(format!("http://127.0.0.2:{}/alerts", webhook.port));
    let response = app
        .send_json(Method::PUT, "/v1/agencies/kommune-a", Some(&token), &agency)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let target = Target::spawn(Behaviour::Status).await;
    target.set_status(500);
    register(
        &app,
        &token,
        &checked_entry("quiet", &[target.url("/")], 2000),
    )
    .await;
    assert_eq!(state_after_check(&app, &token, "quiet").await, "critical");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics.contains("veiviser_alerts_total{outcome=\"failed\"} 1") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(webhook.connections(), 0);
}

#[tokio::test]
async fn unverified_entries_are_stale_until_verified() {
    let app = spawn_app().await;
    // The default catalogue has not been confirmed by its owners yet.
    let summary = app.get_json("/v1/health").await;
    let stale: Vec<&str> = summary["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(stale.contains(&"kirkens-sos"), "{stale:?}");
    assert!(summary["counts"]["not_applicable"].as_u64().unwrap() > 0);

    let verify = |token: Option<&'static str>| {
        app.request(Method::POST, "/v1/services/kirkens-sos/verify", token)
            .send()
    };
    problem(verify(None).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let response = verify(Some(ADMIN)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let entry: Value = response.json().await.unwrap();
    assert!(entry["last_verified_at"].is_string());
    eventually(&app, "/v1/health", 5, |s| {
        !s["stale"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "kirkens-sos")
    })
    .await;
    let health = app.get_json("/v1/services/kirkens-sos/health").await;
    assert_eq!(health["stale"], false);

    // Another agency cannot verify (or check) someone else's entry.
    let other = app.create_agency("kommune-b").await;
    let response = app
        .request(
            Method::POST,
            "/v1/services/kirkens-sos/verify",
            Some(&other),
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN).await;
    let response = app
        .request(
            Method::POST,
            "/v1/services/kirkens-sos/health/check",
            Some(&other),
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn changes_to_an_entry_change_its_checks_without_a_restart() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let first = Target::spawn(Behaviour::Status).await;
    let second = Target::spawn(Behaviour::Status).await;
    register(
        &app,
        &token,
        &checked_entry("moving", &[first.url("/")], 2000),
    )
    .await;
    eventually(&app, "/v1/services/moving/health", 5, |h| {
        h["checks"][0]["state"] == "passing"
    })
    .await;
    assert!(first.connections() >= 1);

    let mut entry = app.get_json("/v1/services/moving").await;
    entry["channels"][0]["health_check"]["url"] = json!(second.url("/"));
    let response = app
        .put_service(&token, "moving", Some("\"1\""), &entry)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    eventually(&app, "/v1/services/moving/health", 5, |h| {
        h["checks"][0]["url"] == json!(second.url("/")) && h["checks"][0]["state"] == "passing"
    })
    .await;
    assert!(second.connections() >= 1);

    let response = app
        .request(Method::DELETE, "/v1/services/moving", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    eventually(&app, "/v1/health", 5, |s| {
        !s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["service_id"] == "moving")
    })
    .await;
}

#[tokio::test]
async fn metrics_count_checks_requests_and_the_catalogue() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    let target = Target::spawn(Behaviour::Status).await;
    register(
        &app,
        &token,
        &checked_entry("measured", &[target.url("/")], 2000),
    )
    .await;
    check_now(&app, &token, "measured").await;
    app.get_json("/v1/services/kirkens-sos").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} missing from\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(value("veiviser_health_checks_total{result=\"pass\"}") >= 1.0);
    assert!(value("veiviser_health_check_duration_seconds_count") >= 1.0);
    assert_eq!(
        value("veiviser_services{status=\"active\"}"),
        (crate::helpers::catalogue_services() + 1) as f64
    );
    assert!(value("veiviser_services_stale") >= crate::helpers::catalogue_services() as f64);
    assert!(value("veiviser_health_check_states{state=\"passing\"}") >= 1.0);
    assert_eq!(
        value(
            "veiviser_http_requests_total{route=\"/v1/services/{id}\",method=\"GET\",status=\"200\"}"
        ),
        1.0
    );
    assert!(text.contains(
        "veiviser_http_request_duration_seconds_bucket{route=\"/v1/services/{id}\",le=\"+Inf\"} 1"
    ));
}

/// The health a routing answer shows for the first channel of `id` (`None` when it is
/// not in the answer), once `done` accepts it: the index and the checker's snapshot
/// follow a moment after a change.
async fn routed_health(app: &TestApp, id: &str, done: impl Fn(Option<&str>) -> bool) {
    let body = json!({ "topics": ["verneplikt-og-sesjon"], "limit": 20 });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = app.send_json(Method::POST, "/v1/route", None, &body).await;
        let answer: Value = response.json().await.unwrap();
        let health = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_id"] == id)
            .and_then(|r| r["channels"][0]["health"].as_str().map(str::to_string));
        if done(health.as_deref()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} routed with {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn when_most_checks_fail_at_once_the_checker_suspects_itself() {
    // The default catalogue's checks count too (blocked in tests, never critical): with
    // about 140 checks, 4% is six.
    let app = spawn_app_with(|c| c.health.protect.threshold = 0.04).await;
    let token = app.create_agency("kommune-a").await;
    let alone = Target::spawn(Behaviour::Status).await;
    let shared = Target::spawn(Behaviour::Status).await;
    // On a topic of their own, so that all of them are in one routing answer.
    let entry = |id: &str, url: String| {
        let mut entry = checked_entry(id, &[url], 2000);
        entry["topics"] = json!(["verneplikt-og-sesjon"]);
        entry
    };
    register(&app, &token, &entry("alene", alone.url("/"))).await;
    let ids: Vec<String> = (0..8).map(|n| format!("felles-{n}")).collect();
    for id in &ids {
        register(&app, &token, &entry(id, shared.url("/"))).await;
    }
    let total = app.get_json("/v1/health").await["checks"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        6.0 >= 0.04 * total as f64 && 5.0 < 0.04 * total as f64 + 1.0,
        "{total} checks"
    );

    routed_health(&app, "alene", |h| h == Some("passing")).await;
    // One site down is that site's fault: routing sees it.
    alone.set_status(500);
    for _ in 0..3 {
        check_now(&app, &token, "alene").await;
    }
    routed_health(&app, "alene", |h| h != Some("passing")).await;
    assert_eq!(
        app.get_json("/v1/health").await["checker"]["suspect"],
        false
    );

    // Eight more at once: the checker takes it for its own fault.
    for id in &ids {
        check_now(&app, &token, id).await;
    }
    routed_health(&app, "felles-7", |h| h == Some("passing")).await;
    shared.set_status(500);
    for _ in 0..3 {
        for id in &ids {
            check_now(&app, &token, id).await;
        }
    }
    let health = app.get_json("/v1/health").await;
    assert_eq!(health["checker"]["suspect"], true, "{health:#}");
    assert!(
        health["checker"]["held"].as_u64().unwrap() >= 6,
        "{health:#}"
    );
    // The records say critical; routing keeps the last known state.
    assert_eq!(
        app.get_json("/v1/services/felles-7/health").await["checks"][0]["state"],
        "critical"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    routed_health(&app, "felles-0", |h| h == Some("passing")).await;
    routed_health(&app, "felles-7", |h| h == Some("passing")).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("\nveiviser_health_checker_suspect 1\n"),
        "{metrics}"
    );

    // Back under the threshold: trusted again.
    shared.set_status(200);
    for _ in 0..2 {
        for id in &ids {
            check_now(&app, &token, id).await;
        }
    }
    let health = app.get_json("/v1/health").await;
    assert_eq!(health["checker"]["suspect"], false, "{health:#}");
    routed_health(&app, "felles-0", |h| h == Some("passing")).await;
    routed_health(&app, "alene", |h| h != Some("passing")).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("\nveiviser_health_checker_suspect 0\n"),
        "{metrics}"
    );
}
