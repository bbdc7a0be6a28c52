//! Understanding a question, then choosing and ranking services, with the reasons for each.
//!
//! Order of results, deterministic:
//! 1. When the question signals danger (a danger frame of crisis level or above, or a crisis
//!    topic asked for by id), the services the frame puts first, in its order, then
//!    emergency and crisis services on the danger's topics, all reachable now; in an acute
//!    danger emergency services before crisis lines.
//! 2. Services known to serve the person's place: national ones, and local ones for the
//!    municipality or county given. With no place given, a service for some areas only
//!    comes after them (`place_unknown`): it most likely serves somewhere else.
//! 3. Services with a channel reachable now (open, and not failing its health check).
//! 4. By score: topic match (exact before parent/child, with the taxonomy's curated
//!    `route_first` order), text relevance (BM25), local before national, language fit.
//! 5. By id.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Europe::Oslo;

use super::danger::Level;
use super::index::{IndexedEntry, Relevance, RouterIndex};
use super::{RouteChannel, RouteRequest, RouteResponse, RouteResult, UnderstoodTopic};
use crate::model::ServiceEntry;
use crate::model::entry::{Channel, CoverageScope, Urgency};
use crate::model::health::{CheckState, HealthSnapshot};
use crate::model::hours::OpenState;

impl RouterIndex {
    /// Answers a request from this snapshot of the catalogue, with `health` as it is now.
    pub fn route(
        &self,
        request: &RouteRequest,
        health: &HealthSnapshot,
        now: DateTime<Utc>,
    ) -> RouteResponse<'_> {
        route(self, request, health, now)
    }
}

/// What was understood of a request.
#[derive(Debug, Default)]
pub struct Understanding<'a> {
    /// Topic index → (weight, what matched it).
    pub topics: BTreeMap<usize, (f64, Vec<Cow<'a, str>>)>,
    pub crisis: bool,
    /// Topics a crisis-level danger is about.
    pub crisis_topics: Vec<usize>,
    /// Whether the danger is acute (emergency services before crisis lines).
    pub acute: bool,
    /// A danger was spoken of but not as happening: a knowledge question, a game, the
    /// past. Emergency numbers answer emergencies, not questions about them.
    pub about_danger: bool,
    /// The services a danger puts first, in order, with the reason (`danger:<frame>:<signals>`).
    pub lead: Vec<(usize, Cow<'a, str>)>,
    /// Query stems with their typo-tolerant alternatives, for relevance.
    pub query: Vec<Vec<(String, bool)>>,
}

/// Weight of a topic a crisis-level danger frame is about: above any keyword match.
const DANGER_TOPIC_WEIGHT: f64 = 4.0;
/// Weight of a topic a concern-level frame is about.
const CONCERN_TOPIC_WEIGHT: f64 = 1.5;
/// What is left of an emergency number's score when a danger is only asked about.
const EMERGENCY_FOR_A_QUESTION: f64 = 0.3;

/// Topics, danger and the services it puts first, from `q` and `topics`.
pub fn understand<'a>(index: &'a RouterIndex, request: &RouteRequest) -> Understanding<'a> {
    let mut understanding = Understanding::default();
    if let Some(q) = &request.q {
        keyword_topics(index, q, &mut understanding);
        let understander = &index.understander;
        let reading = understander.read(q);
        for hit in &reading.danger.hits {
            let crisis = hit.level >= Level::Crisis;
            let reason = format!("danger:{}:{}", hit.frame, understander.names(&hit.signals));
            let weight = if crisis {
                DANGER_TOPIC_WEIGHT
            } else {
                CONCERN_TOPIC_WEIGHT
            };
            for topic in hit.topics {
                if let Some(&t) = index.topic_by_id.get(topic) {
                    let slot = understanding.topics.entry(t).or_default();
                    slot.0 = slot.0.max(weight);
                    slot.1.push(Cow::Owned(reason.clone()));
                    if crisis && !understanding.crisis_topics.contains(&t) {
                        understanding.crisis_topics.push(t);
                    }
                }
            }
            if !crisis {
                understanding.about_danger |= hit.softened_by.is_some();
                continue;
            }
            understanding.crisis = true;
            understanding.acute |= hit.level == Level::Acute;
            for id in hit.lead {
                if let Some(position) = index.position_of(id) {
                    if !understanding.lead.iter().any(|(p, _)| *p == position) {
                        understanding
                            .lead
                            .push((position, Cow::Owned(reason.clone())));
                    }
                }
            }
        }
        for found in &reading.situations {
            if let Some(&t) = index.topic_by_id.get(found.topic) {
                let slot = understanding.topics.entry(t).or_default();
                slot.0 += found.weight;
                slot.1.push(Cow::Owned(format!(
                    "situation:{}",
                    understander.names(&found.signals)
                )));
            }
        }
    }
    for id in &request.topics {
        if let Some(&topic) = index.topic_by_id.get(id) {
            let slot = understanding.topics.entry(topic).or_default();
            slot.0 += 3.0;
            slot.1.push(Cow::Borrowed("topics"));
            // A topic asked for by id is a choice made in the frontend: its own crisis
            // flag stands.
            if index.topics[topic].crisis && !understanding.crisis_topics.contains(&topic) {
                understanding.crisis = true;
                understanding.crisis_topics.push(topic);
            }
        }
    }
    understanding
}

/// Topics named by the taxonomy's keywords and labels, and the query's stems for relevance.
fn keyword_topics<'a>(index: &'a RouterIndex, q: &str, understanding: &mut Understanding<'a>) {
    let words = index.analyzer.words(q);
    let stops: Vec<bool> = words.iter().map(|(_, stop)| *stop).collect();
    let expanded: Vec<Vec<(String, bool)>> = words
        .iter()
        .map(|(stem, _)| index.vocabulary.expand(stem))
        .collect();
    // Every phrase match as (start, end, phrase, fuzzy).
    let mut found = Vec::new();
    for start in 0..expanded.len() {
        for (first, fuzzy_first) in &expanded[start] {
            for phrase in index.phrases.get(first).into_iter().flatten() {
                if let Some((end, fuzzy_rest)) = matches_at(&expanded, &stops, start, &phrase.stems)
                {
                    found.push((start, end, phrase, *fuzzy_first || fuzzy_rest));
                }
            }
        }
    }
    // Longest first; a match inside a longer one for another topic does not count
    // ("piller" inside "p-piller").
    found.sort_by_key(|(start, end, _, _)| (std::cmp::Reverse(end - start), *start));
    let mut accepted: Vec<(usize, usize, usize)> = Vec::new();
    // (topic, label in lower case) already counted.
    let mut counted: Vec<(usize, &str)> = Vec::new();
    for (start, end, phrase, fuzzy) in found {
        let inside_other = accepted
            .iter()
            .any(|&(s, e, topic)| s <= start && end <= e && topic != phrase.topic);
        if inside_other {
            continue;
        }
        accepted.push((start, end, phrase.topic));
        let weight =
            (1.0 + 0.5 * (phrase.stems.len() as f64 - 1.0)) * if fuzzy { 0.8 } else { 1.0 };
        let slot = understanding.topics.entry(phrase.topic).or_default();
        // A label that repeats a keyword ("Selvmordstanker") counts once.
        let label = (phrase.topic, phrase.lowercase.as_str());
        if !counted.contains(&label) {
            counted.push(label);
            slot.0 += weight;
            slot.1.push(Cow::Borrowed(&phrase.text));
        }
    }
    understanding.query = expanded
        .into_iter()
        .zip(&stops)
        .filter(|(_, stop)| !**stop)
        .map(|(alternatives, _)| alternatives)
        .collect();
}

/// Whether `phrase` matches the query from `start`: every stem among the alternatives of
/// the next query word, where a stopword the phrase does not expect may be skipped
/// ("kjæresten *min* slår meg"). Gives where the match ends (exclusive) and whether it took
/// a forgiven typo.
fn matches_at(
    query: &[Vec<(String, bool)>],
    stops: &[bool],
    start: usize,
    phrase: &[String],
) -> Option<(usize, bool)> {
    let mut fuzzy = false;
    let mut position = start;
    for (offset, stem) in phrase.iter().enumerate() {
        let hit = |p: usize| query.get(p)?.iter().find(|(s, _)| s == stem);
        let found = match hit(position) {
            Some(found) => found,
            None if offset > 0 && stops.get(position).copied().unwrap_or(false) => {
                position += 1;
                hit(position)?
            }
            None => return None,
        };
        fuzzy |= found.1;
        position += 1;
    }
    Some((position, fuzzy))
}

/// Answers a request.
pub fn route<'a>(
    index: &'a RouterIndex,
    request: &RouteRequest,
    health: &HealthSnapshot,
    now: DateTime<Utc>,
) -> RouteResponse<'a> {
    let at = request.at.unwrap_or(now);
    let understanding = understand(index, request);
    let lang = request.lang.as_deref().unwrap_or("nb");
    let relevance = index.relevance(&understanding.query);
    // Topics kept: those within reach of the best-matched one, so a stray word does not
    // pull in a second subject.
    let best_topic = understanding
        .topics
        .values()
        .map(|(w, _)| *w)
        .fold(0.0_f64, f64::max);
    let kept: BTreeMap<usize, f64> = understanding
        .topics
        .iter()
        .filter(|(_, (w, _))| *w >= best_topic * 0.5)
        .map(|(t, (w, _))| (*t, *w / best_topic.max(f64::MIN_POSITIVE)))
        .collect();

    let context = Context {
        index,
        request,
        health,
        local: at.with_timezone(&Oslo).naive_local(),
        kept: &kept,
        relevance: &relevance,
        understanding: &understanding,
    };
    // First pass, over every candidate: the ranking key only, nothing allocated.
    let mut candidates = index.candidates(kept.keys().copied(), &relevance);
    for (position, _) in &understanding.lead {
        if !candidates.contains(position) {
            candidates.push(*position);
        }
    }
    let mut ranked: Vec<Assessment> = candidates
        .into_iter()
        .filter_map(|position| context.assess(position, None))
        .collect();
    // Language is a preference (the score above), never a filter: a young person writing
    // in English still needs the bullying ombud, whose channels are in Norwegian.
    let order = |a: &Assessment, b: &Assessment| {
        (
            !a.crisis_first,
            a.lead,
            a.urgency_rank,
            a.place_unknown,
            !a.reachable,
        )
            .cmp(&(
                !b.crisis_first,
                b.lead,
                b.urgency_rank,
                b.place_unknown,
                !b.reachable,
            ))
            .then(b.score.total_cmp(&a.score))
            // Entries are indexed in id order, so this is the tie-break by id.
            .then(a.position.cmp(&b.position))
    };
    let limit = usize::from(request.limit.unwrap_or(5).clamp(1, 20));
    // Only the shown results need their order: pick them out, then sort those. The order
    // is total, so this is exactly the head of a full sort.
    if ranked.len() > limit {
        ranked.select_nth_unstable_by(limit - 1, order);
        ranked.truncate(limit);
    }
    ranked.sort_by(order);
    // Second pass, over the results only: reasons and channels with their times.
    let results: Vec<RouteResult<'a>> = ranked
        .iter()
        .take(limit)
        .map(|a| {
            let mut reasons = Vec::new();
            context.assess(a.position, Some(&mut reasons));
            let indexed = &index.entries[a.position];
            let channels = offered_channels(&indexed.entry, request, health, at);
            result(indexed, lang, a.score, reasons, channels)
        })
        .collect();
    let fallback = if results.is_empty() {
        index.fallback.map(|position| {
            let indexed = &index.entries[position];
            let channels = offered_channels(&indexed.entry, &RouteRequest::default(), health, at);
            result(
                indexed,
                lang,
                0.0,
                vec![Cow::Borrowed("fallback")],
                channels,
            )
        })
    } else {
        None
    };
    let topics = understanding
        .topics
        .iter()
        .filter(|(t, _)| kept.contains_key(t))
        .map(|(t, (_, matched))| UnderstoodTopic {
            id: Cow::Borrowed(&index.topics[*t].id),
            matched: matched.clone(),
            crisis: understanding.crisis_topics.contains(t),
        })
        .collect();
    RouteResponse {
        crisis: understanding.crisis,
        topics,
        results,
        fallback,
        at,
    }
}

/// What one request needs to judge an entry.
/// `'i` is the index's lifetime, which reasons borrow from; `'c` the request's.
struct Context<'c, 'i> {
    index: &'i RouterIndex,
    request: &'c RouteRequest,
    health: &'c HealthSnapshot,
    /// `at` in Oslo wall-clock time.
    local: NaiveDateTime,
    /// Topics kept, with their weight relative to the best one.
    kept: &'c BTreeMap<usize, f64>,
    relevance: &'c Relevance,
    understanding: &'c Understanding<'i>,
}

/// An entry's ranking key.
struct Assessment {
    position: usize,
    crisis_first: bool,
    /// A service for some areas only, when the person's place is not known.
    place_unknown: bool,
    reachable: bool,
    /// Place among the services a danger puts first (`u8::MAX` when not among them).
    lead: u8,
    /// In an acute danger, emergency services before crisis lines before the rest.
    urgency_rank: u8,
    score: f64,
}

impl<'i> Context<'_, 'i> {
    /// Whether the entry fits and how it ranks; with `reasons`, also why. One function for
    /// both, so the reasons always tell how the score came about.
    fn assess(
        &self,
        position: usize,
        mut reasons: Option<&mut Vec<Cow<'i, str>>>,
    ) -> Option<Assessment> {
        let (index, request) = (self.index, self.request);
        let indexed = &index.entries[position];
        let entry = &indexed.entry;
        if !fits_person(entry, request) {
            return None;
        }
        let explaining = reasons.is_some();
        // Reasons are only written out for the results shown, never for every candidate.
        let mut say = |reason: &dyn Fn() -> Cow<'i, str>| {
            if let Some(reasons) = reasons.as_deref_mut() {
                let reason = reason();
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        };
        let mut score = 0.0;
        let mut on_topic = false;
        let mut on_crisis_topic = false;
        for (&topic, &weight) in self.kept {
            let info = &index.topics[topic];
            let mut on_this = false;
            if indexed.topics.contains(&topic) {
                score += 10.0 * weight;
                say(&|| Cow::Borrowed(&info.reason_exact));
                on_this = true;
            } else if indexed.topics.iter().any(|&t| {
                info.parent_index == Some(t) || index.topics[t].parent_index == Some(topic)
            }) {
                score += 4.0 * weight;
                say(&|| Cow::Borrowed(&info.reason_related));
                on_this = true;
            }
            if let Some(rank) = info
                .route_first_positions
                .iter()
                .position(|&p| p as usize == position)
            {
                score += (3.0 - 0.5 * rank as f64).max(0.5) * weight;
                say(&|| Cow::Borrowed(&info.reason_route_first));
                on_this = true;
            }
            on_topic |= on_this;
            on_crisis_topic |= on_this && self.understanding.crisis_topics.contains(&topic);
        }
        let understanding = self.understanding;
        if understanding.about_danger
            && !understanding.crisis
            && entry.urgency == Urgency::Emergency
        {
            score *= EMERGENCY_FOR_A_QUESTION;
            say(&|| Cow::Borrowed("question_not_emergency"));
        }
        let lead = understanding.lead.iter().position(|(p, _)| *p == position);
        let mut matched = on_topic || lead.is_some();
        // Words shared with an entry's text count on an understood topic, or when no topic
        // was understood: never to pull an unrelated service in beside the topic.
        if let Some(share) = self.relevance.share(position as u32) {
            if on_topic || self.kept.is_empty() {
                score += 3.0 * share;
                say(&|| Cow::Borrowed("text"));
                matched = true;
            }
        }
        if !matched {
            return None;
        }
        let offered = || {
            entry
                .channels
                .iter()
                .enumerate()
                .filter(|(_, c)| offers(request, c))
        };
        offered().next()?;
        if local_fit(entry, request) {
            if let Some(code) = request
                .municipality
                .as_deref()
                .or(request.county.as_deref())
            {
                // Above the curated-order bonus, so a local service beats a national one
                // on the same topic.
                score += 4.0;
                say(&|| Cow::Owned(format!("local:{code}")));
            }
        } else if entry.coverage.scope == CoverageScope::National {
            say(&|| Cow::Borrowed("national"));
        }
        let place_unknown = entry.coverage.scope == CoverageScope::Areas
            && request.municipality.is_none()
            && request.county.is_none();
        if place_unknown {
            say(&|| Cow::Borrowed("place_unknown"));
        }
        if explaining {
            for kind in &request.channels {
                if offered().any(|(_, c)| c.kind == *kind) {
                    say(&|| Cow::Borrowed(&index.kind_reasons(*kind).channel));
                }
            }
        }
        let speaks = request
            .lang
            .as_ref()
            .is_some_and(|lang| offered().any(|(_, c)| speaks_language(c, lang)));
        if speaks {
            score += 1.0;
            say(&|| {
                Cow::Owned(format!(
                    "lang:{}",
                    request.lang.as_deref().unwrap_or_default()
                ))
            });
        }
        let mut reachable = false;
        for (i, channel) in offered() {
            // Only channels with a check can be failing one.
            if channel.health_check.is_some()
                && self.health.state(&entry.id, i) == CheckState::Critical
            {
                say(&|| Cow::Borrowed(&index.kind_reasons(channel.kind).health_critical));
                continue;
            }
            match channel.hours.as_ref().map(|h| h.is_open_local(self.local)) {
                Some(true) => {
                    reachable = true;
                    say(&|| Cow::Borrowed(&index.kind_reasons(channel.kind).open_now));
                }
                // Without hours we cannot say it is closed.
                None => reachable = true,
                Some(false) => {}
            }
            if reachable && !explaining {
                break;
            }
        }
        if !reachable {
            say(&|| Cow::Borrowed("closed_now"));
        }
        let urgent = matches!(entry.urgency, Urgency::Emergency | Urgency::Crisis);
        // Only the services the danger names, and emergency and crisis services on the
        // danger's own topics, jump the queue: not a crisis line that merely shares a word
        // with the question ("kjæresten min deler nakenbilder": the images, not the
        // boyfriend).
        let there_for_it = lead.is_some() || (urgent && on_crisis_topic);
        let crisis_first = understanding.crisis && reachable && there_for_it && !place_unknown;
        let urgency_rank = match entry.urgency {
            _ if !understanding.acute => 0,
            Urgency::Emergency => 0,
            Urgency::Crisis => 1,
            _ => 2,
        };
        if crisis_first {
            if let Some(reasons) = reasons {
                reasons.insert(0, Cow::Borrowed("crisis"));
                if let Some(at) = lead {
                    reasons.insert(1, understanding.lead[at].1.clone());
                }
            }
        }
        Some(Assessment {
            position,
            crisis_first,
            place_unknown,
            reachable,
            lead: if crisis_first {
                lead.map_or(u8::MAX, |l| l.min(254) as u8)
            } else {
                u8::MAX
            },
            urgency_rank,
            score: (score * 1000.0).round() / 1000.0,
        })
    }
}

/// Whether a channel is of a kind asked for, and anonymous when that is asked for.
fn offers(request: &RouteRequest, channel: &Channel) -> bool {
    (request.channels.is_empty() || request.channels.contains(&channel.kind))
        && (request.anonymous != Some(true) || channel.anonymous == Some(true))
}

/// Age and place.
fn fits_person(entry: &ServiceEntry, request: &RouteRequest) -> bool {
    if request
        .age
        .is_some_and(|age| !entry.audience.admits_age(age))
    {
        return false;
    }
    if let Some(municipality) = &request.municipality {
        return entry.coverage.includes_municipality(municipality);
    }
    if let Some(county) = &request.county {
        return entry.coverage.includes_county(county);
    }
    true
}

/// Whether the entry names the person's place (not merely national).
fn local_fit(entry: &ServiceEntry, request: &RouteRequest) -> bool {
    entry.coverage.scope == CoverageScope::Areas
        && (request
            .municipality
            .as_ref()
            .is_some_and(|m| entry.coverage.includes_municipality(m))
            || request
                .county
                .as_ref()
                .is_some_and(|c| entry.coverage.includes_county(c)))
}

/// Whether a channel is offered in `lang`; Norwegian when the entry does not say.
fn speaks_language(channel: &Channel, lang: &str) -> bool {
    if channel.languages.is_empty() {
        matches!(lang, "nb" | "nn" | "no")
    } else {
        channel.languages.iter().any(|l| l == lang)
    }
}

/// The channels that fit the request, with whether they are open and healthy at `at`.
fn offered_channels<'a>(
    entry: &'a ServiceEntry,
    request: &RouteRequest,
    health: &HealthSnapshot,
    at: DateTime<Utc>,
) -> Vec<RouteChannel<'a>> {
    entry
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| offers(request, c))
        .map(|(index, channel)| {
            let state = health.state(&entry.id, index);
            let hours = channel.hours.as_ref().map(|h| h.state_at(at));
            let critical = state == CheckState::Critical;
            let (open_now, closes_at, next_open) = if critical {
                (Some(false), None, None)
            } else {
                OpenState::fields(hours)
            };
            RouteChannel {
                index,
                kind: channel.kind,
                address: channel.address.as_deref().map(Cow::Borrowed),
                anonymous: channel.anonymous,
                open_now,
                closes_at,
                next_open,
                health: Cow::Borrowed(state.as_str()),
            }
        })
        .collect()
}

fn result<'a>(
    indexed: &'a IndexedEntry,
    lang: &str,
    score: f64,
    reasons: Vec<Cow<'a, str>>,
    channels: Vec<RouteChannel<'a>>,
) -> RouteResult<'a> {
    let entry = &indexed.entry;
    RouteResult {
        service_id: Cow::Borrowed(&entry.id),
        name: Cow::Borrowed(entry.name.get(lang)),
        summary: Cow::Borrowed(entry.summary.get(lang)),
        agency: Cow::Borrowed(&entry.agency),
        provider: Cow::Borrowed(&indexed.provider),
        urgency: entry.urgency,
        score,
        reasons,
        channels,
    }
}
