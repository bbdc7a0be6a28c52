//! Several instances on one PostgreSQL database (`--store`), as a deployment beyond one
//! machine runs them: a real throwaway cluster (tests/support/pg.rs), real servers on
//! loopback. Skipped where PostgreSQL is not installed, except under `CI=true`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use veiviser::config::Config;
use veiviser::startup::Application;

use crate::helpers::{ADMIN, TestApp, catalogue_services, problem, sample_entry, spawn_app_with};
use crate::pg;

/// A fresh database of the test cluster, or `None` where there is no PostgreSQL.
async fn database(name: &str) -> Option<String> {
    let cluster = pg::cluster()?;
    Some(
        cluster
            .database(&format!("api_{name}_{}", std::process::id()))
            .await,
    )
}

async fn instance(url: &str, name: &str) -> TestApp {
    let (url, name) = (url.to_string(), name.to_string());
    spawn_app_with(move |config: &mut Config| {
        config.store = Some(url);
        config.instance_id = name;
    })
    .await
}

async fn listed(app: &TestApp) -> usize {
    app.get_json("/v1/services?limit=200").await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn feed(app: &TestApp) -> Vec<u64> {
    app.get_json("/v1/changes?since=0&limit=1000").await["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect()
}

fn is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_database_serve_one_catalogue() {
    let Some(url) = database("one").await else {
        return;
    };
    // Started together: one loads the default catalogue, the other finds it loaded.
    let (a, b) = tokio::join!(instance(&url, "a"), instance(&url, "b"));
    assert_eq!(listed(&a).await, catalogue_services());
    assert_eq!(listed(&b).await, catalogue_services());

    // An agency registered on one instance writes on the other.
    let token = a.create_agency("delt-etat").await;
    let before = b.get_json("/v1/changes?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    // A long poll waiting on b wakes on a write to a.
    let poll_path = format!("/v1/changes?since={before}&wait=30");
    let poll = b.get(&poll_path);
    let write = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let response = a.post_service(&token, &sample_entry("delt-tjeneste")).await;
        (response, started)
    };
    let (polled, (written, written_at)) = tokio::join!(poll, write);
    assert_eq!(written.status(), StatusCode::CREATED);
    let woke_after = written_at.elapsed();
    let page: Value = polled.json().await.unwrap();
    assert_eq!(page["changes"][0]["id"], "delt-tjeneste");
    assert_eq!(page["changes"][0]["seq"], before + 1);
    assert!(woke_after < Duration::from_secs(5), "{woke_after:?}");

    // Read at once on the other instance, and changed there with the agency's token.
    let on_b = b.get("/v1/services/delt-tjeneste").await;
    assert_eq!(on_b.status(), StatusCode::OK);
    let etag = on_b.headers()["etag"].to_str().unwrap().to_string();
    let mut changed = sample_entry("delt-tjeneste");
    changed["summary"]["nb"] = "Endret på den andre.".into();
    let put = b
        .put_service(&token, "delt-tjeneste", Some(&etag), &changed)
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let on_a = a.get_json("/v1/services/delt-tjeneste").await;
    assert_eq!(on_a["summary"]["nb"], "Endret på den andre.");

    // One gap-free change sequence, the same on both.
    let seqs = feed(&a).await;
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(feed(&b).await, seqs);

    // Each names itself; neither keeps anything on its machine.
    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"veiviser_instance_info{instance="b",store="postgresql"} 1"#),
        "{metrics}"
    );
    for app in [a, b] {
        let dir = app.stop().await;
        assert!(
            is_empty(dir.path()),
            "an instance wrote to its data directory"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_instance_needs_an_operator_token() {
    let Some(url) = database("token").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_test(dir.path().to_path_buf(), ADMIN);
    config.store = Some(url.clone());
    config.admin_token = None;
    let error = Application::build(config.clone())
        .await
        .err()
        .expect("no token, none stored: no start");
    assert!(
        format!("{error:#}").contains("VEIVISER_ADMIN_TOKEN"),
        "{error:#}"
    );
    assert!(is_empty(dir.path()));
    // Once one instance has set it, the next starts without one.
    instance(&url, "first").await.stop().await;
    Application::build(config)
        .await
        .expect("the stored token's hash is enough");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_database_makes_writes_unavailable_while_routing_goes_on() {
    let Some(url) = database("lost").await else {
        return;
    };
    let name = format!("api_lost_{}", std::process::id());
    let app = instance(&url, "alone").await;
    let token = app.create_agency("mister-basen").await;
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["store"]["reachable"], true, "{ready}");
    let admin = pg::cluster().unwrap().url("postgres");
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
        .await
        .unwrap();

    let started = Instant::now();
    let refused = app.post_service(&token, &sample_entry("uten-base")).await;
    let body = problem(refused, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "not_ready");
    assert_eq!(ready["store"]["engine"], "postgresql");
    assert_eq!(ready["store"]["reachable"], false);
    assert_eq!(ready["instance"], "alone");
    let routed = app.get("/v1/route?q=jeg%20blir%20mobbet&age=15").await;
    assert_eq!(routed.status(), StatusCode::OK);
    let answer: Value = routed.json().await.unwrap();
    assert!(
        !answer["results"].as_array().unwrap().is_empty(),
        "{answer}"
    );

    client
        .batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let written = app.post_service(&token, &sample_entry("uten-base")).await;
    assert_eq!(written.status(), StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_are_shared_out_and_every_instance_reports_them() {
    use crate::targets::{Behaviour, Target};
    let Some(url) = database("checks").await else {
        return;
    };
    let (a, b) = tokio::join!(instance(&url, "a"), instance(&url, "b"));
    let token = a.create_agency("sjekket-etat").await;
    let mut targets = Vec::new();
    for _ in 0..4 {
        targets.push(Target::spawn(Behaviour::Status).await);
    }
    let channels: Vec<Value> = targets
        .iter()
        .map(|t| {
            serde_json::json!({
                "kind": "web", "address": "https://example.no",
                "health_check": { "url": t.url("/"), "interval_s": 60 }
            })
        })
        .collect();
    let mut entry = sample_entry("delt-sjekk");
    entry["channels"] = Value::Array(channels);
    assert_eq!(
        a.post_service(&token, &entry).await.status(),
        StatusCode::CREATED
    );
    // Both instances report every check passing, whichever instance probed it.
    for app in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let health = app.get_json("/v1/services/delt-sjekk/health").await;
            let checks = health["checks"].as_array().unwrap();
            if checks.len() == 4 && checks.iter().all(|c| c["state"] == "passing") {
                break;
            }
            assert!(Instant::now() < deadline, "{health:#}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Each check was probed once in its interval, by one of the two.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let probes: Vec<usize> = targets.iter().map(Target::connections).collect();
    assert_eq!(probes, [1, 1, 1, 1]);
    a.stop().await;
    b.stop().await;
}
