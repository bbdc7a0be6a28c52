//! Answers on the wire, the quick way: the front door's hottest path.
//!
//! - [`RouteResponse::write_json`] writes exactly what `serde_json` writes for the derived
//!   `Serialize` (tested, byte for byte), without escaping constant keys or going through
//!   serde's machinery for each of an answer's ~300 strings: half the time of an answer.
//! - Times: chrono writes and reads RFC 3339 through `fmt` and a general-purpose parser; an
//!   answer has a dozen times, all whole seconds in UTC, and a request one.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{RouteChannel, RouteResponse, RouteResult, UnderstoodTopic};

impl RouteResponse<'_> {
    /// The answer as JSON, as `serde_json::to_vec` writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Json(Vec::with_capacity(4096));
        out.raw("{\"crisis\":");
        out.bool(self.crisis);
        out.raw(",\"topics\":");
        out.list(&self.topics, Json::topic);
        out.raw(",\"results\":");
        out.list(&self.results, Json::result);
        out.raw(",\"fallback\":");
        match &self.fallback {
            Some(fallback) => out.result(fallback),
            None => out.raw("null"),
        }
        out.raw(",\"at\":");
        out.time(&self.at);
        out.raw("}");
        out.0
    }
}

/// A JSON writer for the answer's own types.
struct Json(Vec<u8>);

impl Json {
    fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// A string, escaped as `serde_json` escapes: control characters, `"` and `\` only.
    fn str(&mut self, text: &str) {
        if !needs_escape(text.as_bytes()) {
            self.0.push(b'"');
            self.raw(text);
            self.0.push(b'"');
        } else {
            self.value(text);
        }
    }

    /// Numbers and enums: few per answer, written by serde_json itself.
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        serde_json::to_writer(&mut self.0, value).expect("writing to memory cannot fail");
    }

    fn bool(&mut self, value: bool) {
        self.raw(if value { "true" } else { "false" });
    }

    fn optional<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            Some(value) => write(self, value),
            None => self.raw("null"),
        }
    }

    fn time(&mut self, at: &DateTime<Utc>) {
        match whole_seconds(at) {
            Some(text) => {
                self.0.push(b'"');
                self.0.extend_from_slice(&text);
                self.0.push(b'"');
            }
            None => self.str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }

    fn list<T>(&mut self, items: &[T], mut write: impl FnMut(&mut Self, &T)) {
        self.0.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.0.push(b',');
            }
            write(self, item);
        }
        self.0.push(b']');
    }

    fn topic(&mut self, topic: &UnderstoodTopic<'_>) {
        self.raw("{\"id\":");
        self.str(&topic.id);
        self.raw(",\"matched\":");
        self.list(&topic.matched, |out, m| out.str(m));
        self.raw(",\"crisis\":");
        self.bool(topic.crisis);
        self.raw("}");
    }

    fn result(&mut self, result: &RouteResult<'_>) {
        self.raw("{\"service_id\":");
        self.str(&result.service_id);
        self.raw(",\"name\":");
        self.str(&result.name);
        self.raw(",\"summary\":");
        self.str(&result.summary);
        self.raw(",\"agency\":");
        self.str(&result.agency);
        self.raw(",\"provider\":");
        self.str(&result.provider);
        self.raw(",\"urgency\":");
        self.value(&result.urgency);
        self.raw(",\"score\":");
        self.value(&result.score);
        self.raw(",\"reasons\":");
        self.list(&result.reasons, |out, r| out.str(r));
        self.raw(",\"channels\":");
        self.list(&result.channels, Json::channel);
        self.raw("}");
    }

    fn channel(&mut self, channel: &RouteChannel<'_>) {
        self.raw("{\"index\":");
        self.value(&channel.index);
        self.raw(",\"kind\":");
        self.value(&channel.kind);
        self.raw(",\"address\":");
        self.optional(channel.address.as_deref(), Json::str);
        self.raw(",\"anonymous\":");
        self.optional(channel.anonymous, Json::bool);
        self.raw(",\"open_now\":");
        self.optional(channel.open_now, Json::bool);
        self.raw(",\"closes_at\":");
        self.optional(channel.closes_at.as_ref(), Json::time);
        self.raw(",\"next_open\":");
        self.optional(channel.next_open.as_ref(), Json::time);
        self.raw(",\"health\":");
        self.str(&channel.health);
        self.raw("}");
    }
}

/// As chrono serializes it (`2026-11-24T13:00:00Z`, fractions only when there are any).
pub fn timestamp<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match whole_seconds(at) {
        Some(buffer) => {
            // The buffer holds only ASCII digits and separators.
            serializer.serialize_str(std::str::from_utf8(&buffer).unwrap_or_default())
        }
        None => serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

pub fn optional_timestamp<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// RFC 3339 text, read with chrono's dedicated parser; anything else chrono accepts for a
/// `DateTime<Utc>` is still accepted, by its general one.
pub fn optional_rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| text.parse::<DateTime<Utc>>())
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Whether serde_json would escape any of `bytes`. Checked a chunk at a time without an
/// early exit inside it, so that the compiler can use vector instructions.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a time on a whole second within years 0–9999.
fn whole_seconds(at: &DateTime<Utc>) -> Option<[u8; 20]> {
    let year = at.year();
    if at.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    /// What chrono itself writes for `at`.
    fn chrono_writes(at: DateTime<Utc>) -> String {
        serde_json::to_string(&at).unwrap()
    }

    fn we_write(at: DateTime<Utc>) -> String {
        #[derive(serde::Serialize)]
        struct Wrapped(#[serde(serialize_with = "timestamp")] DateTime<Utc>);
        serde_json::to_string(&Wrapped(at)).unwrap()
    }

    #[test]
    fn answers_are_written_as_serde_json_writes_them() {
        use super::super::{RouteChannel, RouteResult, UnderstoodTopic};
        use crate::model::entry::{ChannelKind, Urgency};
        use std::borrow::Cow;
        let channel =
            |index, address: Option<&'static str>, open_now, at: Option<&str>| RouteChannel {
                index,
                kind: ChannelKind::ALL[index % ChannelKind::ALL.len()],
                address: address.map(Cow::Borrowed),
                anonymous: open_now,
                open_now,
                closes_at: at.map(|t| t.parse().unwrap()),
                next_open: at.map(|t| t.parse().unwrap()),
                health: Cow::Borrowed("not_applicable"),
            };
        let result = |id: &'static str, score: f64| RouteResult {
            service_id: Cow::Borrowed(id),
            name: Cow::Borrowed("Navn med \"sitat\", skråstrek \\ og\tfane"),
            summary: Cow::Owned("Linje én\nlinje to \u{1}\u{1f} æøå 🙂 </script>".to_string()),
            agency: Cow::Borrowed("bufdir"),
            provider: Cow::Borrowed("AMK \u{2013} akuttmedisinsk \"kommunikasjonssentral\""),
            urgency: Urgency::Crisis,
            score,
            reasons: vec![
                Cow::Borrowed("topic:mobbing"),
                Cow::Owned("local:4601".into()),
            ],
            channels: vec![
                channel(0, Some("116 111"), Some(true), Some("2026-11-24T13:00:00Z")),
                channel(3, None, None, None),
                channel(
                    10,
                    Some("https://x.no/a?b=\"c\""),
                    Some(false),
                    Some("2026-03-29T01:00:00.5Z"),
                ),
            ],
        };
        let answers = [
            RouteResponse {
                crisis: true,
                topics: vec![UnderstoodTopic {
                    id: Cow::Borrowed("selvmord"),
                    matched: vec![Cow::Borrowed("ta livet mitt"), Cow::Borrowed("topics")],
                    crisis: true,
                }],
                results: vec![result("a", 21.0), result("b", 19.326), result("c", 1e-7)],
                fallback: None,
                at: "2026-11-24T13:00:00.123456789Z".parse().unwrap(),
            },
            RouteResponse {
                crisis: false,
                topics: Vec::new(),
                results: Vec::new(),
                fallback: Some(result("ung-no-spor-oss", 0.0)),
                at: "2026-11-24T13:00:00Z".parse().unwrap(),
            },
            RouteResponse {
                crisis: false,
                topics: Vec::new(),
                results: vec![result("nan", f64::NAN), result("big", 1e300)],
                fallback: None,
                at: DateTime::<Utc>::MIN_UTC,
            },
        ];
        for answer in &answers {
            let ours = String::from_utf8(answer.to_json()).unwrap();
            let theirs = serde_json::to_string(answer).unwrap();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn written_exactly_as_chrono_writes() {
        let mut at = "0001-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        // Every month of many years, at odd minutes and seconds.
        for _ in 0..20_000 {
            assert_eq!(we_write(at), chrono_writes(at));
            at += TimeDelta::seconds(36 * 86_400 + 3_661 + 7);
        }
        for text in [
            "2026-11-24T13:00:00Z",
            "2026-03-29T00:59:59Z",
            "2026-11-24T13:00:00.5Z",
            "2026-11-24T13:00:00.123456789Z",
            "9999-12-31T23:59:59Z",
        ] {
            let at = text.parse::<DateTime<Utc>>().unwrap();
            assert_eq!(we_write(at), chrono_writes(at), "{text}");
        }
        let far = DateTime::<Utc>::MAX_UTC;
        assert_eq!(we_write(far), chrono_writes(far));
    }

    #[test]
    fn read_as_chrono_reads() {
        #[derive(serde::Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "optional_rfc3339")] Option<DateTime<Utc>>);
        for text in [
            "2026-11-24T13:00:00Z",
            "2026-11-24t13:00:00z",
            "2026-11-24T14:00:00+01:00",
            "2026-11-24T13:00:00.25-00:30",
            "2026-11-24 13:00:00Z",
        ] {
            let json = format!("\"{text}\"");
            let ours: Wrapped = serde_json::from_str(&json).unwrap();
            let chrono: DateTime<Utc> = serde_json::from_str(&json).unwrap();
            assert_eq!(ours.0, Some(chrono), "{text}");
        }
        let none: Wrapped = serde_json::from_str("null").unwrap();
        assert_eq!(none.0, None);
        assert!(serde_json::from_str::<Wrapped>("\"tomorrow\"").is_err());
    }
}
