//! What a question is about: the concepts it mentions, read against combinations of
//! concepts written in the catalogue's lexicon (`situations.json`, and the danger frames
//! in [`super::danger`]). Plain data in, plain data out: nothing here knows of services.

use serde::Deserialize;

use super::analysis::Analysis;
use super::lexicon::{ConceptId, Lexicon, LexiconError};

/// Alternatives of slots: the condition holds when, for one alternative, every slot has a
/// counted mention of one of its concepts.
#[derive(Debug, Clone)]
pub struct Condition {
    alternatives: Vec<Vec<Vec<ConceptId>>>,
}

/// Where one alternative held: for each slot, the concept that filled it.
pub type Signals = Vec<ConceptId>;

impl Condition {
    /// Compiles `[["a|b", "c"], …]` against the lexicon.
    pub fn compile(
        lexicon: &Lexicon,
        when: &[Vec<String>],
        what: &str,
    ) -> Result<Self, LexiconError> {
        if when.is_empty() || when.iter().any(Vec::is_empty) {
            return Err(LexiconError(format!("{what}: an empty condition")));
        }
        let alternatives = when
            .iter()
            .map(|slots| {
                slots
                    .iter()
                    .map(|slot| {
                        slot.split('|')
                            .map(|id| {
                                lexicon
                                    .concept(id.trim())
                                    .map_err(|e| LexiconError(format!("{what}: {}", e.0)))
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Condition { alternatives })
    }

    /// The first alternative that holds over `present`, with the concepts that filled it.
    /// `present` is sorted.
    pub fn holds(&self, present: &[ConceptId]) -> Option<Signals> {
        // Called for every frame and situation on every question: nothing is allocated
        // until an alternative is known to hold.
        let filled = |slot: &[ConceptId]| {
            slot.iter()
                .copied()
                .find(|c| present.binary_search(c).is_ok())
        };
        let slots = self
            .alternatives
            .iter()
            .find(|slots| slots.iter().all(|slot| filled(slot).is_some()))?;
        Some(slots.iter().filter_map(|slot| filled(slot)).collect())
    }
}

/// The concepts counted in a stretch of the question (not negated), sorted and unique.
pub fn present(analysis: &Analysis, sentence: Option<u16>) -> Vec<ConceptId> {
    let mut present: Vec<ConceptId> = analysis
        .mentions
        .iter()
        .filter(|m| !m.negated && sentence.is_none_or(|s| m.sentence == s))
        .map(|m| m.concept)
        .collect();
    present.sort_unstable();
    present.dedup();
    present
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SituationsFile {
    #[serde(default)]
    #[allow(dead_code)]
    about: Vec<String>,
    situations: Vec<SituationSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SituationSpec {
    topics: Vec<String>,
    when: Vec<Vec<String>>,
}

/// A situation and the topics it is about, first most.
#[derive(Debug, Clone)]
pub struct Situation {
    pub topics: Vec<String>,
    pub condition: Condition,
}

/// `situations.json`, compiled.
#[derive(Debug, Clone, Default)]
pub struct Situations {
    pub situations: Vec<Situation>,
}

/// A topic a situation found, with its weight and the concepts that showed it.
#[derive(Debug, Clone, PartialEq)]
pub struct SituationTopic<'s> {
    pub topic: &'s str,
    pub weight: f64,
    pub signals: Signals,
}

impl Situations {
    pub fn parse(
        json: &str,
        lexicon: &Lexicon,
        topic_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Self, LexiconError> {
        let file: SituationsFile = serde_json::from_str(json)
            .map_err(|e| LexiconError(format!("situations.json: {e}")))?;
        let mut situations = Vec::with_capacity(file.situations.len());
        for (i, spec) in file.situations.into_iter().enumerate() {
            let what = format!("situations.json situation {i}");
            if let Some(unknown) = spec.topics.iter().find(|t| !topic_exists(t)) {
                return Err(LexiconError(format!("{what}: unknown topic '{unknown}'")));
            }
            let condition = Condition::compile(lexicon, &spec.when, &what)?;
            situations.push(Situation {
                topics: spec.topics,
                condition,
            });
        }
        Ok(Situations { situations })
    }

    /// The topics the question is about, by the situations that hold over `present`.
    /// A situation with more slots says more: it weighs more.
    pub fn topics(&self, present: &[ConceptId]) -> Vec<SituationTopic<'_>> {
        let mut found: Vec<SituationTopic<'_>> = Vec::new();
        for situation in &self.situations {
            let Some(signals) = situation.condition.holds(present) else {
                continue;
            };
            let strength = 1.0 + 0.5 * (signals.len() as f64 - 1.0);
            for (rank, topic) in situation.topics.iter().enumerate() {
                let weight = strength * if rank == 0 { 1.5 } else { 0.9 };
                match found.iter_mut().find(|f| f.topic == topic) {
                    Some(f) if f.weight >= weight => {}
                    Some(f) => {
                        f.weight = weight;
                        f.signals = signals.clone();
                    }
                    None => found.push(SituationTopic {
                        topic,
                        weight,
                        signals: signals.clone(),
                    }),
                }
            }
        }
        found
    }
}
