//! Reading catalogue files: the default catalogue built into the binary (this repository's
//! `catalog/`), a catalogue directory on disk, or any files and folders handed to
//! `veiviser import` and `veiviser validate`.
//!
//! Layout of a catalogue: `agencies.json` (an array of agencies), `services/<id>.json` (one
//! entry each), `topics.json` (the taxonomy) and `reference/municipalities.csv`.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde_json::Value;

use crate::model::reference::LexiconTexts;
use crate::model::{Places, Reference, Taxonomy};
use crate::registry::{ImportSource, SourceDocument};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/catalog");

/// Where the catalogue comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueSource {
    /// The catalogue compiled into the binary.
    Embedded,
    /// A catalogue directory on disk.
    Dir(PathBuf),
}

/// Failure to read catalogue files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not found in the catalogue")]
    Missing { path: String },
    #[error("{0}")]
    Reference(String),
}

/// Files found under a path, parsed as JSON where possible.
#[derive(Debug, Default)]
pub struct Loaded {
    pub documents: ImportSource,
    /// Files that are not JSON: (path, what is wrong).
    pub unreadable: Vec<(String, String)>,
}

impl CatalogueSource {
    fn read(&self, relative: &str) -> Result<String, LoadError> {
        match self {
            CatalogueSource::Embedded => EMBEDDED
                .get_file(relative)
                .and_then(|f| f.contents_utf8())
                .map(str::to_string)
                .ok_or_else(|| LoadError::Missing {
                    path: format!("catalog/{relative}"),
                }),
            CatalogueSource::Dir(dir) => read_file(&dir.join(relative)),
        }
    }

    /// The taxonomy and the municipality table.
    pub fn reference(&self) -> Result<Reference, LoadError> {
        let taxonomy = Taxonomy::parse(&self.read("topics.json")?).map_err(LoadError::Reference)?;
        let places = Places::parse_csv(&self.read("reference/municipalities.csv")?)
            .map_err(LoadError::Reference)?;
        Ok(Reference {
            taxonomy,
            places,
            lexicon: self.lexicon()?,
        })
    }

    /// The router's lexicon; a catalogue directory without one uses the built-in lexicon.
    fn lexicon(&self) -> Result<LexiconTexts, LoadError> {
        let read = |name: &str| -> Result<std::sync::Arc<str>, LoadError> {
            let relative = format!("lexicon/{name}");
            match self.read(&relative) {
                Err(LoadError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    CatalogueSource::Embedded.read(&relative).map(Into::into)
                }
                other => other.map(Into::into),
            }
        };
        Ok(LexiconTexts {
            concepts: read("concepts.json")?,
            forms: read("forms.tsv")?,
            frames: read("frames.json")?,
            situations: read("situations.json")?,
        })
    }

    /// The catalogue's agencies and entries.
    pub fn documents(&self) -> Result<Loaded, LoadError> {
        match self {
            CatalogueSource::Dir(dir) => documents_at(dir),
            CatalogueSource::Embedded => {
                let mut loaded = Loaded::default();
                let mut files: Vec<_> = Vec::new();
                collect_embedded(&EMBEDDED, &mut files);
                files.sort_by(|a, b| a.0.cmp(&b.0));
                for (path, text) in files {
                    add_document(&mut loaded, &format!("catalog/{path}"), &text);
                }
                Ok(loaded)
            }
        }
    }
}

fn collect_embedded(dir: &Dir<'static>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push((file.path().display().to_string(), text.to_string()));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

/// Every JSON document under `path` (a file, or a folder searched recursively): files named
/// `agencies.json` hold an array of agencies, `topics.json` is skipped, every other `.json`
/// file holds one entry or an array of entries.
pub fn documents_at(path: &Path) -> Result<Loaded, LoadError> {
    let mut files = Vec::new();
    walk(path, &mut files)?;
    files.sort();
    let mut loaded = Loaded::default();
    for file in files {
        let text = read_file(&file)?;
        add_document(&mut loaded, &file.display().to_string(), &text);
    }
    Ok(loaded)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        for item in std::fs::read_dir(path).map_err(io)? {
            walk(&item.map_err(io)?.path(), out)?;
        }
    } else if path.extension().is_some_and(|e| e == "json") {
        out.push(path.to_path_buf());
    } else if !path.exists() {
        return Err(io(std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn add_document(loaded: &mut Loaded, origin: &str, text: &str) {
    let name = Path::new(origin)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    // The taxonomy and the router's lexicon are reference data, not entries.
    let in_lexicon = Path::new(origin)
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|d| d == "lexicon");
    if name == "topics.json" || in_lexicon || !name.ends_with(".json") {
        return;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("not JSON: {e} (line {}, column {})", e.line(), e.column());
            loaded.unreadable.push((origin.to_string(), why));
            return;
        }
    };
    let target = if name == "agencies.json" {
        &mut loaded.documents.agencies
    } else {
        &mut loaded.documents.services
    };
    match value {
        Value::Array(items) => {
            for (i, value) in items.into_iter().enumerate() {
                target.push(SourceDocument {
                    origin: format!("{origin}#/{i}"),
                    value,
                });
            }
        }
        value => target.push(SourceDocument {
            origin: origin.to_string(),
            value,
        }),
    }
}
