//! Counters and histograms for `/metrics`, in the Prometheus text format. Hand-rolled: a few
//! labelled counters do not need a metrics framework. Only aggregate counts live here —
//! never a young person's question, never a client address.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// A histogram with fixed buckets (upper bounds, in the metric's unit).
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Request latency buckets, seconds.
const HTTP_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Probe latency buckets, seconds.
const PROBE_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric Veiviser counts itself. Gauges that describe the catalogue (size, states)
/// are computed when `/metrics` is read and passed to [`Metrics::render`].
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// (route, method, status) → count.
    http_requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    /// route → latency.
    http_seconds: BTreeMap<&'static str, Histogram>,
    /// result (pass, warn, fail, blocked) → count.
    checks: BTreeMap<&'static str, u64>,
    check_seconds: Histogram,
    /// outcome (delivered, failed, dropped) → count.
    alerts: BTreeMap<&'static str, u64>,
    /// Other named counters with one label each, for the router and the harvester:
    /// (metric name, label name) → label value → count.
    counters: BTreeMap<(&'static str, &'static str), BTreeMap<String, u64>>,
}

impl Inner {
    fn bump(&mut self, name: &'static str, label: &'static str, value: &str) {
        let values = self.counters.entry((name, label)).or_default();
        match values.get_mut(value) {
            Some(n) => *n += 1,
            // Only a new label value costs an allocation.
            None => {
                values.insert(value.to_string(), 1);
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            inner: Mutex::new(Inner {
                http_requests: BTreeMap::new(),
                http_seconds: BTreeMap::new(),
                checks: BTreeMap::new(),
                check_seconds: Histogram::new(PROBE_SECONDS),
                alerts: BTreeMap::new(),
                counters: BTreeMap::new(),
            }),
        }
    }
}

/// A counter family kept outside [`Metrics`]: name, help, label name, values with counts.
pub type LabelledCounter = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, u64)>,
);

/// Catalogue figures computed at scrape time.
#[derive(Debug, Default)]
pub struct CatalogueGauges {
    /// status → number of entries.
    pub services_by_status: Vec<(&'static str, usize)>,
    /// state → number of checks.
    pub checks_by_state: Vec<(&'static str, usize)>,
    pub stale: usize,
    /// Other gauges: (name, help, value).
    pub extra: Vec<(&'static str, &'static str, f64)>,
    /// Counters kept elsewhere (the store's): (name, help, label, [(label value, count)]).
    pub counters: Vec<LabelledCounter>,
    /// This instance's name and its store's engine, for `veiviser_instance_info`.
    pub instance: (String, &'static str),
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while counting leaves counts that are still counts.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn http_request(&self, route: &'static str, method: &str, status: u16, seconds: f64) {
        // Known methods only, so that a client cannot grow the label set.
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "HEAD" => "HEAD",
            "OPTIONS" => "OPTIONS",
            "PATCH" => "PATCH",
            _ => "other",
        };
        let mut inner = self.lock();
        *inner
            .http_requests
            .entry((route, method, status))
            .or_default() += 1;
        inner
            .http_seconds
            .entry(route)
            .or_insert_with(|| Histogram::new(HTTP_SECONDS))
            .observe(seconds);
    }

    pub fn check_ran(&self, result: &'static str, seconds: f64) {
        let mut inner = self.lock();
        *inner.checks.entry(result).or_default() += 1;
        inner.check_seconds.observe(seconds);
    }

    /// Probes run so far, whatever their result.
    pub fn checks_total(&self) -> u64 {
        self.lock().checks.values().sum()
    }

    pub fn alert(&self, outcome: &'static str) {
        *self.lock().alerts.entry(outcome).or_default() += 1;
    }

    /// Counts one routing answer: crisis or not, each topic understood, matched or not;
    /// under one lock, as the front door asks often.
    pub fn route_answered<'a>(
        &self,
        crisis: bool,
        topics: impl Iterator<Item = &'a str>,
        matched: bool,
    ) {
        let inner = &mut *self.lock();
        let mut bump = |name, label, value: &str| inner.bump(name, label, value);
        bump(
            "veiviser_route_requests_total",
            "crisis",
            if crisis { "true" } else { "false" },
        );
        for topic in topics {
            bump("veiviser_route_topics_total", "topic", topic);
        }
        bump(
            "veiviser_route_outcomes_total",
            "outcome",
            if matched { "matched" } else { "no_match" },
        );
    }

    /// Adds one to `name{label="value"}`.
    pub fn count(&self, name: &'static str, label: &'static str, value: &str) {
        self.lock().bump(name, label, value);
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self, gauges: &CatalogueGauges) -> String {
        let inner = self.lock();
        let mut out = String::new();
        header(
            &mut out,
            "veiviser_http_requests_total",
            "counter",
            "HTTP requests by route, method and status.",
        );
        for ((route, method, status), n) in &inner.http_requests {
            let _ = writeln!(
                out,
                "veiviser_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        header(
            &mut out,
            "veiviser_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by route.",
        );
        for (route, h) in &inner.http_seconds {
            h.render(
                &mut out,
                "veiviser_http_request_duration_seconds",
                &format!("route=\"{route}\""),
            );
        }
        header(
            &mut out,
            "veiviser_health_checks_total",
            "counter",
            "Health probes run, by result (pass, warn, fail, blocked).",
        );
        for result in ["pass", "warn", "fail", "blocked"] {
            let n = inner.checks.get(result).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "veiviser_health_checks_total{{result=\"{result}\"}} {n}"
            );
        }
        header(
            &mut out,
            "veiviser_health_check_duration_seconds",
            "histogram",
            "Health probe latency.",
        );
        inner
            .check_seconds
            .render(&mut out, "veiviser_health_check_duration_seconds", "");
        // Not `veiviser_health_checks`: under OpenMetrics that is the family of the counter
        // `veiviser_health_checks_total` above.
        header(
            &mut out,
            "veiviser_health_check_states",
            "gauge",
            "Channels with a health check, by state.",
        );
        for (state, n) in &gauges.checks_by_state {
            let _ = writeln!(out, "veiviser_health_check_states{{state=\"{state}\"}} {n}");
        }
        header(
            &mut out,
            "veiviser_alerts_total",
            "counter",
            "Alert webhooks by outcome (delivered, failed, dropped).",
        );
        for outcome in ["delivered", "failed", "dropped"] {
            let n = inner.alerts.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "veiviser_alerts_total{{outcome=\"{outcome}\"}} {n}");
        }
        header(
            &mut out,
            "veiviser_services",
            "gauge",
            "Catalogue entries by status.",
        );
        for (status, n) in &gauges.services_by_status {
            let _ = writeln!(out, "veiviser_services{{status=\"{status}\"}} {n}");
        }
        header(
            &mut out,
            "veiviser_services_stale",
            "gauge",
            "Active entries nobody has verified within the allowed age.",
        );
        let _ = writeln!(out, "veiviser_services_stale {}", gauges.stale);
        // The router's counters: always there, with their help, from the first scrape.
        for &(name, label, help, known) in LABELLED_COUNTERS {
            header(&mut out, name, "counter", help);
            let values = inner.counters.get(&(name, label));
            for value in known {
                let n = values.and_then(|v| v.get(*value)).copied().unwrap_or(0);
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
            }
            for (value, n) in values.into_iter().flatten() {
                if !known.contains(&value.as_str()) {
                    let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
                }
            }
        }
        for ((name, label), values) in &inner.counters {
            if LABELLED_COUNTERS.iter().any(|c| c.0 == *name) {
                continue;
            }
            header(&mut out, name, "counter", "");
            for (value, n) in values {
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
            }
        }
        for (name, help, label, values) in &gauges.counters {
            header(&mut out, name, "counter", help);
            for (value, n) in values {
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
            }
        }
        header(
            &mut out,
            "veiviser_instance_info",
            "gauge",
            "Always 1: the instance's name (--instance-id) and its store's engine.",
        );
        let (instance, engine) = &gauges.instance;
        let _ = writeln!(
            out,
            "veiviser_instance_info{{instance=\"{instance}\",store=\"{engine}\"}} 1"
        );
        for (name, help, value) in &gauges.extra {
            header(&mut out, name, "gauge", help);
            // The exposition format spells the infinities +Inf and -Inf.
            let _ = match *value {
                v if v == f64::INFINITY => writeln!(out, "{name} +Inf"),
                v if v == f64::NEG_INFINITY => writeln!(out, "{name} -Inf"),
                v => writeln!(out, "{name} {v}"),
            };
        }
        out
    }
}

/// The labelled counters Veiviser keeps: name, label, help, the label's values always shown.
const LABELLED_COUNTERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "veiviser_route_requests_total",
        "crisis",
        "Routing answers, by whether they were a crisis answer.",
        &["true", "false"],
    ),
    (
        "veiviser_route_topics_total",
        "topic",
        "Topics understood in routing questions, by topic id (a question may count for several).",
        &[],
    ),
    (
        "veiviser_route_outcomes_total",
        "outcome",
        "Routing answers by outcome: services matched, or none (the fallback).",
        &["matched", "no_match"],
    ),
];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    if !help.is_empty() {
        let _ = writeln!(out, "# HELP {name} {help}");
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The route template of a request path, so that metrics are per route, not per id.
pub fn route_of(path: &str) -> &'static str {
    // At most six segments are looked at; longer paths are "other" anyway.
    let mut segments = [""; 6];
    let mut count = 0;
    for segment in path.trim_matches('/').split('/') {
        if count == segments.len() {
            return "other";
        }
        segments[count] = segment;
        count += 1;
    }
    match &segments[..count] {
        [""] => "/",
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        ["openapi.json"] => "/openapi.json",
        ["v1", "services"] => "/v1/services",
        ["v1", "services", _] => "/v1/services/{id}",
        ["v1", "services", _, "verify"] => "/v1/services/{id}/verify",
        ["v1", "services", _, "availability"] => "/v1/services/{id}/availability",
        ["services", _] => "/services/{id}",
        ["try"] => "/try",
        ["assets", _] => "/assets/{name}",
        ["v1", "services", _, "health"] => "/v1/services/{id}/health",
        ["v1", "services", _, "health", "check"] => "/v1/services/{id}/health/check",
        ["v1", "agencies"] => "/v1/agencies",
        ["v1", "agencies", _] => "/v1/agencies/{id}",
        ["v1", "agencies", _, rest] => match *rest {
            "keys" => "/v1/agencies/{id}/keys",
            "feed" => "/v1/agencies/{id}/feed",
            "harvest" => "/v1/agencies/{id}/harvest",
            _ => "other",
        },
        ["v1", "health"] => "/v1/health",
        ["v1", "route"] => "/v1/route",
        ["v1", "validate"] => "/v1/validate",
        ["v1", "topics"] => "/v1/topics",
        ["v1", "schemas", _] => "/v1/schemas/{name}",
        ["v1", "audit"] => "/v1/audit",
        ["v1", "changes"] => "/v1/changes",
        ["v1", "export", _] => "/v1/export/{format}",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.http_request("/v1/services/{id}", "GET", 200, 0.002);
        m.http_request("/v1/services/{id}", "GET", 200, 0.3);
        m.check_ran("pass", 0.02);
        m.count("veiviser_route_requests_total", "crisis", "true");
        let text = m.render(&CatalogueGauges {
            stale: 3,
            ..CatalogueGauges::default()
        });
        assert!(text.contains(
            "veiviser_http_requests_total{route=\"/v1/services/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "veiviser_http_request_duration_seconds_bucket{route=\"/v1/services/{id}\",le=\"0.0025\"} 1"
        ));
        assert!(text.contains(
            "veiviser_http_request_duration_seconds_bucket{route=\"/v1/services/{id}\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("veiviser_health_checks_total{result=\"pass\"} 1"));
        assert!(text.contains("veiviser_health_check_duration_seconds_count 1"));
        assert!(text.contains("veiviser_services_stale 3"));
        assert!(text.contains("veiviser_route_requests_total{crisis=\"true\"} 1"));
    }

    #[test]
    fn every_family_has_help_from_the_first_scrape_and_no_two_collide() {
        let text = Metrics::default().render(&CatalogueGauges::default());
        assert!(text.contains("veiviser_route_requests_total{crisis=\"false\"} 0"));
        assert!(text.contains("veiviser_route_outcomes_total{outcome=\"no_match\"} 0"));
        let types: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .collect();
        for (name, _) in &types {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP"
            );
        }
        // OpenMetrics names a counter's family without `_total`; no other family may take it.
        let families: Vec<&str> = types
            .iter()
            .map(|&(name, kind)| match kind {
                "counter" => name.strip_suffix("_total").unwrap_or(name),
                _ => name,
            })
            .collect();
        let mut unique = families.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), families.len(), "{families:?}");
    }

    #[test]
    fn paths_map_to_route_templates() {
        assert_eq!(route_of("/v1/services/kirkens-sos"), "/v1/services/{id}");
        assert_eq!(
            route_of("/v1/services/x/health/check"),
            "/v1/services/{id}/health/check"
        );
        assert_eq!(route_of("/"), "/");
        assert_eq!(route_of("/wp-admin/x.php"), "other");
    }
}
