//! The front door's router: from a question in a young person's own words (or topics), their
//! age and where they live, which services fit, which can be reached now and how, and why.
//!
//! - [`text`]: normalising, tokenising and stemming Norwegian (and English).
//! - [`index`]: the immutable index built when the catalogue changes.
//! - [`lexicon`], [`analysis`]: words to lemmas to concepts, phrases, idioms and negation.
//! - [`danger`]: danger frames over concepts; [`meaning`]: situations that name topics.
//! - [`understand`]: the three loaded once from the catalogue's lexicon.
//! - [`rank`]: understanding the question, filtering and ranking, with reasons.
//!
//! Privacy: the question is never stored or logged here; only aggregate counts leave.

pub mod analysis;
pub mod danger;
pub mod index;
pub mod lexicon;
pub mod meaning;
pub mod rank;
pub mod text;
pub mod understand;
mod wire;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::model::entry::{ChannelKind, Urgency};
use crate::model::reference::Reference;
use crate::model::schema::schema_for;
use crate::model::{ServiceEntry, Violations};
pub use index::AgencyNames;
use index::RouterIndex;

/// The id of ung.no's question service, the answer when nothing else fits.
pub const FALLBACK_SERVICE: &str = "ung-no-spor-oss";

/// A question to the router. At least one of `q` and `topics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// The question in the young person's own words (Bokmål, Nynorsk or English). Never
    /// stored or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub q: Option<String>,
    /// Topic ids from `/v1/topics` (subtopics or categories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 30))]
    pub age: Option<u8>,
    /// Municipality code (4 digits, 2024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]{4}$"))]
    pub municipality: Option<String>,
    /// County code (2 digits, 2024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]{2}$"))]
    pub county: Option<String>,
    /// Only these kinds of channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelKind>,
    /// Preferred language (`nb`, `nn`, `en`, …): names come in it, and channels in it are
    /// preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[a-z]{2,3}$"))]
    pub lang: Option<String>,
    /// Only channels where one can stay anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
    /// The time to answer for (RFC 3339); now when left out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "wire::optional_rfc3339"
    )]
    pub at: Option<DateTime<Utc>>,
    /// How many results, 1–20 (5 when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u8>,
}

// Its texts borrow from the index they were chosen from, so that an answer copies nothing
// on its way to the wire.
/// The router's answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RouteResponse<'a> {
    /// The question signals danger: emergency and crisis services that can be reached now
    /// come first.
    pub crisis: bool,
    /// The topics understood, each with what matched it.
    pub topics: Vec<UnderstoodTopic<'a>>,
    /// Ranked results, best first.
    pub results: Vec<RouteResult<'a>>,
    /// The general service, when nothing matched.
    pub fallback: Option<RouteResult<'a>>,
    /// The time the answer is for.
    #[serde(serialize_with = "wire::timestamp")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct UnderstoodTopic<'a> {
    pub id: Cow<'a, str>,
    /// The taxonomy phrases that matched (`topics` when asked for by id).
    pub matched: Vec<Cow<'a, str>>,
    /// Whether this topic signals possible acute danger.
    pub crisis: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RouteResult<'a> {
    pub service_id: Cow<'a, str>,
    /// The name in the requested language, or Bokmål.
    pub name: Cow<'a, str>,
    pub summary: Cow<'a, str>,
    /// The id of the agency that keeps the entry.
    pub agency: Cow<'a, str>,
    /// Who provides the service, as a person reads it: the entry's provider, else the
    /// agency's name. (An agency may keep entries for a provider without an organisation
    /// number; it is not their provider.)
    pub provider: Cow<'a, str>,
    pub urgency: Urgency,
    pub score: f64,
    /// Machine-readable reasons: `topic:<id>`, `topic_related:<id>`, `route_first:<id>`,
    /// `text`, `crisis`, `local:<code>`, `national`, `place_unknown` (serves some areas
    /// only, and no place was given), `open_now:<kind>`, `closed_now`,
    /// `health_critical:<kind>`, `lang:<code>`, `channel:<kind>`, `fallback`.
    pub reasons: Vec<Cow<'a, str>>,
    pub channels: Vec<RouteChannel<'a>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RouteChannel<'a> {
    /// The channel's index in the entry.
    pub index: usize,
    pub kind: ChannelKind,
    pub address: Option<Cow<'a, str>>,
    pub anonymous: Option<bool>,
    /// `null` when the entry gives no opening hours.
    pub open_now: Option<bool>,
    #[serde(serialize_with = "wire::optional_timestamp")]
    pub closes_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "wire::optional_timestamp")]
    pub next_open: Option<DateTime<Utc>>,
    /// The channel's health state (`not_applicable` without a check).
    pub health: Cow<'a, str>,
}

/// Parses the reference data's lexicon once, for every index built from it.
pub fn understander(reference: &Reference) -> anyhow::Result<understand::Understander> {
    let taxonomy = &reference.taxonomy;
    understand::Understander::parse(&reference.lexicon, &|id| taxonomy.contains(id))
        .map_err(|e| anyhow::anyhow!("the routing lexicon: {}", e.0))
}

/// What the index is built from: the entries (any status) and the agencies' names.
pub type Catalogue = (Vec<ServiceEntry>, AgencyNames);

/// How long a change waits for others to join it in one rebuild of the index.
const REBUILD_SETTLE: Duration = Duration::from_millis(50);
/// After a rebuild that took `t`, the next starts no sooner than `REBUILD_PACE * t` later:
/// rebuilding takes at most a fifth of a core however fast the catalogue changes, and the
/// index trails a stream of writes by a few rebuilds' time (at 10,000 entries, about a
/// second).
const REBUILD_PACE: u32 = 4;

/// The router: holds the current index and rebuilds it when the catalogue changes.
#[derive(Clone)]
pub struct Router {
    index: watch::Receiver<Arc<RouterIndex>>,
    request_schema: Arc<jsonschema::Validator>,
    reference: Arc<Reference>,
    /// The task that rebuilds the index, stopped with [`Router::stop`].
    follower: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Router {
    /// Builds the index from `load()` now, then again (in the background) each time
    /// `changes` moves. The router names no storage: `load` reads the catalogue wherever it
    /// lives, and a failed load keeps the index it has.
    pub async fn follow<Load, Loading>(
        reference: Arc<Reference>,
        mut changes: watch::Receiver<u64>,
        load: Load,
    ) -> anyhow::Result<Self>
    where
        Load: Fn() -> Loading + Send + 'static,
        Loading: Future<Output = anyhow::Result<Catalogue>> + Send,
    {
        let understander = Arc::new(understander(&reference)?);
        let build = {
            let reference = reference.clone();
            move |(services, agencies): Catalogue| {
                Arc::new(RouterIndex::build(
                    understander.clone(),
                    &reference.taxonomy,
                    services,
                    &agencies,
                    FALLBACK_SERVICE,
                ))
            }
        };
        changes.borrow_and_update();
        let catalogue = load().await?;
        let (sender, receiver) = watch::channel(build(catalogue));
        let follower = tokio::spawn(async move {
            let mut next_allowed = tokio::time::Instant::now();
            while changes.changed().await.is_ok() {
                // Let a burst of writes settle into one rebuild, and pace rebuilds to their
                // own cost: under a stream of writes (a harvest, a mirror catching up),
                // rebuilding back to back would keep a core busy.
                let settled = tokio::time::Instant::now() + REBUILD_SETTLE;
                tokio::time::sleep_until(settled.max(next_allowed)).await;
                changes.borrow_and_update();
                let started = tokio::time::Instant::now();
                let catalogue = match load().await {
                    Ok(catalogue) => catalogue,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot rebuild the routing index");
                        continue;
                    }
                };
                let index = tokio::task::spawn_blocking({
                    let build = build.clone();
                    move || build(catalogue)
                })
                .await;
                match index {
                    Ok(index) => {
                        if sender.send(index).is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "routing index build failed"),
                }
                let finished = tokio::time::Instant::now();
                next_allowed = finished + (finished - started) * REBUILD_PACE;
            }
        });
        let router = Self::with_index(receiver, reference);
        *router.follower.lock().unwrap_or_else(|e| e.into_inner()) = Some(follower);
        Ok(router)
    }

    /// Stops following the catalogue.
    pub fn stop(&self) {
        if let Some(task) = self
            .follower
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }

    /// A router over a fixed index (benchmarks, the command line).
    pub fn fixed(
        reference: Arc<Reference>,
        services: Vec<ServiceEntry>,
        agencies: &AgencyNames,
    ) -> anyhow::Result<Self> {
        let understander = Arc::new(understander(&reference)?);
        let index = RouterIndex::build(
            understander,
            &reference.taxonomy,
            services,
            agencies,
            FALLBACK_SERVICE,
        );
        let (_, receiver) = watch::channel(Arc::new(index));
        Ok(Self::with_index(receiver, reference))
    }

    fn with_index(index: watch::Receiver<Arc<RouterIndex>>, reference: Arc<Reference>) -> Self {
        let request_schema = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema_for::<RouteRequest>())
            .expect("the route request schema is valid");
        Router {
            index,
            request_schema: Arc::new(request_schema),
            reference,
            follower: Arc::default(),
        }
    }

    /// The current index: an `Arc` clone, no lock held afterwards.
    pub fn index(&self) -> Arc<RouterIndex> {
        self.index.borrow().clone()
    }

    /// Validates a request document: the schema, then the codes and ids it names.
    pub fn parse_request(&self, doc: &Value) -> Result<RouteRequest, Violations> {
        let mut out = crate::model::validate::schema_violations(&self.request_schema, doc);
        let reference = &self.reference;
        if let Some(code) = doc.get("municipality").and_then(Value::as_str) {
            if code.len() == 4 && reference.places.municipality(code).is_none() {
                out.push(
                    "/municipality",
                    format!("'{code}' is not a municipality code of 2024"),
                );
            }
        }
        if let Some(code) = doc.get("county").and_then(Value::as_str) {
            if code.len() == 2 && reference.places.county_name(code).is_none() {
                out.push("/county", format!("'{code}' is not a county code of 2024"));
            }
        }
        for (i, topic) in doc
            .get("topics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(id) = topic.as_str() {
                if !reference.taxonomy.contains(id) {
                    let hint = reference
                        .taxonomy
                        .suggest(id)
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    out.push(
                        format!("/topics/{i}"),
                        format!("unknown topic '{id}'{hint}"),
                    );
                }
            }
        }
        let has_question = doc
            .get("q")
            .and_then(Value::as_str)
            .is_some_and(|q| !q.trim().is_empty());
        let has_topics = doc
            .get("topics")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        if !has_question && !has_topics {
            out.push("/q", "ask a question (q) or name topics");
        }
        if !out.is_empty() {
            return Err(out);
        }
        RouteRequest::deserialize(doc).map_err(|e| Violations::single("", e.to_string()))
    }
}
