//! The MyThes Norwegian thesaurus (Debian's `mythes-no`): for a word, its senses, each a
//! list of synonyms. The `.dat` file is ISO 8859-1: a line `word|n`, then `n` lines
//! `(pos)|synonym|synonym…` or `-|synonym|…`, one per sense.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use super::hunspell::latin1;

/// Word → its senses, each a list of synonyms.
#[derive(Debug, Default)]
pub struct Thesaurus {
    senses: HashMap<String, Vec<Vec<String>>>,
}

impl Thesaurus {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self::parse(&latin1(&bytes)))
    }

    pub fn parse(text: &str) -> Self {
        let mut senses: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        let mut lines = text.lines().skip(1);
        while let Some(head) = lines.next() {
            let Some((word, count)) = head.rsplit_once('|') else {
                continue;
            };
            let Ok(count) = count.trim().parse::<usize>() else {
                continue;
            };
            let mut list = Vec::with_capacity(count);
            for line in lines.by_ref().take(count) {
                let synonyms = line
                    .split('|')
                    .skip(1)
                    .map(clean)
                    .filter(|s| !s.is_empty())
                    .collect();
                list.push(synonyms);
            }
            senses.entry(word.to_lowercase()).or_default().extend(list);
        }
        Thesaurus { senses }
    }

    /// Synonyms of the `sense`th sense (from 1) of `word`.
    pub fn synonyms(&self, word: &str, sense: usize) -> Option<&[String]> {
        self.senses
            .get(&word.to_lowercase())?
            .get(sense.checked_sub(1)?)
            .map(Vec::as_slice)
    }
}

/// "begrenset (til)" → "begrenset"; "elsker(inne)" → "elsker"; "festemann/-møy" → "festemann".
fn clean(synonym: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in synonym.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.split('/').next().unwrap_or("");
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senses_are_numbered_from_one() {
        let t = Thesaurus::parse(
            "ISO8859-1\nkontrollere|2\n-|granske|undersøke (nøye)\n-|styre|bestemme/diktere\n",
        );
        assert_eq!(t.synonyms("kontrollere", 2).unwrap(), ["styre", "bestemme"]);
        assert_eq!(
            t.synonyms("kontrollere", 1).unwrap(),
            ["granske", "undersøke"]
        );
        assert!(t.synonyms("kontrollere", 3).is_none());
    }
}
