//! Opening hours in Europe/Oslo wall-clock time: weekly rules, a public-holiday policy and
//! dated exceptions, or always open. Times are local and the zone is always `Europe/Oslo`;
//! an instant is converted to local time before it is compared, never the other way round.
//!
//! This module holds the shape and its well-formedness rules; evaluation at an instant
//! belongs here too, so that routing and exports share one reading of the hours.

use std::borrow::Cow;
use std::fmt;

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Europe::Oslo;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::holidays::is_public_holiday;
use super::violations::Violations;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// When a channel can be reached. Leave it out when the hours are not known.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Open around the clock, every day (24/7). Dated exceptions may still close it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub always_open: bool,
    /// Regular weekly hours in Europe/Oslo time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub weekly: Vec<WeeklyHours>,
    /// What happens on Norwegian public holidays (helligdager, 1 and 17 May).
    /// Christmas Eve, New Year's Eve and Easter Saturday are not public holidays:
    /// use dated exceptions for them.
    #[serde(default, skip_serializing_if = "HolidayPolicy::is_default")]
    pub holidays: HolidayPolicy,
    /// Dated exceptions: closed days, school holidays, special hours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub exceptions: Vec<DatedException>,
    /// Shown to people as is, never evaluated ("closed in school holidays").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub note: Option<String>,
}

/// One weekly rule: the days it applies to and one interval. `closes` at or before `opens`
/// means the interval runs past midnight into the next day (Wed 07:00–01:30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    #[schemars(length(min = 1, max = 7))]
    pub days: Vec<Weekday>,
    pub opens: ClockTime,
    pub closes: ClockTime,
}

/// An interval within one day (or past midnight when `closes` is at or before `opens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    pub opens: ClockTime,
    pub closes: ClockTime,
}

/// Public-holiday policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HolidayPolicy {
    /// Holidays follow the weekly hours of that weekday (the default).
    #[default]
    AsWeekday,
    /// Closed on every public holiday.
    Closed,
    /// Open only in these intervals on public holidays.
    Special(#[schemars(length(min = 1, max = 10))] Vec<TimeInterval>),
}

impl HolidayPolicy {
    fn is_default(&self) -> bool {
        *self == HolidayPolicy::AsWeekday
    }
}

/// Hours that replace the usual ones on the dates `from` to `to` (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatedException {
    /// First date, in Europe/Oslo.
    pub from: NaiveDate,
    /// Last date (inclusive); the same as `from` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// Closed all of these dates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// Open only in these intervals on each of these dates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub intervals: Vec<TimeInterval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub note: Option<String>,
}

impl DatedException {
    /// The last date this exception covers.
    pub fn last_date(&self) -> NaiveDate {
        self.to.unwrap_or(self.from)
    }
}

/// Day of the week, Monday first as in Norway.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> u32 {
        self as u32
    }

    /// The English name, for messages.
    pub fn name(self) -> &'static str {
        [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][self as usize]
    }
}

/// A wall-clock time `HH:MM` (00:00–23:59), stored as minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    /// Parses `HH:MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(ClockTime(h * 60 + m))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        ClockTime::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a time HH:MM")))
    }
}

impl JsonSchema for ClockTime {
    fn schema_name() -> Cow<'static, str> {
        "ClockTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Wall-clock time in Europe/Oslo, HH:MM from 00:00 to 23:59.",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        })
    }
}

/// Whether a channel is open at an instant, and until or from when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    /// Open; `closes_at` is `None` when it stays open for at least the look-ahead (24/7).
    Open { closes_at: Option<DateTime<Utc>> },
    /// Closed; `next_open` is `None` when it does not open within the look-ahead.
    Closed { next_open: Option<DateTime<Utc>> },
}

impl OpenState {
    pub fn is_open(&self) -> bool {
        matches!(self, OpenState::Open { .. })
    }

    /// `(open_now, closes_at, next_open)` as answers show them; all `None` without hours.
    pub fn fields(
        state: Option<OpenState>,
    ) -> (Option<bool>, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match state {
            None => (None, None, None),
            Some(OpenState::Open { closes_at }) => (Some(true), closes_at, None),
            Some(OpenState::Closed { next_open }) => (Some(false), None, next_open),
        }
    }
}

/// How far ahead opening and closing times are looked for.
const LOOK_AHEAD_DAYS: u64 = 14;

impl OpeningHours {
    /// Calls `stop` with each open interval of `date` until it returns true; says whether
    /// it did. Allocates nothing: the router asks this of thousands of channels per request.
    fn any_span_on(&self, date: NaiveDate, mut stop: impl FnMut((u32, u32)) -> bool) -> bool {
        if let Some(exception) = self
            .exceptions
            .iter()
            .find(|e| e.from <= date && date <= e.last_date())
        {
            return !exception.closed && exception.intervals.iter().any(|i| stop(i.span()));
        }
        if self.always_open {
            return stop((0, MINUTES_PER_DAY));
        }
        if is_public_holiday(date) {
            match &self.holidays {
                HolidayPolicy::Closed => return false,
                HolidayPolicy::Special(intervals) => {
                    return intervals.iter().any(|i| stop(i.span()));
                }
                HolidayPolicy::AsWeekday => {}
            }
        }
        let weekday = date.weekday().num_days_from_monday();
        self.weekly
            .iter()
            .filter(|rule| rule.days.iter().any(|d| d.index() == weekday))
            .any(|rule| stop(span(rule.opens, rule.closes)))
    }

    /// Whether the channel is open at an Oslo wall-clock time: only that day and the one
    /// before (whose hours may run past midnight) are looked at.
    pub fn is_open_local(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        let minute = local.hour() * 60 + local.minute();
        if self.any_span_on(date, |(open, close)| open <= minute && minute < close) {
            return true;
        }
        date.pred_opt().is_some_and(|yesterday| {
            self.any_span_on(yesterday, |(_, close)| minute + MINUTES_PER_DAY < close)
        })
    }

    /// Whether the channel is open at `at`, judged in Europe/Oslo wall-clock time, with
    /// when it closes or next opens. Walks day by day from the day before, and stops as soon
    /// as it knows.
    pub fn state_at(&self, at: DateTime<Utc>) -> OpenState {
        let local = at.with_timezone(&Oslo).naive_local();
        let today = local.date();
        let Some(start) = today.pred_opt() else {
            return OpenState::Closed { next_open: None };
        };
        let horizon = today.and_time(NaiveTime::MIN) + TimeDelta::days(LOOK_AHEAD_DAYS as i64);
        // Intervals in order, as local times, merged where one ends as the next begins.
        let mut current: Option<(NaiveDateTime, NaiveDateTime)> = None;
        let mut day_spans = Vec::with_capacity(4);
        for date in start.iter_days().take(LOOK_AHEAD_DAYS as usize + 2) {
            let midnight = date.and_time(NaiveTime::MIN);
            day_spans.clear();
            self.any_span_on(date, |span| {
                day_spans.push(span);
                false
            });
            day_spans.sort_unstable();
            for &(open, close) in &day_spans {
                let open = midnight + TimeDelta::minutes(i64::from(open));
                let close = midnight + TimeDelta::minutes(i64::from(close));
                current = match current {
                    Some((o, c)) if open <= c => Some((o, c.max(close))),
                    Some((o, c)) => {
                        // A gap: the run before it is complete.
                        if o <= local && local < c {
                            return OpenState::Open {
                                closes_at: Some(oslo_instant(c)),
                            };
                        }
                        if o > local {
                            return OpenState::Closed {
                                next_open: Some(oslo_instant(o)),
                            };
                        }
                        Some((open, close))
                    }
                    None => Some((open, close)),
                };
            }
        }
        match current {
            Some((o, c)) if o <= local && local < c => OpenState::Open {
                closes_at: (c < horizon).then(|| oslo_instant(c)),
            },
            Some((o, _)) if o > local => OpenState::Closed {
                next_open: Some(oslo_instant(o)),
            },
            _ => OpenState::Closed { next_open: None },
        }
    }
}

/// The instant of an Oslo wall-clock time. In the autumn's repeated hour the earlier one is
/// taken; a time in the spring's skipped hour is moved to the end of the gap.
fn oslo_instant(local: NaiveDateTime) -> DateTime<Utc> {
    match Oslo.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => oslo_instant(local + TimeDelta::hours(1)),
    }
}

impl TimeInterval {
    /// The interval as [start, end) minutes from the start of its day; the end passes 1440
    /// when it runs past midnight.
    fn span(self) -> (u32, u32) {
        span(self.opens, self.closes)
    }
}

fn span(opens: ClockTime, closes: ClockTime) -> (u32, u32) {
    let (o, c) = (opens.minutes(), closes.minutes());
    if c > o {
        (o, c)
    } else {
        (o, c + MINUTES_PER_DAY)
    }
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

impl OpeningHours {
    /// Records every well-formedness problem, with pointers below `at` (the pointer of this
    /// object in the submitted document).
    pub fn check(&self, at: &str, out: &mut Violations) {
        if self.always_open && !self.weekly.is_empty() {
            out.push(
                format!("{at}/weekly"),
                "always_open and weekly hours contradict each other: give one of them",
            );
        }
        let says_nothing = !self.always_open
            && self.weekly.is_empty()
            && self.exceptions.is_empty()
            && self.holidays.is_default();
        if says_nothing {
            out.push(
                at.to_string(),
                "the hours give neither always_open, weekly hours nor exceptions: leave hours out when they are not known",
            );
        }
        check_weekly(&self.weekly, at, out);
        if let HolidayPolicy::Special(intervals) = &self.holidays {
            check_day_intervals(intervals, &format!("{at}/holidays/special"), out);
        }
        self.check_exceptions(at, out);
    }
}

/// Checks weekly rules on their own (also used when the rest of the hours cannot be read).
pub fn check_weekly(weekly: &[WeeklyHours], at: &str, out: &mut Violations) {
    {
        // Every (rule, day) pair becomes an interval on the week's ring of minutes, so that
        // Sunday 22:00–02:00 is seen to overlap Monday 01:00–09:00.
        let mut placed: Vec<(usize, Weekday, (u32, u32))> = Vec::new();
        for (i, rule) in weekly.iter().enumerate() {
            let rule_at = format!("{at}/weekly/{i}");
            if rule.opens == rule.closes {
                out.push(
                    format!("{rule_at}/closes"),
                    "closes equals opens: use always_open for 24 hours, or a closing time",
                );
                continue;
            }
            let mut seen = [false; 7];
            for (d, day) in rule.days.iter().enumerate() {
                if std::mem::replace(&mut seen[day.index() as usize], true) {
                    out.push(
                        format!("{rule_at}/days/{d}"),
                        format!("{} is listed twice", day.name()),
                    );
                    continue;
                }
                let (start, end) = span(rule.opens, rule.closes);
                let offset = day.index() * MINUTES_PER_DAY;
                let interval = (offset + start, offset + end);
                if let Some((other, other_day, _)) =
                    placed.iter().find(|(_, _, p)| ring_overlaps(*p, interval))
                {
                    out.push(
                        rule_at.clone(),
                        format!(
                            "the {} hours overlap the {} hours of weekly/{other}",
                            day.name(),
                            other_day.name()
                        ),
                    );
                }
                placed.push((i, *day, interval));
            }
        }
    }
}

impl OpeningHours {
    fn check_exceptions(&self, at: &str, out: &mut Violations) {
        for (i, exception) in self.exceptions.iter().enumerate() {
            let ex_at = format!("{at}/exceptions/{i}");
            if exception.last_date() < exception.from {
                out.push(format!("{ex_at}/to"), "the exception ends before it starts");
            }
            match (exception.closed, exception.intervals.is_empty()) {
                (true, false) => out.push(
                    format!("{ex_at}/intervals"),
                    "an exception is either closed or has intervals, not both",
                ),
                (false, true) => out.push(
                    ex_at.clone(),
                    "an exception needs closed: true or at least one interval",
                ),
                _ => check_day_intervals(&exception.intervals, &format!("{ex_at}/intervals"), out),
            }
            for (j, earlier) in self.exceptions[..i].iter().enumerate() {
                if exception.from <= earlier.last_date() && earlier.from <= exception.last_date() {
                    out.push(
                        ex_at.clone(),
                        format!("the dates overlap those of exceptions/{j}"),
                    );
                }
            }
        }
    }
}

/// Intervals of one day must each have a length and must not overlap one another.
fn check_day_intervals(intervals: &[TimeInterval], at: &str, out: &mut Violations) {
    for (i, interval) in intervals.iter().enumerate() {
        if interval.opens == interval.closes {
            out.push(format!("{at}/{i}/closes"), "closes equals opens");
            continue;
        }
        if let Some(j) = intervals[..i].iter().position(|other| {
            other.opens != other.closes && overlaps(other.span(), interval.span())
        }) {
            out.push(format!("{at}/{i}"), format!("overlaps interval {j}"));
        }
    }
}

/// Overlap on the ring of a week's minutes, where an interval may run past Sunday midnight.
fn ring_overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    let unwrap = |(s, e): (u32, u32)| -> [(u32, u32); 2] {
        if e > MINUTES_PER_WEEK {
            [(s, MINUTES_PER_WEEK), (0, e - MINUTES_PER_WEEK)]
        } else {
            [(s, e), (0, 0)]
        }
    };
    unwrap(a).iter().any(|x| {
        unwrap(b)
            .iter()
            .any(|y| x.1 > x.0 && y.1 > y.0 && overlaps(*x, *y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An instant given as Oslo wall-clock time.
    fn oslo(s: &str) -> DateTime<Utc> {
        oslo_instant(s.parse().unwrap())
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_hours_past_midnight_and_across_days() {
        let h = hours(json!({"weekly": [
            {"days": ["mon", "tue"], "opens": "18:30", "closes": "22:30"},
            {"days": ["wed"], "opens": "07:00", "closes": "01:30"}
        ]}));
        // Monday 2026-11-23.
        assert_eq!(
            h.state_at(oslo("2026-11-23T12:00:00")),
            OpenState::Closed {
                next_open: Some(oslo("2026-11-23T18:30:00"))
            }
        );
        assert_eq!(
            h.state_at(oslo("2026-11-23T19:00:00")),
            OpenState::Open {
                closes_at: Some(oslo("2026-11-23T22:30:00"))
            }
        );
        // Wednesday's interval runs into Thursday night.
        assert_eq!(
            h.state_at(oslo("2026-11-26T01:00:00")),
            OpenState::Open {
                closes_at: Some(oslo("2026-11-26T01:30:00"))
            }
        );
        assert_eq!(
            h.state_at(oslo("2026-11-26T02:00:00")),
            OpenState::Closed {
                next_open: Some(oslo("2026-11-30T18:30:00"))
            }
        );
    }

    #[test]
    fn always_open_has_no_closing_time_unless_an_exception_closes_it() {
        let h = hours(json!({"always_open": true}));
        assert_eq!(
            h.state_at(utc("2026-11-22T03:00:00Z")),
            OpenState::Open { closes_at: None }
        );
        let h = hours(
            json!({"always_open": true, "exceptions": [{"from": "2026-12-24", "closed": true}]}),
        );
        assert_eq!(
            h.state_at(oslo("2026-12-23T20:00:00")),
            OpenState::Open {
                closes_at: Some(oslo("2026-12-24T00:00:00"))
            }
        );
        assert_eq!(
            h.state_at(oslo("2026-12-24T12:00:00")),
            OpenState::Closed {
                next_open: Some(oslo("2026-12-25T00:00:00"))
            }
        );
    }

    #[test]
    fn oslo_time_holds_across_daylight_saving_changes() {
        let h = hours(json!({"weekly": [{"days": ["sun"], "opens": "09:00", "closes": "17:00"}]}));
        // Summer time: 09:00 in Oslo is 07:00 UTC; winter time: 08:00 UTC.
        assert!(h.state_at(utc("2026-03-29T07:30:00Z")).is_open());
        assert!(!h.state_at(utc("2026-03-29T06:30:00Z")).is_open());
        assert!(h.state_at(utc("2026-10-25T08:30:00Z")).is_open());
        assert!(!h.state_at(utc("2026-10-25T07:30:00Z")).is_open());
        // The spring change itself (02:00 → 03:00) inside an overnight interval.
        let night =
            hours(json!({"weekly": [{"days": ["sat"], "opens": "22:00", "closes": "06:00"}]}));
        assert_eq!(
            night.state_at(utc("2026-03-29T01:30:00Z")),
            OpenState::Open {
                closes_at: Some(utc("2026-03-29T04:00:00Z"))
            }
        );
    }

    #[test]
    fn holidays_close_when_the_entry_says_so() {
        let weekdays = json!([{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "15:00"}]);
        let closed = hours(json!({"weekly": weekdays, "holidays": "closed"}));
        let as_weekday = hours(json!({"weekly": weekdays}));
        let special = hours(
            json!({"weekly": weekdays, "holidays": {"special": [{"opens": "10:00", "closes": "12:00"}]}}),
        );
        // Easter Monday 2026 and Ascension Day 2026.
        for day in ["2026-04-06", "2026-05-14"] {
            let noon = oslo(&format!("{day}T11:00:00"));
            assert!(!closed.state_at(noon).is_open(), "{day}");
            assert!(as_weekday.state_at(noon).is_open(), "{day}");
            assert_eq!(
                special.state_at(noon),
                OpenState::Open {
                    closes_at: Some(oslo(&format!("{day}T12:00:00")))
                }
            );
        }
        // Maundy Thursday to Easter Monday: next opening is Tuesday 7 April.
        assert_eq!(
            closed.state_at(oslo("2026-04-02T10:00:00")),
            OpenState::Closed {
                next_open: Some(oslo("2026-04-07T09:00:00"))
            }
        );
    }

    #[test]
    fn the_quick_check_agrees_with_the_full_one() {
        let all = [
            hours(json!({"weekly": [
                {"days": ["mon", "tue"], "opens": "18:30", "closes": "22:30"},
                {"days": ["wed"], "opens": "07:00", "closes": "01:30"},
                {"days": ["sat"], "opens": "22:00", "closes": "06:00"}
            ], "holidays": "closed", "exceptions": [{"from": "2026-03-30", "closed": true}]})),
            hours(
                json!({"always_open": true, "exceptions": [{"from": "2026-03-29", "intervals": [{"opens": "10:00", "closes": "02:00"}]}]}),
            ),
        ];
        let start = utc("2026-03-23T00:00:00Z");
        for h in &all {
            for step in 0..(14 * 24 * 4) {
                let at = start + TimeDelta::minutes(15 * step);
                let local = at.with_timezone(&Oslo).naive_local();
                assert_eq!(h.is_open_local(local), h.state_at(at).is_open(), "{at}");
            }
        }
    }

    #[test]
    fn dated_exceptions_replace_the_week() {
        let h = hours(json!({
            "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "15:00"}],
            "exceptions": [{"from": "2026-12-21", "to": "2026-12-23", "intervals": [{"opens": "10:00", "closes": "12:00"}]}]
        }));
        assert_eq!(
            h.state_at(oslo("2026-12-22T11:00:00")),
            OpenState::Open {
                closes_at: Some(oslo("2026-12-22T12:00:00"))
            }
        );
        assert!(!h.state_at(oslo("2026-12-22T13:00:00")).is_open());
    }

    fn hours(v: serde_json::Value) -> OpeningHours {
        serde_json::from_value(v).unwrap()
    }

    fn problems(v: serde_json::Value) -> Vec<String> {
        let mut out = Violations::default();
        hours(v).check("/h", &mut out);
        out.0
            .into_iter()
            .map(|v| format!("{} {}", v.pointer, v.message))
            .collect()
    }

    #[test]
    fn well_formed_hours_pass() {
        for ok in [
            json!({"always_open": true}),
            json!({"always_open": true, "exceptions": [{"from": "2026-12-24", "closed": true}]}),
            // Kirkens SOS chat: past midnight on several days, no overlap with the next day.
            json!({"weekly": [
                {"days": ["mon", "tue"], "opens": "18:30", "closes": "22:30"},
                {"days": ["wed"], "opens": "07:00", "closes": "01:30"},
                {"days": ["thu", "fri"], "opens": "18:30", "closes": "01:30"},
                {"days": ["sat", "sun"], "opens": "14:30", "closes": "01:30"}
            ]}),
            json!({"weekly": [{"days": ["mon"], "opens": "09:00", "closes": "15:00"},
                              {"days": ["mon"], "opens": "17:00", "closes": "21:00"}],
                   "holidays": "closed"}),
            json!({"weekly": [{"days": ["fri"], "opens": "09:00", "closes": "15:00"}],
                   "holidays": {"special": [{"opens": "10:00", "closes": "12:00"}]},
                   "exceptions": [{"from": "2026-07-01", "to": "2026-07-31", "closed": true},
                                  {"from": "2026-12-24", "intervals": [{"opens": "09:00", "closes": "12:00"}]}]}),
        ] {
            assert_eq!(problems(ok.clone()), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn malformed_hours_are_reported_with_pointers() {
        let found = problems(json!({
            "always_open": true,
            "weekly": [
                {"days": ["mon", "mon"], "opens": "09:00", "closes": "15:00"},
                {"days": ["mon"], "opens": "14:00", "closes": "16:00"},
                {"days": ["tue"], "opens": "10:00", "closes": "10:00"},
                {"days": ["sun"], "opens": "22:00", "closes": "02:00"},
                {"days": ["mon"], "opens": "01:00", "closes": "03:00"}
            ],
            "exceptions": [
                {"from": "2026-05-10", "to": "2026-05-01", "closed": true},
                {"from": "2026-12-24"},
                {"from": "2026-12-24", "closed": true, "intervals": [{"opens": "09:00", "closes": "10:00"}]},
                {"from": "2026-12-31", "intervals": [{"opens": "09:00", "closes": "12:00"}, {"opens": "11:00", "closes": "13:00"}]}
            ]
        }));
        let expect = [
            "/h/weekly always_open and weekly",
            "/h/weekly/0/days/1 Monday is listed twice",
            "/h/weekly/1 the Monday hours overlap the Monday hours of weekly/0",
            "/h/weekly/2/closes closes equals opens",
            "/h/weekly/4 the Monday hours overlap the Sunday hours of weekly/3",
            "/h/exceptions/0/to the exception ends before it starts",
            "/h/exceptions/1 an exception needs closed: true",
            "/h/exceptions/2/intervals an exception is either closed",
            "/h/exceptions/2 the dates overlap those of exceptions/1",
            "/h/exceptions/3/intervals/1 overlaps interval 0",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "missing {e:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
    }

    #[test]
    fn empty_hours_say_nothing() {
        assert_eq!(problems(json!({})).len(), 1);
    }

    #[test]
    fn clock_times_parse_strictly() {
        assert_eq!(ClockTime::parse("07:05").unwrap().minutes(), 425);
        assert_eq!(ClockTime::parse("23:59").unwrap().to_string(), "23:59");
        for bad in ["24:00", "7:05", "07:60", "0705", "ab:cd"] {
            assert!(ClockTime::parse(bad).is_none(), "{bad}");
        }
    }
}
