//! The forms table, packed: about 200,000 forms live in a few flat arrays instead of a
//! map of boxed strings and boxed slices, which took four times the memory (a small heap
//! allocation costs 32 bytes whatever it holds) and made loading slower.

use super::{ConceptId, LemmaId};

/// One reading of a form.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sense<'t> {
    /// The form as written in the lexicon (lower case, with æøå).
    pub form: &'t str,
    pub lemmas: &'t [LemmaId],
    pub concepts: &'t [ConceptId],
    /// An English reading (the form is an English word).
    pub english: bool,
    /// A Bokmål or Nynorsk reading.
    pub norwegian: bool,
    /// May be the last part of a compound.
    pub head: bool,
    /// May be the first part of a compound.
    pub modifier: bool,
}

const ENGLISH: u8 = 1;
const NORWEGIAN: u8 = 2;
const HEAD: u8 = 4;
const MODIFIER: u8 = 8;

/// A sense as stored: offsets into the table's arrays.
#[derive(Debug, Clone, Copy)]
struct PackedSense {
    form: u32,
    form_len: u16,
    flags: u8,
    lemma_count: u8,
    lemmas: u32,
    concepts: u32,
    concept_count: u8,
}

/// A key (a folded form) and the senses that share it.
#[derive(Debug, Clone, Copy)]
struct Key {
    hash: u64,
    text: u32,
    text_len: u16,
    sense_count: u16,
    senses: u32,
}

/// A sense to be added while the table is built.
pub(super) struct NewSense<'a> {
    pub key: String,
    pub form: &'a str,
    pub lemmas: Vec<LemmaId>,
    pub concepts: Vec<ConceptId>,
    pub english: bool,
    pub norwegian: bool,
    pub head: bool,
    pub modifier: bool,
}

/// Every single-word form, by its folded spelling.
#[derive(Debug, Default)]
pub(super) struct FormTable {
    text: String,
    keys: Vec<Key>,
    senses: Vec<PackedSense>,
    lemmas: Vec<LemmaId>,
    concepts: Vec<ConceptId>,
}

/// A fixed hash of a string, for tables kept sorted by it (this one and the typo index).
pub(super) fn hash_of(text: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(text)
}

fn short<T: TryFrom<usize>>(n: usize, what: &str) -> T {
    T::try_from(n).unwrap_or_else(|_| panic!("lexicon: {what} too long for the forms table"))
}

impl FormTable {
    /// Builds the table; senses of one key keep the order they came in.
    pub fn build(mut new: Vec<NewSense<'_>>) -> Self {
        let mut hashed: Vec<(u64, usize)> = new
            .iter()
            .enumerate()
            .map(|(i, s)| (hash_of(&s.key), i))
            .collect();
        // Stable order within a key: by hash, then key text, then arrival.
        hashed.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| new[a.1].key.cmp(&new[b.1].key))
                .then(a.1.cmp(&b.1))
        });
        let mut table = FormTable::default();
        let mut start = 0;
        while start < hashed.len() {
            let (hash, first) = hashed[start];
            let mut end = start + 1;
            while end < hashed.len()
                && hashed[end].0 == hash
                && new[hashed[end].1].key == new[first].key
            {
                end += 1;
            }
            let key_text = std::mem::take(&mut new[first].key);
            let key_at = table.push_text(&key_text);
            let senses_at = table.senses.len();
            for &(_, i) in &hashed[start..end] {
                let sense = &mut new[i];
                let form = if sense.form == key_text {
                    key_at
                } else {
                    table.push_text(sense.form)
                };
                let lemmas = table.lemmas.len();
                table.lemmas.append(&mut sense.lemmas);
                let concepts = table.concepts.len();
                table.concepts.append(&mut sense.concepts);
                let flags = [
                    (sense.english, ENGLISH),
                    (sense.norwegian, NORWEGIAN),
                    (sense.head, HEAD),
                    (sense.modifier, MODIFIER),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |flags, (_, bit)| flags | bit);
                table.senses.push(PackedSense {
                    form,
                    form_len: short(sense.form.len(), "a form"),
                    flags,
                    lemma_count: short(table.lemmas.len() - lemmas, "a lemma list"),
                    lemmas: short(lemmas, "the lemma list"),
                    concepts: short(concepts, "the concept list"),
                    concept_count: short(table.concepts.len() - concepts, "a concept list"),
                });
            }
            table.keys.push(Key {
                hash,
                text: key_at,
                text_len: short(key_text.len(), "a form"),
                sense_count: short(end - start, "a sense list"),
                senses: short(senses_at, "the sense list"),
            });
            start = end;
        }
        table.text.shrink_to_fit();
        table.lemmas.shrink_to_fit();
        table.concepts.shrink_to_fit();
        table.senses.shrink_to_fit();
        table.keys.shrink_to_fit();
        table
    }

    fn push_text(&mut self, text: &str) -> u32 {
        let at = short(self.text.len(), "the text");
        self.text.push_str(text);
        at
    }

    fn slice(&self, at: u32, len: u16) -> &str {
        &self.text[at as usize..at as usize + len as usize]
    }

    /// The senses of a folded form, when it is in the table.
    pub fn get(&self, folded: &str) -> Option<impl Iterator<Item = Sense<'_>> + Clone> {
        let hash = hash_of(folded);
        let start = self.keys.partition_point(|k| k.hash < hash);
        let key = self.keys[start..]
            .iter()
            .take_while(|k| k.hash == hash)
            .find(|k| self.slice(k.text, k.text_len) == folded)?;
        let senses = &self.senses[key.senses as usize..][..key.sense_count as usize];
        Some(senses.iter().map(|p| Sense {
            form: self.slice(p.form, p.form_len),
            lemmas: &self.lemmas[p.lemmas as usize..][..p.lemma_count as usize],
            concepts: &self.concepts[p.concepts as usize..][..p.concept_count as usize],
            english: p.flags & ENGLISH != 0,
            norwegian: p.flags & NORWEGIAN != 0,
            head: p.flags & HEAD != 0,
            modifier: p.flags & MODIFIER != 0,
        }))
    }

    /// Every key (folded form) in the table.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| self.slice(k.text, k.text_len))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sense<'a>(key: &str, form: &'a str, lemmas: &[u32], concepts: &[u16]) -> NewSense<'a> {
        NewSense {
            key: key.to_string(),
            form,
            lemmas: lemmas.to_vec(),
            concepts: concepts.iter().map(|&c| c as ConceptId).collect(),
            english: false,
            norwegian: true,
            head: form.chars().count() > 3,
            modifier: false,
        }
    }

    #[test]
    fn a_key_gives_back_its_senses_in_the_order_they_came() {
        let table = FormTable::build(vec![
            sense("far", "får", &[1], &[7]),
            sense("hus", "hus", &[2], &[]),
            sense("far", "far", &[3, 4], &[8, 9]),
        ]);
        assert_eq!(table.len(), 2);
        let far: Vec<_> = table.get("far").unwrap().collect();
        assert_eq!(far.len(), 2);
        assert_eq!(
            (far[0].form, far[0].lemmas, far[0].head),
            ("får", &[1][..], false)
        );
        assert_eq!(far[0].concepts, &[7 as ConceptId][..]);
        assert_eq!((far[1].form, far[1].lemmas), ("far", &[3, 4][..]));
        assert_eq!(table.get("hus").unwrap().next().unwrap().form, "hus");
        assert!(table.get("fa").is_none());
        assert!(table.get("").is_none());
        let mut keys: Vec<&str> = table.keys().collect();
        keys.sort();
        assert_eq!(keys, ["far", "hus"]);
    }
}
