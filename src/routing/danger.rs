//! Danger recognition: compositional frames over concept classes, not phrase lists.
//!
//! A frame ("poisoning") holds when a question mentions, say, taking something, a substance
//! and a large amount or a bad sign, in whatever words (`catalog/lexicon/frames.json`). Each
//! frame gives a level, the services that should come first and the topics it is about.
//! Precision matters as much as recall: a knowledge question, a game, a joke or the past
//! (`unless`) turns a frame into a concern, without a crisis banner, unless a sign that it
//! is happening (`escalate`, "now", "he is not breathing") is there too.

use serde::Deserialize;

use super::analysis::Analysis;
use super::lexicon::{ConceptId, Lexicon, LexiconError};
use super::meaning::{Condition, Signals, present};

/// How serious a danger is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth understanding, no crisis banner.
    Concern,
    /// Crisis lines and emergency services first.
    Crisis,
    /// Life in danger now: emergency numbers first.
    Acute,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Concern => "concern",
            Level::Crisis => "crisis",
            Level::Acute => "acute",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scope {
    /// Every slot within one sentence.
    Sentence,
    #[default]
    Question,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FramesFile {
    #[serde(default)]
    #[allow(dead_code)]
    about: Vec<String>,
    /// Escalating signals that say when, not what ("now", "again"): they escalate a frame
    /// only in a sentence that holds its evidence, so that "I am fine now" after a past
    /// event, or "help" in a question about a school project, is no sign it is happening.
    #[serde(default)]
    escalate_in_sentence: Vec<String>,
    frames: Vec<FrameSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameSpec {
    id: String,
    level: Level,
    #[serde(default)]
    scope: Scope,
    when: Vec<Vec<String>>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    escalate: Vec<String>,
    #[serde(default)]
    lead: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
}

/// One frame, compiled.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: String,
    pub level: Level,
    scope: Scope,
    condition: Condition,
    unless: Vec<ConceptId>,
    escalate: Vec<ConceptId>,
    /// Service ids, first first.
    pub lead: Vec<String>,
    pub topics: Vec<String>,
}

/// `frames.json`, compiled.
#[derive(Debug, Clone, Default)]
pub struct Frames {
    pub frames: Vec<Frame>,
    /// Escalating signals that count only in a sentence of the frame's evidence.
    in_sentence: Vec<ConceptId>,
}

/// A frame that held.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'f> {
    pub frame: &'f str,
    pub level: Level,
    /// The concepts that filled its slots.
    pub signals: Signals,
    /// What turned it into a concern, when something did.
    pub softened_by: Option<ConceptId>,
    pub lead: &'f [String],
    pub topics: &'f [String],
}

/// What a question signals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Danger<'f> {
    /// Every frame that held, the most serious first (then in the file's order).
    pub hits: Vec<Hit<'f>>,
}

impl Danger<'_> {
    /// The most serious level, if any frame held.
    pub fn level(&self) -> Option<Level> {
        self.hits.first().map(|h| h.level)
    }

    /// Whether the question calls for a crisis answer.
    pub fn crisis(&self) -> bool {
        self.level().is_some_and(|l| l >= Level::Crisis)
    }
}

impl Frames {
    pub fn parse(
        json: &str,
        lexicon: &Lexicon,
        topic_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Self, LexiconError> {
        let file: FramesFile =
            serde_json::from_str(json).map_err(|e| LexiconError(format!("frames.json: {e}")))?;
        let in_sentence = file
            .escalate_in_sentence
            .iter()
            .map(|id| {
                lexicon
                    .concept(id)
                    .map_err(|e| LexiconError(format!("frames.json escalate_in_sentence: {}", e.0)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut frames = Vec::with_capacity(file.frames.len());
        for spec in file.frames {
            let what = format!("frames.json frame '{}'", spec.id);
            if let Some(unknown) = spec.topics.iter().find(|t| !topic_exists(t)) {
                return Err(LexiconError(format!("{what}: unknown topic '{unknown}'")));
            }
            let concepts = |ids: &[String]| {
                ids.iter()
                    .map(|id| {
                        lexicon
                            .concept(id)
                            .map_err(|e| LexiconError(format!("{what}: {}", e.0)))
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            frames.push(Frame {
                condition: Condition::compile(lexicon, &spec.when, &what)?,
                unless: concepts(&spec.unless)?,
                escalate: concepts(&spec.escalate)?,
                id: spec.id,
                level: spec.level,
                scope: spec.scope,
                lead: spec.lead,
                topics: spec.topics,
            });
        }
        Ok(Frames {
            frames,
            in_sentence,
        })
    }

    /// The frames that hold for a question.
    pub fn assess(&self, analysis: &Analysis) -> Danger<'_> {
        let whole = present(analysis, None);
        let sentences: Vec<Vec<ConceptId>> =
            if self.frames.iter().any(|f| f.scope == Scope::Sentence) {
                (0..analysis.sentences())
                    .map(|s| present(analysis, Some(s)))
                    .collect()
            } else {
                Vec::new()
            };
        let mut hits = Vec::new();
        for frame in &self.frames {
            let signals = match frame.scope {
                Scope::Question => frame.condition.holds(&whole),
                Scope::Sentence => sentences.iter().find_map(|p| frame.condition.holds(p)),
            };
            let Some(signals) = signals else { continue };
            let has = |c: &ConceptId| whole.binary_search(c).is_ok();
            // A word that is itself a signal does not also say it is a game: in
            // "blodtrykkspillene" the pills are the danger, the "spill" a second reading.
            let on_signal = |m: &crate::routing::analysis::Mention| {
                analysis.mentions.iter().any(|s| {
                    !s.negated && signals.contains(&s.concept) && s.start < m.end && m.start < s.end
                })
            };
            let softened_by = frame.unless.iter().copied().find(|c| {
                analysis
                    .mentions
                    .iter()
                    .any(|m| m.concept == *c && !m.negated && !on_signal(m))
            });
            // A sign that it is happening outweighs what made it sound like a question,
            // unless the sign is one of the frame's own signals: "er det farlig å ta 20
            // paracet" has a large amount, which is the question, not a sign.
            let evidence: Vec<u16> = analysis
                .mentions
                .iter()
                .filter(|m| !m.negated && signals.contains(&m.concept))
                .map(|m| m.sentence)
                .collect();
            let escalated = frame.escalate.iter().any(|c| {
                if signals.contains(c) {
                    return false;
                }
                if self.in_sentence.contains(c) {
                    analysis
                        .mentions
                        .iter()
                        .any(|m| m.concept == *c && !m.negated && evidence.contains(&m.sentence))
                } else {
                    has(c)
                }
            });
            let (level, softened_by) = match softened_by {
                Some(by) if !escalated => (Level::Concern, Some(by)),
                _ => (frame.level, None),
            };
            hits.push(Hit {
                frame: &frame.id,
                level,
                signals,
                softened_by,
                lead: &frame.lead,
                topics: &frame.topics,
            });
        }
        // Most serious first; the file's order among equals (a stable sort).
        hits.sort_by_key(|h| std::cmp::Reverse(h.level));
        Danger { hits }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::analysis::analyse;

    const CONCEPTS: &str = r#"{"concepts": [
        {"id": "overdose", "en": ["overdose"]},
        {"id": "info-question", "en": ["project"]},
        {"id": "now", "en": ["now"]},
        {"id": "unresponsive", "en": ["unconscious"]}
    ]}"#;
    const FORMS: &str = "overdose\toverdose\toverdose\ten\n\
        project\tproject\tinfo-question\ten\n\
        now\tnow\tnow\ten\n\
        unconscious\tunconscious\tunresponsive\ten\n\
        a\ta\t\ten\n\
        is\tbe\t\ten\n\
        he\the\t\ten\n";
    const FRAMES: &str = r#"{
        "escalate_in_sentence": ["now"],
        "frames": [{"id": "poisoning", "level": "acute", "when": [["overdose"]],
                    "unless": ["info-question"], "escalate": ["now", "unresponsive"]}]
    }"#;

    fn level(question: &str) -> Option<Level> {
        let lexicon = Lexicon::parse(CONCEPTS, FORMS).unwrap();
        let frames = Frames::parse(FRAMES, &lexicon, &|_| true).unwrap();
        frames.assess(&analyse(&lexicon, question)).level()
    }

    #[test]
    fn a_sign_of_when_escalates_only_beside_the_danger_it_dates() {
        assert_eq!(level("overdose now"), Some(Level::Acute));
        assert_eq!(level("a project overdose"), Some(Level::Concern));
        assert_eq!(level("a project overdose now"), Some(Level::Acute));
        // "now" in another sentence is not about the overdose.
        assert_eq!(level("a project overdose. now is a"), Some(Level::Concern));
        // A sign of what is happening escalates wherever it stands.
        assert_eq!(
            level("a project overdose. he is unconscious"),
            Some(Level::Acute)
        );
    }
}
