//! Route time in process: the default catalogue (104 entries) and a generated catalogue of
//! 100,000 entries (the seed entries repeated with their own ids, local coverage in
//! municipalities across Norway and varied keywords). Criterion measures the typical time;
//! after it, 5,000 single calls per catalogue give the median and p99 directly. Before it,
//! the time to load the lexicon.
//!
//! `cargo bench --bench routing`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group};
use serde_json::json;
use veiviser::health::HealthSnapshot;
use veiviser::model::{ServiceEntry, Validator};
use veiviser::routing::{AgencyNames, RouteRequest, Router};
use veiviser::seed::CatalogueSource;

const MUNICIPALITIES: &[&str] = &[
    "0301", "4601", "5001", "1103", "3232", "1106", "4204", "5501", "1804", "3201",
];
const EXTRA_WORDS: &[&str] = &[
    "ungdom",
    "samtale",
    "gratis",
    "skole",
    "venner",
    "familie",
    "hjelp",
    "chat",
    "natt",
    "helg",
    "rettigheter",
    "kropp",
    "penger",
    "bolig",
    "jobb",
    "nett",
];

fn seed() -> (
    Arc<veiviser::model::reference::Reference>,
    Vec<ServiceEntry>,
    AgencyNames,
) {
    let catalogue = CatalogueSource::Embedded;
    let reference = Arc::new(catalogue.reference().unwrap());
    let validator = Validator::new(reference.clone());
    let documents = catalogue.documents().unwrap().documents;
    let services = documents
        .services
        .iter()
        .map(|d| validator.validate_entry(&d.value).unwrap())
        .collect();
    (reference, services, documents.agency_names())
}

fn generated(seed: &[ServiceEntry], n: usize) -> Vec<ServiceEntry> {
    (0..n)
        .map(|i| {
            let mut entry = seed[i % seed.len()].clone();
            entry.id = format!("{}-{i:06}", entry.id);
            if i % 10 < 7 {
                entry.coverage = serde_json::from_value(json!({
                    "scope": "areas",
                    "municipalities": [MUNICIPALITIES[(i / seed.len()) % MUNICIPALITIES.len()]]
                }))
                .unwrap();
            }
            entry
                .keywords
                .push(EXTRA_WORDS[i % EXTRA_WORDS.len()].to_string());
            entry.keywords.push(format!("tjeneste{}", i % 997));
            entry
        })
        .collect()
}

fn questions() -> Vec<RouteRequest> {
    let ask = |q: &str, age: Option<u8>, municipality: Option<&str>| RouteRequest {
        q: Some(q.to_string()),
        age,
        municipality: municipality.map(str::to_string),
        ..RouteRequest::default()
    };
    vec![
        ask("jeg blir mobbet på skolen", Some(14), Some("4601")),
        ask("jeg vil ta livet mitt", None, None),
        ask("tror jeg er gravid hva gjør jeg", Some(16), Some("0301")),
        ask("eg er så einsam og har ingen vener", Some(15), None),
        ask(
            "someone is threatening to share my nudes",
            None,
            Some("5001"),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let (reference, seed, agencies) = seed();
    // Loading the lexicon (concepts, the forms table, frames, situations), as at start.
    let mut loads: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(veiviser::routing::understander(&reference).expect("the lexicon loads"));
            t.elapsed()
        })
        .collect();
    loads.sort();
    println!(
        "lexicon loaded in {:.0} ms (median of 5; fastest {:.0} ms)",
        loads[2].as_secs_f64() * 1e3,
        loads[0].as_secs_f64() * 1e3
    );
    let health = HealthSnapshot::default();
    let now = Utc::now();
    let started = Instant::now();
    let large_catalogue = generated(&seed, 100_000);
    let large = Router::fixed(reference.clone(), large_catalogue, &agencies)
        .expect("the lexicon loads")
        .index();
    println!(
        "index of 100,000 entries built in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let small_router = Router::fixed(reference, seed, &agencies).expect("the lexicon loads");
    let small = small_router.index();
    let questions = questions();
    let mut group = c.benchmark_group("route");
    for (name, router) in [("default-104", &small), ("generated-100k", &large)] {
        group.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                black_box(router.route(&questions[i % questions.len()], &health, now))
            })
        });
    }
    group.finish();
    // The rest of an HTTP answer: validating the request document and writing the JSON.
    let doc = json!({ "q": "jeg blir mobbet på skolen", "age": 14, "municipality": "4601" });
    c.bench_function("parse_request", |b| {
        b.iter(|| black_box(small_router.parse_request(&doc).unwrap()))
    });
    let answer = small.route(&questions[0], &health, now);
    // What the handler writes, and serde_json's derived writer for the same bytes.
    c.bench_function("serialize_answer", |b| {
        b.iter(|| black_box(answer.to_json()))
    });
    c.bench_function("serialize_answer_serde", |b| {
        b.iter(|| black_box(serde_json::to_vec(&answer).unwrap()))
    });
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    for (name, router) in [("default-104", &small), ("generated-100k", &large)] {
        // (question, time) for every call; the questions differ in how many entries fit.
        let mut times: Vec<(usize, Duration)> = (0..5_000)
            .map(|i| {
                let question = i % questions.len();
                let t = Instant::now();
                black_box(router.route(&questions[question], &health, now));
                (question, t.elapsed())
            })
            .collect();
        times.sort_by_key(|(_, t)| *t);
        println!(
            "{name}: median {:.1} µs, p99 {:.1} µs over {} calls",
            micros(times[times.len() / 2].1),
            micros(times[times.len() * 99 / 100].1),
            times.len()
        );
        for (question, request) in questions.iter().enumerate() {
            let own: Vec<Duration> = times
                .iter()
                .filter(|(q, _)| *q == question)
                .map(|(_, t)| *t)
                .collect();
            println!(
                "  median {:>8.1} µs  {:?}",
                micros(own[own.len() / 2]),
                request.q.as_deref().unwrap_or_default()
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(50);
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
