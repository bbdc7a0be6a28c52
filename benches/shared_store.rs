//! Two Veiviser instances on one PostgreSQL database (a throwaway cluster started here, on a
//! unix socket, fsync on), over HTTP on loopback:
//! - durable creates: 32 clients, half writing to each instance;
//! - wake-up: a long poll waiting on one instance, a write to the other; the time from
//!   sending the write to the poll's answer, beside the write's own time to its 201.
//!
//! `cargo bench --bench shared_store` (optionally `-- 32 2000 100` for clients, creates and
//! wake-ups). Needs PostgreSQL's server binaries (Debian's `postgresql`).

#[path = "../tests/support/pg.rs"]
mod pg;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use veiviser::config::Config;
use veiviser::startup::Application;

const ADMIN: &str = "bench-operator-token-0123456789";

fn entry(id: &str) -> Value {
    json!({
        "id": id,
        "name": { "nb": "Lasttest" },
        "summary": { "nb": "En tjeneste laget av lasttesten." },
        "topics": ["psykisk-helse", "mobbing"],
        "audience": { "min_age": 13, "max_age": 20 },
        "coverage": { "scope": "areas", "municipalities": ["0301", "4601"] },
        "channels": [{ "kind": "phone", "address": "22400040" }],
        "urgency": "ordinary"
    })
}

async fn instance(url: &str, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_test(dir.path().to_path_buf(), ADMIN);
    config.store = Some(url.to_string());
    config.instance_id = name.to_string();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(async move {
        let _dir = dir;
        app.run_until(std::future::pending()).await
    });
    base
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(32);
    let total = args.get(1).copied().unwrap_or(2000);
    let wakes = args.get(2).copied().unwrap_or(100);

    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("VEIVISER_PG_FSYNC", "on") };
    let cluster = pg::cluster().expect("PostgreSQL is installed");
    let url = cluster
        .database(&format!("bench_{}", std::process::id()))
        .await;
    veiviser::outbound::install_crypto_provider();
    let a = instance(&url, "a").await;
    let b = instance(&url, "b").await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{a}/v1/agencies"))
        .bearer_auth(ADMIN)
        .json(&json!({ "id": "lasttest", "name": "Lasttest", "org_number": "986128433" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let base = if worker % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let (http, token) = (http.clone(), token.clone());
        let count = total / clients;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for n in 0..count {
                let sent = Instant::now();
                let response = http
                    .post(format!("{base}/v1/services"))
                    .bearer_auth(&token)
                    .json(&entry(&format!("last-{worker}-{n}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), reqwest::StatusCode::CREATED);
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "durable creates on 2 instances: {} by {clients} clients in {:.2} s = {:.0} creates/s; latency p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );

    let mut wake = Vec::with_capacity(wakes);
    let mut own = Vec::with_capacity(wakes);
    for n in 0..wakes {
        let last = http
            .get(format!("{b}/v1/changes?limit=1"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["last_seq"]
            .as_u64()
            .unwrap();
        let poll = http
            .get(format!("{b}/v1/changes?since={last}&wait=30"))
            .send();
        let write = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let sent = Instant::now();
            let response = http
                .post(format!("{a}/v1/services"))
                .bearer_auth(&token)
                .json(&entry(&format!("vekk-{n}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::CREATED);
            (sent, sent.elapsed())
        };
        let poll = async {
            let response = poll.await.unwrap();
            (Instant::now(), response)
        };
        let ((answered, polled), (sent, written_in)) = tokio::join!(poll, write);
        let page: Value = polled.json().await.unwrap();
        assert_eq!(page["changes"][0]["seq"], last + 1);
        wake.push(answered.saturating_duration_since(sent));
        own.push(written_in);
    }
    wake.sort();
    own.sort();
    println!(
        "a write to a wakes a long poll on b: {wakes} writes; from sending the write to b's answer p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; the write's own 201 p50 {:.1} ms, p99 {:.1} ms",
        percentile(&wake, 0.50),
        percentile(&wake, 0.99),
        wake.last().unwrap().as_secs_f64() * 1e3,
        percentile(&own, 0.50),
        percentile(&own, 0.99),
    );
}
