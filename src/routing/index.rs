//! The router's immutable index, built whenever the catalogue changes: the taxonomy's
//! phrases as stems, every active entry's text as BM25 postings, and what the filters need.
//! A request reads one `Arc` of it and touches no storage.

use std::collections::BTreeMap;

// Lookups only, on maps built from the catalogue: a fast hasher, no flooding to fear.
use foldhash::{HashMap, HashMapExt};

use std::sync::Arc;

use super::text::{Analyzer, Vocabulary};
use super::understand::Understander;
use crate::model::entry::ChannelKind;
use crate::model::reference::Taxonomy;
use crate::model::{ServiceEntry, Status};

/// A taxonomy phrase that points at a topic.
#[derive(Debug)]
pub struct Phrase {
    pub stems: Vec<String>,
    /// The phrase as the taxonomy writes it, reported as what matched.
    pub text: String,
    /// `text` in lower case: a label that repeats a keyword counts once.
    pub lowercase: String,
    pub topic: usize,
}

/// One topic as the router sees it.
#[derive(Debug)]
pub struct TopicInfo {
    pub id: String,
    pub parent: Option<String>,
    /// The parent category's index.
    pub parent_index: Option<usize>,
    pub crisis: bool,
    pub route_first: Vec<String>,
    /// Positions of the `route_first` entries that are in the index, in curated order.
    pub route_first_positions: Vec<u32>,
    /// The reasons this topic gives, written once: `topic:<id>`, `topic_related:<id>`,
    /// `route_first:<id>`.
    pub reason_exact: String,
    pub reason_related: String,
    pub reason_route_first: String,
}

/// The reasons a kind of channel gives, written once.
#[derive(Debug)]
pub struct KindReasons {
    /// `open_now:<kind>`
    pub open_now: String,
    /// `health_critical:<kind>`
    pub health_critical: String,
    /// `channel:<kind>`
    pub channel: String,
}

/// An active entry with what ranking needs precomputed.
#[derive(Debug)]
pub struct IndexedEntry {
    pub entry: ServiceEntry,
    /// Its topics as indices into [`RouterIndex::topics`].
    pub topics: Vec<usize>,
    /// Number of content stems in its texts (BM25's document length).
    pub length: u32,
    /// Who provides the service, as a person reads it: the entry's `provider.name`, else
    /// its agency's name, else the agency's id. A stewarding agency is not the provider.
    pub provider: String,
}

/// Agency id → the agency's name.
pub type AgencyNames = BTreeMap<String, String>;

/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;

#[derive(Debug)]
pub struct RouterIndex {
    /// The lexicon, danger frames and situations, shared by every rebuild.
    pub understander: Arc<Understander>,
    pub analyzer: Analyzer,
    pub vocabulary: Vocabulary,
    pub topics: Vec<TopicInfo>,
    pub topic_by_id: HashMap<String, usize>,
    /// Phrases by their first stem.
    pub phrases: HashMap<String, Vec<Phrase>>,
    pub entries: Vec<IndexedEntry>,
    /// stem → (entry index, term frequency).
    postings: HashMap<String, Vec<(u32, u32)>>,
    average_length: f64,
    /// Id of the catalogue's general service, offered when nothing matches.
    pub fallback: Option<usize>,
    /// Topic id → entries tagged with it.
    by_topic: HashMap<String, Vec<u32>>,
    /// By `ChannelKind as usize`.
    kind_reasons: Vec<KindReasons>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer")
    }
}

impl RouterIndex {
    /// Builds the index over the active entries of `services`.
    pub fn build(
        understander: Arc<Understander>,
        taxonomy: &Taxonomy,
        services: Vec<ServiceEntry>,
        agency_names: &AgencyNames,
        fallback_id: &str,
    ) -> Self {
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
                parent_index: None,
                crisis: topic.possible_acute_crisis,
                route_first: topic.route_first.clone(),
                route_first_positions: Vec::new(),
                reason_exact: format!("topic:{}", topic.id),
                reason_related: format!("topic_related:{}", topic.id),
                reason_route_first: format!("route_first:{}", topic.id),
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
                    lowercase: text.to_lowercase(),
                    topic: index,
                });
            }
        }

        let mut entries = Vec::new();
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut total_length = 0u64;
        let mut services: Vec<ServiceEntry> = services
            .into_iter()
            .filter(|e| e.status == Status::Active)
            .collect();
        // Id order, so that ranking can break ties by position.
        services.sort_by(|a, b| a.id.cmp(&b.id));
        for entry in services {
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
            let topics = entry
                .topics
                .iter()
                .filter_map(|t| topic_by_id.get(t).copied())
                .collect();
            let provider = entry
                .provider
                .as_ref()
                .map(|p| p.name.clone())
                .or_else(|| agency_names.get(&entry.agency).cloned())
                .unwrap_or_else(|| entry.agency.clone());
            entries.push(IndexedEntry {
                entry,
                topics,
                length,
                provider,
            });
        }
        let average_length = if entries.is_empty() {
            1.0
        } else {
            (total_length as f64 / entries.len() as f64).max(1.0)
        };
        let fallback = entries.iter().position(|e| e.entry.id == fallback_id);
        let positions: HashMap<&str, u32> = entries
            .iter()
            .enumerate()
            .map(|(p, e)| (e.entry.id.as_str(), p as u32))
            .collect();
        for topic in &mut topics {
            topic.parent_index = topic
                .parent
                .as_ref()
                .and_then(|p| topic_by_id.get(p).copied());
            topic.route_first_positions = topic
                .route_first
                .iter()
                .filter_map(|id| positions.get(id.as_str()).copied())
                .collect();
        }
        let mut by_topic: HashMap<String, Vec<u32>> = HashMap::new();
        for (position, indexed) in entries.iter().enumerate() {
            for topic in &indexed.entry.topics {
                by_topic
                    .entry(topic.clone())
                    .or_default()
                    .push(position as u32);
            }
        }
        RouterIndex {
            understander,
            analyzer,
            vocabulary,
            topics,
            topic_by_id,
            phrases,
            entries,
            postings,
            average_length,
            fallback,
            by_topic,
            kind_reasons: ChannelKind::ALL
                .iter()
                .map(|kind| KindReasons {
                    open_now: format!("open_now:{}", kind.as_str()),
                    health_critical: format!("health_critical:{}", kind.as_str()),
                    channel: format!("channel:{}", kind.as_str()),
                })
                .collect(),
        }
    }

    /// The position of the entry with this id.
    pub fn position_of(&self, id: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|e| e.entry.id.as_str().cmp(id))
            .ok()
    }

    /// The reasons a kind of channel gives.
    pub fn kind_reasons(&self, kind: ChannelKind) -> &KindReasons {
        &self.kind_reasons[kind as usize]
    }

    /// BM25 scores of the entries that share a stem with the query.
    pub fn relevance(&self, query: &[Vec<(String, bool)>]) -> Relevance {
        let n = self.entries.len() as f64;
        let mut relevance = Relevance {
            scores: vec![0.0; self.entries.len()],
            touched: Vec::new(),
            best: 0.0,
        };
        // A question has a handful of stems: a list beats a set.
        let mut seen: Vec<&str> = Vec::new();
        for alternatives in query {
            for (stem, fuzzy) in alternatives {
                if seen.contains(&stem.as_str()) {
                    continue;
                }
                seen.push(stem);
                let Some(postings) = self.postings.get(stem) else {
                    continue;
                };
                let df = postings.len() as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                let weight = if *fuzzy { 0.8 } else { 1.0 };
                for &(entry, tf) in postings {
                    let tf = f64::from(tf);
                    let length = f64::from(self.entries[entry as usize].length);
                    let norm =
                        tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / self.average_length));
                    let score = &mut relevance.scores[entry as usize];
                    if *score == 0.0 {
                        relevance.touched.push(entry);
                    }
                    *score += weight * idf * norm;
                }
            }
        }
        relevance.best = relevance
            .touched
            .iter()
            .map(|&e| relevance.scores[e as usize])
            .fold(0.0, f64::max);
        relevance
    }

    /// Entries that may match, in position (= id) order without repeats: tagged with one
    /// of `topics`, with its parent category or one of its subtopics, named in its curated
    /// order, or relevant enough to the question's words.
    pub fn candidates(
        &self,
        topics: impl Iterator<Item = usize>,
        relevance: &Relevance,
    ) -> Vec<usize> {
        let mut marked = vec![0u64; self.entries.len().div_ceil(64)];
        let mut mark = |position: u32| marked[position as usize / 64] |= 1 << (position % 64);
        for &position in &relevance.touched {
            if relevance.counts(position) {
                mark(position);
            }
        }
        for topic in topics {
            let info = &self.topics[topic];
            let children = self
                .topics
                .iter()
                .filter(|t| t.parent.as_deref() == Some(&info.id))
                .map(|t| t.id.as_str());
            let related = std::iter::once(info.id.as_str())
                .chain(info.parent.as_deref())
                .chain(children);
            for id in related {
                self.by_topic
                    .get(id)
                    .into_iter()
                    .flatten()
                    .for_each(|&p| mark(p));
            }
            info.route_first_positions.iter().for_each(|&p| mark(p));
        }
        let mut found = Vec::new();
        for (word_index, mut word) in marked.into_iter().enumerate() {
            while word != 0 {
                let bit = word.trailing_zeros() as usize;
                found.push(word_index * 64 + bit);
                word &= word - 1;
            }
        }
        found
    }
}

/// Text relevance of entries to one question.
pub struct Relevance {
    /// By entry position; 0 where no word is shared.
    scores: Vec<f64>,
    touched: Vec<u32>,
    pub best: f64,
}

impl Relevance {
    /// Relevance counts when it is at least a fifth of the best entry's.
    pub fn counts(&self, position: u32) -> bool {
        self.best > 0.0 && self.scores[position as usize] >= 0.2 * self.best
    }

    /// The score relative to the best one (0 to 1), where it counts.
    pub fn share(&self, position: u32) -> Option<f64> {
        self.counts(position)
            .then(|| self.scores[position as usize] / self.best)
    }
}
