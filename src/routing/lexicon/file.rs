//! The shape of `catalog/lexicon/concepts.json`, the hand-written half of the lexicon: which
//! concepts exist and which words, phrases and idioms express them. The generated half,
//! `forms.tsv`, is derived from it by `veiviser lexicon build`.

use serde::Deserialize;

/// `concepts.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptsFile {
    /// What the file is, for people reading it.
    #[serde(default)]
    pub about: Vec<String>,
    pub concepts: Vec<ConceptSpec>,
    /// Fixed expressions whose words must not be read one by one ("the death of me",
    /// "døde av latter"): their tokens carry only the concepts given here.
    #[serde(default)]
    pub idioms: Vec<IdiomSpec>,
    /// Spellings dictionaries do not know (dialect, slang, chat shorthand), each mapped to the
    /// word it stands for: `"itj": "ikke"`, `"ka": "hva"`, `"kms": "kill myself"`.
    #[serde(default)]
    pub spellings: std::collections::BTreeMap<String, String>,
    /// Function words (articles, conjunctions, question words) that carry no content word's
    /// concept, whatever else a dictionary says they may be: "et" is also the imperative of
    /// "ete", "når" a form of "nå", "kor" a choir, "at" is "åt" typed without å.
    #[serde(default)]
    pub function_words: Vec<String>,
}

/// One concept: a class of words and phrases that mean the same for routing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptSpec {
    /// Kebab-case id, referred to by frames and topics.
    pub id: String,
    /// What the concept means, for people reading the file.
    #[serde(default)]
    pub note: Option<String>,
    /// Bokmål lemmas (dictionary forms); every inflected form is found from them. A word
    /// with spaces is a phrase. `word:n`, `:v`, `:adj` keep only that part of speech.
    #[serde(default)]
    pub nb: Vec<String>,
    /// Nynorsk lemmas, besides the Apertium translations of the Bokmål ones.
    #[serde(default)]
    pub nn: Vec<String>,
    /// English words (base forms; plurals and verb forms are generated).
    #[serde(default)]
    pub en: Vec<String>,
    /// Patterns over words: each word stands for all its inflected forms, `@concept` for any
    /// word or phrase of that concept, `*` for any one word. Stopwords between the parts are
    /// skipped.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Synonyms taken from the MyThes Norwegian thesaurus: one sense of one word, less the
    /// synonyms that do not fit.
    #[serde(default)]
    pub thesaurus: Vec<ThesaurusPick>,
    /// Also the English words whose FreeDict translation is one of the Bokmål lemmas.
    #[serde(default)]
    pub freedict: bool,
    /// When negated ("puster ikke"), the concept this one becomes ("not-breathing"). Without
    /// it, a negated mention does not count.
    #[serde(default)]
    pub negated: Option<String>,
    /// Mentions count even when negated (the negation words themselves, "ingen").
    #[serde(default)]
    pub ignores_negation: bool,
}

/// Synonyms of one sense of one thesaurus word.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThesaurusPick {
    pub word: String,
    /// The sense, counted from 1 as the thesaurus lists them.
    pub sense: usize,
    /// The part of speech its synonyms are taken in (`n`, `v`, `adj`).
    #[serde(default)]
    pub pos: Option<String>,
    /// Synonyms of that sense that do not mean the concept.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A fixed expression read as a whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdiomSpec {
    /// Patterns as in [`ConceptSpec::phrases`].
    pub phrases: Vec<String>,
    /// The concepts its words carry instead of their own (often `exaggeration`).
    #[serde(default)]
    pub means: Vec<String>,
}

impl ConceptsFile {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("concepts.json: {e}"))
    }
}

/// A lemma with an optional part of speech: `gift:n`.
pub fn split_pos(word: &str) -> (&str, Option<&str>) {
    match word.rsplit_once(':') {
        Some((lemma, pos)) if matches!(pos, "n" | "v" | "adj" | "adv") => (lemma, Some(pos)),
        _ => (word, None),
    }
}
