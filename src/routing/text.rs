//! Text analysis for the router, applied the same way to questions, the taxonomy's synonyms
//! and entries' texts: Unicode NFC, lower case, the ASCII spellings of æ, ø and å folded
//! together with the letters themselves, tokens, and Norwegian Snowball stems.

use foldhash::{HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

/// Turns text into stems. Build once; analysis holds no state.
pub struct Analyzer {
    stemmer: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            stemmer: Stemmer::create(Algorithm::Norwegian),
        }
    }
}

/// Words that carry no meaning for routing on their own (Bokmål, Nynorsk, English). They
/// still take part in phrases ("ta livet mitt").
const NORWEGIAN_STOPWORDS: &[&str] = &[
    "jeg", "eg", "meg", "deg", "du", "han", "hun", "ho", "vi", "me", "de", "dei", "det", "den",
    "er", "var", "vart", "ble", "blir", "har", "hadde", "kan", "skal", "vil", "ma", "og", "i",
    "pa", "til", "fra", "fraa", "med", "for", "av", "om", "som", "at", "en", "ein", "et", "eit",
    "ei", "min", "mi", "mitt", "mine", "din", "ditt", "sin", "seg", "hva", "kva", "hvordan",
    "korleis", "hvor", "kor", "hvem", "kven", "nar", "ikke", "ikkje", "noe", "noko", "litt",
    "bare", "berre", "sa", "sann", "noen", "nokon", "alle", "veldig", "mye", "mykje",
];

const ENGLISH_STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "is",
    "am",
    "are",
    "to",
    "and",
    "of",
    "in",
    "on",
    "my",
    "me",
    "what",
    "how",
    "do",
    "does",
    "can",
    "it",
    "that",
    "this",
    "with",
    "for",
    "at",
    "be",
    "have",
    "has",
    "not",
    "dont",
    "im",
    "about",
    "get",
    "someone",
    "something",
];

impl Analyzer {
    /// Stems of `text` in order, stopwords included.
    pub fn stems(&self, text: &str) -> Vec<String> {
        tokens(&fold(text)).map(|token| self.stem(token)).collect()
    }

    /// Stems of `text` in order, each with whether the word was a stopword — judged on the
    /// word itself, since a stopword's stem need not be one ("hadde" → "hadd").
    pub fn words(&self, text: &str) -> Vec<(String, bool)> {
        tokens(&fold(text))
            .map(|token| (self.stem(token), is_stopword(token)))
            .collect()
    }

    /// Stems of `text` without stopwords, for relevance scoring.
    pub fn content_stems(&self, text: &str) -> Vec<String> {
        tokens(&fold(text))
            .filter(|token| !is_stopword(token))
            .map(|token| self.stem(token))
            .collect()
    }

    fn stem(&self, token: &str) -> String {
        self.stemmer.stem(token).into_owned()
    }
}

pub fn is_stopword(folded_token: &str) -> bool {
    static SET: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        NORWEGIAN_STOPWORDS
            .iter()
            .chain(ENGLISH_STOPWORDS)
            .copied()
            .collect()
    })
    .contains(folded_token)
}

/// Whether a folded token is a Norwegian function word ("har", "pa"), so that, typed as it is
/// spelt, it stays that word and is not read as a word with æøå ("hår", "på" aside).
pub fn is_norwegian_stopword(folded_token: &str) -> bool {
    NORWEGIAN_STOPWORDS.contains(&folded_token)
}

/// NFC, lower case, and æ/ø/å with their ASCII spellings (ae, o/oe, a/aa) made one.
pub fn fold(text: &str) -> String {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    // ASCII is always in NFC; most questions are nearly all ASCII.
    let composed: std::borrow::Cow<'_, str> =
        if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
            text.into()
        } else {
            text.nfc().collect::<String>().into()
        };
    let mut out = String::with_capacity(composed.len());
    for c in composed.chars() {
        if c.is_ascii() {
            if c != '\'' {
                out.push(c.to_ascii_lowercase());
            }
            continue;
        }
        for c in c.to_lowercase() {
            match c {
                'æ' | 'ä' => out.push_str("ae"),
                'ø' | 'ö' | 'ó' | 'ò' | 'ô' => out.push('o'),
                'å' | 'á' | 'à' | 'â' => out.push('a'),
                'é' | 'è' | 'ê' | 'ë' => out.push('e'),
                'ü' | 'ú' => out.push('u'),
                'í' | 'ï' => out.push('i'),
                '’' | '\'' => {}
                c => out.push(c),
            }
        }
    }
    // Typed spellings: "aa" for å, "oe" for ø.
    if out.contains("aa") {
        out = out.replace("aa", "a");
    }
    if out.contains("oe") {
        out = out.replace("oe", "o");
    }
    out
}

/// The words of folded text.
fn tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// Known stems, for tolerating one typo in longer words. Candidates are found through
/// single-character deletions (a stem and a typo one edit apart share a deletion), so a
/// lookup costs a few hash probes instead of a scan of the vocabulary.
#[derive(Debug, Default)]
pub struct Vocabulary {
    known: HashSet<String>,
    words: Vec<String>,
    /// A stem with one character deleted → the stems it came from.
    deletions: HashMap<String, Vec<u32>>,
}

/// Stems shorter than this are only matched exactly.
const FUZZY_MIN_LEN: usize = 5;

/// `word` without its `i`th character, for each `i`.
pub(crate) fn deletions(word: &str) -> impl Iterator<Item = String> + '_ {
    word.char_indices().map(move |(i, c)| {
        let mut shorter = String::with_capacity(word.len());
        shorter.push_str(&word[..i]);
        shorter.push_str(&word[i + c.len_utf8()..]);
        shorter
    })
}

impl Vocabulary {
    pub fn insert(&mut self, stem: &str) {
        if !self.known.insert(stem.to_string()) {
            return;
        }
        // A typo of at least FUZZY_MIN_LEN letters may be one letter longer than its stem.
        if stem.chars().count() + 1 < FUZZY_MIN_LEN {
            return;
        }
        let id = self.words.len() as u32;
        self.words.push(stem.to_string());
        self.deletions.entry(stem.to_string()).or_default().push(id);
        for shorter in deletions(stem) {
            self.deletions.entry(shorter).or_default().push(id);
        }
    }

    /// The stems a query stem may stand for: itself, or when it is unknown and long enough,
    /// every known stem one edit (insert, delete, substitute, swap) away.
    pub fn expand(&self, stem: &str) -> Vec<(String, bool)> {
        let mut out = vec![(stem.to_string(), false)];
        if self.known.contains(stem) || stem.chars().count() < FUZZY_MIN_LEN {
            return out;
        }
        let mut candidates: Vec<u32> = std::iter::once(stem.to_string())
            .chain(deletions(stem))
            .filter_map(|key| self.deletions.get(&key))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            let known = &self.words[id as usize];
            if strsim::osa_distance(stem, known) == 1 {
                out.push((known.clone(), true));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_spellings_meet_the_norwegian_letters() {
        let a = Analyzer::default();
        assert_eq!(
            a.stems("Jeg blir mobbet på skolen"),
            a.stems("jeg blir mobbet pa skolen")
        );
        assert_eq!(a.stems("føler meg"), a.stems("foler meg"));
        assert_eq!(a.stems("føler meg"), a.stems("foeler meg"));
        assert_eq!(a.stems("kjærlighet"), a.stems("kjaerlighet"));
        assert_eq!(a.stems("så"), a.stems("saa"));
        // Composed and decomposed å are one.
        assert_eq!(fold("pa\u{30a}"), fold("på"));
    }

    #[test]
    fn folding_lowers_every_letter_and_drops_apostrophes() {
        assert_eq!(
            fold("JEG Blir MOBBET PÅ SKOLEN"),
            "jeg blir mobbet pa skolen"
        );
        assert_eq!(fold("ÆRLIG, Ørret og Å"), "aerlig, orret og a");
        assert_eq!(fold("Don't I’m"), "dont im");
        assert_eq!(fold("STRASSE Straße"), "strasse straße");
        assert_eq!(fold("HAAPET"), "hapet");
    }

    #[test]
    fn stopwords_are_judged_before_stemming() {
        let a = Analyzer::default();
        // "hadde" stems to "hadd", which is no stopword; the word itself is one.
        let words = a.words("jeg hadde vondt");
        let flags: Vec<bool> = words.iter().map(|(_, stop)| *stop).collect();
        assert_eq!(flags, [true, true, false]);
        assert!(
            !is_stopword(&words[1].0),
            "the stem alone would not be caught"
        );
    }

    #[test]
    fn inflections_share_a_stem() {
        let a = Analyzer::default();
        assert_eq!(a.stems("mobbingen"), a.stems("mobbing"));
        assert_eq!(a.stems("foreldrene"), a.stems("foreldre"));
        assert_eq!(a.content_stems("jeg er på skolen"), a.stems("skolen"));
    }

    #[test]
    fn one_typo_in_a_long_word_is_forgiven() {
        let a = Analyzer::default();
        let mut vocabulary = Vocabulary::default();
        for word in ["selvmordstanker", "mobbing", "vold"] {
            for stem in a.stems(word) {
                vocabulary.insert(&stem);
            }
        }
        let typo = &a.stems("selvmorstanker")[0];
        let expanded = vocabulary.expand(typo);
        assert!(
            expanded
                .iter()
                .any(|(s, fuzzy)| *fuzzy && *s == a.stems("selvmordstanker")[0])
        );
        // Short words are matched exactly only.
        assert_eq!(vocabulary.expand("vod").len(), 1);
    }
}
