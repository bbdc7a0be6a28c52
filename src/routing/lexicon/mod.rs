//! The router's lexicon: which concepts a word or phrase expresses, in Bokmål, Nynorsk and
//! English, however it is inflected, compounded, spelt without æøå or mistyped.
//!
//! Two committed files make it (`catalog/lexicon/`):
//! - `concepts.json`, written by hand: the concepts, their lemmas and phrases, idioms and
//!   spellings dictionaries do not know ([`file`]).
//! - `forms.tsv`, generated from it by `veiviser lexicon build` with Hunspell, Apertium,
//!   MyThes and FreeDict: every inflected form of every lemma with its lemmas, concepts and
//!   languages (`form<TAB>lemma|lemma<TAB>concept,concept<TAB>nb,nn,en`), and the
//!   dictionary's compounds that the compound rule below would read wrong.
//!
//! A word not in `forms.tsv` is read as a compound when it ends in a known form (the head
//! carries a Norwegian compound's meaning: `kjæreste|oppførsel`, `russe|feiring`), or
//! begins with one; then as a typo of a known form one edit away. Parsing does no I/O.

pub mod file;
mod table;

use foldhash::{HashMap, HashMapExt};

use super::text::{deletions, fold, is_stopword};
pub use file::ConceptsFile;
use table::{FormTable, NewSense, Sense, hash_of};

/// Index of a concept in [`Lexicon::concepts`].
pub type ConceptId = u16;
/// Index of a lemma (or a literal word a phrase names).
pub type LemmaId = u32;

/// A concept as the router uses it.
#[derive(Debug, Clone)]
pub struct Concept {
    pub id: String,
    /// What a negated mention becomes ("breathe" → "not-breathing").
    pub negated: Option<ConceptId>,
    /// Counts even when negated.
    pub ignores_negation: bool,
}

/// How a word was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recognised {
    /// As written.
    Exact,
    /// Only once æ, ø, å were folded: typed without them ("far" for "får").
    Folded,
    /// As a compound of known parts.
    Compound,
    /// As a typo of a known form.
    Typo,
    /// Not at all.
    Unknown,
}

/// What the lexicon says of one word.
#[derive(Debug, Clone)]
pub struct WordReading {
    pub lemmas: Vec<LemmaId>,
    pub concepts: Vec<ConceptId>,
    pub recognised: Recognised,
}

/// One element of a phrase pattern.
#[derive(Debug, Clone)]
pub enum Element {
    /// A word, as any of these lemmas.
    Word(Box<[LemmaId]>),
    /// A function word, as spelt (folded): "meg" is not "jeg", though both are forms of
    /// one lemma, so "@kill meg" is not "drepte jeg gjæren".
    Form(Box<str>),
    /// Any word or phrase of the concept.
    Concept(ConceptId),
    /// Any one word.
    Any,
}

/// What a matched pattern stands for.
#[derive(Debug, Clone)]
pub enum Yield {
    /// A mention of the concept.
    Concept(ConceptId),
    /// An idiom: its words carry these concepts and no others.
    Idiom(Box<[ConceptId]>),
}

/// The language of a phrase in the lexicon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhraseLanguage {
    English,
    Norwegian,
}

/// A phrase or idiom pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub elements: Box<[Element]>,
    pub yields: Yield,
    /// The pattern as written, reported as what matched.
    pub text: Box<str>,
    /// The pattern holds a negation itself ("får ikke luft", "@negation @want @live"): a
    /// negation inside its span is its own, not one that cancels it.
    pub includes_negation: bool,
}

/// Words shorter than this are matched exactly only (no typo tolerance).
const TYPO_MIN_CHARS: usize = 5;
/// The shortest first part of a compound.
const PART_MIN_CHARS: usize = 3;
/// The shortest last part: shorter ones end too many words by chance ("ert" in "-ert").
const HEAD_MIN_CHARS: usize = 4;
/// The shortest known beginning of a word read as the compound's first part, when its end
/// is unknown ("kjæreste|oppførsel" with an unknown head).
const LEADING_PART_MIN_CHARS: usize = 4;

/// Shortest Norwegian word read as such inside an English question.
const ENGLISH_BORROWING_MIN_CHARS: usize = 5;

/// The lexicon.
#[derive(Debug)]
pub struct Lexicon {
    pub concepts: Vec<Concept>,
    concept_by_id: HashMap<String, ConceptId>,
    lemma_names: Vec<Box<str>>,
    lemma_by_name: HashMap<Box<str>, LemmaId>,
    /// Folded form → its readings.
    forms: FormTable,
    /// Folded word → the folded words it stands for ("kms" → "kill", "myself").
    spellings: HashMap<Box<str>, Box<[Box<str>]>>,
    /// Function words, folded → as spelt: read with their lemmas, never with a concept,
    /// when typed as spelt or in plain ASCII ("når", "nar"; not "åt", which is no "at").
    function_words: HashMap<Box<str>, Box<str>>,
    typos: TypoIndex,
    pub patterns: Vec<Pattern>,
    /// Patterns by what their first element can match.
    by_first_lemma: HashMap<LemmaId, Vec<u32>>,
    by_first_concept: HashMap<ConceptId, Vec<u32>>,
    starting_anywhere: Vec<u32>,
    /// The concept of negation words, when the file has one (`negation`).
    pub negation: Option<ConceptId>,
}

/// A problem with the lexicon files.
#[derive(Debug, thiserror::Error)]
#[error("lexicon: {0}")]
pub struct LexiconError(pub String);

impl Lexicon {
    /// Parses `concepts.json` and `forms.tsv`.
    pub fn parse(concepts_json: &str, forms_tsv: &str) -> Result<Self, LexiconError> {
        let file = ConceptsFile::parse(concepts_json).map_err(LexiconError)?;
        Self::from_parts(&file, forms_tsv)
    }

    /// Builds the lexicon from the parsed concepts file and the forms table.
    pub fn from_parts(file: &ConceptsFile, forms_tsv: &str) -> Result<Self, LexiconError> {
        let mut concept_by_id = HashMap::new();
        let mut concepts = Vec::new();
        for spec in &file.concepts {
            let id = ConceptId::try_from(concepts.len())
                .map_err(|_| LexiconError("too many concepts".into()))?;
            if concept_by_id.insert(spec.id.clone(), id).is_some() {
                return Err(LexiconError(format!("concept '{}' twice", spec.id)));
            }
            concepts.push(Concept {
                id: spec.id.clone(),
                negated: None,
                ignores_negation: spec.ignores_negation,
            });
        }
        for spec in &file.concepts {
            if let Some(target) = &spec.negated {
                let to = *concept_by_id.get(target).ok_or_else(|| {
                    LexiconError(format!("'{}' is negated as unknown '{target}'", spec.id))
                })?;
                concepts[concept_by_id[&spec.id] as usize].negated = Some(to);
            }
        }
        let mut lexicon = Lexicon {
            negation: concept_by_id.get("negation").copied(),
            concepts,
            concept_by_id,
            lemma_names: Vec::new(),
            lemma_by_name: HashMap::new(),
            forms: FormTable::default(),
            spellings: HashMap::new(),
            function_words: file
                .function_words
                .iter()
                .map(|w| (fold(w).into_boxed_str(), w.to_lowercase().into_boxed_str()))
                .collect(),
            typos: TypoIndex::default(),
            patterns: Vec::new(),
            by_first_lemma: HashMap::new(),
            by_first_concept: HashMap::new(),
            starting_anywhere: Vec::new(),
        };
        let generated_phrases = lexicon.load_forms(forms_tsv)?;
        for (word, stands_for) in &file.spellings {
            let words: Box<[Box<str>]> = stands_for
                .split_whitespace()
                .map(|w| fold(w).into_boxed_str())
                .collect();
            lexicon.spellings.insert(fold(word).into_boxed_str(), words);
        }
        for spec in &file.concepts {
            let id = lexicon.concept_by_id[&spec.id];
            let multiword = |words: &[String], language: PhraseLanguage| {
                words
                    .iter()
                    .map(|w| file::split_pos(w).0)
                    .filter(|w| w.contains(' '))
                    .map(move |w| (w.to_string(), Some(language)))
                    .collect::<Vec<_>>()
            };
            let phrases: Vec<(String, Option<PhraseLanguage>)> = spec
                .phrases
                .iter()
                .map(|p| (p.clone(), None))
                .chain(multiword(&spec.nb, PhraseLanguage::Norwegian))
                .chain(multiword(&spec.nn, PhraseLanguage::Norwegian))
                .chain(multiword(&spec.en, PhraseLanguage::English))
                .collect();
            for (phrase, language) in phrases {
                lexicon.add_pattern(&phrase, language, Yield::Concept(id))?;
            }
        }
        for (phrase, concepts) in generated_phrases {
            for id in concepts {
                lexicon.add_pattern(&phrase, None, Yield::Concept(id))?;
            }
        }
        for idiom in &file.idioms {
            let means = idiom
                .means
                .iter()
                .map(|c| lexicon.concept(c))
                .collect::<Result<Box<[_]>, _>>()?;
            for phrase in &idiom.phrases {
                lexicon.add_pattern(phrase, None, Yield::Idiom(means.clone()))?;
            }
        }
        Ok(lexicon)
    }

    /// Loads the forms table; gives back its phrases (forms with spaces) with their
    /// concepts, to be added as patterns once every form is known.
    fn load_forms(&mut self, tsv: &str) -> Result<Vec<(String, Vec<ConceptId>)>, LexiconError> {
        let mut senses: Vec<NewSense<'_>> = Vec::with_capacity(1 << 18);
        let mut phrases = Vec::new();
        for (number, line) in tsv.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(form), Some(lemmas)) = (fields.next(), fields.next()) else {
                return Err(LexiconError(format!(
                    "forms.tsv line {}: too few fields",
                    number + 1
                )));
            };
            let concepts = fields.next().unwrap_or("");
            let langs = fields.next().unwrap_or("");
            let english = langs.split(',').any(|l| l == "en");
            let norwegian = langs.split(',').any(|l| l == "nb" || l == "nn");
            let flags = fields.next().unwrap_or("");
            let lemmas: Vec<LemmaId> = lemmas
                .split('|')
                .filter(|l| !l.is_empty())
                .map(|l| self.intern(&fold(l)))
                .collect();
            let concepts = concepts
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| self.concept(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| LexiconError(format!("forms.tsv line {}: {}", number + 1, e.0)))?;
            if form.contains(' ') {
                phrases.push((form.to_string(), concepts));
                continue;
            }
            senses.push(NewSense {
                key: fold(form),
                form,
                lemmas,
                concepts,
                english,
                norwegian,
                head: flags.contains('h'),
                modifier: flags.contains('m'),
            });
        }
        self.forms = FormTable::build(senses);
        let mut typos = TypoIndex::default();
        for key in self.forms.keys() {
            if key.chars().count() >= TYPO_MIN_CHARS
                && self.senses(key).any(|s| !s.concepts.is_empty())
            {
                typos.insert(key);
            }
        }
        typos.finish();
        self.typos = typos;
        Ok(phrases)
    }

    /// The senses of a folded form (none when it is not in the table).
    fn senses(&self, folded: &str) -> impl Iterator<Item = Sense<'_>> + Clone {
        self.forms.get(folded).into_iter().flatten()
    }

    fn intern(&mut self, name: &str) -> LemmaId {
        if let Some(&id) = self.lemma_by_name.get(name) {
            return id;
        }
        let id = self.lemma_names.len() as LemmaId;
        self.lemma_names.push(name.into());
        self.lemma_by_name.insert(name.into(), id);
        id
    }

    /// The concept named `id`.
    pub fn concept(&self, id: &str) -> Result<ConceptId, LexiconError> {
        self.concept_by_id
            .get(id)
            .copied()
            .ok_or_else(|| LexiconError(format!("unknown concept '{id}'")))
    }

    /// The concept named `id`, if there is one.
    pub fn find_concept(&self, id: &str) -> Option<ConceptId> {
        self.concept_by_id.get(id).copied()
    }

    pub fn concept_name(&self, id: ConceptId) -> &str {
        &self.concepts[id as usize].id
    }

    pub fn lemma_name(&self, id: LemmaId) -> &str {
        &self.lemma_names[id as usize]
    }

    /// The words a folded word stands for, when it is a known spelling ("itj" → "ikke").
    pub fn spelling(&self, folded: &str) -> Option<&[Box<str>]> {
        self.spellings.get(folded).map(|w| &w[..])
    }

    /// Reads one word: `raw` in lower case as typed (NFC), `folded` as [`fold`] gives it.
    /// `english` says the question reads as English: then only English readings count, so
    /// that "do" is not "dø" typed without ø, nor "gift" poison.
    pub fn word(&self, raw: &str, folded: &str, english: bool) -> WordReading {
        if !english
            && self
                .function_words
                .get(folded)
                .is_some_and(|spelt| raw.is_ascii() || **spelt == *raw)
        {
            let mut reading = Self::reading(self.senses(folded), Recognised::Exact);
            reading.concepts.clear();
            return reading;
        }
        if let Some(senses) = self.forms.get(folded) {
            // A Norwegian question reads a word spelt alike in both languages as Norwegian
            // ("fire" is four); a word only English has keeps its English sense ("kms").
            let norwegian: Vec<Sense> = senses.clone().filter(|s| s.norwegian).collect();
            let mut candidates: Vec<Sense> = if english {
                senses.clone().filter(|s| s.english).collect()
            } else if norwegian.is_empty() {
                senses.clone().collect()
            } else {
                norwegian
            };
            // A Norwegian word in an English question ("barnevernet", "paracet") reads as
            // Norwegian when English has no such word; short ones ("do", "gift") do not.
            if candidates.is_empty() && folded.chars().count() >= ENGLISH_BORROWING_MIN_CHARS {
                candidates = senses.collect();
            }
            // Typed with æ, ø or å: the readings spelt so, when there are any. A function
            // word typed as it is spelt is that word ("har" is has, not "hår").
            // "noe" folds to "no" ("oe" for ø), the Nynorsk "now": typed as it is spelt, a
            // function word stays itself.
            let typed_letters = (raw != folded && !raw.is_ascii())
                || super::text::is_norwegian_stopword(folded)
                || super::text::is_norwegian_stopword(raw);
            let exact: Vec<Sense> = candidates
                .iter()
                .copied()
                .filter(|s| s.form == raw)
                .collect();
            let recognised = if exact.is_empty() {
                Recognised::Folded
            } else {
                Recognised::Exact
            };
            let chosen = if typed_letters && !exact.is_empty() {
                exact
            } else {
                candidates
            };
            if !chosen.is_empty() {
                return Self::reading(chosen.into_iter(), recognised);
            }
        }
        // English writes its compounds apart.
        if !english {
            if let Some(mut reading) = self.compound(folded) {
                // A phrase may name the compound itself ("dødstrøtt" is tired, not dead).
                if let Some(&own) = self.lemma_by_name.get(folded) {
                    reading.lemmas.push(own);
                }
                return reading;
            }
        }
        if let Some(reading) = self.typo(folded, english) {
            return reading;
        }
        WordReading {
            lemmas: self
                .lemma_by_name
                .get(folded)
                .copied()
                .into_iter()
                .collect(),
            concepts: Vec::new(),
            recognised: Recognised::Unknown,
        }
    }

    fn reading<'s>(senses: impl Iterator<Item = Sense<'s>>, recognised: Recognised) -> WordReading {
        let mut reading = WordReading {
            lemmas: Vec::new(),
            concepts: Vec::new(),
            recognised,
        };
        for sense in senses {
            for &l in sense.lemmas.iter() {
                if !reading.lemmas.contains(&l) {
                    reading.lemmas.push(l);
                }
            }
            for &c in sense.concepts.iter() {
                if !reading.concepts.contains(&c) {
                    reading.concepts.push(c);
                }
            }
        }
        reading
    }

    /// The readings of a folded form in the table that `usable` admits, if any.
    fn known(&self, folded: &str, usable: impl Fn(&Sense) -> bool) -> Option<WordReading> {
        let usable: Vec<Sense> = self.senses(folded).filter(|s| usable(s)).collect();
        (!usable.is_empty()).then(|| Self::reading(usable.into_iter(), Recognised::Exact))
    }

    /// Reads a word missing from the table as a compound. The last part that is a known
    /// form with concepts, and that Apertium says may end a compound, gives the lemmas and
    /// concepts; the first part adds its concepts (with a linking s or e dropped). Failing
    /// that, a known beginning that may start a compound gives its concepts.
    /// `veiviser lexicon build` checks this rule against the dictionaries and writes every
    /// dictionary word it reads wrong into the table.
    pub fn compound(&self, folded: &str) -> Option<WordReading> {
        let bounds: Vec<usize> = folded.char_indices().map(|(i, _)| i).collect();
        let chars = bounds.len();
        if chars < PART_MIN_CHARS + HEAD_MIN_CHARS {
            return None;
        }
        for &split in &bounds[PART_MIN_CHARS..=chars - HEAD_MIN_CHARS] {
            let (first, head) = folded.split_at(split);
            let Some(mut reading) = self.known(head, |s| s.head && !s.concepts.is_empty()) else {
                continue;
            };
            reading.recognised = Recognised::Compound;
            // A linking s or e may begin the head or end the first part: "blodtrykks|pillene"
            // is also "blodtrykk|spillene". Both readings count, so neither hides the other.
            if let Some(rest) = head.strip_prefix(['s', 'e'])
                && rest.chars().count() >= HEAD_MIN_CHARS
                && let Some(other) = self.known(rest, |s| s.head && !s.concepts.is_empty())
            {
                for c in other.concepts {
                    if !reading.concepts.contains(&c) {
                        reading.concepts.push(c);
                    }
                }
                for l in other.lemmas {
                    if !reading.lemmas.contains(&l) {
                        reading.lemmas.push(l);
                    }
                }
            }
            if let Some(first) = self.first_part(first) {
                for c in first.concepts {
                    if !reading.concepts.contains(&c) {
                        reading.concepts.push(c);
                    }
                }
            }
            return Some(reading);
        }
        let max_first = chars.checked_sub(LEADING_PART_MIN_CHARS)?;
        for end in (LEADING_PART_MIN_CHARS..=max_first).rev() {
            let first = &folded[..bounds[end]];
            if let Some(reading) = self.known(first, |s| s.modifier && !s.concepts.is_empty()) {
                return Some(WordReading {
                    lemmas: Vec::new(),
                    concepts: reading.concepts,
                    recognised: Recognised::Compound,
                });
            }
        }
        None
    }

    /// The first part of a compound: a known form, or one with a linking `s` or `e`.
    fn first_part(&self, part: &str) -> Option<WordReading> {
        let any = |_: &Sense| true;
        self.known(part, any).or_else(|| {
            part.strip_suffix('s')
                .or_else(|| part.strip_suffix('e'))
                .filter(|p| p.chars().count() >= PART_MIN_CHARS)
                .and_then(|p| self.known(p, any))
        })
    }

    /// Reads a word as a typo of a known form with concepts, one edit away.
    fn typo(&self, folded: &str, english: bool) -> Option<WordReading> {
        if folded.chars().count() < TYPO_MIN_CHARS || folded.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut found: Vec<Sense> = Vec::new();
        for candidate in self.typos.near(folded) {
            found.extend(self.senses(candidate).filter(|s| !english || s.english));
        }
        // A Norwegian question reads a near word as Norwegian where it can.
        if !english && found.iter().any(|s| s.norwegian) {
            found.retain(|s| s.norwegian);
        }
        // The lexicon holds only the words its concepts need, so an ordinary word it lacks
        // ("sommer") lies one letter from several it has ("rom", "komme", "tom"): a typo
        // is read only when the near words agree on what they mean.
        let mut meanings = found.iter().map(|s| s.concepts);
        let first = meanings.next()?;
        if meanings.any(|m| m != first) {
            return None;
        }
        Some(Self::reading(found.into_iter(), Recognised::Typo))
    }

    /// A phrase from a words list of one language matches words by their lemmas in that
    /// language: English "a lot" is not "å la" (Norwegian "lot" is a form of "la"). Phrases
    /// in the mixed `phrases` lists keep every sense: the forms table gives too many
    /// function words a sense in the other language to tell theirs apart.
    fn add_pattern(
        &mut self,
        text: &str,
        language: Option<PhraseLanguage>,
        yields: Yield,
    ) -> Result<(), LexiconError> {
        let in_language = |s: &Sense| match language {
            Some(PhraseLanguage::English) => s.english,
            Some(PhraseLanguage::Norwegian) => s.norwegian,
            None => true,
        };
        let mut elements = Vec::new();
        let mut includes_negation = false;
        // A pattern starting with a function word is found through that word's lemmas.
        let mut first_lemmas: Option<Vec<LemmaId>> = None;
        for word in text.split_whitespace() {
            if word == "*" {
                elements.push(Element::Any);
            } else if let Some(concept) = word.strip_prefix('@') {
                let id = self.concept(concept)?;
                includes_negation |= Some(id) == self.negation;
                elements.push(Element::Concept(id));
            } else {
                let folded = fold(word);
                let lower = word.to_lowercase();
                // The word's senses in the phrase's language, when it has any there.
                let own_language = self.senses(&folded).any(|s| in_language(&s));
                let senses = || {
                    self.senses(&folded)
                        .filter(move |s| !own_language || in_language(s))
                };
                let exact = senses().any(|s| s.form == lower);
                let mut lemmas: Vec<LemmaId> = Vec::new();
                for sense in senses() {
                    // A negation word is one whatever its spelling ("don't", "dont").
                    includes_negation |= self.negation.is_some_and(|n| sense.concepts.contains(&n));
                    if exact && sense.form != lower {
                        continue;
                    }
                    lemmas.extend(sense.lemmas.iter().copied());
                }
                lemmas.sort_unstable();
                lemmas.dedup();
                if lemmas.is_empty() {
                    lemmas.push(self.intern(&folded));
                }
                // A phrase of one word is that form as spelt: its own lemmas may be odd
                // (a compound's parts), and the concept's words are inflected anyway. So is
                // a function word typed plain ("dø" folds to "do", which is none).
                let single = !text.trim().contains(' ');
                if single || (is_stopword(&folded) && lower == folded) {
                    first_lemmas.get_or_insert(lemmas);
                    elements.push(Element::Form(folded.into()));
                    continue;
                }
                let lemmas: Box<[LemmaId]> = lemmas.into();
                elements.push(Element::Word(lemmas));
            }
        }
        if elements.is_empty() {
            return Err(LexiconError(format!("empty phrase in '{text}'")));
        }
        let number = self.patterns.len() as u32;
        match &elements[0] {
            Element::Word(lemmas) => {
                for &l in lemmas.iter() {
                    self.by_first_lemma.entry(l).or_default().push(number);
                }
            }
            Element::Form(_) => {
                for l in first_lemmas.into_iter().flatten() {
                    self.by_first_lemma.entry(l).or_default().push(number);
                }
            }
            Element::Concept(c) => self.by_first_concept.entry(*c).or_default().push(number),
            Element::Any => self.starting_anywhere.push(number),
        }
        self.patterns.push(Pattern {
            elements: elements.into(),
            yields,
            text: text.into(),
            includes_negation,
        });
        Ok(())
    }

    /// Patterns that may start at a word with these lemmas and concepts.
    pub fn patterns_starting(
        &self,
        lemmas: &[LemmaId],
        concepts: impl Iterator<Item = ConceptId>,
        out: &mut Vec<u32>,
    ) {
        for l in lemmas {
            if let Some(p) = self.by_first_lemma.get(l) {
                out.extend(p);
            }
        }
        for c in concepts {
            if let Some(p) = self.by_first_concept.get(&c) {
                out.extend(p);
            }
        }
        out.extend(&self.starting_anywhere);
        out.sort_unstable();
        out.dedup();
    }

    /// Number of forms in the table.
    pub fn form_count(&self) -> usize {
        self.forms.len()
    }
}

/// Known forms by their one-character deletions, for finding a typo's form: a form and a
/// typo one edit apart share a deletion. Kept as a sorted list of (hash of the deletion,
/// form) pairs: a fraction of the memory of a map of strings.
#[derive(Debug, Default)]
struct TypoIndex {
    words: Vec<Box<str>>,
    keys: Vec<(u64, u32)>,
}

impl TypoIndex {
    fn insert(&mut self, word: &str) {
        let id = self.words.len() as u32;
        self.words.push(word.into());
        self.keys.push((hash_of(word), id));
        for shorter in deletions(word) {
            self.keys.push((hash_of(&shorter), id));
        }
    }

    fn finish(&mut self) {
        self.keys.sort_unstable();
        self.keys.dedup();
    }

    /// Known words one edit (insert, delete, substitute, swap) from `word`.
    fn near<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut ids: Vec<u32> = Vec::new();
        for key in std::iter::once(word.to_string()).chain(deletions(word)) {
            let h = hash_of(&key);
            let start = self.keys.partition_point(|&(k, _)| k < h);
            ids.extend(
                self.keys[start..]
                    .iter()
                    .take_while(|&&(k, _)| k == h)
                    .map(|&(_, id)| id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| &*self.words[id as usize])
            .filter(move |known| strsim::osa_distance(word, known) == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONCEPTS: &str = r#"{
        "concepts": [
            {"id": "negation", "nb": ["ikke"], "ignores_negation": true},
            {"id": "partner", "nb": ["kjæreste"]},
            {"id": "behaviour", "nb": ["oppførsel"]},
            {"id": "breathe", "nb": ["puste"], "negated": "not-breathing"},
            {"id": "not-breathing", "phrases": ["får ikke luft"]},
            {"id": "mother", "nb": ["mor"]},
            {"id": "suicide", "nb": ["selvmord"], "phrases": ["ta livet mitt"]},
            {"id": "now", "nn": ["no"]}
        ],
        "spellings": {"itj": "ikke"},
        "function_words": ["et"]
    }"#;
    const FORMS: &str = "# test\n\
        et\tete|en\tmother\tnb\n\
        ikke\tikke\tnegation\n\
        kjæreste\tkjæreste\tpartner\tnb\thm\n\
        kjæresten\tkjæreste\tpartner\tnb\th\n\
        oppførsel\toppførsel\tbehaviour\tnb\th\n\
        puster\tpuste|pust\tbreathe\n\
        mor\tmor\tmother\tnb\th\n\
        humor\thumor\t\n\
        selvmord\tselvmord\tsuicide\n\
        tok\tta\t\n\
        ta\tta\t\n\
        livet\tliv\t\n\
        mitt\tmin\t\n\
        får\tfå\t\n\
        no\tno\tnow\tnn\n\
        noe\tnoe\t\tnb\n\
        far\tfar\tmother\n";

    fn lexicon() -> Lexicon {
        Lexicon::parse(CONCEPTS, FORMS).unwrap()
    }

    fn concepts(l: &Lexicon, raw: &str, english: bool) -> Vec<String> {
        let r = l.word(raw, &fold(raw), english);
        r.concepts
            .iter()
            .map(|&c| l.concept_name(c).to_string())
            .collect()
    }

    #[test]
    fn forms_are_found_as_typed_and_without_norwegian_letters() {
        let l = lexicon();
        assert_eq!(concepts(&l, "kjæresten", false), ["partner"]);
        assert_eq!(concepts(&l, "kjaeresten", false), ["partner"]);
        // "far" typed could be "får" too; typed with å it is only "får".
        assert_eq!(
            l.word("får", &fold("får"), false).recognised,
            Recognised::Exact
        );
        assert!(concepts(&l, "får", false).is_empty());
        assert_eq!(concepts(&l, "far", false), ["mother"]);
    }

    #[test]
    fn compounds_take_the_meaning_of_their_parts() {
        let l = lexicon();
        let mut c = concepts(&l, "kjæresteoppførsel", false);
        c.sort();
        assert_eq!(c, ["behaviour", "partner"]);
        assert_eq!(
            l.word("kjæresteoppførsel", &fold("kjæresteoppførsel"), false)
                .recognised,
            Recognised::Compound
        );
        // A word the table knows is never split: "humor" is not "hu|mor".
        assert!(concepts(&l, "humor", false).is_empty());
        // A known beginning with an unknown end.
        assert_eq!(concepts(&l, "kjæresteproblemer", false), ["partner"]);
    }

    #[test]
    fn a_function_word_typed_as_spelt_is_not_another_word_its_folding_meets() {
        let l = lexicon();
        // "noe" folds to "no" ("oe" for ø), the Nynorsk "now".
        assert!(concepts(&l, "noe", false).is_empty());
        assert_eq!(concepts(&l, "no", false), ["now"]);
    }

    #[test]
    fn a_function_word_carries_no_content_words_concept() {
        let l = lexicon();
        // "et" is also the imperative of a verb with a concept.
        assert!(concepts(&l, "et", false).is_empty());
        // Typed with a letter the function word lacks, it is another word.
        assert_eq!(concepts(&l, "ét", false), ["mother"]);
        assert!(!l.word("et", "et", false).lemmas.is_empty());
    }

    #[test]
    fn one_typo_in_a_long_word_is_forgiven() {
        let l = lexicon();
        assert_eq!(concepts(&l, "selvmor", false), ["suicide"]);
        assert_eq!(concepts(&l, "kjærsten", false), ["partner"]);
        assert_eq!(
            l.word("selvmor", "selvmor", false).recognised,
            Recognised::Typo
        );
    }

    #[test]
    fn phrases_match_any_inflection_of_their_words() {
        let l = lexicon();
        let phrase = l
            .patterns
            .iter()
            .find(|p| &*p.text == "ta livet mitt")
            .unwrap();
        let Element::Word(first) = &phrase.elements[0] else {
            panic!()
        };
        let tok = l.word("tok", "tok", false);
        assert!(first.iter().any(|l| tok.lemmas.contains(l)));
        assert_eq!(l.spelling("itj").unwrap().len(), 1);
        let negated = l.concepts[l.concept("breathe").unwrap() as usize].negated;
        assert_eq!(negated, Some(l.concept("not-breathing").unwrap()));
    }
}
