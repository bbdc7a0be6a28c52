//! The protect threshold: when a large share of the checks turn critical within one window,
//! the fault is most likely the checker's own (its machine lost the internet, the registry's
//! network is down), not every agency's site at once. Then the router keeps the last known
//! states, agencies get no alerts, and the operator is told once. Nacos calls its version of
//! this a protect threshold. Plain state, no I/O: the checker feeds it transitions.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::model::health::CheckState;

use crate::model::health::CheckKey;

/// When the checker distrusts itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtectSettings {
    /// Share of all checks that must turn critical within `window`; `1.0` or more never.
    pub threshold: f64,
    /// Fewer checks than this never trip it (a catalogue of three is not a sample).
    pub min_checks: usize,
    /// How close together the transitions must be: about one check interval.
    pub window: Duration,
}

impl Default for ProtectSettings {
    fn default() -> Self {
        ProtectSettings {
            threshold: 0.5,
            min_checks: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// What the checker should do with one transition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Publish the new state to the router and alert its agency.
    pub publish: bool,
    /// The checker just became suspect: these checks' earlier published states go back to
    /// what they were before they turned critical.
    pub became_suspect: Option<Vec<(CheckKey, CheckState)>>,
    /// The checker trusts itself again: publish every check's real state.
    pub recovered: bool,
}

/// The guard's state.
#[derive(Debug, Default)]
pub struct Protect {
    settings: ProtectSettings,
    /// Checks that turned critical within the window, with the state they left.
    recent: VecDeque<(Instant, CheckKey, CheckState)>,
    /// While suspect: checks whose critical state is held back, with the state the router
    /// keeps for them.
    held: HashMap<CheckKey, CheckState>,
    suspect_since: Option<DateTime<Utc>>,
}

/// What operators see of the guard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ProtectStatus {
    pub suspect: bool,
    pub since: Option<DateTime<Utc>>,
    /// Checks whose critical state the router does not see.
    pub held: usize,
    pub threshold: f64,
}

impl Protect {
    pub fn new(settings: ProtectSettings) -> Self {
        Protect {
            settings,
            ..Protect::default()
        }
    }

    pub fn status(&self) -> ProtectStatus {
        ProtectStatus {
            suspect: self.suspect_since.is_some(),
            since: self.suspect_since,
            held: self.held.len(),
            threshold: self.settings.threshold,
        }
    }

    /// The state the router should see for a check whose real state is `real`.
    pub fn shown(&self, key: &CheckKey, real: CheckState) -> CheckState {
        self.held.get(key).copied().unwrap_or(real)
    }

    /// Feeds one transition of one of `total` checks.
    pub fn observe(
        &mut self,
        now: Instant,
        at: DateTime<Utc>,
        key: &CheckKey,
        from: CheckState,
        to: CheckState,
        total: usize,
    ) -> Verdict {
        while self
            .recent
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > self.settings.window)
        {
            self.recent.pop_front();
        }
        if to != CheckState::Critical {
            self.recent.retain(|(_, k, _)| k != key);
        } else if !self.recent.iter().any(|(_, k, _)| k == key) {
            self.recent.push_back((now, key.clone(), from));
        }
        if self.suspect_since.is_some() {
            if to == CheckState::Critical {
                self.held.entry(key.clone()).or_insert(from);
            } else {
                self.held.remove(key);
            }
            if (self.held.len() as f64) < self.settings.threshold * total as f64 {
                self.suspect_since = None;
                self.held.clear();
                return Verdict {
                    recovered: true,
                    ..Verdict::default()
                };
            }
            return Verdict::default();
        }
        let tripped = total >= self.settings.min_checks
            && self.recent.len() as f64 >= self.settings.threshold * total as f64;
        if !tripped {
            return Verdict {
                publish: true,
                ..Verdict::default()
            };
        }
        self.suspect_since = Some(at);
        self.held = self
            .recent
            .iter()
            .map(|(_, k, before)| (k.clone(), *before))
            .collect();
        Verdict {
            became_suspect: Some(self.held.iter().map(|(k, s)| (k.clone(), *s)).collect()),
            ..Verdict::default()
        }
    }

    /// A check that no longer exists is no longer held.
    pub fn forget(&mut self, key: &CheckKey) {
        self.held.remove(key);
        self.recent.retain(|(_, k, _)| k != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> CheckKey {
        (format!("s{n}"), 0)
    }

    #[test]
    fn a_few_failures_are_published_and_a_mass_failure_is_held() {
        let mut p = Protect::new(ProtectSettings {
            threshold: 0.5,
            min_checks: 4,
            window: Duration::from_secs(60),
        });
        let t = Instant::now();
        let at = Utc::now();
        let (passing, critical) = (CheckState::Passing, CheckState::Critical);
        // 10 checks: the first failure is the site's own.
        assert!(p.observe(t, at, &key(0), passing, critical, 10).publish);
        for n in 1..4 {
            assert!(p.observe(t, at, &key(n), passing, critical, 10).publish);
        }
        // The fifth within the window makes half: suspect, and the four go back.
        let v = p.observe(t, at, &key(4), passing, critical, 10);
        assert!(!v.publish);
        assert_eq!(v.became_suspect.unwrap().len(), 5);
        assert_eq!(p.shown(&key(2), critical), passing);
        assert!(p.status().suspect);
        // More failures while suspect are held; one recovery is not enough to trust again.
        assert!(!p.observe(t, at, &key(5), passing, critical, 10).publish);
        assert!(!p.observe(t, at, &key(0), critical, passing, 10).recovered);
        // Back under the threshold: trusted again, real states shown.
        assert!(p.observe(t, at, &key(1), critical, passing, 10).recovered);
        assert_eq!(p.shown(&key(2), critical), critical);
        assert!(!p.status().suspect);
    }

    #[test]
    fn failures_spread_over_more_than_the_window_never_trip_it() {
        let mut p = Protect::new(ProtectSettings {
            threshold: 0.5,
            min_checks: 2,
            window: Duration::from_secs(60),
        });
        let start = Instant::now();
        for n in 0..8 {
            let now = start + Duration::from_secs(61 * n as u64);
            let v = p.observe(
                now,
                Utc::now(),
                &key(n),
                CheckState::Passing,
                CheckState::Critical,
                10,
            );
            assert!(v.publish, "failure {n}");
        }
    }

    #[test]
    fn a_small_catalogue_is_not_a_sample() {
        let mut p = Protect::new(ProtectSettings {
            threshold: 0.5,
            min_checks: 5,
            window: Duration::from_secs(60),
        });
        let t = Instant::now();
        for n in 0..3 {
            let v = p.observe(
                t,
                Utc::now(),
                &key(n),
                CheckState::Passing,
                CheckState::Critical,
                3,
            );
            assert!(v.publish);
        }
    }
}
