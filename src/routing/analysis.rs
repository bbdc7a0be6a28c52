//! Reading a question: normalised text, words with their lemmas and concepts, the phrases
//! and idioms found over them, and which mentions are negated.
//!
//! - Text is normalised first (NFKC, format characters such as zero-width spaces and soft
//!   hyphens removed, letters repeated three times or more cut to two), so that
//!   `li\u{200b}vet` is `livet` and "hjeeelp" is "hjeelp" (one typo from "hjelp").
//! - Sentences end at `. ! ? ; :` and line breaks; negation does not cross a comma or a
//!   conjunction ("ikke trist, men vil dø").
//! - A question reads as English when it has more English function words than Norwegian
//!   ones; then Norwegian readings of English-looking words are left out.
//! - A mention is negated when a negation word stands within three words before it or one
//!   after it ("puster ikke", "ikke lyst til å leve"); a negated mention becomes its
//!   concept's negated concept, or stops counting.
//!
//! The question is never stored or logged here.

use unicode_normalization::UnicodeNormalization;

use super::lexicon::{ConceptId, Element, LemmaId, Lexicon, Recognised, WordReading, Yield};
use super::text::{fold, is_norwegian_stopword, is_stopword};

/// One word of the question.
#[derive(Debug, Clone)]
pub struct Token {
    /// Lower case, as typed (after normalisation).
    pub raw: String,
    /// As [`fold`] gives it.
    pub folded: String,
    pub reading: WordReading,
    pub stop: bool,
    pub sentence: u16,
    /// Stretch between commas and conjunctions, which negation does not cross.
    pub clause: u16,
}

/// A concept found in the question, over the words `start..end`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub concept: ConceptId,
    pub start: usize,
    pub end: usize,
    pub sentence: u16,
    pub negated: bool,
    /// Found through a typo of a known word.
    pub typo: bool,
    /// The phrase that found it, when it took more than the word itself.
    pub pattern: Option<u32>,
}

/// The question as read.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub tokens: Vec<Token>,
    pub mentions: Vec<Mention>,
    pub english: bool,
}

/// Words that tell English from Norwegian.
const ENGLISH_WORDS: &[&str] = &[
    "i", "im", "my", "me", "you", "your", "the", "is", "are", "am", "was", "what", "how", "do",
    "does", "did", "dont", "doesnt", "cant", "can", "to", "and", "it", "he", "she", "they", "his",
    "her", "him", "we", "with", "of", "a", "an", "this", "that", "have", "has", "not", "why",
    "who", "where", "when", "should", "would", "will", "wont", "isnt", "just", "any", "someone",
    "friend", "help", "need", "want", "feel", "get", "got",
];
const NORWEGIAN_WORDS: &[&str] = &[
    "jeg", "eg", "ae", "e", "je", "er", "og", "det", "ikke", "ikkje", "itj", "pa", "en", "et",
    "ei", "a", "som", "har", "min", "mi", "mitt", "meg", "mae", "hva", "kva", "ka", "hvordan",
    "korleis", "kan", "vil", "til", "med", "av", "du", "han", "hun", "ho", "seg", "sa", "fra",
    "fordi", "men", "at", "ble", "vart", "blir", "noen", "nokon", "venn", "vennen", "venninne",
    "mamma", "pappa", "hjelp", "trenger", "treng", "gjor", "gjer", "hvis", "viss", "om",
];
/// Words across which a negation does not reach.
const CONJUNCTIONS: &[&str] = &[
    "og", "men", "fordi", "sa", "eller", "and", "but", "because", "so", "or", "though",
];

/// Reads `text` with `lexicon`.
pub fn analyse(lexicon: &Lexicon, text: &str) -> Analysis {
    let normalised = normalise(text);
    let mut words = split(&normalised);
    // Spellings dictionaries lack ("itj", "kms") stand for other words.
    let mut expanded = Vec::with_capacity(words.len());
    for word in words.drain(..) {
        // A function word typed as it is spelt is itself, not the spelling its folding
        // meets ("noe" folds to "no").
        let as_spelt = word.text != word.folded && is_norwegian_stopword(&word.text);
        match (&word.kind, lexicon.spelling(&word.folded)) {
            (Piece::Word, Some(replacement)) if !as_spelt => {
                for w in replacement {
                    expanded.push(Split::word(w.to_string()));
                }
            }
            _ => expanded.push(word),
        }
    }
    let english = reads_as_english(&expanded);
    let mut tokens: Vec<Token> = Vec::with_capacity(expanded.len());
    let (mut sentence, mut clause) = (0u16, 0u16);
    for piece in expanded {
        match piece.kind {
            Piece::SentenceEnd => {
                sentence += 1;
                clause += 1;
            }
            Piece::ClauseEnd => clause += 1,
            Piece::Word => {
                let folded = piece.folded;
                if CONJUNCTIONS.contains(&folded.as_str()) {
                    clause += 1;
                }
                let reading = read_word(lexicon, &piece.text, &folded, english);
                tokens.push(Token {
                    stop: is_stopword(&folded),
                    raw: piece.text,
                    folded,
                    reading,
                    sentence,
                    clause,
                });
            }
        }
    }
    ages_are_not_amounts(lexicon, &mut tokens);
    let mut analysis = Analysis {
        mentions: Vec::new(),
        tokens,
        english,
    };
    analysis.find_mentions(lexicon);
    analysis
}

fn read_word(lexicon: &Lexicon, raw: &str, folded: &str, english: bool) -> WordReading {
    if !folded.is_empty() && folded.bytes().all(|b| b.is_ascii_digit()) {
        let mut concepts = Vec::new();
        concepts.extend(lexicon.find_concept("number"));
        if folded.parse::<u32>().is_ok_and(|n| n >= 5) {
            concepts.extend(lexicon.find_concept("many"));
        }
        return WordReading {
            lemmas: Vec::new(),
            concepts,
            recognised: Recognised::Exact,
        };
    }
    let reading = lexicon.word(raw, folded, english);
    // A hyphenated word the lexicon does not know reads as its last part ("sms-en").
    if reading.recognised == Recognised::Unknown && folded.contains('-') {
        if let Some(last) = folded.rsplit('-').find(|p| !p.is_empty()) {
            let raw_last = raw.rsplit('-').find(|p| !p.is_empty()).unwrap_or(last);
            return lexicon.word(raw_last, last, english);
        }
    }
    reading
}

/// Words before a number that make it an age ("she is 9", "lillebror på 14").
const BEFORE_AN_AGE: &[&str] = &["is", "er", "e", "pa", "aged", "age", "im", "hes", "shes"];
/// Words after a number that make it an age ("9 år", "14 years old").
const AFTER_AN_AGE: &[&str] = &["ar", "aar", "years", "yo", "aring", "arig", "arige"];

/// A number that gives someone's age is not an amount: "my cousin is 9" did not take
/// nine of anything.
fn ages_are_not_amounts(lexicon: &Lexicon, tokens: &mut [Token]) {
    let Some(many) = lexicon.find_concept("many") else {
        return;
    };
    for i in 0..tokens.len() {
        let is_number = tokens[i].reading.concepts.contains(&many)
            && tokens[i].folded.bytes().all(|b| b.is_ascii_digit());
        if !is_number {
            continue;
        }
        let near = |j: Option<usize>, words: &[&str]| {
            j.and_then(|j| tokens.get(j)).is_some_and(|t| {
                t.sentence == tokens[i].sentence && words.contains(&t.folded.as_str())
            })
        };
        if near(i.checked_sub(1), BEFORE_AN_AGE) || near(Some(i + 1), AFTER_AN_AGE) {
            tokens[i].reading.concepts.retain(|&c| c != many);
        }
    }
}

fn reads_as_english(words: &[Split]) -> bool {
    let (mut en, mut no) = (0, 0);
    for w in words.iter().filter(|w| w.kind == Piece::Word) {
        en += usize::from(ENGLISH_WORDS.contains(&w.folded.as_str()));
        no += usize::from(NORWEGIAN_WORDS.contains(&w.folded.as_str()));
    }
    en > no
}

/// NFKC, lower case, no format characters, no letter three times in a row.
pub fn normalise(text: &str) -> String {
    use unicode_normalization::{IsNormalized, is_nfkc_quick};
    // Most questions are in NFKC already (ASCII always is): no need to recompose them.
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        normalise_chars(text.chars(), text.len())
    } else {
        normalise_chars(text.nfkc(), text.len())
    }
}

fn normalise_chars(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let (mut last, mut run) = ('\0', 0);
    for c in chars {
        if is_format(c) {
            continue;
        }
        for c in c.to_lowercase() {
            if c == last && c.is_alphabetic() {
                run += 1;
                if run >= 2 {
                    continue;
                }
            } else {
                run = 0;
            }
            last = c;
            out.push(c);
        }
    }
    out
}

/// Unicode format characters (category Cf) and variation selectors: invisible, and able to
/// hide a word from matching.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFE00..=0xFE0F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Word,
    SentenceEnd,
    ClauseEnd,
}

#[derive(Debug)]
struct Split {
    text: String,
    /// As [`fold`] gives it, once per word.
    folded: String,
    kind: Piece,
}

impl Split {
    fn word(text: String) -> Self {
        Split {
            folded: fold(&text),
            text,
            kind: Piece::Word,
        }
    }

    fn mark(kind: Piece) -> Self {
        Split {
            text: String::new(),
            folded: String::new(),
            kind,
        }
    }
}

/// Pictographs stand as words of their own ("😂" can be a spelling of "haha").
fn is_pictograph(c: char) -> bool {
    matches!(c as u32, 0x2600..=0x27BF | 0x1F300..=0x1FAFF)
}

/// Words (letters and digits; apostrophes inside dropped, "don't" → "dont"; hyphens kept
/// between letters), pictographs, and sentence and clause ends.
fn split(text: &str) -> Vec<Split> {
    let mut out: Vec<Split> = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Split>| {
        let trimmed = word.trim_matches('-');
        if !trimmed.is_empty() {
            out.push(Split::word(trimmed.to_string()));
        }
        word.clear();
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_is_word = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        match c {
            c if c.is_alphanumeric() => word.push(c),
            '\'' | '’' | '`' if !word.is_empty() && next_is_word => {}
            '-' if !word.is_empty() && next_is_word => word.push('-'),
            c if is_pictograph(c) => {
                flush(&mut word, &mut out);
                out.push(Split::word(c.to_string()));
            }
            '.' | '!' | '?' | ';' | ':' | '\n' | '…' => {
                flush(&mut word, &mut out);
                if out.last().is_some_and(|l| l.kind == Piece::Word) {
                    out.push(Split::mark(Piece::SentenceEnd));
                }
            }
            ',' | '(' | ')' | '"' | '«' | '»' => {
                flush(&mut word, &mut out);
                out.push(Split::mark(Piece::ClauseEnd));
            }
            _ => flush(&mut word, &mut out),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// How far before a mention a negation word reaches, and how far after.
const NEGATION_BEFORE: usize = 3;
const NEGATION_AFTER: usize = 1;
/// Stopwords a phrase may skip between two of its words.
const PHRASE_SKIP: usize = 3;

impl Analysis {
    fn find_mentions(&mut self, lexicon: &Lexicon) {
        let mut mentions = Vec::new();
        for (i, token) in self.tokens.iter().enumerate() {
            for &concept in &token.reading.concepts {
                mentions.push(Mention {
                    concept,
                    start: i,
                    end: i + 1,
                    sentence: token.sentence,
                    negated: false,
                    typo: token.reading.recognised == Recognised::Typo,
                    pattern: None,
                });
            }
        }
        // Phrases over words and over other phrases' concepts: a few passes, until no new
        // mention turns up.
        let mut idioms: Vec<(usize, usize, u32)> = Vec::new();
        let mut candidates = Vec::new();
        for _pass in 0..3 {
            let mut found = Vec::new();
            for start in 0..self.tokens.len() {
                candidates.clear();
                let concepts = mentions
                    .iter()
                    .filter(|m: &&Mention| m.start == start)
                    .map(|m| m.concept);
                lexicon.patterns_starting(
                    &self.tokens[start].reading.lemmas,
                    concepts,
                    &mut candidates,
                );
                for &number in &candidates {
                    let pattern = &lexicon.patterns[number as usize];
                    let Some(end) = self.match_at(&pattern.elements, start, &mentions) else {
                        continue;
                    };
                    match &pattern.yields {
                        Yield::Concept(concept) => {
                            let mention = Mention {
                                concept: *concept,
                                start,
                                end,
                                sentence: self.tokens[start].sentence,
                                negated: false,
                                typo: (start..end)
                                    .any(|i| self.tokens[i].reading.recognised == Recognised::Typo),
                                pattern: Some(number),
                            };
                            let known = mentions.iter().chain(&found).any(|m: &Mention| {
                                m.concept == mention.concept
                                    && m.start == mention.start
                                    && m.end == mention.end
                            });
                            if !known {
                                found.push(mention);
                            }
                        }
                        Yield::Idiom(_) => {
                            if !idioms.contains(&(start, end, number)) {
                                idioms.push((start, end, number));
                            }
                        }
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            mentions.extend(found);
        }
        // An idiom's words mean only what the idiom means.
        for &(start, end, number) in &idioms {
            mentions.retain(|m| !(start <= m.start && m.end <= end));
            if let Yield::Idiom(means) = &lexicon.patterns[number as usize].yields {
                for &concept in means.iter() {
                    mentions.push(Mention {
                        concept,
                        start,
                        end,
                        sentence: self.tokens[start].sentence,
                        negated: false,
                        typo: false,
                        pattern: Some(number),
                    });
                }
            }
        }
        // A phrase of written words takes its words: "ta" in "ta livet mitt" is not also
        // "taking" something. Phrases built on concepts ("@want @die") keep theirs.
        let literal: Vec<(usize, usize)> = mentions
            .iter()
            .filter(|m| m.end - m.start > 1)
            .filter(|m| {
                m.pattern.is_some_and(|p| {
                    lexicon.patterns[p as usize]
                        .elements
                        .iter()
                        .all(|e| matches!(e, Element::Word(_) | Element::Form(_)))
                })
            })
            .map(|m| (m.start, m.end))
            .collect();
        mentions.retain(|m| {
            m.pattern.is_some()
                || m.concept == lexicon.negation.unwrap_or(ConceptId::MAX)
                || !literal.iter().any(|&(s, e)| s <= m.start && m.end <= e)
        });
        self.resolve_negation(lexicon, &mut mentions);
        mentions.sort_by_key(|m| (m.start, m.end, m.concept));
        self.mentions = mentions;
    }

    /// Where the elements match from `start`, if they do: each element at the next word, a
    /// phrase may skip a few stopwords between its words, never across a sentence.
    fn match_at(&self, elements: &[Element], start: usize, mentions: &[Mention]) -> Option<usize> {
        let sentence = self.tokens[start].sentence;
        let mut position = start;
        for (k, element) in elements.iter().enumerate() {
            let mut skipped = 0;
            loop {
                let token = self.tokens.get(position)?;
                if token.sentence != sentence {
                    return None;
                }
                if let Some(next) = self.element_at(element, position, mentions) {
                    position = next;
                    break;
                }
                if k > 0 && token.stop && skipped < PHRASE_SKIP {
                    position += 1;
                    skipped += 1;
                    continue;
                }
                return None;
            }
        }
        Some(position)
    }

    fn element_at(
        &self,
        element: &Element,
        position: usize,
        mentions: &[Mention],
    ) -> Option<usize> {
        let token = &self.tokens[position];
        match element {
            Element::Any => Some(position + 1),
            Element::Word(lemmas) => token
                .reading
                .lemmas
                .iter()
                .any(|l: &LemmaId| lemmas.contains(l))
                .then_some(position + 1),
            Element::Form(form) => (token.folded == **form).then_some(position + 1),
            Element::Concept(concept) => mentions
                .iter()
                .filter(|m| m.start == position && m.concept == *concept)
                .map(|m| m.end)
                .max(),
        }
    }

    fn resolve_negation(&self, lexicon: &Lexicon, mentions: &mut Vec<Mention>) {
        let Some(negation) = lexicon.negation else {
            return;
        };
        // Negation words a phrase has taken as its own ("får ikke luft") negate nothing else.
        let owned: Vec<usize> = mentions
            .iter()
            .filter(|m| {
                m.pattern
                    .is_some_and(|p| lexicon.patterns[p as usize].includes_negation)
            })
            .flat_map(|m| m.start..m.end)
            .collect();
        // A negation spent on a word it turns into its opposite reaches no further: in
        // "klarer ikke slutte å skade meg" it makes "slutte" not stopping, and the harm
        // goes on.
        let spent_at = |at: usize, clause: u16| {
            mentions
                .iter()
                .filter(|o| {
                    o.start > at
                        && o.start <= at + NEGATION_BEFORE
                        && self.tokens[o.start].clause == clause
                        && lexicon.concepts[o.concept as usize].negated.is_some()
                })
                .map(|o| o.end)
                .min()
                .unwrap_or(usize::MAX)
        };
        let negators: Vec<(usize, u16, usize)> = mentions
            .iter()
            .filter(|m| m.concept == negation && !owned.contains(&m.start))
            .map(|m| {
                let clause = self.tokens[m.start].clause;
                (m.start, clause, spent_at(m.start, clause))
            })
            .collect();
        let mut replaced = Vec::new();
        for m in mentions.iter_mut() {
            let concept = &lexicon.concepts[m.concept as usize];
            if m.concept == negation || concept.ignores_negation {
                continue;
            }
            let clauses = self.tokens[m.start].clause..=self.tokens[m.end - 1].clause;
            let own_negation = m
                .pattern
                .is_some_and(|p| lexicon.patterns[p as usize].includes_negation);
            let negated = negators.iter().any(|&(at, clause, reach)| {
                clauses.contains(&clause)
                    && at + NEGATION_BEFORE >= m.start
                    && at < m.end + NEGATION_AFTER
                    && m.start < reach
                    && !(own_negation && (m.start..m.end).contains(&at))
            });
            if !negated {
                continue;
            }
            match concept.negated {
                Some(other) => replaced.push(Mention {
                    concept: other,
                    negated: false,
                    ..m.clone()
                }),
                None => m.negated = true,
            }
            if concept.negated.is_some() {
                m.negated = true;
            }
        }
        mentions.extend(replaced);
    }

    /// Mentions of `concept` that count (not negated).
    pub fn counted(&self, concept: ConceptId) -> impl Iterator<Item = &Mention> {
        self.mentions
            .iter()
            .filter(move |m| m.concept == concept && !m.negated)
    }

    /// The number of sentences.
    pub fn sentences(&self) -> u16 {
        self.tokens.last().map_or(0, |t| t.sentence + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONCEPTS: &str = r#"{
        "concepts": [
            {"id": "negation", "nb": ["ikke"], "en": ["not", "dont", "cant"], "ignores_negation": true},
            {"id": "breathe", "nb": ["puste"], "en": ["breathe"], "negated": "not-breathing"},
            {"id": "not-breathing", "phrases": ["får ikke luft"]},
            {"id": "want", "nb": ["ville"], "en": ["want"]},
            {"id": "live", "nb": ["leve"], "en": ["live"]},
            {"id": "die", "nb": ["dø"], "en": ["die"]},
            {"id": "death-wish", "phrases": ["@want @die"], "negated": "hope"},
            {"id": "live-wish", "phrases": ["@want @live"], "negated": "death-wish"},
            {"id": "hope"},
            {"id": "exaggeration"},
            {"id": "bullying", "nb": ["mobbe"]},
            {"id": "stop", "nb": ["slutte"], "negated": "not-stopping"},
            {"id": "not-stopping"},
            {"id": "kill", "nb": ["drepe"]},
            {"id": "death-threat", "phrases": ["@kill meg"]},
            {"id": "mutilation", "phrases": ["lemlestet"]},
            {"id": "many"},
            {"id": "number"},
            {"id": "plenty", "en": ["a lot"]}
        ],
        "idioms": [{"phrases": ["dø av latter"], "means": ["exaggeration"]}],
        "spellings": {"itj": "ikke"}
    }"#;
    const FORMS: &str = "ikke\tikke\tnegation\tnb\n\
        not\tnot\tnegation\ten\n\
        dont\tdont\tnegation\ten\n\
        puster\tpuste\tbreathe\tnb\n\
        breathing\tbreathe\tbreathe\ten\n\
        vil\tville\twant\tnb\n\
        want\twant\twant\ten\n\
        leve\tleve\tlive\tnb\n\
        dø\tdø\tdie\tnb\n\
        døde\tdø\tdie\tnb\n\
        die\tdie\tdie\ten\n\
        do\tdo\t\ten\n\
        av\tav\t\tnb\n\
        latter\tlatter\t\tnb\n\
        får\tfå\t\tnb\n\
        luft\tluft\t\tnb\n\
        mobbet\tmobbe\tbullying\tnb\n\
        mobbe\tmobbe\tbullying\tnb\n\
        slutte\tslutte\tstop\tnb\n\
        klarer\tklare\t\tnb\n\
        drepte\tdrepe\tkill\tnb\n\
        jeg\tjeg\t\tnb\n\
        meg\tjeg\t\tnb\n\
        lemlestet\tlemleste|lest\t\tnb\n\
        lest\tlese|lest\t\tnb\n\
        is\tbe\t\ten\n\
        took\ttake\t\ten\n\
        a\ta\t\ten\n\
        å\tå\t\tnb\n\
        lot\tlot\t\ten\n\
        lot\tla\t\tnb\n\
        la\tla\t\tnb\n";

    fn concepts_of(text: &str) -> Vec<String> {
        let lexicon = Lexicon::parse(CONCEPTS, FORMS).unwrap();
        let a = analyse(&lexicon, text);
        let mut out: Vec<String> = a
            .mentions
            .iter()
            .filter(|m| !m.negated)
            .map(|m| lexicon.concept_name(m.concept).to_string())
            .filter(|c| c != "negation")
            .collect();
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn a_number_giving_an_age_is_not_an_amount() {
        assert_eq!(concepts_of("she is 9"), ["number"]);
        assert_eq!(concepts_of("9 år"), ["number"]);
        assert_eq!(concepts_of("took 9"), ["many", "number"]);
        assert_eq!(concepts_of("took 3"), ["number"]);
    }

    #[test]
    fn a_phrase_from_one_languages_list_matches_in_that_language() {
        assert_eq!(concepts_of("i took a lot"), ["plenty"]);
        // Norwegian "lot" is a form of "la": "å la" is not "a lot".
        assert!(concepts_of("har klart å la vær").is_empty());
    }

    #[test]
    fn negation_turns_a_concept_into_its_negated_one() {
        assert_eq!(concepts_of("han puster ikke"), ["not-breathing"]);
        assert_eq!(concepts_of("he is not breathing"), ["not-breathing"]);
        assert_eq!(concepts_of("han puster"), ["breathe"]);
        // The phrase owns its negation.
        assert_eq!(concepts_of("jeg får ikke luft"), ["not-breathing"]);
        // "vil ikke leve": wanting to live, negated, is a death wish.
        assert!(concepts_of("jeg vil ikke leve lenger").contains(&"death-wish".to_string()));
        assert!(!concepts_of("jeg vil ikke dø").contains(&"death-wish".to_string()));
        assert!(concepts_of("jeg vil dø").contains(&"death-wish".to_string()));
    }

    #[test]
    fn a_function_word_in_a_phrase_is_matched_as_spelt() {
        // "meg" and "jeg" share a lemma; the phrase means the object.
        assert!(concepts_of("han drepte meg").contains(&"death-threat".to_string()));
        assert!(!concepts_of("drepte jeg gjæren").contains(&"death-threat".to_string()));
    }

    #[test]
    fn a_phrase_of_one_word_is_that_form_not_its_lemmas() {
        // The compound's analysis names a part's lemma, "lest", which "read" also has.
        assert_eq!(concepts_of("lemlestet"), ["mutilation"]);
        assert!(concepts_of("hun har lest").is_empty());
    }

    #[test]
    fn a_negation_spent_on_stopping_does_not_reach_what_goes_on() {
        // "cannot stop bullying": the bullying goes on.
        assert_eq!(
            concepts_of("klarer ikke slutte å mobbe"),
            ["bullying", "not-stopping"]
        );
        assert!(concepts_of("jeg ikke mobbe").is_empty());
    }

    #[test]
    fn negation_stops_at_a_comma_or_a_conjunction() {
        let c = concepts_of("ikke trist, men vil dø");
        assert!(c.contains(&"death-wish".to_string()), "{c:?}");
        assert!(concepts_of("jeg er ikke lei meg og vil dø").contains(&"death-wish".to_string()));
    }

    #[test]
    fn a_function_word_typed_as_spelt_is_not_the_spelling_its_folding_meets() {
        // "noe" folds to "no", which the spellings map to the Nynorsk "now".
        let concepts = r#"{"concepts": [{"id": "now", "nn": ["no"]}], "spellings": {"no": "no"}}"#;
        let forms = "no\tno\tnow\tnn\nnoe\tnoe\t\tnb\n";
        let lexicon = Lexicon::parse(concepts, forms).unwrap();
        let now = |text: &str| {
            analyse(&lexicon, text)
                .mentions
                .iter()
                .any(|m| lexicon.concept_name(m.concept) == "now")
        };
        assert!(!now("om noe er farlig"));
        assert!(now("eg kjem no"));
    }

    #[test]
    fn idioms_replace_what_their_words_would_mean() {
        assert_eq!(concepts_of("jeg døde av latter"), ["exaggeration"]);
    }

    #[test]
    fn invisible_characters_and_spellings_do_not_hide_words() {
        assert_eq!(concepts_of("mob\u{ad}bet"), ["bullying"]);
        assert_eq!(concepts_of("mob\u{200b}bet"), ["bullying"]);
        assert_eq!(concepts_of("ｍｏｂｂｅｔ"), ["bullying"]);
        assert_eq!(concepts_of("han puster itj"), ["not-breathing"]);
        assert_eq!(normalise("HJEEEELP"), "hjeelp");
    }

    #[test]
    fn english_questions_do_not_read_norwegian_words_typed_without_letters() {
        let lexicon = Lexicon::parse(CONCEPTS, FORMS).unwrap();
        let a = analyse(&lexicon, "what do I do");
        assert!(a.english);
        assert!(a.mentions.is_empty(), "{:?}", a.mentions);
        let b = analyse(&lexicon, "jeg vil do");
        assert!(!b.english);
        assert!(
            b.mentions
                .iter()
                .any(|m| lexicon.concept_name(m.concept) == "die")
        );
    }
}
