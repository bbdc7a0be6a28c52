//! The routing evaluation: questions written from the situations young people are in, each
//! with the services that fit, judged against the router's answers. One JSON object per
//! line (`tests/data/routing-eval.jsonl`):
//!
//! `{"q", "age", "municipality", "lang", "kind": "danger"|"harmless"|"ordinary", "level",
//! "frame", "first_any": [ids], "expect_any": [ids], "style", "topic"}`
//!
//! - every case: one of `expect_any` in the top 3 (when it names any);
//! - danger: `crisis: true` and an emergency or crisis service first (and, reported apart,
//!   one of `first_any` first);
//! - harmless and ordinary: no crisis.
//!
//! The same judge serves the test suite (over HTTP) and `veiviser eval` (in process).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::entry::Urgency;
use crate::routing::RouteResponse;

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub q: String,
    #[serde(default)]
    pub age: Option<u8>,
    #[serde(default)]
    pub municipality: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    pub kind: Kind,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub frame: Option<String>,
    #[serde(default)]
    pub first_any: Vec<String>,
    #[serde(default)]
    pub expect_any: Vec<String>,
    #[serde(default)]
    pub style: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Danger,
    Harmless,
    Ordinary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Danger => "danger",
            Kind::Harmless => "harmless",
            Kind::Ordinary => "ordinary",
        }
    }
}

/// Reads JSON lines; blank lines and lines starting with `//` are skipped.
pub fn parse_cases(jsonl: &str) -> Result<Vec<Case>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .map(|(n, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

impl Case {
    /// The request the case asks, on a Tuesday afternoon in Oslo (opening hours matter).
    pub fn request(&self) -> Value {
        let mut body = json!({ "q": self.q, "at": "2026-11-24T13:00:00Z", "limit": 5 });
        if let Some(age) = self.age {
            body["age"] = json!(age);
        }
        if let Some(m) = &self.municipality {
            body["municipality"] = json!(m);
        }
        body
    }
}

/// How one answer did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// One of `expect_any` in the top 3 (true when the case names none).
    pub hit: bool,
    /// Danger: crisis raised and an emergency or crisis service first.
    pub danger_first: Option<bool>,
    /// Danger: one of `first_any` first.
    pub named_first: Option<bool>,
    /// Not danger, and a crisis raised.
    pub false_alarm: bool,
    pub top3: Vec<String>,
    pub crisis: bool,
}

pub fn judge(case: &Case, answer: &RouteResponse<'_>) -> Outcome {
    let top3: Vec<String> = answer
        .results
        .iter()
        .take(3)
        .map(|r| r.service_id.to_string())
        .collect();
    let hit = case.expect_any.is_empty() || case.expect_any.iter().any(|id| top3.contains(id));
    let first = answer.results.first();
    let (danger_first, named_first) = if case.kind == Kind::Danger {
        let urgent =
            first.is_some_and(|r| matches!(r.urgency, Urgency::Emergency | Urgency::Crisis));
        let named = first.is_some_and(|r| case.first_any.iter().any(|id| *id == r.service_id));
        (
            Some(answer.crisis && urgent),
            (!case.first_any.is_empty()).then_some(answer.crisis && named),
        )
    } else {
        (None, None)
    };
    Outcome {
        hit,
        danger_first,
        named_first,
        false_alarm: case.kind != Kind::Danger && answer.crisis,
        top3,
        crisis: answer.crisis,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    cases: usize,
    hits: usize,
    danger: usize,
    danger_first: usize,
    named: usize,
    named_first: usize,
    not_danger: usize,
    false_alarms: usize,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        self.cases += 1;
        self.hits += usize::from(outcome.hit);
        if let Some(ok) = outcome.danger_first {
            self.danger += 1;
            self.danger_first += usize::from(ok);
        } else {
            self.not_danger += 1;
            self.false_alarms += usize::from(outcome.false_alarm);
        }
        if let Some(ok) = outcome.named_first {
            self.named += 1;
            self.named_first += usize::from(ok);
        }
    }
}

fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

/// Figures over many cases, per slice, with the misses.
#[derive(Debug, Default)]
pub struct Report {
    all: Tally,
    harmless: Tally,
    slices: BTreeMap<(String, String), Tally>,
    misses: Vec<String>,
}

impl Report {
    pub fn add(&mut self, case: &Case, outcome: &Outcome) {
        self.all.add(outcome);
        if case.kind == Kind::Harmless {
            self.harmless.add(outcome);
        }
        let slices = [
            ("kind", Some(case.kind.as_str().to_string())),
            ("lang", case.lang.clone()),
            ("style", case.style.clone()),
            ("frame", case.frame.clone()),
            ("level", case.level.clone()),
            ("topic", case.topic.clone()),
        ];
        for (name, value) in slices {
            if let Some(value) = value {
                self.slices
                    .entry((name.to_string(), value))
                    .or_default()
                    .add(outcome);
            }
        }
        let mut wrong = Vec::new();
        if !outcome.hit {
            wrong.push(format!(
                "expected one of {:?} in the top 3",
                case.expect_any
            ));
        }
        if outcome.danger_first == Some(false) {
            wrong.push(
                "danger not answered with crisis and an emergency/crisis service first".into(),
            );
        } else if outcome.named_first == Some(false) {
            wrong.push(format!("first not one of {:?}", case.first_any));
        }
        if outcome.false_alarm {
            wrong.push(format!(
                "crisis raised on a {} question",
                case.kind.as_str()
            ));
        }
        if !wrong.is_empty() {
            self.misses.push(format!(
                "[{}{}] {:?}: {}; got {:?}",
                case.kind.as_str(),
                case.frame
                    .as_deref()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default(),
                case.q,
                wrong.join("; "),
                outcome.top3
            ));
        }
    }

    pub fn cases(&self) -> usize {
        self.all.cases
    }

    /// Share of cases with a fitting service in the top 3.
    pub fn top3_rate(&self) -> f64 {
        self.all.hits as f64 / self.all.cases.max(1) as f64
    }

    /// Share of danger cases answered with crisis and an urgent service first.
    pub fn danger_rate(&self) -> f64 {
        self.all.danger_first as f64 / self.all.danger.max(1) as f64
    }

    pub fn danger_cases(&self) -> usize {
        self.all.danger
    }

    pub fn harmless_cases(&self) -> usize {
        self.harmless.cases
    }

    /// Crises raised on harmless questions.
    pub fn harmless_alarms(&self) -> usize {
        self.harmless.false_alarms
    }

    pub fn misses(&self) -> &[String] {
        &self.misses
    }

    /// The figures, all and per slice, then the misses.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, t: &Tally| {
            let _ = writeln!(
                out,
                "{name:<28} {:>4} cases  top-3 {:>6}  danger first {:>6} ({}/{})  named first {:>6}  false alarms {}/{}",
                t.cases,
                percent(t.hits, t.cases),
                percent(t.danger_first, t.danger),
                t.danger_first,
                t.danger,
                percent(t.named_first, t.named),
                t.false_alarms,
                t.not_danger,
            );
        };
        line(&mut out, "all", &self.all);
        let mut last = "";
        for ((name, value), tally) in &self.slices {
            if name != last {
                let _ = writeln!(out, "by {name}:");
                last = name;
            }
            line(&mut out, &format!("  {value}"), tally);
        }
        let _ = writeln!(out, "misses ({}):", self.misses.len());
        for miss in &self.misses {
            let _ = writeln!(out, "  {miss}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_given_per_language_frame_and_topic_with_every_miss() {
        let cases = parse_cases(concat!(
            r#"{"q": "a", "lang": "nb", "kind": "danger", "frame": "medical", "first_any": ["x"], "expect_any": ["x"], "topic": "akutt-fare-na"}"#,
            "\n",
            r#"{"q": "b", "lang": "en", "kind": "harmless", "expect_any": [], "topic": "mobbing"}"#,
        ))
        .unwrap();
        let mut report = Report::default();
        let right = Outcome {
            hit: true,
            danger_first: Some(true),
            named_first: Some(true),
            false_alarm: false,
            top3: vec!["x".into()],
            crisis: true,
        };
        let alarm = Outcome {
            hit: true,
            danger_first: None,
            named_first: None,
            false_alarm: true,
            top3: Vec::new(),
            crisis: true,
        };
        report.add(&cases[0], &right);
        report.add(&cases[1], &alarm);
        let text = report.render();
        for slice in [
            "by lang:",
            "by frame:",
            "by topic:",
            "akutt-fare-na",
            "mobbing",
        ] {
            assert!(text.contains(slice), "{slice} missing in\n{text}");
        }
        assert_eq!(report.harmless_alarms(), 1);
        assert_eq!(report.misses().len(), 1, "{text}");
    }
}
