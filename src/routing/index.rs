//! The router's immutable index, built whenever the catalogue changes: the taxonomy's
//! phrases as stems, every active entry's text as BM25 postings, and what the filters need.
//! A request reads one `Arc` of it and touches no storage.

use std::collections::{BTreeMap, HashMap};

use super::text::{Analyzer, Vocabulary};
use crate::model::reference::Taxonomy;
use crate::model::{ServiceEntry, Status};

/// A taxonomy phrase that points at a topic.
#[derive(Debug)]
pub struct Phrase {
    pub stems: Vec<String>,
    /// The phrase as the taxonomy writes it, reported as what matched.
    pub text: String,
    pub topic: usize,
}

/// One topic as the router sees it.
#[derive(Debug)]
pub struct TopicInfo {
    pub id: String,
    pub parent: Option<String>,
    pub crisis: bool,
    pub route_first: Vec<String>,
}

/// An active entry with what ranking needs precomputed.
#[derive(Debug)]
pub struct IndexedEntry {
    pub entry: ServiceEntry,
    /// Number of content stems in its texts (BM25's document length).
    pub length: u32,
}

/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;

#[derive(Debug)]
pub struct RouterIndex {
    pub analyzer: Analyzer,
    pub vocabulary: Vocabulary,
    pub topics: Vec<TopicInfo>,
    pub topic_by_id: HashMap<String, usize>,
    /// Phrases by their first stem.
    pub phrases: HashMap<String, Vec<Phrase>>,
    /// Acute-signal phrases ("akkurat nå", "i natt").
    pub acute_signals: Vec<Vec<String>>,
    pub entries: Vec<IndexedEntry>,
    /// stem → (entry index, term frequency).
    postings: HashMap<String, Vec<(u32, u32)>>,
    average_length: f64,
    /// Id of the catalogue's general service, offered when nothing matches.
    pub fallback: Option<usize>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer")
    }
}

/// Acute signals that say nothing on their own ("nå" is in half of all questions).
const WEAK_SIGNALS: &[&str] = &["nå"];

impl RouterIndex {
    /// Builds the index over the active entries of `services`.
    pub fn build(taxonomy: &Taxonomy, services: Vec<ServiceEntry>, fallback_id: &str) -> Self {
        let analyzer = Analyzer::default();
        let mut vocabulary = Vocabulary::default();
        let mut topics = Vec::new();
        let mut topic_by_id = HashMap::new();
        let mut phrases: HashMap<String, Vec<Phrase>> = HashMap::new();
        for (index, topic) in taxonomy.topics().iter().enumerate() {
            topic_by_id.insert(topic.id.clone(), index);
            topics.push(TopicInfo {
                id: topic.id.clone(),
                parent: topic.parent.clone(),
                crisis: topic.possible_acute_crisis,
                route_first: topic.route_first.clone(),
            });
            let words = topic
                .keywords_nb
                .iter()
                .chain(&topic.keywords_nn)
                .chain(&topic.keywords_en)
                .chain(topic.label.values());
            for text in words {
                let stems = analyzer.stems(text);
                let Some(first) = stems.first().cloned() else {
                    continue;
                };
                // "hår" folds to "har" (has): a one-word synonym that is a stopword would
                // match nearly every question.
                if stems.len() == 1 && super::text::is_stopword(&first) {
                    continue;
                }
                for stem in &stems {
                    vocabulary.insert(stem);
                }
                phrases.entry(first).or_default().push(Phrase {
                    stems,
                    text: text.clone(),
                    topic: index,
                });
            }
        }
        let acute_signals = taxonomy
            .acute_signal_keywords_nb
            .iter()
            .filter(|s| !WEAK_SIGNALS.contains(&s.as_str()))
            .map(|s| analyzer.stems(s))
            .filter(|s| !s.is_empty())
            .collect();

        let mut entries = Vec::new();
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut total_length = 0u64;
        for entry in services.into_iter().filter(|e| e.status == Status::Active) {
            let mut counts: BTreeMap<String, u32> = BTreeMap::new();
            let texts = entry
                .name
                .texts()
                .chain(entry.summary.texts())
                .chain(entry.keywords.iter().map(String::as_str));
            let mut length = 0u32;
            for text in texts {
                for stem in analyzer.content_stems(text) {
                    vocabulary.insert(&stem);
                    *counts.entry(stem).or_default() += 1;
                    length += 1;
                }
            }
            let at = entries.len() as u32;
            for (stem, tf) in counts {
                postings.entry(stem).or_default().push((at, tf));
            }
            total_length += u64::from(length);
            entries.push(IndexedEntry { entry, length });
        }
        let average_length = if entries.is_empty() {
            1.0
        } else {
            (total_length as f64 / entries.len() as f64).max(1.0)
        };
        let fallback = entries.iter().position(|e| e.entry.id == fallback_id);
        RouterIndex {
            analyzer,
            vocabulary,
            topics,
            topic_by_id,
            phrases,
            acute_signals,
            entries,
            postings,
            average_length,
            fallback,
        }
    }

    /// BM25 scores of the entries that share a stem with the query, by entry index.
    pub fn relevance(&self, query: &[Vec<(String, bool)>]) -> HashMap<u32, f64> {
        let n = self.entries.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for alternatives in query {
            for (stem, fuzzy) in alternatives {
                if !seen.insert(stem.as_str()) {
                    continue;
                }
                let Some(postings) = self.postings.get(stem) else {
                    continue;
                };
                let df = postings.len() as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                let weight = if *fuzzy { 0.8 } else { 1.0 };
                for (entry, tf) in postings {
                    let tf = f64::from(*tf);
                    let length = f64::from(self.entries[*entry as usize].length);
                    let norm =
                        tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / self.average_length));
                    *scores.entry(*entry).or_default() += weight * idf * norm;
                }
            }
        }
        scores
    }
}
