//! The PostgreSQL engine: one database shared by any number of Veiviser instances, so that
//! an instance holds no state of its own and can be replaced at any time.
//!
//! - Every write transaction locks the single row of `heads` first. It is the one
//!   serialization point: change and audit numbers are handed out in commit order, so a
//!   reader on any instance sees a gap-free prefix of `/v1/changes` (a `bigserial` would
//!   show holes while concurrent writers commit out of order), and no two writers can
//!   deadlock.
//! - A change notifies `veiviser_changes` inside its transaction; [`follow`] turns the
//!   notifications (with a polling fallback for lost connections) into the change signal
//!   every instance's router, checker and long polls follow.
//! - Migrations are embedded and applied at start under an advisory lock ([`migrate`]).
//! - Every operation has a deadline: a database that stops answering makes it fail with
//!   [`StoreError::Unavailable`] within seconds instead of hanging.
//!
//! No tokio-postgres or deadpool type crosses this module's boundary.

mod follow;
mod migrate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};

use super::{
    AgencyWrite, CheckKey, CheckSchedule, MetaKey, Result, ServiceWrite, SetupGuard, Store,
    StoreError, StoreStats,
};
use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeKind, ChangeRecord};
use crate::model::feed::{FeedRecord, HarvestRun};
use crate::model::health::CheckRecord;
use crate::model::query::{Page, ServiceQuery, StatusFilter};
use crate::model::{Agency, ServiceEntry};

/// The longest any one operation may take, waiting for a connection included.
const DEADLINE: Duration = Duration::from_secs(5);
/// Connections per instance.
const POOL_SIZE: usize = 16;
/// Entries written per transaction in a batch: a harvest of thousands holds the write lock
/// in short turns, so that agencies' own writes go on between them.
const BATCH_CHUNK: usize = 100;
/// Rows fetched per round while a listing filters by area in Rust.
const SCAN_CHUNK: i64 = 500;
/// The advisory lock that makes first-start setup (seeding, the operator token) run on one
/// instance at a time.
const SETUP_LOCK: i64 = 0x7665_6976_0002;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let lost = e.is_closed()
            || e.code().is_none_or(|code| {
                let code = code.code();
                code.starts_with("08") || code == "57P01" || code == "57P03"
            });
        if lost {
            StoreError::Unavailable(format!("the database is unreachable: {e}"))
        } else {
            StoreError::Backend(format!("the database refused: {e}"))
        }
    }
}

// No connection to be had, whatever the server's reason (down, refusing connections,
// the pool exhausted past its wait): the store is unavailable.
impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> Self {
        StoreError::Unavailable(format!("no database connection: {e}"))
    }
}

/// The open database; share it as a [`super::SharedStore`].
pub struct PostgresStore {
    pool: Pool,
    config: tokio_postgres::Config,
    changes: watch::Receiver<u64>,
    _follower: follow::Follower,
}

impl PostgresStore {
    /// Connects to the database at `url` (any libpq-style URL or key=value string) and
    /// applies the migrations it lacks.
    pub async fn open(url: &str) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the store URL cannot be read: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEADLINE);
        }
        if config.get_application_name().is_none() {
            config.application_name("veiviser");
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(DEADLINE))
            .create_timeout(Some(DEADLINE))
            .recycle_timeout(Some(DEADLINE))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot set up the connection pool: {e}")))?;
        {
            let mut client = pool.get().await?;
            migrate::apply(&mut client).await?;
        }
        let last = head(&pool.get().await?, "change_seq").await?;
        let (follower, changes) = follow::start(config.clone(), pool.clone(), last);
        Ok(PostgresStore {
            pool,
            config,
            changes,
            _follower: follower,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        Ok(self.pool.get().await?)
    }

    /// Reads one JSON record column of rows.
    fn records<T: DeserializeOwned>(rows: &[Row], what: &str) -> Result<Vec<T>> {
        rows.iter().map(|row| record(row, 0, what)).collect()
    }
}

/// Runs `operation` with the deadline every operation has.
async fn deadline<T>(operation: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(DEADLINE, operation)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the database did not answer within {} s",
                DEADLINE.as_secs()
            )))
        })
}

fn record<T: DeserializeOwned>(row: &Row, column: usize, what: &str) -> Result<T> {
    row.try_get::<_, Json<T>>(column)
        .map(|json| json.0)
        .map_err(|e| StoreError::Corrupt {
            key: what.to_string(),
            reason: e.to_string(),
        })
}

fn json<T: Serialize>(value: &T) -> Json<serde_json::Value> {
    Json(serde_json::to_value(value).expect("records serialize to JSON"))
}

fn seq(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn status_name(status: crate::model::Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn meta_key(key: MetaKey) -> &'static str {
    match key {
        MetaKey::AdminTokenHash => "admin_token_hash",
        MetaKey::Seeded => "seeded",
        MetaKey::WriteProbe => "write_probe",
    }
}

async fn head(client: &impl deadpool_postgres::GenericClient, column: &str) -> Result<u64> {
    let row = client
        .query_one(&format!("SELECT {column} FROM heads WHERE id = 1"), &[])
        .await?;
    Ok(seq(row.get(0)))
}

/// The write lock and the numbers it hands out, held until the transaction ends.
struct Heads {
    change_seq: i64,
    audit_seq: i64,
}

impl Heads {
    async fn lock(tx: &deadpool_postgres::Transaction<'_>) -> Result<Self> {
        let row = tx
            .query_one(
                "SELECT change_seq, audit_seq FROM heads WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await?;
        Ok(Heads {
            change_seq: row.get(0),
            audit_seq: row.get(1),
        })
    }

    async fn audit(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        by: &Attribution<'_>,
        action: &str,
        target: &str,
        version: Option<u64>,
    ) -> Result<()> {
        self.audit_seq += 1;
        let record = AuditRecord::new(seq(self.audit_seq), by, action, target, version);
        tx.execute(
            "INSERT INTO audit (seq, record) VALUES ($1, $2)",
            &[&self.audit_seq, &json(&record)],
        )
        .await?;
        Ok(())
    }

    async fn change(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        change: &ChangeRecord,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO changes (seq, record) VALUES ($1, $2) \
             ON CONFLICT (seq) DO UPDATE SET record = EXCLUDED.record",
            &[&sql_int(change.seq), &json(change)],
        )
        .await?;
        Ok(())
    }

    /// Stores the numbers handed out and tells every instance, both at commit.
    async fn save(self, tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
        tx.execute(
            "UPDATE heads SET change_seq = $1, audit_seq = $2 WHERE id = 1",
            &[&self.change_seq, &self.audit_seq],
        )
        .await?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&follow::CHANNEL, &self.change_seq.to_string()],
        )
        .await?;
        Ok(())
    }
}

async fn upsert_service(
    tx: &deadpool_postgres::Transaction<'_>,
    entry: &ServiceEntry,
) -> Result<()> {
    tx.execute(
        "INSERT INTO services (id, agency, status, version, doc) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET agency = EXCLUDED.agency, status = EXCLUDED.status, \
         version = EXCLUDED.version, doc = EXCLUDED.doc",
        &[
            &entry.id,
            &entry.agency,
            &status_name(entry.status),
            &sql_int(entry.version.unwrap_or(0)),
            &json(entry),
        ],
    )
    .await?;
    Ok(())
}

async fn current_service(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
) -> Result<Option<ServiceEntry>> {
    tx.query_opt("SELECT doc FROM services WHERE id = $1", &[&id])
        .await?
        .map(|row| record(&row, 0, id))
        .transpose()
}

/// One write of an entry inside a transaction that holds the write lock.
async fn write_one(
    tx: &deadpool_postgres::Transaction<'_>,
    heads: &mut Heads,
    write: &ServiceWrite<'_>,
    by: &Attribution<'_>,
) -> Result<ChangeRecord> {
    let (entry, expected, kind) = match *write {
        ServiceWrite::Create(entry) => (entry, None, ChangeKind::Created),
        ServiceWrite::Replace {
            entry,
            expected_version,
            kind,
        } => (entry, Some(expected_version), kind),
    };
    let current = tx
        .query_opt("SELECT version FROM services WHERE id = $1", &[&entry.id])
        .await?
        .map(|row| seq(row.get(0)));
    match (expected, current) {
        (None, Some(_)) => return Err(StoreError::AlreadyExists(entry.id.clone())),
        (Some(_), None) => return Err(StoreError::Missing(entry.id.clone())),
        (Some(expected), Some(current)) if current != expected => {
            return Err(StoreError::VersionMismatch {
                id: entry.id.clone(),
                current,
            });
        }
        _ => {}
    }
    upsert_service(tx, entry).await?;
    let version = entry.version.unwrap_or(1);
    heads
        .audit(tx, by, kind.audit_action(), &entry.id, Some(version))
        .await?;
    heads.change_seq += 1;
    let change = ChangeRecord::of(seq(heads.change_seq), entry, kind, by);
    heads.change(tx, &change).await?;
    Ok(change)
}

async fn append_run(
    client: &impl deadpool_postgres::GenericClient,
    agency: &str,
    run: &HarvestRun,
    keep: usize,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO harvest_runs (agency, run) VALUES ($1, $2)",
            &[&agency, &json(run)],
        )
        .await?;
    client
        .execute(
            "DELETE FROM harvest_runs WHERE agency = $1 AND n NOT IN \
             (SELECT n FROM harvest_runs WHERE agency = $1 ORDER BY n DESC LIMIT $2)",
            &[&agency, &sql_int(keep as u64)],
        )
        .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn service(&self, id: &str) -> Result<Option<ServiceEntry>> {
        deadline(async {
            self.client()
                .await?
                .query_opt("SELECT doc FROM services WHERE id = $1", &[&id])
                .await?
                .map(|row| record(&row, 0, id))
                .transpose()
        })
        .await
    }

    async fn services(&self, query: &ServiceQuery) -> Result<Page<ServiceEntry>> {
        // What SQL can answer (page start, agency, status, topics, channel kind) it does;
        // the area rules stay in Rust ([`ServiceQuery::matches`]), one rule for every engine.
        let (only, hide_retired) = match query.status {
            StatusFilter::Current => (None, true),
            StatusFilter::Only(status) => (Some(status_name(status)), false),
            StatusFilter::Any => (None, false),
        };
        let channel = query
            .channel
            .map(|kind| Json(serde_json::json!([{ "kind": kind }])));
        let sql = "SELECT id, doc FROM services \
             WHERE ($1::text IS NULL OR id > $1) \
               AND ($2::text IS NULL OR agency = $2) \
               AND ($3::text IS NULL OR status = $3) \
               AND (NOT $4 OR status <> 'retired') \
               AND ($5::text[] IS NULL OR doc->'topics' ?| $5) \
               AND ($6::jsonb IS NULL OR doc->'channels' @> $6) \
             ORDER BY id LIMIT $7";
        deadline(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await?;
            let mut after = query.after.clone();
            let mut items = Vec::new();
            loop {
                let wanted = query.limit.saturating_add(1).saturating_sub(items.len());
                let chunk = SCAN_CHUNK.min(sql_int(wanted as u64));
                let params: [&(dyn ToSql + Sync); 7] = [
                    &after,
                    &query.agency,
                    &only,
                    &hide_retired,
                    &query.topics,
                    &channel,
                    &chunk,
                ];
                let rows = client.query(&statement, &params).await?;
                for row in &rows {
                    let id: String = row.get(0);
                    let entry: ServiceEntry = record(row, 1, &id)?;
                    if query.matches(&entry) {
                        if items.len() == query.limit {
                            return Ok(Page { items, more: true });
                        }
                        items.push(entry);
                    }
                    after = Some(id);
                }
                if (rows.len() as i64) < chunk {
                    return Ok(Page { items, more: false });
                }
            }
        })
        .await
    }

    async fn write_service(
        &self,
        write: ServiceWrite<'_>,
        by: &Attribution<'_>,
    ) -> Result<ChangeRecord> {
        deadline(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let mut heads = Heads::lock(&tx).await?;
            let change = write_one(&tx, &mut heads, &write, by).await?;
            heads.save(&tx).await?;
            tx.commit().await?;
            Ok(change)
        })
        .await
    }

    async fn write_services(
        &self,
        writes: &[ServiceWrite<'_>],
        by: &Attribution<'_>,
    ) -> Result<Vec<Result<ChangeRecord>>> {
        let mut results = Vec::with_capacity(writes.len());
        for chunk in writes.chunks(BATCH_CHUNK) {
            let done = deadline(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let mut heads = Heads::lock(&tx).await?;
                let mut done = Vec::with_capacity(chunk.len());
                for write in chunk {
                    // A refused write (taken id, stale version) is refused before it
                    // changes anything, so the others of its chunk stand; a failure of the
                    // database ends the batch.
                    match write_one(&tx, &mut heads, write, by).await {
                        Err(e @ (StoreError::Unavailable(_) | StoreError::Backend(_))) => {
                            return Err(e);
                        }
                        result => done.push(result),
                    }
                }
                heads.save(&tx).await?;
                tx.commit().await?;
                Ok(done)
            })
            .await?;
            results.extend(done);
        }
        Ok(results)
    }

    async fn changes_since(&self, since: u64, limit: usize) -> Result<Vec<ChangeRecord>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&sql_int(since), &sql_int(limit as u64)],
                )
                .await?;
            Self::records(&rows, "changes")
        })
        .await
    }

    async fn last_change_seq(&self) -> Result<u64> {
        deadline(async { head(&self.client().await?, "change_seq").await }).await
    }

    async fn audit_since(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&sql_int(after), &sql_int(limit as u64)],
                )
                .await?;
            Self::records(&rows, "audit")
        })
        .await
    }

    async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64> {
        deadline(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let mut heads = Heads::lock(&tx).await?;
            let mut position = head(&tx, "mirror_position").await?;
            for change in changes {
                if !super::next_replicated(position, change)? {
                    continue;
                }
                let current = current_service(&tx, &change.id).await?;
                if let Some(entry) = change.applied_to(current) {
                    upsert_service(&tx, &entry).await?;
                }
                heads.change(&tx, change).await?;
                position = change.seq;
            }
            tx.execute(
                "UPDATE heads SET mirror_position = $1 WHERE id = 1",
                &[&sql_int(position)],
            )
            .await?;
            heads.change_seq = sql_int(position);
            heads.save(&tx).await?;
            tx.commit().await?;
            Ok(position)
        })
        .await
    }

    async fn mirror_position(&self) -> Result<u64> {
        deadline(async { head(&self.client().await?, "mirror_position").await }).await
    }

    async fn put_replicated_agency(&self, agency: &Agency) -> Result<()> {
        deadline(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO agencies (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE \
                     SET record = jsonb_set(EXCLUDED.record, '{token_hash}', \
                         COALESCE(agencies.record->'token_hash', 'null'::jsonb))",
                    &[
                        &agency.id,
                        &json(&AgencyRecord {
                            agency: agency.clone(),
                            token_hash: None,
                        }),
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        deadline(async {
            self.client()
                .await?
                .query_opt("SELECT record FROM agencies WHERE id = $1", &[&id])
                .await?
                .map(|row| record(&row, 0, id))
                .transpose()
        })
        .await
    }

    async fn agencies(&self) -> Result<Vec<AgencyRecord>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query("SELECT record FROM agencies ORDER BY id", &[])
                .await?;
            Self::records(&rows, "agencies")
        })
        .await
    }

    async fn write_agency(&self, write: AgencyWrite<'_>, by: &Attribution<'_>) -> Result<()> {
        deadline(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let mut heads = Heads::lock(&tx).await?;
            let id = match write {
                AgencyWrite::Create(record) => record.agency.id.as_str(),
                AgencyWrite::Describe(agency) => agency.id.as_str(),
                AgencyWrite::SetToken { id, .. } => id,
            };
            let current: Option<AgencyRecord> = tx
                .query_opt("SELECT record FROM agencies WHERE id = $1", &[&id])
                .await?
                .map(|row| record(&row, 0, id))
                .transpose()?;
            let (updated, action) = match (write, current) {
                (AgencyWrite::Create(_), Some(_)) => {
                    return Err(StoreError::AlreadyExists(id.to_string()));
                }
                (AgencyWrite::Create(record), None) => (record.clone(), "agency.created"),
                (_, None) => return Err(StoreError::Missing(id.to_string())),
                (AgencyWrite::Describe(agency), Some(current)) => (
                    AgencyRecord {
                        agency: agency.clone(),
                        ..current
                    },
                    "agency.updated",
                ),
                (AgencyWrite::SetToken { token_hash, .. }, Some(current)) => (
                    AgencyRecord {
                        token_hash: Some(token_hash.to_string()),
                        ..current
                    },
                    "agency.key_issued",
                ),
            };
            tx.execute(
                "INSERT INTO agencies (id, record) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                &[&id, &json(&updated)],
            )
            .await?;
            heads.audit(&tx, by, action, id, None).await?;
            heads.save(&tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn put_health(&self, key: &CheckKey, record: &CheckRecord) -> Result<()> {
        let channel = i32::try_from(key.1)
            .map_err(|_| StoreError::Backend(format!("channel {} is out of range", key.1)))?;
        deadline(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO health (service_id, channel, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (service_id, channel) DO UPDATE SET record = EXCLUDED.record",
                    &[&key.0, &channel, &json(record)],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn health_records(&self) -> Result<Vec<(CheckKey, CheckRecord)>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT service_id, channel, record FROM health ORDER BY service_id, channel",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let id: String = row.get(0);
                    let channel: i32 = row.get(1);
                    let record = record(row, 2, &id)?;
                    Ok(((id, usize::try_from(channel).unwrap_or(0)), record))
                })
                .collect()
        })
        .await
    }

    async fn health_record(&self, key: &CheckKey) -> Result<Option<CheckRecord>> {
        let channel = i32::try_from(key.1).unwrap_or(i32::MAX);
        deadline(async {
            self.client()
                .await?
                .query_opt(
                    "SELECT record FROM health WHERE service_id = $1 AND channel = $2",
                    &[&key.0, &channel],
                )
                .await?
                .map(|row| record(&row, 0, &key.0))
                .transpose()
        })
        .await
    }

    async fn forget_health(&self, service_id: &str) -> Result<()> {
        deadline(async {
            self.client()
                .await?
                .execute("DELETE FROM health WHERE service_id = $1", &[&service_id])
                .await?;
            Ok(())
        })
        .await
    }

    async fn feed(&self, agency: &str) -> Result<Option<FeedRecord>> {
        deadline(async {
            self.client()
                .await?
                .query_opt("SELECT record FROM feeds WHERE agency = $1", &[&agency])
                .await?
                .map(|row| record(&row, 0, agency))
                .transpose()
        })
        .await
    }

    async fn feeds(&self) -> Result<Vec<(String, FeedRecord)>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query("SELECT agency, record FROM feeds ORDER BY agency", &[])
                .await?;
            rows.iter()
                .map(|row| {
                    let agency: String = row.get(0);
                    let record = record(row, 1, &agency)?;
                    Ok((agency, record))
                })
                .collect()
        })
        .await
    }

    async fn put_feed(&self, agency: &str, record: &FeedRecord) -> Result<()> {
        deadline(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO feeds (agency, record) VALUES ($1, $2) \
                     ON CONFLICT (agency) DO UPDATE SET record = EXCLUDED.record",
                    &[&agency, &json(record)],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn append_harvest_run(&self, agency: &str, run: &HarvestRun, keep: usize) -> Result<()> {
        deadline(async { append_run(&self.client().await?, agency, run, keep).await }).await
    }

    async fn finish_harvest(
        &self,
        agency: &str,
        url: &str,
        record: &FeedRecord,
        run: &HarvestRun,
        keep: usize,
    ) -> Result<()> {
        deadline(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The row lock keeps a feed replaced meanwhile from being overwritten.
            let stored: Option<FeedRecord> = tx
                .query_opt(
                    "SELECT record FROM feeds WHERE agency = $1 FOR UPDATE",
                    &[&agency],
                )
                .await?
                .map(|row| self::record(&row, 0, agency))
                .transpose()?;
            if let Some(stored) = stored {
                if stored.config.as_ref().map(|c| c.url.as_str()) == Some(url) {
                    let updated = FeedRecord {
                        config: stored.config,
                        ..record.clone()
                    };
                    tx.execute(
                        "UPDATE feeds SET record = $2 WHERE agency = $1",
                        &[&agency, &json(&updated)],
                    )
                    .await?;
                }
            }
            append_run(&tx, agency, run, keep).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn harvest_runs(&self, agency: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        deadline(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT run FROM harvest_runs WHERE agency = $1 ORDER BY n DESC LIMIT $2",
                    &[&agency, &sql_int(limit as u64)],
                )
                .await?;
            Self::records(&rows, agency)
        })
        .await
    }

    async fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        deadline(async {
            Ok(self
                .client()
                .await?
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&meta_key(key)])
                .await?
                .map(|row| row.get(0)))
        })
        .await
    }

    async fn set_meta(&self, key: MetaKey, value: &str) -> Result<()> {
        deadline(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&meta_key(key), &value],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats> {
        deadline(async {
            let row = self
                .client()
                .await?
                .query_one(
                    "SELECT (SELECT count(*) FROM services), pg_database_size(current_database())",
                    &[],
                )
                .await?;
            Ok(StoreStats {
                services: usize::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                bytes_on_disk: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
            })
        })
        .await
    }

    fn change_signal(&self) -> Option<watch::Receiver<u64>> {
        Some(self.changes.clone())
    }

    fn check_schedule(&self) -> Option<Arc<dyn CheckSchedule>> {
        Some(Arc::new(SharedChecks {
            pool: self.pool.clone(),
        }))
    }

    async fn setup_lock(&self) -> Result<SetupGuard> {
        // A connection of its own, outside the pool: the session lock lasts as long as
        // the connection, and closing it (the guard's drop) lets the next instance in.
        let (client, connection) =
            deadline(async { Ok(self.config.connect(NoTls).await?) }).await?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        // No deadline here: another instance may be seeding; waiting for it is the point.
        client
            .execute("SELECT pg_advisory_lock($1)", &[&SETUP_LOCK])
            .await?;
        Ok(SetupGuard::holding((client, follow::AbortOnDrop(driver))))
    }
}

/// The shared health-check schedule (`check_schedule`).
struct SharedChecks {
    pool: Pool,
}

#[async_trait]
impl CheckSchedule for SharedChecks {
    async fn plan(&self, checks: &[(CheckKey, u32)], spread: bool) -> Result<()> {
        let ids: Vec<&str> = checks.iter().map(|((id, _), _)| id.as_str()).collect();
        let channels: Vec<i32> = checks
            .iter()
            .map(|((_, c), _)| i32::try_from(*c).unwrap_or(i32::MAX))
            .collect();
        let intervals: Vec<i32> = checks
            .iter()
            .map(|(_, i)| i32::try_from(*i).unwrap_or(i32::MAX))
            .collect();
        deadline(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO check_schedule (service_id, channel, interval_s, next_due) \
                 SELECT s, c, i, now() + CASE WHEN $4 THEN random() * i * interval '1 second' \
                                               ELSE interval '0' END \
                 FROM unnest($1::text[], $2::int[], $3::int[]) AS t(s, c, i) \
                 ON CONFLICT (service_id, channel) DO UPDATE SET interval_s = EXCLUDED.interval_s \
                 WHERE check_schedule.interval_s <> EXCLUDED.interval_s",
                &[&ids, &channels, &intervals, &spread],
            )
            .await?;
            tx.execute(
                "DELETE FROM check_schedule cs WHERE NOT EXISTS \
                 (SELECT 1 FROM unnest($1::text[], $2::int[]) AS t(s, c) \
                  WHERE t.s = cs.service_id AND t.c = cs.channel)",
                &[&ids, &channels],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn claim_due(&self, instance: &str, limit: usize) -> Result<Vec<CheckKey>> {
        deadline(async {
            let rows = self
                .pool
                .get()
                .await?
                .query(
                    "UPDATE check_schedule cs \
                     SET next_due = now() + cs.interval_s * interval '1 second', \
                         claimed_by = $1, claimed_at = now() \
                     FROM (SELECT service_id, channel FROM check_schedule \
                           WHERE next_due <= now() ORDER BY next_due LIMIT $2 \
                           FOR UPDATE SKIP LOCKED) due \
                     WHERE cs.service_id = due.service_id AND cs.channel = due.channel \
                     RETURNING cs.service_id, cs.channel",
                    &[&instance, &sql_int(limit as u64)],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|row| {
                    let channel: i32 = row.get(1);
                    (row.get(0), usize::try_from(channel).unwrap_or(0))
                })
                .collect())
        })
        .await
    }
}

#[cfg(test)]
#[path = "../../../tests/support/pg.rs"]
mod test_cluster;

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use super::test_cluster::{self, Cluster};
    use super::*;
    use crate::store::{SharedStore, suite};

    /// The database the killed writer's child process writes to.
    const PLACE: &str = "VEIVISER_SUITE_DATABASE";

    async fn open(url: &str) -> SharedStore {
        Arc::new(PostgresStore::open(url).await.expect("the store opens"))
    }

    async fn fresh(cluster: &Cluster, name: &str) -> String {
        cluster
            .database(&format!("{name}_{}", std::process::id()))
            .await
    }

    fn entry(id: &str) -> ServiceEntry {
        serde_json::from_value(serde_json::json!({
            "id": id, "agency": "bufdir", "name": {"nb": "Navn"}, "summary": {"nb": "Kort"},
            "topics": ["mobbing"], "coverage": {"scope": "national"},
            "channels": [{"kind": "phone", "address": "116111"}], "urgency": "crisis",
            "version": 1
        }))
        .expect("a valid entry")
    }

    fn by() -> Attribution<'static> {
        Attribution {
            actor: "agency:bufdir",
            at: chrono::Utc::now(),
        }
    }

    /// The engine-neutral suite: each place is a database of the test cluster.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_passes_the_store_suite() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        suite::run(|place| {
            let name = test_cluster::database_for(place);
            async move { open(&cluster.database(&name).await).await }
        })
        .await;
    }

    /// Two instances on one database: a write on either is read on the other at once,
    /// wakes the other's change signal, and both share one gap-free change sequence.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn instances_share_one_catalogue_one_sequence_and_one_signal() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        let url = fresh(cluster, "shared").await;
        let (a, b) = (open(&url).await, open(&url).await);
        let mut b_signal = b.change_signal().expect("a shared store signals");
        let change = a
            .write_service(ServiceWrite::Create(&entry("fra-a")), &by())
            .await
            .unwrap();
        assert_eq!(b.service("fra-a").await.unwrap(), Some(entry("fra-a")));
        tokio::time::timeout(
            Duration::from_secs(3),
            b_signal.wait_for(|s| *s >= change.seq),
        )
        .await
        .expect("b's signal moves on a's write")
        .unwrap();

        let writers = [a.clone(), b.clone()]
            .into_iter()
            .enumerate()
            .map(|(n, store)| {
                tokio::spawn(async move {
                    for i in 0..40 {
                        let id = format!("inst-{n}-{i}");
                        store
                            .write_service(ServiceWrite::Create(&entry(&id)), &by())
                            .await
                            .unwrap();
                    }
                })
            });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap();
        }
        let seqs: Vec<u64> = b
            .changes_since(0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, (1..=81).collect::<Vec<_>>());
        assert_eq!(a.last_change_seq().await.unwrap(), 81);
    }

    /// Instances starting together on a new database apply each migration once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn instances_starting_together_migrate_once() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        let url = fresh(cluster, "migrate").await;
        let opening = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::open(&url).await.map(|_| ()) })
        });
        for open in opening.collect::<Vec<_>>() {
            open.await.unwrap().expect("every instance starts");
        }
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let applied: i64 = client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(applied as usize, migrate_count());
    }

    fn migrate_count() -> usize {
        migrate::MIGRATIONS.len()
    }

    /// A database that does not answer makes writes fail as unavailable within the
    /// deadline, never hang: here another session holds the write lock.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_cannot_proceed_fails_as_unavailable_within_the_deadline() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        let url = fresh(cluster, "stuck").await;
        let store = open(&url).await;
        let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let tx = client.transaction().await.unwrap();
        tx.execute("SELECT 1 FROM heads FOR UPDATE", &[])
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let result = store
            .write_service(ServiceWrite::Create(&entry("venter")), &by())
            .await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert!(started.elapsed() < DEADLINE + Duration::from_secs(2));
        tx.rollback().await.unwrap();
        // Nothing of the refused write was kept; the store works again.
        assert_eq!(store.service("venter").await.unwrap(), None);
        store
            .write_service(ServiceWrite::Create(&entry("venter")), &by())
            .await
            .unwrap();
        assert_eq!(store.last_change_seq().await.unwrap(), 1);
    }

    /// Checks shared out with no owner: instances claiming at once never get the same
    /// check, a claimed check is not due again within its interval, and a check claimed
    /// by an instance that died is due again for the others once its interval is over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn shared_checks_are_claimed_once_per_interval_by_whoever_is_free() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        let url = fresh(cluster, "claims").await;
        let (a, b) = (open(&url).await, open(&url).await);
        let (sa, sb) = (a.check_schedule().unwrap(), b.check_schedule().unwrap());
        let checks: Vec<(CheckKey, u32)> = (0..50)
            .map(|i| ((format!("s{i:02}"), i % 3), 3600))
            .collect();
        sa.plan(&checks, false).await.unwrap();
        sb.plan(&checks, false).await.unwrap();
        let (got_a, got_b) = tokio::join!(sa.claim_due("a", 30), sb.claim_due("b", 30));
        let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
        let mut all: Vec<CheckKey> = got_a.iter().chain(&got_b).cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(got_a.len() + got_b.len(), 50, "every due check claimed");
        assert_eq!(all.len(), 50, "no check claimed twice");
        assert!(sa.claim_due("a", 100).await.unwrap().is_empty());

        // "a" dies with its claims; once their interval is over, "b" probes them.
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .execute(
                "UPDATE check_schedule SET next_due = now() - interval '1 second' \
                 WHERE claimed_by = 'a'",
                &[],
            )
            .await
            .unwrap();
        let mut taken_over = sb.claim_due("b", 100).await.unwrap();
        taken_over.sort();
        let mut of_a = got_a.clone();
        of_a.sort();
        assert_eq!(taken_over, of_a);

        // A new plan drops the checks it lacks and keeps the others' due times.
        sa.plan(&checks[..40], false).await.unwrap();
        let left: i64 = client
            .query_one("SELECT count(*) FROM check_schedule", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 40);
        assert!(sb.claim_due("b", 100).await.unwrap().is_empty());
    }

    /// A server that is not there is unavailable, not an internal error.
    #[tokio::test]
    async fn a_missing_server_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "postgresql:///x?host={}&user=postgres",
            dir.path().display()
        );
        let result = PostgresStore::open(&url).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{:?}",
            result.err()
        );
    }

    /// A child process writes until it is killed with SIGKILL; every write it had
    /// acknowledged is in the database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_keeps_every_acknowledged_write_across_kill_9() {
        let Some(cluster) = test_cluster::cluster() else {
            return;
        };
        let url = fresh(cluster, "killed").await;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::postgres::tests::killed_writer",
                "--ignored",
            ])
            .args(["--nocapture", "--test-threads", "1"])
            .env(PLACE, &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut acknowledged = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            if let Some(id) = line.unwrap().strip_prefix(suite::ACKNOWLEDGED) {
                acknowledged.push(id.to_string());
                if acknowledged.len() == 200 {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        suite::check_after_kill(&open(&url).await, &acknowledged).await;
    }

    /// The child side of the test above; does nothing unless that test runs it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run as a child process by postgres_keeps_every_acknowledged_write_across_kill_9"]
    async fn killed_writer() {
        let Some(url) = std::env::var_os(PLACE) else {
            return;
        };
        let url = url.to_string_lossy().into_owned();
        suite::write_until_killed(open(&url).await).await;
    }
}
