//! The command-line subcommands other than `serve`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use crate::model::{Validator, schema};
use crate::seed::{self, CatalogueSource};
use crate::startup::open_registry;

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
    for published in schema::published() {
        let path = out.join(published.file_name());
        let mut text = serde_json::to_string_pretty(&published.schema)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `veiviser import PATH`: loads documents into the data directory.
pub async fn import(
    path: &Path,
    data_dir: &Path,
    catalogue: &CatalogueSource,
) -> anyhow::Result<ExitCode> {
    let registry = open_registry(data_dir, catalogue, 64 << 20)?;
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
pub fn export(data_dir: &Path, catalogue: &CatalogueSource) -> anyhow::Result<ExitCode> {
    let registry = open_registry(data_dir, catalogue, 64 << 20)?;
    let agencies = registry.list_agencies()?;
    let services = registry.store().all_services()?;
    let doc = json!({ "agencies": agencies, "services": services });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}
