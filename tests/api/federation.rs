//! Federation: harvesting agencies' feeds from real HTTP servers on loopback, the change
//! feed, and a read-only mirror following a primary.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::feed_server::{Feed, FeedServer, document};
use crate::helpers::{
    ADMIN, ServerProcess, TestApp, pointers, problem, sample_entry, spawn_app, spawn_app_with,
};

const AGENCY: &str = "feed-agency";
/// Once a year: the scheduler never fires during a test; harvests are started by hand.
const YEARLY: &str = "0 0 0 1 1 *";

fn entry(id: &str, name: &str) -> Value {
    let mut entry = sample_entry(id);
    entry["name"]["nb"] = json!(name);
    entry
}

async fn register_feed(app: &TestApp, token: &str, url: &str, schedule: &str) {
    let response = app
        .send_json(
            Method::PUT,
            &format!("/v1/agencies/{AGENCY}/feed"),
            Some(token),
            &json!({ "url": url, "schedule": schedule }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn harvest(app: &TestApp, token: &str) -> Value {
    let response = app
        .request(
            Method::POST,
            &format!("/v1/agencies/{AGENCY}/harvest"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn counts(run: &Value) -> [u64; 6] {
    let c = &run["counts"];
    [
        "created",
        "updated",
        "unchanged",
        "invalid",
        "refused",
        "retired",
    ]
    .map(|k| c[k].as_u64().unwrap())
}

async fn version(app: &TestApp, id: &str) -> u64 {
    app.get_json(&format!("/v1/services/{id}")).await["version"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_valid_feed_is_harvested_and_an_unchanged_one_changes_nothing() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let feed = FeedServer::spawn(document(
        AGENCY,
        vec![
            entry("feed-a", "A"),
            entry("feed-b", "B"),
            entry("feed-c", "C"),
        ],
    ))
    .await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;

    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "harvested");
    assert_eq!(run["http_status"], 200);
    assert_eq!(counts(&run), [3, 0, 0, 0, 0, 0]);
    let stored = app.get_json("/v1/services/feed-b").await;
    assert_eq!(stored["agency"], AGENCY);
    // The agency can tell who is fetching.
    assert!(
        feed.user_agents()[0].contains("feed harvester"),
        "{:?}",
        feed.user_agents()
    );
    assert_eq!(stored["name"]["nb"], "B");

    let run = harvest(&app, &token).await;
    assert_eq!(counts(&run), [0, 0, 3, 0, 0, 0]);
    assert_eq!(version(&app, "feed-a").await, 1);

    // With an ETag, the next harvest asks conditionally and a 304 changes nothing.
    let Feed::Document { doc, .. } = document(AGENCY, vec![entry("feed-a", "A")]) else {
        unreachable!()
    };
    let mut doc = doc;
    doc["services"] = json!([
        entry("feed-a", "A"),
        entry("feed-b", "B"),
        entry("feed-c", "C")
    ]);
    feed.set(Feed::Document {
        doc,
        etag: Some("\"v7\"".into()),
    });
    harvest(&app, &token).await;
    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "not_modified");
    assert_eq!(run["http_status"], 304);
    assert_eq!(feed.requests().last().unwrap().as_deref(), Some("\"v7\""));
    assert_eq!(version(&app, "feed-c").await, 1);

    // The runs are listed newest first.
    let runs = app
        .request(
            Method::GET,
            &format!("/v1/agencies/{AGENCY}/harvest"),
            Some(&token),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(runs["feed"]["url"], feed.url());
    let outcomes: Vec<_> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        ["not_modified", "harvested", "harvested", "harvested"]
    );
}

#[tokio::test]
async fn a_dated_feed_is_asked_if_modified_since_and_a_304_changes_nothing() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let Feed::Document { doc, .. } = document(AGENCY, vec![entry("feed-a", "A")]) else {
        unreachable!()
    };
    let last_modified = "Tue, 24 Nov 2026 08:00:00 GMT".to_string();
    let feed = FeedServer::spawn(Feed::Dated {
        doc: doc.clone(),
        last_modified: last_modified.clone(),
    })
    .await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;

    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "harvested");
    assert_eq!(counts(&run), [1, 0, 0, 0, 0, 0]);
    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "not_modified");
    assert_eq!(run["http_status"], 304);
    assert_eq!(
        feed.modified_since(),
        [None, Some(last_modified.clone())],
        "the second harvest repeats the feed's own Last-Modified"
    );
    assert_eq!(version(&app, "feed-a").await, 1);

    // A new date brings the new document.
    let mut changed = doc;
    changed["services"] = json!([entry("feed-a", "A2")]);
    feed.set(Feed::Dated {
        doc: changed,
        last_modified: "Wed, 25 Nov 2026 08:00:00 GMT".to_string(),
    });
    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "harvested");
    assert_eq!(counts(&run), [0, 1, 0, 0, 0, 0]);
    assert_eq!(version(&app, "feed-a").await, 2);
}

#[tokio::test]
async fn invalid_entries_keep_their_last_good_version_and_are_reported_with_pointers() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let feed = FeedServer::spawn(document(
        AGENCY,
        vec![entry("feed-a", "A"), entry("feed-b", "B")],
    ))
    .await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;
    harvest(&app, &token).await;

    let mut broken = entry("feed-b", "B2");
    broken["audience"]["min_age"] = json!("tretten");
    broken["coverage"]["municipalities"] = json!(["9999"]);
    feed.set(document(AGENCY, vec![entry("feed-a", "A2"), broken]));
    let run = harvest(&app, &token).await;
    assert_eq!(counts(&run), [0, 1, 0, 1, 0, 0]);
    let problem = &run["problems"][0];
    assert_eq!(problem["index"], 1);
    assert_eq!(problem["id"], "feed-b");
    let found: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(found.contains(&"/services/1/audience/min_age"), "{found:?}");
    assert!(
        found.contains(&"/services/1/coverage/municipalities/0"),
        "{found:?}"
    );
    // The good entry was updated; the broken one kept its last good version.
    assert_eq!(
        app.get_json("/v1/services/feed-a").await["name"]["nb"],
        "A2"
    );
    let b = app.get_json("/v1/services/feed-b").await;
    assert_eq!(
        (b["name"]["nb"].as_str(), b["version"].as_u64()),
        (Some("B"), Some(1))
    );
}

#[tokio::test]
async fn entries_of_other_agencies_are_refused() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let mut foreign = entry("feed-foreign", "F");
    foreign["agency"] = json!("bufdir");
    // An id that a seeded entry of another agency already has.
    let taken = entry("kirkens-sos", "Kapret");
    let feed =
        FeedServer::spawn(document(AGENCY, vec![entry("feed-a", "A"), foreign, taken])).await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;
    let before = app.get_json("/v1/services/kirkens-sos").await;

    let run = harvest(&app, &token).await;
    assert_eq!(counts(&run), [1, 0, 0, 0, 2, 0]);
    let refused: Vec<_> = run["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["errors"][0]["pointer"].clone())
        .collect();
    assert_eq!(refused, ["/services/1/agency", "/services/2/id"]);
    assert_eq!(
        app.get("/v1/services/feed-foreign").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get_json("/v1/services/kirkens-sos").await, before);
}

#[tokio::test]
async fn a_missing_entry_is_retired_after_two_successful_harvests_and_never_on_a_failure() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let feed = FeedServer::spawn(document(
        AGENCY,
        vec![entry("feed-a", "A"), entry("feed-b", "B")],
    ))
    .await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;
    harvest(&app, &token).await;

    feed.set(document(AGENCY, vec![entry("feed-a", "A")]));
    let run = harvest(&app, &token).await;
    assert_eq!(run["counts"]["missing"], 1);
    assert_eq!(
        app.get("/v1/services/feed-b").await.status(),
        StatusCode::OK
    );

    // Failures in between neither retire nor count: a 500, a vanished feed, an oversized
    // one, one that is not a feed at all, one of another agency.
    let failures = [
        (Feed::Status(500), "500"),
        (Feed::Status(404), "404"),
        (Feed::Bytes(40 << 20), "larger than"),
        (
            Feed::Document {
                doc: json!(["not", "a", "feed"]),
                etag: None,
            },
            "not a JSON object",
        ),
        (document("bufdir", vec![]), "names agency 'bufdir'"),
    ];
    for (answer, error) in failures {
        feed.set(answer);
        let run = harvest(&app, &token).await;
        assert_eq!(run["outcome"], "failed");
        let said = run["error"].as_str().unwrap();
        assert!(said.contains(error), "{said}");
        assert_eq!(counts(&run), [0; 6]);
        assert_eq!(
            app.get("/v1/services/feed-b").await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get("/v1/services/feed-a").await.status(),
            StatusCode::OK
        );
    }

    feed.set(document(AGENCY, vec![entry("feed-a", "A")]));
    let run = harvest(&app, &token).await;
    assert_eq!(counts(&run), [0, 0, 1, 0, 0, 1]);
    assert_eq!(
        app.get("/v1/services/feed-b").await.status(),
        StatusCode::GONE
    );
    assert_eq!(
        app.get("/v1/services/feed-a").await.status(),
        StatusCode::OK
    );

    // An entry the agency registered over REST is not the feed's to retire.
    let response = app.post_service(&token, &entry("feed-rest", "R")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    harvest(&app, &token).await;
    harvest(&app, &token).await;
    assert_eq!(
        app.get("/v1/services/feed-rest").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn feeds_are_harvested_on_their_schedule() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let feed = FeedServer::spawn(document(AGENCY, vec![entry("feed-sched", "S")])).await;
    // Every second (tests allow any interval; the server's default minimum is a minute).
    register_feed(&app, &token, &feed.url(), "* * * * * *").await;
    for _ in 0..100 {
        if app.get("/v1/services/feed-sched").await.status() == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.get("/v1/services/feed-sched").await.status(),
        StatusCode::OK
    );
    // The run's record is written just after the entries it brought: wait for it.
    let mut runs = Value::Null;
    for _ in 0..50 {
        runs = app
            .request(
                Method::GET,
                &format!("/v1/agencies/{AGENCY}/harvest"),
                Some(&token),
            )
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        if runs["runs"].as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        runs["runs"].as_array().unwrap().last().unwrap()["trigger"],
        "schedule",
        "{runs:#}"
    );

    // Once the feed is removed, the schedule stops.
    let path = format!("/v1/agencies/{AGENCY}/feed");
    let response = app
        .request(Method::DELETE, &path, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let harvest_path = format!("/v1/agencies/{AGENCY}/harvest");
    let runs_now = || async {
        app.request(Method::GET, &harvest_path, Some(&token))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = runs_now().await["runs"].as_array().unwrap().len();
    let fetched = feed.requests().len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        feed.requests().len(),
        fetched,
        "the feed was fetched after removal"
    );
    let after = runs_now().await;
    assert_eq!(
        after["runs"].as_array().unwrap().len(),
        before,
        "no harvest after removal"
    );
    assert!(after["feed"].is_null());
}

#[tokio::test]
async fn feed_registration_is_validated_and_limited_to_the_agency_and_the_operator() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let other = app.create_agency("other-agency").await;
    let path = format!("/v1/agencies/{AGENCY}/feed");

    let response = app
        .send_json(
            Method::PUT,
            &path,
            Some(&token),
            &json!({ "url": "ftp://x.no/f", "schedule": "hourly" }),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/url", "/schedule"]);

    let good = json!({ "url": "https://feeds.example.no/feed.json", "schedule": YEARLY });
    let response = app.send_json(Method::PUT, &path, Some(&other), &good).await;
    problem(response, StatusCode::FORBIDDEN).await;
    let response = app.send_json(Method::PUT, &path, None, &good).await;
    problem(response, StatusCode::UNAUTHORIZED).await;
    let response = app
        .request(
            Method::POST,
            &format!("/v1/agencies/{AGENCY}/harvest"),
            Some(&other),
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN).await;
    let response = app
        .request(
            Method::POST,
            &format!("/v1/agencies/{AGENCY}/harvest"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;

    let response = app.send_json(Method::PUT, &path, Some(ADMIN), &good).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stored = app
        .request(Method::GET, &path, Some(&token))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stored, good);

    // Stopping the harvests: the configuration goes, a harvest has nothing to fetch.
    let response = app
        .request(Method::DELETE, &path, Some(&other))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN).await;
    let response = app
        .request(Method::DELETE, &path, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .request(Method::GET, &path, Some(&token))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;
    let response = app
        .request(
            Method::POST,
            &format!("/v1/agencies/{AGENCY}/harvest"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_feed_on_a_private_network_is_refused_unless_the_operator_allows_it() {
    let app = spawn_app_with(|config| {
        config.harvest.policy = veiviser::outbound::NetworkPolicy::default();
    })
    .await;
    let token = app.create_agency(AGENCY).await;
    let feed = FeedServer::spawn(document(AGENCY, vec![entry("feed-a", "A")])).await;
    register_feed(&app, &token, &feed.url(), YEARLY).await;
    let run = harvest(&app, &token).await;
    assert_eq!(run["outcome"], "failed");
    assert!(
        run["error"].as_str().unwrap().contains("network policy"),
        "{run}"
    );
    assert!(feed.requests().is_empty(), "the feed server was reached");
}

// ----- change feed -----

#[tokio::test]
async fn every_change_is_in_the_feed_in_order_without_gaps() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let seeded = app.get_json("/v1/changes?limit=1000").await;
    let seqs: Vec<u64> = seeded["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert!(!seqs.is_empty());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let last = seeded["last_seq"].as_u64().unwrap();
    assert_eq!(last, seqs.len() as u64);

    assert_eq!(
        app.post_service(&token, &entry("chg", "Første"))
            .await
            .status(),
        StatusCode::CREATED
    );
    let response = app
        .put_service(&token, "chg", Some("\"1\""), &entry("chg", "Andre"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .request(Method::DELETE, "/v1/services/chg", Some(&token))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    let page = app.get_json(&format!("/v1/changes?since={last}")).await;
    let changes = page["changes"].as_array().unwrap();
    let kinds: Vec<_> = changes
        .iter()
        .map(|c| (c["seq"].as_u64().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (last + 1, "created"),
            (last + 2, "updated"),
            (last + 3, "retired")
        ]
    );
    assert_eq!(changes[1]["entry"]["name"]["nb"], "Andre");
    assert_eq!(changes[1]["entry"]["version"], 2);
    assert!(changes[2]["entry"].is_null());
    assert_eq!(page["last_seq"], last + 3);

    // Paging with limit.
    let page = app
        .get_json(&format!("/v1/changes?since={last}&limit=2"))
        .await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_long_poll_returns_when_a_change_arrives() {
    let app = spawn_app().await;
    let token = app.create_agency(AGENCY).await;
    let last = app.get_json("/v1/changes?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    let path = format!("/v1/changes?since={last}&wait=30");
    let poll = app.get(&path);
    let write = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.post_service(&token, &entry("polled", "P")).await
    };
    let (polled, written) = tokio::join!(poll, write);
    assert_eq!(written.status(), StatusCode::CREATED);
    let page: Value = polled.json().await.unwrap();
    assert_eq!(page["changes"][0]["id"], "polled");
    assert_eq!(page["changes"][0]["seq"], last + 1);
}

#[tokio::test]
async fn bad_change_feed_queries_are_reported_together() {
    let app = spawn_app().await;
    let response = app
        .get("/v1/changes?since=-1&limit=0&wait=61&colour=red")
        .await;
    let body = problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&body), ["/since", "/limit", "/wait", "/colour"]);
}

// ----- mirrors -----

/// Every entry a server holds, active, paused or retired, by id.
pub async fn catalogue(base: &str) -> BTreeMap<String, Value> {
    let client = reqwest::Client::new();
    let mut all = BTreeMap::new();
    for status in ["active", "paused", "retired"] {
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}/v1/services?status={status}&limit=200");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            for item in page["items"].as_array().unwrap() {
                all.insert(item["id"].as_str().unwrap().to_string(), item.clone());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
    }
    all
}

async fn wait_until_caught_up(mirror: &str, primary_last: u64) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        let ready: Value = client
            .get(format!("{mirror}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["mirror"]["position"].as_u64() == Some(primary_last) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the mirror did not catch up to {primary_last}");
}

#[tokio::test]
async fn a_mirror_serves_the_primarys_catalogue_and_refuses_writes() {
    let primary = spawn_app().await;
    let token = primary.create_agency(AGENCY).await;
    let primary_url = format!("http://{}", primary.addr);
    let mirror = spawn_app_with(|config| {
        config.mirror_of = Some(format!("{primary_url}/").parse().unwrap());
    })
    .await;
    let mirror_url = format!("http://{}", mirror.addr);
    assert_eq!(
        primary
            .post_service(&token, &entry("mirrored", "M"))
            .await
            .status(),
        StatusCode::CREATED
    );
    let last = primary.get_json("/v1/changes?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    wait_until_caught_up(&mirror_url, last).await;

    assert_eq!(catalogue(&mirror_url).await, catalogue(&primary_url).await);
    assert_eq!(
        mirror.get_json("/v1/agencies").await,
        primary.get_json("/v1/agencies").await
    );
    let ready = mirror.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let metrics = mirror.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("veiviser_mirror_lag_seconds 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!("veiviser_mirror_position {last}\n")));

    // Writes are refused and point at the primary; questions are answered.
    let response = mirror.post_service(ADMIN, &entry("nope", "N")).await;
    let body = problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["primary"], format!("{primary_url}/"));
    let response = mirror
        .request(Method::DELETE, "/v1/services/mirrored", Some(ADMIN))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    let answer = mirror
        .send_json(
            Method::POST,
            "/v1/route",
            None,
            &json!({ "q": "jeg blir mobbet", "age": 14 }),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_killed_mid_stream_resumes_without_loss_or_duplicates() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let primary = Arc::new(spawn_app().await);
    let token = Arc::new(primary.create_agency(AGENCY).await);
    let primary_url = format!("http://{}", primary.addr);
    let mirror_dir = tempfile::tempdir().unwrap();
    let mirror_args = ["--mirror-of", primary_url.as_str()];
    let mut mirror = ServerProcess::start_with(mirror_dir.path(), "info", &mirror_args);

    // 1,000 writes from 8 writers: 700 creates, then 200 updates and 100 retirements.
    let written = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (primary, token, written) = (primary.clone(), token.clone(), written.clone());
        writers.push(tokio::spawn(async move {
            for i in (w..700).step_by(8) {
                let response = primary
                    .post_service(&token, &entry(&format!("m-{i}"), "M"))
                    .await;
                assert_eq!(response.status(), StatusCode::CREATED);
                written.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Kill the mirror while it follows the creates, and start it again on its data.
    while written.load(Ordering::SeqCst) < 250 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // It has applied some of them, not all.
    let first_url = format!("http://{}/readyz", mirror.addr);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let position = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mirror never got going"
        );
        let ready: Value = reqwest::get(&first_url)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let position = ready["mirror"]["position"].as_u64().unwrap();
        if position > 100 {
            break position;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    mirror.child.kill().unwrap();
    mirror.child.wait().unwrap();
    for writer in writers.drain(..) {
        writer.await.unwrap();
    }
    let mut mirror = ServerProcess::start_with(mirror_dir.path(), "info", &mirror_args);
    for i in 0..300 {
        let id = format!("m-{i}");
        let response = if i < 200 {
            primary
                .put_service(&token, &id, Some("\"1\""), &entry(&id, "Endret"))
                .await
        } else {
            primary
                .request(Method::DELETE, &format!("/v1/services/{id}"), Some(&token))
                .send()
                .await
                .unwrap()
        };
        assert!(
            response.status().is_success(),
            "{id}: {}",
            response.status()
        );
    }

    let last = primary.get_json("/v1/changes?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    assert!(position < last, "the mirror was killed mid-stream");
    let mirror_url = format!("http://{}", mirror.addr);
    wait_until_caught_up(&mirror_url, last).await;
    let (on_mirror, on_primary) = (catalogue(&mirror_url).await, catalogue(&primary_url).await);
    assert_eq!(on_mirror.len(), on_primary.len());
    assert_eq!(on_mirror, on_primary);
    // The mirror's own change feed is the primary's, change for change: nothing lost,
    // nothing applied twice.
    let feed = |base: String| async move {
        let mut all = Vec::new();
        let mut since = 0;
        loop {
            let page: Value = reqwest::get(format!("{base}/v1/changes?since={since}&limit=1000"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let changes = page["changes"].as_array().unwrap().clone();
            if changes.is_empty() {
                return all;
            }
            since = changes.last().unwrap()["seq"].as_u64().unwrap();
            all.extend(
                changes
                    .into_iter()
                    .map(|c| (c["seq"].clone(), c["id"].clone(), c["kind"].clone())),
            );
        }
    };
    let mirrored = feed(mirror_url.clone()).await;
    assert_eq!(mirrored.len() as u64, last);
    assert_eq!(mirrored, feed(primary_url.clone()).await);
    mirror.terminate();
}

#[tokio::test]
async fn the_largest_documented_since_is_accepted() {
    // schemathesis found `since` above u64 rejected while the document allowed any integer;
    // the document now says where the range ends, and the end itself is accepted.
    let app = spawn_app().await;
    let page = app.get_json("/v1/changes?since=9223372036854775807").await;
    assert_eq!(page["changes"], json!([]));
    let doc = app.get_json("/openapi.json").await;
    let since = doc["paths"]["/v1/changes"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "since")
        .unwrap()
        .clone();
    assert_eq!(since["schema"]["maximum"], json!(i64::MAX));
}
