//! Reference data the validator and router check against: the topic taxonomy and
//! Norway's 2024 municipalities and counties (SSB KLASS 131).
//!
//! Parsed from text handed in by the caller; this module does no file I/O.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A topic of the routing taxonomy: a category or one of its subtopics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    pub id: String,
    /// The category a subtopic belongs to; `None` for categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Labels by language tag.
    pub label: BTreeMap<String, String>,
    /// Words and phrases young people use for this topic, in Bokmål.
    #[serde(default)]
    pub keywords_nb: Vec<String>,
    /// The same in Nynorsk and in English (added for the router).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords_nn: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords_en: Vec<String>,
    /// Questions on this topic may signal acute danger.
    #[serde(default)]
    pub possible_acute_crisis: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crisis_kind: Option<String>,
    /// Service ids to list first for this topic, in order.
    #[serde(default)]
    pub route_first: Vec<String>,
}

/// The routing taxonomy (`catalog/topics.json`).
#[derive(Debug, Clone, Default)]
pub struct Taxonomy {
    topics: Vec<Topic>,
    by_id: HashMap<String, usize>,
    /// Words that signal acute danger whatever the topic ("akkurat nå", "i natt").
    pub acute_signal_keywords_nb: Vec<String>,
    /// The taxonomy document as published, for `GET /v1/topics`.
    pub document: serde_json::Value,
}

#[derive(Deserialize)]
struct TaxonomyFile {
    categories: Vec<CategoryFile>,
    #[serde(default)]
    crisis_routing: Option<CrisisRoutingFile>,
}

#[derive(Deserialize)]
struct CategoryFile {
    id: String,
    label: BTreeMap<String, String>,
    #[serde(default)]
    subtopics: Vec<Topic>,
}

#[derive(Deserialize)]
struct CrisisRoutingFile {
    #[serde(default)]
    acute_signal_keywords_nb: Vec<String>,
}

impl Taxonomy {
    /// Parses the taxonomy file: categories, each with subtopics; ids unique across both.
    pub fn parse(json: &str) -> Result<Self, String> {
        let document: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("topics: {e}"))?;
        let file: TaxonomyFile =
            serde_json::from_value(document.clone()).map_err(|e| format!("topics: {e}"))?;
        let mut topics = Vec::new();
        for category in file.categories {
            topics.push(Topic {
                id: category.id.clone(),
                parent: None,
                label: category.label,
                keywords_nb: Vec::new(),
                keywords_nn: Vec::new(),
                keywords_en: Vec::new(),
                possible_acute_crisis: false,
                crisis_kind: None,
                route_first: Vec::new(),
            });
            for mut sub in category.subtopics {
                sub.parent = Some(category.id.clone());
                topics.push(sub);
            }
        }
        let mut by_id = HashMap::new();
        for (i, t) in topics.iter().enumerate() {
            if by_id.insert(t.id.clone(), i).is_some() {
                return Err(format!("topics: the id '{}' is used twice", t.id));
            }
        }
        Ok(Taxonomy {
            topics,
            by_id,
            acute_signal_keywords_nb: file
                .crisis_routing
                .map(|c| c.acute_signal_keywords_nb)
                .unwrap_or_default(),
            document,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Topic> {
        self.by_id.get(id).map(|&i| &self.topics[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The closest known id to an unknown one, for a "did you mean" hint: an id whose
    /// label or spelling matches, or the id within a small edit distance.
    pub fn suggest(&self, unknown: &str) -> Option<&str> {
        let wanted = unknown.trim().to_lowercase().replace([' ', '_'], "-");
        if let Some(t) = self.get(&wanted) {
            return Some(&t.id);
        }
        if let Some(t) = self.topics.iter().find(|t| {
            t.label
                .values()
                .any(|l| l.to_lowercase() == unknown.trim().to_lowercase())
        }) {
            return Some(&t.id);
        }
        let limit = (wanted.chars().count() / 3).max(2);
        self.topics
            .iter()
            .map(|t| (strsim::levenshtein(&wanted, &t.id), &t.id))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, id)| id.as_str())
    }
}

/// A municipality (kommune) valid from 1 January 2024.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Municipality {
    pub code: String,
    pub name: String,
    pub county_code: String,
}

/// Norway's municipalities and counties as of 2024.
#[derive(Debug, Clone, Default)]
pub struct Places {
    municipalities: BTreeMap<String, Municipality>,
    counties: BTreeMap<String, String>,
}

impl Places {
    /// Parses `municipality_code,municipality_name,county_code,county_name` with a header line.
    pub fn parse_csv(csv: &str) -> Result<Self, String> {
        let mut places = Places::default();
        for (n, line) in csv.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let [code, name, county_code, county_name] = cols[..] else {
                return Err(format!("municipalities line {}: expected 4 columns", n + 1));
            };
            if code.len() != 4 || county_code.len() != 2 || !code.starts_with(county_code) {
                return Err(format!("municipalities line {}: bad codes", n + 1));
            }
            places
                .counties
                .insert(county_code.to_string(), county_name.to_string());
            places.municipalities.insert(
                code.to_string(),
                Municipality {
                    code: code.to_string(),
                    name: name.to_string(),
                    county_code: county_code.to_string(),
                },
            );
        }
        if places.municipalities.is_empty() {
            return Err("municipalities: no rows".into());
        }
        Ok(places)
    }

    pub fn municipality(&self, code: &str) -> Option<&Municipality> {
        self.municipalities.get(code)
    }

    pub fn county_name(&self, code: &str) -> Option<&str> {
        self.counties.get(code).map(String::as_str)
    }

    pub fn municipality_count(&self) -> usize {
        self.municipalities.len()
    }

    pub fn county_count(&self) -> usize {
        self.counties.len()
    }
}

/// All reference data, loaded once at start-up and shared.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub taxonomy: Taxonomy,
    pub places: Places,
    pub lexicon: LexiconTexts,
}

/// The router's lexicon as its files hold it (`catalog/lexicon/`); the router parses it.
#[derive(Debug, Clone, Default)]
pub struct LexiconTexts {
    /// `concepts.json`: concepts, idioms and spellings, written by hand.
    pub concepts: std::sync::Arc<str>,
    /// `forms.tsv`: every word form with its lemmas and concepts, generated.
    pub forms: std::sync::Arc<str>,
    /// `frames.json`: danger frames.
    pub frames: std::sync::Arc<str>,
    /// `situations.json`: what questions are about.
    pub situations: std::sync::Arc<str>,
}
