//! Validation throughput on seed-sized entries: the compiled JSON Schema plus every semantic
//! rule, for each of the default catalogue's 38 entries in turn, on one core.
//!
//! `cargo bench --bench validation`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use veiviser::model::Validator;
use veiviser::seed::CatalogueSource;

fn validation(c: &mut Criterion) {
    let source = CatalogueSource::Embedded;
    let validator = Validator::new(Arc::new(source.reference().unwrap()));
    let entries: Vec<_> = source
        .documents()
        .unwrap()
        .documents
        .services
        .into_iter()
        .map(|d| d.value)
        .collect();
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("seed catalogue (38 entries)", |b| {
        b.iter(|| {
            for entry in &entries {
                black_box(validator.validate_entry(black_box(entry)).unwrap());
            }
        })
    });
    let mut invalid = entries[4].clone();
    invalid["topics"] = serde_json::json!(["mobing", "psykisk helse"]);
    invalid["channels"][0]["address"] = "12345".into();
    group.throughput(Throughput::Elements(1));
    group.bench_function("one invalid entry (all problems reported)", |b| {
        b.iter(|| black_box(validator.validate_entry(black_box(&invalid)).unwrap_err()))
    });
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
