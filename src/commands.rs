//! The command-line subcommands other than `serve`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};

use crate::config::ExportArgs;
use crate::config::RouteArgs;
use crate::model::Validator;
use crate::model::health::HealthSnapshot;
use crate::routing::Router;
use crate::seed::{self, CatalogueSource};
use crate::startup::open_registry;
use crate::store::{self, Location};

/// `veiviser validate PATH...`: prints every problem as `file: pointer: message`.
pub fn validate(paths: &[PathBuf], catalogue: &CatalogueSource) -> anyhow::Result<ExitCode> {
    let reference = catalogue
        .reference()
        .context("cannot read the reference data")?;
    let validator = Validator::new(Arc::new(reference));
    let (mut checked, mut invalid) = (0usize, 0usize);
    for path in paths {
        let loaded = seed::documents_at(path)?;
        for (origin, problem) in &loaded.unreadable {
            println!("{origin}: {problem}");
            invalid += 1;
        }
        let docs = &loaded.documents;
        let results = docs
            .agencies
            .iter()
            .map(|d| (d, validator.validate_agency(&d.value).err()))
            .chain(
                docs.services
                    .iter()
                    .map(|d| (d, validator.validate_entry(&d.value).err())),
            );
        for (doc, problems) in results {
            checked += 1;
            if let Some(problems) = problems {
                invalid += 1;
                for v in &problems.0 {
                    let pointer = if v.pointer.is_empty() {
                        "(document)"
                    } else {
                        &v.pointer
                    };
                    println!("{}: {pointer}: {}", doc.origin, v.message);
                }
            }
        }
    }
    println!("{checked} document(s) checked, {invalid} invalid");
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `veiviser schema --out DIR`: writes every published schema.
pub fn write_schemas(out: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(out)?;
    for published in crate::contract::published() {
        let path = out.join(published.file_name());
        let mut text = serde_json::to_string_pretty(&published.schema)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    let path = out.join("openapi.json");
    let mut text = serde_json::to_string_pretty(&crate::contract::openapi::document())?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `veiviser import PATH`: loads documents into the store.
pub async fn import(
    path: &Path,
    location: &Location,
    catalogue: &CatalogueSource,
) -> anyhow::Result<ExitCode> {
    let (registry, _) = open_registry(location, catalogue, store::DEFAULT_DEADLINE).await?;
    let loaded = seed::documents_at(path)?;
    let report = registry.import(&loaded.documents).await?;
    for (origin, problem) in &loaded.unreadable {
        println!("{origin}: {problem}");
    }
    for (origin, problems) in &report.invalid {
        for v in &problems.0 {
            println!("{origin}: {}: {}", v.pointer, v.message);
        }
    }
    println!(
        "agencies created: {}; services created: {}, updated: {}, unchanged: {}, refused: {}",
        report.agencies_created,
        report.created,
        report.updated,
        report.unchanged,
        report.invalid.len() + loaded.unreadable.len()
    );
    let clean = report.invalid.is_empty() && loaded.unreadable.is_empty();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `veiviser export`: the catalogue as one JSON document on standard output.
pub async fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (registry, _) = open_registry(
        &args.data.location(64 << 20),
        &args.catalogue.source(),
        store::DEFAULT_DEADLINE,
    )
    .await?;
    let doc = registry
        .export(args.format, &args.lang, &args.base_url, chrono::Utc::now())
        .await?;
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}

/// A router on the catalogue files' valid entries, with no server and no data directory.
fn catalogue_router(catalogue: &CatalogueSource) -> anyhow::Result<Router> {
    let reference = Arc::new(catalogue.reference()?);
    let validator = Validator::new(reference.clone());
    let loaded = catalogue.documents()?;
    let services: Vec<_> = loaded
        .documents
        .services
        .iter()
        .filter_map(|doc| validator.validate_entry(&doc.value).ok())
        .collect();
    Router::fixed(reference, services, &loaded.documents.agency_names())
}

/// `veiviser route`: the router on the catalogue files, no server and no data directory.
pub fn route(args: &RouteArgs) -> anyhow::Result<ExitCode> {
    let router = catalogue_router(&args.catalogue.source())?;
    let mut doc = serde_json::Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            doc.insert(key.to_string(), value);
        }
    };
    put("q", args.q.clone().map(Value::from));
    put("age", args.age.map(Value::from));
    put("municipality", args.municipality.clone().map(Value::from));
    put("county", args.county.clone().map(Value::from));
    put(
        "topics",
        (!args.topics.is_empty()).then(|| json!(args.topics)),
    );
    put(
        "channels",
        (!args.channels.is_empty()).then(|| json!(args.channels)),
    );
    put("lang", args.lang.clone().map(Value::from));
    put("anonymous", args.anonymous.then_some(Value::Bool(true)));
    put("at", args.at.clone().map(Value::from));
    put("limit", args.limit.map(Value::from));
    let request = match router.parse_request(&Value::Object(doc)) {
        Ok(request) => request,
        Err(violations) => {
            for v in &violations.0 {
                eprintln!(
                    "{}: {}",
                    if v.pointer.is_empty() {
                        "/"
                    } else {
                        &v.pointer
                    },
                    v.message
                );
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let index = router.index();
    if args.explain {
        if let Some(q) = &request.q {
            print!("{}", index.understander.explain(q));
        }
    }
    let answer = index.route(&request, &HealthSnapshot::default(), chrono::Utc::now());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    let topics: Vec<String> = answer
        .topics
        .iter()
        .map(|t| format!("{} ({})", t.id, t.matched.join(", ")))
        .collect();
    println!("crisis: {}", if answer.crisis { "yes" } else { "no" });
    println!(
        "topics: {}",
        if topics.is_empty() {
            "-".to_string()
        } else {
            topics.join("; ")
        }
    );
    let results = answer.results.iter().chain(answer.fallback.iter());
    for (rank, result) in results.enumerate() {
        println!(
            "{}. {} ({}) [{}] score {}  {}",
            rank + 1,
            result.name,
            result.provider,
            result.service_id,
            result.score,
            result.reasons.join(" ")
        );
        for channel in &result.channels {
            let open = match (channel.open_now, channel.closes_at, channel.next_open) {
                (Some(true), Some(closes), _) => format!("open until {}", oslo_time(closes)),
                (Some(true), None, _) => "open".to_string(),
                (Some(false), _, Some(next)) => format!("closed, opens {}", oslo_time(next)),
                (Some(false), _, None) => "closed".to_string(),
                (None, _, _) => "hours not given".to_string(),
            };
            println!(
                "     {:<12} {:<40} {open}",
                channel.kind.as_str(),
                channel.address.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `veiviser lexicon eval`: the routing evaluation in process.
pub fn evaluate(args: &crate::config::LexiconEvalArgs) -> anyhow::Result<ExitCode> {
    use crate::evaluation::{Report, judge, parse_cases};
    let router = catalogue_router(&args.catalogue.source())?;
    let index = router.index();
    let mut report = Report::default();
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let cases = parse_cases(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for case in &cases {
            let request = router
                .parse_request(&case.request())
                .map_err(|v| anyhow::anyhow!("{:?}: {:?}", case.q, v.0))?;
            let answer = index.route(&request, &HealthSnapshot::default(), chrono::Utc::now());
            report.add(case, &judge(case, &answer));
        }
    }
    let rendered = report.render();
    if args.quiet {
        print!("{}", rendered.split("misses (").next().unwrap_or_default());
    } else {
        print!("{rendered}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `veiviser lexicon build`: regenerates the lexicon's forms table.
pub fn build_lexicon(args: &crate::config::LexiconBuildArgs) -> anyhow::Result<ExitCode> {
    let resources = crate::lexicon_build::Resources {
        hunspell: args.hunspell.clone(),
        thesaurus: args.thesaurus.clone(),
        apertium: args.apertium.clone(),
        freedict: args.freedict.clone(),
    };
    let started = std::time::Instant::now();
    let (tsv, report) = crate::lexicon_build::build(&resources, &args.catalog)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.catalog.join("lexicon/forms.tsv"));
    std::fs::write(&out, tsv).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} in {:.1} s: {} rows ({} phrases) for {} concepts; {} seed lemmas, {} thesaurus synonyms, {} Nynorsk translations, {} FreeDict words, {} compound corrections, {} ordinary words guarded from typo readings",
        out.display(),
        started.elapsed().as_secs_f64(),
        report.rows,
        report.phrases,
        report.concepts,
        report.seed_lemmas,
        report.thesaurus_synonyms,
        report.nynorsk_translations,
        report.freedict_words,
        report.compound_corrections,
        report.typo_guards
    );
    Ok(ExitCode::SUCCESS)
}

fn oslo_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Oslo)
        .format("%a %d.%m %H:%M")
        .to_string()
}
