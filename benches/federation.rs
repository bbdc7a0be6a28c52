//! Federation figures, on loopback with real servers and sled in temp directories:
//!
//! 1. Harvest of a 5,000-entry feed served over HTTP: the first harvest (every entry
//!    validated and created), a second with nothing changed (validated, compared), and a
//!    third where every entry changed (validated, updated).
//! 2. Mirror lag: a primary takes creates at a steady 1,000 per second while a mirror
//!    follows it; a watcher long-polls the mirror's own change feed. Lag is the time from
//!    the primary's acknowledgement of a write (after its commit) to the change being
//!    visible on the mirror.
//!
//! `cargo bench --bench federation` (optionally `-- 5000 1000 10`: feed entries, writes per
//! second, seconds of writing)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use veiviser::config::Config;
use veiviser::startup::Application;
use warp::Filter;

const ADMIN: &str = "bench-operator-token-0123456789";

fn entry(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "name": { "nb": name },
        "summary": { "nb": "En tjeneste fra lasttestens feed." },
        "topics": ["psykisk-helse", "mobbing"],
        "keywords": ["lasttest"],
        "audience": { "min_age": 13, "max_age": 20 },
        "coverage": { "scope": "areas", "municipalities": ["0301", "4601"] },
        "channels": [
            { "kind": "phone", "address": "22400040", "anonymous": true,
              "hours": { "weekly": [{ "days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "15:00" }] } },
            { "kind": "chat", "address": "https://chat.example.no", "hours": { "always_open": true } }
        ],
        "urgency": "ordinary"
    })
}

async fn start(config: Config) -> String {
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

async fn create_agency(http: &reqwest::Client, base: &str, id: &str) -> String {
    let created: Value = http
        .post(format!("{base}/v1/agencies"))
        .bearer_auth(ADMIN)
        .json(&json!({ "id": id, "name": "Lasttest", "org_number": "986128433" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["token"].as_str().unwrap().to_string()
}

async fn harvest(entries: usize) {
    let dir = tempfile::tempdir().unwrap();
    let base = start(Config::for_test(dir.path().to_path_buf(), ADMIN)).await;
    let http = reqwest::Client::new();
    let token = create_agency(&http, &base, "feedtest").await;

    let feed = Arc::new(Mutex::new(Vec::<u8>::new()));
    let set_feed = |name: &str| {
        let services: Vec<Value> = (0..entries)
            .map(|n| entry(&format!("feed-{n}"), name))
            .collect();
        *feed.lock().unwrap() =
            serde_json::to_vec(&json!({ "agency": "feedtest", "services": services })).unwrap();
    };
    set_feed("Feedtjeneste");
    let served = feed.clone();
    let route = warp::path!("feed.json").map(move || {
        warp::http::Response::builder()
            .header("content-type", "application/json")
            .body(served.lock().unwrap().clone())
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_url = format!("http://{}/feed.json", listener.local_addr().unwrap());
    tokio::spawn(warp::serve(route).incoming(listener).run());
    let size = feed.lock().unwrap().len();

    http.put(format!("{base}/v1/agencies/feedtest/feed"))
        .bearer_auth(&token)
        .json(&json!({ "url": feed_url, "schedule": "0 0 0 1 1 *" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    println!(
        "harvest of a {entries}-entry feed ({:.1} MB):",
        size as f64 / 1e6
    );
    for round in [
        "first (all created)",
        "unchanged",
        "all changed (all updated)",
    ] {
        if round.starts_with("all changed") {
            set_feed("Endret feedtjeneste");
        }
        let started = Instant::now();
        let run: Value = http
            .post(format!("{base}/v1/agencies/feedtest/harvest"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "  {round}: {elapsed:.2} s = {:.0} entries/s; counts {}",
            entries as f64 / elapsed,
            run["counts"]
        );
    }
}

async fn mirror_lag(rate: u64, seconds: u64) {
    let primary_dir = tempfile::tempdir().unwrap();
    let primary = start(Config::for_test(primary_dir.path().to_path_buf(), ADMIN)).await;
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_test(mirror_dir.path().to_path_buf(), ADMIN);
    config.mirror_of = Some(format!("{primary}/").parse().unwrap());
    let mirror = start(config).await;
    let http = reqwest::Client::new();
    let token = create_agency(&http, &primary, "lagtest").await;

    // Wait until the mirror has the seeded catalogue.
    loop {
        let ready = http.get(format!("{mirror}/readyz")).send().await.unwrap();
        if ready.status().is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let start_seq = http
        .get(format!("{primary}/v1/changes?limit=1"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["last_seq"]
        .as_u64()
        .unwrap();

    // The watcher: long-polls the mirror's change feed and notes when each id appears.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = (rate * seconds) as usize;
    let watcher = {
        let (http, mirror, seen) = (http.clone(), mirror.clone(), seen.clone());
        tokio::spawn(async move {
            let mut since = start_seq;
            while seen.lock().unwrap().len() < total {
                let page: Value = http
                    .get(format!(
                        "{mirror}/v1/changes?since={since}&limit=1000&wait=10"
                    ))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let now = Instant::now();
                let mut seen = seen.lock().unwrap();
                for change in page["changes"].as_array().unwrap() {
                    seen.insert(change["id"].as_str().unwrap().to_string(), now);
                    since = change["seq"].as_u64().unwrap();
                }
            }
        })
    };

    // The writers: one create every 1/rate seconds, each on its own task.
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut writes = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let (http, primary, token, acked) =
            (http.clone(), primary.clone(), token.clone(), acked.clone());
        writes.push(tokio::spawn(async move {
            let id = format!("lag-{n}");
            let response = http
                .post(format!("{primary}/v1/services"))
                .bearer_auth(&token)
                .json(&entry(&id, "Lagtest"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::CREATED);
            acked.lock().unwrap().insert(id, Instant::now());
        }));
    }
    for write in writes {
        write.await.unwrap();
    }
    let writing = started.elapsed().as_secs_f64();
    tokio::time::timeout(Duration::from_secs(60), watcher)
        .await
        .expect("the mirror caught up")
        .unwrap();

    let (acked, seen) = (acked.lock().unwrap(), seen.lock().unwrap());
    let mut lags: Vec<f64> = acked
        .iter()
        .map(|(id, at)| {
            let visible = seen[id];
            if visible >= *at {
                visible.duration_since(*at).as_secs_f64()
            } else {
                // Visible on the mirror before the primary's answer reached the writer.
                -at.duration_since(visible).as_secs_f64()
            }
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)] * 1e3;
    println!(
        "mirror lag: {total} creates at {rate}/s on the primary ({:.0}/s achieved over {writing:.1} s); \
         from the primary's 201 to visible on the mirror: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total as f64 / writing,
        pct(0.50),
        pct(0.99),
        lags.last().unwrap() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    veiviser::outbound::install_crypto_provider();
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let entries = args.first().copied().unwrap_or(5000) as usize;
    let rate = args.get(1).copied().unwrap_or(1000);
    let seconds = args.get(2).copied().unwrap_or(10);
    harvest(entries).await;
    mirror_lag(rate, seconds).await;
}
