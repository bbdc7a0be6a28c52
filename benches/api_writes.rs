//! Durable creates through the real API on loopback: a Veiviser on 127.0.0.1:0 with sled in a
//! temp directory, and 32 concurrent HTTP clients each creating entries one after another.
//! Every 201 has been flushed to disk (group commit) before it was sent.
//!
//! `cargo bench --bench api_writes` (optionally `-- 32 8000` for clients and total creates)

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

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(32);
    let total = args.get(1).copied().unwrap_or(4000);

    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(Config::for_test(dir.path().to_path_buf(), ADMIN))
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    veiviser::outbound::install_crypto_provider();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/v1/agencies"))
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
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let count = total / clients;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for n in 0..count {
                let body = entry(&format!("last-{worker}-{n}"));
                let sent = Instant::now();
                let response = http
                    .post(format!("{base}/v1/services"))
                    .bearer_auth(&token)
                    .json(&body)
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
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "durable creates: {} by {clients} clients in {:.2} s = {:.0} creates/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}
