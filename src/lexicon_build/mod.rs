//! `veiviser lexicon build`: turns the hand-written concepts (`catalog/lexicon/concepts.json`)
//! and the topics' keywords into the generated half of the router's lexicon,
//! `catalog/lexicon/forms.tsv`, using four Norwegian lexical resources Debian packages:
//!
//! - Hunspell `nb_NO`/`nn_NO` (`hunspell-no`): every inflected form of a lemma, and the
//!   word list the compound rule is checked against.
//! - Apertium `apertium-nno-nob`: lemmas of every form (Bokmål and Nynorsk analysers),
//!   compound analysis, and Bokmål→Nynorsk translation of the concepts' lemmas.
//! - MyThes `th_nb_NO_v2` (`mythes-no`): synonyms of the senses the concepts pick.
//! - FreeDict `eng-nor` (`dict-freedict-eng-nor`): English words translating to a concept's
//!   Bokmål lemmas, for concepts that ask for them.
//!
//! The runtime reads only the committed files; nothing here runs in the server. Output is
//! sorted, so that a rebuild with the same inputs gives the same bytes (a test checks the
//! committed file against a rebuild where the resources are installed).

pub mod apertium;
pub mod english;
pub mod freedict;
pub mod hunspell;
pub mod mythes;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::model::Taxonomy;
use crate::routing::lexicon::{ConceptsFile, Lexicon, Recognised, file::split_pos};
use crate::routing::text::fold;
use apertium::{Apertium, Language};

/// Where the lexical resources are installed.
#[derive(Debug, Clone)]
pub struct Resources {
    /// Holds `nb_NO.aff`, `nb_NO.dic`, `nn_NO.aff`, `nn_NO.dic`.
    pub hunspell: PathBuf,
    /// `th_nb_NO_v2.dat`.
    pub thesaurus: PathBuf,
    /// Holds Apertium's `nob-nno.automorf.bin` and `nno-nob.automorf.bin`.
    pub apertium: PathBuf,
    /// `freedict-eng-nor.dict.dz`.
    pub freedict: PathBuf,
}

impl Default for Resources {
    /// Where Debian installs them.
    fn default() -> Self {
        Resources {
            hunspell: "/usr/share/hunspell".into(),
            thesaurus: "/usr/share/mythes/th_nb_NO_v2.dat".into(),
            apertium: "/usr/share/apertium/apertium-nno-nob".into(),
            freedict: "/usr/share/dictd/freedict-eng-nor.dict.dz".into(),
        }
    }
}

impl Resources {
    /// Whether every resource is installed.
    pub fn installed(&self) -> bool {
        self.hunspell.join("nb_NO.dic").exists()
            && self.hunspell.join("nn_NO.dic").exists()
            && self.thesaurus.exists()
            && self.apertium.join("nob-nno.automorf.bin").exists()
            && self.freedict.exists()
    }
}

/// What a build found, for the command's summary.
#[derive(Debug, Default)]
pub struct Report {
    pub concepts: usize,
    pub seed_lemmas: usize,
    pub thesaurus_synonyms: usize,
    pub nynorsk_translations: usize,
    pub freedict_words: usize,
    pub rows: usize,
    pub phrases: usize,
    pub compound_corrections: usize,
    pub typo_guards: usize,
}

/// One row of `forms.tsv`.
#[derive(Debug, Default, Clone)]
struct Row {
    lemmas: BTreeSet<String>,
    concepts: BTreeSet<String>,
    langs: BTreeSet<&'static str>,
    /// Apertium reads the form as a possible last part of a compound (`<compound-R>`).
    head: bool,
    /// … or as a possible first part (`<cmp>`, `<compound-only-L>`).
    modifier: bool,
}

/// A lemma that expresses a concept.
#[derive(Debug, Clone)]
struct Seed {
    lemma: String,
    pos: Option<String>,
    concept: String,
}

/// English function words: a phrase with one of them is English.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "i", "my", "me", "myself", "you", "your", "the", "to", "a", "an", "is", "are", "am", "of",
    "and", "it", "he", "she", "they", "we", "his", "her", "him", "them", "our", "was", "be", "can",
    "cant", "dont", "doesnt", "not", "wont", "what", "how", "with", "up", "out", "off", "on", "in",
    "at", "for", "from", "this", "that", "im", "want", "no", "all", "any",
];

/// Builds `forms.tsv` from `catalog/lexicon/concepts.json` and `catalog/topics.json`.
pub fn build(resources: &Resources, catalog: &Path) -> anyhow::Result<(String, Report)> {
    let read = |relative: &str| {
        let path = catalog.join(relative);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let file = ConceptsFile::parse(&read("lexicon/concepts.json")?).map_err(anyhow::Error::msg)?;
    let taxonomy = Taxonomy::parse(&read("topics.json")?).map_err(anyhow::Error::msg)?;
    let apertium = Apertium::new(&resources.apertium)?;
    let thesaurus = mythes::Thesaurus::load(&resources.thesaurus)?;
    let reverse = freedict::Reverse::load(&resources.freedict)?;
    let nb_lines = hunspell::load(&resources.hunspell, "nb_NO")?;
    let nn_lines = hunspell::load(&resources.hunspell, "nn_NO")?;
    let mut report = Report {
        concepts: file.concepts.len(),
        ..Report::default()
    };

    // The seeds: lemmas of each language with their concepts; and words that only phrases
    // use, which need their lemmas but carry no concept.
    let mut nb_seeds: Vec<Seed> = Vec::new();
    let mut nn_seeds: Vec<Seed> = Vec::new();
    let mut en_seeds: Vec<Seed> = Vec::new();
    let mut generated_phrases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let seed = |word: &str, concept: &str| {
        let (lemma, pos) = split_pos(word);
        Seed {
            lemma: lemma.to_lowercase(),
            pos: pos.map(str::to_string),
            concept: concept.to_string(),
        }
    };
    for spec in &file.concepts {
        for word in spec.nb.iter().filter(|w| !w.contains(' ')) {
            nb_seeds.push(seed(word, &spec.id));
        }
        for word in spec.nn.iter().filter(|w| !w.contains(' ')) {
            nn_seeds.push(seed(word, &spec.id));
        }
        for word in spec.en.iter().filter(|w| !w.contains(' ')) {
            en_seeds.push(seed(word, &spec.id));
        }
        for pick in &spec.thesaurus {
            let synonyms = thesaurus
                .synonyms(&pick.word, pick.sense)
                .with_context(|| {
                    format!(
                        "concept {}: the thesaurus has no sense {} of '{}'",
                        spec.id, pick.sense, pick.word
                    )
                })?;
            for synonym in synonyms {
                if pick.exclude.iter().any(|x| x.eq_ignore_ascii_case(synonym)) {
                    continue;
                }
                report.thesaurus_synonyms += 1;
                if synonym.contains(' ') {
                    generated_phrases
                        .entry(synonym.clone())
                        .or_default()
                        .insert(spec.id.clone());
                } else {
                    let mut s = seed(synonym, &spec.id);
                    s.pos = pick.pos.clone();
                    nb_seeds.push(s);
                }
            }
        }
        if spec.freedict {
            for word in spec.nb.iter().filter(|w| !w.contains(' ')) {
                for english in reverse.english_for(split_pos(word).0) {
                    report.freedict_words += 1;
                    if english.contains(' ') {
                        generated_phrases
                            .entry(english.clone())
                            .or_default()
                            .insert(spec.id.clone());
                    } else {
                        en_seeds.push(seed(english, &spec.id));
                    }
                }
            }
        }
    }
    // Nynorsk lemmas for the Bokmål ones, by Apertium's translator.
    let nb_words: Vec<String> = nb_seeds.iter().map(|s| s.lemma.clone()).collect();
    let translated = apertium.to_nynorsk(&nb_words)?;
    let translated_analyses = apertium.analyse(Language::Nynorsk, &translated, false)?;
    for ((seed, surface), analyses) in nb_seeds.iter().zip(&translated).zip(&translated_analyses) {
        let surface = surface.trim().to_lowercase();
        if surface.is_empty() || surface.contains(' ') || surface.contains('#') {
            continue;
        }
        let mut lemmas: Vec<&str> = analyses
            .iter()
            .filter(|a| a.len() == 1)
            .filter(|a| seed.pos.as_deref().is_none_or(|p| a[0].pos() == p))
            .map(|a| a[0].lemma.as_str())
            .collect();
        lemmas.sort_unstable();
        lemmas.dedup();
        // Apertium's Nynorsk lemmas are e-infinitives ("mobbe"); the surface is kept too.
        let chosen: Vec<String> = if lemmas.is_empty() || lemmas.contains(&surface.as_str()) {
            vec![surface.clone()]
        } else {
            lemmas.iter().map(|l| l.to_string()).collect()
        };
        for lemma in chosen {
            if lemma != seed.lemma {
                report.nynorsk_translations += 1;
            }
            nn_seeds.push(Seed {
                lemma,
                pos: seed.pos.clone(),
                concept: seed.concept.clone(),
            });
        }
    }
    report.seed_lemmas = nb_seeds.len() + nn_seeds.len() + en_seeds.len();

    // Words of phrases: concepts' phrases and multiword lemmas, idioms, topic keywords,
    // spellings' targets, and the phrases found in the thesaurus and FreeDict.
    let mut phrase_texts: Vec<String> = Vec::new();
    for spec in &file.concepts {
        phrase_texts.extend(spec.phrases.iter().cloned());
        phrase_texts.extend(
            spec.nb
                .iter()
                .chain(&spec.nn)
                .chain(&spec.en)
                .filter(|w| w.contains(' '))
                .cloned(),
        );
    }
    for idiom in &file.idioms {
        phrase_texts.extend(idiom.phrases.iter().cloned());
    }
    phrase_texts.extend(file.spellings.values().cloned());
    for topic in taxonomy.topics() {
        phrase_texts.extend(topic.keywords_nb.iter().cloned());
        phrase_texts.extend(topic.keywords_nn.iter().cloned());
        phrase_texts.extend(topic.keywords_en.iter().cloned());
        phrase_texts.extend(topic.label.values().cloned());
    }
    phrase_texts.extend(generated_phrases.keys().cloned());
    let mut phrase_words: BTreeSet<String> = BTreeSet::new();
    let mut english_phrase_words: BTreeSet<String> = BTreeSet::new();
    for text in &phrase_texts {
        let words: Vec<String> = text
            .split_whitespace()
            .filter(|w| *w != "*" && !w.starts_with('@'))
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect();
        let english = words
            .iter()
            .any(|w| ENGLISH_FUNCTION_WORDS.contains(&fold(w).as_str()));
        // An English phrase's words are English: read as Norwegian they would lend their
        // lemmas to Norwegian words spelt alike ("hit", "fire").
        for word in words {
            if english {
                english_phrase_words.insert(word);
            } else {
                phrase_words.insert(word);
            }
        }
    }

    // Lemmas of every dictionary stem, to find the lines of a lemma (irregular forms such
    // as "drakk" are lines of their own).
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (language, lines, seeds, lang) in [
        (Language::Bokmal, &nb_lines, &nb_seeds, "nb"),
        (Language::Nynorsk, &nn_lines, &nn_seeds, "nn"),
    ] {
        let stems: Vec<String> = lines.iter().map(|l| l.stem.to_lowercase()).collect();
        let stem_analyses = analyse_all(&apertium, language, &stems, false)?;
        let mut lines_of_lemma: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, stem) in stems.iter().enumerate() {
            lines_of_lemma.entry(stem.as_str()).or_default().push(i);
            for analysis in &stem_analyses[i] {
                if let [part] = analysis.as_slice() {
                    lines_of_lemma
                        .entry(part.lemma.as_str())
                        .or_default()
                        .push(i);
                }
            }
        }
        // Candidate forms: those of the lines of each wanted lemma.
        let mut wanted: Vec<(String, Option<String>, Option<String>)> = seeds
            .iter()
            .map(|s| (s.lemma.clone(), s.pos.clone(), Some(s.concept.clone())))
            .collect();
        // Phrase words: their lemmas, found by analysis, with all their forms.
        let words: Vec<String> = phrase_words.iter().cloned().collect();
        let word_analyses = analyse_all(&apertium, language, &words, false)?;
        for (word, analyses) in words.iter().zip(&word_analyses) {
            wanted.push((word.clone(), None, None));
            for analysis in analyses {
                if let [part] = analysis.as_slice() {
                    wanted.push((part.lemma.to_lowercase(), None, None));
                }
            }
        }
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        for (lemma, _, _) in &wanted {
            candidates.insert(lemma.clone());
            for &i in lines_of_lemma.get(lemma.as_str()).into_iter().flatten() {
                for form in &lines[i].forms {
                    candidates.insert(form.to_lowercase());
                }
            }
        }
        let candidates: Vec<String> = candidates.into_iter().collect();
        let analyses = analyse_all(&apertium, language, &candidates, false)?;
        // lemma → (part of speech, concept) of each seed.
        type SeedsOfLemma<'a> = HashMap<&'a str, Vec<(&'a Option<String>, &'a Option<String>)>>;
        let mut seeds_of_lemma: SeedsOfLemma = HashMap::new();
        for (lemma, pos, concept) in &wanted {
            seeds_of_lemma
                .entry(lemma.as_str())
                .or_default()
                .push((pos, concept));
        }
        for (form, analyses) in candidates.iter().zip(&analyses) {
            let single: Vec<&apertium::Part> = analyses
                .iter()
                .filter_map(|a| match a.as_slice() {
                    [part] => Some(part),
                    _ => None,
                })
                .collect();
            let mut row = Row::default();
            let mut belongs = false;
            // A form the analyser does not know belongs to its own lemma only.
            let unknown = apertium::Part {
                lemma: form.clone(),
                tags: Vec::new(),
            };
            let readings: Vec<&apertium::Part> = if single.is_empty() {
                vec![&unknown]
            } else {
                single
            };
            let standalone: Vec<&str> = readings
                .iter()
                .filter(|p| !p.tags.iter().any(|t| t == "compound-only-L" || t == "gen"))
                .map(|p| p.lemma.as_str())
                .collect();
            for part in readings {
                // A genitive ("boks" of "bok") is no reading at all here: it is far more often
                // another word ("boks", a box) than a possessive in what young people write.
                if part.tags.iter().any(|t| t == "gen") {
                    continue;
                }
                // Nor is the first part of a compound of another lemma ("boks-" of "bok"),
                // where the form is also a word of its own ("boks", a box).
                let only_left = part.tags.iter().any(|t| t == "compound-only-L");
                if only_left && !standalone.is_empty() && !standalone.contains(&part.lemma.as_str())
                {
                    continue;
                }
                let lemma = part.lemma.to_lowercase();
                row.lemmas.insert(lemma.clone());
                let mut carries = false;
                for (want_pos, concept) in seeds_of_lemma.get(lemma.as_str()).into_iter().flatten()
                {
                    if want_pos.as_deref().is_some_and(|p| p != part.pos()) {
                        continue;
                    }
                    belongs = true;
                    if let Some(concept) = concept {
                        row.concepts.insert(concept.clone());
                        carries = true;
                    }
                }
                if carries {
                    let tagged = |t: &str| part.tags.iter().any(|x| x == t);
                    row.head |= tagged("compound-R");
                    row.modifier |= tagged("cmp") || tagged("compound-only-L");
                }
            }
            if belongs {
                row.langs.insert(lang);
                merge(&mut rows, form, row);
            }
        }
    }
    // English: the concepts' words and the English phrase words, with their forms, in rows
    // of their own: "fire" is fire in English and four in Norwegian.
    let mut en_rows: BTreeMap<String, Row> = BTreeMap::new();
    for seed in &en_seeds {
        for form in english::forms(&seed.lemma) {
            let row = Row {
                lemmas: [seed.lemma.clone()].into(),
                concepts: [seed.concept.clone()].into(),
                langs: ["en"].into(),
                ..Row::default()
            };
            merge(&mut en_rows, &form, row);
        }
    }
    // A phrase's word is taken in all the forms of its base ("asks for pics" is also
    // "asking for pics"), the base found among FreeDict's English headwords.
    let headwords = reverse.headwords();
    let known = |w: &str| headwords.binary_search_by(|h| h.as_str().cmp(w)).is_ok();
    for word in &english_phrase_words {
        let base = english::base_of(word, known);
        for form in std::iter::once(word.clone()).chain(english::forms(&base)) {
            let row = Row {
                lemmas: [base.clone()].into(),
                langs: ["en"].into(),
                ..Row::default()
            };
            merge(&mut en_rows, &form, row);
        }
    }
    report.phrases = generated_phrases.len();

    // Check the compound rule against the dictionaries: every dictionary word the rule
    // would split is analysed by Apertium, and where the two disagree the table says what
    // Apertium says.
    let lemma_concepts = lemma_concepts(&nb_seeds, &nn_seeds);
    let preliminary = write_tsv(&rows, &en_rows, &generated_phrases, &[]);
    let lexicon = Lexicon::from_parts(&file, &preliminary).map_err(anyhow::Error::msg)?;
    for (language, lines, lang) in [
        (Language::Bokmal, &nb_lines, "nb"),
        (Language::Nynorsk, &nn_lines, "nn"),
    ] {
        let mut candidates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        // The table's own forms without concepts (a phrase's words) are checked too, even
        // when the dictionary lacks them.
        let table_forms: Vec<String> = rows
            .iter()
            .filter(|(_, r)| r.concepts.is_empty() && r.langs.contains(lang))
            .map(|(form, _)| form.clone())
            .collect();
        let forms = lines
            .iter()
            .flat_map(|line| line.forms.iter())
            .chain(&table_forms);
        {
            for form in forms {
                let form = form.to_lowercase();
                // Forms the table reads with concepts are never split; those it holds only
                // for their lemmas (a phrase's words) are checked like the rest.
                let has_concepts = rows.get(&form).is_some_and(|r| !r.concepts.is_empty());
                if !form.chars().all(char::is_alphabetic)
                    || has_concepts
                    || !seen.insert(form.clone())
                {
                    continue;
                }
                if let Some(reading) = lexicon.compound(&fold(&form)) {
                    let predicted = reading
                        .concepts
                        .iter()
                        .map(|&c| lexicon.concept_name(c).to_string())
                        .collect();
                    candidates.insert(form, predicted);
                }
            }
        }
        let words: Vec<String> = candidates.keys().cloned().collect();
        let analyses = analyse_all(&apertium, language, &words, true)?;
        // A compound the dictionary has as a word of its own ("nettmobbing") is not split
        // by Apertium: when its lemma ends in a concept's lemma and what comes before is a
        // word of three letters or more, it is that concept ("nett|mobbing"; not "av|gift").
        let heads_of = |lemma: &str| -> Vec<(String, String)> {
            lemma_concepts
                .keys()
                .filter(|(seed, l)| {
                    *l == lang
                        && seed.chars().count() >= 4
                        && lemma.len() >= seed.len() + 3
                        && lemma.ends_with(seed.as_str())
                })
                .map(|(seed, _)| (lemma[..lemma.len() - seed.len()].to_string(), seed.clone()))
                .collect()
        };
        let mut prefixes: BTreeSet<String> = BTreeSet::new();
        for analyses in &analyses {
            for analysis in analyses.iter().filter(|a| a.len() == 1) {
                for (prefix, _) in heads_of(&analysis[0].lemma.to_lowercase()) {
                    for link in ["s", "e"] {
                        if let Some(p) = prefix.strip_suffix(link) {
                            prefixes.insert(p.to_string());
                        }
                    }
                    prefixes.insert(prefix);
                }
            }
        }
        let prefixes: Vec<String> = prefixes.into_iter().collect();
        let prefix_analyses = analyse_all(&apertium, language, &prefixes, false)?;
        let known_prefixes: HashSet<&str> = prefixes
            .iter()
            .zip(&prefix_analyses)
            .filter(|(_, a)| !a.is_empty())
            .map(|(p, _)| p.as_str())
            .collect();
        let word_before = |prefix: &str| {
            let known = |p: &str| p.chars().count() >= 3 && known_prefixes.contains(p);
            known(prefix)
                || ["s", "e"]
                    .iter()
                    .any(|l| prefix.strip_suffix(l).is_some_and(known))
        };
        for ((form, predicted), analyses) in candidates.iter().zip(&analyses) {
            if analyses.is_empty() {
                continue;
            }
            let fewest = analyses.iter().map(Vec::len).min().unwrap_or(1);
            let mut row = Row::default();
            for analysis in analyses.iter().filter(|a| a.len() == fewest) {
                if let Some(last) = analysis.last() {
                    row.lemmas.insert(last.lemma.to_lowercase());
                }
                for part in analysis {
                    let lemma = part.lemma.to_lowercase();
                    let mut keys = vec![lemma.clone()];
                    if analysis.len() == 1 {
                        keys.extend(
                            heads_of(&lemma)
                                .into_iter()
                                .filter(|(prefix, _)| word_before(prefix))
                                .map(|(_, seed)| seed),
                        );
                    }
                    for key in keys {
                        for (pos, concept) in lemma_concepts.get(&(key, lang)).into_iter().flatten()
                        {
                            if pos.as_deref().is_none_or(|p| p == part.pos()) {
                                row.concepts.insert(concept.clone());
                            }
                        }
                    }
                }
            }
            // The table is read before the compound rule: a form it holds for a phrase's
            // sake must carry the compound's concepts itself.
            let in_table = rows.contains_key(form);
            if (in_table && !row.concepts.is_empty()) || (!in_table && row.concepts != *predicted) {
                row.langs.insert(lang);
                report.compound_corrections += 1;
                merge(&mut rows, form, row);
            }
        }
    }
    guard_ordinary_words(
        &file,
        [&mut rows, &mut en_rows],
        &generated_phrases,
        [&nb_lines, &nn_lines],
        &reverse,
        &mut report,
    )?;
    report.rows = rows.len() + en_rows.len();
    let header = header_lines(resources);
    Ok((
        write_tsv(&rows, &en_rows, &generated_phrases, &header),
        report,
    ))
}

/// Ordinary words the table lacks lie one letter from words it has ("brukt" from "brekt",
/// injury): read as typos, they would carry that word's concepts. Every dictionary word
/// (Hunspell's Bokmål and Nynorsk forms, FreeDict's English headwords with their forms) that
/// the runtime would read so becomes a row of its own without concepts. Compounds are left
/// to the compound rule: only words read as typos are guarded.
fn guard_ordinary_words(
    file: &ConceptsFile,
    [rows, en_rows]: [&mut BTreeMap<String, Row>; 2],
    phrases: &BTreeMap<String, BTreeSet<String>>,
    norwegian: [&Vec<hunspell::Line>; 2],
    reverse: &freedict::Reverse,
    report: &mut Report,
) -> anyhow::Result<()> {
    let lexicon = Lexicon::from_parts(file, &write_tsv(rows, en_rows, phrases, &[]))
        .map_err(anyhow::Error::msg)?;
    let english_forms: Vec<String> = reverse
        .headwords()
        .iter()
        .filter(|w| !w.contains(' '))
        .flat_map(|w| english::forms(w))
        .collect();
    let words = [
        (
            norwegian[0]
                .iter()
                .flat_map(|l| l.forms.iter())
                .collect::<Vec<_>>(),
            "nb",
            false,
        ),
        (
            norwegian[1]
                .iter()
                .flat_map(|l| l.forms.iter())
                .collect::<Vec<_>>(),
            "nn",
            false,
        ),
        (english_forms.iter().collect::<Vec<_>>(), "en", true),
    ];
    let mut guards: BTreeMap<String, Row> = BTreeMap::new();
    let mut en_guards: BTreeMap<String, Row> = BTreeMap::new();
    for (forms, lang, english) in words {
        let (table, guards) = if english {
            (&*en_rows, &mut en_guards)
        } else {
            (&*rows, &mut guards)
        };
        for form in forms {
            let form = form.to_lowercase();
            if !form.chars().all(char::is_alphabetic) || table.contains_key(&form) {
                continue;
            }
            let reading = lexicon.word(&form, &fold(&form), english);
            if reading.recognised == Recognised::Typo && !reading.concepts.is_empty() {
                let row = Row {
                    lemmas: [form.clone()].into(),
                    langs: [lang].into(),
                    ..Row::default()
                };
                merge(guards, &form, row);
            }
        }
    }
    report.typo_guards = guards.len() + en_guards.len();
    for (form, row) in guards {
        merge(rows, &form, row);
    }
    for (form, row) in en_guards {
        merge(en_rows, &form, row);
    }
    Ok(())
}

/// Analyses words in batches, skipping those `lt-proc` would read as markup.
fn analyse_all(
    apertium: &Apertium,
    language: Language,
    words: &[String],
    compounds: bool,
) -> anyhow::Result<Vec<Vec<apertium::Analysis>>> {
    let clean = |w: &String| {
        !w.is_empty()
            && !w.contains([
                '^', '$', '/', '\\', '[', ']', '@', '<', '>', '{', '}', '*', '#',
            ])
    };
    let safe: Vec<String> = words.iter().filter(|w| clean(w)).cloned().collect();
    let mut analysed = apertium.analyse(language, &safe, compounds)?.into_iter();
    Ok(words
        .iter()
        .map(|w| {
            if clean(w) {
                analysed.next().unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect())
}

type LemmaConcepts = HashMap<(String, &'static str), Vec<(Option<String>, String)>>;

fn lemma_concepts(nb: &[Seed], nn: &[Seed]) -> LemmaConcepts {
    let mut out: LemmaConcepts = HashMap::new();
    for (seeds, lang) in [(nb, "nb"), (nn, "nn")] {
        for s in seeds {
            out.entry((s.lemma.clone(), lang))
                .or_default()
                .push((s.pos.clone(), s.concept.clone()));
        }
    }
    out
}

fn merge(rows: &mut BTreeMap<String, Row>, form: &str, row: Row) {
    let slot = rows.entry(form.to_string()).or_default();
    slot.lemmas.extend(row.lemmas);
    slot.concepts.extend(row.concepts);
    slot.langs.extend(row.langs);
    slot.head |= row.head;
    slot.modifier |= row.modifier;
}

/// The table: Norwegian and English rows in the order of their forms (a form spelt alike
/// in both has a row for each), then the phrases.
fn write_tsv(
    rows: &BTreeMap<String, Row>,
    en_rows: &BTreeMap<String, Row>,
    phrases: &BTreeMap<String, BTreeSet<String>>,
    header: &[String],
) -> String {
    let mut out = String::with_capacity((rows.len() + en_rows.len()) * 40);
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    let join =
        |set: &BTreeSet<String>, sep: &str| set.iter().cloned().collect::<Vec<_>>().join(sep);
    let mut all: Vec<(&String, &Row)> = rows.iter().chain(en_rows).collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    for (form, row) in all {
        let langs: Vec<&str> = row.langs.iter().copied().collect();
        let flags = match (row.head, row.modifier) {
            (true, true) => "hm",
            (true, false) => "h",
            (false, true) => "m",
            (false, false) => "",
        };
        out.push_str(&format!(
            "{form}\t{}\t{}\t{}\t{flags}\n",
            join(&row.lemmas, "|"),
            join(&row.concepts, ","),
            langs.join(",")
        ));
    }
    for (phrase, concepts) in phrases {
        out.push_str(&format!("{phrase}\t\t{}\t\n", join(concepts, ",")));
    }
    out
}

fn header_lines(resources: &Resources) -> Vec<String> {
    let version = |package: &str| {
        std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", package])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "version unknown".into())
    };
    vec![
        "Generated by `veiviser lexicon build` from catalog/lexicon/concepts.json and catalog/topics.json.".into(),
        "Do not edit: change concepts.json and rebuild (README, \"The lexicon\"). Licences: LICENSES.md.".into(),
        format!("Hunspell nb_NO/nn_NO, hunspell-no {} ({})", version("hunspell-no"), resources.hunspell.display()),
        format!("Apertium nob/nno analysers and translator, apertium-nno-nob {}", version("apertium-nno-nob")),
        format!("MyThes th_nb_NO_v2, mythes-no {}", version("mythes-no")),
        format!("FreeDict eng-nor, dict-freedict-eng-nor {}", version("dict-freedict-eng-nor")),
        "form<TAB>lemmas<TAB>concepts<TAB>languages<TAB>h (compound head), m (compound first part); a form with spaces is a phrase".into(),
    ]
}
