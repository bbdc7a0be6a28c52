//! Health checks at scale: 10,000 entries, each with one check (interval 10 s), against
//! local HTTP targets run in a separate process (so this process's CPU time is the
//! checker's own). Reports the time for the first full round at the default concurrency
//! (64 overall, 4 per host; the targets sit on 16 loopback addresses), the checker's CPU
//! time per 1,000 checks, and resident memory after every check has run `ROUNDS` times.
//!
//! `cargo bench --bench health_checks` (optionally `-- 10000 10 50` for entries, rounds and
//! results kept per check; with fewer kept than rounds, memory should level off once the
//! history is full)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use veiviser::health::{Checker, HealthSettings};
use veiviser::metrics::Metrics;
use veiviser::outbound::NetworkPolicy;
use veiviser::registry::{ImportSource, SourceDocument};
use veiviser::seed::CatalogueSource;

const HOSTS: usize = 16;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve-targets") {
        return serve_targets();
    }
    let numbers: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let entries = numbers.first().copied().unwrap_or(10_000);
    let rounds = numbers.get(1).copied().unwrap_or(10);
    let history = numbers.get(2).copied().unwrap_or(50);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(entries, rounds, history));
}

async fn run(entries: usize, rounds: usize, history: usize) {
    let mut targets = Command::new(std::env::current_exe().unwrap())
        .arg("serve-targets")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ports = String::new();
    BufReader::new(targets.stdout.take().unwrap())
        .read_line(&mut ports)
        .unwrap();
    let addrs: Vec<String> = ports.split_whitespace().map(str::to_string).collect();

    let dir = tempfile::tempdir().unwrap();
    let (registry, store) = veiviser::startup::open_registry(
        &veiviser::config::store_location(None, dir.path(), 64 << 20),
        &CatalogueSource::Embedded,
        veiviser::store::DEFAULT_DEADLINE,
    )
    .await
    .unwrap();
    let source = ImportSource {
        agencies: vec![SourceDocument {
            origin: "bench".into(),
            value: json!({ "id": "lasttest", "name": "Lasttest", "org_number": "986128433" }),
        }],
        services: (0..entries)
            .map(|i| SourceDocument {
                origin: format!("entry {i}"),
                value: json!({
                    "id": format!("tjeneste-{i:05}"), "agency": "lasttest",
                    "name": { "nb": "Lasttest" }, "summary": { "nb": "Sjekkes." },
                    "topics": ["mobbing"], "coverage": { "scope": "national" },
                    "channels": [{ "kind": "web", "address": "https://example.no",
                        "health_check": { "url": format!("http://{}/{i}", addrs[i % addrs.len()]),
                                          "interval_s": 10, "timeout_ms": 3000 } }],
                    "urgency": "ordinary"
                }),
            })
            .collect(),
    };
    let report = registry.import(&source).await.unwrap();
    assert_eq!(report.created, entries, "{:?}", report.invalid.first());

    let mut settings = HealthSettings {
        policy: NetworkPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()]),
        spread_first_checks: false,
        ..HealthSettings::default()
    };
    settings.thresholds.history_len = history;
    let metrics = Arc::new(Metrics::default());
    let checker = Checker::new(store, registry.watch_changes(), settings, metrics.clone())
        .await
        .unwrap();
    let rss_before = rss_kib();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    checker.start().await.unwrap();

    let checks_run = || metrics.checks_total() as usize;
    while checks_run() < entries {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first_round = started.elapsed();
    let cpu_first = cpu_seconds() - cpu_before;
    let passing = checker
        .checks()
        .iter()
        .filter(|(_, _, _, r)| r.state == veiviser::health::CheckState::Passing)
        .count();
    println!(
        "first round: {entries} checks in {:.2} s ({:.0} checks/s), {passing} passing",
        first_round.as_secs_f64(),
        entries as f64 / first_round.as_secs_f64()
    );
    println!(
        "checker CPU time: {:.3} s for {entries} checks = {:.1} ms per 1,000 checks",
        cpu_first,
        cpu_first * 1000.0 / entries as f64 * 1000.0
    );
    println!("RSS before checking: {} MiB", rss_before / 1024);

    let mut rss_per_round = Vec::new();
    for round in 2..=rounds {
        while checks_run() < entries * round {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        rss_per_round.push(rss_kib() / 1024);
    }
    let cpu_all = cpu_seconds() - cpu_before;
    println!(
        "after {rounds} rounds ({} checks) in {:.0} s: CPU {:.1} ms per 1,000 checks; RSS MiB by round from 2: {rss_per_round:?}",
        entries * rounds,
        started.elapsed().as_secs_f64(),
        cpu_all * 1000.0 / (entries * rounds) as f64 * 1000.0
    );
    checker.stop().await;
    let _ = targets.kill();
    let _ = targets.wait();
}

/// The child process: 16 loopback addresses answering 200 at once, addresses on stdout.
fn serve_targets() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut addrs = Vec::new();
        for host in 1..=HOSTS {
            let listener = tokio::net::TcpListener::bind(format!("127.0.0.{host}:0"))
                .await
                .unwrap();
            addrs.push(listener.local_addr().unwrap().to_string());
            tokio::spawn(async move {
                loop {
                    let Ok((mut stream, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(async move {
                        let mut buf = [0u8; 2048];
                        let _ = stream.read(&mut buf).await;
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                            .await;
                    });
                }
            });
        }
        println!("{}", addrs.join(" "));
        std::future::pending::<()>().await;
    });
}

fn cpu_seconds() -> f64 {
    // utime and stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
