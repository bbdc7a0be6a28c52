//! Hunspell dictionaries (`nb_NO`, `nn_NO` from Debian's `hunspell-no`): every line's stem
//! with the forms its suffix rules give. Prefix rules make new words (u-, mis-, gjen-), not
//! inflections, and are left out.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

/// One dictionary line: its stem and the forms its suffix rules give (the stem first).
#[derive(Debug)]
pub struct Line {
    pub stem: String,
    pub forms: Vec<String>,
}

/// A suffix rule: strip `strip` from the end, add `add`, when the word ends in `condition`.
#[derive(Debug)]
struct Rule {
    strip: String,
    add: String,
    condition: Vec<CharClass>,
}

#[derive(Debug)]
enum CharClass {
    Any,
    OneOf(Vec<char>),
    NoneOf(Vec<char>),
}

impl CharClass {
    fn admits(&self, c: char) -> bool {
        match self {
            CharClass::Any => true,
            CharClass::OneOf(set) => set.contains(&c),
            CharClass::NoneOf(set) => !set.contains(&c),
        }
    }
}

fn parse_condition(text: &str) -> Vec<CharClass> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(CharClass::Any),
            '[' => {
                let mut set = Vec::new();
                let mut negated = false;
                for c in chars.by_ref() {
                    match c {
                        ']' => break,
                        '^' if set.is_empty() && !negated => negated = true,
                        c => set.push(c),
                    }
                }
                out.push(if negated {
                    CharClass::NoneOf(set)
                } else {
                    CharClass::OneOf(set)
                });
            }
            c => out.push(CharClass::OneOf(vec![c])),
        }
    }
    out
}

impl Rule {
    fn apply(&self, stem: &str) -> Option<String> {
        let chars: Vec<char> = stem.chars().collect();
        if self.condition.len() > chars.len() || !stem.ends_with(&self.strip) {
            return None;
        }
        let tail = &chars[chars.len() - self.condition.len()..];
        if !self
            .condition
            .iter()
            .zip(tail)
            .all(|(cls, &c)| cls.admits(c))
        {
            return None;
        }
        let kept = &stem[..stem.len() - self.strip.len()];
        Some(format!("{kept}{}", self.add))
    }
}

/// Hunspell files are ISO 8859-1 here (their `SET` line says so).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Reads `<dir>/<name>.aff` and `<dir>/<name>.dic`.
pub fn load(dir: &Path, name: &str) -> anyhow::Result<Vec<Line>> {
    let read = |ext: &str| {
        let path = dir.join(format!("{name}.{ext}"));
        std::fs::read(&path)
            .map(|b| latin1(&b))
            .with_context(|| format!("cannot read {}", path.display()))
    };
    let aff = read("aff")?;
    let dic = read("dic")?;
    let mut rules: HashMap<char, Vec<Rule>> = HashMap::new();
    for line in aff.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() >= 5 && fields[0] == "SFX" {
            let Some(flag) = fields[1].chars().next() else {
                continue;
            };
            let zero = |s: &str| {
                if s == "0" {
                    String::new()
                } else {
                    s.to_string()
                }
            };
            let add = fields[3].split('/').next().unwrap_or("");
            rules.entry(flag).or_default().push(Rule {
                strip: zero(fields[2]),
                add: zero(add),
                condition: parse_condition(fields[4]),
            });
        }
    }
    let mut lines = Vec::new();
    for line in dic.lines().skip(1) {
        let entry = line.split_whitespace().next().unwrap_or("");
        if entry.is_empty() {
            continue;
        }
        let (stem, flags) = entry.split_once('/').unwrap_or((entry, ""));
        let mut forms = vec![stem.to_string()];
        for flag in flags.chars() {
            for rule in rules.get(&flag).into_iter().flatten() {
                if let Some(form) = rule.apply(stem) {
                    if !forms.contains(&form) {
                        forms.push(form);
                    }
                }
            }
        }
        lines.push(Line {
            stem: stem.to_string(),
            forms,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_rules_follow_their_conditions() {
        let rule = Rule {
            strip: "er".into(),
            add: "ret".into(),
            condition: parse_condition("[^drt][dt]er"),
        };
        assert_eq!(rule.apply("sylter").as_deref(), Some("syltret"));
        // "tter": the first letter of the condition may not be t.
        assert_eq!(rule.apply("etter"), None);
        assert_eq!(rule.apply("syltet"), None);
        let plain = Rule {
            strip: String::new(),
            add: "n".into(),
            condition: parse_condition("e"),
        };
        assert_eq!(plain.apply("kjæreste").as_deref(), Some("kjæresten"));
        assert_eq!(plain.apply("venn"), None);
    }
}
