//! The FreeDict English–Norwegian dictionary (Debian's `dict-freedict-eng-nor`, built by
//! WikDict from Wiktionary), read backwards: which English headwords translate to a given
//! Norwegian word. The dictd text has a headword line `word /ipa/ <pos>`, then lines of
//! translations (`1. id, oid`) and English glosses.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Norwegian word → English headwords that translate to it.
#[derive(Debug, Default)]
pub struct Reverse {
    english: HashMap<String, Vec<String>>,
    headwords: Vec<String>,
}

impl Reverse {
    /// Reads the dictzip file (gzip-compatible) through `gzip -dc`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(path)
            .output()
            .with_context(|| format!("cannot run gzip on {}", path.display()))?;
        if !out.status.success() {
            bail!("gzip -dc {} failed", path.display());
        }
        Ok(Self::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    pub fn parse(text: &str) -> Self {
        let mut english: HashMap<String, Vec<String>> = HashMap::new();
        let mut headword: Option<String> = None;
        let mut headwords: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(word) = headword_of(line) {
                headwords.push(word.to_lowercase());
                headword = Some(word);
                continue;
            }
            let Some(head) = &headword else { continue };
            for item in line.split([',', ';']) {
                let item = strip_numbers(item);
                if item.is_empty() || item.split_whitespace().count() > 3 {
                    continue;
                }
                let list = english.entry(item.to_lowercase()).or_default();
                if !list.contains(head) {
                    list.push(head.clone());
                }
            }
        }
        headwords.sort_unstable();
        headwords.dedup();
        Reverse { english, headwords }
    }

    /// Every English headword, in lower case.
    pub fn headwords(&self) -> &[String] {
        &self.headwords
    }

    /// English headwords translating to `norwegian`.
    pub fn english_for(&self, norwegian: &str) -> &[String] {
        self.english
            .get(&norwegian.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// `bully //ˈbʊli// <v>` → `bully`.
fn headword_of(line: &str) -> Option<String> {
    let line = line.trim_end();
    if !line.ends_with('>') || !line.contains(" /") {
        return None;
    }
    let word = line.split(" /").next()?.trim();
    (!word.is_empty() && word.split_whitespace().count() <= 3).then(|| word.to_lowercase())
}

/// "1. redusert" → "redusert"; "gift 2." → "gift".
fn strip_numbers(item: &str) -> &str {
    let mut item = item.trim();
    if let Some((number, rest)) = item.split_once(". ") {
        if number.chars().all(|c| c.is_ascii_digit()) {
            item = rest.trim();
        }
    }
    if let Some((rest, number)) = item.rsplit_once(' ') {
        if number.ends_with('.')
            && number[..number.len() - 1]
                .chars()
                .all(|c| c.is_ascii_digit())
        {
            item = rest.trim();
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headwords_are_found_from_their_translations() {
        let r = Reverse::parse(
            "bully //ˈbʊli// <n>\nbølle\na person who is cruel\nbully //ˈbʊli// <v>\nmobbe\nto intimidate\nchoke //t͡ʃoʊk// <n>\n1. redusert\nconstriction\n2. kvelertak\n",
        );
        assert_eq!(r.english_for("mobbe"), ["bully"]);
        assert_eq!(r.english_for("kvelertak"), ["choke"]);
        assert!(r.english_for("ukjent").is_empty());
    }
}
