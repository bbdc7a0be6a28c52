//! The behaviour every store engine must show, written once and run against each (as
//! garage's `db/test.rs` does for its engines). An engine's test calls [`run`] with a
//! function that opens its store at a place: a fresh directory per case, opened a second
//! time for the reopen case, so an engine can map it to a file or a database.
//!
//! Durability across a killed process needs a second process: [`write_until_killed`] is
//! the writer an engine's test runs in a child (the same test binary, re-run), and
//! [`check_after_kill`] what it checks after `kill -9`. The same is tested end to end,
//! against the real binary, in `tests/api/persistence.rs`.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;

use chrono::Utc;

use super::{AgencyWrite, MetaKey, ServiceWrite, SharedStore, StoreError};
use crate::model::change::{AgencyRecord, Attribution, ChangeKind, ChangeRecord};
use crate::model::entry::ChannelKind;
use crate::model::feed::{
    FeedConfig, FeedRecord, HarvestCounts, HarvestOutcome, HarvestRun, HarvestTrigger,
};
use crate::model::health::{CheckRecord, CheckState};
use crate::model::query::{ServiceQuery, StatusFilter};
use crate::model::{Agency, ServiceEntry, Status};

/// Runs every case, each on a fresh place.
pub async fn run<Open, Opening>(open: Open)
where
    Open: Fn(&Path) -> Opening,
    Opening: Future<Output = SharedStore>,
{
    macro_rules! case {
        ($name:ident) => {{
            let place = tempfile::tempdir().expect("a temporary directory");
            eprintln!("store suite: {}", stringify!($name));
            $name(open(place.path()).await).await;
        }};
    }
    case!(entries_are_created_read_and_replaced);
    case!(conflicting_writes_change_nothing);
    case!(queries_filter_and_page_in_id_order);
    case!(concurrent_replaces_on_one_version_let_exactly_one_win);
    case!(concurrent_writers_leave_a_gap_free_change_sequence);
    case!(agencies_are_created_described_and_rekeyed);
    case!(health_records_are_kept_per_channel_and_forgotten_per_service);
    case!(feeds_and_harvest_runs_are_kept);
    case!(singletons_and_stats_are_kept);
    case!(replicated_changes_apply_once_and_refuse_a_gap);
    // Reopen: write, drop every handle, open the same place again.
    {
        let place = tempfile::tempdir().expect("a temporary directory");
        eprintln!("store suite: acknowledged_writes_survive_a_reopen");
        let store = open(place.path()).await;
        write_for_reopen(&store).await;
        drop(store);
        check_after_reopen(&open(place.path()).await).await;
    }
}

fn entry(id: &str, version: u64) -> ServiceEntry {
    serde_json::from_value(serde_json::json!({
        "id": id, "agency": "bufdir", "name": {"nb": "Navn"}, "summary": {"nb": "Kort"},
        "topics": ["mobbing"], "coverage": {"scope": "national"},
        "channels": [{"kind": "phone", "address": "116111"}], "urgency": "crisis",
        "version": version
    }))
    .expect("a valid entry")
}

fn by() -> Attribution<'static> {
    Attribution {
        actor: "agency:bufdir",
        at: Utc::now(),
    }
}

fn ids(entries: &[ServiceEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

fn seqs(changes: &[ChangeRecord]) -> Vec<u64> {
    changes.iter().map(|c| c.seq).collect()
}

async fn create(store: &SharedStore, entry: &ServiceEntry) -> Result<ChangeRecord, StoreError> {
    store
        .write_service(ServiceWrite::Create(entry), &by())
        .await
}

async fn replace(
    store: &SharedStore,
    entry: &ServiceEntry,
    expected_version: u64,
    kind: ChangeKind,
) -> Result<ChangeRecord, StoreError> {
    let write = ServiceWrite::Replace {
        entry,
        expected_version,
        kind,
    };
    store.write_service(write, &by()).await
}

async fn entries_are_created_read_and_replaced(store: SharedStore) {
    assert_eq!(store.service("a").await.unwrap(), None);
    let created = create(&store, &entry("a", 1)).await.unwrap();
    assert_eq!(
        (created.seq, created.kind, created.version),
        (1, ChangeKind::Created, 1)
    );
    assert_eq!(created.entry.as_ref().map(|e| e.id.as_str()), Some("a"));
    let updated = replace(&store, &entry("a", 2), 1, ChangeKind::Updated)
        .await
        .unwrap();
    assert_eq!((updated.seq, updated.version), (2, 2));
    let mut retired = entry("a", 3);
    retired.status = Status::Retired;
    let change = replace(&store, &retired, 2, ChangeKind::Retired)
        .await
        .unwrap();
    assert_eq!(change.entry, None, "a retirement is not republished");
    let stored = store.service("a").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.status), (Some(3), Status::Retired));
    assert_eq!(seqs(&store.changes_since(0, 10).await.unwrap()), [1, 2, 3]);
    assert_eq!(seqs(&store.changes_since(1, 1).await.unwrap()), [2]);
    assert_eq!(store.last_change_seq().await.unwrap(), 3);
    let audit = store.audit_since(0, 10).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["service.created", "service.updated", "service.retired"]
    );
    assert!(
        audit
            .iter()
            .all(|a| a.actor == "agency:bufdir" && a.target == "a")
    );
    assert_eq!(store.audit_since(2, 10).await.unwrap().len(), 1);
}

async fn conflicting_writes_change_nothing(store: SharedStore) {
    create(&store, &entry("a", 1)).await.unwrap();
    assert!(matches!(
        create(&store, &entry("a", 1)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        replace(&store, &entry("a", 3), 2, ChangeKind::Updated).await,
        Err(StoreError::VersionMismatch { current: 1, .. })
    ));
    assert!(matches!(
        replace(&store, &entry("other", 2), 1, ChangeKind::Updated).await,
        Err(StoreError::Missing(_))
    ));
    // Only the first write reached the audit log and the change feed: no gaps, no extras.
    assert_eq!(store.changes_since(0, 10).await.unwrap().len(), 1);
    assert_eq!(store.audit_since(0, 10).await.unwrap().len(), 1);
    assert_eq!(store.last_change_seq().await.unwrap(), 1);
    assert_eq!(store.service("a").await.unwrap().unwrap().version, Some(1));
}

async fn queries_filter_and_page_in_id_order(store: SharedStore) {
    for id in ["cc", "aa", "bb", "dd"] {
        create(&store, &entry(id, 1)).await.unwrap();
    }
    let mut local = entry("ee", 1);
    local.agency = "oslo".into();
    local.topics = vec!["rus".into()];
    local.coverage =
        serde_json::from_value(serde_json::json!({"scope": "areas", "municipalities": ["0301"]}))
            .unwrap();
    local.channels[0].kind = ChannelKind::Chat;
    create(&store, &local).await.unwrap();
    let mut gone = entry("ff", 2);
    gone.status = Status::Retired;
    create(&store, &gone).await.unwrap();

    let page = store.services(&ServiceQuery::page(None, 2)).await.unwrap();
    assert_eq!((ids(&page.items), page.more), (vec!["aa", "bb"], true));
    let page = store
        .services(&ServiceQuery::page(Some("bb".into()), 3))
        .await
        .unwrap();
    assert_eq!(
        (ids(&page.items), page.more),
        (vec!["cc", "dd", "ee"], false)
    );
    let everything = store.services(&ServiceQuery::everything()).await.unwrap();
    assert_eq!(ids(&everything.items), ["aa", "bb", "cc", "dd", "ee", "ff"]);

    let query = |change: &dyn Fn(&mut ServiceQuery)| {
        let mut q = ServiceQuery::page(None, 50);
        change(&mut q);
        q
    };
    let cases: Vec<(ServiceQuery, Vec<&str>)> = vec![
        (query(&|q| q.agency = Some("oslo".into())), vec!["ee"]),
        (
            query(&|q| q.topics = Some(vec!["rus".into(), "x".into()])),
            vec!["ee"],
        ),
        (
            query(&|q| q.channel = Some(ChannelKind::Phone)),
            vec!["aa", "bb", "cc", "dd"],
        ),
        // National entries serve every municipality; the local one only its own.
        (
            query(&|q| q.municipality = Some("0301".into())),
            vec!["aa", "bb", "cc", "dd", "ee"],
        ),
        (
            query(&|q| q.municipality = Some("4601".into())),
            vec!["aa", "bb", "cc", "dd"],
        ),
        (
            query(&|q| q.county = Some("03".into())),
            vec!["aa", "bb", "cc", "dd", "ee"],
        ),
        (
            query(&|q| q.status = StatusFilter::Only(Status::Retired)),
            vec!["ff"],
        ),
        (
            query(&|q| {
                q.agency = Some("bufdir".into());
                q.channel = Some(ChannelKind::Chat);
            }),
            vec![],
        ),
    ];
    for (q, expected) in cases {
        let found = store.services(&q).await.unwrap();
        assert_eq!(ids(&found.items), expected, "{q:?}");
    }
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.services, 6);
}

async fn concurrent_replaces_on_one_version_let_exactly_one_win(store: SharedStore) {
    create(&store, &entry("a", 1)).await.unwrap();
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { replace(&store, &entry("a", 2), 1, ChangeKind::Updated).await })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::VersionMismatch { current: 2, .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(seqs(&store.changes_since(0, 100).await.unwrap()), [1, 2]);
}

async fn concurrent_writers_leave_a_gap_free_change_sequence(store: SharedStore) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let writers = (0..WRITERS).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..EACH {
                create(&store, &entry(&format!("w{w}-{i:02}"), 1))
                    .await
                    .unwrap();
            }
        })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    let total = (WRITERS * EACH) as u64;
    let changes = store.changes_since(0, 1000).await.unwrap();
    assert_eq!(seqs(&changes), (1..=total).collect::<Vec<_>>());
    let distinct: BTreeSet<_> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(distinct.len(), WRITERS * EACH);
    let audit = store.audit_since(0, 1000).await.unwrap();
    assert_eq!(
        audit.iter().map(|a| a.seq).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    assert_eq!(store.last_change_seq().await.unwrap(), total);
}

fn agency(id: &str, name: &str) -> Agency {
    serde_json::from_value(serde_json::json!({"id": id, "name": name, "org_number": "974760673"}))
        .expect("an agency")
}

async fn agencies_are_created_described_and_rekeyed(store: SharedStore) {
    let record = AgencyRecord {
        agency: agency("bufdir", "Bufdir"),
        token_hash: None,
    };
    store
        .write_agency(AgencyWrite::Create(&record), &by())
        .await
        .unwrap();
    assert!(matches!(
        store
            .write_agency(AgencyWrite::Create(&record), &by())
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    let key = AgencyWrite::SetToken {
        id: "bufdir",
        token_hash: "abc",
    };
    store.write_agency(key, &by()).await.unwrap();
    let renamed = agency("bufdir", "Barne-, ungdoms- og familiedirektoratet");
    store
        .write_agency(AgencyWrite::Describe(&renamed), &by())
        .await
        .unwrap();
    let stored = store.agency("bufdir").await.unwrap().unwrap();
    assert_eq!(stored.agency, renamed);
    assert_eq!(
        stored.token_hash.as_deref(),
        Some("abc"),
        "a description keeps the token"
    );
    let missing = AgencyWrite::SetToken {
        id: "nobody",
        token_hash: "x",
    };
    assert!(matches!(
        store.write_agency(missing, &by()).await,
        Err(StoreError::Missing(_))
    ));
    store
        .write_agency(
            AgencyWrite::Create(&AgencyRecord {
                agency: agency("aa", "A"),
                token_hash: None,
            }),
            &by(),
        )
        .await
        .unwrap();
    let listed = store.agencies().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| r.agency.id.as_str())
            .collect::<Vec<_>>(),
        ["aa", "bufdir"]
    );
    let actions: Vec<_> = store.audit_since(0, 10).await.unwrap();
    let actions: Vec<_> = actions.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "agency.created",
            "agency.key_issued",
            "agency.updated",
            "agency.created"
        ]
    );
    // Agency writes are audited but are no catalogue changes.
    assert_eq!(store.last_change_seq().await.unwrap(), 0);
}

async fn health_records_are_kept_per_channel_and_forgotten_per_service(store: SharedStore) {
    let record = |state: CheckState| CheckRecord {
        state,
        ..CheckRecord::new(Utc::now())
    };
    let key = |id: &str, channel: usize| (id.to_string(), channel);
    store
        .put_health(&key("a", 0), &record(CheckState::Passing))
        .await
        .unwrap();
    store
        .put_health(&key("a", 2), &record(CheckState::Critical))
        .await
        .unwrap();
    store
        .put_health(&key("ab", 0), &record(CheckState::Warning))
        .await
        .unwrap();
    store
        .put_health(&key("a", 0), &record(CheckState::Warning))
        .await
        .unwrap();
    let mut all = store.health_records().await.unwrap();
    all.sort_by(|x, y| x.0.cmp(&y.0));
    let seen: Vec<_> = all
        .iter()
        .map(|(k, r)| (k.0.as_str(), k.1, r.state))
        .collect();
    assert_eq!(
        seen,
        [
            ("a", 0, CheckState::Warning),
            ("a", 2, CheckState::Critical),
            ("ab", 0, CheckState::Warning)
        ]
    );
    let one = store.health_record(&key("a", 2)).await.unwrap();
    assert_eq!(one.map(|r| r.state), Some(CheckState::Critical));
    assert_eq!(store.health_record(&key("a", 1)).await.unwrap(), None);
    // Forgetting "a" leaves "ab": ids are not prefixes of one another.
    store.forget_health("a").await.unwrap();
    let left = store.health_records().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, key("ab", 0));
}

async fn feeds_and_harvest_runs_are_kept(store: SharedStore) {
    assert_eq!(store.feed("bufdir").await.unwrap(), None);
    let feed = FeedRecord {
        config: Some(FeedConfig {
            url: "https://example.org/feed.json".into(),
            schedule: "0 0 * * * *".into(),
        }),
        etag: Some("\"1\"".into()),
        ..FeedRecord::default()
    };
    store.put_feed("bufdir", &feed).await.unwrap();
    store.put_feed("aa", &feed).await.unwrap();
    assert_eq!(store.feed("bufdir").await.unwrap(), Some(feed.clone()));
    let feeds = store.feeds().await.unwrap();
    assert_eq!(
        feeds.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["aa", "bufdir"]
    );
    let start = Utc::now();
    let run = |n: u64| HarvestRun {
        at: start + chrono::Duration::seconds(n as i64),
        duration_ms: n,
        trigger: HarvestTrigger::Manual,
        outcome: HarvestOutcome::Harvested,
        http_status: Some(200),
        error: None,
        counts: HarvestCounts::default(),
        problems: Vec::new(),
    };
    for n in 0..5 {
        store
            .append_harvest_run("bufdir", &run(n), 3)
            .await
            .unwrap();
    }
    store.append_harvest_run("aa", &run(9), 3).await.unwrap();
    let runs = store.harvest_runs("bufdir", 10).await.unwrap();
    assert_eq!(runs.len(), 3, "only the newest are kept");
    assert_eq!(
        runs.iter().map(|r| r.duration_ms).collect::<Vec<_>>(),
        [4, 3, 2],
        "the newest, newest first"
    );
    assert_eq!(store.harvest_runs("bufdir", 1).await.unwrap().len(), 1);
    assert_eq!(store.harvest_runs("aa", 10).await.unwrap().len(), 1);
}

async fn singletons_and_stats_are_kept(store: SharedStore) {
    assert_eq!(store.meta(MetaKey::AdminTokenHash).await.unwrap(), None);
    assert_eq!(store.meta(MetaKey::Seeded).await.unwrap(), None);
    store
        .set_meta(MetaKey::AdminTokenHash, "f00d")
        .await
        .unwrap();
    store.set_meta(MetaKey::Seeded, "1").await.unwrap();
    store
        .set_meta(MetaKey::AdminTokenHash, "beef")
        .await
        .unwrap();
    assert_eq!(
        store
            .meta(MetaKey::AdminTokenHash)
            .await
            .unwrap()
            .as_deref(),
        Some("beef")
    );
    assert_eq!(
        store.meta(MetaKey::Seeded).await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(store.stats().await.unwrap().services, 0);
}

fn replicated(seq: u64, id: &str, version: u64, kind: ChangeKind) -> ChangeRecord {
    ChangeRecord {
        seq,
        id: id.into(),
        kind,
        version,
        at: Utc::now(),
        entry: (kind != ChangeKind::Retired).then(|| entry(id, version)),
    }
}

async fn replicated_changes_apply_once_and_refuse_a_gap(store: SharedStore) {
    assert_eq!(store.mirror_position().await.unwrap(), 0);
    let page = [
        replicated(1, "a", 1, ChangeKind::Created),
        replicated(2, "b", 1, ChangeKind::Created),
    ];
    assert_eq!(store.apply_replicated(&page).await.unwrap(), 2);
    // The same page again, then one that overlaps: each change applies once.
    assert_eq!(store.apply_replicated(&page).await.unwrap(), 2);
    let next = [
        replicated(2, "b", 1, ChangeKind::Created),
        replicated(3, "a", 2, ChangeKind::Retired),
    ];
    assert_eq!(store.apply_replicated(&next).await.unwrap(), 3);
    let a = store.service("a").await.unwrap().unwrap();
    assert_eq!((a.status, a.version), (Status::Retired, Some(2)));
    assert_eq!(seqs(&store.changes_since(0, 10).await.unwrap()), [1, 2, 3]);
    assert_eq!(store.last_change_seq().await.unwrap(), 3);
    // A gap is refused and changes nothing.
    let gap = [replicated(5, "c", 1, ChangeKind::Created)];
    assert!(matches!(
        store.apply_replicated(&gap).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(store.mirror_position().await.unwrap(), 3);
    assert_eq!(store.service("c").await.unwrap(), None);
    // The primary's agency description, keeping a token held here.
    let record = AgencyRecord {
        agency: agency("bufdir", "Bufdir"),
        token_hash: Some("local".into()),
    };
    store
        .write_agency(AgencyWrite::Create(&record), &by())
        .await
        .unwrap();
    let described = agency("bufdir", "Bufdir (primary)");
    store.put_replicated_agency(&described).await.unwrap();
    store
        .put_replicated_agency(&agency("new", "New"))
        .await
        .unwrap();
    let stored = store.agency("bufdir").await.unwrap().unwrap();
    assert_eq!(
        (stored.agency, stored.token_hash.as_deref()),
        (described, Some("local"))
    );
    assert!(store.agency("new").await.unwrap().is_some());
}

async fn write_for_reopen(store: &SharedStore) {
    create(store, &entry("a", 1)).await.unwrap();
    replace(store, &entry("a", 2), 1, ChangeKind::Updated)
        .await
        .unwrap();
    let record = AgencyRecord {
        agency: agency("bufdir", "Bufdir"),
        token_hash: Some("abc".into()),
    };
    store
        .write_agency(AgencyWrite::Create(&record), &by())
        .await
        .unwrap();
    store.set_meta(MetaKey::Seeded, "1").await.unwrap();
}

async fn check_after_reopen(store: &SharedStore) {
    assert_eq!(store.service("a").await.unwrap().unwrap().version, Some(2));
    assert_eq!(seqs(&store.changes_since(0, 10).await.unwrap()), [1, 2]);
    assert_eq!(store.audit_since(0, 10).await.unwrap().len(), 3);
    assert_eq!(
        store
            .agency("bufdir")
            .await
            .unwrap()
            .unwrap()
            .token_hash
            .as_deref(),
        Some("abc")
    );
    assert_eq!(
        store.meta(MetaKey::Seeded).await.unwrap().as_deref(),
        Some("1")
    );
    // The sequence carries on where it stopped.
    let next = create(store, &entry("b", 1)).await.unwrap();
    assert_eq!(next.seq, 3);
}

/// The line a killed writer prints once a write is acknowledged.
pub const ACKNOWLEDGED: &str = "acknowledged ";

/// In a child process: writes entries from several tasks at once until killed, printing
/// [`ACKNOWLEDGED`] and the id after each write returns.
pub async fn write_until_killed(store: SharedStore) {
    let writers = (0..4).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let id = format!("k{w}-{i:06}");
                create(&store, &entry(&id, 1)).await.expect("a write");
                println!("{ACKNOWLEDGED}{id}");
            }
        })
    });
    for writer in writers {
        writer.await.expect("a writer");
    }
}

/// After the writer was killed: every acknowledged entry is there, and the change
/// sequence has no gap.
pub async fn check_after_kill(store: &SharedStore, acknowledged: &[String]) {
    assert!(acknowledged.len() >= 50, "the writer was killed too early");
    for id in acknowledged {
        assert!(
            store.service(id).await.unwrap().is_some(),
            "'{id}' was acknowledged and lost"
        );
    }
    let changes = store.changes_since(0, usize::MAX).await.unwrap();
    let last = store.last_change_seq().await.unwrap();
    assert_eq!(seqs(&changes), (1..=last).collect::<Vec<_>>());
    assert!(changes.len() >= acknowledged.len());
}
