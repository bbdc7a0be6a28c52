//! The router's understanding of language, loaded once from the catalogue's lexicon:
//! words ([`Lexicon`]), danger ([`Frames`]) and situations ([`Situations`]).

use super::analysis::{Analysis, analyse};
use super::danger::{Danger, Frames};
use super::lexicon::{ConceptId, Lexicon, LexiconError};
use super::meaning::{SituationTopic, Situations, present};
use crate::model::reference::LexiconTexts;

/// Everything the router knows of language.
#[derive(Debug)]
pub struct Understander {
    pub lexicon: Lexicon,
    pub frames: Frames,
    pub situations: Situations,
}

/// One question as understood.
#[derive(Debug)]
pub struct Reading<'u> {
    pub analysis: Analysis,
    pub danger: Danger<'u>,
    pub situations: Vec<SituationTopic<'u>>,
}

impl Understander {
    /// Parses the lexicon's files; topic ids they name must pass `topic_exists`.
    pub fn parse(
        texts: &LexiconTexts,
        topic_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Self, LexiconError> {
        let lexicon = Lexicon::parse(&texts.concepts, &texts.forms)?;
        let frames = Frames::parse(&texts.frames, &lexicon, topic_exists)?;
        let situations = Situations::parse(&texts.situations, &lexicon, topic_exists)?;
        Ok(Understander {
            lexicon,
            frames,
            situations,
        })
    }

    /// Reads a question. Nothing of it is kept.
    pub fn read(&self, question: &str) -> Reading<'_> {
        let analysis = analyse(&self.lexicon, question);
        let danger = self.frames.assess(&analysis);
        let situations = self.situations.topics(&present(&analysis, None));
        Reading {
            analysis,
            danger,
            situations,
        }
    }

    /// Concept ids as names, for reasons.
    pub fn names(&self, concepts: &[ConceptId]) -> String {
        concepts
            .iter()
            .map(|&c| self.lexicon.concept_name(c))
            .collect::<Vec<_>>()
            .join("+")
    }

    /// How a question was read, for people tuning the lexicon (`veiviser route --explain`).
    pub fn explain(&self, question: &str) -> String {
        use std::fmt::Write;
        let reading = self.read(question);
        let mut out = String::new();
        let analysis = &reading.analysis;
        let _ = writeln!(
            out,
            "read as {}",
            if analysis.english {
                "English"
            } else {
                "Norwegian"
            }
        );
        for (i, token) in analysis.tokens.iter().enumerate() {
            let lemmas: Vec<&str> = token
                .reading
                .lemmas
                .iter()
                .map(|&l| self.lexicon.lemma_name(l))
                .collect();
            let mentions: Vec<String> = analysis
                .mentions
                .iter()
                .filter(|m| m.start == i)
                .map(|m| {
                    let mut name = self.lexicon.concept_name(m.concept).to_string();
                    if m.end > m.start + 1 {
                        name.push_str(&format!("[..{}]", m.end - 1));
                    }
                    if m.negated {
                        name = format!("not {name}");
                    }
                    name
                })
                .collect();
            let _ = writeln!(
                out,
                "  {i:>2} {:<18} {:?} {:<28} {}",
                token.raw,
                token.reading.recognised,
                lemmas.join("|"),
                mentions.join(", ")
            );
        }
        for hit in &reading.danger.hits {
            let softened = hit
                .softened_by
                .map(|c| format!(" (softened by {})", self.lexicon.concept_name(c)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "danger {} {}: {}{softened}",
                hit.frame,
                hit.level.as_str(),
                self.names(&hit.signals)
            );
        }
        for found in &reading.situations {
            let _ = writeln!(
                out,
                "situation {} {:.2}: {}",
                found.topic,
                found.weight,
                self.names(&found.signals)
            );
        }
        out
    }
}
